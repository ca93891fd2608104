"""target-duckdb against a real DuckDB file: every type row by row, upserts, schema evolution,
versions and deletes, STATE only after commit, and one clear line for bad input."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from tapwell.sdk.target import TargetLoop
from tapwell.targets.duckdb.loader import DuckDBLoader


def lines(*messages: dict) -> bytes:
    return b"".join(json.dumps(m, ensure_ascii=False).encode() + b"\n" for m in messages)


def schema(stream: str, props: dict, keys: list[str] | None = None) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys if keys is not None else ["id"],
    }


def record(stream: str, rec: dict, version: int | None = None) -> dict:
    msg = {"type": "RECORD", "stream": stream, "record": rec}
    if version is not None:
        msg["version"] = version
    return msg


def state(value: dict) -> dict:
    return {"type": "STATE", "value": value}


def run_loop(db: Path, data: bytes, **config) -> list[dict]:
    out = io.BytesIO()
    cfg = {"path": str(db), **config}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, out).run(io.BytesIO(data))
    return [json.loads(x) for x in out.getvalue().splitlines()]


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


TYPES = {
    "id": {"type": "integer"},
    "big": {"type": ["null", "integer"], "maximum": 18446744073709551615, "minimum": 0},
    "money": {
        "type": ["null", "number"],
        "multipleOf": 0.01,
        "maximum": 10**10,
        "exclusiveMaximum": True,
    },
    "wide": {"type": ["null", "number"], "multipleOf": 1e-30, "maximum": 1e35},
    "ratio": {"type": ["null", "number"]},
    "text": {"type": ["null", "string"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "day": {"type": ["null", "string"], "format": "date"},
    "clock": {"type": ["null", "string"], "format": "time"},
    "flag": {"type": ["null", "boolean"]},
    "obj": {"type": ["null", "object"]},
    "arr": {"type": ["null", "array"]},
}

ROWS = [
    {
        "id": 1,
        "big": 18446744073709551615,
        "money": Decimal("12345678.90"),
        "wide": Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
        "ratio": 0.1,
        "text": 'tab\there\nnewline \\ backslash "quote" 😀 é 日本',
        "at": "2024-02-29T23:59:59.123456+05:30",
        "day": "2024-02-29",
        "clock": "23:59:59.999999",
        "flag": True,
        "obj": {"a": [1, {"b": None}]},
        "arr": [1, "x"],
    },
    {
        "id": 2,
        "big": 0,
        "money": Decimal("-0.01"),
        "wide": Decimal("0.000000000000000000000000000001"),
        "ratio": -1e-7,
        "text": "",
        "at": "1970-01-01T00:00:00Z",
        "day": "0001-01-01",
        "clock": "00:00:00",
        "flag": False,
        "obj": {},
        "arr": [],
    },
    {
        "id": 3,
        "big": None,
        "money": None,
        "wide": None,
        "ratio": None,
        "text": None,
        "at": None,
        "day": None,
        "clock": None,
        "flag": None,
        "obj": None,
        "arr": None,
    },
]


def test_every_type_round_trips_row_by_row(tmp_path):
    db = tmp_path / "w.duckdb"
    from tapwell.singer.wire import dumps

    data = (
        dumps(schema("types", TYPES))
        + b"\n"
        + b"".join(dumps(record("types", r)) + b"\n" for r in ROWS)
    )
    run_loop(db, data)
    cols = list(TYPES)
    got = query(
        db, f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM main.types ORDER BY id"
    )
    dtypes = dict(
        query(
            db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'types'",
        )
    )
    assert (
        dtypes["big"] == "HUGEINT"
        and dtypes["money"] == "DECIMAL(12,2)"
        and dtypes["wide"] == "VARCHAR"
    )
    assert (
        dtypes["at"] == "TIMESTAMP WITH TIME ZONE"
        and dtypes["obj"] == "JSON"
        and dtypes["ratio"] == "DOUBLE"
    )
    first, second, third = (dict(zip(cols, row)) for row in got)
    assert first["big"] == 18446744073709551615
    assert first["money"] == Decimal("12345678.90")
    assert first["wide"] == "12345678901234567890123456789012345.123456789012345678901234567890"
    assert first["ratio"] == 0.1
    assert first["text"] == ROWS[0]["text"]
    assert first["at"] == datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=UTC)
    assert first["day"] == date(2024, 2, 29) and first["clock"] == time(23, 59, 59, 999999)
    assert first["flag"] is True
    assert json.loads(first["obj"]) == {"a": [1, {"b": None}]} and json.loads(first["arr"]) == [
        1,
        "x",
    ]
    assert second["text"] == "" and second["money"] == Decimal("-0.01") and second["flag"] is False
    assert Decimal(second["wide"]) == Decimal("1E-30") and second["ratio"] == -1e-7
    assert second["day"] == date(1, 1, 1) and json.loads(second["obj"]) == {}
    assert all(v is None for k, v in third.items() if k != "id")


def test_upsert_dedupes_within_a_batch_and_across_batches(tmp_path):
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
    run_loop(
        db,
        lines(
            schema("t", props),
            record("t", {"id": 1, "v": "a"}),
            record("t", {"id": 1, "v": "b"}),
            record("t", {"id": 2, "v": "c"}),
        ),
    )
    assert query(db, "SELECT id, v FROM t ORDER BY id") == [(1, "b"), (2, "c")]
    run_loop(
        db,
        lines(
            schema("t", props), record("t", {"id": 2, "v": "d"}), record("t", {"id": 3, "v": None})
        ),
    )
    assert query(db, "SELECT id, v FROM t ORDER BY id") == [(1, "b"), (2, "d"), (3, None)]


def test_composite_keys_and_append_only(tmp_path):
    db = tmp_path / "w.duckdb"
    props = {"a": {"type": "integer"}, "b": {"type": "string"}, "v": {"type": "integer"}}
    run_loop(
        db,
        lines(
            schema("t", props, ["a", "b"]),
            record("t", {"a": 1, "b": "x", "v": 1}),
            record("t", {"a": 1, "b": "y", "v": 2}),
            record("t", {"a": 1, "b": "x", "v": 3}),
        ),
    )
    assert query(db, "SELECT a, b, v FROM t ORDER BY b") == [(1, "x", 3), (1, "y", 2)]
    db2 = tmp_path / "append.duckdb"
    run_loop(
        db2,
        lines(
            schema("t", props, ["a", "b"]),
            record("t", {"a": 1, "b": "x", "v": 1}),
            record("t", {"a": 1, "b": "x", "v": 2}),
        ),
        load_method="append-only",
    )
    assert query(db2, "SELECT count(*) FROM t") == [(2,)]


def test_schema_evolution_adds_and_widens_never_drops(tmp_path):
    db = tmp_path / "w.duckdb"
    run_loop(
        db,
        lines(
            schema(
                "t",
                {"id": {"type": "integer"}, "n": {"type": "integer"}, "gone": {"type": "string"}},
            ),
            record("t", {"id": 1, "n": 5, "gone": "kept"}),
        ),
    )
    run_loop(
        db,
        lines(
            schema(
                "t",
                {
                    "id": {"type": "integer"},
                    "n": {"type": ["string", "null"]},
                    "new": {"type": "boolean"},
                },
            ),
            record("t", {"id": 2, "n": "five", "new": True}),
        ),
    )
    cols = dict(
        query(
            db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't'",
        )
    )
    assert cols == {"id": "BIGINT", "n": "VARCHAR", "gone": "VARCHAR", "new": "BOOLEAN"}
    assert query(db, "SELECT id, n, gone, new FROM t ORDER BY id") == [
        (1, "5", "kept", None),
        (2, "five", None, True),
    ]


def test_untrusted_identifiers_are_quoted(tmp_path):
    db = tmp_path / "w.duckdb"
    stream = 'we"ird; DROP TABLE x; --'
    props = {
        "id": {"type": "integer"},
        'col "quoted"': {"type": "string"},
        "spaces and ünïcødé 😀": {"type": "string"},
        "x" * 100: {"type": "string"},
    }
    run_loop(
        db,
        lines(
            schema(stream, props),
            record(
                stream,
                {"id": 1, 'col "quoted"': "q", "spaces and ünïcødé 😀": "u", "x" * 100: "long"},
            ),
        ),
    )
    assert query(
        db,
        f'SELECT "col ""quoted""", "spaces and ünïcødé 😀", "{"x" * 100}" FROM "{stream.replace(chr(34), chr(34) * 2)}"',
    ) == [("q", "u", "long")]


