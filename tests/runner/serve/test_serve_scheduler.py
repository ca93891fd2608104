"""The scheduler through its public clock (`Scheduler.tick(now)`), starting real `tapwell run`
processes: cron times in a time zone, an overlapping run skipped and recorded, `after:` chains,
`max_parallel_runs` queueing in order, catchup, and an invalid edit of tapwell.yml that leaves
the last good one in force. `after:` cycles are a config error naming the cycle."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml
from helpers.runner_project import fake_integration, wait_for

T0 = dt.datetime(2026, 1, 5, 0, 0, 30, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0.replace(second=0) + dt.timedelta(minutes=minutes)


def integration(proj, name, **kw):
    raw = fake_integration(
        proj, rows=kw.pop("rows", 20), **{k: v for k, v in kw.items() if k in ("mode", "release")}
    )
    raw["tap"]["config"]["counter"] = str(proj.root / f"{name}.txt")
    raw["target"]["config"]["path"] = str(proj.root / f"{name}.duckdb")
    for key in ("schedule", "after", "catchup", "timezone"):
        if key in kw:
            raw[key] = kw[key]
    return raw


def start(proj, integrations, max_parallel=4, now=T0):
    from tapwell.runner.serve.manager import RunManager
    from tapwell.runner.serve.scheduler import Scheduler
    from tapwell.runner.statestore import open_backend

    proj.write({"integrations": integrations, "serve": {"max_parallel_runs": max_parallel}})
    project = proj.load()
    store = open_backend(project)
    manager = RunManager(project.root, store, max_parallel)
    scheduler = Scheduler(project.root / "tapwell.yml", project, store, manager, now=now)
    manager.on_finish = scheduler.finished
    return scheduler, manager, store


def idle(manager):
    wait_for(lambda: not manager.running and not manager.queue, "the runs to end", 120)


def test_cron_in_a_time_zone():
    from tapwell.runner.serve.scheduler import cron_next, cron_prev

    winter = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    assert cron_next("15 2 * * *", "Europe/Paris", winter) == dt.datetime(
        2026, 1, 11, 1, 15, tzinfo=dt.UTC
    )
    summer = dt.datetime(2026, 7, 10, 12, tzinfo=dt.UTC)
    assert cron_next("15 2 * * *", "Europe/Paris", summer) == dt.datetime(
        2026, 7, 11, 0, 15, tzinfo=dt.UTC
    )
    assert cron_prev(
        "0 * * * *", "UTC", dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.UTC)
    ) == dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.UTC)


def test_runs_on_time_and_an_overlapping_time_is_skipped_and_recorded(proj):
    go = proj.root / "go"
    scheduler, manager, store = start(
        proj, {"w": integration(proj, "w", mode="wait", release=str(go), schedule="* * * * *")}
    )
    assert scheduler.next_runs() == {"w": at(1)}
    assert scheduler.tick(T0) == []
    [job] = scheduler.tick(at(1))
    wait_for(lambda: store.run(job.run_id).outcome == "running", "the run to start")
    assert scheduler.tick(at(2)) == []  # still running: skipped, not queued
    go.touch()
    idle(manager)
    runs = store.runs("w", 10)
    assert [(r.outcome, r.trigger) for r in runs] == [
        ("skipped", "schedule"),
        ("succeeded", "schedule"),
    ]
    assert f"while run {job.run_id} was still going: skipped" in runs[0].error
    assert scheduler.next_runs() == {"w": at(3)}


def test_after_chains_and_max_parallel_runs(proj):
    scheduler, manager, store = start(
        proj,
        {
            "a": integration(proj, "a", schedule="* * * * *"),
            "b": integration(proj, "b", after=["a"]),
            "c": integration(proj, "c", after=["a", "b"]),
            "x": integration(proj, "x", schedule="* * * * *"),
            "y": integration(proj, "y", schedule="* * * * *"),
        },
        max_parallel=1,
    )
    started = scheduler.tick(at(1))
    assert [j.integration for j in started] == ["a", "x", "y"]
    assert [store.run(j.run_id).outcome for j in started[1:]] == ["queued", "queued"]
    idle(manager)
    ran = sorted(store.runs(None, 10), key=lambda r: r.started_at)
    assert [r.integration for r in ran] == ["a", "x", "y"]  # one at a time, in order
    for earlier, later in zip(ran, ran[1:]):
        assert later.started_at >= earlier.ended_at
    assert [j.integration for j in scheduler.tick(at(1) + dt.timedelta(seconds=5))] == ["b"]
    idle(manager)
    assert [j.integration for j in scheduler.tick(at(1) + dt.timedelta(seconds=10))] == ["c"]
    idle(manager)
    assert scheduler.tick(at(1) + dt.timedelta(seconds=15)) == []  # each once per success of a
    chain = {r.integration: r for r in store.runs(None, 10)}
    assert chain["b"].trigger == "after" and chain["c"].trigger == "after"
    assert all(r.outcome == "succeeded" for r in chain.values())


def test_catchup_runs_a_missed_time_once_and_only_when_asked(proj):
    first, manager, store = start(
        proj,
        {
            "hourly": integration(proj, "hourly", schedule="0 * * * *", catchup=True),
            "plain": integration(proj, "plain", schedule="0 * * * *"),
        },
        now=T0,  # 00:00:30: the 00:00 time passed while serve was down
    )
    assert first.next_runs() == {"hourly": at(0), "plain": at(60)}
    assert [j.integration for j in first.tick(T0)] == ["hourly"]
    idle(manager)
    assert first.next_runs()["hourly"] == at(60)


def _every_time(scheduler, start, end):
    """What `upcoming` must list: each time from a croniter of its own (the code before the
    scheduler kept its series), from each integration's next time on."""
    from tapwell.runner.serve.scheduler import cron_next

    out = []
    for name, when in scheduler.next_runs().items():
        raw = scheduler.project.raw["integrations"][name]
        while when <= end:
            if when >= start:
                out.append((name, when))
            when = cron_next(raw["schedule"], raw.get("timezone", "UTC"), when)
    return sorted(out, key=lambda item: (item[1], item[0]))


