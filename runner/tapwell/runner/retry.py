"""Which failed attempts are worth another try, and the waits between tries.

A connector's exit code decides, as tapwell.singer.errors defines them:

    2   configuration or authentication error   never retried (it will fail the same way)
    126, 127  a command not executable / not found  never retried: a shell's codes (a wrapper
              script's missing program, or setpriv's when exec fails); a configuration error
    65  malformed input (EX_DATAERR)             never retried (the same input fails again)
    75  temporary failure (EX_TEMPFAIL)          always retried
    stalled (no output for the stall timeout)     always retried
    anything else                                 retried unless retry.retry_unknown_errors is false

and an attempt whose target failed (other than with 75) before committing anything, with the same
error as the attempt before it, is not retried again (`repeated`): that failure is deterministic.
The same error: the same exit code and error line but for what changes from one attempt to the
next whatever the cause (tapwell.runner.failure.same_error: a logger's `time=2026-12-07 18:11:29`,
the attempt's temporary folder).

The code that decides is the culprit's (`culprit`): when one side dies the other usually fails
as a consequence (the tap's broken pipe after the target's crash, or the runner stopping the tap
then), so the side that failed first by its own code is the one that explains it, and the one
tapwell.runner.failure names.

`tapwell run` exits with the class of that failure (`run_exit_code`), so that cron, a CronJob or
a wrapper can tell what to do next: 2 fix the configuration, 65 fix the data, 75 try again later,
1 anything else (a crash, a signal, an unknown code).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass

from tapwell.runner.attempt import AttemptResult
from tapwell.runner.project import RetryPolicy

# A run with no output at all (pipes, stderr, bytes written) for this long is killed and
# retried when tapwell.yml sets no stall_timeout_seconds: behind a one-sided network cut a
# connection otherwise waits for the server's TCP keepalive, about two hours. Long enough for
# a silent phase of a big load (a sort before the first row, a large commit).
DEFAULT_STALL_TIMEOUT_SECONDS = 1800.0

FAILED_EXIT = 1
CONFIG_EXIT = 2
# a shell's (and setpriv's) exit codes for a command found but not executable, and not found
NOT_RUNNABLE_EXITS = (126, 127)
DATAERR_EXIT = 65
TEMPFAIL_EXIT = 75
# a tap's (or mapper's) ends when its reader is gone: the pipe broke (signal, or the shell's 128+N)
_BROKEN_PIPE = {-signal.SIGPIPE, 128 + signal.SIGPIPE}


@dataclass
class Verdict:
    retriable: bool
    terminal_config: bool
    culprit: str  # "tap", "target" or "stall"


def culprit(result: AttemptResult) -> str:
    """The side whose failure explains the attempt's end: "tap" (or its failed mapper),
    "target" or "stall". A code the runner caused is never the culprit: the tap it stopped
    after the target died (`source_stopped`). Of two failures, the target's explains the tap's
    broken pipe; a tap killed from outside (kill -9, the OOM killer) explains a target that
    then read half a line; a tap that failed by its own code explains a target whose pipe broke."""
    if result.stalled:
        return "stall"
    tap_failed = result.tap_code != 0 and not result.source_stopped
    if result.target_code == 0 or not tap_failed:
        return "target" if result.target_code != 0 else "tap"
    if result.tap_code in _BROKEN_PIPE:
        return "target"
    if result.tap_code < 0:
        return "tap"
    return "tap" if result.target_code in _BROKEN_PIPE else "target"


def classify(result: AttemptResult, policy: RetryPolicy) -> Verdict:
    """Whether to try again, by the culprit's exit code (see the module's docstring)."""
    side = culprit(result)
    if side == "stall":
        return Verdict(True, False, side)
    code = result.tap_code if side == "tap" else result.target_code
    if code == CONFIG_EXIT or code in NOT_RUNNABLE_EXITS:
        return Verdict(False, True, side)
    if code == DATAERR_EXIT:
        return Verdict(False, False, side)
    if code == TEMPFAIL_EXIT:
        return Verdict(True, False, side)
    return Verdict(policy.retry_unknown_errors, False, side)


def run_exit_code(culprit_code: int | None, stalled: bool, terminal_config: bool) -> int:
    """What a failed run exits with, by its last attempt's failure: 2 for a configuration error
    (the culprit's exit 2, or the project found wrong during the run), 65 for the culprit's 65,
    75 for a temporary failure whose attempts ran out (the culprit's 75, or a stall), and 1 for
    anything else: exit 1 or an unknown code, a signal, a run that failed before any attempt
    (`culprit_code` None)."""
    if terminal_config or culprit_code == CONFIG_EXIT:
        return CONFIG_EXIT
    if stalled:
        return TEMPFAIL_EXIT
    if culprit_code in (DATAERR_EXIT, TEMPFAIL_EXIT):
        return culprit_code
    return FAILED_EXIT


def repeated(previous: tuple[str, int] | None, current: tuple[str, int]) -> bool:
    """Two attempts in a row that failed with the same error (`same_error`), the second having
    committed nothing: `(error, states_saved)` of each."""
    if previous is None or current[1] != 0:
        return False
    from tapwell.runner.failure import same_error  # only a failed attempt needs it (runstart)

    return same_error(previous[0], current[0])


def stall_timeout(policy: RetryPolicy) -> float:
    """The policy's stall timeout, or the default."""
    return policy.stall_timeout_seconds or DEFAULT_STALL_TIMEOUT_SECONDS


def waits(policy: RetryPolicy) -> Iterator[float]:
    """Seconds to wait before attempt 2, 3, ...: exponential (the backoff library's expo),
    starting at backoff_seconds and capped at max_backoff_seconds. The library (and the asyncio
    it imports) is loaded at the first retry, not at every run's start."""
    import backoff

    gen = backoff.expo(base=2, factor=policy.backoff_seconds, max_value=policy.max_backoff_seconds)
    next(gen)  # backoff's generators are primed with one send(None)
    yield from gen
