"""A connector whose driver is not installed (tapwell installed without the connector's extra, as
`make demo` installs only duckdb's) says so in one line with the install command, exit 2 (a setup
problem, never retried), instead of a ModuleNotFoundError traceback with exit 1 (the runner retried
it). The module is made missing with `sys.modules[name] = None`, which makes its import fail with
ModuleNotFoundError as an uninstalled package does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_RUN = """
import sys
sys.modules[{module!r}] = None
sys.argv = [{name!r}, "--config", {config!r}]
from {package} import main
main()
"""


def _run(
    tmp_path: Path, name: str, package: str, module: str, config: dict
) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code = _RUN.format(module=module, name=name, config=str(path), package=package)
    schema = '{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}\n'
    return subprocess.run(
        [sys.executable, "-c", code], input=schema, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("name", "package", "module", "extra", "config"),
    [
        (
            "target-postgres",
            "tapwell.targets.postgres.cli",
            "psycopg",
            "postgres",
            {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"},
        ),
        (
            "target-duckdb",
            "tapwell.targets.duckdb.cli",
            "duckdb",
            "duckdb",
            {"path": "DIR/w.duckdb"},
        ),
    ],
)
def test_missing_driver_is_one_line_exit_2(tmp_path, name, package, module, extra, config):
    config = {
        k: (v.replace("DIR", str(tmp_path)) if isinstance(v, str) else v) for k, v in config.items()
    }
    done = _run(tmp_path, name, package, module, config)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(f"{name}: error:")]
    assert lines == [
        f"{name}: error: the Python module {module} is not installed: install "
        f"tapwell's '{extra}' extra (from a clone: .venv/bin/pip install --constraint "
        f"constraints.txt -e '.[{extra}]')"
    ]


def test_every_driver_extra_is_an_extra_of_the_distribution():
    import tomllib

    from tapwell.sdk.cli_util import DRIVER_EXTRAS

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(DRIVER_EXTRAS.values()) <= set(extras)
