"""`tapwell state ... --target T` on an integration with targets: [...]: show, set, clear and
history of one target's own state, through the CLI; an unknown target is one line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.runner_project import duckdb_target, fake_integration


def jsonl_rows(folder: Path) -> list[tuple[int, str]]:
    lines = (folder / "items.jsonl").read_text().splitlines()
    return sorted({(r["id"], r["value"]) for r in map(json.loads, lines)})


def _fan(proj) -> None:
    raw = fake_integration(proj)
    raw.pop("target")
    raw["targets"] = [
        duckdb_target(proj),
        {"name": "target-jsonl", "config": {"destination_path": str(proj.root / "out2")}},
    ]
    proj.write({"integrations": {"fan": raw, "one": fake_integration(proj)}})


def _state(last_id: int) -> dict:
    return {"bookmarks": {"items": {"last_id": last_id}}}


def _one_line(done, code: int = 2) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    [line] = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    return line


def test_show_set_and_history_of_one_target(proj, expected_rows):
    _fan(proj)
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    shown = proj.cli("state", "show", "fan", "--target", "target-jsonl")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == _state(300)

    # rewind the secondary alone: the integration's own state stays where it was
    done = proj.cli(
        "state",
        "set",
        "fan",
        "-",
        "--target",
        "target-jsonl",
        stdin=json.dumps(_state(100)).encode(),
    )
    assert _one_line(done, 0) == (
        "tapwell: state of fan target target-jsonl saved; `tapwell run fan --target target-jsonl` "
        "resumes it from there (a run of all the targets starts from fan's own state: "
        "`tapwell state set fan` moves that one)"
    )
    both = json.loads(proj.cli("state", "show", "fan").stdout)
    assert both == {"target-duckdb": _state(300), "target-jsonl": _state(100)}
    assert json.loads((proj.root / "state" / "fan.json").read_text()) == _state(300)
    history = proj.cli("state", "history", "fan", "--target", "target-jsonl").stdout.splitlines()
    assert "manual" in history[0] and history[0].endswith(
        json.dumps(_state(100), separators=(",", ":"))
    )
    assert history[1].endswith(json.dumps(_state(300), separators=(",", ":")))

    # the secondary catches up from its own state, alone; every row once in its file
    (proj.root / "out2" / "items.jsonl").unlink()
    done = proj.cli("run", "fan", "--target", "target-jsonl", "--quiet")
    assert done.returncode == 0, done.stderr
    assert proj.starts()[-1] == 100
    # its own state was saved, and the run's line says where (it said "no state to save")
    last = done.stderr.strip().splitlines()[-1]
    assert f"state saved to {proj.root / 'state' / 'fan@target-jsonl.json'} (run " in last, last
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)[100:]

    # set on every target alike: the integration's own state follows
    for target in ("target-duckdb", "target-jsonl"):
        done = proj.cli(
            "state", "set", "fan", "-", "--target", target, stdin=json.dumps(_state(250)).encode()
        )
        assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "tapwell: state of fan target target-jsonl saved (and of fan: every target has it)"
    )
    assert json.loads((proj.root / "state" / "fan.json").read_text()) == _state(250)


def test_clear_one_target_sends_everything_again(proj, expected_rows):
    _fan(proj)
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    line = _one_line(proj.cli("state", "clear", "fan", "--target", "target-jsonl"))
    assert line == (
        "tapwell: error: clearing the state of fan target target-jsonl makes its next run sync "
        "everything; add --force"
    )
    done = proj.cli("state", "clear", "fan", "--target", "target-jsonl", "--force")
    assert _one_line(done, 0) == (
        "tapwell: state of fan target target-jsonl cleared, and fan's own: the next run sends "
        "everything to every target"
    )
    shown = proj.cli("state", "show", "fan", "--target", "target-jsonl")
    assert _one_line(shown) == (
        "tapwell: error: integration 'fan' target 'target-jsonl' has no saved state"
    )
    assert json.loads(proj.cli("state", "show", "fan").stdout) == {
        "target-duckdb": _state(300),
        "target-jsonl": None,
    }
    (proj.root / "out2" / "items.jsonl").unlink()
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    assert proj.starts()[-1] == 0
    assert jsonl_rows(proj.root / "out2") == expected_rows(300)
    assert proj.duckdb_rows() == expected_rows(300)  # the overlap merged: each row once


def test_unknown_target_is_one_line(proj):
    _fan(proj)
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    for args in (
        ("show", "fan", "--target", "nope"),
        ("clear", "fan", "--target", "nope", "--force"),
        ("history", "fan", "--target", "nope"),
        ("recover", "fan", "--target", "nope"),
    ):
        line = _one_line(proj.cli("state", *args))
        assert line == (
            "tapwell: error: integration 'fan' has no target 'nope' in targets: "
            "(its targets: target-duckdb, target-jsonl)"
        ), args
    done = proj.cli("state", "set", "fan", "-", "--target", "nope", stdin=b"{}")
    assert "has no target 'nope' in targets:" in _one_line(done)
    line = _one_line(proj.cli("state", "show", "one", "--target", "target-duckdb"))
    assert line == (
        "tapwell: error: integration 'one' has a single target (target:); --target is for an "
        "integration with targets: [...]: leave it out"
    )
    line = _one_line(proj.cli("state", "recover", "fan"))
    assert line == (
        "tapwell: error: integration 'fan' has targets: [...], each with its own state: name one "
        "with --target (its targets: target-duckdb, target-jsonl)"
    )
    # nothing changed
    assert json.loads(proj.cli("state", "show", "fan").stdout) == {
        "target-duckdb": _state(300),
        "target-jsonl": _state(300),
    }


def test_recover_one_target_reads_its_own_row(proj):
    _fan(proj)
    assert proj.cli("run", "fan", "--quiet").returncode == 0
    done = proj.cli("state", "recover", "fan", "--target", "target-duckdb")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == _state(300)
    assert (
        done.stderr.strip()
        == "tapwell: state of fan target target-duckdb recovered from target-duckdb"
    )
