"""The checker on third-party connectors from PyPI, each in a venv of its own (cached under
.tapwell/check-venvs): a singer-sdk tap (tap-jsonl), a singer-sdk target (meltanolabs-target-csv)
and a singer-io target (target-jsonl). Each assertion pins what the checker finds, so a checker that
stops seeing a real difference fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.sdk.check import Verifier, check_tap, check_target, destination
from tapwell.sdk.check.suite import CASES

ROOT = Path(__file__).resolve().parents[3]
VENVS = ROOT / ".tapwell" / "check-venvs"

pytestmark = pytest.mark.slow
MALFORMED = {f"malformed: {c.name}" for c in CASES if not c.valid}


def venv_with(spec: str, exe: str) -> Path:
    """`exe` from a venv holding only `spec` (made once; pip's cache makes a rebuild quick)."""
    venv = VENVS / spec.replace("==", "-")
    path = venv / "bin" / exe
    if path.exists() and (venv / "installed.txt").exists():
        return path
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True
    )
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", spec],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"pip install {spec} failed: {proc.stderr[-2000:]}"
    (venv / "installed.txt").write_text(spec)
    return path


def test_singer_sdk_tap_jsonl(tmp_path: Path) -> None:
    exe = venv_with("tap-jsonl==0.3.1", "tap-jsonl")
    data = tmp_path / "things.jsonl"
    rows = [
        {"id": 1, "name": "tab\there", "amount": 1.5},
        {"id": 2, "name": "émoji 🎉", "amount": 2},
        {"id": 3, "name": "", "amount": None},
    ]
    data.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"path": str(data), "stream_name": "things", "primary_keys": ["id"]})
    )
    report = check_tap([str(exe), "--config", str(config)])
    assert report.ok, report.to_text()
    assert report.checks == ["about", "discover", "catalog shape", "sync", "resumed sync"]
    assert "sync: 3 record(s) in 1 stream(s)" in report.notes[0]


def test_singer_sdk_target_csv(tmp_path: Path) -> None:
    exe = venv_with("meltanolabs-target-csv==0.5.0", "target-csv")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"output_path": str(tmp_path / "out")}))
    report = check_target([str(exe), "--config", str(config)])
    # singer-sdk's target loads every valid case and confirms its states, refuses every malformed
    # input (non-zero exit, no state past the bad line), but with a traceback, not one error line.
    assert report.rules_broken() == {"traceback"}, report.to_text()
    assert {v.check for v in report.violations} == MALFORMED


def test_singer_io_target_jsonl_read_back(tmp_path: Path) -> None:
    exe = venv_with("target-jsonl==0.1.4", "target-jsonl")
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"destination_path": str(out)}))
    report = check_target(
        [str(exe), "--config", str(config)], verify=Verifier(destination(f"jsonl:{out}"))
    )
    # singer-io's target loads every valid case exactly, but refuses malformed input with a traceback.
    assert report.rules_broken() == {"traceback"}, report.to_text()
    assert {v.check for v in report.violations} == MALFORMED
