"""Run records: what `tapwell runs` lists and `tapwell logs` prints, kept in the state backend."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

# lost: the runner stopped without recording an end (killed, or its machine died); the next
# start of the integration finds it by its pid and host (tapwell.runner.run.mark_lost_runs).
OUTCOMES = ("running", "succeeded", "failed", "lost")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(started: dt.datetime) -> str:
    """Sortable by start time, unique across machines."""
    return f"{started:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


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
    # fan-out: per target its exit code, rows, states saved, how far behind the tap it ended
    # ({"states", "seconds"}) and the seconds it kept the copy waiting; "_copy": bytes and CPU
    targets: dict[str, Any] = field(default_factory=dict)

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


def runs_table(records: list[RunRecord]) -> str:
    """Runs as a fixed-width text table, newest first."""
    head = (
        "RUN ID",
        "INTEGRATION",
        "STARTED (UTC)",
        "SECONDS",
        "OUTCOME",
        "ATTEMPTS",
        "ROWS",
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
                error[:60] + ("..." if len(error) > 60 else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
