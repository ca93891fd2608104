"""tap-mysql against the real MariaDB: discovery, every type's round trip, FULL_TABLE with
resume after a kill, INCREMENTAL, tables without keys, views, and the error lines."""

from __future__ import annotations

import base64
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import (
    discover,
    messages,
    records,
    root_metadata,
    run_tap,
    select,
    sql,
    states,
    stream_entry,
    write_json,
)
from tapwell.singer.wire import loads

pytestmark = pytest.mark.services

BIG_DEC = "12345678901234567890123456789012345.123456789012345678901234567890"

TYPES_DDL = """
CREATE TABLE all_types (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, biu BIGINT UNSIGNED,
  flag TINYINT(1), flag_int TINYINT(1),
  d65 DECIMAL(65,30), d52 DECIMAL(5,2),
  f FLOAT, dbl DOUBLE,
  c CHAR(3), vc VARCHAR(20), t TEXT,
  e ENUM('small','big'), s SET('red','green','blue'),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), y YEAR,
  j JSON, b1 BIT(1), b10 BIT(10),
  bin BINARY(4), vb VARBINARY(10), bl BLOB,
  g POINT
)"""

TYPES_ROW = f"""
INSERT INTO all_types VALUES (
  1, -128, 255, -32768, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
  1, 0,
  '{BIG_DEC}', -999.99,
  1.5, 0.1,
  'ab', 'emoji 😀 tab\\t nl\\n', '',
  'big', 'red,blue',
  '1000-01-01', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '-838:59:59.000000', 2155,
  '{{"n": 12345678901234567890.123456789, "a": [1, "x"]}}', b'1', b'1010101010',
  X'00FF0001', X'DEADBEEF', X'000102',
  ST_GeomFromText('POINT(1.5 -2)')
)"""


def test_discovery_metadata_and_types(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        TYPES_DDL,
        "CREATE VIEW v_types AS SELECT id, vc FROM all_types",
        "CREATE TABLE nokey (a INT, b VARCHAR(5))",
    )
    cat = discover(bin_path, tmp_path, mysql_db)
    entry = stream_entry(cat, "all_types")
    db = mysql_db["database"]
    assert entry["tap_stream_id"] == f"{db}-all_types"
    md = root_metadata(entry)
    assert md["table-key-properties"] == ["id"]
    assert md["database-name"] == db and md["is-view"] is False and "row-count" in md
    assert "dtm" in md["valid-replication-keys"] and "id" in md["valid-replication-keys"]
    props = entry["schema"]["properties"]
    assert props["biu"] == {
        "type": ["null", "integer"],
        "minimum": 0,
        "maximum": 18446744073709551615,
    }
    assert props["flag"]["type"] == ["null", "boolean"]
    assert props["d65"]["x-precision"] == 65 and props["d65"]["x-scale"] == 30
    assert props["dtm"]["format"] == "date-time" and props["dt"]["format"] == "date"
    assert props["vc"]["maxLength"] == 20
    assert props["j"]["type"] == ["null", "object", "array", "string", "number", "boolean"]
    col_md = {tuple(i["breadcrumb"]): i["metadata"] for i in entry["metadata"]}
    assert col_md[("properties", "j")]["sql-datatype"] == "json"
    assert col_md[("properties", "biu")]["sql-datatype"] == "bigint(20) unsigned"
    assert col_md[("properties", "id")]["inclusion"] == "automatic"
    assert col_md[("properties", "vc")]["inclusion"] == "available"
    assert col_md[("properties", "vc")]["selected-by-default"] is True
    view = root_metadata(stream_entry(cat, "v_types"))
    assert view["is-view"] is True and view["table-key-properties"] == []
    assert root_metadata(stream_entry(cat, "nokey"))["table-key-properties"] == []


