"""The runner tells a tap where the last saved state is (TAPWELL_SAVED_STATE): a file rewritten
after each save, which a CDC tap reads to confirm to its server only what the destination
committed (tap-postgres). A tap that waits for its first STATE to appear there sees it."""

from __future__ import annotations

import json
import sys

from helpers.runner_project import duckdb_target

WAITING_TAP = r"""
import json, os, sys, time
if "--discover" in sys.argv:
    print(json.dumps({"streams": []})); sys.exit(0)
path = os.environ["TAPWELL_SAVED_STATE"]
def emit(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
emit({"type": "SCHEMA", "stream": "items", "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "value": {"type": "string"}}}, "key_properties": ["id"]})
emit({"type": "RECORD", "stream": "items", "record": {"id": 1, "value": "a"}})
emit({"type": "STATE", "value": {"bookmarks": {"items": {"n": 1}}}})
deadline = time.monotonic() + 60
while True:
    try:
        seen = json.loads(open(path).read())
    except (OSError, ValueError):
        seen = None
    if seen == {"bookmarks": {"items": {"n": 1}}}:
        break
    if time.monotonic() > deadline:
        sys.stderr.write("waiting-tap: the saved state never appeared in " + path + "\n"); sys.exit(1)
    time.sleep(0.05)
emit({"type": "RECORD", "stream": "items", "record": {"id": 2, "value": "b"}})
emit({"type": "STATE", "value": {"bookmarks": {"items": {"n": 2}}}})
"""


def test_the_tap_reads_the_state_the_runner_saved(proj):
    raw = {
        "tap": {
            "name": "waiting-tap",
            "command": [sys.executable, "-c", WAITING_TAP],
            "config": {},
        },
        "target": duckdb_target(proj, batch_rows=1),
        "retry": {"attempts": 1, "backoff_seconds": 0},
    }
    proj.write({"integrations": {"w": raw}})
    done = proj.cli("run", "w")
    assert done.returncode == 0, done.stderr
    saved = json.loads((proj.root / "state" / "w.json").read_text())
    assert saved == {"bookmarks": {"items": {"n": 2}}}
    assert proj.duckdb_rows() == [(1, "a"), (2, "b")]
