"""What a user meets walking `tapwell` from a fresh clone: a help text that names the commands
there are (not one there is not), and an error that names the folder it looked in."""

from __future__ import annotations

import re
import subprocess

from helpers.runner_project import BIN, fake_integration


def tapwell(*args, cwd=None):
    return subprocess.run(
        [str(BIN / "tapwell"), *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_state_help_names_each_of_its_commands(tmp_path):
    from tapwell.runner.cli_state import state

    done = tapwell("state", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = " ".join(done.stdout.split("\n\n")[1].split())  # the paragraph after Usage:
    # the first sentence once said "list", which is no command (tapwell state list: exit 2)
    verbs = re.findall(r"[a-z]+", summary.split(". ")[0].lower())
    for name in state.commands:
        assert name in verbs, (name, summary)


def test_a_missing_project_file_is_named_by_its_whole_path(tmp_path):
    done = tapwell("runs", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2,
        f"tapwell: error: no project file at {tmp_path / 'tapwell.yml'} (run from the project "
        "folder, or pass --project)\n",
    )


def test_runs_refuses_a_page_it_cannot_show(proj):
    proj.write({"integrations": {"e": fake_integration(proj)}})
    done = proj.cli("runs", "--before", "nosuch")  # was: every run, as if not given
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--before': 'nosuch' is not a run id (see `tapwell runs`)"
    )
    done = proj.cli("runs", "--limit", "0")  # was: one run
    assert done.returncode == 2
    assert "Invalid value for '--limit': 0 is not in the range x>=1." in done.stderr