def test_every_type_round_trips(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path) -> None:
    sql(mysql_db, TYPES_DDL, TYPES_ROW, "INSERT INTO all_types (id, vc, t) VALUES (2, NULL, 'x')")
    cat = select(discover(bin_path, tmp_path, mysql_db), "all_types")
    # per-column override: flag_int declared integer in the catalog stays an integer
    cat["streams"][0]["schema"]["properties"]["flag_int"] = {"type": ["null", "integer"]}
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    rec = records(messages(proc.stdout))
    assert len(rec) == 2
    r = rec[0]
    assert r["ti"] == -128 and r["tiu"] == 255 and r["si"] == -32768 and r["mi"] == -8388608
    assert (
        r["i"] == -2147483648
        and r["bi"] == -9223372036854775808
        and r["biu"] == 18446744073709551615
    )
    assert r["flag"] is True and r["flag_int"] == 0
    assert r["d65"] == Decimal(BIG_DEC) and str(r["d65"]) == BIG_DEC
    assert r["d52"] == Decimal("-999.99")
    assert str(r["f"]) == "1.5" and str(r["dbl"]) == "0.1"  # the server's digits, no float widening
    assert r["c"] == "ab" and r["vc"] == "emoji 😀 tab\t nl\n" and r["t"] == ""
    assert r["e"] == "big" and r["s"] == "red,blue"
    assert r["dt"] == "1000-01-01"
    assert r["dtm"] == "9999-12-31T23:59:59.999999+00:00"
    assert r["ts"] == "2038-01-19T03:14:07.999999+00:00"
    assert r["tm"] == "-838:59:59.000000" and r["y"] == 2155
    assert r["j"] == {"n": Decimal("12345678901234567890.123456789"), "a": [1, "x"]}
    assert r["b1"] is True and r["b10"] == 0b1010101010
    assert base64.b64decode(r["bin"]) == b"\x00\xff\x00\x01"
    assert base64.b64decode(r["vb"]) == b"\xde\xad\xbe\xef"
    assert base64.b64decode(r["bl"]) == b"\x00\x01\x02"
    assert r["g"] == "POINT(1.5 -2)"
    empty = rec[1]
    assert empty["vc"] is None and empty["t"] == "x" and empty["j"] is None and empty["bl"] is None
    # the raw line keeps every digit: no float round trip
    assert BIG_DEC.encode() in proc.stdout


@pytest.mark.parametrize("mode", ["null", "error"])
def test_zero_dates(mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, mode: str) -> None:
    sql(
        mysql_db,
        "SET SESSION sql_mode = ''",  # the session of sql() ends here; set it per insert below
        "CREATE TABLE z (id INT PRIMARY KEY, d DATE, dt DATETIME)",
    )
    import MySQLdb

    conn = MySQLdb.connect(
        host=mysql_db["host"],
        port=mysql_db["port"],
        user=mysql_db["user"],
        passwd=mysql_db["password"],
        db=mysql_db["database"],
        autocommit=True,
    )
    cur = conn.cursor()
    cur.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
    cur.execute(
        "INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2022-11-00', '2022-11-05 10:00:00'),"
        " (3, '2022-11-05', NULL)"
    )
    conn.close()
    cat = select(discover(bin_path, tmp_path, mysql_db), "z")
    proc = run_tap(bin_path, tmp_path, {**mysql_db, "zero_dates": mode}, catalog=cat)
    err = proc.stderr.decode()
    if mode == "null":
        assert proc.returncode == 0, err
        rec = records(messages(proc.stdout))
        assert [(r["d"], r["dt"]) for r in rec] == [
            (None, None),
            (None, "2022-11-05T10:00:00+00:00"),
            ("2022-11-05", None),
        ]
        assert "3 zero or invalid dates became null" in err
    else:
        assert proc.returncode == 1
        assert "invalid date '0000-00-00'" in err and "Traceback" not in err


