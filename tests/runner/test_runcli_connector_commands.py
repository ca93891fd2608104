"""A connector's words and its command as `tapwell discover`, `validate` and `run` meet them.

- discover / validate show the tap's warning lines when it succeeds, as `tapwell run` does
  (`[tap-csv] tap-csv: warning: ...`, secrets masked): a mistyped tap setting is said before the
  catalog is written, not first in a run whose catalog was already inferred from 1000 rows.
- a `command:` that does not exist, is not executable, or whose `#!` interpreter is gone (tap,
  target, mapper, a fan-out target) is one line naming it and the fix, exit 2, one attempt, in
  the run history: no traceback, no exit 127 retried with backoff.
- our target's own per-stream entries that match no stream are a warning on the terminal; the
  ones the runner derives from tapwell.yml's `streams:` are not.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers.runner_project import Proj, duckdb_target, fake_integration
from tapwell.runner.attempt import AttemptResult
from tapwell.runner.project import RetryPolicy
from tapwell.runner.retry import classify, run_exit_code


def csv_project(proj: Proj, command: str | None = None, **tap_config: Any) -> None:
    (proj.root / "items.csv").write_text("id,name\n1,a\n2,b\n")
    tap: dict[str, Any] = {
        "name": "tap-csv",
        "config": {"streams": [{"name": "items", "path": "items.csv"}], **tap_config},
    }
    if command is not None:
        tap["command"] = command
    target = {"name": "target-jsonl", "config": {"destination_path": "out"}}
    proj.write({"integrations": {"csv": {"tap": tap, "target": target}}})


def test_discover_and_validate_show_a_mistyped_tap_setting(proj):
    csv_project(proj, sampel_rows=0)
    warning = (
        "[tap-csv] tap-csv: warning: config key 'sampel_rows' is not a setting and is ignored; "
        "did you mean 'sample_rows'?"
    )
    done = proj.cli("discover", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == warning  # before "wrote ...": the catalog it wrote used the default
    assert lines[1].startswith("tapwell: wrote ")
    done = proj.cli("validate", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [warning, "tapwell: csv matches its catalog"]


def test_discovery_warnings_are_masked_and_info_lines_stay_out(proj):
    raw = fake_integration(proj, password="hunter2-secret", warn="login as x:hunter2-secret slow")
    proj.write({"integrations": {"fake": raw}})
    for command in ("discover", "validate"):
        done = proj.cli(command, "fake")
        assert done.returncode == 0, done.stderr
        shown = [ln for ln in done.stderr.splitlines() if ln.startswith("[fake-tap]")]
        assert shown == ["[fake-tap] fake-tap WARNING login as x:*** slow"], done.stderr
        assert "hunter2" not in done.stderr


def test_a_failing_discovery_shows_its_warnings_and_keeps_its_last_line_as_the_error(proj):
    raw = fake_integration(
        proj, password="pw-123-secret", warn="as pw-123-secret", discovery_fails=True
    )
    proj.write({"integrations": {"fake": raw}})
    done = proj.cli("discover", "fake")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "[fake-tap] fake-tap WARNING as ***",
        "tapwell: error: fake-tap --discover failed (exit 2): "
        "fake-tap: error: password *** refused",
    ]


# ------------------------------------------------------------------ commands that cannot run


def script(path: Path, text: str, mode: int = 0o755) -> str:
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def broken_commands(root: Path) -> dict[str, tuple[str, str]]:
    """command -> (how it is broken, what the one line says)."""
    return {
        "/nonexistent/tap-csv": (
            "missing",
            "does not exist: install it (pip install 'tapwell[csv]')",
        ),
        script(root / "noexec", "#!/bin/sh\n", 0o644): (
            "not executable",
            "is not executable: `chmod +x ",
        ),
        script(root / "moved", "#!/nonexistent/venv/bin/python\n"): (
            "interpreter gone",
            "starts with #!/nonexistent/venv/bin/python, which does not exist",
        ),
        str(root): ("a folder", "is a folder, not a program"),
    }


def one_error_line(done: Any, command: str, says: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr, done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if "error" in ln]
    assert f"command {command} " in line and says in line, line
    assert "`command:` in tapwell.yml" in line
    return line


def test_discover_and_validate_name_a_command_that_cannot_run(proj):
    for command, (_, says) in broken_commands(proj.root).items():
        csv_project(proj, command)
        (proj.root / "catalogs").mkdir(exist_ok=True)
        (proj.root / "catalogs" / "csv.json").write_text('{"streams": []}')
        for verb in ("discover", "validate"):
            line = one_error_line(proj.cli(verb, "csv"), command, says)
            assert line.startswith("tapwell: error: tap-csv: command ")


def run_once(proj: Proj, raw: dict[str, Any], command: str, says: str) -> None:
    raw["retry"] = {"attempts": 3, "backoff_seconds": 0}
    proj.write({"integrations": {"x": raw}})
    done = proj.cli("run", "x")
    line = one_error_line(done, command, says)
    assert "retrying" not in done.stderr
    run = json.loads(proj.cli("runs", "x", "--json").stdout)["runs"][0]  # the newest
    assert run["status"] == "failed" and run["attempts"] == 1
    assert f"command {command} " in run["error"] and says in run["error"], (run, line)


@pytest.mark.parametrize("broken", ["tap", "target", "mapper", "fan-out target"])
def test_run_names_a_command_that_cannot_run_exits_2_never_retried(proj, broken):
    for command, (_, says) in broken_commands(proj.root).items():
        raw = fake_integration(proj, rows=10)
        if broken == "tap":
            raw["tap"]["command"] = command
        elif broken == "target":
            raw["target"] = {"name": "target-jsonl", "command": command, "config": {}}
        elif broken == "mapper":
            raw["mappers"] = [{"name": "my-mapper", "command": command, "config": {}}]
        else:
            raw.pop("target")
            second = {"name": "lake", "command": command, "required": False, "config": {}}
            raw["targets"] = [duckdb_target(proj), second]
        run_once(proj, raw, command, says)
        assert not (proj.root / "out.duckdb").exists()  # nothing started: the tap neither


def test_a_relative_command_is_taken_from_the_project_folder(proj):
    (proj.root / "bin").mkdir()
    script(proj.root / "bin" / "tap-here", "#!/bin/sh\n", 0o644)
    raw = fake_integration(proj)
    raw["tap"] = {"name": "tap-here", "command": "bin/tap-here", "config": {}}
    run_once(proj, raw, "bin/tap-here", "is not executable")


def test_a_wrappers_exit_127_is_a_config_error_not_retried(proj):
    wrapper = script(proj.root / "tap-wrapper", '#!/bin/sh\nexec /nonexistent/real-tap "$@"\n')
    raw = fake_integration(proj)
    raw["tap"] = {"name": "tap-wrapper", "command": wrapper, "config": {}}
    raw["retry"] = {"attempts": 3, "backoff_seconds": 0}
    proj.write({"integrations": {"x": raw}})
    done = proj.cli("run", "x")
    assert done.returncode == 2, done.stderr
    assert "retrying" not in done.stderr
    assert "tap-wrapper exit 127" in done.stderr
    [run] = json.loads(proj.cli("runs", "x", "--json").stdout)["runs"]
    assert run["status"] == "failed" and run["attempts"] == 1
    log = proj.cli("logs", run["id"]).stdout
    assert "a command not found or not executable: not retried" in log


@pytest.mark.parametrize("code", [126, 127])
def test_exit_126_and_127_are_configuration_errors(code):
    policy = RetryPolicy()
    for result in (AttemptResult(code, 0), AttemptResult(0, code)):
        verdict = classify(result, policy)
        assert not verdict.retriable and verdict.terminal_config
        assert run_exit_code(code, False, verdict.terminal_config) == 2


def test_a_file_this_user_cannot_execute_is_not_the_interpreters_taps(tmp_path, monkeypatch):
    """The interpreter's folder holds a tap-x that is not executable: PATH's is taken."""
    from tapwell.runner.processes import resolve_command

    folder = tmp_path / "venv-bin"
    folder.mkdir()
    script(folder / "tap-x", "#!/bin/sh\n", 0o644)
    on_path = tmp_path / "path"
    on_path.mkdir()
    script(on_path / "tap-x", "#!/bin/sh\n")
    monkeypatch.setattr("sys.executable", str(folder / "python"))
    monkeypatch.setenv("PATH", str(on_path))
    assert resolve_command(["tap-x"]) == ["tap-x"]
    assert stat.S_IMODE((folder / "tap-x").stat().st_mode) == 0o644


# ------------------------------------------------------------------ per-stream target settings


def test_run_shows_the_targets_unmatched_entries_not_the_runners_own(proj):
    """tapwell.yml's `streams:` settings go to the target under both names of a stream (here
    tap_stream_id `db-items`, stream `items`, which the tap sends): the runner's own entries say
    nothing; an entry of the target's own config that names no stream is one warning line."""
    raw = fake_integration(proj, rows=10)
    raw["target"]["config"]["stream_settings"] = {"item": {"load_method": "append-only"}}
    raw["streams"] = {"items": {"hard_delete": True}}
    proj.write({"integrations": {"x": raw}})
    assert proj.cli("discover", "x").returncode == 0
    path = proj.root / "catalogs" / "x.json"
    catalog = json.loads(path.read_text())
    catalog["streams"][0]["tap_stream_id"] = "db-items"
    path.write_text(json.dumps(catalog))
    raw["streams"] = {"db-items": {"hard_delete": True}}
    proj.write({"integrations": {"x": raw}})
    done = proj.cli("run", "x")
    assert done.returncode == 0, done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if "matched no stream" in ln]
    assert line == (
        "[target-duckdb] target-duckdb WARNING stream_settings entry 'item' matched no stream of "
        "this load and changed nothing (streams: items); did you mean 'items'?"
    )
