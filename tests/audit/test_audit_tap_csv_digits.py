"""tap-csv reads a number only from ASCII digits (audit, 2026-12-06, issue 21). Python's int() and
Decimal() also read '1_000' as 1000 and Arabic-Indic or full-width digits ('١٢٣', '４５') as 123
and 45: before, a code column of '1_2' and '3_4' was inferred an integer and loaded as 12 and 34,
and a column declared integer or number took such texts, on the RECORD lines and the csv lane."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tapwell.taps.csv.lines import BadRow, column_renderer
from tapwell.taps.csv.types import compile_row, infer_property

BIN = Path(sys.executable).parent
ODD = ["1_2", "1_0.5", "١٢٣", "４５", "\xa07", "1.\u0665"]  # the last: '1.' and Arabic-Indic 5


def tap(tmp_path: Path, text: str, stream: dict[str, Any], lane: bool) -> tuple[int, str, str]:
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    config: dict[str, Any] = {
        "base_dir": str(tmp_path),
        "streams": [{"name": "s", "path": "a.csv", **stream}],
    }
    if lane:
        (tmp_path / "spool").mkdir(exist_ok=True)
        root = f"file://{tmp_path / 'spool'}"
        config["batch_config"] = {"encoding": {"format": "csv"}, "storage": {"root": root}}
    (tmp_path / "tap.json").write_text(json.dumps(config))
    proc = subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(tmp_path / "tap.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("text", ODD)
def test_such_a_sample_is_inferred_a_string(text: str) -> None:
    assert infer_property([text, "7"]) == {"type": ["null", "string"]}


@pytest.mark.parametrize("kind", ["integer", "number"])
@pytest.mark.parametrize("text", ODD)
def test_a_column_of_that_type_refuses_it_on_both_paths(kind: str, text: str) -> None:
    prop = {"type": ["null", kind]}
    with pytest.raises(ValueError, match="is not an? (integer|number)"):
        compile_row([(0, "n", prop)], frozenset(), set())([text])
    with pytest.raises(BadRow):
        column_renderer(prop, frozenset({""}), native=False)(("7", text))


@pytest.mark.parametrize("lane", [False, True], ids=["records", "csv-lane"])
def test_a_code_column_keeps_its_text(tmp_path: Path, lane: bool) -> None:
    rc, out, err = tap(tmp_path, "id,code\n1,1_2\n2,3_4\n3,١٢٣\n", {}, lane)
    assert rc == 0, err
    schema = next(json.loads(line) for line in out.splitlines() if '"SCHEMA"' in line)
    assert schema["schema"]["properties"]["code"] == {"type": ["null", "string"]}
    if not lane:
        assert '"code":"1_2"' in out and '"code":"3_4"' in out and '"code":"١٢٣"' in out


@pytest.mark.parametrize("lane", [False, True], ids=["records", "csv-lane"])
def test_a_declared_integer_refuses_it_in_one_line(tmp_path: Path, lane: bool) -> None:
    stream = {"column_types": {"n": {"type": ["null", "integer"]}}}
    rc, out, err = tap(tmp_path, "id,n\n1,5\n2,1_000\n", stream, lane)
    assert rc == 65, err
    assert "a.csv line 3, stream 's', column 'n': '1_000' is not an integer: fix the file" in err
    assert '"RECORD"' not in out and '"BATCH"' not in out


def test_signs_blanks_and_plain_digits_still_read() -> None:
    columns = [(0, "i", {"type": ["integer"]}), (1, "d", {"type": ["number"]})]
    convert = compile_row(columns, frozenset(), {"i", "d"})  # Python values, not wire fragments
    assert convert([" 7", "+1.50"]) == {"i": 7, "d": Decimal("1.50")}
    assert convert(["-0", " -2.5 "]) == {"i": 0, "d": Decimal("-2.5")}
    texts, _, _ = column_renderer({"type": ["integer"]}, frozenset({""}), False)((" 7", "+5", ""))
    assert list(texts) == ["7", "5", "null"]
