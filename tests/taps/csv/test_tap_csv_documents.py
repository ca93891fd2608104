"""tap-csv's JSON document columns keep every number as written, on one line or several, on the
chunked path (lines.py) and the record path (types.compile_row) alike: a document never goes
through float."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from tapwell.singer.catalog import Catalog, select_all
from tapwell.singer.errors import SyncError
from tapwell.singer.wire import MessageWriter, loads, read_messages
from tapwell.taps.csv import cli
from tapwell.taps.csv.config import SETTINGS
from tapwell.taps.csv.lines import column_renderer
from tapwell.taps.csv.types import compile_row

DOC = {"type": ["null", "object", "array"]}  # DOCUMENTS hold both kinds
# (the CSV field, the document's text as the record carries it)
DOCUMENTS = [
    ('{"p": 0.1000000000000000055}', '{"p": 0.1000000000000000055}'),
    ('{\n  "p": 0.1000000000000000055,\n  "q": 12345678901234567890.5\n}',
     '{   "p": 0.1000000000000000055,   "q": 12345678901234567890.5 }'),
    ('[1e400,\r\n -0, 1E+2, 2.50,\n"a\\nb"]', '[1e400,   -0, 1E+2, 2.50, "a\\nb"]'),
    ('{"big": 123456789012345678901234567890}', '{"big": 123456789012345678901234567890}'),
]  # fmt: skip


def test_a_rendered_document_keeps_its_numbers_as_written():
    col = tuple(text for text, _ in DOCUMENTS)
    texts, quoted, _ = column_renderer(DOC, frozenset(), native=False)(col)
    assert not quoted
    assert list(texts) == [want for _, want in DOCUMENTS]


def test_a_converted_document_keeps_its_numbers_as_written():
    convert = compile_row([(0, "doc", DOC)], frozenset(), set())
    for text, want in DOCUMENTS:
        out = io.BytesIO()
        MessageWriter(out).write_record("s", convert([text]))
        assert (
            out.getvalue().decode()
            == f'{{"type":"RECORD","stream":"s","record":{{"doc":{want}}}}}\n'
        )


def test_a_document_as_a_python_value_is_exact():
    """The replication key's own value (compared in the tap) is read exactly too."""
    convert = compile_row([(0, "doc", DOC)], frozenset(), {"doc"})
    assert convert([DOCUMENTS[1][0]])["doc"] == {
        "p": Decimal("0.1000000000000000055"),
        "q": Decimal("12345678901234567890.5"),
    }


def write(path: Path, docs: list[str]) -> dict:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "doc"])
        w.writerows([i, d] for i, d in enumerate(docs, 1))
    return {
        "streams": [
            {
                "name": "t",
                "path": str(path),
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "doc": DOC}},
            }
        ]
    }


def sync(config: dict) -> list:
    catalog = Catalog(select_all(cli.tap.discover(SETTINGS.of(config))))
    out = io.BytesIO()
    cli.tap.sync(SETTINGS.of(config), catalog, {}, MessageWriter(out))
    out.seek(0)
    return [m.record["doc"] for _, m in read_messages(out) if type(m).__name__ == "RecordMessage"]


def test_a_sync_sends_each_document_exactly(tmp_path):
    docs = [text for text, _ in DOCUMENTS] * 700  # several chunks
    got = sync(write(tmp_path / "t.csv", docs))
    assert got == [loads(text) for text in docs]
    assert got[1]["p"] == Decimal("0.1000000000000000055")
    assert got[1]["q"] == Decimal("12345678901234567890.5")


@pytest.mark.parametrize("bad", ["{nope", '{"a": NaN}', '{"a": "raw\ncontrol"}', "[1,]"])
def test_a_bad_document_is_one_line(tmp_path, bad):
    with pytest.raises(SyncError) as err:
        sync(write(tmp_path / "t.csv", ['{"ok": 1}', bad]))
    # the line the field starts on, as an editor shows it (it said the row's last line)
    assert str(err.value).startswith(f"{tmp_path / 't.csv'} line 3, stream 't', column 'doc': ")
