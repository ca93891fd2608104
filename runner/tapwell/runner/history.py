"""Run records: what `tapwell runs` lists and `tapwell logs` prints, kept in the state backend."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# lost: the runner stopped without recording an end (killed, or its machine died); the next
# start of the integration finds it by its pid and host (tapwell.runner.run.mark_lost_runs).
# queued: `tapwell serve` waits for a free slot (serve.max_parallel_runs); skipped: it was due
# while the integration was still running; interrupted: SIGTERM / Ctrl-C / cancel stopped it.
OUTCOMES = ("queued", "running", "succeeded", "failed", "skipped", "interrupted", "lost")
FINISHED = ("succeeded", "failed", "skipped", "interrupted", "lost")
# who started a run: cron or a shell (cli), or tapwell serve (schedule, after, manual, relaunch)
TRIGGERS = ("cli", "schedule", "after", "manual", "relaunch")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(started: dt.datetime) -> str:
    """Sortable by start time to the microsecond (two runs started in one second list in their
    order), unique across machines by the random tail. Ids from 0.1 lack the microseconds; they
    stay valid and sort before the new ones of the same second."""
    return f"{started:%Y%m%dT%H%M%S%f}-{os.urandom(3).hex()}"


_RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}(?:[0-9]{6})?-[0-9a-f]{6}$")


def is_run_id(text: str) -> bool:
    """Whether `text` has the shape new_run_id makes (checked before it names a file or a row)."""
    return bool(_RUN_ID.match(text))


def log_line(line: str, at: dt.datetime | None = None) -> str:
    """A run log line with its UTC time first, to the microsecond: `2026-12-05T22:31:07.123456Z ...`."""
    return f"{(at or utcnow()):%Y-%m-%dT%H:%M:%S.%f}Z {line}"


@dataclass
class RunRecord:
    id: str
    integration: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    outcome: str = "running"
    attempts: int = 0
    # rows per stream the target reported in the run's last attempt (the successful one, when
    # the run succeeded); attempt_rows has every attempt's. They are not added up: an attempt
    # after a failure replays what followed the last committed state.
    rows: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    log: str = ""
    attempt_rows: list[dict[str, int]] = field(default_factory=list)
    pid: int | None = None  # the runner's process and machine, to tell a lost run
    host: str | None = None
    trigger: str = "cli"  # see TRIGGERS
    relaunch_of: str | None = None  # the run this one relaunched
    full_refresh: bool = False
    # per-stage figures sampled during the run (tapwell.runner.serve.sampler): "samples" (a time
    # series) and "summary" (peaks, averages, rows/s per stream)
    stages: dict[str, Any] = field(default_factory=dict)
    # fan-out: per target its exit code, rows, states saved, how far behind the tap it ended
    # ({"states", "seconds"}) and at most, and the seconds the copy waited on it; "_copy": bytes
    # and CPU of the copy
    targets: dict[str, Any] = field(default_factory=dict)

    @property
    def behind(self) -> dict[str, dict[str, Any]]:
        """The fan-out targets this run left behind the tap (see lagging)."""
        return lagging(self.targets)

    @property
    def earlier_rows(self) -> int:
        """Rows the failed attempts before the last one reported (partly replayed later)."""
        return sum(sum(r.values()) for r in self.attempt_rows[:-1])

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        data["started_at"] = dt.datetime.fromisoformat(data["started_at"])
        data["ended_at"] = (
            dt.datetime.fromisoformat(data["ended_at"]) if data.get("ended_at") else None
        )
        data.pop("earlier_rows", None)
        return cls(**data)


def lagging(targets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Of a run's per-target figures (RunRecord.targets), the targets that ended behind the tap:
    name -> {"states", "seconds", "required", "exit_code", "most_states"}. A target that failed
    without failing the run counts even when its last commit was the tap's last STATE."""
    out: dict[str, dict[str, Any]] = {}
    for name, f in targets.items():
        if name.startswith("_") or not isinstance(f, dict):
            continue
        lag = f.get("behind") or {}
        code = f.get("exit_code")
        failed = code not in (0, None) and not f.get("required", True)
        if lag.get("states", 0) > 0 or failed:
            out[name] = {
                "states": int(lag.get("states", 0)),
                "seconds": float(lag.get("seconds", 0.0)),
                "required": bool(f.get("required", True)),
                "exit_code": code,
                "most_states": int(f.get("most_behind_states", 0)),
            }
    return out


def lag_text(name: str, lag: dict[str, Any]) -> str:
    """`jsonl 3 STATE/1.5s`: one target's lag, short enough for a table cell."""
    return f"{name} {lag['states']} STATE/{lag['seconds']:g}s"


def runs_table(records: list[RunRecord]) -> str:
    """Runs as a fixed-width text table, newest first; a BEHIND column when a listed run left a
    fan-out target behind the tap (its STATE messages and seconds)."""
    late = any(r.behind for r in records)
    head = (
        "RUN ID",
        "INTEGRATION",
        "STARTED (UTC)",
        "SECONDS",
        "OUTCOME",
        "ATTEMPTS",
        "ROWS",
        *(("BEHIND",) if late else ()),
        "ERROR",
    )
    rows = [head]
    for r in records:
        secs = f"{(r.ended_at - r.started_at).total_seconds():.1f}" if r.ended_at else "-"
        error = (r.error or "").replace("\n", " ")
        rows.append(
            (
                r.id,
                r.integration,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                secs,
                r.outcome,
                str(r.attempts),
                f"{sum(r.rows.values()):,}"
                + (f" (+{r.earlier_rows:,} earlier)" if r.earlier_rows else ""),
                *((", ".join(lag_text(n, g) for n, g in r.behind.items()) or "-",) if late else ()),
                error[:60] + ("..." if len(error) > 60 else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


# Run totals: what /metrics exports as counters, kept by the store and added to once, when a
# run record first reaches a finished outcome, so they only grow, however long the history
# (reading the newest N runs made them drop past N: a counter reset to Prometheus).
# Totals: integration -> kind -> key -> value. Kinds: "runs" (key: final status), "rows" (key:
# stream; the rows of the run's last attempt, as RunRecord.rows), "duration_le" (key: a bucket's
# upper bound, cumulative), "duration_count" and "duration_sum" (key ""), "last_success" (key "":
# Unix time the newest successful run ended; kept as the largest, not added).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
LATEST_KEPT = 20  # newest run ids per integration a store indexes (FileStateStore.latest)

Totals = dict[str, dict[str, dict[str, float]]]


def totals_delta(run: RunRecord) -> list[tuple[str, str, float]]:
    """(kind, key, amount) that a finished `run` adds to its integration's totals."""
    out: list[tuple[str, str, float]] = [("runs", run.outcome, 1.0)]
    out += [("rows", stream, float(n)) for stream, n in sorted(run.rows.items())]
    if run.ended_at is not None and run.outcome != "skipped":
        seconds = max((run.ended_at - run.started_at).total_seconds(), 0.0)
        out += [("duration_count", "", 1.0), ("duration_sum", "", seconds)]
        out += [("duration_le", str(float(b)), 1.0) for b in DURATION_BUCKETS if seconds <= b]
    if run.outcome == "succeeded" and run.ended_at is not None:
        out.append(("last_success", "", run.ended_at.timestamp()))
    return out


def add_totals(totals: Totals, integration: str, delta: list[tuple[str, str, float]]) -> None:
    kinds = totals.setdefault(integration, {})
    for kind, key, amount in delta:
        values = kinds.setdefault(kind, {})
        if kind == "last_success":
            values[key] = max(values.get(key, amount), amount)
        else:
            values[key] = values.get(key, 0.0) + amount
