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

from tapwell.runner.history import FINISHED, RunRecord, utcnow
from tapwell.runner.serve.views import state_age_seconds

if TYPE_CHECKING:
    from tapwell.runner.serve.service import Service

BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
HISTORY = 10_000  # runs read per scrape


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


class StoreCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        service = self.service
        store = service.store
        names = service.scheduler.project.names
        runs = store.runs(None, HISTORY, brief=True)
        yield from run_families(runs)
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


def run_families(runs: list[RunRecord]) -> Iterator[Metric]:
    """Every metric that follows from the run records alone (newest first)."""
    total = CounterMetricFamily(
        "tapwell_runs", "Runs by integration and final status", labels=["integration", "status"]
    )
    counts: dict[tuple[str, str], int] = {}
    last_ok = GaugeMetricFamily(
        "tapwell_run_last_success_timestamp_seconds",
        "When the integration's last successful run ended (Unix time)",
        labels=["integration"],
    )
    seen_ok: set[str] = set()
    rows = CounterMetricFamily(
        "tapwell_rows", "Rows loaded, per integration and stream", labels=["integration", "stream"]
    )
    row_sums: dict[tuple[str, str], int] = {}
    durations: dict[str, list[float]] = {}
    running = 0
    latest: dict[str, RunRecord] = {}
    fanned: dict[str, RunRecord] = {}  # each integration's latest run with per-target figures
    for run in runs:
        counts[(run.integration, run.outcome)] = counts.get((run.integration, run.outcome), 0) + 1
        if run.outcome == "running":
            running += 1
        if run.outcome == "succeeded" and run.integration not in seen_ok and run.ended_at:
            seen_ok.add(run.integration)
            last_ok.add_metric([run.integration], _ts(run.ended_at))
        for stream, n in run.rows.items():
            key = (run.integration, stream)
            row_sums[key] = row_sums.get(key, 0) + n
        if run.outcome in FINISHED and run.ended_at and run.outcome != "skipped":
            seconds = (run.ended_at - run.started_at).total_seconds()
            durations.setdefault(run.integration, []).append(seconds)
        if run.stages and run.integration not in latest:
            latest[run.integration] = run
        if run.targets and run.integration not in fanned:
            fanned[run.integration] = run
    for (name, status), n in sorted(counts.items()):
        total.add_metric([name, status], n)
    for (name, stream), n in sorted(row_sums.items()):
        rows.add_metric([name, stream], n)
    yield total
    yield last_ok
    yield rows
    yield _histogram(durations)
    gauge = GaugeMetricFamily("tapwell_runs_running", "Runs going on now")
    gauge.add_metric([], running)
    yield gauge
    yield from _stage_families(latest)
    yield from _target_families(fanned)


def _histogram(durations: dict[str, list[float]]) -> Metric:
    family = HistogramMetricFamily(
        "tapwell_run_duration_seconds",
        "Duration of finished runs",
        labels=["integration"],
    )
    for name, values in sorted(durations.items()):
        buckets: list[tuple[str, float]] = [
            (str(float(b)), float(sum(1 for v in values if v <= b))) for b in BUCKETS
        ]
        buckets.append(("+Inf", float(len(values))))
        family.add_metric([name], buckets, sum(values))
    return family


def _stage_families(latest: dict[str, RunRecord]) -> Iterator[Metric]:
    """From each integration's latest run with figures: peak RSS per stage, bytes in the pipe."""
    rss = GaugeMetricFamily(
        "tapwell_run_peak_rss_bytes",
        "Peak resident memory of each stage in the integration's latest run",
        labels=["integration", "stage"],
    )
    pipe = GaugeMetricFamily(
        "tapwell_pipe_bytes",
        "Bytes waiting in the tap -> target pipe at the latest sample of the latest run",
        labels=["integration"],
    )
    for name, run in sorted(latest.items()):
        summary: dict[str, Any] = run.stages.get("summary") or {}
        for stage in ("tap", "target"):
            peak = (summary.get(stage) or {}).get("peak_rss")
            if peak:
                rss.add_metric([name, stage], peak)
        if "pipe_bytes_last" in summary:
            pipe.add_metric([name], summary["pipe_bytes_last"])
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
