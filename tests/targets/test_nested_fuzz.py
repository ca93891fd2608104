"""A randomized differential test of the two fast `nested: tables` load paths (issue 17): random
schemas and documents (objects and arrays nested up to and past `nested_max_depth`, missing
properties, nulls, [], {}, unicode, emoji, control characters and quotes in values and names,
64+ byte names, decimals at and past their scale, integers at and past 2^63-1, timestamps with
offsets and 0-9 fraction digits, values of the wrong kind), loaded

- by target-duckdb with `raw_lines: true` (children_sql.py) and `false` (the Python split),
- by target-postgres with nested_copy.py and without it (its `load` answering False, so every
  batch goes the ordinary way: children.load),

each pair compared table by table, row by row, with the stderr error line, the exit code and the
states printed; a scenario with no bad value also has its documents reassembled from the tables
and compared with the source (the last document of each key; hard-deleted ones gone).

Seeded: `NESTED_FUZZ_SEED=n` (or `a-b`) replays seeds (each failure names its seed). The default run is a
few hundred documents; the `slow` variant many more.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import psycopg2.extras
import pytest
from tapwell.sdk import nested
from tapwell.sdk.sql_names import shorten
from tapwell.singer.wire import dumps

BIN = Path(sys.executable).parent
STREAM = "orders"
MAX_DEPTH = 3
BIG = 2**63 - 1

# Names: plain, unicode, emoji, quotes, a space, a control character, 64+ bytes.
NAMES = [
    "sku", "qty", "price", "at", "flag", "note", "city", "geo", "lat", "lon", "x", "y",
    "café", "😀e", 'qu"ote', "o'k", "sp ace", "ctl\x07", "Mixed",
    "l" * 70, "lengthy_" * 9 + "a", "lengthy_" * 9 + "b", "émoji😀" * 12,
]  # fmt: skip
STRINGS = [
    "", " ", "a", "😀", 'say "hi"', "o'k", "back\\slash", "tab\there", "line\nbreak", "\x01\x1f",
    "é\u2028", "🇫🇷 flag", "null", "{}", "[1]", "x" * 70,
]  # fmt: skip
INTEGERS = [0, 1, -1, 42, BIG, -(2**63), 10**12]
DECIMALS = ["0", "0.10", "1.25", "-3", "999999999.99", "12.5", "-0.01"]
OFFSETS = ["Z", "+00:00", "+02:00", "-05:30", "+14:00"]


class Twice(dict):  # type: ignore[type-arg]
    """An object written with its first key twice: first `decoy`, then its own value (a reader
    keeps the last, as Python does; DuckDB's json_transform reads the first)."""

    decoy: Any = None


@dataclass
class Gen:
    """Random schemas and documents from one seed; `dirty` documents may hold a bad value."""

    r: random.Random
    dirty: bool = False
    exotic: bool = False  # 16+ digit integers, exponents: such lines go DuckDB's Python way
    twice: bool = False  # some objects written with a key twice
    bad: int = 0  # bad values written so far

    def name_pool(self, n: int) -> list[str]:
        names = self.r.sample(NAMES, min(n, len(NAMES)))
        out, folded = [], set()
        for name in names:
            if name.lower() not in folded:
                folded.add(name.lower())
                out.append(name)
        return out

    def leaf(self) -> dict[str, Any]:
        kind = self.r.choice(["string", "integer", "big", "decimal", "number", "date-time",
                              "boolean", "json", "string"])  # fmt: skip
        nullable = self.r.random() < 0.8
        if kind == "string":
            schema: dict[str, Any] = {"type": "string"}
        elif kind == "integer":
            schema = {"type": "integer"}
        elif kind == "big":
            schema = {"type": "integer", "maximum": 2**64}
        elif kind == "decimal":
            schema = {"type": "number", "multipleOf": 0.01, "maximum": 10**9}
        elif kind == "number":
            schema = {"type": "number"}
        elif kind == "date-time":
            schema = {"type": "string", "format": "date-time"}
        elif kind == "boolean":
            schema = {"type": "boolean"}
        else:
            schema = {"type": "object"}
        if nullable:
            schema["type"] = [schema["type"], "null"]
        return schema

    def props(self, depth: int) -> dict[str, Any]:
        out = {}
        for name in self.name_pool(self.r.randint(1, 4)):
            out[name] = self.prop(depth)
        return out

    def prop(self, depth: int) -> dict[str, Any]:
        roll = self.r.random()
        if depth < MAX_DEPTH + 2 and roll < 0.18:
            return {"type": self.nullable("object"), "properties": self.props(depth + 1)}
        if depth < MAX_DEPTH + 2 and roll < 0.36:
            return {
                "type": self.nullable("array"),
                "items": {"type": self.nullable("object"), "properties": self.props(depth + 1)},
            }
        if roll < 0.45:
            return {"type": self.nullable("array"), "items": self.leaf()}
        return self.leaf()

    def nullable(self, kind: str) -> Any:
        return [kind, "null"] if self.r.random() < 0.8 else kind

    def schema(self) -> tuple[dict[str, Any], list[str]]:
        keys = self.r.choice([["id"], ["id"], ["code"], ["id", "code"], []])
        props: dict[str, Any] = {}
        if "id" in keys or not keys:
            props["id"] = {"type": "integer"}
        if "code" in keys:
            props["code"] = {"type": "string"}
        props.update(self.props(0))
        props.pop("_sdc_deleted_at", None)
        if keys and self.r.random() < 0.5:
            props["_sdc_deleted_at"] = {"type": ["string", "null"], "format": "date-time"}
        return {"type": "object", "properties": props}, keys

    # documents

    def value(self, schema: dict[str, Any], depth: int) -> Any:
        kinds = schema.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        if "null" in kinds and self.r.random() < 0.1:
            return None
        if self.dirty and self.r.random() < 0.01:
            return self.wrong(kinds)
        if "object" in kinds and "properties" in schema:
            if self.r.random() < 0.05:
                return {}
            return self.object(schema["properties"], depth + 1)
        if "array" in kinds:
            n = self.r.choice([0, 0, 1, 2, 3, 5])
            return [self.value(schema["items"], depth + 1) for _ in range(n)]
        if "object" in kinds:  # an open object: a JSON column
            return self.r.choice([{}, {"a": [1, None, "😀"]}, {"k": Decimal("1.50"), "n": {}}])
        if "boolean" in kinds:
            return self.r.random() < 0.5
        if "integer" in kinds:
            if not self.exotic or self.r.random() < 0.7:
                return self.r.choice(INTEGERS[:4])
            big = schema.get("maximum", 0) > BIG
            return self.r.choice(INTEGERS + ([BIG + 1, 2**64] if big else []))
        if "number" in kinds:
            if "multipleOf" in schema:
                return Decimal(self.r.choice(DECIMALS))
            exponent = [Decimal("1e3")] if self.exotic else []
            return self.r.choice([Decimal("1.5"), 0, -2, Decimal("3.25"), 7, *exponent])
        if schema.get("format") == "date-time":
            digits = self.r.randint(0, 6) if self.r.random() < 0.9 else self.r.randint(7, 9)
            frac = "." + "".join(str(self.r.randint(0, 9)) for _ in range(digits)) if digits else ""
            return f"2026-0{self.r.randint(1, 9)}-1{self.r.randint(0, 9)}T0{self.r.randint(0, 9)}:3{self.r.randint(0, 9)}:59{frac}{self.r.choice(OFFSETS)}"  # noqa: E501
        return self.r.choice(STRINGS)

    def wrong(self, kinds: list[str]) -> Any:
        """A value of the wrong kind, or past its limits (counted: the run stops there)."""
        self.bad += 1
        pool: list[Any] = ["12", "x", 7, Decimal("1.5"), True, [1], {"a": 1}, None]
        if "integer" in kinds:
            pool += [BIG + 1, Decimal("2.0"), "9"]
        if "number" in kinds:
            pool += [Decimal("1.234"), Decimal("1e400"), "1.25"]
        if "string" in kinds:
            pool += [5, Decimal("0.1"), "2026-13-01T00:00:00Z", "2026-01-01T00:00:00.1234567Z",
                     "2026-01-01T24:00:00Z", "a\x00b"]  # fmt: skip
        if "object" in kinds:
            pool += ["scalar", 3, []]
        if "array" in kinds:
            pool += ["scalar", {"a": 1}, [[1]]]
        return self.r.choice(pool)

    def object(self, props: dict[str, Any], depth: int) -> dict[str, Any]:
        out = {}
        for name, sub in props.items():
            if self.r.random() < 0.12:
                continue  # a missing property
            out[name] = self.value(sub, depth)
        if self.dirty and self.r.random() < 0.01:
            out["undeclared"] = "kept out"
        if self.twice and out and self.r.random() < 0.05:
            first = next(iter(out))
            twice = Twice(out)
            twice.decoy = self.value(props.get(first) or {}, depth)
            return twice
        return out

    def doc(self, schema: dict[str, Any], keys: list[str], key: int) -> dict[str, Any]:
        props = schema["properties"]
        out = self.object({k: v for k, v in props.items() if k not in ("id", "code")}, 0)
        if "id" in props:
            out["id"] = key if keys else self.r.choice([key, None])
            if not keys and out["id"] is None:
                del out["id"]
        if "code" in props:
            out["code"] = f"c'{key % 7}😀" if "id" in keys else f"k{key}\"'"
        out.pop("_sdc_deleted_at", None)
        if "_sdc_deleted_at" in props and self.r.random() < 0.1:
            out["_sdc_deleted_at"] = DELETED
        items = self.r.sample(list(out.items()), len(out))  # any order of properties
        return out if isinstance(out, Twice) else dict(items)


@dataclass
class Scenario:
    seed: int
    schema: dict[str, Any]
    keys: list[str]
    runs: list[list[dict[str, Any]]] = field(default_factory=list)  # messages per run
    config: dict[str, Any] = field(default_factory=dict)
    bad: int = 0
    versioned: bool = False  # records carry a version, each run ends with ACTIVATE_VERSION


def scenario(seed: int, docs: int) -> Scenario:
    r = random.Random(seed)
    gen = Gen(r, dirty=r.random() < 0.4, exotic=r.random() < 0.3, twice=r.random() < 0.3)
    schema, keys = gen.schema()
    sc = Scenario(seed, schema, keys, versioned=r.random() < 0.2)
    sc.config = {
        "nested": "tables",
        "batch_size_rows": r.choice([3, 17, 1000]),
        "hard_delete": r.random() < 0.5,
        "nul_characters": r.choice(["refuse", "replace"]) if r.random() < 0.3 else "refuse",
    }
    if sc.config["nul_characters"] == "refuse":
        del sc.config["nul_characters"]
    if r.random() < 0.25:
        sc.config["load_method"] = r.choice(["append-only", "overwrite"])
    head = {"type": "SCHEMA", "stream": STREAM, "schema": schema, "key_properties": keys}
    n = 0
    for run in range(3):
        messages: list[dict[str, Any]] = [head]
        for i in range(docs // 3):
            if run and keys and r.random() < 0.7:
                key = r.randint(1, max(n, 1))  # the same key again: arrays grow or shrink
            else:
                n += 1
                key = n
            message = {"type": "RECORD", "stream": STREAM, "record": gen.doc(schema, keys, key)}
            if sc.versioned:
                message["version"] = run + 1
            messages.append(message)
            if r.random() < 0.15:
                messages.append({"type": "STATE", "value": {"run": run, "at": i}})
        if sc.versioned:
            messages.append({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": run + 1})
        messages.append({"type": "STATE", "value": {"run": run, "done": True}})
        sc.runs.append(messages)
    sc.bad = gen.bad
    return sc


def encode(messages: list[dict[str, Any]]) -> bytes:
    """JSON lines as tapwell's writers write them (a Twice object with its key twice)."""
    out = []
    for m in messages:
        if m["type"] == "RECORD":
            head = dumps({"type": "RECORD", "stream": m["stream"]})[:-1]
            version = b',"version":%d' % m["version"] if "version" in m else b""
            out.append(head + b',"record":' + _text(m["record"]) + version + b"}\n")
        else:
            out.append(dumps(m) + b"\n")
    return b"".join(out)


def _text(value: Any) -> bytes:
    if isinstance(value, dict):
        members = [dumps(k) + b":" + _text(v) for k, v in value.items()]
        if isinstance(value, Twice):
            members.insert(0, dumps(next(iter(value))) + b":" + _text(value.decoy))
        return b"{" + b",".join(members) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_text(v) for v in value) + b"]"
    return dumps(value)


@dataclass
class Outcome:
    code: int
    stdout: str
    errors: list[str]


def run(cmd: list[str], config: dict[str, Any], data: bytes, folder: Path) -> Outcome:
    cfg = folder / f"config-{uuid.uuid4().hex[:8]}.json"
    cfg.write_text(json.dumps(config))
    done = subprocess.run(
        [*cmd, "--config", str(cfg)], input=data, capture_output=True, timeout=300
    )
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line or "WARNING" in line]
    cut = sorted(_field_only(line) for line in errors if _field_only(line) != line)
    errors = [line for line in errors if _field_only(line) == line] + cut  # in any order
    if done.returncode:  # a refused load may have met a long fraction before the refusal, or not
        errors = [line for line in errors if not line.startswith("fraction digits cut: ")]
    return Outcome(done.returncode, done.stdout.decode(), errors)


def _field_only(line: str) -> str:
    """A warning that a value was cut to microseconds, by its stream and field alone: which
    value is met first in a field differs between a load split table by table and one split in
    one pass (it is said once per field either way)."""
    if "fraction digits; stored to the microsecond" not in line:
        return line
    found = re.search(r"(, stream .*?, field ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")): ", line)
    field = found.group(1) if found else line
    return "fraction digits cut: " + re.sub(r"\[\d+\]", "[]", field)


NO_COPY = (
    "import sys\n"
    "from tapwell.targets.postgres import nested_copy\n"
    "nested_copy.load = lambda *args, **kwargs: False\n"
    "from tapwell.targets.postgres.cli import main\n"
    "sys.exit(main())\n"
)
RANDOM = ("_sdc_load_id", nested.SOURCE_KEY + nested.LOAD_ID)
DELETED = "2026-03-01T00:00:00.123456+01:00"  # a record's _sdc_deleted_at


def _sortable(row: tuple[Any, ...]) -> str:
    return repr(row)


def duck_tables(db: Path) -> dict[str, list[dict[str, Any]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
            if r[0] != "tapwell_state" and not r[0].startswith("_tapwell")
        ]
        out = {}
        for name in names:
            quoted = name.replace(chr(34), chr(34) * 2)
            json_cols = {
                r[0] for r in con.execute(f'DESCRIBE "{quoted}"').fetchall() if r[1] == "JSON"
            }
            cur = con.execute(f'SELECT * FROM "{quoted}"')
            cols = [d[0] for d in cur.description]
            out[name] = [
                {c: _escapes(v) if c in json_cols else v for c, v in zip(cols, row, strict=True)}
                for row in cur.fetchall()
            ]
        return out
    finally:
        con.close()


_HEX = re.compile(r"\\u00[01][0-9A-F]")


def _escapes(text: Any) -> Any:
    """A JSON column's text with its \\u00XX escapes in lower case: DuckDB writes \\u001F
    where Python writes \\u001f, on the nested tables path (children_sql.py: the xfail test in
    test_nested_fuzz_pins.py), so the tables are compared past it."""
    return _HEX.sub(lambda m: m.group(0).lower(), text) if isinstance(text, str) else text


def pg_tables(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    conn = psycopg2.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["dbname"]
    )
    psycopg2.extras.register_default_jsonb(conn, loads=_json)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            names = [r["table_name"] for r in cur.fetchall() if r["table_name"] != "tapwell_state"]
            out = {}
            for name in names:
                cur.execute(f'SELECT * FROM "{name.replace(chr(34), chr(34) * 2)}"')
                out[name] = [dict(r) for r in cur.fetchall()]
            return out
    finally:
        conn.close()


def _json(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def comparable(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Each table's rows as sorted reprs of their columns by name, without the load id."""
    out = {}
    for name, rows in tables.items():
        out[name] = sorted(
            repr(sorted((k, _retired(k, v)) for k, v in row.items() if k not in RANDOM))
            for row in rows
        )
    return out


def _retired(column: str, value: Any) -> Any:
    """A `_sdc_deleted_at` ACTIVATE_VERSION set (the time it ran) as one marker."""
    if column != nested.DELETED_AT or value is None:
        return value
    return value if value == datetime.fromisoformat(DELETED) else "retired by ACTIVATE_VERSION"


# reassembly


def _leaf(value: Any, schema: dict[str, Any], rounds: bool = False) -> Any:
    """A leaf value in the one form a source value and a value read back can both take
    (`rounds`: a source date-time's 7-9 fraction digits rounded to the microsecond, as
    PostgreSQL does: the strict xfail test in test_nested_fuzz_pins.py)."""
    if value is None:
        return None
    kinds = schema.get("type")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or [])
    if schema.get("format") == "date-time":
        if rounds and isinstance(value, str):
            value = _rounded(value)
        got = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return got.timestamp(), got.microsecond
    if kinds & {"object", "array"} or not kinds:
        text = value if isinstance(value, str) else dumps(value).decode()
        return _json(text)  # numbers as Decimals: 1.50 == 1.5 (the wire reads short ones as float)
    if "number" in kinds and "multipleOf" not in schema:
        return float(value)
    if "number" in kinds or "integer" in kinds:
        return Decimal(value)
    return value


def _rounded(text: str) -> Any:
    found = re.fullmatch(r"(.*:\d\d)\.(\d{7,9})(.*)", text)
    if not found:
        return text
    head, digits, zone = found.groups()
    micro = int(Decimal("0." + digits).quantize(Decimal("0.000001")) * 10**6)
    base = datetime.fromisoformat(head + zone)
    return base + timedelta(microseconds=micro)


def _source(table: nested.TablePlan, element: Any, rounds: bool = False) -> dict[str, Any]:
    """A source element as the tables give it back: column path -> value, child path -> list."""
    out: dict[str, Any] = {}
    if table.scalar:
        return {(): _leaf(element, table.items, rounds)}
    for column in table.columns:
        found, value = nested._get(element, column.path)
        out[column.path] = _leaf(value if found else None, table.sources[column.path], rounds)
    for child in table.children:
        found, items = nested._get(element, child.path)
        items = items if isinstance(items, list) else []
        out[child.path] = [_source(child, e, rounds) for e in items]
    return out


def _back(
    table: nested.TablePlan,
    row: dict[str, Any],
    rows: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]],
    at: tuple[Any, ...],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if table.scalar:
        return {(): _leaf(row["value"], table.items)}
    for column in table.columns:
        out[column.path] = _leaf(row.get(column.name), table.sources[column.path])
    for child in table.children:
        kids = sorted(rows[child.name].get(at, []), key=lambda r: r[child.level_columns[-1]])
        out[child.path] = [
            _back(child, kid, rows, at + (kid[child.level_columns[-1]],)) for kid in kids
        ]
    return out


def reassembled(
    plan: nested.TablePlan, tables: dict[str, list[dict[str, Any]]]
) -> dict[Any, dict[str, Any]]:
    """key -> the document read back from the tables (in _source's form)."""
    keys = [plan.source_columns[k] for k in plan.source_keys]
    grouped: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] = {}
    for child in list(plan.walk())[1:]:
        by: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in tables.get(child.name, []):
            at = (*[row[k] for k in keys], *[row[c] for c in child.level_columns[:-1]])
            by.setdefault(at, []).append(row)
        grouped[child.name] = by
    out = {}
    for row in tables[plan.name]:
        key = tuple(row[k] for k in plan.source_keys)
        assert key not in out, key
        out[key] = _back(plan, row, grouped, key)
    return out


def expected(sc: Scenario) -> dict[Any, dict[str, Any]]:
    """key -> the last document of each key (a hard-deleted one gone)."""
    last: dict[Any, dict[str, Any]] = {}
    for messages in sc.runs:
        for m in messages:
            if m["type"] == "RECORD":
                doc = m["record"]
                key = tuple(doc[k] for k in sc.keys)
                if sc.config["hard_delete"] and doc.get("_sdc_deleted_at"):
                    last.pop(key, None)
                else:
                    last[key] = doc
    return last


def check_reassembly(
    sc: Scenario, tables: dict[str, list[dict[str, Any]]], rename: Any, where: str
) -> None:
    plan = nested.plan(STREAM, sc.schema, sc.keys, MAX_DEPTH, rename)
    rounds = False  # both targets truncate 7+ fraction digits now (test_fraction_digits.py)
    got = reassembled(plan, tables)
    if not sc.keys:  # append-only: every document once, keyed by its load and position
        left = list(got.values())
        for messages in sc.runs:
            for m in messages:
                if m["type"] == "RECORD":
                    doc = _source(plan, m["record"], rounds)
                    assert doc in left, f"seed {sc.seed} {where}: {doc!r}"
                    left.remove(doc)
        assert not left, f"seed {sc.seed} {where}: rows of no document"
        return
    want = {k: _source(plan, d, rounds) for k, d in expected(sc).items()}
    assert sorted(map(repr, got)) == sorted(map(repr, want)), f"seed {sc.seed} {where}: keys"
    for key, doc in want.items():
        assert got[key] == doc, f"seed {sc.seed} {where}: key {key!r}"


# the differential runs


def _reassembles(sc: Scenario) -> bool:
    """Whether the tables hold the last document of each key (upsert, no version retired)."""
    return not sc.versioned and sc.config.get("load_method", "upsert") == "upsert"


def fuzz_duckdb(sc: Scenario, folder: Path) -> None:
    results = {}
    for raw_lines in (True, False):
        where = folder / f"duck-{raw_lines}"
        where.mkdir()
        config = {**sc.config, "path": str(where / "w.duckdb"), "raw_lines": raw_lines}
        outcomes = []
        for messages in sc.runs:
            outcomes.append(run([str(BIN / "target-duckdb")], config, encode(messages), where))
        tables = duck_tables(where / "w.duckdb") if (where / "w.duckdb").exists() else {}
        results[raw_lines] = (outcomes, tables)
    (sql_out, sql_tables), (py_out, py_tables) = results[True], results[False]
    assert sql_out == py_out, f"seed {sc.seed}: duckdb outcomes differ"
    assert comparable(sql_tables) == comparable(py_tables), f"seed {sc.seed}: duckdb tables"
    if all(o.code == 0 for o in sql_out) and sql_tables and _reassembles(sc):
        check_reassembly(sc, sql_tables, str, "duckdb")


def fuzz_postgres(sc: Scenario, folder: Path, pg_db: dict[str, Any]) -> None:
    """The scenario into pg_db with nested_copy.py, and into a second database without it."""
    script = folder / "no_copy.py"
    script.write_text(NO_COPY)
    results = {}
    admin = psycopg2.connect(
        host=pg_db["host"], port=pg_db["port"], user=pg_db["user"], dbname="postgres"
    )
    admin.autocommit = True
    other = f"{pg_db['dbname']}_plain"
    admin.cursor().execute(f'CREATE DATABASE "{other}"')
    try:
        for copy in (True, False):
            config = {**pg_db, **sc.config, "dbname": pg_db["dbname"] if copy else other}
            cmd = [str(BIN / "target-postgres")] if copy else [sys.executable, str(script)]
            outcomes = [run(cmd, config, encode(m), folder) for m in sc.runs]
            results[copy] = (outcomes, pg_tables(config))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
        admin.close()
    (copy_out, copy_tables), (plain_out, plain_tables) = results[True], results[False]
    assert copy_out == plain_out, f"seed {sc.seed}: postgres outcomes differ"
    assert comparable(copy_tables) == comparable(plain_tables), f"seed {sc.seed}: pg tables"
    if all(o.code == 0 for o in copy_out) and copy_tables and _reassembles(sc):
        check_reassembly(sc, copy_tables, shorten, "postgres")


def seeds(count: int) -> list[int]:
    """The seeds to run: `count` of them, or NESTED_FUZZ_SEED (one, or a range `a-b`)."""
    fixed = os.environ.get("NESTED_FUZZ_SEED")
    if not fixed:
        return list(range(count))
    first, _, last = fixed.partition("-")
    return list(range(int(first), int(last or first) + 1))


@pytest.mark.parametrize("seed", seeds(12))
def test_duckdb_sql_split_is_the_python_split(seed: int, tmp_path: Path) -> None:
    fuzz_duckdb(scenario(seed, 30), tmp_path)


@pytest.mark.parametrize("seed", seeds(12))
def test_postgres_nested_copy_is_the_ordinary_load(
    seed: int, tmp_path: Path, pg_db: dict[str, Any]
) -> None:
    fuzz_postgres(scenario(seed, 30), tmp_path, pg_db)


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds(40))
def test_many_more_documents(seed: int, tmp_path: Path, pg_db: dict[str, Any]) -> None:
    sc = scenario(1000 + seed, 600)
    fuzz_duckdb(sc, tmp_path)
    fuzz_postgres(sc, tmp_path, pg_db)
