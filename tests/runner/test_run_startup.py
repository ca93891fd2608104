"""What `tapwell run` does before the tap starts and after the target ends, kept small (issue 21):
connectors asked their `--about` together, the catalog flag read from it, tapwell.yml checked
against its schema once per version, the commands a run does not use left unimported, and a
state file the last checkpoint wrote already left as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tapwell.runner.project_schema as project_schema
from helpers.runner_project import Proj, fake_integration
from tapwell.runner.attempt import catalog_flag
from tapwell.runner.probe import cached_probes
from tapwell.runner.statestore import FileStateStore
from tapwell.singer.errors import ConfigError

# A connector that, asked --about, waits (at most 10 s) for the other one to be asked too, and
# says whether it saw it: asked one after the other, the first never sees the second.
WAITING = """
import json, os, sys, time
me, other, helps = sys.argv[1], sys.argv[2], sys.argv[3]
if sys.argv[-1] == "--help":
    open(helps, "a").write("help\\n")
    print("usage: --config --catalog --state")
    sys.exit(0)
open(me, "w").close()
deadline = time.monotonic() + 10
while not os.path.exists(other) and time.monotonic() < deadline:
    time.sleep(0.02)
print(json.dumps({"capabilities": json.loads(os.environ.get("CAPS", "[]")),
                  "together": os.path.exists(other)}))
