"""The test tiers as a developer uses them: `make test-fast` (`-m "not services and not slow"`)
selects no test that needs a server, the fixtures refuse a test that reaches one unmarked, and no
test module imports another test module or a conftest (shared code is in tests/helpers)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FAST = "not services and not slow"


def _collect(marker: str, *paths: str, cwd: Path = TESTS.parent) -> list[str]:
    """The test ids `pytest -m MARKER --collect-only` selects, as `make test-fast` would."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"]
        + ["-m", marker, *paths],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_fast_tier_leaves_out_every_test_that_uses_a_server_fixture() -> None:
    fast = _collect(FAST, "tests/runner/test_state_and_locks.py")
    name = "tests/runner/test_state_and_locks.py::"
    # pg_db asked for by name, and through request.getfixturevalue for one case only
    assert name + "test_postgres_backend_keeps_state_history_and_runs" not in fast
    assert name + "test_second_concurrent_run_is_refused[postgres]" not in fast
    assert name + "test_second_concurrent_run_is_refused[file]" in fast
    assert name + "test_state_commands_protect_a_good_state" in fast
    rest = _collect("services or slow", "tests/runner/test_state_and_locks.py")
    assert sorted(fast + rest) == sorted(_collect("", "tests/runner/test_state_and_locks.py"))


def test_a_test_reaching_pg_db_unmarked_fails_with_one_clear_line(tmp_path: Path) -> None:
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sneaky.py").write_text(
        "def test_sneaky(request):\n    request.getfixturevalue('pg_db')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
        + ["-o", f"pythonpath={TESTS}", "-m", FAST, "test_sneaky.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "TAPWELL_TEST_PG_PORT": "1", "TAPWELL_REQUIRE_SERVICES": "0"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "uses pg_db without the services marker" in result.stdout, result.stdout


def _local_modules() -> set[str]:
    """Top-level import names that resolve to test code outside tests/helpers (pytest puts each
    test folder on sys.path, so `from conftest import ...` or `import mysql_helpers` would work)."""
    files = [p for p in TESTS.rglob("*.py") if "helpers" not in p.relative_to(TESTS).parts]
    packages = {p.parent.name for p in files if p.name == "__init__.py"}
    return ({p.stem for p in files} | packages) - {"__init__"}


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    local = _local_modules()
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            for name in names:
                if name.startswith(".") or name.split(".")[0] in local:
                    found.append(f"{path.relative_to(TESTS)}:{node.lineno}: {name}")
    assert found == [], "import shared test code from tests/helpers instead:\n" + "\n".join(found)
