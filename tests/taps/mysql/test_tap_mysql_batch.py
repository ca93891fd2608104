"""tap-mysql's fast lane: with `batch_config`, FULL_TABLE rows go into BATCH files (jsonl as
singer-sdk writes them, csv in PostgreSQL's COPY dialect), each file followed by its BATCH and a
STATE covering exactly its rows; the values are exactly those of the RECORD lane."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, messages, records, run_tap, select, sql, states
from tapwell.singer.wire import dumps, loads

pytestmark = pytest.mark.services

EDGE_DDL = """
CREATE TABLE edge (
  id INT PRIMARY KEY, biu BIGINT UNSIGNED, flag TINYINT(1), d65 DECIMAL(65,30), f FLOAT,
  dbl DOUBLE, vc VARCHAR(40), t TEXT, s SET('red','green','blue'), dt DATE,
  dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), j JSON, b10 BIT(10), vb VARBINARY(10)
)"""
EDGE_ROWS = [
    "INSERT INTO edge VALUES (1, 18446744073709551615, 1,"
    " '12345678901234567890123456789012345.123456789012345678901234567890', 1.5, 0.1,"
    " 'emoji 😀 tab\\t nl\\n cr\\r bs\\\\ q\"', '', 'red,blue', '1000-01-01',"
    " '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '-838:59:59.000000',"
    " '{\"n\": 12345678901234567890.123456789, \"a\": [1, \"x\"]}', b'1010101010', X'DEADBEEF')",
    "INSERT INTO edge (id, t) VALUES (2, NULL)",
    "INSERT INTO edge (id, vc, t) VALUES (3, '\"\"', 'NULL')",
]


def _lane(tmp: Path, cfg: dict[str, Any], fmt: str, comp: str = "none", size: int = 2) -> Any:
    spool = tmp / f"spool-{fmt}-{comp}"
    spool.mkdir()
    bc = {
        "encoding": {"format": fmt, "compression": comp},
        "storage": {"root": f"file://{spool}"},
        "batch_size": size,
    }
    return {**cfg, "batch_config": bc}, spool


def _read(url: str) -> bytes:
    path = url.removeprefix("file://")
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data: bytes = f.read()
    return data


@pytest.mark.parametrize("comp", ["none", "gzip"])
def test_jsonl_files_hold_the_record_lanes_values(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, comp: str
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(bin_path, tmp_path, mysql_db), "edge")
    plain = messages(run_tap(bin_path, tmp_path, mysql_db, catalog=cat).stdout)
    cfg, spool = _lane(tmp_path, mysql_db, "jsonl", comp)
    proc = run_tap(bin_path, tmp_path, cfg, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    assert not records(msgs)
    kinds = [m["type"] for m in msgs]
    batches = [m for m in msgs if m["type"] == "BATCH"]
    assert len(batches) == 2  # batch_size 2: two files for three rows
    for b in batches:  # each BATCH is followed by the STATE after its last row
        assert kinds[msgs.index(b) + 1] == "STATE"
        assert b["encoding"] == {"format": "jsonl", "compression": comp}
    sid = f"{mysql_db['database']}-edge"
    after = [msgs[msgs.index(b) + 1]["value"]["bookmarks"][sid] for b in batches]
    assert [a["last_pk_fetched"] for a in after] == [{"id": 2}, {"id": 3}]
    lines = [ln for b in batches for u in b["manifest"] for ln in _read(u).splitlines()]
    want = [dumps(r) for r in records(plain)]
    assert [dumps(loads(ln)) for ln in lines] == want  # exactly, digit for digit
    assert kinds[-3:] == ["ACTIVATE_VERSION", "STATE", "STATE"]
    assert {b["version"] for b in batches} == {msgs[-3]["version"]}  # the activated version
    assert len(list(spool.iterdir())) == 2


def test_csv_files_in_copys_dialect(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(bin_path, tmp_path, mysql_db), "edge")
    plain = records(messages(run_tap(bin_path, tmp_path, mysql_db, catalog=cat).stdout))
    cfg, _ = _lane(tmp_path, mysql_db, "csv", size=10)
    proc = run_tap(bin_path, tmp_path, cfg, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    (batch,) = [m for m in messages(proc.stdout) if m["type"] == "BATCH"]
    raw = _read(batch["manifest"][0])
    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    header, body = rows[0], rows[1:]
    assert header == list(plain[0])
    assert b',"",' in raw  # '' is quoted
    assert b'"""""",' in raw and b'"NULL"' in raw  # a quote doubled; the text NULL is quoted
    line2 = raw.split(b"\n")[-2]  # row 3 ends the file; row 2's NULLs are unquoted empty fields
    assert line2.startswith(b"3,,,")  # numbers unquoted, as the server prints them
    assert b"\n2,,,,,,," in raw
    r = dict(zip(header, body[0], strict=True))
    assert r["d65"] == "12345678901234567890123456789012345.123456789012345678901234567890"
    assert r["biu"] == "18446744073709551615" and r["flag"] == "true"
    assert r["vc"] == plain[0]["vc"] and r["t"] == ""
    assert r["dtm"] == "9999-12-31 23:59:59.999999+00:00"  # the server's text, in UTC
    assert loads(r["j"]) == plain[0]["j"]
    assert r["vb"] == plain[0]["vb"]


def test_bad_batch_config_is_one_line(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    cat = {"streams": []}
    cfg = {**mysql_db, "batch_config": {"encoding": {"format": "parquet"}, "storage": {}}}
    proc = run_tap(bin_path, tmp_path, cfg, catalog=cat)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "batch_config.encoding.format: 'parquet' is not one of jsonl, csv" in err
    assert "Traceback" not in err
    assert not states(messages(proc.stdout))


def test_killed_mid_lane_resumes_after_the_last_announced_file(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    import subprocess

    from helpers.mysql_tap import write_json

    n = 20_000
    sql(
        mysql_db,
        "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(50))",
        f"INSERT INTO big SELECT seq, REPEAT('x', 50) FROM seq_1_to_{n}",
    )
    cat = select(discover(bin_path, tmp_path, mysql_db), "big")
    cfg, spool = _lane(tmp_path, {**mysql_db, "batch_rows": 500}, "jsonl", size=1000)
    args = [
        str(bin_path / "tap-mysql"),
        "--config",
        str(write_json(tmp_path / "c.json", cfg)),
        "--catalog",
        str(write_json(tmp_path / "cat.json", cat)),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    sid = f"{mysql_db['database']}-big"
    announced: list[str] = []
    state = None
    for line in proc.stdout:
        msg = loads(line)
        if msg["type"] == "BATCH":
            announced += msg["manifest"]
        elif msg["type"] == "STATE" and announced:
            state = msg["value"]
            if len(announced) >= 3:
                break
    proc.kill()  # kill -9 mid-lane
    proc.wait()
    assert state is not None
    first = [loads(x)["id"] for u in announced for x in _read(u).splitlines()]
    assert first[-1] == state["bookmarks"][sid]["last_pk_fetched"]["id"]
    rerun = run_tap(bin_path, tmp_path, cfg, catalog=cat, state=state)
    assert rerun.returncode == 0, rerun.stderr.decode()
    urls = [u for m in messages(rerun.stdout) if m["type"] == "BATCH" for u in m["manifest"]]
    second = [loads(x)["id"] for u in urls for x in _read(u).splitlines()]
    assert first + second == list(range(1, n + 1))  # nothing lost, nothing twice
