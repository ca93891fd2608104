"""A deliberately broken Singer tap: FAKE_TAP_BREAK names the one rule it breaks (or 'none').

The checker must report exactly that rule; a tap that breaks nothing must conform."""

from __future__ import annotations

import json
import os
import sys

BREAK = os.environ.get("FAKE_TAP_BREAK", "none")
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"]},
        "updated_at": {"type": ["null", "string"], "format": "date-time"},
    },
}
CATALOG = {
    "streams": [
        {
            "tap_stream_id": "users",
            "stream": "users",
            "schema": SCHEMA,
            "key_properties": ["id"],
            "metadata": [
                {
                    "breadcrumb": [],
                    "metadata": {
                        "inclusion": "available",
                        "table-key-properties": ["id"],
                        "valid-replication-keys": ["updated_at"],
                    },
                },
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available"}},
                {
                    "breadcrumb": ["properties", "updated_at"],
                    "metadata": {"inclusion": "automatic"},
                },
            ],
        }
    ]
}


def out(msg: object) -> None:
    sys.stdout.write((msg if isinstance(msg, str) else json.dumps(msg)) + "\n")


def arg(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main() -> None:
    if "--about" in sys.argv:
        out(
            "this is not json"
            if BREAK == "about-invalid"
            else {"name": "fake-tap", "capabilities": ["catalog", "discover", "state"]}
        )
        return
    if "--discover" in sys.argv:
        catalog = json.loads(json.dumps(CATALOG))
        if BREAK == "key-not-in-schema":
            catalog["streams"][0]["metadata"][0]["metadata"]["table-key-properties"] = ["nope"]
        if BREAK == "catalog-invalid":
            catalog = {"streams": {"users": {}}}
        if BREAK == "metadata-invalid":
            catalog["streams"][0]["metadata"].append(
                {"breadcrumb": ["properties", "ghost"], "metadata": {}}
            )
        if BREAK == "discover-failed":
            sys.stderr.write("fake-tap: error: cannot connect\n")
            sys.exit(1)
        out(catalog)
        return
    if BREAK == "timeout":
        import time

        time.sleep(60)
    state_path = arg("--state")
    state = json.loads(open(state_path).read()) if state_path else {}  # noqa: SIM115
    start = ((state.get("bookmarks") or {}).get("users") or {}).get("replication_key_value")
    rows = [
        {"id": i, "name": f"user {i}", "updated_at": f"2024-01-0{i}T00:00:00+00:00"}
        for i in range(1, 6)
    ]
    if start and BREAK != "record-before-bookmark":
        rows = [r for r in rows if r["updated_at"] >= start]
    if BREAK == "record-before-schema":
        out({"type": "RECORD", "stream": "users", "record": rows[0]})
    out(
        {
            "type": "SCHEMA",
            "stream": "users",
            "schema": SCHEMA,
            "key_properties": ["id"],
            "bookmark_properties": ["updated_at"],
        }
    )
    for r in rows:
        if BREAK == "record-invalid" and r["id"] == 2:
            r = dict(r, id="two")
        if BREAK == "key-missing" and r["id"] == 3:
            r = {k: v for k, v in r.items() if k != "id"}
        if BREAK == "invalid-json" and r["id"] == 4:
            out("INFO some log line printed on stdout")
        out({"type": "RECORD", "stream": "users", "record": r})
        value = r["updated_at"]
        if BREAK == "bookmark-backwards" and r["id"] == 4:
            value = "2023-12-31T00:00:00+00:00"
        if BREAK == "record-before-bookmark" and r is not rows[-1]:
            continue  # only the final bookmark, which is fine; the records are what is wrong
        out(
            {
                "type": "STATE",
                "value": {
                    "bookmarks": {
                        "users": {"replication_key": "updated_at", "replication_key_value": value}
                    }
                },
            }
        )
    if BREAK == "binlog-backwards":
        for pos in (500, 900, 400):
            out(
                {
                    "type": "STATE",
                    "value": {"bookmarks": {"users": {"log_file": "bin.000002", "log_pos": pos}}},
                }
            )
    # a table that is really empty says so; a new version with no record of it is what a tap
    # that crashed after starting it sends (issue 20.1): targets retire nothing on it
    out({"type": "ACTIVATE_VERSION", "stream": "users", "version": 7, "empty": True})
    if BREAK == "activate-without-records":
        out({"type": "ACTIVATE_VERSION", "stream": "users", "version": 8})
    if BREAK == "state-invalid":
        out({"type": "STATE", "value": {"bookmarks": ["users"]}})
    if BREAK == "sync-failed":
        sys.exit(3)


if __name__ == "__main__":
    main()
