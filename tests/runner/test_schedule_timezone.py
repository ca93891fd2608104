"""An integration's `timezone:` read alike by `tapwell serve`, the crontab of `tapwell schedule
crontab` (a CRON_TZ= line per time zone) and the CronJobs of `tapwell schedule kubernetes`
(spec.timeZone): each starts `0 6 * * *` in Europe/Paris at 06:00 in Paris, winter and summer,
and one without `timezone:` in UTC; serve's page names the same zone (tapwell.runner.cron).
The crontab's comment line for Debian's cron (which ignores CRON_TZ) is there only when this
machine's clock differs from a time zone of the crontab."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from croniter import croniter

DEMO_TAP = {
    "name": "tap-csv",
    "config": {"base_dir": "data", "streams": [{"name": "t", "path": "t.csv"}]},
}
JSONL = {"name": "target-jsonl", "config": {"destination_path": "out"}}
WINTER = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 10, 12, tzinfo=dt.UTC)


def integration(schedule: str, timezone: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"tap": DEMO_TAP, "target": JSONL, "schedule": schedule}
    if timezone:
        raw["timezone"] = timezone
    return raw


def write_project(proj: Any) -> None:
    proj.write(
        {
            "integrations": {
                "paris": integration("0 6 * * *", "Europe/Paris"),
                "plain": integration("15 2 * * *"),
                "paris_mondays": integration("30 7 * * mon", "Europe/Paris"),
                "ny": integration("0 6 * * *", "America/New_York"),
            }
        }
    )


def next_time(cron: str, zone: str, after: dt.datetime) -> dt.datetime:
    """The next start of `cron` read in `zone`, as cronie (CRON_TZ) and Kubernetes read it."""
    local = croniter(cron, after.astimezone(ZoneInfo(zone))).get_next(dt.datetime)
    return local.astimezone(dt.UTC)


def crontab_entries(text: str) -> dict[str, tuple[str, str]]:
    """Integration -> (cron expression, the CRON_TZ in force at its line)."""
    zone, entries = None, {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("CRON_TZ="):
            zone = line.partition("=")[2]
            continue
        fields = line.split()
        name = fields[fields.index("run") + 1]
        assert zone is not None, f"{line} comes before any CRON_TZ line"
        entries[name] = (" ".join(fields[:5]), zone)
    return entries


def serve_next_times(proj: Any, now: dt.datetime) -> dict[str, dt.datetime]:
    from tapwell.runner.serve.manager import RunManager
    from tapwell.runner.serve.scheduler import Scheduler
    from tapwell.runner.statestore import open_backend

    project = proj.load()
    store = open_backend(project)
    manager = RunManager(project.root, store, 1)
    scheduler = Scheduler(project.root / "tapwell.yml", project, store, manager, now=now)
    return dict(scheduler.next_due)


def page_zones(proj: Any) -> dict[str, str]:
    """The time zone serve's integrations page names beside each schedule."""
    from tapwell.runner.serve.views import integration_view
    from tapwell.runner.statestore import open_backend

    project = proj.load()
    store = open_backend(project)
    return {
        name: integration_view(project, store, name, next_run=None, running=None, last=None)[
            "timezone"
        ]
        for name in project.names
    }


def test_crontab_cronjobs_and_serve_start_at_the_same_times(proj: Any) -> None:
    write_project(proj)
    done = proj.cli("schedule", "crontab", env={"TZ": "UTC"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("CRON_TZ=")] == [
        "CRON_TZ=America/New_York",  # one per time zone, as they first come by name
        "CRON_TZ=Europe/Paris",
        "CRON_TZ=UTC",
    ]
    cron = crontab_entries(done.stdout)
    assert cron == {
        "paris": ("0 6 * * *", "Europe/Paris"),
        "paris_mondays": ("30 7 * * mon", "Europe/Paris"),
        "plain": ("15 2 * * *", "UTC"),
        "ny": ("0 6 * * *", "America/New_York"),
    }

    assert proj.cli("schedule", "kubernetes").returncode == 0
    from kubernetes.client import ApiClient

    jobs = {}
    for path in (proj.root / "deploy").glob("*.cronjob.yaml"):
        doc = yaml.safe_load(path.read_text())
        job = ApiClient().deserialize(json.dumps(doc), "V1CronJob", "application/json")
        assert ApiClient().sanitize_for_serialization(job) == doc  # nothing the client drops
        name = job.spec.job_template.spec.template.spec.containers[0].args[1]
        jobs[name] = (job.spec.schedule, job.spec.time_zone)
    assert jobs == cron

    for now in (WINTER, SUMMER):
        serve = serve_next_times(proj, now)
        for name, (expression, zone) in cron.items():
            assert next_time(expression, zone, now) == serve[name], (name, now)
    assert page_zones(proj) == {name: zone for name, (_, zone) in cron.items()}
    paris = ZoneInfo("Europe/Paris")
    assert serve_next_times(proj, WINTER)["paris"].astimezone(paris).hour == 6
    assert serve_next_times(proj, SUMMER)["paris"] == dt.datetime(2026, 7, 11, 4, tzinfo=dt.UTC)


def debian_note(proj: Any, machine_zone: str) -> list[str]:
    done = proj.cli("schedule", "crontab", env={"TZ": machine_zone})
    assert done.returncode == 0, done.stderr
    return [ln for ln in done.stdout.splitlines()[1:] if ln.startswith("#")]


def test_a_comment_line_for_debians_cron_only_when_its_clock_differs(proj: Any) -> None:
    write_project(proj)
    [note] = debian_note(proj, "UTC")
    assert note == (
        "# Debian's cron ignores CRON_TZ (cronie and systemd-cron read it): there "
        "ny (America/New_York), paris (Europe/Paris), paris_mondays (Europe/Paris) would start "
        "by this machine's clock (UTC) instead; use cronie or `tapwell serve`"
    )
    [note] = debian_note(proj, "Europe/Paris")
    assert "there ny (America/New_York), plain (UTC) would start by this machine's clock" in note
    # the same clock under another name (Europe/Brussels keeps Paris time all year) is no matter
    assert "paris" not in debian_note(proj, "Europe/Brussels")[0]

    proj.write({"integrations": {"plain": integration("15 2 * * *")}})
    assert debian_note(proj, "UTC") == []
    assert debian_note(proj, "Etc/UTC") == []
    assert len(debian_note(proj, "America/New_York")) == 1
