"""`python -m bench.loop`: the target loop's cost per row, with a loader that does nothing, on
orders-like RECORD lines (the bench table's nine columns, as tap-mysql writes them).

No database: this isolates tapwell.sdk.target_loop (sniffing, checking, buffering a RECORD) from
any destination. Several source trees can be measured in one interleaved run (A B A B ...), so a
change is compared with what it replaces on the same box in the same minute:

    git archive main runner | tar -x -C /tmp/base
    .venv/bin/python -m bench.loop --tree base=/tmp/base/runner --tree new=runner --rounds 7

Each round runs every tree in its own process (so each imports its own tapwell); a process
reads the input from memory once to warm up, then times --passes passes and keeps the best. Reported: the median and the
best CPU µs per row of each tree (process time, so a busy shared box adds less noise), over the rounds, for the plain loop (records buffered as dicts)
and with a row encoder (the loader's encoder is the compiled check itself).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": ["null", "integer"]},
        "status": {"type": ["null", "string"], "maxLength": 20},
        "amount": {"type": ["null", "number"], "multipleOf": 0.01},
        "note": {"type": ["null", "string"], "maxLength": 200},
        "created_at": {"type": ["null", "string"], "format": "date-time"},
        "updated_at": {"type": ["null", "string"], "format": "date-time"},
        "is_paid": {"type": ["null", "boolean"]},
        "payload": {"type": ["null", "object", "array", "string", "number", "boolean"]},
    },
}


def orders_lines(rows: int) -> bytes:
    """SCHEMA, then `rows` RECORD lines as tap-mysql writes the bench table, then a STATE."""
    import orjson

    out = [
        orjson.dumps(
            {"type": "SCHEMA", "stream": "orders", "schema": SCHEMA, "key_properties": ["id"]}
        )
    ]
    statuses = ["new", "paid", "shipped", "cancelled"]
    for i in range(1, rows + 1):
        note = None if i % 10 == 0 else f"order {i} for customer {i % 9973}, handle with care"
        if i % 1000 == 0:
            note = f'odd\tnote\nwith "quotes" \\ and 😀 {i}'
        second = i % 86400
        stamp = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        record = {
            "id": i,
            "customer_id": i % 9973,
            "status": statuses[i % 4],
            "amount": orjson.Fragment(f"{i % 100000}.{i % 100:02d}".encode()),
            "note": note,
            "created_at": stamp + "+00:00",
            "updated_at": stamp + ".123456+00:00",
            "is_paid": i % 3 == 0,
            "payload": {"items": i % 7, "tag": statuses[i % 4]},
        }
        out.append(orjson.dumps({"type": "RECORD", "stream": "orders", "record": record}))
    out.append(orjson.dumps({"type": "STATE", "value": {"bookmarks": {"orders": {"id": rows}}}}))
    return b"\n".join(out) + b"\n"


# What each measuring process runs, with the tree under test first on sys.path.
_CHILD = r"""
import io, json, sys, time
sys.path.insert(0, sys.argv[1])
import tapwell
from tapwell.sdk.target import RowEncoder, TargetLoop

class Nothing:
    def __init__(self, encoded):
        self.encoded = encoded
    def prepare(self, spec): pass
    def load(self, batches, state): pass
    def activate_version(self, spec, version): pass
    def close(self): pass
    def row_encoder(self, spec, code):
        if not self.encoded:
            return None
        check = code.compile()
        def encode(record, line):
            check(record, line)
            return record
        return RowEncoder(encode)

data = open(sys.argv[2], "rb").read()
rows = data.count(b'"type":"RECORD"')
out = {"tapwell": tapwell.__file__}
for mode in ("dicts", "rows"):
    best = float("inf")
    for attempt in range(1 + int(sys.argv[3])):  # the first warms up
        loop = TargetLoop("bench", Nothing(mode == "rows"), {"batch_size_rows": 100000}, out=io.BytesIO())
        start = time.process_time()  # CPU time: what waiting for a shared core adds is left out
        loop.run(io.BytesIO(data))
        took = time.process_time() - start
        best = min(best, took) if attempt else best
    out[mode] = best / rows * 1e6
print(json.dumps(out))
"""


def measure(tree: str, data: Path, passes: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, tree, str(data), str(passes)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.loop", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--passes", type=int, default=3, help="timed passes per process (best kept)")
    p.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a tree's runner/ folder (holding tapwell/); repeat to compare (default: this one)",
    )
    args = p.parse_args(argv)
    trees = [t.split("=", 1) for t in args.tree] or [["here", str(Path("runner").resolve())]]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "orders.singer"
        data.write_bytes(orders_lines(args.rows))
        got: dict[str, dict[str, list[float]]] = {n: {"dicts": [], "rows": []} for n, _ in trees}
        for r in range(args.rounds):
            for name, tree in trees:
                res = measure(str(Path(tree).resolve()), data, args.passes)
                for mode in ("dicts", "rows"):
                    got[name][mode].append(res[mode])
                print(
                    f"round {r + 1} {name:>8}: dicts {res['dicts']:.3f} µs/row, "
                    f"rows {res['rows']:.3f} µs/row  ({res['tapwell']})",
                    flush=True,
                )
    print(f"\n{args.rows:,} rows, {args.rounds} rounds interleaved; CPU µs per row, median (best)")
    for name, _ in trees:
        cells = [
            f"{mode} {statistics.median(v):.3f} ({min(v):.3f})" for mode, v in got[name].items()
        ]
        print(f"  {name:>8}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
