"""`python -m bench.target_pg_csv_ab`: target-postgres's csv BATCH lane, several source trees on
the same file, interleaved (A B A B ...), each round a first load (a fresh database: the file
COPYed straight into the new table) and then a merge load of the same file (every key already
there: staged and merged).

    git -C /work/main worktree add /tmp/before main      # or: git archive REV ... | tar -x
    .venv/bin/python -m bench.target_pg_csv_ab --tree main=/tmp/before --tree new=. \\
        --rows 1000000 --rounds 3 --variant steps

The file is one csv BATCH file in tapwell's dialect (tapwell.sdk.tap_batch) of the bench table's
nine columns plus a rate: id, customer_id, status, amount, rate, note (NULL every tenth row,
escapes and an emoji every thousandth), created_at, updated_at (microseconds), is_paid, payload
(a JSON document). `--variant steps` declares amount `x-scale` 2 and rate `multipleOf` 0.0001
(held to their scale: looked through before COPY); `plain` declares both as numbers without a
scale (nothing to look at). `--quote all` quotes every value as tap_batch does; `text` (the
default) leaves numbers bare as tap-mysql's server-rendered lines do.

Each tree runs in its own virtualenv's python (DIR/.venv, as `make install` makes it) when it has
one. Reported per tree and load: median and range of wall s, the target's CPU s (os.wait4) and the
server's CPU s (the PostgreSQL processes' user + sys from /proc, with the postmaster's reaped
children: the whole cluster, so other work on it counts too), checked on count and exact sums.
Then the cost of each tree's look itself (targets/postgres/steps.py, with the variant's schema) in
CPU s per 100 MB of the file.
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
from typing import Any

from bench.target_pg_ab import PG, psql, shim

TICK = os.sysconf("SC_CLK_TCK")


def write_file(path: Path, rows: int, quote_all: bool) -> None:
    """The csv BATCH file: a header, then `rows` rows."""

    def q(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    n = q if quote_all else str
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,customer_id,status,amount,rate,note,created_at,updated_at,is_paid,payload\n")
        for i in range(1, rows + 1):
            s = (i * 7) % 86400
            clock = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
            day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
            if i % 10 == 0:
                note = ""
            elif i % 1000 == 1:
                note = q(f'odd\ttext\nwith "q" \\ 😀, {i}')
            else:
                note = q(f"note number {i} for the customer, about sixty characters long.")
            payload = q(json.dumps({"n": i, "tags": ["a", "b"], "price": i % 1000 / 8}))
            f.write(
                f"{n(str(i))},{n(str(i % 5000))},{q('paid' if i % 3 else 'open')},"
                f"{n(f'{i % 100000}.{i % 100:02d}')},{n(f'0.{i % 10000:04d}')},{note},"
                f"{n(f'{day} {clock}')},{n(f'{day} {clock}.{i % 1000000:06d}+00:00')},"
                f"{n('true' if i % 2 else 'false')},{payload}\n"
            )


def messages(path: Path, variant: str) -> bytes:
    steps = variant == "steps"
    amount = {"type": ["null", "number"]}
    rate = {"type": ["null", "number"]}
    if steps:
        amount = {**amount, "x-precision": 12, "x-scale": 2}
        rate = {**rate, "multipleOf": 0.0001, "maximum": 1}
    props = {
        "id": {"type": "integer"},
        "customer_id": {"type": ["null", "integer"]},
        "status": {"type": ["null", "string"]},
        "amount": amount,
        "rate": rate,
        "note": {"type": ["null", "string"]},
        "created_at": {"type": ["null", "string"], "format": "date-time"},
        "updated_at": {"type": ["null", "string"], "format": "date-time"},
        "is_paid": {"type": ["null", "boolean"]},
        "payload": {"type": ["null", "object"]},
    }
    lines = [
        {
            "type": "SCHEMA",
            "stream": "orders",
            "schema": {"type": "object", "properties": props},
            "key_properties": ["id"],
        },
        {
            "type": "BATCH",
            "stream": "orders",
            "encoding": {"format": "csv", "compression": "none"},
            "manifest": [path.as_uri()],
        },
        {"type": "STATE", "value": {"bookmarks": {"orders": {"done": True}}}},
    ]
    return b"".join(json.dumps(m).encode() + b"\n" for m in lines)


def server_cpu() -> float:
    """CPU s of every PostgreSQL process, with what the postmaster reaped from its children."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
        if not name.startswith((b"postgres", b"postmaster")):
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        # utime, stime, and cutime, cstime: the exited backends the postmaster reaped
        total += sum(int(v) for v in fields[11:15])
    return total / TICK


