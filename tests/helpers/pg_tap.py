"""Helpers for tap-postgres's tests: SQL on a test database, the tap run as a subprocess, its
messages read back exactly, and a row-by-row comparison of a source table with what a target
loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
from tapwell.singer.wire import dumps, loads

BIN = Path(sys.executable).parent

# A table of every type the README maps, with edge values; `src` is the test's source schema.
TYPES_DDL = r"""
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE src.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN src.price AS numeric(12,2);
CREATE TABLE src.all_types (
  id integer PRIMARY KEY,
  si smallint, i integer, bi bigint,
  n12 numeric(12,2), n numeric, big numeric(60,30),
  r real, d double precision, m money, b boolean,
  t text, vc varchar(20), c char(3), ci citext, u uuid,
  dt date, tm time(6), ttz timetz, ts timestamp(6), tstz timestamptz(6), iv interval,
  j json, jb jsonb, by bytea,
  ai integer[], at text[], a2 integer[][],
  e src.mood, dprice src.price,
  ir int4range, ip inet, mac macaddr, bits bit(4), vbits varbit(10), x xml, h hstore,
  pt point, pg polygon,
  gen integer GENERATED ALWAYS AS (i / 2) STORED
)"""
TYPES_ROWS = r"""
INSERT INTO src.all_types VALUES (
  1, -32768, -2147483648, -9223372036854775808,
  -9999999999.99, 123456789012345678901234567890.123456789012345678901234567890,
  '123456789012345678901234567890.123456789012345678901234567890',
  1.1, 0.1, '1234.56', true,
  E'emoji 😀 tab\t nl\n "q" \\ back', '', 'ab', 'CiTeXt', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '2024-01-31', '23:59:59.999999', '10:00:00+02', '2024-01-31 10:00:00.123456',
  '2024-01-31 10:00:00.000001+02', '1 year 2 months 3 days 04:05:06.5',
  E'{"a": [1, 2.50, "x"],\n "n": 12345678901234567890.123456789}', '"just a string"', '\x00ff01',
  '{1,2,NULL}', '{"a b","c\"d",NULL,""}', '{{1,2},{3,4}}',
  'happy', 12.30,
  '[1,10)', '192.168.0.1/24', '08:00:2b:01:02:03', B'1010', B'101', '<a>x</a>',
  'a=>1, "b c"=>NULL', '(1.5,-2)', '((0,0),(1,0),(1,1))'
);
INSERT INTO src.all_types (id, t, n, jb, tstz) VALUES (2, NULL, 0, 'null', '0001-01-01 00:00:00+00'),
  (3, 'x', '-0.000000000000000000000000000001', '[1, {"x": true}]', '9999-12-31 23:59:59.999999+00')
"""


def sql(cfg: dict[str, Any], *statements: str) -> list[tuple[Any, ...]]:
    """Run statements in the test database (autocommit); returns the last one's rows."""
    conn = psycopg2.connect(
        host=cfg["host"], port=cfg["port"], user=cfg["user"], dbname=cfg["dbname"],
        password=cfg.get("password") or "", options="-c TimeZone=UTC -c IntervalStyle=iso_8601",
    )  # fmt: skip
    conn.autocommit = True
    rows: list[tuple[Any, ...]] = []
    try:
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
                rows = list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()
    return rows


def write_json(path: Path, value: Any) -> Path:
    path.write_bytes(dumps(value))
    return path


def run_tap(
    tmp: Path,
    config: dict[str, Any],
    *,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 300,
) -> subprocess.CompletedProcess[bytes]:
    cmd = [str(BIN / "tap-postgres"), "--config", str(write_json(tmp / "config.json", config))]
    if catalog is not None:
        cmd += ["--catalog", str(write_json(tmp / "catalog.json", catalog))]
    if state is not None:
        cmd += ["--state", str(write_json(tmp / "state.json", state))]
    return subprocess.run([*cmd, *args], capture_output=True, timeout=timeout)


def messages(out: bytes) -> list[dict[str, Any]]:
    return [loads(line) for line in out.splitlines() if line.strip()]


def records(msgs: list[dict[str, Any]], stream: str | None = None) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in msgs
        if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
    ]


def states(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in msgs if m["type"] == "STATE"]