def test_state_is_printed_only_after_its_records_are_committed(tmp_path):
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}}
    msgs = [schema("t", props)]
    for i in range(1, 26):
        msgs.append(record("t", {"id": i}))
        if i % 5 == 0:
            msgs.append(state({"bookmarks": {"t": {"replication_key_value": i}}}))
    cfg = {"path": str(db), "batch_size_rows": 7}
    loader = DuckDBLoader(cfg)
    seen: list[tuple[int, int]] = []

    class Out(io.BytesIO):
        def write(self, b: bytes) -> int:  # at the moment a state is printed, count committed rows
            value = json.loads(b)
            seen.append(
                (
                    value["bookmarks"]["t"]["replication_key_value"],
                    loader.con.execute("SELECT count(*) FROM t").fetchone()[0],
                )
            )
            return len(b)

    TargetLoop("target-duckdb", loader, cfg, Out()).run(io.BytesIO(lines(*msgs)))
    assert seen, "no state printed"
    for bookmark, committed in seen:
        assert committed >= bookmark  # never ahead of the data
    assert seen[-1][0] == 25
    assert query(db, "SELECT value FROM main._tapwell_state") == [
        (json.dumps({"bookmarks": {"t": {"replication_key_value": 25}}}, separators=(",", ":")),)
    ]


