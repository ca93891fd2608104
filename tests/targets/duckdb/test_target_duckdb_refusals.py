"""Input a table cannot hold faithfully is refused with one line, exit 65, nothing committed past
the last good STATE (issue 20.8): an integer past 64 bits in a BIGINT column, a decimal past its column's digits
(a whole-batch DuckDB error before, exit 1, no line), and a change of key properties for a
table that was merged on other keys. (A plain number past a double's range, `1e400`, once refused
here, now makes its column exact text: test_target_duckdb_plain_number.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

PROPS = {
    "id": {"type": "integer"},
    "money": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "region": {"type": ["null", "string"]},
}
# A digit run of 16 makes the target read the line exactly (Decimal), as a long line would be.
GOOD = lines(
    schema("t", PROPS),
    record("t", {"id": 1, "ratio": 0.5, "region": "1234567890123456"}),
    state({"n": 1}),
)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (
            b'{"type":"RECORD","stream":"t","record":{"id":99999999999999999999,"ratio":1}}\n',
            "field 'id': 99999999999999999999 is outside the range of a BIGINT column (64 bits): "
            "fix the value at the source, or declare the field's maximum (and minimum) in the "
            "SCHEMA beyond 64 bits for a wider column",
        ),
        (
            b'{"type":"RECORD","stream":"t","record":{"id":2,"money":12345678901234567.25}}\n',
            "field 'money': 12345678901234567.25 has more than 10 digits before the point, "
            "which a DECIMAL(12,2) column cannot hold: fix the value at the source, or change "
            "the field's type in the SCHEMA (a larger maximum, or fewer decimal places, for a "
            "wider column)",
        ),
    ],
)
def test_a_number_the_column_cannot_hold_is_refused(bin_path, tmp_path, bad, problem):
    db = tmp_path / "w.duckdb"
    result = run_target(
        bin_path,
        tmp_path,
        GOOD + bad + lines(record("t", {"id": 3, "ratio": 1.0}), state({"n": 3})),
        db,
        batch_size_rows=1,
    )
    assert result.returncode == 65
    assert error_line(result) == f"target-duckdb: error: stdin line 4, stream 't', {problem}"
    assert result.stdout.decode().splitlines() == ['{"n":1}']
    assert query(db, "SELECT id, ratio FROM t") == [(1, 0.5)]


def test_a_long_number_a_double_holds_exactly_is_loaded(bin_path, tmp_path):
    """A long spelling takes the exact reader, and a double holds these as written."""
    db = tmp_path / "w.duckdb"
    keep = lines(
        record("t", {"id": 2, "ratio": Decimal("0.30000000000000004")}),
        record("t", {"id": 3, "ratio": 2**53}),
        record("t", {"id": 4, "ratio": Decimal("1.1000000000000000")}),
        state({"n": 2}),
    )
    result = run_target(bin_path, tmp_path, GOOD + keep, db)
    assert result.returncode == 0, result.stderr.decode()
    assert query(db, "SELECT id, ratio FROM t ORDER BY id") == [
        (1, 0.5),
        (2, 0.30000000000000004),
        (3, float(2**53)),
        (4, 1.1),
    ]


def test_changed_key_properties_are_refused_naming_old_and_new(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    first = run_target(bin_path, tmp_path, GOOD, db)
    assert first.returncode == 0, error_line(first)
    changed = lines(
        schema("t", PROPS, ["id", "region"]),
        record("t", {"id": 1, "ratio": 2.0, "region": "eu"}),
        state({"n": 2}),
    )
    for _ in range(2):
        result = run_target(bin_path, tmp_path, changed, db)
        assert result.returncode == 65
        assert error_line(result) == (
            "target-duckdb: error: stdin line 1, stream 't': key properties changed from ['id'] to "
            "['id', 'region']: table main.t was merged on ['id']. Drop or rename that table and "
            "load the stream again from the start, or map the stream to a new table with "
            "schema_mapping"
        )
        assert result.stdout == b""
        assert query(db, "SELECT id, ratio, region FROM t") == [(1, 0.5, "1234567890123456")]
    # the fix the line names: a new table for the stream
    mapped = run_target(
        bin_path, tmp_path, changed, db, schema_mapping={"t": {"target_table": "t_by_region"}}
    )
    assert mapped.returncode == 0, error_line(mapped)
    assert query(db, "SELECT id, ratio, region FROM t_by_region") == [(1, 2.0, "eu")]
    # append-only never merges, so its keys may change
    appended = run_target(bin_path, tmp_path, changed, db, load_method="append-only")
    assert appended.returncode == 0, error_line(appended)
    assert query(db, "SELECT count(*) FROM t") == [(2,)]
