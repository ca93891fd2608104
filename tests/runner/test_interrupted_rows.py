"""An interrupted run keeps the rows it got to: the target's count as of the last state it
committed and the runner saved, never rows counted after it (issue from servepolish: an
interrupted run recorded no rows, "Rows 0" everywhere)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from helpers.runner_project import BIN, RUNNER_DIR, fake_integration, wait_for
from tapwell.runner.statestore import open_backend

COUNTING_TARGET = [sys.executable, str(RUNNER_DIR / "counting_target.py")]


@pytest.mark.parametrize(("sig", "said"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")])
def test_an_interrupted_run_records_the_committed_rows(proj, sig, said):
    raw = fake_integration(
        proj,
        mode="wait",
        rows=30,  # 29 rows sent, then the tap waits for a release that never comes
        release=str(proj.root / "never"),
        state_every=10,
        target={"name": "counting-target", "command": COUNTING_TARGET, "config": {}},
    )
    proj.write({"integrations": {"t": raw}})
    run = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(proj.root), "run", "t"],
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = proj.root / "state" / "t.json"
    wait_for(lambda: state_file.exists() and '"last_id": 20' in state_file.read_text(), "a commit")
    store = open_backend(proj.load(), "t")
    try:
        (running,) = store.runs("t", 1)

        def counted_29() -> bool:  # the target has counted the 9 rows after its last state
            return (
                sum("counting-target INFO METRIC" in ln for ln in store.read_log(running.id)) == 29
            )

        wait_for(counted_29, "the target to count the rows after its last state")
        run.send_signal(sig)
        _, err = run.communicate(timeout=60)
        saved = store.run(running.id)
    finally:
        store.close()
    assert run.returncode == 130, err
    assert "after 1 attempt(s); rows: items 20\n" in err, err  # its own last line
    table = proj.cli("runs", "t").stdout.splitlines()
    row = table[1].split()
    assert table[0].split()[6:10] == ["OUTCOME", "ATTEMPTS", "ROWS", "ERROR"]
    assert row[5:8] == ["interrupted", "1", "20"]
    assert saved is not None and saved.id == row[0]
    assert saved.rows == {"items": 20}
    assert saved.attempt_rows == [{"items": 20}]
    assert saved.error.startswith(f"interrupted by {said}")
