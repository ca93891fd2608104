"""A singer-sdk tap (`tap`) and target (`target`) built with the SDK from PyPI, for the fast lane's
interoperability tests: the tap's stream supports BATCH (the SDK writes jsonl files, gzip or not,
when batch_config is given); the target writes every record it gets, from RECORD lines or BATCH
files, to a jsonl file (config `out`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from singer_sdk import Stream, Tap, Target
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink

ROWS = [
    {"id": 1, "name": "tab\there", "amount": "1.50", "at": "2024-01-31T10:00:00.123456+00:00"},
    {"id": 2, "name": 'émoji 🎉\nnewline "q"', "amount": "-0.01", "at": None},
    {"id": 3, "name": "", "amount": None, "at": "1999-12-31T23:59:59+00:00"},
    {"id": 4, "name": None, "amount": "12345678901234567890.123456789", "at": None},
]


class Things(Stream):
    name = "things"
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("amount", th.StringType),
        th.Property("at", th.DateTimeType),
    ).to_dict()

    def get_records(self, context: Any) -> Any:
        yield from ROWS


class SdkTap(Tap):
    name = "tap-sdk-things"
    config_jsonschema = th.PropertiesList(th.Property("x", th.StringType)).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [Things(self)]


class JsonlSink(BatchSink):
    """Records as the SDK hands them over: from RECORD lines, or read back from BATCH files
    (`process_batch_files` gives the whole file's records to process_batch)."""

    def process_batch(self, context: dict[str, Any]) -> None:
        with open(self.config["out"], "a", encoding="utf-8") as f:
            for record in context.get("records", []):
                line = {"stream": self.stream_name, "record": record}
                f.write(json.dumps(line, default=str) + "\n")


class SdkTarget(Target):
    name = "target-sdk-jsonl"
    config_jsonschema = th.PropertiesList(th.Property("out", th.StringType)).to_dict()
    default_sink_class = JsonlSink


if __name__ == "__main__":
    role = sys.argv.pop(1)
    (SdkTap if role == "tap" else SdkTarget).cli()
