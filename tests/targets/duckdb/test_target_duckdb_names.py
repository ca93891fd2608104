"""Hostile names in target-duckdb (issue 20, "How it is tested"): stream, column, key and schema
names with `%`, `%%`, `%s`, `{}`, quotes, backslashes, semicolons, unicode and 64+ bytes each load
exactly (compared row by row, twice, the second run merging on the hostile key) or are refused
with one line; an ACTIVATE_VERSION of one never touches another's rows."""

from __future__ import annotations

import duckdb
import pytest
from helpers.duckdb_target import error_line, lines, query, record, run_target, schema, state

NAMES = [
    "%",
    "%%",
    "%s",
    "q%%b",
    "100%",
    "{}",
    "{0}",
    "'",
    '"',
    "it's",
    'say "hi"',
    "back\\slash",
    "semi;colon",
    "x; DROP TABLE t; --",
    "ünïcødé 😀 日本",
    "Ünï",
    "tab\tand\nnewline",
    "  spaces  ",
    "a" * 64,
    "é" * 40,  # 80 bytes
    "n" * 300,
]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def hostile_input(name: str, run: int) -> bytes:
    """Stream, key column and value column all named `name` (plus a plain id)."""
    props = {name: {"type": "string"}, f"{name} value": {"type": ["null", "string"]}}
    return lines(
        schema(name, props, [name]),
        *(record(name, {name: f"k{i}", f"{name} value": f"{name} {run} {i}"}) for i in (1, 2)),
        state({"run": run}),
    )


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_hostile_stream_column_key_and_schema_names_load_exactly(bin_path, tmp_path, name):
    db = tmp_path / "w.duckdb"
    for run in (1, 2):
        result = run_target(
            bin_path, tmp_path, hostile_input(name, run), db, default_target_schema=name
        )
        assert result.returncode == 0, error_line(result)
        assert result.stdout.decode().splitlines() == [f'{{"run":{run}}}']
        got = query(
            db, f"SELECT {q(name)}, {q(name + ' value')} FROM {q(name)}.{q(name)} ORDER BY 1"
        )
        assert got == [("k1", f"{name} {run} 1"), ("k2", f"{name} {run} 2")]
        tables = query(db, "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 2")
        assert tables == sorted([(name, name), (name, "_tapwell_state")], key=lambda t: t[1])


def test_activate_version_of_one_hostile_name_touches_only_its_table(bin_path, tmp_path):
    db = tmp_path / "w.duckdb"
    names = ["q%b", "q%%b", "%s", "q_b", "q;b"]
    props = {"id": {"type": "integer"}}

    def full_table(run: int, only: str | None = None) -> bytes:
        out = []
        for n in names:
            out.append(schema(n, props))
            if only in (None, n):
                out += [
                    {"type": "ACTIVATE_VERSION", "stream": n, "version": run},
                    record(n, {"id": run}, run),
                    {"type": "ACTIVATE_VERSION", "stream": n, "version": run},
                ]
        return lines(*out)

    assert run_target(bin_path, tmp_path, full_table(1), db, hard_delete=True).returncode == 0
    result = run_target(bin_path, tmp_path, full_table(2, only="q%%b"), db, hard_delete=True)
    assert result.returncode == 0, error_line(result)
    for n in names:
        assert query(db, f"SELECT id FROM {q(n)}") == [(2 if n == "q%%b" else 1,)], n


def test_names_differing_only_in_non_ascii_case_are_two_tables(bin_path, tmp_path):
    """DuckDB folds ASCII case only: `Ünï` and `ünï` are two tables, `Q%B` and `q%b` one."""
    db = tmp_path / "w.duckdb"
    data = hostile_input("Ünï", 1) + hostile_input("ünï", 1)
    result = run_target(bin_path, tmp_path, data, db)
    assert result.returncode == 0, error_line(result)
    assert (
        query(db, 'SELECT count(*) FROM "Ünï"') == query(db, 'SELECT count(*) FROM "ünï"') == [(2,)]
    )
    refused = run_target(bin_path, tmp_path, hostile_input("Q%B", 1) + hostile_input("q%b", 1), db)
    assert refused.returncode == 2
    assert "streams 'Q%B' and 'q%b' would load into one table main.Q%B" in error_line(refused)


@pytest.mark.parametrize(
    ("what", "data", "config", "code", "message"),
    [
        (
            "stream",
            lines(schema("a\x00b", {"id": {"type": "integer"}})),
            {},
            65,
            "stdin line 1, stream 'a\\x00b': table name 'a\\x00b' contains a NUL byte, which DuckDB cannot store",
        ),
        (
            "column",
            lines(schema("t", {"id": {"type": "integer"}, "c\x00": {"type": "string"}})),
            {},
            65,
            "stdin line 1, stream 't', field 'c\\x00': column name 'c\\x00' contains a NUL byte, which DuckDB cannot store",
        ),
        (
            "schema",
            lines(schema("t", {"id": {"type": "integer"}})),
            {"default_target_schema": "s\x00"},
            2,
            "schema name 's\\x00' contains a NUL byte, which DuckDB cannot store",
        ),
        (
            "column case",
            lines(schema("t", {"id": {"type": "integer"}, "Name": {}, "NAME": {}})),
            {},
            65,
            "stdin line 1, stream 't', field 'NAME': columns 'Name' and 'NAME' differ only in case, which DuckDB cannot tell apart: rename one before this target with mapper-stream-maps (tapwell.yml transform:), stream_maps {\"t\":{\"NAME_2\":\"NAME\",\"NAME\":null}}, or deselect one in the tap's catalog",
        ),
    ],
)
def test_names_duckdb_cannot_hold_are_one_line(
    bin_path, tmp_path, what, data, config, code, message
):
    result = run_target(bin_path, tmp_path, data, **config)
    assert result.returncode == code, what
    assert error_line(result) == f"target-duckdb: error: {message}"


def test_hostile_names_leave_no_other_table_behind(tmp_path):
    """Nothing outside the stream's table and the state table was created by the loads above:
    here checked on one file holding every hostile name at once."""
    import io

    from tapwell.sdk.target import TargetLoop
    from tapwell.targets.duckdb.loader import DuckDBLoader

    db = tmp_path / "all.duckdb"
    data = b"".join(hostile_input(n, 1) for n in NAMES if n != "Ünï")
    cfg = {"path": str(db)}
    TargetLoop("target-duckdb", DuckDBLoader(cfg), cfg, io.BytesIO()).run(io.BytesIO(data))
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert tables == {n for n in NAMES if n != "Ünï"} | {"_tapwell_state"}
