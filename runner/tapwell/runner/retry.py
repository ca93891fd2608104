"""Which failed attempts are worth another try, and the waits between tries.

A connector's exit code decides, as tapwell.singer.errors defines them:

    2   configuration or authentication error   never retried (it will fail the same way)
    65  malformed input (EX_DATAERR)             never retried (the same input fails again)
    75  temporary failure (EX_TEMPFAIL)          always retried
    stalled (no output for the stall timeout)     always retried
    anything else                                 retried unless retry.retry_unknown_errors is false

and an attempt whose target failed (other than with 75) before committing anything, with the same
error as the attempt before it, is not retried again (`repeated`): that failure is deterministic.

When one side dies the other usually fails as a consequence (the tap's broken pipe after the
target's crash), so the side that failed first by its own code is the one that explains it.
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

CONFIG_EXIT = 2
DATAERR_EXIT = 65
TEMPFAIL_EXIT = 75
_BROKEN_PIPE = {-signal.SIGPIPE, 128 + signal.SIGPIPE, -signal.SIGKILL}


@dataclass
class Verdict:
    retriable: bool
    terminal_config: bool
    culprit: str  # "tap", "target" or "stall"


def classify(result: AttemptResult, policy: RetryPolicy) -> Verdict:
    if result.stalled:
        return Verdict(True, False, "stall")
    codes = {"target": result.target_code, "tap": result.tap_code}
    if CONFIG_EXIT in codes.values():
        return Verdict(False, True, "tap" if result.tap_code == CONFIG_EXIT else "target")
    culprit = "target" if result.target_code != 0 else "tap"
    if (
        result.target_code != 0
        and result.tap_code not in (0, *_BROKEN_PIPE)
        and result.target_code in _BROKEN_PIPE
    ):
        culprit = "tap"
    if DATAERR_EXIT in codes.values():
        return Verdict(False, False, "tap" if result.tap_code == DATAERR_EXIT else "target")
    if TEMPFAIL_EXIT in codes.values():
        return Verdict(True, False, culprit)
    return Verdict(policy.retry_unknown_errors, False, culprit)


def repeated(previous: tuple[str, int] | None, current: tuple[str, int]) -> bool:
    """Two attempts in a row that failed with the same error, the second having committed
    nothing: `(error, states_saved)` of each."""
    return previous is not None and previous[0] == current[0] and current[1] == 0


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
