"""tap-csv's chunked RECORD lines (lines.py, sync.read_lines) are byte for byte what the kit
writes for the same records as dicts (sync.read_rows), over several chunks of edge values; a
bad value or row gives the same one line, naming the line and the column, after the same
records; incremental runs keep the same records and the same bookmark."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
from tapwell.sdk.tap import Tap
from tapwell.singer.catalog import Catalog, select_all
from tapwell.singer.errors import SyncError
from tapwell.singer.wire import MessageWriter
from tapwell.taps.csv import cli, sync
from tapwell.taps.csv.config import SETTINGS

COLUMNS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"]},
    "ok": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object"]},
    "s": {"type": ["null", "string"]},
    "plain": {"type": ["null", "string"]},
}
# Edge values per column, each written on some rows of some chunks (sync.CHUNK rows a chunk).
EDGES = {
    "n": ["7", "-12", "007", " 7", "0", "-0", "", "\\N", str(2**70), "+5"],  # '1_000': refused
    "amount": [
        "1047.29",
        "0.10",
        "-0.0",
        "1E+5",
        "1e-7",
        "0.0000001",
        "0.00000000",
        ".5",
        "5.",
        " 3.25 ",
        "12345678901234567890.123456789",
        "",
        "\\N",
    ],  # fmt: skip ('1_0.5' is refused: tests/audit/test_audit_tap_csv_digits.py)
    "ok": ["true", "False", "T", "n", " yes ", "1", "0", "", "\\N", "TRUE"],
    "day": ["2024-02-29", "0001-01-01", " 2024-01-31 ", "20240131", "", "\\N"],
    "at": [
        "2024-02-29T23:59:59.123456+05:30",
        "2024-01-01 10:00:00",
        " 2024-01-01T00:00:00Z ",
        "2024-01-01T00:00:00.000000+00:00",
        "2024-01-01T00:00:00-00:00",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.5+01:00",
        "2024-01-01T00:00:00+05:30:15",
        "0999-12-31T23:59:59+00:00",
        "2024-01-01T00:00:00.000001-08:00",
        "",
        "\\N",
    ],  # fmt: skip
    "doc": [
        '{"a":[1,2.50]}',
        '{\n"a": 1}',
        "[]",
        ' {"x": "\\u00e9"} ',
        "",
        "\\N",
        '{"big": 1e400}',
    ],
    "s": [
        "",
        "\\N",
        "  ",
        "tab\there\nline",
        'say "hi" \\ back',
        "emoji \U0001f600 \u00f1",
        "\x00\x01\x1f\x7f",
        "\u2028 sep",
        "null",
        "plain text",
    ],  # fmt: skip
}


def value(column: str, row: int) -> str:
    if column == "id":
        return str(row)
    if column == "plain":
        return f"plain {row}"
    edges = EDGES[column]
    # Whole chunks of one common value (the fast paths), and chunks with edges sprinkled in.
    if (row // sync.CHUNK) % 2 == 0 and column != "s":
        return {"n": "42", "amount": "1.50", "ok": "true", "day": "2024-02-29",
                "at": "2024-02-29T23:59:59.000001+00:00", "doc": "{}"}[column]  # fmt: skip
    return edges[(row * 7 + len(column)) % len(edges)]


def write_csv(path: Path, rows: int, bad: dict[int, tuple[str, str]] | None = None) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(COLUMNS))
        for r in range(1, rows + 1):
            if r % 997 == 0:
                f.write("\n")  # a blank line: skipped
            row = [value(c, r) for c in COLUMNS]
            if bad and r in bad:
                column, text = bad[r]
                if column == "*":
                    row = row[:3]
                else:
                    row[list(COLUMNS).index(column)] = text
            w.writerow(row)


def config(path: Path, **stream) -> dict:
    return {
        "streams": [
            {
                "name": "t",
                "path": str(path),
                "key_properties": ["id"],
                "null_values": ["\\N"],
                "schema": {"type": "object", "properties": COLUMNS},
                **stream,
            }
        ]
    }


def by_rows(config: dict) -> list:
    """tap-csv's streams without their `lines`: the kit writes each record dict (the reference)."""
    return [dataclasses.replace(s, lines=None) for s in cli.streams(config)]


REFERENCE = Tap("tap-csv", by_rows, settings=SETTINGS)


