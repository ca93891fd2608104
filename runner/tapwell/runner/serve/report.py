"""Runs at the command line: `tapwell runs RUN_ID` (a run with its per-stage figures) and
`tapwell logs RUN_ID --follow` (the live log, read from the history store as it is written)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from tapwell.runner.history import FINISHED, RunRecord
from tapwell.runner.statestore import StateBackend


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
