"""`tapwell run` without NAME says which integrations the project has and how to run one, in one
line (exit 2), instead of click's bare `Missing argument 'NAME'`."""

from __future__ import annotations

from helpers.runner_project import fake_integration


def test_run_without_a_name_lists_the_integrations(proj):
    proj.write(
        {"integrations": {"orders": fake_integration(proj), "clients": fake_integration(proj)}}
    )
    for _ in range(2):  # said the same way every time, nothing run, nothing recorded
        done = proj.cli("run")
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr == (
            f"tapwell: error: tapwell run needs the NAME of an integration of "
            f"{proj.root / 'tapwell.yml'}: clients, orders (e.g. tapwell run clients)\n"
        )
    assert not (proj.root / "state").exists()
