"""What of a run's log reaches the terminal of `tapwell run`.

The run log keeps every line; the terminal gets the runner's own lines (one per attempt that
failed, the run's start and end), the connectors' warnings and errors, and the progress lines,
never METRIC lines, a connector's info lines or a traceback (its last line is in the attempt's
line; the whole traceback is in `tapwell logs RUN_ID`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NOTEWORTHY = re.compile(r"\b(warn|warning|error|critical|fatal)\b", re.IGNORECASE)
_TRACEBACK = "Traceback (most recent call last):"


class TerminalFilter:
    """A sink for run-log lines that echoes the ones a person at the terminal needs."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.in_traceback: dict[str, bool] = {}

    def __call__(self, line: str) -> None:
        if self.shown(line):
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
