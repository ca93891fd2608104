"""`python -m bench.tapcsv_ab --a DIR --b DIR --config C --catalog K [--batch B] [--pairs N]`:
whole tap-csv syncs of two worktrees (each its own .venv), interleaved A, B, A, B..., the order
swapped every pair, each process's CPU seconds (user + sys, from os.wait4) and its output hashed:
the RECORD lines (stdout, the FULL_TABLE version masked: it is the clock) and, with `--batch`
(a config with a csv batch_config and no target: the files stay in its spool), the csv files in
the order written. Prints each run, then the medians, the load average before and after, and
whether A's and B's outputs are byte for byte the same. CPU, not wall: the machine is shared."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

_VERSION = re.compile(rb'"version":\d+')


def _spool(batch: Path) -> Path:
    root = json.loads(batch.read_text())["batch_config"]["storage"]["root"]
    return Path(root.removeprefix("file://"))


def _run(tree: str, config: Path, catalog: Path, out: Path) -> tuple[float, float]:
    """One sync; (CPU s, wall s)."""
    argv = [f"{tree}/.venv/bin/tap-csv", "--config", str(config), "--catalog", str(catalog)]
    t = time.perf_counter()
    with out.open("wb") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{tree}: tap-csv exited {p.returncode}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - t


def _hash_records(out: Path) -> str:
    h = hashlib.sha256()
    with out.open("rb") as f:
        for line in f:
            h.update(_VERSION.sub(b'"version":0', line))
    return h.hexdigest()[:16]


def _hash_files(spool: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(spool.iterdir(), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        h.update(p.read_bytes())
        p.unlink()
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tapcsv_ab", description=__doc__)
    p.add_argument("--a", required=True, help="worktree A (the baseline)")
    p.add_argument("--b", required=True, help="worktree B")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--catalog", type=Path, required=True)
    p.add_argument("--batch", type=Path, help="a config with a csv batch_config: its files too")
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--out", type=Path, default=Path("/tmp/tapcsv_ab.out"))
    args = p.parse_args(argv)
    kinds = [("records", args.config)] + ([("csv", args.batch)] if args.batch else [])
    cpu: dict[tuple[str, str], list[float]] = {}
    hashes: dict[tuple[str, str], set[str]] = {}
    load = os.getloadavg()[0]
    for i in range(args.pairs):
        order = [("A", args.a), ("B", args.b)][:: 1 if i % 2 == 0 else -1]
        for kind, config in kinds:
            for name, tree in order:
                s, wall = _run(tree, config, args.catalog, args.out)
                digest = (
                    _hash_records(args.out) if kind == "records" else _hash_files(_spool(config))
                )
                cpu.setdefault((kind, name), []).append(s)
                hashes.setdefault((kind, name), set()).add(digest)
                print(
                    f"pair {i + 1} {kind:7} {name} cpu {s:.3f} wall {wall:.3f} sha {digest}",
                    flush=True,
                )
    print(f"load {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    for kind, _ in kinds:
        a, b = cpu[(kind, "A")], cpu[(kind, "B")]
        same = hashes[(kind, "A")] == hashes[(kind, "B")] and len(hashes[(kind, "A")]) == 1
        print(
            f"{kind:7} CPU median A {statistics.median(a):.3f} B {statistics.median(b):.3f} "
            f"(min {min(a):.3f} / {min(b):.3f}), {len(a)} pairs; output identical: {same}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
