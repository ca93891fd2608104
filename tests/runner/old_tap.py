"""An old singer-io style tap for the runner's tests: argparse that knows --properties but not
--catalog (so `--catalog` ends in argparse's usage error, exit 2). Each `--help` is counted in
the file named by the environment variable OLD_TAP_HELP_COUNTER, to see the runner cache it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


def main() -> None:
    if "--help" in sys.argv and os.environ.get("OLD_TAP_HELP_COUNTER"):
        with open(os.environ["OLD_TAP_HELP_COUNTER"], "a") as f:
            f.write("help\n")
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-s", "--state")
    parser.add_argument("-p", "--properties", help="Property selections")
    parser.add_argument("-d", "--discover", action="store_true")
    args = parser.parse_args()
    config = json.loads(Path(args.config).read_text())
    if args.discover:
        meta = [{"breadcrumb": [], "metadata": {"selected-by-default": True}}]
        stream = {"tap_stream_id": "ids", "stream": "ids", "schema": SCHEMA, "metadata": meta}
        print(json.dumps({"streams": [stream]}))
        return
    catalog = json.loads(Path(args.properties).read_text())
    selected = [s["stream"] for s in catalog["streams"]]
    for name in selected:
        print(
            json.dumps(
                {"type": "SCHEMA", "stream": name, "schema": SCHEMA, "key_properties": ["id"]}
            )
        )
        for i in range(1, int(config["rows"]) + 1):
            print(json.dumps({"type": "RECORD", "stream": name, "record": {"id": i}}))
    print(json.dumps({"type": "STATE", "value": {"done": selected}}))


if __name__ == "__main__":
    main()
