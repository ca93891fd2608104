"""What a failed attempt is told as: the one stage that failed, its exit code and its own line.

An attempt has several processes and, when one fails, the others end too: the runner stops the tap
after the target died (its `-9` is the runner's doing, not a cause), a tap whose target is gone
gets a broken pipe. tapwell.runner.retry picks the culprit; this module says it once:

    target-duckdb exit 2: config key memory_limit: 'lots' is not a size; write it as ...

That sentence (`Failure.text`) is what the run history, `tapwell runs` and `tapwell serve` keep.
On the terminal the connector's own line is usually printed already (tapwell.runner.terminal
shows a connector's error lines as they come), so the runner's lines then name the stage and its
exit code and leave the line out (`Failure.brief`); a cause the terminal did not show (a
traceback's last line, a line without the word error) is in them instead. Either way it is on
the terminal once.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from tapwell.runner.guard import RUN_DIR_PREFIX
from tapwell.runner.terminal import TerminalFilter

_ROLE_WORD = re.compile(r"(?:^|[-_.])(tap|target|mapper)(?:$|[-_.])")
_ERROR_WORDS = ("error", "traceback", "exception")


# what differs between two attempts that fail the same way: when (a date-time or a time of day,
# with its fraction and offset) and where the attempt's config files were
_WHEN_AND_WHERE = re.compile(
    r"\b(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
    + "|"
    + re.escape(RUN_DIR_PREFIX)
    + r"[\w-]+"
)


def timeless(text: str) -> str:
    """`text` with its date-times, times of day and attempt folders each replaced by `~`."""
    return _WHEN_AND_WHERE.sub("~", text)


def same_error(a: str, b: str) -> bool:
    """Whether two attempts' errors are the same but for their times and temporary folders."""
    return a == b or timeless(a) == timeless(b)


@dataclass
class Failure:
    """One failed attempt, as said to a person: `stage` ("target-duckdb", or "target loader"
    when the name does not say its role), its exit `code` (negative: killed by that signal),
    `cause` (the connector's own line, without its `[name] name: error: ` prefixes; "" when it
    said nothing), `cause_shown` (that line is on the terminal already), and `stalled_for` (the
    stall timeout, for an attempt the watchdog stopped)."""

    stage: str
    code: int
    cause: str = ""
    cause_shown: bool = False
    stalled_for: float | None = None

    @property
    def head(self) -> str:
        if self.stalled_for is not None:
            return f"stalled: no output for {self.stalled_for:g}s, the runner stopped the attempt"
        if self.code < 0:
            return f"{self.stage} killed by {signal_name(-self.code)}"
        return f"{self.stage} exit {self.code}"

    @property
    def text(self) -> str:
        """The whole cause, for the run's record: `stage exit N: its line`."""
        return self.head + (f": {self.cause}" if self.cause else "")

    @property
    def brief(self) -> str:
        """For the terminal: the stage and its exit code, and its line unless already shown."""
        return self.head if self.cause_shown else self.text


def stage_name(role: str, name: str) -> str:
    """`name`, or `role name` when the name does not say it is a tap, target or mapper."""
    return name if _ROLE_WORD.search(name) else f"{role} {name}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


CONTINUED_LINES = 3  # at most this many lines after an error line that ends with ':'


def error_line(log: list[str], prefix: str, errors_only: bool = False) -> str:
    """The line that explains a failure best: the connector's last line naming an error, else
    (unless `errors_only`) its last line; never a METRIC line (figures, not a reason). An error
    line that ends with ':' goes on in the lines after it (`Invalid configuration:` then
    `  * Required key is missing from config: [password]`): they are joined to it."""
    mine = [
        ln
        for ln in log
        if ln.startswith(prefix) and not ln[len(prefix) :].lstrip().startswith("METRIC")
    ]
    errors = [i for i, ln in enumerate(mine) if any(w in ln.lower() for w in _ERROR_WORDS)]
    if not errors:
        return "" if errors_only or not mine else mine[-1]
    at = errors[-1]
    line = mine[at]
    for more in mine[at + 1 : at + 1 + CONTINUED_LINES]:
        if not line.rstrip().endswith(":") and not more[len(prefix) :].startswith((" ", "\t")):
            break
        body = more[len(prefix) :].strip()
        if not body:
            break
        line = f"{line.rstrip()} {body}"
    return line


def own_words(line: str, name: str) -> str:
    """A connector's log line without what repeats its name: `[tap-csv] tap-csv: error: X` -> X."""
    for prefix in (f"[{name}] ", f"{name}: ", "error: "):
        if line.startswith(prefix):
            line = line[len(prefix) :]
    return line.strip()


def on_terminal(log: list[str]) -> list[str]:
    """The lines of a run log that `tapwell run` showed on the terminal (TerminalFilter)."""
    shown: list[str] = []
    terminal = TerminalFilter(shown.append)
    for line in log:
        terminal(line)
    return shown


def describe(
    role: str, name: str, code: int, attempt_log: list[str], run_log: list[str]
) -> Failure:
    """The failure of stage `name` (`role`: tap, mapper or target) with exit `code`: its cause
    from the attempt's log lines, and whether the terminal has shown that cause during the run."""
    # a killed process's last info line is no reason; only a line naming an error is
    line = error_line(attempt_log, f"[{name}]", errors_only=code < 0)
    cause = own_words(line, name)
    # shown already, maybe with other times (the line of an earlier attempt that failed alike)
    shown = bool(cause) and any(timeless(cause) in timeless(ln) for ln in on_terminal(run_log))
    return Failure(stage_name(role, name), code, cause, shown)
