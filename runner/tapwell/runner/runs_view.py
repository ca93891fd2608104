"""How `tapwell runs` shows a run's error: the root cause first, the exit code after it.

A run's recorded error reads `target-postgres exit 2: CAUSE (gave up after 3 attempts)`
(tapwell.runner.failure; records of 0.1 read `tap exit 0, target exit 2: [target-postgres]
target-postgres: error: CAUSE ...`); the table's narrow ERROR column then ended before the cause,
or right at its start. Shown as `target-postgres: CAUSE (exit 2; gave up after 3 attempts)`, the
first characters are the ones that say what went wrong.
"""

from __future__ import annotations

import dataclasses
import re

from tapwell.runner.history import RunRecord

_HEAD = re.compile(
    r"(?P<head>[\w.-]+ exit -?\d+, target (?:[\w.-]+ )?exit -?\d+): (?P<cause>.+)", re.DOTALL
)
# the stage (a name, or "role name" when the name does not say it) and its exit code
_STAGE = re.compile(
    r"(?P<stage>[\w.-]+(?: [\w.-]+)?) (?P<head>exit -?\d+): (?P<cause>.+)", re.DOTALL
)
_GAVE_UP = re.compile(
    r"\s*\((?P<tail>(?:gave up after|the same error in) \d+ attempts?(?: in a row)?)\)$"
)
_CONNECTOR = re.compile(r"\[(?P<name>[^\]\s]+)\] (?:(?P=name): )?(?:error: )?")


def root_cause_first(error: str | None) -> str | None:
    """The error with the connector's own message first (see the module's docstring); an error
    of another shape is returned as it is."""
    if not error:
        return error
    m = _HEAD.fullmatch(error.strip())
    stage = None if m else _STAGE.fullmatch(error.strip())
    if m is None and stage is None:
        return error
    found = m or stage
    assert found is not None
    cause, after = found.group("cause"), [found.group("head")]
    gave_up = _GAVE_UP.search(cause)
    if gave_up:
        cause, after = cause[: gave_up.start()], [*after, gave_up.group("tail")]
    if stage is not None:
        return f"{stage.group('stage')}: {cause} ({'; '.join(after)})"
    named = _CONNECTOR.match(cause)
    if named:
        cause = f"{named.group('name')}: {cause[named.end() :]}"
    return f"{cause} ({'; '.join(after)})"


def for_table(records: list[RunRecord]) -> list[RunRecord]:
    """Copies of the records with their errors root cause first (the records are not changed)."""
    return [dataclasses.replace(r, error=root_cause_first(r.error)) for r in records]
