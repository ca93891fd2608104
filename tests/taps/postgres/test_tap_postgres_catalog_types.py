"""tap-postgres and a catalog whose types the user edited, or another tap wrote: the SCHEMA it
prints and its records agree. A type the column's values fit (integer for a smallint, number for
a numeric or an integer, string for text/varchar/uuid, a jsonb column narrowed) is announced as
the catalog says (with null: a later row may hold one; the column's own format, bounds and
length); one they do not fit is refused before any message, in one line naming the stream, the
column, both types and the fix (exit 2). Before, an edited type was ignored without a word."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers.pg_tap import discover, messages, run_tap, select, sql, stream_entry
from tapwell.taps.postgres.types import catalog_typed

DDL = (
    "CREATE SCHEMA src",
    "CREATE TABLE src.t (id integer PRIMARY KEY, si smallint, code integer, amount numeric(10,2), "
    "name text, label varchar(20), u uuid, doc jsonb, d date, at timestamptz(6), ok boolean, "
    "ai integer[])",
    "INSERT INTO src.t VALUES "
    "(1, -32768, 12, 1.50, 'é🎉', '', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
    """'{"k": [1, 2.50]}', '2024-01-31', '2024-01-31 10:00:00.123456+02', true, '{1,NULL}'), """
    "(2, 7, -7, -2.25, '', 'x', NULL, '[1]', '0001-01-01', '9999-12-31 23:59:59.999999+00', "
    "false, '{}'), "
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
)
ROWS = [
    {"id": 1, "si": -32768, "code": 12, "amount": Decimal("1.50"), "name": "é🎉", "label": "",
     "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "doc": {"k": [1, Decimal("2.50")]},
     "d": "2024-01-31", "at": "2024-01-31T08:00:00.123456+00:00", "ok": True, "ai": [1, None]},
    {"id": 2, "si": 7, "code": -7, "amount": Decimal("-2.25"), "name": "", "label": "x",
     "u": None, "doc": [1], "d": "0001-01-01", "at": "9999-12-31T23:59:59.999999+00:00",
     "ok": False, "ai": []},
    {"id": 3, "si": None, "code": None, "amount": None, "name": None, "label": None, "u": None,
     "doc": None, "d": None, "at": None, "ok": None, "ai": None},
]  # fmt: skip


def _source(pg_db: dict[str, Any]) -> dict[str, Any]:
    sql(pg_db, *DDL)
    return {**pg_db, "filter_schemas": "src"}


def _edited(tmp_path: Path, src: dict[str, Any], **types: Any) -> dict[str, Any]:
    catalog = select(discover(tmp_path, src), "t")
    stream_entry(catalog, "t")["schema"]["properties"].update(types)
    return catalog


def _agree(out: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The stream's SCHEMA and records; each record (as plain JSON) valid against the SCHEMA."""
    schema = next(m["schema"] for m in messages(out) if m["type"] == "SCHEMA")
    check = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    got = []
    for line in out.splitlines():
        if json.loads(line)["type"] == "RECORD":
            check.validate(json.loads(line)["record"])
            got.append(json.loads(line, parse_float=Decimal)["record"])  # exact digits
    return schema, got


def _noise(err: bytes) -> list[str]:
    """stderr lines other than the METRIC lines every Singer tap writes."""
    return [line for line in err.decode().splitlines() if not line.startswith("METRIC: ")]


@pytest.mark.parametrize(
    ("column", "prop", "live"),
    [
        ("code", {"type": ["null", "string"]}, "integer"),
        ("amount", {"type": ["null", "integer"]}, "numeric(10,2)"),
        ("name", {"type": ["null", "number"]}, "text"),
        ("u", {"type": "integer"}, "uuid"),
        ("ok", {"type": ["null", "string"]}, "boolean"),
        ("doc", {"type": ["null", "integer"]}, "jsonb"),
    ],
)
def test_a_catalog_type_the_values_do_not_fit_is_refused_before_any_message(
    pg_db: dict[str, Any], tmp_path: Path, column: str, prop: Any, live: str
) -> None:
    src = _source(pg_db)
    catalog = _edited(tmp_path, src, **{column: prop})
    for _ in range(2):  # the same one line each time
        proc = run_tap(tmp_path, src, catalog=catalog)
        assert proc.returncode == 2
        assert proc.stdout == b""
        lines = proc.stderr.decode().splitlines()
        assert len(lines) == 1, lines
        sid = stream_entry(catalog, "t")["tap_stream_id"]
        declared = json.dumps(prop, separators=(",", ":"))
        assert lines[0].startswith(
            f"tap-postgres: error: stream {sid!r}, column {column!r}: the catalog types it "
            f"{declared}, but tap-postgres sends the {live} column's values as "
        )
        assert lines[0].endswith(
            ": give the column that type in the catalog again (as --discover writes it), or "
            "convert it after the tap (a mapper, or the target)"
        )


