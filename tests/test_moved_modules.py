"""The module names of tapwell 0.1 (`tapwell.wire`, `tapwell.tap`, ...) keep importing until 0.3,
as the module itself under its new name, with a DeprecationWarning naming the new place: a
connector written against 0.1 in its own repo keeps working and is told what to change."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tapwell._moved import MOVED


def _import_old(old: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import importlib, warnings\n"
        "warnings.simplefilter('always')\n"
        f"old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({MOVED[old]!r})\n"
        "assert old is new, (old, new)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("old", ["tapwell.wire", "tapwell.tap", "tapwell.target", "tapwell.check"])
def test_an_old_name_is_the_new_module_with_a_warning_naming_it(old: str) -> None:
    result = _import_old(old)
    assert result.returncode == 0, result.stderr
    assert (
        f"DeprecationWarning: {old} moved to {MOVED[old]}; the old name goes in tapwell 0.3"
        in result.stderr
    )


def test_every_old_name_maps_to_a_module_that_exists() -> None:
    import importlib.util

    missing = [new for new in MOVED.values() if importlib.util.find_spec(new) is None]
    assert not missing, missing


def test_from_tapwell_tap_import_tap_works_as_in_0_1() -> None:
    code = "from tapwell.tap import Tap, Stream\nfrom tapwell.target_cli import target_command\n"
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "moved to tapwell.sdk.tap" in result.stderr
    ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_tapwell_schema_keeps_the_names_0_1_had_after_the_split() -> None:
    """tapwell.singer.schema was split by role (datetime_rule, record_check, ...): `tapwell.schema`
    still gives every public name it had, with the warning naming the new place."""
    code = (
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "from tapwell.schema import (compile_checker, CheckCode, parse_datetime, parse_date,\n"
        "    multiple_of, build_function, value_check, logical_type, property_types, DATETIME_RULE)\n"
        "from datetime import datetime\n"
        "assert parse_datetime('2024-01-31T12:00:00+00:00') == datetime.fromisoformat("
        "'2024-01-31T12:00:00+00:00')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "tapwell.schema moved to tapwell.singer.schema" in result.stderr
