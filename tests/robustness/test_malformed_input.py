"""Every target against the generator of bad input (tests/helpers/malformed.py), through its
command line: one error line naming the line, a documented exit code, no traceback, the valid
part before the last good STATE committed with it, nothing after it. The fast subset runs
unmarked; the rest of the generator is marked `slow`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.malformed import CASES, FAST, Case
from helpers.targets import TARGET_PARAMS, TARGETS, make_target

# Failures known in a target: (target, case) -> why (none today).
KNOWN: dict[tuple[str, str], str] = {}


def _params() -> list[object]:
    out = []
    for target in TARGETS:
        for case in CASES:
            marks = [] if case.name in FAST else [pytest.mark.slow]
            if target == "target-postgres":
                marks.append(pytest.mark.services)  # it asks for pg_db at run time
            why = KNOWN.get((target, case.name))
            if why:
                marks.append(pytest.mark.xfail(strict=True, reason=why))
            out.append(pytest.param(target, case, marks=marks, id=f"{target}-{case.name}"))
    return out


@pytest.mark.parametrize(("target_name", "case"), _params())
def test_target_on_generated_input(
    target_name: str, case: Case, request: pytest.FixtureRequest, bin_path: Path, tmp_path: Path
) -> None:
    pg = request.getfixturevalue("pg_db") if target_name == "target-postgres" else None
    target = make_target(target_name, bin_path, tmp_path, pg)
    result = target.run(case.data(tmp_path))
    err = result.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    states = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    errors = [line for line in err.splitlines() if ": error: " in line]
    expected = case.exit_for(target_name)
    if result.returncode == 0 and expected == 0:
        assert errors == [], err
        assert states[-1] == {"pos": 3}, result.stdout
        assert target.live_ids("s") == sorted([1, 2, 3, *case.valid_ids])
        if target.name != "target-jsonl":
            assert target.stored_state() == {"pos": 3}
        return
    assert result.returncode in (expected, *case.also), err
    assert len(errors) == 1 and errors[0].startswith(f"{target_name}: error: "), err
    assert "line 5" in errors[0], errors[0]
    assert case.says in errors[0], errors[0]
    assert states == [{"pos": 2}], result.stdout  # the last good STATE, and nothing after it
    assert target.live_ids("s") == [1, 2]
    if target.name != "target-jsonl":
        assert target.stored_state() == {"pos": 2}


def test_unknown_message_types_are_warned_once_each(bin_path: Path, tmp_path: Path) -> None:
    target = make_target("target-jsonl", bin_path, tmp_path)
    case = next(c for c in CASES if c.name == "unknown_types_valid")
    result = target.run(case.data(tmp_path))
    assert result.returncode == 0, result.stderr
    warned = [
        line for line in result.stderr.decode().splitlines() if "unknown message type" in line
    ]
    assert warned == [
        "target-jsonl WARNING stdin line 5: unknown message type 'FOO', skipped",
        "target-jsonl WARNING stdin line 7: unknown message type 'BAR', skipped",
    ]


@pytest.mark.parametrize("target_name", TARGET_PARAMS)
def test_the_good_part_of_a_long_input_is_committed_up_to_its_last_state(
    target_name: str, request: pytest.FixtureRequest, bin_path: Path, tmp_path: Path
) -> None:
    """Thousands of rows buffered (target-postgres has begun streaming them to the server), a
    STATE, more rows, then a bad line: exactly the rows before that STATE are committed."""
    from helpers.malformed import PROPS
    from helpers.targets import lines, record, schema, state

    pg = request.getfixturevalue("pg_db") if target_name == "target-postgres" else None
    target = make_target(target_name, bin_path, tmp_path, pg)
    rows = [record("s", {"id": i, "v": f"row {i}"}) for i in range(1, 6001)]
    data = lines(schema("s", PROPS, ["id"]), *rows[:4500], state({"pos": 4500}), *rows[4500:])
    data += b'{"type":"RECORD","stream":"s","record":{"id":"bad"}}\n'
    result = target.run(data)
    assert result.returncode == 65, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"{target_name}: error: stdin line 6003, stream 's', field 'id': 'bad' is not integer "
        "(fix the value at the source, or change the field's type in the SCHEMA)"
    ]
    assert result.stdout == b'{"pos":4500}\n'
    assert target.live_ids("s") == list(range(1, 4501))
