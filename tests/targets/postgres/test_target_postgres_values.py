"""target-postgres keeps values exactly: JSON scalars, NUL characters, a LATIN1 database, and
every column type it creates stays the same type when the stream loads again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from helpers.pg_target import column_types, error_line, query, record, run_target, schema, state

pytestmark = pytest.mark.services

ANY_JSON = {"type": ["null", "object", "array", "string", "number", "integer", "boolean"]}
# JSON texts as a tap writes them (exact digits: never through a float), and jsonb's text back.
SCALARS = [
    ('"just a string"', '"just a string"', "string"),
    ('""', '""', "string"),
    ('"tab\\t \\"quoted\\" \\\\ back"', '"tab\\t \\"quoted\\" \\\\ back"', "string"),
    ("12.3456789012345678901234", "12.3456789012345678901234", "number"),
    ("12345678901234567890123", "12345678901234567890123", "number"),
    ("0", "0", "number"),
    ("-7.5", "-7.5", "number"),
    ("true", "true", "boolean"),
    ("false", "false", "boolean"),
    ('[1,"x",{"a":null}]', '[1, "x", {"a": null}]', "array"),
    ('{"nested":{"n":1.25}}', '{"nested": {"n": 1.25}}', "object"),
]


def test_json_columns_hold_scalars_exactly_run_twice(pg_db: dict[str, Any], tmp_path: Path) -> None:
    """Issue 11.6: a JSON column holds any JSON value (MariaDB JSON '"just a string"')."""
    props = {"id": {"type": "integer"}, "doc": ANY_JSON, "free": {}}
    messages: list[Any] = [schema("docs", props, ["id"])]
    messages += [
        f'{{"type":"RECORD","stream":"docs","record":{{"id":{i},"doc":{text},"free":{text}}}}}'
        for i, (text, _, _) in enumerate(SCALARS)
    ]
    messages += [record("docs", {"id": 99, "doc": None, "free": None}), state({"n": 1})]
    for _ in range(2):
        done = run_target(pg_db, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        assert column_types(pg_db, "docs") == {"id": "bigint", "doc": "jsonb", "free": "jsonb"}
        rows = query(pg_db, "SELECT doc::text, free::text, jsonb_typeof(doc) FROM docs ORDER BY id")
        assert rows == [(back, back, kind) for _, back, kind in SCALARS] + [(None, None, None)]


NUL_ROWS = [
    {"id": 1, "t": "a\u0000b", "j": {"k\u0000": ["nul\u0000", "ok"], "n": 1}},
    {"id": 2, "t": "clean", "j": {"k": "\\u0000 is text here"}},  # a backslash, not a NUL
    {"id": 3, "t": "\u0000", "j": "\u0000"},
    {"id": 4, "t": "end\u0000", "j": None},
]


@pytest.mark.parametrize(("mode", "mark"), [(None, "\ufffd"), ("replace", "\ufffd"), ("strip", "")])
def test_nul_characters_are_replaced_or_stripped_with_one_warning_per_stream(
    pg_db: dict[str, Any], tmp_path: Path, mode: str | None, mark: str
) -> None:
    """Issue 11.7: a NUL character (singer-sdk's encoded_string_data stream) no longer stops the
    load; text and JSON values alike, counted in one warning per stream, whatever the batches."""
    config = {**pg_db, "batch_size_rows": 2}
    if mode:
        config["nul_characters"] = mode
    props = {"id": {"type": "integer"}, "t": {"type": ["null", "string"]}, "j": ANY_JSON}
    messages = [schema("s", props, ["id"]), *[record("s", r) for r in NUL_ROWS], state({"n": 1})]
    messages += [schema("other", props, ["id"]), record("other", NUL_ROWS[0]), state({"n": 2})]
    messages += [schema("one", props, ["id"]), record("one", {"id": 1, "t": "a\x00"})]
    for _ in range(2):
        done = run_target(config, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        warnings = [x for x in done.stderr.splitlines() if "NUL" in x]
        done_word = "stripped" if mode == "strip" else "replaced with U+FFFD"
        assert warnings == [
            f"target-postgres WARNING stream 's': 5 values held NUL characters (\\u0000), "
            f"which PostgreSQL cannot store: {done_word} (setting nul_characters)",
            f"target-postgres WARNING stream 'other': 2 values held NUL characters (\\u0000), "
            f"which PostgreSQL cannot store: {done_word} (setting nul_characters)",
            f"target-postgres WARNING stream 'one': 1 value held NUL characters (\\u0000), "
            f"which PostgreSQL cannot store: {done_word} (setting nul_characters)",
        ]
        assert query(pg_db, "SELECT id, t, j FROM s ORDER BY id") == [
            (1, f"a{mark}b", {f"k{mark}": [f"nul{mark}", "ok"], "n": 1}),
            (2, "clean", {"k": "\\u0000 is text here"}),
            (3, mark, mark),
            (4, f"end{mark}", None),
        ]


def test_nul_characters_error_refuses_the_record_with_one_line(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "t": {"type": ["null", "string"]}, "j": ANY_JSON}
    messages = [schema("s", props, ["id"]), record("s", {"id": 0}), state({"n": 1})]
    messages += [record("s", NUL_ROWS[2]), state({"n": 2})]
    done = run_target(
        {**pg_db, "nul_characters": "error", "batch_size_rows": 1}, messages, tmp_path
    )
    assert done.returncode == 65
    assert error_line(done).startswith(
        "target-postgres: error: stdin line 4, stream 's', field 't': text contains a NUL byte"
    )
    assert done.stdout.splitlines() == ['{"n":1}']
    done = run_target({**pg_db, "nul_characters": "keep"}, messages, tmp_path)
    assert done.returncode == 2
    assert "nul_characters" in error_line(done)


@pytest.fixture
def latin1_db(pg_db: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A LATIN1 database beside pg_db's (dropped afterwards)."""
    name = pg_db["dbname"] + "_latin1"
    admin = psycopg2.connect(
        host=pg_db["host"], port=pg_db["port"], user=pg_db["user"], dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
        )
    try:
        yield {**pg_db, "dbname": name, "database": name}
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_a_latin1_database_gets_latin1_characters_intact_and_refuses_others(
    latin1_db: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 11.11: client_encoding is pinned to UTF8; the server converts, never mojibake."""
    text = "àéîõü ß ÿ Ñ ¿¡ £ © ° ± µ"
    props = {"id": {"type": "integer"}, "t": {"type": "string"}}
    good = [schema("s", props, ["id"]), record("s", {"id": 1, "t": text}), state({"n": 1})]
    for _ in range(2):
        done = run_target(latin1_db, good, tmp_path)
        assert done.returncode == 0, done.stderr
        assert query(latin1_db, "SELECT t, octet_length(t) FROM s") == [(text, len(text))]
    for bad in ("price 5 €", "emoji 🚀", "ĳ"):
        done = run_target(
            latin1_db, [*good, record("s", {"id": 2, "t": bad}), state({"n": 2})], tmp_path
        )
        assert done.returncode == 65
        line = error_line(done)
        assert line.startswith("target-postgres: error: stdin line 4, stream 's', field 't': ")
        assert 'has no equivalent in encoding "LATIN1"' in line and "UTF8 database" in line
        assert query(latin1_db, "SELECT id, t FROM s") == [(1, text)]


EVERY_TYPE = {
    "id": ({"type": "integer"}, "bigint", 1),
    "huge": (
        {"type": ["null", "integer"], "minimum": 0, "maximum": 2**64 - 1},
        "numeric(20,0)",
        2**64 - 1,
    ),
    "money": (
        {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**8},
        "numeric(10,2)",
        12.5,
    ),
    "exact": (
        {"type": ["null", "number"], "x-precision": 30, "x-scale": 10},
        "numeric(30,10)",
        1.5,
    ),
    "plain": ({"type": ["null", "number"]}, "numeric", 2.25),
    "at": (
        {"type": ["null", "string"], "format": "date-time"},
        "timestamp with time zone",
        "2024-01-02T03:04:05.123456Z",
    ),
    "day": ({"type": ["null", "string"], "format": "date"}, "date", "2024-01-02"),
    "clock": (
        {"type": ["null", "string"], "format": "time"},
        "time without time zone",
        "03:04:05.5",
    ),
    "flag": ({"type": ["null", "boolean"]}, "boolean", True),
    "doc": ({"type": ["null", "object"]}, "jsonb", {"a": 1}),
    "list": ({"type": ["null", "array"]}, "jsonb", [1, 2]),
    "mixed": ({"type": ["null", "string", "integer"]}, "text", "7"),
    "name": ({"type": ["null", "string"], "maxLength": 20}, "text", "x"),
}


@pytest.mark.parametrize(
    ("number_type", "plain"),
    [(None, "numeric"), ("double precision", "double precision"), ("real", "real")],
)
def test_every_type_the_target_creates_stays_its_type_when_loaded_again(
    pg_db: dict[str, Any], tmp_path: Path, number_type: str | None, plain: str
) -> None:
    """Issue 11.1 (PostgreSQL): the types PostgreSQL reports for every column we create are the
    ones we compare with, so a second load never widens (or rewrites) a column."""
    from tapwell.targets.postgres.types import pg_type, wider

    config = {**pg_db, "add_metadata_columns": True, "hard_delete": False}
    if number_type:
        config["number_type"] = number_type
    props = {name: prop for name, (prop, _, _) in EVERY_TYPE.items()}
    row = {name: value for name, (_, _, value) in EVERY_TYPE.items()}
    messages = [schema("t", props, ["id"]), record("t", row), state({"n": 1})]
    messages += [{"type": "ACTIVATE_VERSION", "stream": "t", "version": 5}]
    expected = {name: sqltype for name, (_, sqltype, _) in EVERY_TYPE.items()}
    expected["plain"] = plain
    seen = []
    for _ in range(3):
        done = run_target(config, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        seen.append(column_types(pg_db, "t"))
    assert seen[0] == seen[1] == seen[2]
    assert {k: v for k, v in seen[0].items() if not k.startswith("_sdc_")} == expected
    assert {k: v for k, v in seen[0].items() if k.startswith("_sdc_")} == {
        "_sdc_extracted_at": "timestamp with time zone",
        "_sdc_received_at": "timestamp with time zone",
        "_sdc_batched_at": "timestamp with time zone",
        "_sdc_deleted_at": "timestamp with time zone",
        "_sdc_table_version": "bigint",
        "_sdc_sequence": "bigint",
    }
    for name, (prop, _, _) in EVERY_TYPE.items():  # what the target compares with
        wanted = pg_type(prop, number_type or "numeric")
        assert wider(seen[0][name], wanted) is None, name
    # information_schema spells some of them otherwise; the target never reads it for types.
    info = dict(
        query(
            pg_db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't'",
        )
    )
    assert info["at"] == "timestamp with time zone" and info["huge"] == "numeric"
    assert query(pg_db, "SELECT count(*) FROM t") == [(1,)]
