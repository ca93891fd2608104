"""tap-csv: golden message streams on the sample data, exact typed values, incremental bookmarks,
and one clear line for every malformed input."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from tapwell.singer.catalog import Catalog, load_catalog, select_all
from tapwell.singer.wire import MessageWriter, read_messages
from tapwell.taps.csv.cli import tap

ROOT = Path(__file__).resolve().parents[3]
FROZEN_MS = 1_700_000_000_000


@pytest.fixture
def demo_config() -> dict:
    config = yaml.safe_load((ROOT / "tapwell.yml").read_text())["integrations"]["demo"]["tap"][
        "config"
    ]
    return {**config, "base_dir": str(ROOT / "sample" / "data")}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("tapwell.sdk.tap.time.time", lambda: FROZEN_MS / 1000)


def sync(config: dict, catalog: Catalog, state: dict | None = None) -> str:
    out = io.BytesIO()
    tap.sync(config, catalog, state or {}, MessageWriter(out))
    return out.getvalue().decode()


def test_snapshot_discover(demo_config, snapshot):
    snapshot(
        "tap_csv/discover.json",
        json.dumps(tap.discover(demo_config), indent=2, ensure_ascii=False) + "\n",
    )


def test_snapshot_demo_incremental_sync(demo_config, snapshot):
    snapshot(
        "tap_csv/demo_incremental.jsonl",
        sync(demo_config, load_catalog(ROOT / "catalogs" / "demo.json")),
    )


def test_snapshot_edge_full_table(snapshot):
    config = {
        "base_dir": str(ROOT / "tests" / "fixtures" / "csv"),
        "streams": [{"name": "edge", "path": "edge.csv", "key_properties": ["id"]}],
    }
    snapshot(
        "tap_csv/edge_full_table.jsonl", sync(config, Catalog(select_all(tap.discover(config))))
    )


def test_committed_catalog_matches_discovery(demo_config):
    """catalogs/demo.json is discovery plus selection: a schema drift would show here first."""
    discovered = {s["tap_stream_id"]: s["schema"] for s in tap.discover(demo_config)["streams"]}
    committed = {s.tap_stream_id: s.schema for s in load_catalog(ROOT / "catalogs" / "demo.json")}
    assert committed == discovered


def test_values_are_typed_and_exact():
    config = {
        "base_dir": str(ROOT / "tests" / "fixtures" / "csv"),
        "streams": [{"name": "edge", "path": "edge.csv", "key_properties": ["id"]}],
    }
    props = tap.discover(config)["streams"][0]["schema"]["properties"]
    assert props["id"]["type"] == ["null", "integer"]
    assert props["amount"]["type"] == ["null", "number"]
    assert props["when"] == {"type": ["null", "string"], "format": "date-time"}
    assert props["day"] == {"type": ["null", "string"], "format": "date"}
    assert props["flag"]["type"] == ["null", "boolean"]
    records = [
        m.record
        for _, m in read_messages(
            io.BytesIO(sync(config, Catalog(select_all(tap.discover(config)))).encode())
        )
        if type(m).__name__ == "RecordMessage"
    ]
    exact = [
        Decimal(repr(a)) if isinstance(a, float) else Decimal(a)
        for a in (r["amount"] for r in records)
    ]
    assert exact == [Decimal("12.50"), Decimal("1E-30"), -7, Decimal("99999999999999999999.99")]
    assert records[0]["name"] == "tab\there" and records[2]["name"] == 'multi\nline "quoted"'
    assert records[1]["name"] == ""  # an empty string stays an empty string in a string column
    assert (
        records[2]["when"] is None and records[2]["flag"] is None
    )  # empty in typed columns is null
    assert (
        records[1]["when"] == "2024-01-02T10:00:00+00:00"
    )  # naive read as UTC, written with its offset
    assert records[3]["when"] == "2024-12-31T23:59:59.999999+00:00"
    assert records[3]["name"] == "😀 emoji"


def _records(text: str) -> list:
    return [
        m
        for _, m in read_messages(io.BytesIO(text.encode()))
        if type(m).__name__ == "RecordMessage"
    ]


def _states(text: str) -> list:
    return [
        m.value
        for _, m in read_messages(io.BytesIO(text.encode()))
        if type(m).__name__ == "StateMessage"
    ]


def test_incremental_resumes_from_bookmark_with_boundary_rows(demo_config):
    catalog = load_catalog(ROOT / "catalogs" / "demo.json")
    first = sync(demo_config, catalog)
    final = _states(first)[-1]
    assert "currently_syncing" not in final
    bookmarks = final["bookmarks"]
    assert set(bookmarks) == {"customers", "orders", "order_items"}
    assert all(b["replication_key"] == "updated_at" for b in bookmarks.values())
    second = _records(sync(demo_config, catalog, final))
    # Only rows at the bookmark come again (>=), never anything older.
    for rec in second:
        assert rec.record["updated_at"] == bookmarks[rec.stream]["replication_key_value"]
    assert 0 < len(second) <= 3 * 2


def full_table_catalog(config: dict) -> Catalog:
    catalog = select_all(tap.discover(config))
    for stream in catalog["streams"]:
        for item in stream["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["replication-method"] = "FULL_TABLE"
    return Catalog(catalog)


def test_full_table_activates_versions(demo_config):
    out = sync(demo_config, full_table_catalog(demo_config))
    kinds = [json.loads(line)["type"] for line in out.splitlines()]
    assert kinds.count("ACTIVATE_VERSION") == 3  # one per stream, after its records (20.1)
    state = _states(out)[-1]
    assert state["bookmarks"]["orders"] == {"initial_full_table_complete": True}
    again = sync(demo_config, full_table_catalog(demo_config), state)
    assert [json.loads(line)["type"] for line in again.splitlines()].count("ACTIVATE_VERSION") == 3


def test_deselected_columns_are_left_out(demo_config):
    catalog = select_all(tap.discover(demo_config))
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "customers")
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "email"]:
            item["metadata"]["selected"] = False
    catalog["streams"] = [entry]
    out = sync(demo_config, Catalog(catalog))
    schema = next(json.loads(line) for line in out.splitlines() if '"SCHEMA"' in line)
    assert "email" not in schema["schema"]["properties"]
    assert all("email" not in r.record for r in _records(out))


# ---------------------------------------------------------------- the command line


def run_cli(
    bin_path: Path, tmp_path: Path, config: dict, *args: str
) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(cfg), *args], capture_output=True, text=True
    )


FIX_CSV = (
    "fix the file: a quoted field ends at its closing quote, followed by the delimiter or the "
    'line\'s end, and a quote inside it is doubled ("")'
)
FIX_WIDTH = (
    "fix the file: every line has the header's fields (quote a field that holds the delimiter ',')"
)
FIX_ENCODING = 'fix the file, or set the stream\'s encoding (e.g. "encoding": "latin-1")'


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (
            'id,name\n1,"unclosed\n',
            f"bad.csv line 2, stream 'bad': malformed CSV (unexpected end of data): {FIX_CSV}",
        ),
        (
            'id,name\n1,"a"b\n',
            f"bad.csv line 2, stream 'bad': malformed CSV (',' expected after '\"'): {FIX_CSV}",
        ),
        (
            "id,name\n1,a\n2,b,c\n",
            f"bad.csv line 3, stream 'bad': expected 2 fields as in the header, found 3: {FIX_WIDTH}",
        ),
        (
            "id,name\n1,a\n" + "".join(f"{i},x\n" for i in range(2, 2000)) + "2000,b,c\n",
            "bad.csv line 2001, stream 'bad': expected 2 fields as in the header, found 3: "
            + FIX_WIDTH,
        ),
        (
            'id,"na"me\n1,a\n',
            "bad.csv line 1, stream 'bad': malformed CSV header (',' expected after '\"'): "
            + FIX_CSV,
        ),
        (
            "id,name\n1,a\nx,b\n",
            "bad.csv line 3, stream 'bad', column 'id': 'x' is not an integer: fix the file, or "
            "declare the column's type in column_types "
            '(e.g. {"type": ["null", "string"]} to take any text)',
        ),
    ],
)
@pytest.mark.parametrize("sample_rows", [1, 0])
def test_malformed_csv_is_one_clear_line(bin_path, tmp_path, content, error, sample_rows):
    """Bad input, whether met while sampling the types or while syncing: one line naming the
    file, the line, the stream, what is wrong and the fix; exit 65; no record after it."""
    (tmp_path / "bad.csv").write_text(content)
    config = {
        "base_dir": str(tmp_path),
        "sample_rows": sample_rows,
        "streams": [
            {
                "name": "bad",
                "path": "bad.csv",
                "column_types": {"id": {"type": ["null", "integer"]}},
            }
        ],
    }
    result = run_cli(bin_path, tmp_path, config)
    assert result.returncode == 65, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"tap-csv: error: {tmp_path}/{error}"
    assert "Traceback" not in result.stderr
    assert "initial_full_table_complete" not in result.stdout


@pytest.mark.parametrize("sample_rows", [1, 0])
@pytest.mark.parametrize(
    ("encoding", "content", "error"),
    [
        ("utf-8", b"id,name\n1,ok\n2,\xff\xfe\n", "line 3, stream 'bad': not valid utf-8 "),
        ("utf-8", b"\xef\xbb\xbfid,name\n1,ok\n2,\xc3\n", "line 3, stream 'bad': not valid utf-8 "),
        (
            "utf-16",
            b"\xff\xfei\x00d\x00\n\x00\x00\xd8",
            "near line 2, stream 'bad': not valid utf-16 ",
        ),
    ],
)
def test_not_decodable_is_one_clear_line(bin_path, tmp_path, sample_rows, encoding, content, error):
    (tmp_path / "bad.csv").write_bytes(content)
    config = {
        "base_dir": str(tmp_path),
        "sample_rows": sample_rows,
        "streams": [{"name": "bad", "path": "bad.csv", "encoding": encoding}],
    }
    result = run_cli(bin_path, tmp_path, config)
    assert result.returncode == 65 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"tap-csv: error: {tmp_path}/bad.csv {error}"), last
    assert last.endswith(FIX_ENCODING)


@pytest.mark.parametrize("args", [("--discover",), ()])
def test_a_gzip_file_is_named_as_one_not_as_a_bad_encoding(bin_path, tmp_path, args):
    """A .csv.gz named as a stream's path: the line says it is gzip and to decompress it (the
    encoding advice, "latin-1", would read its bytes as text)."""
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress("id,name\n1,é\n".encode()))
    config = {"base_dir": str(tmp_path), "streams": [{"name": "t", "path": "t.csv.gz"}]}
    result = run_cli(bin_path, tmp_path, config, *args)
    assert result.returncode == 65 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"tap-csv: error: {tmp_path}/t.csv.gz, stream 't': the file is gzip-compressed, and "
        f"tap-csv reads plain CSV: decompress it first (gunzip -k {tmp_path}/t.csv.gz) and name "
        "the .csv file in the stream's path"
    ]


def test_duplicate_column_names_are_one_clear_line(bin_path, tmp_path):
    (tmp_path / "bad.csv").write_text("id,a,a\n1,2,3\n")
    config = {"base_dir": str(tmp_path), "streams": [{"name": "bad", "path": "bad.csv"}]}
    result = run_cli(bin_path, tmp_path, config, "--discover")
    assert result.returncode == 65, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"tap-csv: error: {tmp_path}/bad.csv line 1, stream 'bad': duplicate column names ['a']: "
        "fix the file: rename one of each"
    )


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"streams": []}, "config has no streams"),
        ({"streams": [{"name": "x", "path": "nothing-*.csv"}]}, "stream 'x': no file matches"),
        ({"streams": [{"path": "a.csv"}]}, "streams/0/name"),
        (
            {"streams": [{"name": "x", "path": "a.csv", "encoding": "nope"}]},
            "config key streams/0/encoding: stream 'x': unknown encoding 'nope' (e.g. utf-8, "
            "latin-1, cp1252, utf-16)",
        ),
        (
            {"streams": [{"name": "x", "path": "a.csv", "key_properties": ["nope"]}]},
            "key property 'nope' is not a column",
        ),
    ],
)
def test_config_errors(bin_path, tmp_path, config, error):
    (tmp_path / "a.csv").write_text("id\n1\n")
    result = run_cli(bin_path, tmp_path, {"base_dir": str(tmp_path), **config}, "--discover")
    assert result.returncode == 2, result.stderr
    assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_about_and_discover_cli(bin_path, tmp_path):
    about = subprocess.run(
        [str(bin_path / "tap-csv"), "--about"], capture_output=True, text=True, check=True
    )
    assert json.loads(about.stdout)["name"] == "tap-csv"
    md = subprocess.run(
        [str(bin_path / "tap-csv"), "--about", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        md.stdout.startswith("# ")
        and "tap-csv" in md.stdout.splitlines()[0]
        and "| `streams` |" in md.stdout
    )
    (tmp_path / "a.csv").write_text("id\n1\n")
    result = run_cli(
        bin_path,
        tmp_path,
        {"base_dir": str(tmp_path), "streams": [{"name": "a", "path": "a.csv"}]},
        "--discover",
    )
    assert json.loads(result.stdout)["streams"][0]["tap_stream_id"] == "a"
