"""`python -m bench.target_pg_ab`: target-postgres alone, several source trees on the same RECORD
input, interleaved (A B A B ...), so the machine's load weighs on each tree alike.

    git archive d0c51d4 runner targets taps | tar -x -C /tmp/before
    .venv/bin/python -m bench.target_pg_ab --tree before=/tmp/before --tree new=. \\
        --rows 200000 --variant orders --rounds 3

A tree is a checkout's top folder (runner/, targets/, taps/); each run imports its own tapwell
through a folder of links (tapwell -> runner/tapwell, tapwell.targets -> targets, ...) put first
on sys.path, with this venv's packages. The input is written once: `orders` (the bench table's
nine columns as tap-mysql writes them, bench.loop.orders_lines) or `wide` (40 columns of every
type the target maps: bigint, numeric with and without scale, text with escapes and emoji,
timestamptz with microseconds, date, time, boolean, jsonb objects and arrays, NULLs). Each run
loads into a fresh database on 127.0.0.1:5432 (dropped after) and is checked on its row count
and exact sum of a decimal column. Reported per tree: the median and best CPU s (user + sys of
the target process, os.wait4), wall s and peak RSS, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.loop import orders_lines

__all__ = ["orders_lines", "plain_lines", "wide_lines"]

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
WIDE_COLUMNS = 40


def wide_lines(rows: int) -> bytes:
    """SCHEMA then `rows` RECORD lines of every type, then a STATE."""
    import orjson

    kinds: list[tuple[str, dict[str, object]]] = [
        ("int", {"type": ["null", "integer"]}),
        ("dec", {"type": ["null", "number"], "multipleOf": 0.01}),
        ("num", {"type": ["null", "number"]}),
        ("txt", {"type": ["null", "string"]}),
        ("ts", {"type": ["null", "string"], "format": "date-time"}),
        ("day", {"type": ["null", "string"], "format": "date"}),
        ("tod", {"type": ["null", "string"], "format": "time"}),
        ("flag", {"type": ["null", "boolean"]}),
        ("obj", {"type": ["null", "object"]}),
        ("arr", {"type": ["null", "array"]}),
    ]
    props: dict[str, object] = {"id": {"type": "integer"}}
    names = []
    for n in range(WIDE_COLUMNS):
        kind, schema = kinds[n % len(kinds)]
        name = f"{kind}_{n}"
        names.append((name, kind))
        props[name] = schema
    out = [
        orjson.dumps(
            {
                "type": "SCHEMA",
                "stream": "wide",
                "schema": {"type": "object", "properties": props},
                "key_properties": ["id"],
            }
        )
    ]
    for i in range(1, rows + 1):
        record: dict[str, object] = {"id": i}
        for n, (name, kind) in enumerate(names):
            if (i + n) % 11 == 0:
                record[name] = None
                continue
            s = (i * 7 + n) % 86400
            if kind == "int":
                record[name] = i * 1000 + n
            elif kind == "dec":
                record[name] = orjson.Fragment(f"{(i + n) % 100000}.{i % 100:02d}".encode())
            elif kind == "num":
                record[name] = orjson.Fragment(f"{i}.{n:03d}125e-2".encode())
            elif kind == "txt":
                record[name] = (
                    f'odd\ttext\nwith "q" \\ 😀 {i}' if i % 500 == 0 else f"value {i} of {name}"
                )
            elif kind == "ts":
                record[name] = (
                    f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{i % 1000000:06d}+00:00"
                )
            elif kind == "day":
                record[name] = f"20{10 + i % 20}-{1 + i % 12:02d}-{1 + n % 28:02d}"
            elif kind == "tod":
                record[name] = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{i % 1000:03d}"
            elif kind == "flag":
                record[name] = (i + n) % 2 == 0
            elif kind == "obj":
                record[name] = {"n": i, "tag": name, "deep": {"x": [1, 2, n]}}
            else:
                record[name] = [i, name, None, {"k": n}]
        out.append(orjson.dumps({"type": "RECORD", "stream": "wide", "record": record}))
    out.append(orjson.dumps({"type": "STATE", "value": {"bookmarks": {"wide": {"id": rows}}}}))
    return b"\n".join(out) + b"\n"


def plain_lines(rows: int) -> bytes:
    """`plain`: a singer-sdk tap's prices as it writes a database's numeric(10,2) (a plain
    `number`, no multipleOf: an unconstrained numeric column; `12.50`, one in ten ending in 0),
    a float ratio, an integer, a text and a date-time, in compact lines."""
    import orjson

    num = {"type": ["null", "number"]}
    props = {
        "id": {"type": "integer"},
        "amount": num,
        "ratio": num,
        "qty": {"type": ["null", "integer"]},
        "name": {"type": ["null", "string"]},
        "at": {"type": ["null", "string"], "format": "date-time"},
    }
    schema = {"type": "SCHEMA", "stream": "plain", "key_properties": ["id"]}
    out = [orjson.dumps({**schema, "schema": {"type": "object", "properties": props}})]
    for i in range(1, rows + 1):
        record = {
            "id": i,
            "amount": orjson.Fragment(f"{i % 10000}.{i % 100:02d}".encode()),
            "ratio": round(i / 7 + 0.1, 6),
            "qty": i % 50,
            "name": f"item {i}",
            "at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.{i % 1000000:06d}+00:00",
        }
        out.append(orjson.dumps({"type": "RECORD", "stream": "plain", "record": record}))
    out.append(orjson.dumps({"type": "STATE", "value": {"bookmarks": {"plain": {"id": rows}}}}))
    return b"\n".join(out) + b"\n"


def shim(name: str, tree: Path, into: Path) -> Path:
    """A folder holding a `tapwell` package made of links to the tree's folders."""
    root = into / name
    pkg = root / "tapwell"
    pkg.mkdir(parents=True)
    for entry in (tree / "runner" / "tapwell").iterdir():
        (pkg / entry.name).symlink_to(entry.resolve())
    for top in ("taps", "targets", "mappers"):
        if (tree / top).is_dir():
            (pkg / top).symlink_to((tree / top).resolve())
    # compiled beforehand, as an installed package is: no run pays for compiling its tree
    folders = [
        str(tree / d) for d in ("runner", "taps", "targets", "mappers") if (tree / d).is_dir()
    ]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)
    return root


