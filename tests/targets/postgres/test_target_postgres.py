"""target-postgres against the real PostgreSQL: types, evolution, upserts, deletes, state, bad input."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.pg_target import (
    column_types,
    query,
    record,
    run_target,
    schema,
    state,
    stdout_states,
    text_lines,
)

pytestmark = pytest.mark.services


# ----------------------------------------------------------------------------- types

TYPES = {
    "id": {"type": "integer"},
    "big": {"type": ["null", "integer"], "maximum": 10**30},
    "price": {
        "type": ["null", "number"],
        "multipleOf": 0.01,
        "maximum": 10**10,
        "exclusiveMaximum": True,
    },
    "ratio": {"type": ["null", "number"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "clock": {"type": ["null", "string"], "format": "time"},
    "flag": {"type": ["null", "boolean"]},
    "doc": {"type": ["null", "object"]},
    "items": {"type": ["null", "array"]},
    "note": {"type": ["null", "string"]},
    "either": {"type": ["null", "string", "integer"]},
    "anything": {"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]},
}


def test_every_type_round_trips_exactly(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    text = "tab\there\nnew line\r\\ back \\N 'q' \"dq\" emoji \U0001f600 é"
    first = {
        "id": 1,
        "big": 123456789012345678901234567890,
        "price": 12345678.91,
        "ratio": 0.1,
        "at": "2024-02-29T23:59:59.123456+02:00",
        "day": "0001-01-01",
        "clock": "23:59:59.999999",
        "flag": True,
        "doc": {"a": [1, 2.5, "x\ty"], "b": None, "c": "back\\slash"},
        "items": [1, "two", {"3": 3}],
        "note": text,
        "either": 7,
        "anything": {"k": "v"},
    }
    second = {
        "id": 2,
        "big": None,
        "price": None,
        "ratio": 12345678901234567890.123456789,
        "at": "2024-01-01T00:00:00Z",
        "day": None,
        "clock": None,
        "flag": False,
        "doc": {},
        "items": [],
        "note": "",
        "either": "seven",
        "anything": "plain",
    }
    third = {"id": 3}
    msgs = text_lines(
        schema("types", TYPES, ["id"]),
        record("types", first),
        record("types", second),
        record("types", third),
        state({"bookmarks": {"types": {"id": 3}}}),
    )
    # The long number is written by hand so it arrives with every digit, as an exact tap sends it.
    msgs = msgs.replace("1.2345678901234567e+19", "12345678901234567890.123456789")
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert stdout_states(result.stdout) == [{"bookmarks": {"types": {"id": 3}}}]
    assert column_types(pg_db, "types") == {
        "id": "bigint",
        "big": "numeric(31,0)",
        "price": "numeric(12,2)",
        "ratio": "numeric",
        "at": "timestamp with time zone",
        "day": "date",
        "clock": "time without time zone",
        "flag": "boolean",
        "doc": "jsonb",
        "items": "jsonb",
        "note": "text",
        "either": "text",
        "anything": "jsonb",
    }
    rows = query(
        pg_db,
        "SELECT id, big, price, ratio, at::text, day::text, clock::text, flag, doc, items, note, either, anything FROM types ORDER BY id",
    )
    assert rows[0] == (
        1,
        Decimal("123456789012345678901234567890"),
        Decimal("12345678.91"),
        Decimal("0.1"),
        "2024-02-29 21:59:59.123456+00",
        "0001-01-01",
        "23:59:59.999999",
        True,
        {"a": [1, 2.5, "x\ty"], "b": None, "c": "back\\slash"},
        [1, "two", {"3": 3}],
        text,
        "7",
        {"k": "v"},
    )
    assert rows[1] == (
        2,
        None,
        None,
        Decimal("12345678901234567890.123456789"),
        "2024-01-01 00:00:00+00",
        None,
        None,
        False,
        {},
        [],
        "",
        "seven",
        "plain",
    )
    assert rows[2] == (3, None, None, None, None, None, None, None, None, None, None, None, None)
    assert query(pg_db, "SELECT value FROM tapwell_state WHERE id = 'default'") == [
        ({"bookmarks": {"types": {"id": 3}}},)
    ]


def test_number_as_float_only_when_asked(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = text_lines(
        schema("f", {"id": {"type": "integer"}, "x": {"type": "number"}}, ["id"]),
        record("f", {"id": 1, "x": 0.5}),
    )
    result = run_target({**pg_db, "number_type": "double precision"}, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert column_types(pg_db, "f")["x"] == "double precision"


# ----------------------------------------------------------------------------- evolution


def test_schema_evolution_adds_and_widens_never_drops(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    v1 = {
        "id": {"type": "integer"},
        "n": {"type": ["null", "integer"]},
        "old": {"type": ["null", "string"]},
    }
    v2 = {
        "id": {"type": "integer"},
        "n": {"type": ["null", "number"], "multipleOf": 0.001, "maximum": 10**6},
        "extra": {"type": ["null", "boolean"]},
    }
    v3 = {"id": {"type": "integer"}, "n": {"type": ["null", "string"]}}
    msgs = text_lines(
        schema("evo", v1, ["id"]),
        record("evo", {"id": 1, "n": 10, "old": "kept"}),
        schema("evo", v2, ["id"]),
        record("evo", {"id": 2, "n": 2.5, "extra": True}),
        schema("evo", v3, ["id"]),
        record("evo", {"id": 3, "n": "three"}),
    )
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert column_types(pg_db, "evo") == {
        "id": "bigint",
        "n": "text",
        "old": "text",
        "extra": "boolean",
    }
    assert query(pg_db, "SELECT id, n, old, extra FROM evo ORDER BY id") == [
        (1, "10.000", "kept", None),
        (2, "2.500", None, True),
        (3, "three", None, None),
    ]
    # A later run with the narrower first schema leaves the wide column alone.
    result = run_target(
        pg_db, text_lines(schema("evo", v1, ["id"]), record("evo", {"id": 4, "n": 4})), tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert column_types(pg_db, "evo")["n"] == "text"
    assert query(pg_db, "SELECT count(*) FROM evo") == [(4,)]


def test_integer_widens_to_numeric_in_place(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = text_lines(
        schema("w", {"id": {"type": "integer"}, "v": {"type": "integer"}}, ["id"]),
        record("w", {"id": 1, "v": 5}),
        schema("w", {"id": {"type": "integer"}, "v": {"type": "number"}}, ["id"]),
        record("w", {"id": 2, "v": 1.25}),
    )
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert column_types(pg_db, "w")["v"] == "numeric"
    assert query(pg_db, "SELECT id, v FROM w ORDER BY id") == [
        (1, Decimal(5)),
        (2, Decimal("1.25")),
    ]


# ----------------------------------------------------------------------------- loading


def test_upsert_dedupes_within_a_batch_and_updates_across_runs(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
    msgs = text_lines(
        schema("u", props, ["id"]),
        record("u", {"id": 1, "v": "a"}),
        record("u", {"id": 2, "v": "b"}),
        record("u", {"id": 1, "v": "a2"}),
        state({"n": 1}),
    )
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id, v FROM u ORDER BY id") == [(1, "a2"), (2, "b")]
    result = run_target(
        pg_db,
        text_lines(
            schema("u", props, ["id"]),
            record("u", {"id": 2, "v": None}),
            record("u", {"id": 3, "v": "c"}),
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id, v FROM u ORDER BY id") == [(1, "a2"), (2, None), (3, "c")]


def test_composite_keys(pg_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    props = {"a": {"type": "integer"}, "b": {"type": "string"}, "v": {"type": ["null", "integer"]}}
    msgs = text_lines(
        schema("ck", props, ["a", "b"]),
        record("ck", {"a": 1, "b": "x", "v": 1}),
        record("ck", {"a": 1, "b": "y", "v": 2}),
        record("ck", {"a": 1, "b": "x", "v": 3}),
    )
    result = run_target({**pg_db, "batch_size_rows": 2}, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT a, b, v FROM ck ORDER BY a, b") == [(1, "x", 3), (1, "y", 2)]


@pytest.mark.parametrize("metadata", [False, True], ids=["rows", "dicts"])
def test_keys_equal_in_postgres_are_one_row_in_a_batch(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, metadata: bool
) -> None:
    """1 and "1" in a text key, or one instant spelled twice in a timestamptz key, are one row
    in PostgreSQL: the batch loads the last record of each (no "cannot affect row a second
    time"), on the first load and when merging into rows already there."""
    props = {
        "k": {"type": ["integer", "number", "string"]},
        "v": {"type": "string"},
    }
    at = {"at": {"type": "string", "format": "date-time"}, "v": {"type": "string"}}
    msgs = text_lines(
        schema("mixed", props, ["k"]),
        *[
            record("mixed", {"k": k, "v": v})
            for k, v in [(1, "first"), ("1", "second"), (2, "two"), (2.5, "x"), ("2.5", "y")]
        ],
        schema("moments", at, ["at"]),
        record("moments", {"at": "2024-01-01T00:00:00Z", "v": "a"}),
        record("moments", {"at": "2024-01-01T02:00:00+02:00", "v": "b"}),
        state({"n": 1}),
    )
    config = {**pg_db, "add_metadata_columns": metadata}
    for _ in range(2):  # the second run merges into the rows the first one loaded
        result = run_target(config, msgs, tmp_path)
        assert result.returncode == 0, result.stderr
        assert stdout_states(result.stdout)[-1] == {"n": 1}
        assert query(pg_db, "SELECT k, v FROM mixed ORDER BY k") == [
            ("1", "second"),
            ("2", "two"),
            ("2.5", "y"),
        ]
        assert query(pg_db, "SELECT at::text, v FROM moments") == [("2024-01-01 00:00:00+00", "b")]


def test_append_only_keeps_every_record(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    msgs = text_lines(
        schema("ev", props, ["id"]),
        record("ev", {"id": 1, "v": "a"}),
        record("ev", {"id": 1, "v": "b"}),
    )
    config = {**pg_db, "load_method": "append-only"}
    assert run_target(config, msgs, tmp_path).returncode == 0
    assert run_target(config, msgs, tmp_path).returncode == 0
    assert query(pg_db, "SELECT id, v FROM ev ORDER BY v") == [
        (1, "a"),
        (1, "a"),
        (1, "b"),
        (1, "b"),
    ]


def test_overwrite_replaces_the_table_once_per_run(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}}
    config = {**pg_db, "load_method": "overwrite", "batch_size_rows": 1}
    assert (
        run_target(
            config,
            text_lines(schema("ow", props, ["id"]), *[record("ow", {"id": i}) for i in range(3)]),
            tmp_path,
        ).returncode
        == 0
    )
    assert (
        run_target(
            config,
            text_lines(schema("ow", props, ["id"]), *[record("ow", {"id": i}) for i in (7, 8)]),
            tmp_path,
        ).returncode
        == 0
    )
    assert query(pg_db, "SELECT id FROM ow ORDER BY id") == [(7,), (8,)]


def test_keyless_stream_appends_unless_keys_required(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = text_lines(
        schema("nk", {"v": {"type": "string"}}), record("nk", {"v": "a"}), record("nk", {"v": "a"})
    )
    assert run_target(pg_db, msgs, tmp_path).returncode == 0
    assert query(pg_db, "SELECT count(*) FROM nk") == [(2,)]
    result = run_target({**pg_db, "primary_key_required": True}, msgs, tmp_path)
    assert result.returncode != 0
    assert "stream 'nk' has no key properties; set primary_key_required to false" in result.stderr


def test_stream_names_and_schema_mapping(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    config = {
        **pg_db,
        "default_target_schema": "raw",
        "schema_mapping": {"shop": {"target_schema": "shop_copy"}},
    }
    del config["dbname"]  # MeltanoLabs spells it `database`
    msgs = text_lines(
        schema("shop-orders", {"id": {"type": "integer"}}, ["id"]),
        record("shop-orders", {"id": 1}),
        schema("other-items", {"id": {"type": "integer"}}, ["id"]),
        record("other-items", {"id": 2}),
        state({"done": True}),
    )
    result = run_target(config, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id FROM shop_copy.orders") == [(1,)]
    assert query(pg_db, "SELECT id FROM raw.items") == [(2,)]
    assert query(pg_db, "SELECT value FROM raw.tapwell_state") == [({"done": True},)]


# ----------------------------------------------------------------------------- deletes and versions

PROPS = {
    "id": {"type": "integer"},
    "v": {"type": ["null", "string"]},
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
}


@pytest.mark.parametrize("hard", [True, False])
def test_records_carrying_deleted_at(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, hard: bool
) -> None:
    config = {**pg_db, "hard_delete": hard}
    msgs = text_lines(
        schema("d", PROPS, ["id"]),
        record("d", {"id": 1, "v": "a"}),
        record("d", {"id": 2, "v": "b"}),
    )
    assert run_target(config, msgs, tmp_path).returncode == 0
    gone = text_lines(
        schema("d", PROPS, ["id"]),
        record("d", {"id": 1, "v": "a", "_sdc_deleted_at": "2024-05-01T00:00:00+00:00"}),
        record("d", {"id": 3, "v": "c"}),
    )
    result = run_target(config, gone, tmp_path)
    assert result.returncode == 0, result.stderr
    rows = query(pg_db, "SELECT id, _sdc_deleted_at IS NOT NULL FROM d ORDER BY id")
    assert rows == ([(2, False), (3, False)] if hard else [(1, True), (2, False), (3, False)])


@pytest.mark.parametrize("hard", [True, False])
def test_activate_version(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, hard: bool
) -> None:
    config = {**pg_db, "hard_delete": hard, "add_metadata_columns": True}
    props = {"id": {"type": "integer"}}
    first = text_lines(
        schema("av", props, ["id"]),
        {"type": "ACTIVATE_VERSION", "stream": "av", "version": 1},
        record("av", {"id": 1}, version=1),
        record("av", {"id": 2}, version=1),
        {"type": "ACTIVATE_VERSION", "stream": "av", "version": 1},
    )
    second = text_lines(
        schema("av", props, ["id"]),
        record("av", {"id": 2}, version=2),
        record("av", {"id": 3}, version=2),
        {"type": "ACTIVATE_VERSION", "stream": "av", "version": 2},
    )
    assert run_target(config, first, tmp_path).returncode == 0
    result = run_target(config, second, tmp_path)
    assert result.returncode == 0, result.stderr
    rows = query(
        pg_db, "SELECT id, _sdc_table_version, _sdc_deleted_at IS NOT NULL FROM av ORDER BY id"
    )
    assert rows == (
        [(2, 2, False), (3, 2, False)] if hard else [(1, 1, True), (2, 2, False), (3, 2, False)]
    )
    meta = query(
        pg_db,
        "SELECT _sdc_extracted_at, _sdc_received_at IS NOT NULL, _sdc_batched_at IS NOT NULL, _sdc_sequence > 0 FROM av WHERE id = 3",
    )
    assert meta == [(None, True, True, True)]


# ----------------------------------------------------------------------------- identifiers


def test_identifiers_quotes_spaces_unicode_and_long_names(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    long_a = "a_very_long_column_name_" + "x" * 50 + "_one"
    long_b = "a_very_long_column_name_" + "x" * 50 + "_two"
    props = {
        'id "quoted"': {"type": "integer"},
        "with space": {"type": "string"},
        "ünïcødé 名前": {"type": "string"},
        long_a: {"type": "integer"},
        long_b: {"type": "integer"},
        "Mixed Case": {"type": "string"},
    }
    stream = 'Table "of" things ' + "é" * 40
    rec = {
        'id "quoted"': 1,
        "with space": "s",
        "ünïcødé 名前": "u",
        long_a: 1,
        long_b: 2,
        "Mixed Case": "m",
    }
    result = run_target(
        pg_db, text_lines(schema(stream, props, ['id "quoted"']), record(stream, rec)), tmp_path
    )
    assert result.returncode == 0, result.stderr
    tables = query(
        pg_db,
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    )
    assert len(tables) == 1
    name = tables[0][0]
    assert len(name.encode()) <= 63 and name.startswith('Table "of" things ')
    cols = column_types(pg_db, name)
    assert len(cols) == 6 and all(len(c.encode()) <= 63 for c in cols)
    assert {'id "quoted"', "with space", "ünïcødé 名前", "Mixed Case"} <= set(cols)
    quoted = name.replace('"', '""')
    assert sorted(
        query(pg_db, f'SELECT "with space", "ünïcødé 名前", "Mixed Case" FROM "{quoted}"')
    ) == [("s", "u", "m")]
    # The same run again lands on the same shortened names.
    assert (
        run_target(
            pg_db, text_lines(schema(stream, props, ['id "quoted"']), record(stream, rec)), tmp_path
        ).returncode
        == 0
    )
    assert len(column_types(pg_db, name)) == 6


def test_identifier_collision_is_reported(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    from tapwell.targets.postgres.ddl import shorten

    long = "c" * 70
    props = {
        "id": {"type": "integer"},
        long: {"type": "integer"},
        shorten(long): {"type": "integer"},
    }
    result = run_target(pg_db, text_lines(schema("col", props, ["id"])), tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().endswith("rename one of them in the tap or a stream map")
    assert "both map to column" in result.stderr and "Traceback" not in result.stderr


def test_unknown_database_is_a_config_error(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    result = run_target(
        {**pg_db, "dbname": "no_such_db_tw", "password": "s3cret-value"}, "", tmp_path
    )
    assert result.returncode == 2
    assert (
        result.stderr.count("\n") == 1
        and "no_such_db_tw" in result.stderr
        and "s3cret-value" not in result.stderr
    )


# ----------------------------------------------------------------------------- bad input

BAD_PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "t": {"type": ["null", "string"]},
    "j": {"type": ["null", "object"]},
}
GOOD = [schema("bad", BAD_PROPS, ["id"]), record("bad", {"id": 1, "t": "ok"}), state({"pos": 1})]


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"type": "RECORD", "stream": "bad", "record": {"id": 2,', "stdin line 4: not valid JSON"),
        (record("other", {"id": 2}), "stdin line 4, stream 'other': RECORD before its SCHEMA"),
        (
            record("bad", {"id": 2, "n": "abc"}),
            "stdin line 4, stream 'bad', field 'n': 'abc' is not integer",
        ),
        (
            record("bad", {"id": 2, "at": "10000-01-01T00:00:00Z"}),
            "stdin line 4, stream 'bad', field 'at': '10000-01-01T00:00:00Z' is not a valid date-time",
        ),
        (
            record("bad", {"id": 2, "t": "nul\u0000here"}),
            "stdin line 4, stream 'bad', field 't': text contains a NUL byte",
        ),
        (
            record("bad", {"t": "no key"}),
            "stdin line 4, stream 'bad', field 'id': key property is missing or null",
        ),
        (
            record("bad", {"id": 2, "n": 2**63}),
            "stdin line 4, stream 'bad', field 'n': value does not fit the column: value \"9223372036854775808\" is out of range for type bigint",
        ),
        (
            record("bad", {"id": 2, "j": {"k": "nul\u0000"}}),
            "stdin line 4, stream 'bad', field 'j': JSON contains a NUL character",
        ),
    ],
    ids=[
        "malformed-json",
        "record-before-schema",
        "abc-for-integer",
        "year-10000",
        "nul-in-text",
        "missing-key",
        "bigint-overflow",
        "nul-in-json",
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_after_the_last_state(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, bad_line: Any, expected: str
) -> None:
    msgs = text_lines(*GOOD, bad_line, record("bad", {"id": 3}), state({"pos": 3}))
    config = {**pg_db, "batch_size_rows": 1, "nul_characters": "error"}  # NUL: refused, as asked
    result = run_target(config, msgs, tmp_path)
    assert result.returncode == 65, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("target-postgres: error: " + expected), errors[0]
    assert stdout_states(result.stdout) == [{"pos": 1}]
    assert query(pg_db, "SELECT id FROM bad ORDER BY id") == [(1,)]
    assert query(pg_db, "SELECT value FROM tapwell_state") == [({"pos": 1},)]


def test_a_refused_value_is_reported_after_a_schema_problem_later_in_its_batch(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    # Rows are encoded as they are read, but a value PostgreSQL cannot store is reported when its
    # batch loads: a record that breaks the schema later in the same batch is reported first.
    msgs = text_lines(
        *GOOD,
        record("bad", {"id": 2, "t": "nul\u0000here"}),
        record("bad", {"id": 3, "n": "abc"}),
        state({"pos": 3}),
    )
    result = run_target({**pg_db, "nul_characters": "error"}, msgs, tmp_path)
    assert result.returncode == 65, result.stderr
    assert "stdin line 5, stream 'bad', field 'n': 'abc' is not integer" in result.stderr
    assert "NUL" not in result.stderr


def test_a_refused_value_replaced_in_its_batch_is_never_loaded(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    # The last record of a key wins inside a batch: an earlier one PostgreSQL could not store
    # is dropped with the rest of it, as when records were kept as dicts until the load.
    msgs = text_lines(
        *GOOD,
        record("bad", {"id": 2, "t": "nul\u0000here", "n": 5}),
        record("bad", {"id": 3, "t": "tab\there", "j": {"k": "x\\y"}}),
        record("bad", {"id": 2, "t": "fixed"}),
        state({"pos": 3}),
    )
    pg_db = {**pg_db, "nul_characters": "error"}
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id, n, t, j FROM bad ORDER BY id") == [
        (1, None, "ok", None),
        (2, None, "fixed", None),
        (3, None, "tab\there", {"k": "x\\y"}),
    ]
    bad = text_lines(*GOOD, record("bad", {"id": 4, "t": "a\u0000b"}), record("bad", {"id": 5}))
    result = run_target(pg_db, bad, tmp_path)
    assert result.returncode == 65
    assert "stdin line 4, stream 'bad', field 't': text contains a NUL byte" in result.stderr
    assert query(pg_db, "SELECT id FROM bad WHERE id > 3") == []


def test_unknown_message_types_are_skipped(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = text_lines(
        schema("s", {"id": {"type": "integer"}}, ["id"]),
        {"type": "SOMETHING_NEW", "x": 1},
        record("s", {"id": 1}),
    )
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id FROM s") == [(1,)]


def test_never_an_empty_state_after_a_non_empty_one(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = text_lines(
        schema("s", {"id": {"type": "integer"}}, ["id"]),
        record("s", {"id": 1}),
        state({"a": 1}),
        record("s", {"id": 2}),
        state({}),
    )
    result = run_target({**pg_db, "batch_size_rows": 1}, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert stdout_states(result.stdout) == [{"a": 1}]
    assert query(pg_db, "SELECT value FROM tapwell_state") == [({"a": 1},)]


# ----------------------------------------------------------------------------- crash and resume


def _orders(start: int, stop: int, every: int) -> list[str]:
    out = []
    for i in range(start, stop + 1):
        out.append(json.dumps(record("orders", {"id": i, "note": f"order {i}\twith a tab"})))
        if i % every == 0:
            out.append(json.dumps(state({"bookmarks": {"orders": {"id": i}}})))
    return out


def test_kill_9_mid_batch_then_rerun_loses_nothing_and_duplicates_nothing(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import threading

    total = 60_000
    head = json.dumps(
        schema("orders", {"id": {"type": "integer"}, "note": {"type": "string"}}, ["id"])
    )
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({**pg_db, "batch_size_rows": 700}))
    proc = subprocess.Popen(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        try:
            for line in [head, *_orders(1, total, 250)]:
                proc.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    printed = []
    for raw in proc.stdout:
        printed.append(json.loads(raw))
        if len(printed) == 5:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    writer.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    last_printed = printed[-1]["bookmarks"]["orders"]["id"]
    stored = query(pg_db, "SELECT value FROM tapwell_state")[0][0]["bookmarks"]["orders"]["id"]
    ids = [r[0] for r in query(pg_db, "SELECT id FROM orders ORDER BY id")]
    assert (
        last_printed <= stored < total
    )  # the stored state is the printed one or the commit after it
    assert ids[:stored] == list(range(1, stored + 1))  # every row the stored state covers is there
    assert len(ids) == len(set(ids))

    # Resume as a tap would: from the stored bookmark (some rows after it are already loaded).
    again = "\n".join([head, *_orders(stored + 1, total, 250)]) + "\n"
    result = run_target({**pg_db, "batch_size_rows": 700}, again, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM orders") == [
        (total, total, 1, total)
    ]
    assert query(pg_db, "SELECT value FROM tapwell_state") == [
        ({"bookmarks": {"orders": {"id": total}}},)
    ]


def test_full_table_resync_revives_rows_sent_again(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    """A FULL_TABLE sync opens with ACTIVATE_VERSION: rows of the old version are marked, and those
    the new version sends again must come back alive (soft delete, no metadata columns)."""

    def sync(version: int, ids: list[int]) -> str:
        activate = {"type": "ACTIVATE_VERSION", "stream": "ft", "version": version}
        rows = [record("ft", {"id": i}, version=version) for i in ids]
        return text_lines(
            schema("ft", {"id": {"type": "integer"}}, ["id"]), activate, *rows, activate
        )

    assert run_target(pg_db, sync(1, [1, 2, 3]), tmp_path).returncode == 0
    assert run_target(pg_db, sync(2, [1, 2, 3]), tmp_path).returncode == 0
    result = run_target(pg_db, sync(3, [2, 3]), tmp_path)
    assert result.returncode == 0, result.stderr
    rows = query(
        pg_db, "SELECT id, _sdc_table_version, _sdc_deleted_at IS NOT NULL FROM ft ORDER BY id"
    )
    assert rows == [(1, 2, True), (2, 3, False), (3, 3, False)]


def test_batches_are_bounded_by_input_bytes(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    msgs = [schema("wide", {"id": {"type": "integer"}, "blob": {"type": "string"}}, ["id"])]
    for i in range(1, 11):
        msgs += [record("wide", {"id": i, "blob": "x" * 600}), state({"pos": i})]
    result = run_target({**pg_db, "batch_size_bytes": 1500}, text_lines(*msgs), tmp_path)
    assert result.returncode == 0, result.stderr
    printed = [s["pos"] for s in stdout_states(result.stdout)]
    assert len(printed) >= 4 and printed[-1] == 10 and printed == sorted(printed)
    assert query(pg_db, "SELECT count(*) FROM wide") == [(10,)]


def test_upsert_into_an_existing_table_without_a_primary_key(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    query(
        pg_db,
        "CREATE TABLE legacy (id bigint, v text); INSERT INTO legacy VALUES (1, 'old'), (2, 'keep'); COMMIT",
    )
    props = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
    msgs = text_lines(
        schema("legacy", props, ["id"]),
        record("legacy", {"id": 1, "v": "new"}),
        record("legacy", {"id": 3, "v": "c"}),
    )
    result = run_target(pg_db, msgs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_db, "SELECT id, v FROM legacy ORDER BY id") == [
        (1, "new"),
        (2, "keep"),
        (3, "c"),
    ]