def test_activate_version_hard_and_soft_delete(tmp_path):
    props = {"id": {"type": "integer"}}
    for hard in (True, False):
        db = tmp_path / f"v{hard}.duckdb"
        run_loop(
            db,
            lines(
                schema("t", props),
                {"type": "ACTIVATE_VERSION", "stream": "t", "version": 1},
                record("t", {"id": 1}, 1),
                record("t", {"id": 2}, 1),
                {"type": "ACTIVATE_VERSION", "stream": "t", "version": 1},
            ),
            hard_delete=hard,
        )
        run_loop(
            db,
            lines(
                schema("t", props),
                record("t", {"id": 2}, 2),
                {"type": "ACTIVATE_VERSION", "stream": "t", "version": 2},
            ),
            hard_delete=hard,
        )
        if hard:
            assert query(db, "SELECT id FROM t ORDER BY id") == [(2,)]
        else:
            assert query(db, "SELECT id, _sdc_deleted_at IS NOT NULL FROM t ORDER BY id") == [
                (1, True),
                (2, False),
            ]


def test_records_carrying_sdc_deleted_at_are_hard_deleted(tmp_path):
    db = tmp_path / "w.duckdb"
    props = {
        "id": {"type": "integer"},
        "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
    }
    run_loop(
        db,
        lines(schema("t", props), record("t", {"id": 1}), record("t", {"id": 2})),
        hard_delete=True,
    )
    run_loop(
        db,
        lines(
            schema("t", props), record("t", {"id": 1, "_sdc_deleted_at": "2024-01-01T00:00:00Z"})
        ),
        hard_delete=True,
    )
    assert query(db, "SELECT id FROM t") == [(2,)]