def python_of(tree: Path) -> str:
    """The tree's own virtualenv's python (`make install` makes it), else this one."""
    own = tree / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def run_once(
    root: Path, stdin_path: Path, db: str, work: Path, python: str = sys.executable
) -> dict[str, float]:
    config = work / f"{db}.json"
    config.write_text(
        json.dumps(
            {**PG, "dbname": db, "default_target_schema": "public", "batch_keep_files": True}
        )
    )
    code = "import sys; from tapwell.targets.postgres.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(root)}
    with stdin_path.open("rb") as stdin, (work / f"{db}.log").open("ab") as log:
        server = server_cpu()
        start = time.monotonic()
        proc = subprocess.Popen(
            [python, "-c", code, "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        server = server_cpu() - server
    if status != 0:
        raise SystemExit(f"{root}: target-postgres exited {status}; see {work / (db + '.log')}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "server": server}


def scan_cost(trees: dict[str, Path], pythons: dict[str, str], data: Path, variant: str) -> str:
    """CPU s per 100 MB of each tree's look (targets/postgres/steps.py) over the file with the
    variant's schema, in a child importing that tree: StepScan (the step columns) before the
    number text checks, NumberScan (every number column) since."""
    props = json.loads(messages(data, variant).split(b"\n", 1)[0])["schema"]["properties"]
    cols = list(props)
    return "; ".join(
        _scan_cost(name, root, pythons[name], data, props, cols) for name, root in trees.items()
    )


def _scan_cost(
    name: str, root: Path, python: str, data: Path, props: dict[str, Any], cols: list[str]
) -> str:
    if not (root / "tapwell" / "targets" / "postgres" / "steps.py").exists():
        return f"{name}: no targets/postgres/steps.py"
    code = f"""
import time
from tapwell.sdk.csv_fractions import rows_in_chunks
try:
    from tapwell.targets.postgres.steps import NumberScan as Scan, checks_of as of
except ImportError:
    from tapwell.targets.postgres.steps import StepScan as Scan, steps_of as of
found = of({props!r}, {{}}, {cols!r})
if not found:
    print("nothing to look at")
    raise SystemExit
scan = Scan(found)
size = 0
start = time.process_time()
with open({str(data)!r}, "rb") as f:
    for n, piece in enumerate(rows_in_chunks(f, 1 << 20)):
        assert scan.first_off(piece, piece.index(b"\\n") + 1 if n == 0 else 0) is None
        size += len(piece)
cpu = time.process_time() - start
print(f"{{cpu:.3f}} CPU s for {{size / 1e6:.0f}} MB: {{cpu * 1e8 / size:.3f}} s per 100 MB, "
      f"{{scan.closer}} rows read closer")
"""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=True)
    return f"{name}: {done.stdout.strip()}"


def check(db: str) -> str:
    return psql("SELECT count(*), sum(amount), sum(rate), count(note) FROM public.orders", db)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.target_pg_csv_ab", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--variant", choices=("steps", "plain"), default="steps")
    p.add_argument("--quote", choices=("text", "all"), default="text")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", action="append", default=[], metavar="NAME=DIR", required=True)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="target-pg-csv-ab-") as tmp:
        work = Path(tmp)
        data = work / "orders.csv"
        write_file(data, args.rows, args.quote == "all")
        stdin_path = work / "input.jsonl"
        stdin_path.write_bytes(messages(data, args.variant))
        trees = {}
        pythons = {}
        for spec in args.tree:
            name, _, folder = spec.partition("=")
            trees[name] = shim(name, Path(folder), work / "shims")
            pythons[name] = python_of(Path(folder))
        load_before = os.getloadavg()
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            n: {"first": [], "merge": []} for n in trees
        }
        answers: dict[str, set[str]] = {n: set() for n in trees}
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                db = f"bench_csv_ab_{os.getpid()}_{name}"
                psql(f'DROP DATABASE IF EXISTS "{db}"')
                psql(f'CREATE DATABASE "{db}"')
                for load in ("first", "merge"):
                    fig = run_once(trees[name], stdin_path, db, work, pythons[name])
                    fig["load1"] = os.getloadavg()[0]
                    runs[name][load].append(fig)
                    answers[name].add(check(db))
                    print(f"round {r + 1} {name} {load}: {fig}", file=sys.stderr, flush=True)
                psql(f'DROP DATABASE IF EXISTS "{db}"')
        load_after = os.getloadavg()
        scanned = scan_cost(trees, pythons, data, args.variant)
        size = data.stat().st_size
    print(
        f"{args.variant} ({args.quote} quoted) {args.rows:,} rows, {size / 1e6:.0f} MB, "
        f"{args.rounds} rounds; load average before {load_before[0]:.1f}/{load_before[1]:.1f}, "
        f"after {load_after[0]:.1f}/{load_after[1]:.1f}"
    )
    print("| tree | load | wall s median (range) | target CPU s | server CPU s | count, sums |")
    print("|---|---|---|---|---|---|")
    for name, by_load in runs.items():
        for load, figs in by_load.items():

            def span(key: str, figs: list[dict[str, float]] = figs) -> str:
                vals = [f[key] for f in figs]
                return f"{statistics.median(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})"

            print(
                f"| {name} | {load} | {span('wall')} | {span('cpu')} | {span('server')} | "
                f"{' / '.join(sorted(answers[name]))} |"
            )
    print(f"the look over the same file: {scanned}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "load": [load_before, load_after]}))
    expected = {a for n in answers for a in answers[n]}
    if len(expected) != 1:
        print(f"WRONG: the trees loaded different data: {answers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