def test_full_table_messages_and_bookmarks(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO t VALUES (3, 'c'), (1, 'a'), (2, 'b')",
    )
    cat = select(discover(bin_path, tmp_path, mysql_db), "t")
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    kinds = [m["type"] for m in msgs]
    assert kinds[0] == "SCHEMA"
    # the new version is announced once, after its records (never before: see test_tap_mysql_state)
    assert kinds.count("ACTIVATE_VERSION") == 1
    assert kinds[-3:] == ["ACTIVATE_VERSION", "STATE", "STATE"]
    assert [r["id"] for r in records(msgs)] == [1, 2, 3]  # primary key order
    version = msgs[-3]["version"]
    assert all(m["version"] == version for m in msgs if m["type"] == "RECORD")
    sid = f"{mysql_db['database']}-t"
    assert states(msgs)[0]["bookmarks"][sid]["max_pk_values"] == {"id": 3}
    final = states(msgs)[-1]
    assert "currently_syncing" not in final
    assert final["bookmarks"][sid] == {"version": version, "initial_full_table_complete": True}
    assert 'METRIC: {"type":"counter","metric":"record_count","value":3' in proc.stderr.decode()
    # a second full sync: a new version, activated only at the end (the table stays readable)
    proc2 = run_tap(bin_path, tmp_path, mysql_db, catalog=cat, state=final)
    kinds2 = [m["type"] for m in messages(proc2.stdout)]
    assert kinds2.count("ACTIVATE_VERSION") == 1 and kinds2.index(
        "ACTIVATE_VERSION"
    ) > kinds2.index("RECORD")