def test_upcoming_lists_every_time_across_dst_ticks_and_edits(proj):
    """The schedule page's times (the scheduler keeps each integration's series between reads):
    right over the night Paris's clocks go forward, after a tick moved the next time on, and
    after an edit of the schedule."""
    paris = ZoneInfo("Europe/Paris")
    now = dt.datetime(2026, 3, 28, 23, 50, tzinfo=dt.UTC)  # 00:50 in Paris, winter time
    night = integration(proj, "night", schedule="*/30 1-3 * * *", timezone="Europe/Paris")
    daily = integration(proj, "daily", schedule="15 2 * * *", timezone="America/New_York")
    scheduler, manager, store = start(proj, {"night": night, "daily": daily}, now=now)
    end = now + dt.timedelta(hours=30)
    first = scheduler.upcoming(now, end)
    assert first == _every_time(scheduler, now, end)
    tonight = [t.astimezone(paris) for n, t in first if n == "night"][:4]
    assert [f"{t:%H:%M %Z}" for t in tonight] == [
        "01:00 CET",
        "01:30 CET",
        "03:00 CEST",
        "03:30 CEST",
    ]
    assert scheduler.upcoming(now, end) == first  # read again, from the kept series

    [job] = scheduler.tick(dt.datetime(2026, 3, 29, 0, 0, 1, tzinfo=dt.UTC))  # night at 01:00
    idle(manager)
    later = dt.datetime(2026, 3, 29, 0, 0, 2, tzinfo=dt.UTC)
    assert scheduler.upcoming(later, end) == _every_time(scheduler, later, end) == first[1:]

    raw = yaml.safe_load((proj.root / "tapwell.yml").read_text())
    raw["integrations"]["night"]["schedule"] = "0 * * * *"
    (proj.root / "tapwell.yml").write_text(yaml.safe_dump(raw))
    scheduler.tick(later)
    hourly = [t for n, t in scheduler.upcoming(later, end) if n == "night"]
    assert hourly == [t for n, t in _every_time(scheduler, later, end) if n == "night"]
    assert hourly[:2] == [dt.datetime(2026, 3, 29, h, tzinfo=dt.UTC) for h in (1, 2)]


def test_an_invalid_edit_keeps_the_last_good_project(proj):
    scheduler, manager, store = start(proj, {"w": integration(proj, "w", schedule="* * * * *")})
    good = (proj.root / "tapwell.yml").read_text()
    (proj.root / "tapwell.yml").write_text(good + "\n  broken: [\n")
    assert [j.integration for j in scheduler.tick(at(1))] == ["w"]  # still scheduled
    assert "invalid YAML" in scheduler.error
    idle(manager)
    raw = yaml.safe_load(good)
    raw["integrations"]["w"]["schedule"] = "*/5 * * * *"
    (proj.root / "tapwell.yml").write_text(yaml.safe_dump(raw))
    scheduler.tick(at(2))
    assert scheduler.error is None and scheduler.next_runs() == {"w": at(5)}


