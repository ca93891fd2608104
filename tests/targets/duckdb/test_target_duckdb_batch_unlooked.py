"""target-duckdb's csv lane reads a file unlooked first (files.py): no Python read of the file
before DuckDB's; a date-time or time with more than 6 fraction digits, or a row past read_csv's
max_line_size, makes that read refuse, and the load is done again with the file looked through.
What the load changed before it was refused (overwrite's delete, a new _sdc_table_version column)
is rolled back and done once more, never twice or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers.duckdb_target import query, run_target

PROPS = {
    "id": {"type": "integer"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "t": {"type": ["null", "string"], "format": "time"},
    "v": {"type": ["null", "string"]},
}
HEAD = '"id","at","t","v"\n'
CLEAN = "1,2024-01-01T00:00:00.123456Z,10:00:00.5,a\n2,,,\n"


def _messages(spool: Path, bodies: list[str], version: int | None = None) -> bytes:
    msgs: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
         "schema": {"properties": PROPS}},
    ]  # fmt: skip
    for i, body in enumerate(bodies):
        f = spool / f"f{i}.csv"
        f.write_text(HEAD + body, encoding="utf-8")
        batch: dict[str, Any] = {
            "type": "BATCH",
            "stream": "s",
            "encoding": {"format": "csv", "compression": "none"},
            "manifest": [f"file://{f}"],
        }
        if version is not None:
            batch["version"] = version
        msgs += [batch, {"type": "STATE", "value": {"done": i}}]
    return b"".join(json.dumps(m).encode() + b"\n" for m in msgs)


def _load(bin_path: Path, tmp_path: Path, bodies: list[str], **config: Any) -> Any:
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    version = config.pop("version", None)
    data = _messages(spool, bodies, version)
    return run_target(bin_path, tmp_path, data, batch_root=str(spool), **config)


def test_a_clean_file_is_not_read_in_python_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tapwell.targets.duckdb import files
    from tapwell.targets.duckdb.cli import main

    def look(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was looked through before DuckDB read it")

    monkeypatch.setattr(files, "file_facts", look)
    spool = tmp_path / "spool"
    spool.mkdir()
    data = _messages(spool, [CLEAN])
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(tmp_path / "w.duckdb"), "batch_root": str(spool)}))
    done = CliRunner().invoke(main, ["--config", str(cfg)], input=data)
    assert done.exit_code == 0, done.output
    assert query(tmp_path / "w.duckdb", "SELECT id, v FROM s ORDER BY id") == [(1, "a"), (2, None)]


@pytest.mark.parametrize("column", ["at", "t"])
def test_a_long_fraction_loads_cut_and_said_once(
    bin_path: Path, tmp_path: Path, column: str
) -> None:
    long = (
        "3,2024-01-01T00:00:00.1234567Z,,x\n4,2024-01-01T00:00:00.9999999Z,,y\n"
        if column == "at"
        else "3,,10:00:00.1234567,x\n4,,11:00:00.9999999,y\n"
    )
    done = _load(bin_path, tmp_path, [CLEAN, CLEAN + long])
    err = done.stderr.decode()
    assert done.returncode == 0, err
    said = [line for line in err.splitlines() if "WARNING" in line]
    assert len(said) == 1 and f"'{column}'" in said[0] and "f1.csv row 4" in said[0], said
    micros = f'epoch_us("{column}") % 1000000' if column == "at" else 'microsecond("t") % 1000000'
    got = query(tmp_path / "w.duckdb", f"SELECT id, {micros} FROM s ORDER BY id")
    assert got[2:] == [(3, 123456), (4, 999999)] and [r[0] for r in got] == [1, 2, 3, 4]


def test_overwrite_refused_unlooked_deletes_once_and_loads_once(
    bin_path: Path, tmp_path: Path
) -> None:
    first = _load(bin_path, tmp_path, [CLEAN], load_method="overwrite")
    assert first.returncode == 0, first.stderr.decode()
    (tmp_path / "spool" / "f0.csv").unlink(missing_ok=True)
    long = "5,2024-01-01T00:00:00.1234567Z,,x\n"
    done = _load(bin_path, tmp_path, [long], load_method="overwrite")
    assert done.returncode == 0, done.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT id, v FROM s ORDER BY id") == [(5, "x")]


def test_a_version_column_added_by_a_refused_read_is_added_again(
    bin_path: Path, tmp_path: Path
) -> None:
    long = CLEAN + "3,2024-01-01T00:00:00.1234567Z,,x\n"
    done = _load(bin_path, tmp_path, [long], version=7, load_method="append-only")
    assert done.returncode == 0, done.stderr.decode()
    got = query(tmp_path / "w.duckdb", "SELECT id, _sdc_table_version FROM s ORDER BY id")
    assert got == [(1, 7), (2, 7), (3, 7)]


def test_a_refusal_is_named_as_before(bin_path: Path, tmp_path: Path) -> None:
    done = _load(bin_path, tmp_path, [CLEAN + "3,2024-13-01T00:00:00Z,,x\n"])
    err = done.stderr.decode()
    assert done.returncode == 65, err
    line = err.strip().splitlines()[-1]
    assert "f0.csv row 4, column at: '2024-13-01T00:00:00Z' is not an RFC 3339 date-time" in line
    assert "Traceback" not in err and not done.stdout
