"""Would handing tap-csv's source file to target-duckdb as the csv BATCH file load what the tap
loads? For each case (a column's type, the stream's null_values, one field as written in the
file) a one-row file `id,v` is loaded twice into a fresh DuckDB file: by tap-csv | target-duckdb
(RECORD lines: what the tap reads), and by target-duckdb alone on a BATCH message whose manifest
is the source file itself (the pass-through). Each outcome is the row as DuckDB holds it (the
value as text, or NULL) or "refused"; a case whose outcomes differ is a place where the
pass-through would not be exact.

    python -m bench.csv_pass_probe            # one line per case, the differing ones marked
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

INT: dict[str, Any] = {"type": ["null", "integer"]}
NUM: dict[str, Any] = {"type": ["null", "number"]}
BOOL: dict[str, Any] = {"type": ["null", "boolean"]}
STAMP: dict[str, Any] = {"type": ["null", "string"], "format": "date-time"}
DAY: dict[str, Any] = {"type": ["null", "string"], "format": "date"}
TEXT: dict[str, Any] = {"type": ["null", "string"]}
DOC: dict[str, Any] = {"type": ["null", "object"]}
NONE: list[str] = []
EMPTY = [""]

# (the column's type, null_values, the field as written, quotes and all)
CASES: list[tuple[str, dict[str, Any], list[str], str]] = [
    ("int", INT, NONE, "12"),
    ("int", INT, NONE, "007"),
    ("int", INT, NONE, "+5"),
    ("int", INT, NONE, " 12"),
    ("int", INT, NONE, ""),
    ("int", INT, NONE, '""'),
    ("int", INT, ["\\N"], "\\N"),
    ("num", NUM, NONE, "1.50"),
    ("num", NUM, NONE, "1e5"),
    ("num", NUM, NONE, ".5"),
    ("num", NUM, NONE, "5."),
    ("num", NUM, NONE, "+1.5"),
    ("num", NUM, NONE, " 1.5 "),
    ("bool", BOOL, NONE, "true"),
    ("bool", BOOL, NONE, "TRUE"),
    ("bool", BOOL, NONE, "yes"),
    ("bool", BOOL, NONE, "1"),
    ("bool", BOOL, NONE, "t"),
    ("date-time", STAMP, NONE, "2020-01-02T03:04:05.123456+02:00"),
    ("date-time", STAMP, NONE, "2020-01-02T03:04:05.123456"),
    ("date-time", STAMP, NONE, "2020-01-02 03:04:05Z"),
    ("date-time", STAMP, NONE, "2020-01-02"),
    ("date-time", STAMP, NONE, "20200102T030405"),
    ("date-time", STAMP, NONE, " 2020-01-02T03:04:05+00:00"),
    ("date-time", STAMP, NONE, "2020-01-02T03:04:05.1234567+00:00"),
    ("date", DAY, NONE, "2020-01-02"),
    ("date", DAY, NONE, "20200102"),
    ("date", DAY, NONE, " 2020-01-02"),
    ("object", DOC, NONE, '"{""a"": 1}"'),
    ("object", DOC, NONE, '"{""a"":1.50}"'),
    ("string", TEXT, NONE, "abc"),
    ("string", TEXT, NONE, ""),
    ("string", TEXT, NONE, '""'),
    ("string", TEXT, EMPTY, ""),
    ("string", TEXT, EMPTY, '""'),
    ("string", TEXT, ["\\N"], "\\N"),
    ("string", TEXT, ["NULL"], '"NULL"'),
]

SHOW = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(repr(con.execute("SELECT CAST(v AS VARCHAR) FROM t ORDER BY id").fetchall()))
"""


def outcome(argv: list[str], stdin: bytes, d: Path) -> str:
    """The rows target-duckdb loaded (v as text), or `refused: <its last stderr line>`."""
    done = subprocess.run(argv, input=stdin, capture_output=True)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["?"]
        return f"refused: {lines[-1].replace(str(d), '<dir>')[:160]}"
    shown = subprocess.run(
        [sys.executable, "-c", SHOW, str(d / "w.duckdb")], capture_output=True, check=True
    )
    return shown.stdout.decode().strip()


def probe(case: tuple[str, dict[str, Any], list[str], str], d: Path) -> tuple[str, str]:
    """(the tap's outcome, the pass-through's) of one case, in a fresh d."""
    _, prop, nulls, field = case
    shutil.rmtree(d, ignore_errors=True)
    (d / "spool").mkdir(parents=True)
    source = d / "spool" / "t.csv"
    source.write_bytes(f"id,v\n1,{field}\n".encode())
    tap_cfg = d / "tap.json"
    stream = {"name": "t", "path": str(source), "key_properties": ["id"], "null_values": nulls}
    stream["column_types"] = {"id": {"type": "integer"}, "v": prop}
    tap_cfg.write_text(json.dumps({"streams": [stream]}))
    catalog = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tap_cfg), "--discover"],
        capture_output=True,
        check=True,
    ).stdout
    (d / "catalog.json").write_bytes(catalog)
    tapped = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tap_cfg), "--catalog", str(d / "catalog.json")],
        capture_output=True,
    )
    target = [str(BIN / "target-duckdb"), "--config", str(d / "target.json")]
    (d / "target.json").write_text(
        json.dumps(
            {"path": str(d / "w.duckdb"), "batch_root": str(d / "spool"), "batch_keep_files": True}
        )
    )
    if tapped.returncode != 0:
        said = tapped.stderr.decode().strip().splitlines()[-1]
        tap_out = "refused: " + said.replace(str(d), "<dir>")[:160]
    else:
        tap_out = outcome(target, tapped.stdout, d)
    schema = (
        next(line for line in tapped.stdout.splitlines() if b'"SCHEMA"' in line)
        if tapped.returncode == 0
        else _schema(catalog)
    )
    (d / "w.duckdb").unlink(missing_ok=True)
    batch = {
        "type": "BATCH",
        "stream": "t",
        "encoding": {"format": "csv", "compression": "none"},
        "manifest": [f"file://{source}"],
    }
    state = {"type": "STATE", "value": {"bookmarks": {}}}
    stdin = b"\n".join([schema, json.dumps(batch).encode(), json.dumps(state).encode()]) + b"\n"
    return tap_out, outcome(target, stdin, d)


def _schema(catalog: bytes) -> bytes:
    entry = json.loads(catalog)["streams"][0]
    msg = {"type": "SCHEMA", "stream": "t", "schema": entry["schema"], "key_properties": ["id"]}
    return json.dumps(msg).encode()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.csv_pass_probe", description=__doc__)
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "csv_pass_probe")
    args = p.parse_args(argv)
    differ = 0
    for case in CASES:
        tap_out, passed = probe(case, args.work_dir)
        mark = "same  " if tap_out == passed else "DIFFER"
        differ += tap_out != passed
        nulls = json.dumps(case[2])
        print(f"{mark} {case[0]:9} nulls {nulls:8} field {case[3]!r:40} tap: {tap_out}")
        if tap_out != passed:
            print(f"{'':7}{'':9}{'':15}{'':47} pass-through: {passed}")
        sys.stdout.flush()
    print(f"{differ} of {len(CASES)} cases differ")
    os.sync()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
