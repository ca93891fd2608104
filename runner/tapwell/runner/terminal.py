"""What of a run's log reaches the terminal of `tapwell run`.

The run log keeps every line; the terminal gets the runner's own lines that need a person (one
per attempt that failed and is retried, a fan-out's lagging target), the connectors' warnings
and errors, the progress lines, and one last line from the caller: `success_line`, or the
failure's (tapwell.runner.run.describe_failure). Never METRIC lines, a connector's info lines, the
run's start or its fast lane (`tapwell logs RUN_ID` has them), or a traceback (its last line is in
the attempt's line; the whole traceback is in the log).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tapwell.runner.run import RunResult

STREAMS_SHOWN = 5  # a run of more streams gives its total alone (`tapwell runs RUN_ID` has each)


def success_line(name: str, result: RunResult, seconds: float) -> str:
    """The one line a run that succeeded prints: its rows, its time, where its state went."""
    attempts = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    return (
        f"tapwell: {name} succeeded in {seconds:.2f}s{attempts}: {_rows(result)}, "
        + (f"state saved to {result.saved_in}" if result.states_saved else "no state to save")
        + f" (run {result.run_id})"
    )


def _rows(result: RunResult) -> str:
    if not result.rows and result.sent:  # a target without METRIC lines: not "0 rows"
        return f"rows not reported by the target (the tap sent {sum(result.sent.values()):,})"
    total = sum(result.rows.values())
    text = f"{total:,} row" + ("" if total == 1 else "s")
    if 1 < len(result.rows) <= STREAMS_SHOWN:
        text += " (" + ", ".join(f"{s} {n:,}" for s, n in sorted(result.rows.items())) + ")"
    earlier = sum(sum(r.values()) for r in result.attempt_rows[:-1])
    if earlier:  # not added up: a retry replays what followed the last committed state
        text += f" in the last attempt, {earlier:,} in earlier failed ones"
    return text


_NOTEWORTHY = re.compile(r"\b(warn|warning|error|critical|fatal)\b", re.IGNORECASE)
_TRACEBACK = "Traceback (most recent call last):"


class TerminalFilter:
    """A sink for run-log lines that echoes the ones a person at the terminal needs."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.in_traceback: dict[str, bool] = {}
        self.echoed: set[str] = set()  # the connectors' lines shown: a retry's same line is not

    def __call__(self, line: str) -> None:
        if self.shown(line):
            if not line.startswith("[tapwell]"):
                if line in self.echoed:
                    return  # e.g. an unreachable target's line, the same in every attempt
                self.echoed.add(line)
            self.echo(line)

    def shown(self, line: str) -> bool:
        if line.startswith("[tapwell]"):
            return True
        prefix, _, body = line.partition("] ")
        if body.startswith(_TRACEBACK):
            self.in_traceback[prefix] = True
            return False
        if self.in_traceback.get(prefix):
            if body[:1].isspace() or not body.strip():
                return False  # a frame of the traceback
            self.in_traceback[prefix] = False
            return False  # its exception line: the attempt's line says it
        if "METRIC: " in body:
            return False
        return bool(_NOTEWORTHY.search(body))
