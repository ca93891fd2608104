"""target-postgres's parts: names, type mapping and widening, config dialects, COPY encoding,
and how connection failures are classified (against the real server where one is needed)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from tapwell.singer.errors import ConfigError, RetriableSyncError
from tapwell.targets.postgres import ddl
from tapwell.targets.postgres.connection import connect, connect_params
from tapwell.targets.postgres.encode import (
    BadValue,
    compile_row_encoder,
    copy_block,
    encode_constants,
    plain_check,
)
from tapwell.targets.postgres.types import pg_type, wider


def test_shorten_is_deterministic_and_fits_63_bytes() -> None:
    assert ddl.shorten("orders") == "orders"
    name = "é" * 40  # 80 bytes
    short = ddl.shorten(name)
    assert short == ddl.shorten(name) and len(short.encode()) <= 63
    assert short.startswith("é" * 26) and short[-9] == "_"
    assert ddl.shorten("x" * 63) == "x" * 63 and ddl.shorten("x" * 64) != ddl.shorten("x" * 65)


def test_stream_names_map_like_pipelinewise() -> None:
    assert ddl.target_of("shop-orders", {}) == ("public", "orders")
    assert ddl.target_of("orders", {"default_target_schema": "raw"}) == ("raw", "orders")
    assert ddl.target_of("a-b-c-d", {}) == ("public", "a-b-c-d")
    mapping = {
        "schema_mapping": {
            "shop": {"target_schema": "copy"},
            "x-y": {"target_schema": "s", "target_table": "t"},
        }
    }
    assert ddl.target_of("shop-orders", mapping) == ("copy", "orders")
    assert ddl.target_of("x-y", mapping) == ("s", "t")
    assert ddl.target_of("shop-items", {"schema_mapping": {"shop": "plain"}}) == ("plain", "items")


def test_nul_in_a_name_is_refused() -> None:
    with pytest.raises(Exception, match="NUL byte"):
        ddl.column_names(["bad\x00name"], "s")


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "integer"}, "bigint"),
        ({"type": ["null", "integer"], "maximum": 2**64}, "numeric(20,0)"),
        ({"type": "number", "multipleOf": 0.001, "maximum": 10**9}, "numeric(12,3)"),
        ({"type": "number", "x-precision": 38, "x-scale": 10}, "numeric(38,10)"),
        ({"type": "number"}, "numeric"),
        ({"type": "string", "format": "date-time"}, "timestamp with time zone"),
        ({"type": "string", "format": "date"}, "date"),
        ({"type": "string", "format": "time"}, "time without time zone"),
        ({"type": "boolean"}, "boolean"),
        ({"type": ["object", "null"]}, "jsonb"),
        ({"type": "array"}, "jsonb"),
        ({"type": ["string", "integer"]}, "text"),
        ({"anyOf": [{"type": "array"}, {"type": "string"}]}, "jsonb"),
        ({}, "jsonb"),
    ],
)
def test_type_mapping(prop: dict[str, Any], expected: str) -> None:
    assert pg_type(prop) == expected


@pytest.mark.parametrize(
    ("existing", "wanted", "expected"),
    [
        ("bigint", "bigint", None),
        ("bigint", "numeric", "numeric"),
        ("bigint", "numeric(12,2)", "numeric(21,2)"),
        ("numeric(12,2)", "numeric(14,4)", "numeric(14,4)"),
        ("numeric(12,2)", "numeric(10,2)", None),
        ("numeric(12,2)", "bigint", "numeric(21,2)"),
        ("numeric", "bigint", None),
        ("bigint", "text", "text"),
        ("numeric", "text", "text"),
        ("text", "bigint", None),
        ("boolean", "bigint", "text"),
        ("date", "timestamp with time zone", "timestamp with time zone"),
        ("timestamp with time zone", "date", None),
        ("jsonb", "text", "text"),
        ("character varying", "text", "text"),
    ],
)
def test_columns_only_widen(existing: str, wanted: str, expected: str | None) -> None:
    assert wider(existing, wanted) == expected


def test_both_config_dialects() -> None:
    pw = {"host": "db", "port": "6543", "user": "u", "password": "p", "dbname": "d", "ssl": "true"}
    assert connect_params(pw) | {"connect_timeout": 0} == {
        "host": "db",
        "port": 6543,
        "user": "u",
        "password": "p",
        "dbname": "d",
        "sslmode": "require",
        "application_name": "tapwell target-postgres",
        "connect_timeout": 0,
        "client_encoding": "UTF8",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    ml = {
        "host": "db",
        "username": "u",
        "database": "d",
        "ssl_enable": True,
        "ssl_mode": "verify-full",
        "ssl_certificate_authority": "/ca.pem",
    }
    params = connect_params(ml)
    assert (params["user"], params["dbname"], params["sslmode"], params["sslrootcert"]) == (
        "u",
        "d",
        "verify-full",
        "/ca.pem",
    )
    url = connect_params({"sqlalchemy_url": "postgresql+psycopg2://u:p@h:1/d?sslmode=require"})
    assert {k: url[k] for k in ("user", "password", "host", "port", "dbname", "sslmode")} == {
        "user": "u",
        "password": "p",
        "host": "h",
        "port": 1,
        "dbname": "d",
        "sslmode": "require",
    }
    # A password as users paste it: unencoded %, / and @; percent escapes decoded.
    raw = connect_params({"sqlalchemy_url": "postgresql://me:p%zz/x@y%40@db.example:5433/shop"})
    assert (raw["user"], raw["password"], raw["host"], raw["port"], raw["dbname"]) == (
        "me",
        "p%zz/x@y@",
        "db.example",
        5433,
        "shop",
    )
    for bare in ("postgresql://me@h/d", "postgresql://me:@h/d"):
        assert "password" not in connect_params({"sqlalchemy_url": bare})
        assert connect_params({"sqlalchemy_url": bare})["user"] == "me"
    with pytest.raises(ConfigError, match="dbname"):
        connect_params({"host": "db"})


def test_encoder_writes_exact_copy_text() -> None:
    """A batch buffered as dicts goes through the same row encoder as one encoded as it is read
    (with a check of nothing), and its constant columns through the same formatters."""
    cols: list[tuple[str | None, str, str]] = [
        ("i", "i", "bigint"),
        ("n", "n", "numeric"),
        ("t", "t", "text"),
        ("b", "b", "boolean"),
        ("j", "j", "jsonb"),
        ("at", "at", "timestamp with time zone"),
        (None, "v", "bigint"),
    ]
    row = compile_row_encoder([c for c in cols if c[0] is not None], plain_check("s"))  # type: ignore[misc]
    assert row is not None
    suffix = encode_constants(cols, {"v": 7})

    def encode(records: list[dict[str, Any]], indexes: list[int]) -> list[str]:
        return [row(records[j]) + suffix for j in indexes]

    rows = [
        {
            "i": 1,
            "n": Decimal("12345678901234567890.000000001"),
            "t": "a\tb\nc\rd\\e",
            "b": True,
            "j": {"k": "x\\y"},
            "at": "2024-01-01T00:00:00Z",
        },
        {"i": 2.0, "n": 0.1, "t": "", "b": False, "j": [1, "é"]},
        {"i": None, "n": 10, "t": "😀"},
    ]
    assert encode(rows, [0, 1, 2]) == [
        '1\t12345678901234567890.000000001\ta\\tb\\nc\\rd\\\\e\tt\t{"k":"x\\\\\\\\y"}\t2024-01-01T00:00:00Z\t7',
        '2\t0.1\t\tf\t[1,"é"]\t\\N\t7',
        "\\N\t10\t😀\t\\N\t\\N\t\\N\t7",
    ]
    with pytest.raises(BadValue) as bad:
        encode([{"t": "nul\x00"}], [0])
    assert bad.value.column == "t"
    with pytest.raises(BadValue, match="not an integer"):
        encode([{"i": 1.5}], [0])


def test_copy_block_is_the_lines_utf8_each_ended_by_the_suffix() -> None:
    """The block one copy.write sends: every line, whatever its widest character (ASCII, Latin-1,
    BMP, emoji in the same block), as UTF-8, each ended by the batch's constants and a newline;
    an unpaired surrogate raises UnicodeEncodeError, which the COPY paths report."""
    lines = ["1\tplain", "2\té", "3\t€  ", "4\t😀", "", "\\N\t"]
    sep = encode_constants([(None, "v", "bigint")], {"v": 7}).encode() + b"\n"
    assert sep == b"\t7\n"
    assert copy_block(lines, sep) == "".join(line + "\t7\n" for line in lines).encode("utf-8")
    assert copy_block([], b"\n") == b""
    with pytest.raises(UnicodeEncodeError):
        copy_block(["ok", "bad \ud800"], b"\n")


def test_clean_line_encoder_writes_what_the_escaping_one_writes() -> None:
    """RowEncoder.encode_clean skips looking for escapes in strings; for any record whose JSON
    line holds no backslash it must give exactly the escaping encoder's COPY text."""
    from tapwell.singer.record_check import check_code
    from tapwell.targets.postgres.encode import compile_row_encoder

    props = {
        "i": {"type": ["null", "integer"]},
        "n": {"type": ["null", "number"]},
        "t": {"type": ["null", "string"]},
        "b": {"type": ["null", "boolean"]},
        "j": {"type": ["null", "object", "array"]},
        "at": {"type": ["null", "string"], "format": "date-time"},
        "d": {"type": ["null", "string"], "format": "date"},
        "any": {},
        "u": {"type": ["null", "string", "integer"]},
    }
    types = ["bigint", "numeric", "text", "boolean", "jsonb"]
    types += ["timestamp with time zone", "date", "text", "text"]
    cols = [(p, p, t) for p, t in zip(props, types, strict=True)]
    code = check_code("s", {"type": "object", "properties": props}, [])
    encode = compile_row_encoder(cols, code)
    clean = compile_row_encoder(cols, code, clean=True)
    assert encode is not None and clean is not None
    records = [
        {"i": 1, "n": 0.1, "t": "plain ü 😀 \x7f", "b": True, "j": {"k": ["é", 1.5, None]}},
        {"at": "2024-01-01T00:00:00+02:00", "d": "2024-02-29", "any": {"x": 1}, "u": 7},
        {"i": None, "n": 12, "t": "", "b": False, "j": [], "any": "s", "u": "x"},
        {"any": [1, "two"], "n": 1e300, "t": "\u2028 line separator", "j": {}},
    ]
    for record in records:
        assert b"\\" not in orjson.dumps(record)
        assert clean(record, 1) == encode(record, 1)


