"""The runner tests' throwaway project (tapwell.yml in tmp_path) whose integrations run real
processes: tap-csv, target-duckdb, target-jsonl, and the misbehaving scripts fake_tap.py /
killer_target.py / old_tap.py in tests/runner/. Kept here, not in a conftest, so test modules
import it as `helpers.runner_project` (pytest's conftest modules are not for importing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

RUNNER_DIR = Path(__file__).resolve().parent.parent / "runner"  # the scripts' folder
BIN = Path(sys.executable).parent
FAKE_TAP = [sys.executable, str(RUNNER_DIR / "fake_tap.py")]
KILLER_TARGET = [sys.executable, str(RUNNER_DIR / "killer_target.py")]


def picky_target_command(code: int) -> list[str]:
    """A target that loads nothing and, at the record with id 7, writes one error line naming
    the input line, the stream and the field, and exits with `code`."""
    script = (
        "import json, sys\n"
        "for n, line in enumerate(sys.stdin, 1):\n"
        "    m = json.loads(line)\n"
        "    if m['type'] == 'RECORD' and m['record']['id'] == 7:\n"
        "        sys.stderr.write(f'picky-target: error: input line {n}, stream items, field id: "
        "7 is refused\\n')\n"
        f"        sys.exit({code})\n"
    )
    return [sys.executable, "-c", script]


class Proj:
    """A project folder: write tapwell.yml, run `tapwell`, read the DuckDB it loaded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counter = root / "attempts.txt"

    def write(self, raw: dict[str, Any]) -> Proj:
        (self.root / "tapwell.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
        return self

    def load(self) -> Any:
        from tapwell.runner.project import load_project

        return load_project(self.root)

    def run(self, name: str, **kw: Any) -> Any:
        from tapwell.runner.run import run_integration

        project = self.load()
        return run_integration(project, project.integration(name), **kw)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "tapwell"), "--project", str(self.root), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            input=stdin.decode() if stdin else None,
            timeout=300,
        )

    def starts(self) -> list[int]:
        """The bookmark each fake-tap attempt started from."""
        return [
            int(line.split("=")[1])
            for line in self.counter.read_text().splitlines()
            if line.startswith("start=")
        ]

    def duckdb_rows(self, table: str = "items") -> list[tuple[Any, ...]]:
        import duckdb

        con = duckdb.connect(str(self.root / "out.duckdb"), read_only=True)
        try:
            return con.execute(f'SELECT id, value FROM main."{table}" ORDER BY id').fetchall()
        finally:
            con.close()


def fake_integration(
    proj: Proj,
    *,
    mode: str = "ok",
    rows: int = 300,
    fail_times: int = 0,
    fail_after: int = 100,
    target: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    tap_config = {
        "mode": mode,
        "rows": rows,
        "fail_times": fail_times,
        "fail_after": fail_after,
        "counter": str(proj.counter),
        "state_every": 25,
        **extra,
    }
    return {
        "tap": {"name": "fake-tap", "command": FAKE_TAP, "config": tap_config},
        "target": target or duckdb_target(proj),
        "retry": {"attempts": 4, "backoff_seconds": 0},
    }


def duckdb_target(proj: Proj, batch_rows: int = 40) -> dict[str, Any]:
    return {
        "name": "target-duckdb",
        "config": {
            "path": str(proj.root / "out.duckdb"),
            "default_target_schema": "main",
            "batch_size_rows": batch_rows,
        },
    }


def pg_dsn(db):
    return f"host={db['host']} port={db['port']} user={db['user']} dbname={db['dbname']}"


def wait_for(predicate, what, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def csv_shop_project(proj: Proj, select: list[str] | None = None) -> None:
    """Integration `shop`: tap-csv on two small CSV files (customers with an ssn, products)
    into target-jsonl (folder out/), with `select` when given."""
    data = proj.root / "data"
    data.mkdir(exist_ok=True)
    (data / "customers.csv").write_text("id,name,ssn\n1,Ann,078-05-1120\n2,Bob,219-09-9999\n")
    (data / "products.csv").write_text("id,name,price\n1,pen,1.50\n2,ink,2.25\n")
    shop: dict[str, Any] = {
        "tap": {
            "name": "tap-csv",
            "config": {
                "base_dir": "data",
                "streams": [
                    {"name": n, "path": f"{n}.csv", "key_properties": ["id"]}
                    for n in ("customers", "products")
                ],
            },
        },
        "target": {"name": "target-jsonl", "config": {"destination_path": "out"}},
    }
    if select is not None:
        shop["select"] = select
    proj.write({"integrations": {"shop": shop}})
