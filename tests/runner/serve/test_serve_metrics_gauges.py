"""/metrics' gauges read as the present: `tapwell_pipe_bytes` is the running run's latest sample
of the bytes waiting in its pipe, and 0 once the run ended (a finished run's last sample, 685 kB,
read as bytes waiting now)."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector
from tapwell.runner.history import RunRecord
from tapwell.runner.serve.metrics import run_families

T0 = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)


def _run(name: str, outcome: str, last: int) -> RunRecord:
    summary = {"tap": {"peak_rss": 1000}, "pipe_bytes_max": 700_000, "pipe_bytes_last": last}
    return RunRecord(
        f"20261208T010000Z-{name}", name, T0, outcome=outcome, stages={"summary": summary}
    )


def _pipe_lines(recent: dict[str, list[RunRecord]]) -> list[str]:
    class Once(Collector):
        def collect(self):
            return run_families({}, recent)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Once())
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if line.startswith("tapwell_pipe_bytes")]


def test_the_pipe_gauge_of_an_ended_run_is_0_and_of_a_running_one_its_last_sample():
    recent = {
        "done": [_run("done", "succeeded", 685_000)],
        "stopped": [_run("stopped", "interrupted", 4096)],
        "going": [_run("going", "running", 12_288)],
    }
    assert _pipe_lines(recent) == [
        'tapwell_pipe_bytes{integration="done"} 0.0',
        'tapwell_pipe_bytes{integration="going"} 12288.0',
        'tapwell_pipe_bytes{integration="stopped"} 0.0',
    ]
