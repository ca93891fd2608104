"""At the end of a `tapwell run` outside serve (cron, a CronJob) with TAPWELL_PUSHGATEWAY set,
the run's metrics go to that Prometheus Pushgateway (pushadd, job `tapwell`, grouped by
integration): the figures serve would export, for runs serve never sees. A failure to push is a
warning, never a failed run."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable
from typing import Any

from tapwell.runner.history import RunRecord
from tapwell.runner.statestore import open_backend


def _shown(url: str) -> str:
    """The URL without any user:password in it (for messages)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def run_registry(run: RunRecord) -> Any:
    """A registry holding the run's gauges (prometheus_client)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    if run.outcome == "succeeded" and run.ended_at:
        Gauge(
            "tapwell_run_last_success_timestamp_seconds",
            "When the integration's last successful run ended (Unix time)",
            registry=registry,
        ).set(run.ended_at.timestamp())
    if run.ended_at:
        Gauge(
            "tapwell_run_last_finished_timestamp_seconds",
            "When the integration's last run ended (Unix time)",
            registry=registry,
        ).set(run.ended_at.timestamp())
        Gauge(
            "tapwell_run_last_duration_seconds",
            "Duration of the integration's last run",
            registry=registry,
        ).set((run.ended_at - run.started_at).total_seconds())
    status = Gauge(
        "tapwell_run_last_status",
        "1 for the status of the integration's last run",
        ["status"],
        registry=registry,
    )
    status.labels(run.outcome).set(1)
    rows = Gauge(
        "tapwell_run_last_rows", "Rows per stream of the last run", ["stream"], registry=registry
    )
    for stream, n in run.rows.items():
        rows.labels(stream).set(n)
    summary = run.stages.get("summary") or {}
    rss = Gauge(
        "tapwell_run_peak_rss_bytes",
        "Peak resident memory of each stage in the last run",
        ["stage"],
        registry=registry,
    )
    for stage in ("tap", "target"):
        peak = (summary.get(stage) or {}).get("peak_rss")
        if peak:
            rss.labels(stage).set(peak)
    if "pipe_bytes_max" in summary:
        Gauge(
            "tapwell_run_pipe_bytes_max",
            "Most bytes seen waiting in the tap -> target pipe in the last run",
            registry=registry,
        ).set(summary["pipe_bytes_max"])
    _target_gauges(run, registry)
    return registry


def _target_gauges(run: RunRecord, registry: Any) -> None:
    """A fan-out run's lag and copy wait per target (as serve's /metrics has them)."""
    from prometheus_client import Gauge

    names = [n for n, f in run.targets.items() if not n.startswith("_") and isinstance(f, dict)]
    if not names:
        return
    states = Gauge(
        "tapwell_target_behind_states",
        "STATE messages the target's last commit was behind the tap's last, in the last run",
        ["target"],
        registry=registry,
    )
    seconds = Gauge(
        "tapwell_target_behind_seconds",
        "Seconds between the tap writing the target's last committed STATE and its last STATE",
        ["target"],
        registry=registry,
    )
    waited = Gauge(
        "tapwell_target_copy_wait_seconds",
        "Seconds the fan-out copy waited for the target to read, in the last run",
        ["target"],
        registry=registry,
    )
    for name in names:
        f = run.targets[name]
        lag = f.get("behind") or {}
        states.labels(name).set(lag.get("states", 0))
        seconds.labels(name).set(lag.get("seconds", 0.0))
        waited.labels(name).set(f.get("waited_seconds", 0.0))


def push_after_run(project: Any, name: str, run_id: str, warn: Callable[[str], None]) -> None:
    """With TAPWELL_PUSHGATEWAY set, push the run's metrics there (a failure is one warning)."""
    url = os.environ.get("TAPWELL_PUSHGATEWAY")
    if url:
        problem = push_run(project, name, run_id, url)
        if problem:
            warn(f"tapwell: warning: {problem}")


def push_run(project: Any, name: str, run_id: str, url: str) -> str | None:
    """Push run `run_id`'s metrics to the Pushgateway at `url`; the problem as a line, or None."""
    try:
        from prometheus_client import pushadd_to_gateway
    except ImportError:
        return "TAPWELL_PUSHGATEWAY is set but prometheus_client is missing: pip install 'tapwell[serve]'"
    store = open_backend(project, name)
    try:
        run = store.run(run_id)
    finally:
        store.close()
    if run is None:
        return f"run {run_id} is not in the store: no metrics pushed"
    try:
        pushadd_to_gateway(
            url,
            job="tapwell",
            grouping_key={"integration": run.integration},
            registry=run_registry(run),
            timeout=10,
        )
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"could not push the run's metrics to the Pushgateway at {_shown(url)}: {reason}"
    return None
