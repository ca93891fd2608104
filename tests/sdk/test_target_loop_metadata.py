"""add_metadata_columns: a loader's row encoder gets each record with its _sdc_* values (the
one encoding path: no batch falls back to dicts for them), checked as the tap sent it, and
`_sdc_batched_at` is the time its batch began, as singer-sdk writes it."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec, TargetLoop
from tapwell.singer.errors import ProtocolError
from tapwell.singer.record_check import CheckCode


class Encoding:
    """A Loader whose row encoder checks a record and keeps it (a copy) as its row."""

    def __init__(self) -> None:
        self.loads: list[list[Batch]] = []
        self.props: dict[str, Any] = {}

    def prepare(self, spec: StreamSpec) -> None:
        self.props = dict(spec.schema["properties"])

    def row_encoder(self, spec: StreamSpec, check: CheckCode) -> RowEncoder:
        checker = check.compile()

        def encode(record: dict[str, Any], line: int | None) -> Any:
            checker(record, line)
            return dict(record)

        return RowEncoder(encode)

    def load(self, batches: list[Batch], state: Any) -> None:
        self.loads.append([Batch(b.spec, list(b.records), encoder=b.encoder) for b in batches])

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        pass

    def close(self) -> None:
        pass


def _run(loader: Encoding, messages: list[dict[str, Any]], rows: int = 2) -> None:
    data = b"".join(orjson.dumps(m) + b"\n" for m in messages)
    config = {"add_metadata_columns": True, "batch_size_rows": rows}
    TargetLoop("t", loader, config, out=io.BytesIO()).run(io.BytesIO(data))


SCHEMA = {
    "type": "SCHEMA",
    "stream": "s",
    "schema": {"properties": {"id": {"type": "integer"}}},
    "key_properties": ["id"],
}


def test_metadata_columns_reach_the_row_encoder() -> None:
    loader = Encoding()
    at = "2024-05-06T07:08:09.123456Z"
    recs = [
        {"type": "RECORD", "stream": "s", "record": {"id": i}, "version": 3, "time_extracted": at}
        for i in range(5)
    ]
    _run(loader, [SCHEMA, *recs])
    assert "_sdc_batched_at" in loader.props and "_sdc_table_version" in loader.props
    batches = [b for load in loader.loads for b in load]
    assert all(b.encoder is not None for b in batches)  # encoded as read, never dicts
    rows = [r for b in batches for r in b.records]
    assert [r["id"] for r in rows] == [0, 1, 2, 3, 4]
    assert {r["_sdc_extracted_at"] for r in rows} == {at}
    assert {r["_sdc_table_version"] for r in rows} == {3}
    assert all(r["_sdc_deleted_at"] is None and r["_sdc_received_at"] for r in rows)
    stamps = [{r["_sdc_batched_at"] for r in b.records} for b in batches]
    assert [len(s) for s in stamps] == [1, 1, 1]  # one time per batch, a later one each batch
    assert sorted(s.pop() for s in stamps) == [
        r["_sdc_batched_at"]
        for r in (batches[0].records[0], batches[1].records[0], batches[2].records[0])
    ]


def test_the_tap_fields_are_still_checked_with_metadata_on() -> None:
    bad = {"type": "RECORD", "stream": "s", "record": {"id": "x"}}
    with pytest.raises(ProtocolError, match="id"):
        _run(Encoding(), [SCHEMA, bad])
