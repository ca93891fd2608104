"""`tapwell check target` on our targets (they must conform, read back row by row) and on a fake
target that gets one thing wrong at a time (the checker must name exactly that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tapwell.sdk.check import Verifier, check_target, destination

FAKE_TARGET = Path(__file__).parent / "fakes" / "fake_target.py"


def test_target_jsonl_conforms_read_back(bin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = tmp_path / "jsonl.json"
    config.write_text(json.dumps({"destination_path": str(out)}))
    proc = subprocess.run(
        [
            str(bin_path / "tapwell"),
            "check",
            "target",
            "--json",
            "--verify",
            f"jsonl:{out}",
            "--",
            str(bin_path / "target-jsonl"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], proc.stdout + proc.stderr
    assert len(report["checks"]) == 15
    assert len(list(out.glob("*.jsonl"))) >= 10  # every valid stream was written and read back


def test_target_duckdb_conforms_read_back(bin_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "check.duckdb"
    config = tmp_path / "duckdb.json"
    config.write_text(json.dumps({"path": str(db), "default_target_schema": "conformance"}))
    report = check_target(
        [str(bin_path / "target-duckdb"), "--config", str(config)],
        verify=Verifier(destination(f"duckdb:{db}:conformance")),
    )
    assert report.ok, report.to_text()


def test_read_back_catches_a_wrong_row(bin_path: Path, tmp_path: Path) -> None:
    """The duckdb read-back is not vacuous: change one loaded value and it is reported."""
    import duckdb

    db = tmp_path / "check.duckdb"
    config = tmp_path / "duckdb.json"
    config.write_text(json.dumps({"path": str(db), "default_target_schema": "main"}))
    from tapwell.sdk.check.suite import CASES, prepare
    from tapwell.sdk.check.target_check import _run_case

    prepared = prepare(next(c for c in CASES if c.name == "duplicates"))
    outcome, _ = _run_case([str(bin_path / "target-duckdb"), "--config", str(config)], prepared, 60)
    assert outcome.returncode == 0, outcome.stderr
    table = prepared.streams["tw_dupes"]
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE \"{table}\" SET v = '' WHERE id = 3")
    con.execute(f"INSERT INTO \"{table}\" (id, v) VALUES (1, 'dup')")
    con.close()
    from tapwell.sdk.check.report import Report

    report = Report("target", [])
    Verifier(destination(f"duckdb:{db}:main")).compare(prepared, report, "valid: duplicates")
    assert report.rules_broken() == {"value-mismatch", "duplicate-key"}, report.to_text()
    assert any("field 'v': sent 'only', found ''" in v.message for v in report.violations)


def test_conforming_fake_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TARGET_BREAK", "none")
    report = check_target(
        [sys.executable, str(FAKE_TARGET), str(tmp_path)],
        verify=Verifier(destination(f"jsonl:{tmp_path}")),
    )
    assert report.ok, report.to_text()


@pytest.mark.parametrize(
    ("mistake", "rules"),
    [
        # accepting a malformed line also means confirming the STATE after it
        ("accepted-malformed-input", {"accepted-malformed-input", "state-ahead-of-data"}),
        ("traceback", {"traceback"}),
        ("state-ahead-of-data", {"state-ahead-of-data"}),
        # a made-up state is also not the last state sent
        ("state-unknown", {"state-unknown", "final-state-missing"}),
        ("final-state-missing", {"final-state-missing"}),
        ("value-mismatch", {"value-mismatch"}),
    ],
)
def test_each_mistake_is_reported(
    mistake: str, rules: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TARGET_BREAK", mistake)
    report = check_target(
        [sys.executable, str(FAKE_TARGET), str(tmp_path)],
        verify=Verifier(destination(f"jsonl:{tmp_path}")),
    )
    assert report.rules_broken() == rules, report.to_text()


def test_cli_case_selection_and_bad_options(bin_path: Path, tmp_path: Path) -> None:
    tapwell = str(bin_path / "tapwell")
    proc = subprocess.run(
        [
            tapwell,
            "check",
            "target",
            "--case",
            "bad_json",
            "--",
            sys.executable,
            str(FAKE_TARGET),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FAKE_TARGET_BREAK": "traceback"},
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[1] == "  FAIL malformed: bad_json (1 violation(s))"
    # The fake reads with tapwell.singer.wire.loads, which takes json's exact path when a line
    # looks like it holds a long number: the stream's random token can (about 3 runs in 100,
    # "9e123" in hex), so either parser's words name the same place.
    prefix = "         [traceback] refused with a traceback instead of one error line: "
    assert lines[2] in (
        prefix + "orjson.JSONDecodeError: unexpected control character in string: "
        "line 1 column 84 (char 83)",
        prefix + "json.decoder.JSONDecodeError: Invalid control character at: "
        "line 1 column 84 (char 83)",
    )
    proc = subprocess.run(
        [tapwell, "check", "target", "--verify", "mysql:x", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "tapwell check: error: --verify 'mysql:x': expected jsonl:DIR, duckdb:PATH[:SCHEMA] or postgres:SCHEMA:DSN"
    )


@pytest.mark.parametrize("kind", ["tap", "target"])
def test_check_help_reads_well_at_80_columns(bin_path: Path, kind: str) -> None:
    """The example command is shown as one, on lines of its own (it was wrapped into the prose,
    `-- target-` at a line's end and `duckdb --config` on the next), and no line passes 80."""
    done = subprocess.run(
        [str(bin_path / "tapwell"), "check", kind, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=True,
    )
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    example = {
        "tap": ["    tapwell check tap -- tap-csv --config tap.json"],
        "target": [
            "    tapwell check target --verify duckdb:out.duckdb:main \\",
            "        -- target-duckdb --config t.json",
        ],
    }[kind]
    start = lines.index(example[0])
    assert lines[start : start + len(example)] == example, done.stdout
    assert not [line for line in lines if line.rstrip().endswith("-") and "--" not in line]
