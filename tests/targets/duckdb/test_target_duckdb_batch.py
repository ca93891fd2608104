"""target-duckdb's fast lane: tap-mysql's csv BATCH files read by read_csv give the same rows as
the RECORD lane, row by row; files are gone after the commit; a bad value is one line naming the
file, the row and the column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.batch_lane import EDGE_DDL, EDGE_ROWS, batch_config, pipe
from helpers.duckdb_target import query, run_target
from helpers.mysql_tap import discover, select, sql

pytestmark = pytest.mark.services


def _rows(db: Path) -> list[Any]:
    cols = [
        r[0]
        for r in query(
            db,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'edge' ORDER BY ordinal_position",
        )
    ]
    cols = [c for c in cols if c != "_sdc_table_version"]
    return query(db, f"SELECT {', '.join(cols)} FROM edge ORDER BY id")


@pytest.mark.parametrize("fmt,comp", [("csv", "none"), ("csv", "gzip"), ("jsonl", "none")])
def test_lane_rows_equal_record_lane(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, fmt: str, comp: str
) -> None:
    sql(mysql_db, EDGE_DDL, *EDGE_ROWS)
    cat = select(discover(bin_path, tmp_path, mysql_db), "edge")
    rec_db, lane_db = tmp_path / "rec.duckdb", tmp_path / "lane.duckdb"
    plain, code = pipe(
        bin_path, tmp_path, mysql_db, cat, "target-duckdb", {"path": str(rec_db)}, "r"
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
        "target-duckdb",
        {"path": str(lane_db), "batch_root": str(spool)},
        "l",
    )
    assert code == 0 and lane.returncode == 0, lane.stderr.decode()
    want = _rows(rec_db)
    assert len(want) == len(EDGE_ROWS)
    assert _rows(lane_db) == want
    assert list(spool.iterdir()) == []
    final = json.loads(lane.stdout.splitlines()[-1])
    assert next(iter(final["bookmarks"].values()))["initial_full_table_complete"] is True


def test_bad_value_names_file_row_and_column(tmp_path: Path, bin_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    f = spool / "f.csv"
    f.write_bytes(b'id,v\n"1","a"\n"x","b"\n')
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
    data = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    done = run_target(bin_path, tmp_path, data, batch_root=str(spool))
    err = done.stderr.decode()
    assert done.returncode == 65, err
    assert "f.csv row 3, column id" in err and "line 2" in err and "Traceback" not in err
    assert not done.stdout and f.exists()  # nothing committed, the file kept for a retry


PROPS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "ok": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object"]},
}


def _load_csv(bin_path: Path, tmp_path: Path, body: str, **config: Any) -> tuple[Any, Path]:
    """One csv BATCH file of stream `s` (PROPS) loaded by target-duckdb."""
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    f = spool / "f.csv"
    f.write_text('"id","n","amount","ratio","ok","day","at","doc"\n' + body, encoding="utf-8")
    msgs = [
        {"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
         "schema": {"properties": PROPS}},
        {"type": "BATCH", "stream": "s", "encoding": {"format": "csv", "compression": "none"},
         "manifest": [f"file://{f}"]},
        {"type": "STATE", "value": {"done": 1}},
    ]  # fmt: skip
    data = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    db = tmp_path / "w.duckdb"
    return run_target(bin_path, tmp_path, data, db, batch_root=str(spool), **config), f


GOOD = '1,7,0.10,1e-7,true,2024-02-29,2024-01-01T00:00:00.5+05:30,"{""a"":1}"\n'


@pytest.mark.parametrize(
    "row,column,value",
    [
        ("2,1.5,,,,,,\n", "n", "'1.5'"),  # DuckDB's cast: 2
        ("2,,1.005,,,,,\n", "amount", "1.005"),  # DuckDB's cast: 1.01 (said as on RECORD lines)
        ("2,,12345678901.00,,,,,\n", "amount", "12345678901.00"),
        ("2,,,inf,,,,\n", "ratio", "'inf'"),
        # 1e400 and 1e-400 load now, the column VARCHAR (test_target_duckdb_plain_number.py)
        ("2,,,,t,,,\n", "ok", "'t'"),
        ("2,,,,,2024-02-29T10:00:00,,\n", "day", "'2024-02-29T10:00:00'"),
        ("2,,,,,,infinity,\n", "at", "'infinity'"),
        ('2,,,,,,,"{bad"\n', "doc", "'{bad'"),
        (",,,,,,,\n", "id", "NULL"),
    ],
)
def test_a_value_the_record_path_refuses_is_refused(
    bin_path: Path, tmp_path: Path, row: str, column: str, value: str
) -> None:
    done, f = _load_csv(bin_path, tmp_path, GOOD + row)
    err = done.stderr.decode()
    assert done.returncode == 65, err
    line = err.strip().splitlines()[-1]
    assert f"BATCH file {f} row 3, column {column}: {value} " in line, line
    assert line.endswith(("in the SCHEMA)", "for a wider column)", "key_properties)")), line
    assert "Traceback" not in err and not done.stdout and f.exists()


def test_a_key_twice_in_a_file_keeps_its_last_row(bin_path: Path, tmp_path: Path) -> None:
    body = GOOD + "2,1,,,,,,\n1,2,,,,,,\n2,3,,,,,,\n3,4,,,,,,\n"
    done, _ = _load_csv(bin_path, tmp_path, body)
    assert done.returncode == 0, done.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT id, n FROM s ORDER BY id") == [
        (1, 2),
        (2, 3),
        (3, 4),
    ]


def test_append_only_keeps_every_row(bin_path: Path, tmp_path: Path) -> None:
    body = GOOD + "1,2,,,,,,\n"
    done, _ = _load_csv(bin_path, tmp_path, body, load_method="append-only")
    assert done.returncode == 0, done.stderr.decode()
    assert query(tmp_path / "w.duckdb", "SELECT id, n FROM s ORDER BY n") == [(1, 2), (1, 7)]


def test_values_at_the_edges_load_exactly(bin_path: Path, tmp_path: Path) -> None:
    body = (
        "1,9223372036854775807,9999999999.99,1.7976931348623157E+308,false,0001-01-01,"
        '2024-01-01T00:00:00.000001-08:00,"{""n"":12345678901234567890.5,""s"":""\\u00e9 \\"" ,""}"\n'
        "2,-9223372036854775808,-0.01,5E-324,,9999-12-31,2024-01-01 10:00:00,\n"
        "3,,1E+2,-0,,,2024-01-01T10:00:00Z,\n"
    )
    done, _ = _load_csv(bin_path, tmp_path, body)
    assert done.returncode == 0, done.stderr.decode()
    got = query(
        tmp_path / "w.duckdb",
        'SELECT n, amount::VARCHAR, ratio, ok, day::VARCHAR, epoch_us("at"), doc::VARCHAR '
        "FROM s ORDER BY id",
    )
    assert got == [
        (2**63 - 1, "9999999999.99", 1.7976931348623157e308, False, "0001-01-01",
         1704096000000001, '{"n":12345678901234567890.5,"s":"\\u00e9 \\" ,"}'),
        (-(2**63), "-0.01", 5e-324, None, "9999-12-31", 1704103200000000, None),
        (None, "100.00", 0.0, None, None, 1704103200000000, None),
    ]  # fmt: skip


@pytest.mark.parametrize("gz", [False, True])
def test_long_fraction_prefilter_finds_one_across_pieces(tmp_path: Path, gz: bool) -> None:
    """The quick look that lets a file skip the fraction scan finds a 7-digit fraction wherever
    the file is cut into pieces (each position across a piece boundary, `.` and `,`), and
    passes a file without one (6 digits, a 7-digit number that is no time's fraction)."""
    import gzip

    from tapwell.targets.duckdb.files import may_hold_long_fraction

    def holds(text: bytes, size: int) -> bool:
        path = tmp_path / ("f.csv.gz" if gz else "f.csv")
        path.write_bytes(gzip.compress(text) if gz else text)
        return may_hold_long_fraction(str(path), gz, size)

    clean = b'id,ts\n1,2024-01-01T00:00:00.123456Z\n2,"x 12.1234567 :1.1234567"\n'
    for size in (1, 3, 7, 16, 1 << 22):
        assert not holds(clean, size)
    for sep in (b".", b","):
        found = b"3,2024-01-01T00:00:00" + sep + b"1234567+05:30\n"
        text = clean + found
        for size in range(1, 40):
            assert holds(text, size), (sep, size)


@pytest.mark.parametrize("gz", [False, True])
def test_row_bound_holds_the_longest_row(tmp_path: Path, gz: bool) -> None:
    """file_facts' bound on a file's longest row is at least its longest row (quoted newlines
    and doubled quotes inside it, wherever pieces and blocks cut it) and at most two blocks past
    it: a file of short rows stays under read_csv's default max_line_size."""
    import gzip

    from tapwell.targets.duckdb.files import MAX_LINE_SIZE, file_facts

    def bound(text: bytes, size: int, block: int) -> int:
        path = tmp_path / ("f.csv.gz" if gz else "f.csv")
        path.write_bytes(gzip.compress(text) if gz else text)
        return file_facts(str(path), gz, size, block).longest

    field = '"' + ('a ""b"",\nc ' * 40) + '"'
    # the long row among short ones, and last without its newline
    for long, after in ((f"1,{field}\n", "3,z\n" * 5), (f"1,{field}", "")):
        text = ("id,v\n" + '2,"x\n""y"""\n' * 7 + long + after).encode()
        row = len(long.encode())
        for size in (5, 64, 1 << 22):
            for block in (3, 16, 50, 1 << 19):
                got = bound(text, size, block)
                assert row <= got <= row + 2 * min(block, size), (size, block, got)
    short = b"id,v\n" + b'1,"a\nb"\n' * 100_000
    assert bound(short, 1 << 22, 1 << 19) <= MAX_LINE_SIZE