@pytest.mark.parametrize(
    ("after", "message"),
    [
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, "after: forms a cycle a -> b -> c -> a"),
        ({"a": ["a"]}, "after: forms a cycle a -> a"),
        ({"a": ["nope"]}, "integrations.a.after names 'nope', which is not an integration"),
    ],
)
def test_after_cycles_and_unknown_names_are_config_errors(proj, after, message):
    from tapwell.singer.errors import ConfigError

    proj.write(
        {"integrations": {n: {**integration(proj, n), "after": after.get(n, [])} for n in "abc"}}
    )
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as caught:
        proj.load()
    assert "\n" not in str(caught.value)
    done = proj.cli("run", "a")
    assert done.returncode == 2 and message in done.stderr


def test_an_unknown_time_zone_is_a_config_error(proj):
    proj.write(
        {
            "integrations": {
                "a": integration(proj, "a", schedule="0 2 * * *", timezone="Mars/Olympus")
            }
        }
    )
    done = proj.cli("run", "a")
    assert done.returncode == 2
    assert "integrations.a.timezone 'Mars/Olympus' is not a time zone" in done.stderr


def test_catchup_sees_a_run_older_than_the_last_thousand(proj):
    """The scheduler reads the newest 1,000 runs at start; a `catchup:` integration whose run at
    its last time is older than those (other integrations ran 1,000 times since) did run: it is
    not run again at start (a second run of the same time)."""
    import orjson
    from tapwell.runner.history import RunRecord, new_run_id

    runs = proj.root / "state" / ".runs"
    runs.mkdir(parents=True)

    def ran(name, at):  # a finished run's record, as the file store keeps it
        record = RunRecord(new_run_id(at), name, at, at, outcome="succeeded", trigger="schedule")
        (runs / f"{record.id}.json").write_bytes(orjson.dumps(record.to_json()))

    ran("hourly", at(0) + dt.timedelta(seconds=1))  # the 00:00 run happened
    for n in range(1000):  # then 1,000 runs of others, all before serve starts at 00:00:30
        ran("busy", at(0) + dt.timedelta(seconds=2, microseconds=20 * n))
    scheduler, manager, store = start(
        proj,
        {
            "hourly": integration(proj, "hourly", schedule="0 * * * *", catchup=True),
            "busy": integration(proj, "busy", schedule="* * * * *"),
        },
    )
    assert scheduler.next_runs() == {"hourly": at(60), "busy": at(1)}
    assert scheduler.tick(T0) == []


def test_an_edit_of_max_parallel_runs_applies_at_once(proj):
    """Raising serve.max_parallel_runs in tapwell.yml starts the queued runs without a restart."""
    go = proj.root / "go"
    integrations = {
        "w": integration(proj, "w", mode="wait", release=str(go)),
        "q": integration(proj, "q"),
    }
    scheduler, manager, store = start(proj, integrations, max_parallel=1)
    waiting = manager.submit("w", "manual")
    wait_for(lambda: store.run(waiting.run_id).outcome == "running", "the first run")
    queued = manager.submit("q", "manual")
    assert store.run(queued.run_id).outcome == "queued"
    proj.write({"integrations": integrations, "serve": {"max_parallel_runs": 2}})
    scheduler.tick(T0)
    assert scheduler.error is None and manager.max_parallel == 2
    wait_for(lambda: store.run(queued.run_id).outcome == "succeeded", "the queued run", 120)
    assert store.run(waiting.run_id).outcome == "running"  # both went at once
    go.touch()
    idle(manager)


def test_cancel_a_queued_run_and_it_never_starts(proj):
    go = proj.root / "go"
    integrations = {
        "w": integration(proj, "w", mode="wait", release=str(go)),
        "q": integration(proj, "q"),
    }
    scheduler, manager, store = start(proj, integrations, max_parallel=1)
    waiting = manager.submit("w", "manual")
    queued = manager.submit("q", "manual")
    assert manager.cancel(queued.run_id) == "cancelled"
    go.touch()
    idle(manager)
    record = store.run(queued.run_id)
    assert (record.outcome, record.error) == (
        "interrupted",
        "cancelled through the API before it started",
    )
    assert store.run(waiting.run_id).outcome == "succeeded"
    assert not (proj.root / "q.txt").exists()  # q's tap never ran