def test_metadata_columns(tmp_path):
    db = tmp_path / "w.duckdb"
    run_loop(
        db,
        lines(
            schema("t", {"id": {"type": "integer"}}),
            {**record("t", {"id": 1}, 7), "time_extracted": "2024-01-01T00:00:00Z"},
        ),
        add_metadata_columns=True,
    )
    row = query(
        db,
        "SELECT _sdc_extracted_at, _sdc_received_at IS NOT NULL, _sdc_batched_at IS NOT NULL, _sdc_table_version FROM t",
    )
    assert row == [(datetime(2024, 1, 1, tzinfo=UTC), True, True, 7)]


def test_bulk_load_many_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    props = {
        "id": {"type": "integer"},
        "amount": {"type": "number", "multipleOf": 0.01, "maximum": 10**10},
        "s": {"type": "string"},
    }
    data = lines(schema("t", props)) + b"".join(
        b'{"type":"RECORD","stream":"t","record":{"id":%d,"amount":%d.%02d,"s":"row %d"}}\n'
        % (i, i, i % 100, i)
        for i in range(50_000)
    )
    run_loop(db, data, batch_size_rows=20_000)
    assert query(db, "SELECT count(*), sum(amount), count(DISTINCT id) FROM t") == [
        (50_000, sum(Decimal(f"{i}.{i % 100:02d}") for i in range(50_000)), 50_000)
    ]


# ---------------------------------------------------------------- bad input, through the CLI


def run_cli(bin_path: Path, tmp_path: Path, data: bytes, **config) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(tmp_path / "w.duckdb"), **config}))
    return subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(cfg)], input=data, capture_output=True
    )


GOOD_START = lines(
    schema(
        "t", {"id": {"type": "integer"}, "at": {"type": ["null", "string"], "format": "date-time"}}
    ),
    record("t", {"id": 1}),
    state({"n": 1}),
)


@pytest.mark.parametrize(
    ("bad", "message", "code"),
    [
        (b"{oops\n", "stdin line 4: not valid JSON", 65),
        (
            lines(record("other", {"id": 1})),
            "stdin line 4, stream 'other': RECORD before its SCHEMA",
            65,
        ),
        (
            lines(record("t", {"id": "abc"})),
            "stdin line 4, stream 't', field 'id': 'abc' is not integer",
            65,
        ),
        (
            lines(record("t", {"id": 2, "at": "10000-01-01T00:00:00Z"})),
            "stdin line 4, stream 't', field 'at': '10000-01-01T00:00:00Z' is not a valid date-time string",
            65,
        ),
        (
            lines(record("t", {"at": None})),
            "stdin line 4, stream 't', field 'id': key property is missing or null",
            65,
        ),
    ],
)
def test_bad_input_is_one_line_and_nothing_after_the_last_commit(
    bin_path, tmp_path, bad, message, code
):
    result = run_cli(
        bin_path,
        tmp_path,
        GOOD_START + bad + lines(record("t", {"id": 9}), state({"n": 9})),
        batch_size_rows=1,
    )
    assert result.returncode == code
    err = result.stderr.decode()
    assert err.strip().splitlines()[-1].startswith(f"target-duckdb: error: {message}")
    assert "Traceback" not in err
    assert result.stdout.decode().splitlines() == [
        '{"n":1}'
    ]  # the committed state, nothing past it
    assert query(tmp_path / "w.duckdb", "SELECT id FROM t") == [(1,)]


def test_unknown_message_types_are_skipped(bin_path, tmp_path):
    result = run_cli(bin_path, tmp_path, GOOD_START + b'{"type": "SOMETHING_NEW", "x": 1}\n')
    assert result.returncode == 0 and result.stdout.decode().splitlines() == ['{"n":1}']


def test_empty_state_never_follows_a_non_empty_one(bin_path, tmp_path):
    result = run_cli(bin_path, tmp_path, GOOD_START + lines(state({})))
    assert result.stdout.decode().splitlines() == ['{"n":1}']
