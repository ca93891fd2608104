"""A null where the column's type takes none is refused by tap-csv itself, on every lane: an empty
field in a typed column declared without "null" (in the config or the catalog), or a null_values
text in any such column. One line naming the file, its line (as an editor counts it, a quoted
field spanning lines counted), the stream, the column, the value and the fix; exit 65; nothing of
the chunk holding it, nor STATE past what came before it. Before, the null was sent, and the
target refused it naming its own stdin line, or stored it. A string column's empty field is '',
a value: it stays '' on every lane, down to target-duckdb."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.csv_tap import lane_config, run_csv_lane
from helpers.duckdb_target import query, run_target

LANES = ["records", "csv", "jsonl"]
TYPED = {
    "integer": ("7", {"type": "integer"}),
    "number": ("1.50", {"type": "number"}),
    "boolean": ("true", {"type": "boolean"}),
    "date": ("2024-01-31", {"type": "string", "format": "date"}),
    "date-time": ("2024-01-31T10:00:00.123456+05:30", {"type": "string", "format": "date-time"}),
    "object": ('{"a": 1}', {"type": "object"}),
}
ROWS = 600  # three chunks of the tap (250 rows each); the bad row in the third
BAD = 520


def _file(tmp_path: Path, value: str, bad: str) -> None:
    """t.csv: id,v,note, `value` in every row but data row BAD's, which holds `bad`; a note
    spanning two lines in row 3, so the lines after it are one more than their rows."""
    rows = ["id,v,note"]
    for i in range(1, ROWS + 1):
        note = '"two\nlines"' if i == 3 else f"n{i}"
        rows.append(f"{i},{bad if i == BAD else _csv(value)},{note}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if "," in value or '"' in value else value


def _sent_ids(tmp_path: Path, stdout: str) -> list[int]:
    """The ids of every record the tap sent: in RECORD lines and in the BATCH files announced."""
    ids = []
    for message in map(json.loads, stdout.splitlines()):
        if message["type"] == "RECORD":
            ids.append(message["record"]["id"])
        if message["type"] == "BATCH":
            for url in message["manifest"]:
                lines = Path(url.removeprefix("file://")).read_text().splitlines()
                if message["encoding"]["format"] == "jsonl":
                    ids += [json.loads(line)["id"] for line in lines]
                else:
                    ids += [int(line.split(",")[0]) for line in lines[1:] if line[:1].isdigit()]
    return ids


def _refused(tmp_path: Path, proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line; nothing of the refused row's chunk was sent, nor a bookmark past it."""
    assert proc.returncode == 65, proc.stderr
    assert "Traceback" not in proc.stderr
    ids = _sent_ids(tmp_path, proc.stdout)
    assert ids == list(range(1, len(ids) + 1)) and len(ids) < BAD
    for message in map(json.loads, proc.stdout.splitlines()):
        if message["type"] == "STATE":
            bookmark = message["value"].get("bookmarks", {}).get("t", {})
            assert bookmark.get("replication_key_value", 0) <= len(ids)
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("METRIC")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.parametrize("lane", LANES)
@pytest.mark.parametrize("kind", TYPED)
def test_an_empty_field_in_a_typed_column_the_config_declares_not_null_is_refused(
    tmp_path: Path, lane: str, kind: str
) -> None:
    value, prop = TYPED[kind]
    _file(tmp_path, value, "")
    stream = {"replication_key": "id", "column_types": {"id": {"type": "integer"}, "v": prop}}
    proc = run_csv_lane(lane_config(tmp_path, lane, stream, batch_size=200))
    assert _refused(tmp_path, proc) == (
        f"tap-csv: error: {tmp_path / 't.csv'} line {BAD + 2}, stream 't', column 'v': an empty "
        "field ('') is null in a typed column, and the config declares the column not null: fill "
        'the field in the file, or add "null" to its "type" in the config and the catalog'
    )


@pytest.mark.parametrize("lane", LANES)
def test_an_empty_field_in_a_column_the_catalog_declares_not_null_is_refused(
    tmp_path: Path, lane: str
) -> None:
    _file(tmp_path, "7", "")
    config = lane_config(tmp_path, lane, {})
    catalog = json.loads(run_csv_lane(config, "--discover").stdout)
    catalog["streams"][0]["schema"]["properties"]["v"]["type"] = "integer"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    proc = run_csv_lane(config, "--catalog", str(tmp_path / "catalog.json"))
    assert _refused(tmp_path, proc) == (
        f"tap-csv: error: {tmp_path / 't.csv'} line {BAD + 2}, stream 't', column 'v': an empty "
        "field ('') is null in a typed column, and the catalog declares the column not null: "
        'fill the field in the file, or add "null" to its "type" in the catalog'
    )


@pytest.mark.parametrize("lane", LANES)
@pytest.mark.parametrize("prop", [{"type": "string"}, {"type": "integer"}], ids=["str", "int"])
def test_a_null_value_in_a_column_declared_not_null_is_refused(
    tmp_path: Path, lane: str, prop: dict[str, Any]
) -> None:
    _file(tmp_path, "7", "NA")
    stream = {"column_types": {"v": prop}, "null_values": ["NA"]}
    proc = run_csv_lane(lane_config(tmp_path, lane, stream))
    assert _refused(tmp_path, proc) == (
        f"tap-csv: error: {tmp_path / 't.csv'} line {BAD + 2}, stream 't', column 'v': 'NA' is "
        "null (one of the stream's null_values), and the config declares the column not null: "
        'fill the field in the file, or add "null" to its "type" in the config and the catalog'
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('id,note,v\n1,a,5\n2,"b\nc",\n', 4, "an empty field ('') is null in a typed column"),
        ('id,v,note\n1,5,a\n2,abc,"b\nc"\n', 3, "'abc' is not an integer"),
    ],
    ids=["after", "before"],
)
def test_a_refused_field_is_named_by_its_own_line_in_a_row_spanning_lines(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    """Counted as an editor shows the file: a field after a quoted line break is on the row's
    later line, one before it on the row's first (it said the row's last line)."""
    (tmp_path / "t.csv").write_text(text)
    stream = {"column_types": {"v": {"type": "integer"}}}
    proc = run_csv_lane(lane_config(tmp_path, "records", stream))
    assert proc.returncode == 65, proc.stderr
    assert proc.stderr.splitlines()[0].startswith(
        f"tap-csv: error: {tmp_path / 't.csv'} line {line}, stream 't', column 'v': {problem}"
    )


@pytest.mark.parametrize("lane", LANES)
def test_an_empty_string_stays_empty_and_only_a_typed_nullable_field_is_null(
    bin_path: Path, tmp_path: Path, lane: str
) -> None:
    """'' in a string column, not null or nullable, is '' in the target; '' in a nullable
    integer column is NULL: alike on every lane."""
    (tmp_path / "t.csv").write_text('id,s,ns,n\n1,,"",\n2,x,y,3\n')
    types = {"s": {"type": "string"}, "ns": {"type": ["null", "string"]}}
    config = lane_config(tmp_path, lane, {"column_types": types})
    tap = run_csv_lane(config)
    assert tap.returncode == 0, tap.stderr
    db = tmp_path / "t.duckdb"
    target = run_target(bin_path, tmp_path, tap.stdout.encode(), db)
    assert target.returncode == 0, target.stderr.decode()
    assert query(db, "SELECT id, s, ns, n FROM t ORDER BY id") == [
        (1, "", "", None),
        (2, "x", "y", 3),
    ]