def test_resume_after_kill_mid_table(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    n = 20_000
    sql(
        mysql_db,
        "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))",
        f"INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_{n}",
    )
    cat = select(discover(bin_path, tmp_path, mysql_db), "big")
    config = {**mysql_db, "state_every": 1000, "batch_rows": 500}
    args = [
        str(bin_path / "tap-mysql"),
        "--config",
        str(write_json(tmp_path / "c.json", config)),
        "--catalog",
        str(write_json(tmp_path / "cat.json", cat)),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    sid = f"{mysql_db['database']}-big"
    first: list[int] = []
    state = None
    for line in proc.stdout:
        msg = loads(line)
        if msg["type"] == "RECORD":
            first.append(msg["record"]["id"])
        elif msg["type"] == "STATE" and msg["value"]["bookmarks"][sid].get("last_pk_fetched"):
            state = msg["value"]
            break
    proc.kill()
    proc.wait()
    assert state is not None
    last = state["bookmarks"][sid]["last_pk_fetched"]["id"]
    assert state["currently_syncing"] == sid and last < n
    committed = [i for i in first if i <= last]
    rerun = run_tap(bin_path, tmp_path, config, catalog=cat, state=state)
    assert rerun.returncode == 0, rerun.stderr.decode()
    msgs = messages(rerun.stdout)
    second = [r["id"] for r in records(msgs)]
    assert second[0] == last + 1  # continues right after the last committed row
    assert committed + second == list(range(1, n + 1))
    versions = {m["version"] for m in msgs if m["type"] == "RECORD"}
    assert versions == {state["bookmarks"][sid]["version"]}  # the same table version
    assert msgs[-1]["value"]["bookmarks"][sid].get("last_pk_fetched") is None


def test_incremental_sends_boundary_rows_again(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE inc (id INT PRIMARY KEY, updated_at DATETIME(6))",
        "INSERT INTO inc VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-02 00:00:00.5'), (3, '2024-01-02 00:00:00.5')",
    )
    cat = select(discover(bin_path, tmp_path, mysql_db), "inc", "INCREMENTAL", "updated_at")
    config = {**mysql_db, "state_every": 1, "batch_rows": 1}
    proc = run_tap(bin_path, tmp_path, config, catalog=cat)
    assert proc.returncode == 0, proc.stderr.decode()
    msgs = messages(proc.stdout)
    assert [r["id"] for r in records(msgs)] == [1, 2, 3]
    sid = f"{mysql_db['database']}-inc"
    bm = states(msgs)[-1]["bookmarks"][sid]
    assert bm["replication_key"] == "updated_at"
    assert bm["replication_key_value"] == "2024-01-02T00:00:00.500000+00:00"
    assert len(states(msgs)) >= 4  # a STATE every row, and at the end
    schema = next(m for m in msgs if m["type"] == "SCHEMA")
    assert schema["bookmark_properties"] == ["updated_at"]
    sql(mysql_db, "INSERT INTO inc VALUES (4, '2024-01-02 00:00:00.5'), (5, '2024-01-03 00:00:00')")
    proc2 = run_tap(bin_path, tmp_path, config, catalog=cat, state=states(msgs)[-1])
    assert proc2.returncode == 0, proc2.stderr.decode()
    assert sorted(r["id"] for r in records(messages(proc2.stdout))) == [2, 3, 4, 5]


def test_table_without_primary_key_and_view(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(
        mysql_db,
        "CREATE TABLE nokey (a INT, b VARCHAR(5))",
        "INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (NULL, '')",
        "CREATE VIEW v AS SELECT a, b FROM nokey WHERE a IS NOT NULL",
    )
    cat = discover(bin_path, tmp_path, mysql_db)
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=select(cat, "nokey"))
    assert proc.returncode == 0, proc.stderr.decode()
    rows = records(messages(proc.stdout))
    assert sorted(rows, key=str) == sorted(
        [{"a": 1, "b": "x"}, {"a": 1, "b": "x"}, {"a": None, "b": ""}], key=str
    )
    schema = next(m for m in messages(proc.stdout) if m["type"] == "SCHEMA")
    assert schema["key_properties"] == []
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=select(cat, "v"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert records(messages(proc.stdout)) == [{"a": 1, "b": "x"}, {"a": 1, "b": "x"}]
    keyed = select(cat, "v")
    for item in keyed["streams"][0]["metadata"]:
        if item["breadcrumb"] == []:
            item["metadata"]["view-key-properties"] = ["b"]
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=keyed)
    schema = next(m for m in messages(proc.stdout) if m["type"] == "SCHEMA")
    assert schema["key_properties"] == ["b"]
    bad = run_tap(bin_path, tmp_path, mysql_db, catalog=select(cat, "v", "LOG_BASED"))
    assert bad.returncode == 2 and "is a view: LOG_BASED needs a table" in bad.stderr.decode()


def test_wrong_password_is_one_clear_line(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    secret = "S3cr3t-pa55word-xyz"
    proc = run_tap(bin_path, tmp_path, {**mysql_db, "password": secret}, discover=True)
    err = proc.stderr.decode()
    assert proc.returncode == 2
    assert err.splitlines() == [
        "tap-mysql: error: MySQL refused user 'root'@'localhost': check user and password"
    ] or (
        len(err.splitlines()) == 1
        and err.startswith("tap-mysql: error: MySQL refused user 'root'@")
        and err.rstrip().endswith(": check user and password")
    )
    assert secret not in err and secret not in proc.stdout.decode()


def test_unreachable_host(bin_path: Path, tmp_path: Path) -> None:
    proc = run_tap(
        bin_path,
        tmp_path,
        {"host": "127.0.0.1", "port": 1, "user": "root", "password": "pw-never-shown"},
        discover=True,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 75
    assert len(err.splitlines()) == 1
    assert err.startswith("tap-mysql: error: cannot reach MySQL at 127.0.0.1:1")
    assert "pw-never-shown" not in err


def test_database_name_with_odd_characters(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    odd = f"{mysql_db['database']} odd-ä`q"
    quoted = "`" + odd.replace("`", "``") + "`"
    sql(mysql_db, f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    try:
        sql(
            mysql_db,
            f"CREATE TABLE {quoted}.`ta-ble ü` (`i d` INT PRIMARY KEY, `v``x` VARCHAR(3))",
            f"INSERT INTO {quoted}.`ta-ble ü` VALUES (1, 'a'), (2, 'b')",
        )
        config = {**mysql_db, "filter_dbs": [odd]}
        config.pop("database")
        cat = discover(bin_path, tmp_path, config)
        assert [s["tap_stream_id"] for s in cat["streams"]] == [f"{odd}-ta-ble ü"]
        proc = run_tap(bin_path, tmp_path, config, catalog=select(cat, "ta-ble ü"))
        assert proc.returncode == 0, proc.stderr.decode()
        assert records(messages(proc.stdout)) == [{"i d": 1, "v`x": "a"}, {"i d": 2, "v`x": "b"}]
    finally:
        sql(mysql_db, f"DROP DATABASE IF EXISTS {quoted}")