def psql(sql: str, db: str = "postgres") -> str:
    done = subprocess.run(
        [
            "psql",
            "-h",
            PG["host"],
            "-p",
            str(PG["port"]),
            "-U",
            PG["user"],
            "-d",
            db,
            "-XAtqc",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def run_once(root: Path, data: Path, db: str, work: Path) -> dict[str, float]:
    psql(f'DROP DATABASE IF EXISTS "{db}"')
    psql(f'CREATE DATABASE "{db}"')
    config = work / f"{db}.json"
    config.write_text(json.dumps({**PG, "dbname": db, "default_target_schema": "public"}))
    code = "import sys; from tapwell.targets.postgres.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(root)}
    with data.open("rb") as stdin, (work / f"{db}.log").open("wb") as log:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
    if status != 0:
        raise SystemExit(f"{root}: target-postgres exited {status}; see {work / (db + '.log')}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def check(db: str, variant: str, rows: int) -> str:
    table, col = {"orders": ("orders", "amount"), "plain": ("plain", "amount")}.get(
        variant, ("wide", "dec_1")
    )
    got = psql(f'SELECT count(*), sum("{col}") FROM public."{table}"', db)
    psql(f'DROP DATABASE IF EXISTS "{db}"')
    return got


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.target_pg_ab", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--variant", choices=("orders", "wide", "plain"), default="orders")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", action="append", default=[], metavar="NAME=DIR", required=True)
    p.add_argument("--json", type=Path, help="also write the figures here")

    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="target-pg-ab-") as tmp:
        work = Path(tmp)
        data = work / "input.jsonl"
        # written by a child process, so this one stays small: a child's peak RSS as wait4
        # reports it starts from its parent's at fork
        make = f"{args.variant}_lines"
        code = (
            f"import sys, bench.target_pg_ab as m; sys.stdout.buffer.write(m.{make}({args.rows}))"
        )
        with data.open("wb") as out:
            subprocess.run([sys.executable, "-c", code], stdout=out, check=True)
        trees = {}
        for spec in args.tree:
            name, _, folder = spec.partition("=")
            trees[name] = shim(name, Path(folder), work / "shims")
        load_before = os.getloadavg()
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in trees}
        answers: dict[str, set[str]] = {n: set() for n in trees}
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                db = f"bench_ab_{os.getpid()}_{name}"
                fig = run_once(trees[name], data, db, work)
                fig["load1"] = os.getloadavg()[0]
                runs[name].append(fig)
                answers[name].add(check(db, args.variant, args.rows))
                print(f"round {r + 1} {name}: {fig}", file=sys.stderr, flush=True)
        load_after = os.getloadavg()
    print(
        f"{args.variant} {args.rows:,} rows, {args.rounds} rounds; load average before "
        f"{load_before[0]:.1f}/{load_before[1]:.1f}, after {load_after[0]:.1f}/{load_after[1]:.1f}"
    )
    print("| tree | CPU s median | CPU s best | wall s median | peak RSS MB | count, sum |")
    print("|---|---|---|---|---|---|")
    first = None
    for name, figs in runs.items():
        cpu = statistics.median(f["cpu"] for f in figs)
        first = first or cpu
        print(
            f"| {name} | {cpu:.2f} ({cpu / first:.2f}x) | {min(f['cpu'] for f in figs):.2f} | "
            f"{statistics.median(f['wall'] for f in figs):.2f} | "
            f"{max(f['rss_mb'] for f in figs):.0f} | {' / '.join(sorted(answers[name]))} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "load": [load_before, load_after]}))
    expected = {a for n in answers for a in answers[n]}
    if len(expected) != 1:
        print(f"WRONG: the trees loaded different data: {answers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
