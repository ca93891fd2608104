"""`tapwell check tap` on our taps (they must conform) and on a fake tap that breaks one rule at a
time (the checker must name exactly that rule)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.sdk.check import check_tap

ROOT = Path(__file__).resolve().parents[3]
FAKE_TAP = [sys.executable, str(Path(__file__).parent / "fakes" / "fake_tap.py")]


@pytest.fixture
def tap_csv_config(tmp_path: Path) -> Path:
    """The demo's tap-csv config (tapwell.yml), pointing at the sample data."""
    import yaml

    demo = yaml.safe_load((ROOT / "tapwell.yml").read_text())["integrations"]["demo"]["tap"][
        "config"
    ]
    demo["base_dir"] = str(ROOT / demo["base_dir"])
    path = tmp_path / "tap-csv.json"
    path.write_text(json.dumps(demo))
    return path


def test_tap_csv_conforms_on_the_sample_data(bin_path: Path, tap_csv_config: Path) -> None:
    proc = subprocess.run(
        [
            str(bin_path / "tapwell"),
            "check",
            "tap",
            "--json",
            "--",
            str(bin_path / "tap-csv"),
            "--config",
            str(tap_csv_config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["ok"] and report["violations"] == []
    assert report["checks"] == ["about", "discover", "catalog shape", "sync", "resumed sync"]
    rows = sum(
        len(list(csv.reader(f.read_text(encoding="utf-8").splitlines(keepends=True)))) - 1
        for f in (ROOT / "sample" / "data").glob("*.csv")
        if f.stem in ("customers", "orders", "order_items")
    )
    assert f"sync: {rows} record(s) in 3 stream(s)" in report["notes"][0], report["notes"]


def test_readable_report_and_exit_code_on_violations(bin_path: Path) -> None:
    proc = subprocess.run(
        [str(bin_path / "tapwell"), "check", "tap", "--", *FAKE_TAP],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FAKE_TAP_BREAK": "record-invalid"},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL sync" in proc.stdout
    assert (
        "[record-invalid] line 4, stream 'users': field id: 'two' is not of type 'integer'"
        in proc.stdout
    )
    assert proc.stdout.rstrip().endswith("tap: 1 rule(s) broken")


def test_a_conforming_fake_tap_conforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TAP_BREAK", "none")
    report = check_tap(FAKE_TAP)
    assert report.ok, report.to_text()


@pytest.mark.parametrize(
    "rule",
    [
        "about-invalid",
        "discover-failed",
        "catalog-invalid",
        "metadata-invalid",
        "key-not-in-schema",
        "record-before-schema",
        "record-invalid",
        "key-missing",
        "invalid-json",
        "bookmark-backwards",
        "binlog-backwards",
        "state-invalid",
        "record-before-bookmark",
        "sync-failed",
        "activate-without-records",
    ],
)
def test_each_broken_rule_is_reported(rule: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TAP_BREAK", rule)
    report = check_tap(FAKE_TAP)
    expected = "bookmark-backwards" if rule == "binlog-backwards" else rule
    assert report.rules_broken() == {expected}, report.to_text()
    if rule == "binlog-backwards":
        assert "bookmark ('bin.000002', 400) is behind ('bin.000002', 900)" in report.to_text()


def test_unknown_command_is_one_clear_line(bin_path: Path) -> None:
    proc = subprocess.run(
        [str(bin_path / "tapwell"), "check", "tap", "--", "no-such-tap-here"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "tapwell check: error: cannot run 'no-such-tap-here': No such file or directory; give the command's full path"
    )


def test_a_tap_that_hangs_is_stopped_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TAP_BREAK", "timeout")
    report = check_tap(FAKE_TAP, timeout=2)
    assert report.rules_broken() == {"timeout"}, report.to_text()
    assert "[timeout] the sync did not finish in 2s" in report.to_text()
