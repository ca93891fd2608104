"""Runs at the command line: `tapwell runs RUN_ID` (a run with its per-stage figures) and
`tapwell logs RUN_ID --follow` (the live log, read from the history store as it is written)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from tapwell.runner.history import FINISHED, RunRecord, runs_table
from tapwell.runner.project import Project
from tapwell.runner.runs_view import for_table
from tapwell.runner.serve.views import run_detail, run_summary
from tapwell.runner.statestore import StateBackend, open_backend
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps


def show_runs(
    project: Project,
    name: str | None,
    limit: int,
    status: str | None,
    before: str | None,
    as_json: bool,
) -> str:
    """`tapwell runs [NAME]`: the table, or `{"runs": [...]}` as serve's API gives it."""
    if name is not None:
        project.check_name(name)  # an unknown name fails with the list of known ones
    store = open_backend(project, name)
    try:
        found = store.runs(name, limit, status=status, before=before, brief=True)
    finally:
        store.close()
    if as_json:
        return dumps({"runs": [run_summary(r) for r in found]}).decode()
    return runs_table(for_table(found))


def show_run(project: Project, run_id: str, as_json: bool) -> str:
    """`tapwell runs RUN_ID`: one run in full, with its per-stage figures."""
    store = open_backend(project)
    try:
        record = store.run(run_id)
    finally:
        store.close()
    if record is None:
        raise ConfigError(f"no run {run_id!r} in the state backend (see `tapwell runs`)")
    detail = run_detail(record)
    return dumps(detail, orjson.OPT_INDENT_2).decode() if as_json else run_report(detail)


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


def _pct(n: float | None) -> str:
    return "-" if n is None else f"{n:g}%"


def run_report(detail: dict[str, Any]) -> str:
    """A run (tapwell.runner.serve.views.run_detail) as text: status, rows per stream with
    rows/s, and per stage its peak memory and CPU, and the pipe between them."""
    lines = [
        f"run {detail['id']}  {detail['integration']}  {detail['status']}  "
        f"(trigger {detail['trigger']}"
        + (f", relaunch of {detail['relaunch_of']}" if detail["relaunch_of"] else "")
        + (", full refresh" if detail["full_refresh"] else "")
        + ")",
        f"started {detail['started_at']}  finished {detail['finished_at'] or '-'}  "
        f"seconds {detail['duration_seconds'] if detail['duration_seconds'] is not None else '-'}  "
        f"attempts {detail['attempts']}",
    ]
    summary = (detail.get("stages") or {}).get("summary") or {}
    per_s = summary.get("rows_per_s") or {}
    rows = detail["rows"] or summary.get("rows") or {}
    lines.append("rows:")
    lines += [
        f"  {stream:<30} {n:>12,}  ({per_s.get(stream, 0):,.1f} rows/s)"
        for stream, n in sorted(rows.items())
    ] or ["  none reported"]
    if detail.get("error_full"):
        lines.append(f"error: {detail['error']}")
    lines += _target_lines(detail.get("targets") or {})
    lines.append("stages:")
    for role in ("tap", "target"):
        stage = summary.get(role)
        if stage:
            lines.append(
                f"  {role:<7} peak RSS {_size(stage.get('peak_rss')):>11}  CPU mean "
                f"{_pct(stage.get('cpu_avg'))}, max {_pct(stage.get('cpu_max'))}"
            )
    if "pipe_bytes_max" in summary:
        lines.append(
            f"  pipe    tap -> target waiting: max {_size(summary['pipe_bytes_max'])}, "
            f"mean {_size(summary['pipe_bytes_avg'])}"
        )
    if lines[-1] == "stages:":
        lines[-1] = "stages: no figures recorded (a run before tapwell 0.2, or no /proc)"
    return "\n".join(lines)


def _target_lines(targets: dict[str, Any]) -> list[str]:
    """A fan-out run's targets: exit code, rows, how far behind the tap each ended (and at
    most), and how long the copy waited on it (the slow one shows)."""
    names = [n for n in targets if not n.startswith("_")]
    if not names:
        return []
    lines = ["targets:"]
    for name in names:
        f = targets[name]
        lag = f.get("behind") or {"states": 0, "seconds": 0.0}
        rows = sum((f.get("rows") or {}).values())
        lines.append(
            f"  {name:<20} {'required' if f.get('required', True) else 'not required'}, "
            f"exit {f.get('exit_code', '-')}, {rows:,} rows, behind the tap by "
            f"{lag['states']} STATE message(s) ({lag['seconds']:g}s), at most "
            f"{f.get('most_behind_states', 0)}; the copy waited {f.get('waited_seconds', 0):g}s on it"
        )
    copy = targets.get("_copy")
    if copy:
        lines.append(
            f"  copy: {_size(copy.get('bytes'))} using {copy.get('cpu_seconds', 0):g}s of the runner's CPU"
        )
    return lines


def follow_log(
    store: StateBackend,
    record: RunRecord,
    follow: bool,
    *,
    poll: float = 0.3,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """The run's timestamped log lines; with `follow`, new ones as they are written until the
    run has ended. A run recorded before live logs existed has only its final log: that."""
    seen = 0
    while True:
        lines = store.read_log(record.id, seen)
        seen += len(lines)
        yield from lines
        if not follow:
            break
        current = store.run(record.id)
        if current is None or current.outcome in FINISHED:
            rest = store.read_log(record.id, seen)  # written between the two reads
            seen += len(rest)
            yield from rest
            record = current or record
            break
        sleep(poll)
    if seen == 0:
        yield from record.log.splitlines()
