"""A deliberately broken Singer target writing <stream>.jsonl files into argv[1]:
FAKE_TARGET_BREAK names what it gets wrong (or 'none')."""

from __future__ import annotations

import json
import os
import sys

from tapwell.singer.wire import (  # exact numbers; the mistakes below are on purpose, this is not one
    dumps,
    loads,
)

BREAK = os.environ.get("FAKE_TARGET_BREAK", "none")


def main() -> None:
    folder = sys.argv[1]
    schemas: set[str] = set()
    pending = None
    failed_at = None  # state-ahead-of-data: fails only at the end, after confirming every state
    for n, line in enumerate(sys.stdin, 1):
        try:
            msg = loads(line)
            kind = msg["type"]
        except (ValueError, KeyError, TypeError):
            if BREAK == "accepted-malformed-input":
                continue
            if BREAK == "state-ahead-of-data":
                failed_at = failed_at or n
                continue
            if BREAK == "traceback":
                raise
            sys.stderr.write(f"fake-target: error: line {n} is not a Singer message\n")
            sys.exit(65)
        if kind == "SCHEMA":
            schemas.add(msg["stream"])
        elif kind == "RECORD":
            if (
                msg["stream"] not in schemas
                or "record" not in msg
                or not isinstance(msg["record"].get("id", 0), int)
            ):
                if BREAK == "state-ahead-of-data":
                    failed_at = failed_at or n
                    continue
                if BREAK != "accepted-malformed-input":
                    sys.stderr.write(f"fake-target: error: line {n}: bad RECORD\n")
                    sys.exit(65)
                continue
            record = msg["record"]
            if BREAK == "value-mismatch":
                record = {k: ("" if v is None else v) for k, v in record.items()}
            with open(os.path.join(folder, msg["stream"] + ".jsonl"), "ab") as f:
                f.write(dumps(record) + b"\n")
        elif kind == "STATE":
            pending = msg["value"]
            if BREAK == "state-unknown":
                pending = {"made": "up"}
            if BREAK in ("state-ahead-of-data", "state-unknown"):
                print(json.dumps(pending), flush=True)
    if failed_at is not None:
        sys.stderr.write(f"fake-target: error: line {failed_at} is not a Singer message\n")
        sys.exit(65)
    if pending is not None and BREAK not in ("final-state-missing", "state-ahead-of-data"):
        print(json.dumps(pending), flush=True)


if __name__ == "__main__":
    main()
