"""`python -m bench.embedded_reader_passes [--rows N] [--rounds R]`: what each pass the reader
thread of target-duckdb makes over its input costs, on the embedded series' saved Singer stream
(bench/embedded_data.py), in this process, in CPU seconds (process_time: min and median of R
interleaved rounds, so load on the machine moves every pass alike).

The stream is cut as tapwell.sdk.target_input reads it (1 MB reads, each cut at its last
newline) and every pass runs on every block of RECORD lines:

- the read itself (`read + cut`: read1, the cut and the joins of what was left);
- `target_input._blocks`' newline count, and `RawLane.takes_block` (as the loop calls it, the
  16-digit and exponent look included) with its parts: the boundary count, the carriage-return
  look, `needs_exact` and needs_exact's own parts (translate, the 16-digit run, the exponent);
- `raw.lines_table` (the Arrow table of a batch's lines, as before_behind builds it) with its
  parts: Arrow's split at newlines, the trailing-comma RE2 look, the "version" look and
  `raw.alone` (escapes, then one count of each JSON document's key);
- alternatives measured and not taken (each gave no less CPU when this was written):
  `needs_exact` as one Arrow RE2 match over the block, and the lines cut by DuckDB instead of
  Arrow (`read_csv` of the batch written to /dev/shm, one VARCHAR column, one DuckDB thread).

A figure per pass, so the next attempt at the reader starts from where its time goes.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import embedded_data as data

BLOCK = 1 << 20  # as tapwell.sdk.target_input.BLOCK
BATCH_BLOCKS = 28  # about a 25,000-row batch of the embedded stream's lines, in 1 MB blocks


def blocks_of(path: Path) -> list[bytes]:
    """The stream's RECORD lines in blocks as target_input cuts them (1 MB reads, whole lines),
    each block's other lines (the SCHEMA, a STATE) left out."""
    out, rest = [], b""
    records = b'{"type":"RECORD"'
    with path.open("rb") as f:
        while chunk := f.read1(BLOCK):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            chunk, rest = chunk[:cut], chunk[cut:]
            if not chunk.startswith(records) or chunk.count(b"\n") != chunk.count(records):
                lines = chunk.splitlines(keepends=True)
                chunk = b"".join(line for line in lines if line.startswith(records))
            if chunk:
                out.append(chunk)
    return out


def passes(path: Path, blocks: list[bytes]) -> dict[str, Callable[[], object]]:
    """Name -> a function making that pass over every block (or batch of blocks)."""
    import pyarrow as pa
    from pyarrow._compute import MatchSubstringOptions, SplitPatternOptions, call_function
    from tapwell.sdk import target_lanes as lanes
    from tapwell.sdk.target import Batch, StreamSpec
    from tapwell.singer import wire
    from tapwell.targets.duckdb import ddl, raw, stage

    spec = StreamSpec(data.STREAM, data.SCHEMA, ["id"], lambda r, n: None)
    staged = [stage.staged_column(p, p, t) for p, t in ddl.columns_of(data.SCHEMA).items()]
    plan = raw.plan(spec, staged)
    assert plan is not None, "the bench's stream must take the SQL path"
    lane = lanes.RawLane(Batch(spec), data.STREAM, digits=True, blocks=True)
    end, prefix = lane.end(), lane.prefix
    counted = [(b, b.count(b"\n")) for b in blocks]
    assert all(lane.takes_block(b, n) for b, n in counted), "every block must be taken whole"
    batches = [counted[i : i + BATCH_BLOCKS] for i in range(0, len(counted), BATCH_BLOCKS)]
    digits = [b.translate(wire._DIGITS) for b in blocks]
    newline, trailing = SplitPatternOptions("\n"), MatchSubstringOptions(raw.TRAILING_COMMA)
    exact_re2 = MatchSubstringOptions(r"[0-9.]{16}|[0-9.][eE][-+]?[0-9.]{3}")  # needs_exact's
    keys = [c.key[1:] for c in plan.columns if c.key is not None]

    def one(b: bytes) -> Any:
        ends = pa.array([0, len(b)], pa.int64()).buffers()[1]
        return pa.Array.from_buffers(pa.large_binary(), 1, [None, ends, pa.py_buffer(b)])

    def read() -> None:
        list(data_blocks())

    def data_blocks() -> Any:
        rest = b""
        with path.open("rb") as f:
            while chunk := f.read1(BLOCK):
                if rest:
                    chunk, rest = rest + chunk, b""
                cut = chunk.rfind(b"\n") + 1
                if cut < len(chunk):
                    chunk, rest = chunk[:cut], chunk[cut:]
                yield chunk

    def each(f: Callable[[bytes], object], over: list[bytes] = blocks) -> Callable[[], None]:
        def run() -> None:
            for b in over:  # each result dropped at once, as the reader drops it
                f(b)

        return run

    duck: Any = None

    def read_csv() -> None:
        nonlocal duck
        import duckdb

        if duck is None:
            duck = duckdb.connect()
            duck.execute("SET threads = 1")
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None  # in memory, as the pipe's bytes
        with tempfile.NamedTemporaryFile(dir=shm, suffix=".jsonl") as f:
            for batch in batches:
                f.seek(0)
                f.truncate()
                for b, _ in batch:
                    f.write(b)
                f.flush()
                duck.execute(
                    "CREATE OR REPLACE TEMP TABLE lines AS SELECT * FROM read_csv(?, "
                    "columns = {'d': 'VARCHAR'}, delim = '\\x01', quote = '', escape = '', "
                    "header = false, auto_detect = false)",
                    [f.name],
                )

    exponent = re.compile(rb"9es?999")
    return {
        "read + cut": read,
        "newline count (_blocks)": each(lambda b: b.count(b"\n")),
        "takes_block": lambda: [lane.takes_block(b, n) for b, n in counted] and None,
        "  boundary count": each(lambda b: b.count(end + prefix)),
        "  carriage return": each(lambda b: b"\r" in b),
        "  needs_exact": each(wire.needs_exact),
        "    translate": each(lambda b: b.translate(wire._DIGITS)),
        "    16-digit run": each(lambda d: wire._RUN in d, digits),
        "    exponent": each(lambda d: b"9e" in d and exponent.search(d), digits),
        "lines_table": lambda: [raw.lines_table(batch, plan) for batch in batches] and None,
        "  Arrow split": each(lambda b: call_function("split_pattern", [one(b)], newline)),
        "  trailing comma": each(
            lambda b: call_function("match_substring_regex", [one(b)], trailing)
        ),
        '  "version"': each(lambda b: b'"version"' in b),
        "  alone: escapes": each(lanes.key_escapes),
        "  alone: key count": each(lambda b: [b.count(k) for k in keys]),
        "not taken: needs_exact by RE2": each(
            lambda b: call_function("match_substring_regex", [one(b)], exact_re2)
        ),
        "not taken: lines by read_csv": read_csv,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_reader_passes")
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    path = data.singer_file(args.rows)
    blocks = blocks_of(path)
    runs = passes(path, blocks)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.process_time()
            run()
            seconds[name].append(time.process_time() - start)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    size = sum(map(len, blocks))
    print(
        f"{args.rows:,} rows, {len(blocks)} blocks of RECORD lines, {size / 1e6:.1f} MB, load {load}"
    )
    print(f"{'CPU s min':>10} {'median':>7}  pass")
    for name, xs in seconds.items():
        print(f"{min(xs):10.3f} {statistics.median(xs):7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
