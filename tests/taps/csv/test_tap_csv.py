"""tap-csv: golden message streams on the sample data, exact typed values, incremental bookmarks,
and one clear line for every malformed input."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('id,name\n1,"unclosed\n', "bad.csv line 2: malformed CSV (unexpected end of data)"),
        ("id,name\n1,a\n2,b,c\n", "bad.csv line 3: expected 2 fields as in the header, found 3"),
        (
            "id,name\n1,a\nx,b\n",
            "bad.csv line 3, stream 'bad', column 'id': 'x' is not an integer: fix the file, or "
            "declare the column's type in column_types "
            '(e.g. {"type": ["null", "string"]} to take any text)',
        ),
    ],
)
def test_malformed_csv_is_one_clear_line(bin_path, tmp_path, content, error):
    (tmp_path / "bad.csv").write_text(content)
    config = {
        "base_dir": str(tmp_path),
        "sample_rows": 1,
        "streams": [
            {
                "name": "bad",
                "path": "bad.csv",
                "column_types": {"id": {"type": ["null", "integer"]}},
            }
        ],
    }
    result = run_cli(bin_path, tmp_path, config)
    assert result.returncode == (65 if "column_types" in error else 1)  # a bad value: bad input
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"tap-csv: error: {tmp_path}/{error}"
    assert "Traceback" not in result.stderr


def test_not_utf8_is_one_clear_line(bin_path, tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"id,name\n1,ok\n2,\xff\xfe\n")
    config = {
        "base_dir": str(tmp_path),
        "sample_rows": 1,
        "streams": [{"name": "bad", "path": "bad.csv"}],
    }
    result = run_cli(bin_path, tmp_path, config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "bad.csv line 3: not valid utf-8" in result.stderr


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"streams": []}, "config has no streams"),
        ({"streams": [{"name": "x", "path": "nothing-*.csv"}]}, "stream 'x': no file matches"),
        ({"streams": [{"path": "a.csv"}]}, "streams/0/name"),
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