def run(tap: Tap, config: dict, catalog: Catalog, state: dict | None = None) -> tuple[str, str]:
    out = io.BytesIO()
    try:
        tap.sync(SETTINGS.of(config), catalog, state or {}, MessageWriter(out))
        error = ""
    except SyncError as exc:
        error = str(exc)
    return out.getvalue().decode(), error


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("tapwell.sdk.tap.time.time", lambda: 1_700_000_000)


def catalog_of(config: dict, method: str, drop: tuple[str, ...] = ()) -> Catalog:
    doc = select_all(cli.tap.discover(SETTINGS.of(config)))
    for item in doc["streams"][0]["metadata"]:
        if not item["breadcrumb"]:
            item["metadata"]["replication-method"] = method
        elif item["breadcrumb"][-1] in drop:
            item["metadata"]["selected"] = False
    return Catalog(doc)


@pytest.mark.parametrize("drop", [(), ("amount", "s")], ids=["all", "deselected"])
def test_lines_are_the_records_byte_for_byte(tmp_path, drop):
    path = tmp_path / "t.csv"
    write_csv(path, 4 * sync.CHUNK + 123)
    cfg = config(path)
    catalog = catalog_of(cfg, "FULL_TABLE", drop)
    ours, error = run(cli.tap, cfg, catalog)
    want, want_error = run(REFERENCE, cfg, catalog)
    assert (error, want_error) == ("", "")
    assert ours.count('"type":"RECORD"') == 4 * sync.CHUNK + 123
    assert ours == want
    first = json.loads(ours.split("\n")[2])
    assert list(first["record"]) == [c for c in COLUMNS if c not in drop]


@pytest.mark.parametrize(
    ("row", "column", "text", "message"),
    [
        (5, "n", "12x", "line 6, stream 't', column 'n': '12x' is not an integer"),
        (2 * sync.CHUNK + 1, "amount", "NaN", "column 'amount': 'NaN' is not a finite number"),
        (
            3 * sync.CHUNK - 1,
            "day",
            "2024-02-30",
            "column 'day': '2024-02-30' is not a date (YYYY-MM-DD), day is out of range",
        ),
        (sync.CHUNK + 7, "at", "2024-01-01T25:00:00+00:00", "column 'at'"),
        # Shaped as written, in a chunk of values written as they are (validated, not kept):
        (10, "at", "2024-02-30T10:00:00.000001+00:00", "column 'at': '2024-02-30T10:00:00"),
        (11, "at", "2024-02-29T24:00:00.000001+00:00", "column 'at': '2024-02-29T24:00:00"),
        (12, "at", "2024-02-29T23:59:59.000001+24:00", "column 'at'"),
        (13, "day", "2023-02-29", "column 'day': '2023-02-29' is not a date (YYYY-MM-DD), day"),
        (14, "day", "2024-00-10", "column 'day': '2024-00-10' is not a date"),
        (sync.CHUNK + 8, "ok", "maybe", "column 'ok': 'maybe' is not a boolean"),
        (9, "doc", "{nope", "column 'doc'"),
        (sync.CHUNK * 3 + 3, "*", "", "expected 9 fields as in the header, found 3"),
    ],
)
def test_a_bad_value_is_the_same_one_line(tmp_path, row, column, text, message):
    path = tmp_path / "t.csv"
    write_csv(path, 4 * sync.CHUNK, bad={row: (column, text)})
    cfg = config(path)
    catalog = catalog_of(cfg, "FULL_TABLE")
    ours, error = run(cli.tap, cfg, catalog)
    want, want_error = run(REFERENCE, cfg, catalog)
    assert error == want_error
    assert message in error and error.startswith(f"{path} line ")
    # No record of the chunk holding the bad row, nor after it; every record before its chunk.
    written = ours.count('"type":"RECORD"')
    assert row - 1 - sync.CHUNK < written <= row - 1
    assert want.startswith(ours[: ours.rfind("\n") + 1])


@pytest.mark.parametrize("key", ["at", "n", "amount", "day", "s"])
def test_incremental_keeps_the_same_records_and_bookmark(tmp_path, key):
    path = tmp_path / "t.csv"
    write_csv(path, 3 * sync.CHUNK + 5)
    cfg = config(path, replication_key=key)
    catalog = catalog_of(cfg, "INCREMENTAL")
    ours, error = run(cli.tap, cfg, catalog)
    want, _ = run(REFERENCE, cfg, catalog)
    assert (error, ours) == ("", want)
    state = json.loads(ours.split("\n")[-2])["value"]
    again, _ = run(cli.tap, cfg, catalog, state)
    want_again, _ = run(REFERENCE, cfg, catalog, state)
    assert again == want_again
    assert 0 < again.count('"type":"RECORD"') < ours.count('"type":"RECORD"')


