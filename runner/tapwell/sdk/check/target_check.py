"""`tapwell check target -- COMMAND...`: feed a target the suite and report what it got wrong.

What every target must do, observably, whatever its destination:
- exit 0 on valid input; refuse malformed input with a non-zero exit and an error message, not
  a traceback;
- print on stdout only STATE values, each equal to one it was sent, in the order sent, the last
  one sent included at the end of a good run, never an empty one after a non-empty one;
- never confirm a STATE that comes after a malformed line (the data behind it was not loaded).

With `verify` (see tapwell.sdk.check.verify) the destination is read back and compared row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tapwell.sdk.check import process
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.suite import CASES, Case, Prepared, prepare
from tapwell.sdk.check.verify import Verifier


def check_target(
    command: Sequence[str],
    *,
    cases: Sequence[str] | None = None,
    verify: Verifier | None = None,
    timeout: float = 120.0,
) -> Report:
    """Run every suite case (or those named in `cases`) through the target run by `command`."""
    report = Report("target", list(command))
    chosen = [c for c in CASES if cases is None or c.name in cases]
    unknown = set(cases or ()) - {c.name for c in CASES}
    if unknown:
        from tapwell.singer.errors import ConfigError

        raise ConfigError(
            f"unknown case(s) {sorted(unknown)}; the suite has {[c.name for c in CASES]}"
        )
    for case in chosen:
        prepared = prepare(case)
        outcome, emitted = _run_case(list(command), prepared, timeout)
        check = f"{'valid' if case.valid else 'malformed'}: {case.name}"
        report.ran(check)
        if outcome.timed_out:
            report.add(check, "timeout", f"did not finish in {timeout:.0f}s")
            continue
        _check_exit(case, outcome, check, report)
        _check_states(prepared, emitted, outcome.returncode, check, report)
        if verify is not None and case.valid and outcome.returncode == 0:
            verify.compare(prepared, report, check)
    if verify is not None:
        report.note(f"destination read back with {verify.describe()}")
    return report


def _run_case(
    command: list[str], prepared: Prepared, timeout: float
) -> tuple[process.Outcome, list[tuple[int, bytes]]]:
    lines: list[tuple[int, bytes]] = []
    outcome = process.run(
        command, lambda n, line: lines.append((n, line)), stdin=prepared.data, timeout=timeout
    )
    return outcome, lines


def _check_exit(case: Case, outcome: process.Outcome, check: str, report: Report) -> None:
    if case.valid:
        if outcome.returncode != 0:
            report.add(
                check,
                "rejected-valid-input",
                f"exited {outcome.returncode}: {outcome.last_error_line()}",
            )
        return
    if outcome.returncode == 0:
        report.add(check, "accepted-malformed-input", f"exited 0 on {case.about}")
        return
    if outcome.has_traceback:
        report.add(
            check,
            "traceback",
            f"refused with a traceback instead of one error line: {outcome.last_error_line()}",
        )
    elif not outcome.stderr.strip():
        report.add(check, "silent-failure", f"exited {outcome.returncode} without a word on stderr")


def _check_states(
    prepared: Prepared,
    emitted: list[tuple[int, bytes]],
    returncode: int,
    check: str,
    report: Report,
) -> None:
    sent = prepared.states()
    bad_at = None if prepared.case.valid else prepared.first_bad_line()
    last_index = -1
    previous: Any = None
    for line_no, raw in emitted:
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            report.add(
                check,
                "stdout-not-state",
                f"stdout line is not JSON (stdout is for STATE only): {raw[:100]!r}",
                line=line_no,
            )
            continue
        if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
            report.add(
                check,
                "stdout-not-state",
                "printed a whole STATE message; a target prints the state's value",
                line=line_no,
            )
            value = value["value"]
        matches = [i for i, v in sent if v == value and i > last_index] or [
            i for i, v in sent if v == value
        ]
        if not matches:
            report.add(
                check,
                "state-unknown",
                f"printed a state it was never sent: {raw[:100]!r}",
                line=line_no,
            )
            continue
        index = matches[0]
        if index < last_index:
            report.add(
                check,
                "state-out-of-order",
                "printed a state older than one it printed before",
                line=line_no,
            )
        if previous and not value:
            report.add(
                check, "state-emptied", "printed an empty state after a non-empty one", line=line_no
            )
        if bad_at is not None and index > bad_at:
            report.add(
                check,
                "state-ahead-of-data",
                "confirmed a STATE sent after the malformed line: the runner would "
                "skip data that was never loaded",
                line=line_no,
            )
        last_index, previous = max(last_index, index), value
    if prepared.case.valid and returncode == 0 and sent and last_index != sent[-1][0]:
        report.add(
            check,
            "final-state-missing",
            "did not print the last STATE it was sent after loading everything; "
            "a runner would resume from an older bookmark",
        )
