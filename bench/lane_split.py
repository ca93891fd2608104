"""`python -m bench.lane_split --rows N --pairs P [--bin DIR]`: what a tap-csv whose work is split
over two processes would give the csv lane, measured before building it. The CSV file is cut at
its middle record into two files (each with the header); two tap-csv processes run at once, one
per half (the lane's `batch_config`: 100,000-row files, durable false; the second half's tap with
no pending bound, since its files wait until the first half's are announced), and this process
relays their messages to one target-duckdb in the order one tap would send them: the first
half's as they come, then the second half's (buffered meanwhile), the second half's version
rewritten to the first's and the first half's ACTIVATE_VERSION dropped, so the load is the one
tap's. Interleaved with the lane as it is (bench.lane_pipe_ab.run: one tap-csv | target-duckdb),
each load checked against the first row by row. Figures per run: wall, the CPU s of the taps
and of the target (os.wait4), and the target's tail after the last tap's exit.

An upper bound: the cut, the second process's start and the hand-over of its output are not
paid here, and on a loaded machine three processes take a larger share of the cores than two
(the scheduler is fair per thread), which flatters the split: read its wall on a quiet machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bench import embedded_data as data
from bench.lane_pipe_ab import BIN, HERE, configs, digest
from bench.lane_pipe_ab import run as run_lane


def halves(rows: int, d: Path) -> tuple[Path, Path]:
    """The CSV file cut at record rows // 2 (records may hold line breaks: cut where
    csv.reader has read that many), each half with the header."""
    src = data.csv_file(rows)
    consumed = [0]

    def lines(f: IO[str]) -> Iterator[str]:
        for line in f:
            consumed[0] += len(line.encode("utf-8"))
            yield line

    with src.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(lines(f), strict=True)
        next(reader)
        header_end = consumed[0]
        for _ in range(rows // 2):
            next(reader)
        cut = consumed[0]
    a, b = d / "a.csv", d / "b.csv"
    with src.open("rb") as f, a.open("wb") as fa, b.open("wb") as fb:
        fb.write(f.read(header_end))  # copied in pieces: this process's size would be the
        f.seek(0)  # children's peak RSS too (forked before their exec)
        shutil.copyfileobj(_Limited(f, cut), fa)  # type: ignore[misc]
        shutil.copyfileobj(f, fb)
    return a, b


class _Limited:
    """The first n bytes of f, read in pieces (f left at byte n)."""

    def __init__(self, f: IO[bytes], n: int) -> None:
        self.f, self.left = f, n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data


def _tap_config(tap: Path, path: Path, prefix: str, pending: int, out: Path) -> Path:
    cfg = json.loads(tap.read_text())
    cfg["streams"][0]["path"] = str(path)
    cfg["batch_config"]["storage"]["prefix"] = prefix
    cfg["batch_config"]["max_pending_files"] = pending
    out.write_text(json.dumps(cfg))
    return out


def run_split(rows: int, d: Path, bin_dir: str) -> dict[str, float]:
    """One split run: two taps, one target, the relay in between."""
    tap_cfg, catalog, target_cfg = configs(rows, d, bin_dir, {})
    a_csv, b_csv = halves(rows, d)
    cfg_a = _tap_config(tap_cfg, a_csv, "a-", 2, d / "tap-a.json")
    cfg_b = _tap_config(tap_cfg, b_csv, "b-", 0, d / "tap-b.json")
    start = time.perf_counter()
    errs = [(d / f"{n}.err").open("wb") for n in ("tap-a", "tap-b", "target")]
    taps = [
        subprocess.Popen(
            [f"{bin_dir}/tap-csv", "--config", str(c), "--catalog", str(catalog)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
        for c, err in ((cfg_a, errs[0]), (cfg_b, errs[1]))
    ]
    with (d / "state.jsonl").open("wb") as out:
        target = subprocess.Popen(
            [f"{bin_dir}/target-duckdb", "--config", str(target_cfg)],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=errs[2],
        )
    assert target.stdin is not None
    buffered: list[bytes] = []
    b_done = threading.Event()

    def read_b() -> None:
        assert taps[1].stdout is not None
        for line in taps[1].stdout:
            buffered.append(line)
        b_done.set()

    reader = threading.Thread(target=read_b)
    reader.start()
    version = None
    assert taps[0].stdout is not None
    for line in taps[0].stdout:
        msg = json.loads(line)
        if msg.get("type") == "ACTIVATE_VERSION":
            continue
        version = msg.get("version", version)
        target.stdin.write(line)
        target.stdin.flush()
    sent = 0
    while True:  # the second half's messages, as one tap would have sent them next
        done = b_done.is_set()
        while sent < len(buffered):
            msg = json.loads(buffered[sent])
            if "version" in msg and version is not None:
                msg["version"] = version
            target.stdin.write(json.dumps(msg).encode() + b"\n")
            target.stdin.flush()
            sent += 1
        if done:
            break
        time.sleep(0.005)
    target.stdin.close()
    reader.join()
    usage = []
    for p in taps:
        _, status, u = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"a tap failed: see {d}/tap-*.err")
        usage.append(u)
    taps_end = time.perf_counter()
    _, status, tu = os.wait4(target.pid, 0)
    end = time.perf_counter()
    for f in errs:
        f.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"target-duckdb failed: {(d / 'target.err').read_text()[-500:]}")
    return {
        "tap": sum(u.ru_utime + u.ru_stime for u in usage),
        "target": tu.ru_utime + tu.ru_stime,
        "wall": end - start,
        "tail": end - taps_end,
        "rss": tu.ru_maxrss / 1024,
    }


def _median(fs: list[dict[str, float]], key: str) -> str:
    values = [f[key] for f in fs]
    return f"{statistics.median(values):.3f} (min {min(values):.3f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lane_split", description=__doc__)
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--bin", default=str(BIN), help="the build's bin folder")
    p.add_argument("--work-dir", type=Path, default=HERE / "data" / "lane_split")
    args = p.parse_args(argv)
    figures: dict[str, list[dict[str, float]]] = {"one": [], "split": []}
    before, first = os.getloadavg()[0], ""
    for i in range(args.pairs):
        for name in ("one", "split") if i % 2 == 0 else ("split", "one"):
            d = args.work_dir / name
            shutil.rmtree(d, ignore_errors=True)
            if name == "one":
                f: dict[str, Any] = run_lane(args.rows, d, args.bin, {})
            else:
                f = run_split(args.rows, d, args.bin)
            figures[name].append(f)
            got = digest(d)
            first = first or got
            ok = "ok" if got == first else f"DIFFERS: {got} against {first}"
            print(
                f"pair {i + 1} {name:5}: wall {f['wall']:.2f} s, cpu taps {f['tap']:.3f} + "
                f"target {f['target']:.3f} s, tail {f['tail']:.2f} s, rss {f['rss']:.0f} MB, "
                f"load {os.getloadavg()[0]:.1f}, {ok}",
                flush=True,
            )
            if got != first:
                return 1
    for name, fs in figures.items():
        print(
            f"{name:5}: wall {_median(fs, 'wall')}, cpu taps {_median(fs, 'tap')}, target "
            f"{_median(fs, 'target')}, tail {_median(fs, 'tail')}"
        )
    print(f"load {before:.1f} before, {os.getloadavg()[0]:.1f} after; {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