def discover(tmp: Path, config: dict[str, Any]) -> dict[str, Any]:
    proc = run_tap(tmp, config, args=("--discover",))
    assert proc.returncode == 0, proc.stderr.decode()
    return loads(proc.stdout)


def stream_entry(catalog: dict[str, Any], stream: str) -> dict[str, Any]:
    return next(s for s in catalog["streams"] if s["stream"] == stream)


def root_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def select(
    catalog: dict[str, Any], *streams: str, method: str = "FULL_TABLE", key: str | None = None
) -> dict[str, Any]:
    """A copy of `catalog` with only `streams` selected, with the given replication method."""
    out = loads(dumps(catalog))
    for entry in out["streams"]:
        md = root_metadata(entry)
        md["selected"] = entry["stream"] in streams
        md["replication-method"] = method
        if key:
            md["replication-key"] = key
    return out


def run_pipe(
    tmp: Path, tap_config: dict[str, Any], catalog: dict[str, Any], target: str,
    target_config: dict[str, Any], state: dict[str, Any] | None = None,
) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:  # fmt: skip
    """tap-postgres | TARGET, as a user runs them; both processes' results."""
    tap = run_tap(tmp, tap_config, catalog=catalog, state=state)
    assert tap.returncode == 0, tap.stderr.decode()
    cfg = write_json(tmp / "target.json", target_config)
    done = subprocess.run(
        [str(BIN / target), "--config", str(cfg)],
        input=tap.stdout,
        capture_output=True,
        timeout=300,
    )
    return tap, done


# ----------------------------------------------------------------------------- comparison


def exact(text: str | None) -> Any:
    """JSON or number text as a comparable value (decimals exact)."""
    if text is None:
        return None
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def source_types(cfg: dict[str, Any], table: str) -> dict[str, str]:
    """Column -> format_type() of src.TABLE, in column order."""
    return dict(
        sql(
            cfg,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            f"WHERE a.attrelid = 'src.{table}'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
        )
    )


def source_rows(cfg: dict[str, Any], table: str) -> dict[int, dict[str, Any]]:
    """Each row of src.TABLE as comparable values: the server's own text of each column, except
    JSON-like ones (parsed), numbers (Decimal) and timestamp without time zone (read as UTC)."""
    cols = list(source_types(cfg, table).items())
    exprs = []
    for name, typ in cols:
        q = f'"{name}"'
        if typ.endswith("[]"):
            exprs.append(f"array_to_json({q})::text")
        elif typ in ("json", "jsonb"):
            exprs.append(f"{q}::jsonb::text")
        elif typ == "hstore":
            exprs.append(f"hstore_to_json({q})::text")
        elif typ.startswith("character("):
            exprs.append(f"nullif(format('%s', {q}), '')")  # ::text would drop char(n)'s padding
        elif typ == "money":
            exprs.append(f"{q}::numeric::text")
        elif typ.startswith("timestamp") and "with time zone" not in typ:
            exprs.append(f"({q} AT TIME ZONE 'UTC')::text")
        else:
            exprs.append(f"{q}::text")
    rows = sql(cfg, f"SELECT {', '.join(exprs)} FROM src.{table}")
    return {int(r[0]): _normalize(dict(zip([c[0] for c in cols], r)), dict(cols)) for r in rows}


def _normalize(row: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, text in row.items():
        typ = types.get(name, "text")
        if text is None:
            out[name] = None
        elif typ.endswith("[]") or typ in ("json", "jsonb", "hstore"):
            out[name] = exact(text)
        elif typ.split("(")[0] in (
            "numeric",
            "money",
            "real",
            "double precision",
            "smallint",
            "integer",
            "bigint",
            "src.price",
        ):
            out[name] = Decimal(text)
        else:
            out[name] = text
    return out


def destination_rows(
    cfg: dict[str, Any], schema: str, table: str, types: dict[str, str]
) -> dict[int, dict[str, Any]]:
    """What target-postgres loaded into SCHEMA.TABLE, normalized as `source_rows` does."""
    names = list(types)
    exprs = [f'"{n}"::text' for n in names]
    rows = sql(cfg, f'SELECT {", ".join(exprs)} FROM "{schema}"."{table}"')
    return {int(r[0]): _normalize(dict(zip(names, r)), types) for r in rows}
