"""`tapwell serve` at rest and on "run now" (issue 13's note): a throwaway project of 50 scheduled
integrations (tap-csv -> target-jsonl, 10 rows each; none due during the bench) with
`--history` finished runs in its file store.

- idle: serve's own CPU (user + system, % of one core) and RSS over `--idle-seconds`, read from
  /proc/PID/stat and /proc/PID/status (the scheduler ticks once a second and re-reads the history
  every 30 s); then GET /metrics (what a Prometheus scrape costs) beside GET /healthz;
- run now: the time from `POST /api/integrations/NAME/runs` to the first `line` event of the
  run's log over server-sent events, median of `--runs`; beside the anchor in the same run, the
  same kind of run started by hand (`tapwell run NAME`, what cron does) until its first line is
  in the store: serve's own share is the difference. The two alternate, so both see the same
  load. Every run must succeed, or the exit code is 1.

    .venv/bin/python -m bench.serve [--integrations 50] [--idle-seconds 60] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from tapwell.runner.history import RunRecord, new_run_id
from tapwell.runner.project import load_project
from tapwell.runner.statestore import open_backend

BIN = Path(sys.executable).parent
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]


def write_project(root: Path, count: int, history: int) -> list[str]:
    """tapwell.yml of `count` integrations, each scheduled hourly at a minute 20 to 39 minutes
    from now (so none is due while the bench runs), and `history` finished runs."""
    data = root / "data"
    data.mkdir()
    (data / "items.csv").write_text(
        "id,name,updated_at\n"
        + "".join(f"{i},item {i},2026-01-01T00:00:{i:02d}Z\n" for i in range(10))
    )
    minute = dt.datetime.now(dt.UTC).minute
    names = [f"i{n:02d}" for n in range(count)]
    raw: dict[str, Any] = {"integrations": {}}
    for n, name in enumerate(names):
        raw["integrations"][name] = {
            "tap": {
                "name": "tap-csv",
                "config": {
                    "base_dir": str(data),
                    "streams": [{"name": "items", "path": "items.csv", "key_properties": ["id"]}],
                },
            },
            "target": {
                "name": "target-jsonl",
                "config": {"destination_path": str(root / "out" / name)},
            },
            "schedule": f"{(minute + 20 + n % 20) % 60} * * * *",
            "timezone": ZONES[n % len(ZONES)],
        }
    (root / "tapwell.yml").write_text(yaml.safe_dump(raw))
    store = open_backend(load_project(root / "tapwell.yml"))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    for i in range(history):
        at = start + dt.timedelta(minutes=4 * i)
        store.save_run(
            RunRecord(
                new_run_id(at),
                names[i % count],
                at,
                at + dt.timedelta(seconds=5),
                outcome="succeeded",
                attempts=1,
                rows={"items": 10},
                trigger="schedule",
            )
        )
    store.close()
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(root: Path, wait: float) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`tapwell serve` on the project at `root`, on a free port, answering /healthz (waited for up
    to `wait` seconds): (its process, its URL); stopped on exit."""
    url = f"http://127.0.0.1:{free_port()}"
    argv = [str(BIN / "tapwell"), "--project", str(root), "serve", "--port", url.rsplit(":", 1)[1]]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(wait)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (not its children), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in bytes, from /proc/PID/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def idle(pid: int, seconds: float) -> dict[str, float]:
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    rss = []
    while time.monotonic() - t0 < seconds:
        rss.append(memory(pid)["VmRSS"])
        time.sleep(1)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    return {
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": statistics.median(rss) / 2**20,
        "peak_mb": memory(pid)["VmHWM"] / 2**20,
    }


def run_now(client: httpx.Client, name: str) -> tuple[float, str]:
    """Seconds from the POST to the first log line over SSE, and the run's final status."""
    t0 = time.perf_counter()
    started = client.post(f"/api/integrations/{name}/runs")
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    first, event, status = None, None, "?"
    with client.stream(
        "GET", f"/api/runs/{run_id}/log", headers={"Accept": "text/event-stream"}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "line" and first is None:
                    first = time.perf_counter() - t0
                elif event == "end":
                    status = json.loads(line[6:])["status"]
                    break
    assert first is not None, f"run {run_id}: no log line"
    return first, status


def by_hand(root: Path, name: str) -> tuple[float, str]:
    """The anchor: `tapwell run NAME` from a shell, until its first line is in the store (its
    run id handed to it, as serve does, so the bench reads one log file, not the history)."""
    store = open_backend(load_project(root / "tapwell.yml"))
    run_id = new_run_id(dt.datetime.now(dt.UTC))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "tapwell"), "--project", str(root), "run", name, "--quiet", "--run-id", run_id],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = None
    while first is None:
        if store.read_log(run_id):
            first = time.perf_counter() - t0
        elif proc.poll() is not None:
            raise SystemExit(f"tapwell run {name} exited {proc.returncode} without a log line")
        else:
            time.sleep(0.01)
    code = proc.wait(300)
    store.close()
    return first, "succeeded" if code == 0 else f"exit {code}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--integrations", type=int, default=50)
    parser.add_argument("--history", type=int, default=1000, help="finished runs in the store")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = write_project(root, args.integrations, args.history)
        with serving(root, 120) as (proc, url), httpx.Client(base_url=url, timeout=120) as client:
            listed = client.get("/api/integrations").json()["integrations"]
            scheduled = sum(1 for i in listed if i["next_run_at"])
            time.sleep(5)  # past the start's own work
            load0 = os.getloadavg()[0]
            rest = idle(proc.pid, args.idle_seconds)
            print(
                f"idle, {scheduled} integrations scheduled, {args.history} runs in the "
                f"history, {args.idle_seconds:g} s: CPU {rest['cpu_pct']:.2f}% of a core, "
                f"RSS {rest['rss_mb']:.1f} MiB (peak {rest['peak_mb']:.1f} MiB); "
                f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}"
            )
            scrape, health = [], []
            for _ in range(5):  # a scrape reads the store's run totals and the newest runs
                for path, times in (("/metrics", scrape), ("/healthz", health)):
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200
                    times.append(time.perf_counter() - t0)
            m, h = statistics.median(scrape), statistics.median(health)
            print(
                f"GET /metrics: median {m * 1000:.0f} ms of 5, GET /healthz {h * 1000:.1f} ms "
                f"(the round trip), ratio {m / h:.0f}; load average {os.getloadavg()[0]:.2f}"
            )
            served, direct = [], []
            for n in range(args.runs):
                seconds, status = run_now(client, names[2 * n % len(names)])
                served.append(seconds)
                failed |= status != "succeeded"
                seconds, status = by_hand(root, names[(2 * n + 1) % len(names)])
                direct.append(seconds)
                failed |= status != "succeeded"
            s, d = statistics.median(served), statistics.median(direct)
            print(
                f"run now -> first log line over SSE: median {s:.2f} s of {args.runs} "
                f"(min {min(served):.2f}, max {max(served):.2f}); `tapwell run` by hand -> "
                f"first line in the store: median {d:.2f} s (min {min(direct):.2f}, max "
                f"{max(direct):.2f}); ratio {s / d:.2f}; load average {os.getloadavg()[0]:.2f}"
            )
    if failed:
        print("a run did not succeed", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
