"""/metrics in the Prometheus text format, computed from the history store at each scrape (so
the figures survive a restart of serve and include runs started by cron or a CronJob). Labels
are integration, stream, status and stage names only: never a value from a config."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from tapwell.runner.history import DURATION_BUCKETS, RunRecord, Totals, utcnow
from tapwell.runner.serve.views import state_age_seconds

if TYPE_CHECKING:
    from tapwell.runner.serve.service import Service

RECENT = 10  # newest runs read per integration (running now, the latest stage figures)


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


class StoreCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        service = self.service
        store = service.store
        names = service.scheduler.project.names
        yield from run_families(store.totals(), store.latest(names, RECENT))
        now = utcnow()
        age = GaugeMetricFamily(
            "tapwell_state_age_seconds",
            "Seconds since the integration's state was last recorded",
            labels=["integration"],
        )
        nxt = GaugeMetricFamily(
            "tapwell_schedule_next_run_timestamp_seconds",
            "When the scheduler starts the integration next (Unix time)",
            labels=["integration"],
        )
        upcoming = service.scheduler.next_runs()
        for name in names:
            seconds = state_age_seconds(store, name, now)
            if seconds is not None:
                age.add_metric([name], seconds)
            when = upcoming.get(name)
            if when is not None:
                nxt.add_metric([name], _ts(when))
        yield age
        yield nxt


def run_families(totals: Totals, recent: dict[str, list[RunRecord]]) -> Iterator[Metric]:
    """The counters and the histogram from the store's run totals (they only grow, whatever the
    length of the history, and survive a restart); the gauges from each integration's newest
    runs (newest first)."""
    total = CounterMetricFamily(
        "tapwell_runs", "Runs by integration and final status", labels=["integration", "status"]
    )
    last_ok = GaugeMetricFamily(
        "tapwell_run_last_success_timestamp_seconds",
        "When the integration's last successful run ended (Unix time)",
        labels=["integration"],
    )
    rows = CounterMetricFamily(
        "tapwell_rows", "Rows loaded, per integration and stream", labels=["integration", "stream"]
    )
    hist = HistogramMetricFamily(
        "tapwell_run_duration_seconds",
        "Duration of finished runs",
        labels=["integration"],
    )
    for name, kinds in sorted(totals.items()):
        for status, n in sorted(kinds.get("runs", {}).items()):
            total.add_metric([name, status], n)
        for stream, n in sorted(kinds.get("rows", {}).items()):
            rows.add_metric([name, stream], n)
        if "" in kinds.get("last_success", {}):
            last_ok.add_metric([name], kinds["last_success"][""])
        count = kinds.get("duration_count", {}).get("")
        if count:
            le = kinds.get("duration_le", {})
            buckets = [(str(float(b)), le.get(str(float(b)), 0.0)) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", count))
            hist.add_metric([name], buckets, kinds.get("duration_sum", {}).get("", 0.0))
    yield total
    yield last_ok
    yield rows
    yield hist
    running = 0
    latest: dict[str, RunRecord] = {}
    fanned: dict[str, RunRecord] = {}  # each integration's latest run with per-target figures
    for name, runs in recent.items():
        running += sum(1 for run in runs if run.outcome == "running")
        with_stages = [run for run in runs if run.stages]
        if with_stages:
            latest[name] = with_stages[0]
        with_targets = [run for run in runs if run.targets]
        if with_targets:
            fanned[name] = with_targets[0]
    gauge = GaugeMetricFamily("tapwell_runs_running", "Runs going on now")
    gauge.add_metric([], running)
    yield gauge
    yield from _stage_families(latest)
    yield from _target_families(fanned)


def _stage_families(latest: dict[str, RunRecord]) -> Iterator[Metric]:
    """From each integration's latest run with figures: peak RSS per stage, and the bytes in the
    pipe now: the running run's latest sample, 0 once it has ended (a gauge reads as the present,
    and a finished run's last sample would read as bytes still waiting)."""
    rss = GaugeMetricFamily(
        "tapwell_run_peak_rss_bytes",
        "Peak resident memory of each stage in the integration's latest run",
        labels=["integration", "stage"],
    )
    pipe = GaugeMetricFamily(
        "tapwell_pipe_bytes",
        "Bytes waiting in the tap -> target pipe now (the running run's latest sample; 0 when "
        "none runs)",
        labels=["integration"],
    )
    for name, run in sorted(latest.items()):
        summary: dict[str, Any] = run.stages.get("summary") or {}
        for stage in ("tap", "target"):
            peak = (summary.get(stage) or {}).get("peak_rss")
            if peak:
                rss.add_metric([name, stage], peak)
        if "pipe_bytes_last" in summary:
            pipe.add_metric([name], summary["pipe_bytes_last"] if run.outcome == "running" else 0)
    yield rss
    yield pipe


def _target_families(fanned: dict[str, RunRecord]) -> Iterator[Metric]:
    """From each fan-out integration's latest run: per target how far behind the tap it ended
    (STATE messages and seconds; 0 for one that caught up) and the seconds the copy waited on
    it. Labels: integration and target names only."""
    labels = ["integration", "target"]
    states = GaugeMetricFamily(
        "tapwell_target_behind_states",
        "STATE messages the target's last commit was behind the tap's last, in the latest run",
        labels=labels,
    )
    seconds = GaugeMetricFamily(
        "tapwell_target_behind_seconds",
        "Seconds between the tap writing the target's last committed STATE and its last STATE, "
        "in the latest run",
        labels=labels,
    )
    waited = GaugeMetricFamily(
        "tapwell_target_copy_wait_seconds",
        "Seconds the fan-out copy waited for the target to read, in the latest run",
        labels=labels,
    )
    for name, run in sorted(fanned.items()):
        for target, f in sorted(run.targets.items()):
            if target.startswith("_") or not isinstance(f, dict):
                continue
            lag = f.get("behind") or {}
            states.add_metric([name, target], float(lag.get("states", 0)))
            seconds.add_metric([name, target], float(lag.get("seconds", 0.0)))
            waited.add_metric([name, target], float(f.get("waited_seconds", 0.0)))
    yield states
    yield seconds
    yield waited


def render(service: Service) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(service))
    return generate_latest(registry), CONTENT_TYPE_LATEST
