"""target-postgres's fast lane: tap-mysql's csv BATCH files COPYed straight from disk give the
same rows as the RECORD lane, row by row; the files are gone after the commit; bad files are one
line naming the file and the row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.batch_lane import EDGE_DDL, EDGE_ROWS, batch_config, pipe
from helpers.mysql_tap import discover, select, sql
from helpers.pg_target import query

pytestmark = pytest.mark.services


def _rows(pg: dict[str, Any], schema: str) -> list[Any]:
    return query(
        pg, f"SELECT to_jsonb(e) - '_sdc_table_version' FROM \"{schema}\".edge e ORDER BY id"
    )


@pytest.mark.parametrize("fmt,comp", [("csv", "none"), ("csv", "gzip"), ("jsonl", "gzip")])
def test_lane_rows_equal_record_lane(
    mysql_db: dict[str, Any],
    pg_db: dict[str, Any],
    bin_path: Path,
    tmp_path: Path,
    fmt: str,
    comp: str,
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(bin_path, tmp_path, mysql_db), "edge")
    plain, code = pipe(
        bin_path,
        tmp_path,
        mysql_db,
        cat,
        "target-postgres",
        {**pg_db, "default_target_schema": "rec"},
        "rec",
    )
    assert code == 0 and plain.returncode == 0, plain.stderr.decode()
    spool = tmp_path / "spool"
    spool.mkdir()
    tap_cfg = {**mysql_db, "batch_config": batch_config(spool, fmt, comp)}
    lane, code = pipe(
        bin_path,
        tmp_path,
        tap_cfg,
        cat,
        "target-postgres",
        {**pg_db, "default_target_schema": "lane", "batch_root": str(spool)},
        "lane",
    )
    assert code == 0 and lane.returncode == 0, lane.stderr.decode()
    want = _rows(pg_db, "rec")
    assert len(want) == len(EDGE_ROWS)
    assert _rows(pg_db, "lane") == want
    assert list(spool.iterdir()) == []  # deleted after the commit
    states = [json.loads(x) for x in lane.stdout.splitlines()]
    assert next(iter(states[-1]["bookmarks"].values()))["initial_full_table_complete"] is True


def _batch_input(tmp: Path, body: bytes, spool: Path, name: str = "f.csv") -> bytes:
    f = spool / name
    f.write_bytes(body)
    msgs = [
        {
            "type": "SCHEMA",
            "stream": "s",
            "key_properties": ["id"],
            "schema": {
                "properties": {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}
            },
        },
        {
            "type": "BATCH",
            "stream": "s",
            "encoding": {"format": "csv", "compression": "none"},
            "manifest": [f"file://{f}"],
        },
        {"type": "STATE", "value": {"done": 1}},
    ]
    return b"".join(json.dumps(m).encode() + b"\n" for m in msgs)


def _run(bin_path: Path, tmp: Path, pg: dict[str, Any], data: bytes, root: Path) -> Any:
    import subprocess

    cfg = tmp / "t.json"
    cfg.write_text(json.dumps({**pg, "batch_root": str(root)}))
    return subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        input=data,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "body,expect",
    [
        (b'id,v\n"1","a"\n"x","b"\n', "row 3, column id: 'x' is not a whole number a bigint holds"),
        (b'id,v\n"1","a\n', "unterminated CSV quoted field"),
        (b'id,nope\n"1","a"\n', "row 1: column 'nope' is not in the stream's schema"),
        (b"", "row 1: no header line"),
    ],
)
def test_bad_file_is_one_line(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, body: bytes, expect: str
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    done = _run(bin_path, tmp_path, pg_db, _batch_input(tmp_path, body, spool), spool)
    err = done.stderr.decode()
    assert done.returncode == 65, err
    assert expect in err and "f.csv" in err and "line 2" in err, err
    assert "Traceback" not in err and not done.stdout  # no STATE past the bad file


def test_missing_and_escaping_files(pg_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    data = _batch_input(tmp_path, b'id,v\n"1","a"\n', tmp_path, "outside.csv")
    done = _run(bin_path, tmp_path, pg_db, data, spool)
    assert done.returncode == 65
    assert "outside.csv is outside the spool folder" in done.stderr.decode()
    data = _batch_input(tmp_path, b'id,v\n"1","a"\n', spool)
    (spool / "f.csv").unlink()
    done = _run(bin_path, tmp_path, pg_db, data, spool)
    assert done.returncode == 65 and "f.csv does not exist" in done.stderr.decode()


# A NUL character in JSON (the escape \u0000, which jsonb refuses), in a key, after an escaped
# backslash (not a NUL: text), a text column's six characters \u0000 (text), a raw NUL in text,
# a quoted newline before a row that needs the fix, and numbers that must stay as sent.
NUL_ROWS: list[dict[str, Any]] = [
    {"id": 1, "t": "plain", "j": {"k": "a\u0000b"}},
    {"id": 2, "t": "a\\u0000 is text", "j": {"k\u0000": 1, "n": [1.10, "\u0000\u0000"]}},
    {"id": 3, "t": 'two\nlines, "quoted"', "j": {"k": "a\\u0000b", "m": "x\\\u0000"}},
    {"id": 4, "t": "raw\u0000nul", "j": ["\u0000", {"z": None}]},
    {"id": 5, "t": "", "j": {"k": "no nul", "e": "\\\\u0000"}},
    {"id": 6, "t": None, "j": None},
]
NUL_SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "t": {"type": ["null", "string"]},
        "j": {"type": ["null", "object", "array"]},
    }
}


def _nul_run(
    bin_path: Path, tmp: Path, pg: dict[str, Any], mode: str, lane: bool, schema: str
) -> Any:
    import subprocess

    from tapwell.sdk.tap_batch import csv_line, csv_text

    spool = tmp / f"spool-{schema}"
    spool.mkdir()
    msgs: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "s", "key_properties": ["id"], "schema": NUL_SCHEMA}
    ]
    if lane:
        body = csv_line(["id", "t", "j"]) + b"".join(
            csv_line([csv_text(r[c]) for c in ("id", "t", "j")]) for r in NUL_ROWS
        )
        assert b"\\u0000" in body and b"\x00" in body
        (spool / "f.csv").write_bytes(body)
        msgs.append(
            {
                "type": "BATCH",
                "stream": "s",
                "encoding": {"format": "csv", "compression": "none"},
                "manifest": [f"file://{spool / 'f.csv'}"],
            }
        )
    else:
        msgs += [{"type": "RECORD", "stream": "s", "record": r} for r in NUL_ROWS]
    msgs.append({"type": "STATE", "value": {"done": 1}})
    cfg = tmp / f"{schema}.json"
    config = {
        **pg,
        "batch_root": str(spool),
        "default_target_schema": schema,
        "nul_characters": mode,
    }
    cfg.write_text(json.dumps(config))
    data = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    return subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(cfg)],
        input=data,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize("mode", ["replace", "strip", "error"])
def test_lane_treats_nul_characters_as_the_record_lane(
    pg_db: dict[str, Any], bin_path: Path, tmp_path: Path, mode: str
) -> None:
    """Row by row, the csv lane and the RECORD lane load the same values under each setting of
    nul_characters; with `error` both refuse (exit 65, one line, no state)."""
    record = _nul_run(bin_path, tmp_path, pg_db, mode, False, f"rec_{mode}")
    lane = _nul_run(bin_path, tmp_path, pg_db, mode, True, f"lane_{mode}")
    if mode == "error":
        for done in (record, lane):
            err = done.stderr.decode()
            assert done.returncode == 65 and not done.stdout, err
            assert "JSON contains a NUL character (\\u0000)" in err and "Traceback" not in err
        assert "f.csv row 2, column j: JSON contains a NUL" in lane.stderr.decode()
        return
    assert record.returncode == 0, record.stderr.decode()
    assert lane.returncode == 0, lane.stderr.decode()

    def rows(schema: str) -> list[Any]:
        return query(pg_db, f'SELECT id, t, j::text FROM "{schema}".s ORDER BY id')

    want = rows(f"rec_{mode}")
    assert len(want) == len(NUL_ROWS)
    assert rows(f"lane_{mode}") == want
    nul = "\ufffd" if mode == "replace" else ""
    assert want[0][2] == json.dumps({"k": f"a{nul}b"}, ensure_ascii=False)
    assert want[1][1] == "a\\u0000 is text" and want[3][1] == f"raw{nul}nul"
    assert json.loads(want[2][2]) == {"k": "a\\u0000b", "m": f"x\\{nul}"}
    assert want[4][1] == "" and want[5][1:] == (None, None)
    for done in (record, lane):  # the values changed, counted in one warning
        assert "NUL" in done.stderr.decode(), done.stderr.decode()
