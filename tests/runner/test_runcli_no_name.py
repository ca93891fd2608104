"""`tapwell discover`, `validate` and `state show|set|clear|history|recover` without NAME say, as
`tapwell run` does, which integrations the project has and how to name one, in one line (exit 2),
instead of click's bare `Missing argument 'NAME'`."""

from __future__ import annotations

import pytest
from helpers.runner_project import fake_integration


@pytest.mark.parametrize(
    "command",
    [
        "discover",
        "validate",
        "state show",
        "state set",  # e.g. ... clients FILE: its other argument
        "state clear",
        "state history",
        "state recover",
    ],
)
def test_a_command_without_a_name_lists_the_integrations(proj, command):
    proj.write(
        {"integrations": {"orders": fake_integration(proj), "clients": fake_integration(proj)}}
    )
    for _ in range(2):  # said the same way every time, nothing done
        done = proj.cli(*command.split())
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (
            f"tapwell: error: tapwell {command} needs the NAME of an integration of "
            f"{proj.root / 'tapwell.yml'}: clients, orders (e.g. tapwell {command} clients"
            + (" FILE)\n" if command == "state set" else ")\n")
        )
    assert not (proj.root / "state").exists() and not (proj.root / "catalogs").exists()


def test_state_set_with_a_name_still_asks_for_its_file(proj):
    proj.write({"integrations": {"orders": fake_integration(proj)}})
    done = proj.cli("state", "set", "orders")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Error: Missing argument 'FILE'."
