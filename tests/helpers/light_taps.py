"""A small tap on tapwell's light tap API, run as a command like a user's tap:
`python -m helpers.light_taps --config c.json ...`. Its rows come from the JSON file the config's
`data` names (`{"stream": [rows]}`, read exactly), so a test can change them between runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tapwell.sdk.tap import Stream, SyncContext, Tap
from tapwell.singer.wire import loads


def _rows(name: str, ctx: SyncContext) -> Iterator[dict[str, Any]]:
    data = loads(Path(ctx.config["data"]).read_bytes())
    yield from data.get(name, [])


def _stream(name: str, props: dict[str, Any], **kw: Any) -> Stream:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, **props}}
    return Stream(name, schema, lambda ctx: _rows(name, ctx), key_properties=["id"], **kw)


tap = Tap(
    "tap-light",
    [
        _stream(
            "users",
            {"updated_at": {"type": "string", "format": "date-time"}},
            replication_key="updated_at",
            filter_start=True,
        ),
        _stream(
            "amounts", {"amount": {"type": "number"}}, replication_key="amount", filter_start=True
        ),
        _stream("counters", {"n": {"type": "integer"}}, replication_key="n", filter_start=True),
        _stream(
            "prices",
            {
                "price": {
                    "type": ["null", "number"],
                    "multipleOf": 0.01,
                    "maximum": 1000,
                    "exclusiveMaximum": True,
                    "minimum": -1000,
                    "exclusiveMinimum": True,
                }
            },
        ),
        _stream("snapshot", {"v": {"type": ["null", "string"]}}),
    ],
    config_schema={
        "type": "object",
        "properties": {"data": {"type": "string", "description": "JSON file of rows"}},
        "required": ["data"],
    },
)

if __name__ == "__main__":
    tap.main()
