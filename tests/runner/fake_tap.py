"""A Singer tap for the runner's tests that misbehaves on purpose, a given number of times.

Config: rows, mode (ok | die | kill | stall | tempfail | config | wait), fail_times, fail_after
(records sent before misbehaving), state_every, counter (a file: one line per attempt, with the
bookmark the attempt started from), release (for mode wait: the file whose existence lets it
finish), password (to check it never reaches a log), slow (seconds to sleep after each STATE),
warn (a warning line to print on stderr, also in discovery), discovery_fails (exit 2 there), pids (a file: each attempt appends its pid, after appending `overlap PID` for every earlier
attempt's process that is still alive: two loads at once).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def arg(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "value": {"type": ["null", "string"]}},
}


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    config = json.loads(Path(arg("--config")).read_text())
    if "--discover" in sys.argv:
        if config.get("warn"):
            sys.stderr.write("fake-tap: discovering (an info line)\n")
            sys.stderr.write(f"fake-tap WARNING {config['warn']}\n")
        if config.get("discovery_fails"):
            sys.stderr.write(f"fake-tap: error: password {config.get('password')} refused\n")
            sys.exit(2)
        metadata = [
            {
                "breadcrumb": [],
                "metadata": {
                    "inclusion": "available",
                    "selected-by-default": True,
                    "table-key-properties": ["id"],
                },
            }
        ]
        metadata += [
            {
                "breadcrumb": ["properties", p],
                "metadata": {"inclusion": "automatic" if p == "id" else "available"},
            }
            for p in SCHEMA["properties"]
        ]
        print(
            json.dumps(
                {
                    "streams": [
                        {
                            "tap_stream_id": "items",
                            "stream": "items",
                            "schema": SCHEMA,
                            "key_properties": ["id"],
                            "metadata": metadata,
                        }
                    ]
                }
            )
        )
        return
    mode = config.get("mode", "ok")
    if mode == "config":
        sys.stderr.write(
            f"fake-tap: error: authentication failed (password {config.get('password')} refused)\n"
        )
        sys.exit(2)
    state = json.loads(Path(arg("--state")).read_text()) if arg("--state") else {}
    start = int(state.get("bookmarks", {}).get("items", {}).get("last_id", 0))
    with open(config["counter"], "a") as f:
        f.write(f"start={start}\n")
    if config.get("inspect"):  # where and how the runner handed over the config
        path = Path(arg("--config"))
        Path(config["inspect"]).write_text(
            json.dumps(
                {
                    "path": str(path),
                    "mode": path.stat().st_mode & 0o777,
                    "dir_mode": path.parent.stat().st_mode & 0o777,
                    "catalog": arg("--catalog"),
                    "state": arg("--state"),
                }
            )
        )
    if config.get("pids"):
        note_overlaps(Path(config["pids"]))
    if config.get("pidfile"):
        Path(config["pidfile"]).write_text(str(os.getpid()))
    attempt = len(Path(config["counter"]).read_text().splitlines())
    failing = attempt <= int(config.get("fail_times", 0))
    sys.stderr.write(
        f"fake-tap: attempt {attempt} from id {start} (password {config.get('password')})\n"
    )
    if config.get("warn"):
        sys.stderr.write(f"fake-tap WARNING {config['warn']}\n")
    emit({"type": "SCHEMA", "stream": "items", "schema": SCHEMA, "key_properties": ["id"]})
    sent = reported = 0
    for i in range(start + 1, int(config["rows"]) + 1):
        if failing and sent == int(config.get("fail_after", 100)):
            misbehave(mode, config)
        if mode == "wait" and i == int(config["rows"]):
            while not os.path.exists(config["release"]):
                time.sleep(0.05)
        emit({"type": "RECORD", "stream": "items", "record": {"id": i, "value": f"v{i}"}})
        sent += 1
        if i % int(config.get("state_every", 25)) == 0:
            emit({"type": "STATE", "value": {"bookmarks": {"items": {"last_id": i}}}})
            metric(sent - reported)  # increments, as singer-python and singer-sdk report them
            reported = sent
            time.sleep(float(config.get("slow", 0)))
    emit({"type": "STATE", "value": {"bookmarks": {"items": {"last_id": int(config["rows"])}}}})
    metric(sent - reported)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def note_overlaps(path: Path) -> None:
    earlier = path.read_text().split() if path.exists() else []
    with open(path, "a") as f:
        for pid in earlier:
            if pid.isdigit() and alive(int(pid)):
                f.write(f"overlap {pid}\n")
        f.write(f"{os.getpid()}\n")


def metric(n: int) -> None:
    body = {"type": "counter", "metric": "record_count", "value": n, "tags": {"stream": "items"}}
    sys.stderr.write("INFO METRIC: " + json.dumps(body) + "\n")
    sys.stderr.flush()


def misbehave(mode: str, config: dict) -> None:
    if mode == "die":
        sys.stderr.write("fake-tap: error: connection reset by peer\n")
        sys.exit(1)
    if mode == "tempfail":
        sys.stderr.write("fake-tap: error: deadlock detected, try again\n")
        sys.exit(75)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "stall":
        time.sleep(3600)


if __name__ == "__main__":
    main()
