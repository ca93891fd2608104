"""The state a target commits at the end of a tap-rest run says no stream is being synced. A run
whose streams keep no bookmark (no replication_key) ended with the STATE `{}` after
`{"currently_syncing": "orders"}`; targets never commit an empty state after a non-empty one (it
would drop every bookmark), so the saved state kept `currently_syncing` for good."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from helpers.rest_server import RestServer, dumps, run_tap
from helpers.targets import make_target

BIN = Path(sys.executable).parent


def test_the_committed_state_of_a_run_without_bookmarks_names_no_stream(tmp_path: Path) -> None:
    with RestServer() as srv:
        config = {
            "base_url": srv.url,
            "streams": [
                {
                    "name": "orders",
                    "path": "/orders_next",
                    "primary_key": ["id"],
                    "records_path": "$.data[*]",
                    "paginator": {"type": "next_url", "next_url_path": "$.links.next"},
                }
            ],
        }
        run = run_tap(config, tmp_path)
    assert run.code == 0, run.stderr
    assert len(run.records("orders")) == 25
    assert run.states()[-1].get("currently_syncing") is None
    target = make_target("target-jsonl", BIN, tmp_path)
    loaded = target.run(b"".join(dumps(m) + b"\n" for m in run.messages))  # every digit as sent
    assert loaded.returncode == 0, loaded.stderr.decode()
    committed = json.loads(loaded.stdout.splitlines()[-1])
    assert "currently_syncing" not in committed or committed["currently_syncing"] is None