def test_a_type_the_values_fit_is_sent_as_the_catalog_says(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    src = _source(pg_db)
    catalog = _edited(
        tmp_path,
        src,
        si={"type": ["null", "integer"]},
        code={"type": ["null", "number"]},
        amount={"type": "number"},
        name={"type": ["string"]},
        label={"type": ["null", "string"]},
        u={"type": ["null", "string"]},
        doc={"type": ["null", "object", "array"]},
        d={"type": ["null", "string"], "format": "date-time"},  # the column's format is kept
    )
    proc = run_tap(tmp_path, src, catalog=catalog)
    assert proc.returncode == 0, proc.stderr.decode()
    schema, got = _agree(proc.stdout)
    props = schema["properties"]
    assert props["si"] == {"type": ["null", "integer"], "minimum": -32768, "maximum": 32767}
    assert props["code"] == {"type": ["null", "number"], "minimum": -(2**31), "maximum": 2**31 - 1}
    assert props["amount"]["type"] == ["null", "number"]
    assert props["amount"]["x-scale"] == 2 and props["amount"]["exclusiveMaximum"] == 10**8
    assert props["name"] == {"type": ["null", "string"]}
    assert props["label"] == {"type": ["null", "string"], "maxLength": 20}
    assert props["u"] == {"type": ["null", "string"], "format": "uuid"}
    assert props["doc"] == {"type": ["null", "object", "array"]}
    assert props["d"] == {"type": ["null", "string"], "format": "date"}
    assert got == ROWS
    assert _noise(proc.stderr) == []


def test_a_catalog_written_by_singer_io_tap_postgres_still_works(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """The shape singer-io's (and PipelineWise's) tap-postgres discovery writes: a key column
    without null, draft 4 numeric bounds, date-time for a date, json as object or array, arrays
    through $ref definitions, a stream id `<schema>-<table>` with `schema-name` metadata."""
    src = _source(pg_db)
    props = {
        "id": {"type": ["integer"], "minimum": -2147483648, "maximum": 2147483647},
        "si": {"type": ["null", "integer"], "minimum": -32768, "maximum": 32767},
        "code": {"type": ["null", "integer"], "minimum": -2147483648, "maximum": 2147483647},
        "amount": {"type": ["null", "number"], "exclusiveMaximum": True, "maximum": 100000000,
                   "multipleOf": 0.01, "exclusiveMinimum": True, "minimum": -100000000},
        "name": {"type": ["null", "string"]},
        "label": {"type": ["null", "string"], "maxLength": 20},
        "u": {"type": ["null", "string"]},
        "doc": {"type": ["null", "object", "array"]},
        "d": {"type": ["null", "string"], "format": "date-time"},
        "at": {"type": ["null", "string"], "format": "date-time"},
        "ok": {"type": ["null", "boolean"]},
        "ai": {"type": ["null", "array"], "items": {"$ref": "#/definitions/sdc_recursive_integer_array"}},
    }  # fmt: skip
    sqltypes = {
        "id": "integer", "si": "smallint", "code": "integer", "amount": "numeric", "name": "text",
        "label": "character varying", "u": "uuid", "doc": "jsonb", "d": "date",
        "at": "timestamp with time zone", "ok": "boolean", "ai": "integer[]",
    }  # fmt: skip
    entry = {
        "table_name": "t",
        "stream": "t",
        "tap_stream_id": "src-t",
        "schema": {
            "type": "object",
            "properties": props,
            "definitions": {
                "sdc_recursive_integer_array": {
                    "type": ["null", "integer", "array"],
                    "items": {"$ref": "#/definitions/sdc_recursive_integer_array"},
                }
            },
        },
        "metadata": [
            {"breadcrumb": [], "metadata": {
                "table-key-properties": ["id"], "schema-name": "src", "database-name": "db",
                "row-count": 3, "is-view": False, "selected": True,
                "replication-method": "FULL_TABLE"}},
            *({"breadcrumb": ["properties", name], "metadata": {
                "sql-datatype": sqltypes[name], "inclusion": "automatic" if name == "id"
                else "available", "selected-by-default": True}} for name in props),
        ],
    }  # fmt: skip
    catalog = {"streams": [entry]}
    for _ in range(2):
        proc = run_tap(tmp_path, src, catalog=catalog)
        assert proc.returncode == 0, proc.stderr.decode()
        schema, got = _agree(proc.stdout)
        assert got == ROWS
        assert _noise(proc.stderr) == []
    jsonschema.Draft7Validator.check_schema(schema)
    sent = schema["properties"]
    assert sent["id"]["type"] == ["null", "integer"]
    assert sent["amount"]["exclusiveMaximum"] == 10**8  # draft 7, the column's
    assert sent["d"]["format"] == "date" and sent["doc"] == {"type": ["null", "object", "array"]}


@pytest.mark.parametrize(
    ("live", "declared", "sent"),
    [
        ({"type": ["null", "integer"]}, {"type": "number"}, {"type": ["null", "number"]}),
        ({"type": ["null", "integer"]}, {"type": ["null", "string"]}, None),
        ({"type": ["null", "number"]}, {"type": ["null", "integer"]}, None),
        ({"type": ["null", "string"], "format": "date"}, {"type": "string", "format": "date-time"},
         {"type": ["null", "string"], "format": "date"}),
        ({"type": ["null", "object", "array", "string", "number", "boolean"]},
         {"type": ["null", "object"]}, {"type": ["null", "object"]}),
        ({"type": ["null", "object", "array", "string", "number", "boolean"]},
         {"type": ["null", "integer"]}, None),
        ({"type": ["null", "integer"]}, {"anyOf": [{"type": "integer"}, {"type": "null"}]},
         {"type": ["integer", "null"]}),
        ({"type": ["null", "integer"]}, {"description": "no type"}, {"type": ["null", "integer"]}),
    ],
)  # fmt: skip
def test_catalog_typed(live: Any, declared: Any, sent: Any) -> None:
    assert catalog_typed(live, declared) == sent


PIPELINEWISE_CATALOG = (
    Path(__file__).parents[2] / "fixtures" / "postgres" / "pipelinewise_catalog.json"
)


def test_a_catalog_pipelinewise_tap_postgres_discovered_runs(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """tests/fixtures/postgres/pipelinewise_catalog.json: what pipelinewise-tap-postgres 2.1.0
    (PyPI, in a venv of its own) printed for `--discover` of this table (its database name
    replaced), selected here: every record fits the SCHEMA our tap prints from it."""
    sql(
        pg_db,
        "CREATE TABLE public.w (id int PRIMARY KEY, si smallint, n numeric(12,3), t text, "
        "v varchar(10), u uuid, d date, ts timestamptz, j json, jb jsonb, b boolean, ai int[], "
        "tags text[])",
        "INSERT INTO public.w VALUES (1, 7, 12.345, 'é🎉', '', "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-01-31', '2024-01-31 10:00:00.123456+02', "
        """'[1,"x"]', '{"k": 2.50}', true, '{1,NULL}', '{"a b",NULL}'), """
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    catalog = json.loads(PIPELINEWISE_CATALOG.read_text(encoding="utf-8"))
    catalog["streams"][0]["metadata"][0]["metadata"].update(
        {"selected": True, "replication-method": "FULL_TABLE"}
    )
    proc = run_tap(tmp_path, {**pg_db, "filter_schemas": "public"}, catalog=catalog)
    assert proc.returncode == 0, proc.stderr.decode()
    schema, got = _agree(proc.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["properties"]["jb"] == {"type": ["null", "object", "array"]}
    assert schema["properties"]["d"] == {"type": ["null", "string"], "format": "date"}
    assert got == [
        {"id": 1, "si": 7, "n": Decimal("12.345"), "t": "é🎉", "v": "",
         "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "d": "2024-01-31",
         "ts": "2024-01-31T08:00:00.123456+00:00", "j": [1, "x"], "jb": {"k": Decimal("2.50")},
         "b": True, "ai": [1, None], "tags": ["a b", None]},
        {"id": 2, **dict.fromkeys(["si", "n", "t", "v", "u", "d", "ts", "j", "jb", "b", "ai", "tags"])},
    ]  # fmt: skip


def test_a_type_another_tap_gives_a_column_of_another_sql_datatype_gives_way(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """singer-io's tap-postgres types bit(1) as a boolean, with `sql-datatype` "bit", not this
    tap's "bit(1)": the column's own type is sent (as before), while the same type under this
    tap's sql-datatype is refused. Its money as a string has this tap's sql-datatype: refused."""
    sql(
        pg_db,
        "CREATE TABLE public.mb (id int PRIMARY KEY, m money, flag bit(1))",
        "INSERT INTO public.mb VALUES (1, '1234.56', B'1'), (2, NULL, NULL)",
    )
    src = {**pg_db, "filter_schemas": "public"}
    catalog = select(discover(tmp_path, src), "mb")
    entry = stream_entry(catalog, "mb")
    entry["schema"]["properties"]["flag"] = {"type": ["null", "boolean"]}
    proc = run_tap(tmp_path, src, catalog=catalog)
    assert proc.returncode == 2 and proc.stdout == b""
    assert "column 'flag': the catalog types it" in proc.stderr.decode()
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "flag"]:
            item["metadata"]["sql-datatype"] = "bit"
    proc = run_tap(tmp_path, src, catalog=catalog)
    assert proc.returncode == 0, proc.stderr.decode()
    schema, got = _agree(proc.stdout)
    assert schema["properties"]["m"] == {"type": ["null", "number"]}
    assert schema["properties"]["flag"] == {"type": ["null", "string"]}
    assert got == [
        {"id": 1, "m": Decimal("1234.56"), "flag": "1"},
        {"id": 2, "m": None, "flag": None},
    ]
    entry["schema"]["properties"]["m"] = {"type": ["null", "string"]}
    proc = run_tap(tmp_path, src, catalog=catalog)
    assert proc.returncode == 2 and "column 'm': the catalog types it" in proc.stderr.decode()