"""


def _connector(tmp_path: Path, me: str, other: str) -> list[str]:
    script = tmp_path / "conn.py"
    script.write_text(WAITING)
    helps = tmp_path / "helps.txt"
    return [sys.executable, str(script), str(tmp_path / me), str(tmp_path / other), str(helps)]


def _json(done: subprocess.CompletedProcess[bytes]) -> object:
    return json.loads(done.stdout)


def test_connectors_not_yet_asked_are_asked_together(tmp_path: Path) -> None:
    tap, target = _connector(tmp_path, "a", "b"), _connector(tmp_path, "b", "a")
    answers = cached_probes(tmp_path, "caps.json", [tap, target], "--about", _json, bool)
    assert [a["together"] for a in answers] == [True, True]  # type: ignore[index]
    (tmp_path / "a").unlink()
    (tmp_path / "b").unlink()
    again = cached_probes(tmp_path, "caps.json", [tap, target], "--about", _json, bool)
    assert again == answers and not (tmp_path / "a").exists()  # kept: nobody asked again


@pytest.mark.parametrize(
    ("caps", "flag"),
    [(["catalog", "properties"], "--catalog"), (["properties"], "--properties"), ([], "--catalog")],
)
def test_the_catalog_flag_comes_from_the_taps_about_before_its_help(
    tmp_path: Path, caps: list[str], flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPS", json.dumps(caps))
    argv = _connector(tmp_path, "a", "a")
    proj = Proj(tmp_path).write(
        {"integrations": {"n": {"tap": {"name": "t", "command": argv}, "target": "target-jsonl"}}}
    )
    project = proj.load()
    assert catalog_flag(project, project.integration("n").resolve().tap, argv) == flag
    helps = tmp_path / "helps.txt"
    # --help only for a tap whose --about names neither capability
    assert helps.read_text() == "help\n" if not caps else not helps.exists()


def test_the_project_file_is_checked_against_the_schema_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[object] = []
    real = project_schema.validate_project
    monkeypatch.setattr(
        project_schema, "validate_project", lambda raw, src="": checks.append(raw) or real(raw, src)
    )
    proj = Proj(tmp_path).write(
        {"integrations": {"n": {"tap": "tap-csv", "target": "target-jsonl"}}}
    )
    proj.load()
    proj.load()
    assert len(checks) == 1  # the second read found these bytes checked
    proj.write({"integrations": {"n": {"tap": "tap-csv", "target": "target-duckdb"}}})
    proj.load()
    assert len(checks) == 2  # another version of the file
    monkeypatch.setattr(project_schema, "PROJECT_SCHEMA", {**project_schema.PROJECT_SCHEMA})
    monkeypatch.setitem(project_schema.PROJECT_SCHEMA, "description", "a newer schema")
    proj.load()
    assert len(checks) == 3  # the same file, another schema
    proj.write({"integrations": {"n": {"tap": "tap-csv"}}})  # no target: refused every time
    for _ in range(2):
        with pytest.raises(ConfigError, match="missing 'target'"):
            proj.load()
    assert len(checks) == 5


def test_a_folder_that_cannot_be_written_means_checking_every_time(tmp_path: Path) -> None:
    proj = Proj(tmp_path).write(
        {"integrations": {"n": {"tap": "tap-csv", "target": "target-jsonl"}}}
    )
    (tmp_path / ".tapwell").write_text("not a folder")  # so nothing can be kept under it
    assert proj.load().integration("n").name == "n"
    assert proj.load().integration("n").name == "n"


HEAVY = [
    "jsonschema",  # tapwell.yml's schema check, once per version of the file
    "backoff",  # the waits between attempts, at the first retry
    "urllib.request",  # notifications
    "tapwell.runner.serve.cli",
    "tapwell.runner.cli_state",
    "tapwell.sdk.check.cli",
    "tapwell.sdk.scaffold.cli",
    "tapwell.runner.fanout",
]


def test_a_run_loads_only_what_it_uses(proj: Proj) -> None:
    proj.write({"integrations": {"n": fake_integration(proj, rows=5)}})
    code = (
        "import atexit, sys\n"
        f"heavy = {HEAVY!r}\n"
        "atexit.register(lambda: print('loaded', [m for m in heavy if m in sys.modules]))\n"
        "from tapwell.runner.cli import main\n"
        f"main(['--project', {str(proj.root)!r}, 'run', 'n', '--quiet'])\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert "loaded ['jsonschema']" in runs[0].stdout  # the file's first check
    assert "loaded []" in runs[1].stdout
    listed = proj.cli("--help").stdout
    assert all(f"\n  {name} " in listed for name in ("check", "new", "serve", "state", "run"))
    assert "Show, set, clear" in listed  # a command loaded when listed keeps its help line


def test_a_state_the_last_checkpoint_saved_is_recorded_without_writing_it_again(
    tmp_path: Path,
) -> None:
    store = FileStateStore(tmp_path)
    store.put("n", {"bookmarks": {"s": {"id": 1}}}, run_id="r1")
    inode = os.stat(store.path("n")).st_ino
    store.put("n", {"bookmarks": {"s": {"id": 1}}}, run_id="r1", record=True, force=True)
    assert os.stat(store.path("n")).st_ino == inode  # not replaced: it held these bytes
    assert [s for _, _, s in store.state_history("n")] == [{"bookmarks": {"s": {"id": 1}}}]
    store.put("n", {"bookmarks": {"s": {"id": 2}}}, run_id="r1", record=True)
    assert os.stat(store.path("n")).st_ino != inode
    assert store.get("n") == {"bookmarks": {"s": {"id": 2}}}
    assert len(store.state_history("n")) == 2


def test_a_copy_of_a_checked_project_file_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The passes are kept in the user's cache folder too, keyed by the file's bytes: a new
    folder with the same tapwell.yml (bench.embedded's, a fresh clone) skips the schema check."""
    checks: list[object] = []
    real = project_schema.validate_project
    monkeypatch.setattr(
        project_schema, "validate_project", lambda raw, src="": checks.append(raw) or real(raw, src)
    )
    raw = {"integrations": {"n": {"tap": "tap-csv", "target": "target-jsonl"}}}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        Proj(tmp_path / name).write(raw).load()
    assert len(checks) == 1
    assert (tmp_path / "two" / ".tapwell").exists() is False  # nothing new kept there


def test_a_tap_that_cannot_be_asked_its_flag_is_said_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tap whose --about names no catalog capability and which runs a sync on --help kept every
    run waiting the probe's timeout without a word; now the wait is said, with the setting that
    ends it, and the tap gets --catalog."""
    import tapwell.runner.probe as probe

    script = tmp_path / "tap.py"
    script.write_text(
        "import sys, time\n"
        "if '--about' in sys.argv:\n    print('{}')\n    sys.exit(0)\n"
        "time.sleep(60)  # any other argument, --help too: a sync that takes long\n"
    )
    argv = [sys.executable, str(script)]
    proj = Proj(tmp_path).write(
        {"integrations": {"n": {"tap": {"name": "t", "command": argv}, "target": "target-jsonl"}}}
    )
    project = proj.load()
    monkeypatch.setattr(probe, "PROBE_TIMEOUT", 1)
    said: list[str] = []
    assert catalog_flag(project, project.integration("n").resolve().tap, argv, said.append) == (
        "--catalog"
    )
    assert said == [
        "[tapwell] t --help gave no answer within 30s (nor does its --about list "
        "catalog or properties): passing --catalog; set catalog_flag: --catalog (or --properties) "
        "on the tap in tapwell.yml to skip asking"
    ]