@pytest.mark.services
def test_connection_failures_are_classified(pg_db: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        connect({**pg_db, "dbname": "tw_missing_db"})
    with pytest.raises(ConfigError, match='role "tw_no_such_role" does not exist'):
        connect({**pg_db, "user": "tw_no_such_role"})
    with pytest.raises(RetriableSyncError, match="Connection refused"):
        connect({**pg_db, "port": 1})
    if not _server_has_ssl(pg_db):
        with pytest.raises(ConfigError, match="check sslmode"):
            connect({**pg_db, "sslmode": "require"})


def _server_has_ssl(config: dict[str, Any]) -> bool:
    import psycopg2

    try:
        psycopg2.connect(
            host=config["host"],
            port=config["port"],
            user=config["user"],
            dbname=config["dbname"],
            sslmode="require",
        ).close()
        return True
    except psycopg2.OperationalError:
        return False


@pytest.mark.services
def test_about_lists_settings_and_secrets_never_print(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    about = subprocess.run(
        [str(bin_path / "target-postgres"), "--about"], capture_output=True, text=True, check=True
    )
    settings = json.loads(about.stdout)["settings"]["properties"]
    assert {
        "host",
        "dbname",
        "default_target_schema",
        "load_method",
        "hard_delete",
        "batch_size_rows",
        "sslmode",
    } <= set(settings)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({**pg_db, "user": "tw_no_such_role", "password": "hunter2-secret"}))
    result = subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        input="",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "hunter2-secret" not in result.stderr + result.stdout


def test_last_record_of_each_key_wins() -> None:
    from tapwell.targets.postgres.dedupe import last_of_each

    assert last_of_each([1, 2], ["bigint"]) == range(2)
    assert last_of_each([1, 2, 1], ["bigint"]) == [1, 2]
    assert last_of_each([(1, "x"), (1, "y"), (1, "x")], ["bigint", "text"]) == [1, 2]
    assert last_of_each([{"o": 1}, [1], {"o": 1}], ["jsonb"]) == [1, 2]


@pytest.mark.parametrize(
    ("keys", "families", "loaded"),
    [
        ([1, "1"], ["text"], [1]),  # one row in a text column
        ([True, "true"], ["text"], [1]),
        (["1", 1, 2], ["bigint"], [1, 2]),
        ([1, 1.0, Decimal("1.00"), "2"], ["numeric"], [2, 3]),
        (["2024-01-01T00:00:00Z", "2024-01-01T02:00:00+02:00"], ["timestamp with time zone"], [1]),
        (["2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00"], ["timestamp with time zone"], [1]),
        (
            ["2024-01-01T00:00:00+05:00", "2024-01-01T00:00:00"],
            ["timestamp without time zone"],
            [1],
        ),
        ([(1, "2024-01-01"), ("1", "2024-01-01"), (1, "2024-01-02")], ["bigint", "date"], [1, 2]),
        (["a", "A"], ["text"], range(2)),  # text compares exactly
        (["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z"], ["timestamp with time zone"], range(2)),
        (["not a number", "not a number"], ["numeric"], [1]),  # PostgreSQL refuses it at load
    ],
)
def test_dedupe_compares_keys_as_postgres_does(
    keys: list[Any], families: list[str], loaded: Any
) -> None:
    """Keys only Python tells apart (1 and "1" in a text column, two spellings of one instant)
    are one row in PostgreSQL: only the last is loaded, so the merge never sees the key twice."""
    from tapwell.targets.postgres.dedupe import last_of_each

    assert last_of_each(keys, families) == loaded