# Whole columns of one shape each: the fast checks (`as written`) take or refuse a column at once.
SHAPED = [
    ({"type": "string", "format": "date-time"}, ["2024-01-01"] * 3),  # a date in a date-time column
    ({"type": "string", "format": "date-time"}, ["2024-01-01T00:00:00"] * 3),  # naive: +00:00
    ({"type": "string", "format": "date-time"}, ["2024-01-01 00:00:00+00:00"] * 3),
    ({"type": "string", "format": "date-time"}, ["2024-01-01T00:00:00.000000+00:00"] * 3),
    ({"type": "string", "format": "date-time"}, ["2024-01-01T00:00:00-00:00"] * 3),
    ({"type": "string", "format": "date-time"}, ["2024-01-01T00:00:00.123456-05:00"] * 3),
    ({"type": "string", "format": "date-time"}, ["2024-01-01T00:00:00+05:30:15"] * 3),
    ({"type": "string", "format": "date"}, ["20240131", "20240229"]),
    ({"type": "string", "format": "date"}, ["2024-01-31", "0001-01-01"]),
    ({"type": "integer"}, ["007", "010"]),
    ({"type": "integer"}, ["-5", "12"]),
    ({"type": "integer"}, [str(2**70), "9" * 30]),
    ({"type": "integer"}, ["5", "12", "0"]),
    ({"type": "number"}, ["1E+5", "0.0000001", "1.50", "-0"]),
    ({"type": "boolean"}, ["Yes", "no"]),
    ({"type": "string"}, ["plain", "", "é \U0001f600"]),
    ({"type": "string"}, ["line\nbreak", 'q"uote']),
]


@pytest.mark.parametrize(("prop", "texts"), SHAPED)
def test_a_whole_column_of_one_shape_is_written_as_the_record_was(prop, texts):
    from tapwell.taps.csv.lines import column_renderer
    from tapwell.taps.csv.types import compile_row

    rendered, quoted, _ = column_renderer(prop, frozenset(), native=False)(tuple(texts))
    got = [f'"{t}"' if quoted else t for t in rendered]
    convert = compile_row([(0, "c", prop)], frozenset(), set())
    want = []
    for text in texts:
        out = io.BytesIO()
        MessageWriter(out).write_record("s", convert([text]))
        want.append(out.getvalue().decode().split('"c":', 1)[1].rsplit("}}", 1)[0])
    assert got == want


# Columns each text of which is shaped as the record path would write it, one value invalid:
# validated whole (nothing kept), then refused at that value as the record path refuses it.
SHAPED_BUT_BAD = [
    ({"type": "string", "format": "date-time"}, "2024-02-29T23:59:59.000001+00:00", "2024-02-30T23:59:59.000001+00:00"),
    ({"type": "string", "format": "date-time"}, "2024-01-01T00:00:00+00:00", "2024-01-01T00:60:00+00:00"),
    ({"type": "string", "format": "date-time"}, "2024-01-01T00:00:00+00:00", "0000-01-01T00:00:00+00:00"),
    ({"type": "string", "format": "date"}, "2024-02-29", "2023-02-29"),
    ({"type": "string", "format": "date"}, "2024-12-31", "2024-13-01"),
    ({"type": ["null", "integer"], "maximum": 100}, "100", "101"),
    ({"type": ["null", "integer"], "minimum": -5}, "7", "-6"),
]  # fmt: skip


@pytest.mark.parametrize(("prop", "good", "bad"), SHAPED_BUT_BAD)
@pytest.mark.parametrize("at", [0, 3, 9])
def test_a_column_shaped_as_written_with_one_bad_value_is_refused_there(prop, good, bad, at):
    from tapwell.taps.csv.lines import BadRow, column_renderer
    from tapwell.taps.csv.types import compile_row

    texts = [good] * 10
    texts[at] = bad
    with pytest.raises(BadRow) as raised:
        column_renderer(prop, frozenset({"\\N"}), native=False)(texts)
    assert raised.value.index == at
    convert = compile_row([(0, "c", prop)], frozenset({"\\N"}), set())
    with pytest.raises(ValueError):
        convert([bad])
    assert column_renderer(prop, frozenset({"\\N"}), native=False)([good] * 10)[0] == [good] * 10
