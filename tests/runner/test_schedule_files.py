"""`tapwell schedule kubernetes|crontab` as a user runs them, again after editing tapwell.yml:
manifests of integrations that lost their schedule go, names that make one CronJob are refused,
cron ranges are checked when tapwell.yml loads, the CronJobs name their command and image, and
the log a crontab line writes is bounded."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEMO_TAP = {
    "name": "tap-csv",
    "config": {"base_dir": "data", "streams": [{"name": "t", "path": "t.csv"}]},
}
JSONL = {"name": "target-jsonl", "config": {"destination_path": "out"}}


def integration(schedule: str | None = "15 * * * *") -> dict[str, Any]:
    raw: dict[str, Any] = {"tap": DEMO_TAP, "target": JSONL}
    if schedule:
        raw["schedule"] = schedule
    return raw


def manifests(proj: Any) -> list[str]:
    return sorted(p.name for p in (proj.root / "deploy").glob("*"))


def container(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]


def test_stale_manifests_we_wrote_are_removed_and_said_so(proj: Any) -> None:
    proj.write({"integrations": {"a": integration(), "b": integration("*/5 * * * *")}})
    done = proj.cli("schedule", "kubernetes")
    assert done.returncode == 0, done.stderr
    assert manifests(proj) == ["tapwell-a.cronjob.yaml", "tapwell-b.cronjob.yaml"]
    mine = proj.root / "deploy" / "tapwell-mine.cronjob.yaml"
    mine.write_text("# my own CronJob, not generated\napiVersion: batch/v1\nkind: CronJob\n")

    proj.write(
        {
            "integrations": {"a": integration(), "b": integration(None)},  # b unscheduled
            "kubernetes": {"namespace": "data"},
        }
    )
    done = proj.cli("schedule", "kubernetes")
    assert done.returncode == 0, done.stderr
    assert manifests(proj) == ["tapwell-a.cronjob.yaml", "tapwell-mine.cronjob.yaml"]
    stale = proj.root / "deploy" / "tapwell-b.cronjob.yaml"
    assert (
        f"tapwell: removed {stale}: integration b is no longer scheduled in tapwell.yml "
        "(delete its CronJob from the cluster too: kubectl -n data delete cronjob tapwell-b)"
    ) in done.stderr.splitlines()
    done = proj.cli("schedule", "kubernetes")  # and again: nothing more to remove
    assert done.returncode == 0 and "removed" not in done.stderr
    assert manifests(proj) == ["tapwell-a.cronjob.yaml", "tapwell-mine.cronjob.yaml"]


def test_names_that_make_one_cronjob_are_refused_in_one_line(proj: Any) -> None:
    proj.write({"integrations": {"a": integration()}})
    assert proj.cli("schedule", "kubernetes").returncode == 0
    before = (proj.root / "deploy" / "tapwell-a.cronjob.yaml").read_text()
    proj.write(
        {
            "integrations": {
                "shop_pg": integration(),
                "shop-pg": integration("0 * * * *"),
                "Shop.PG": integration("30 * * * *"),
                "a": integration("45 * * * *"),
            }
        }
    )
    done = proj.cli("schedule", "kubernetes")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tapwell: error: integrations 'Shop.PG', 'shop-pg', 'shop_pg' all make the CronJob name "
        "tapwell-shop-pg (Kubernetes names are lowercase letters, digits and -, at most 52 "
        "characters): rename all but one"
    ]
    assert manifests(proj) == ["tapwell-a.cronjob.yaml"]  # nothing written, nothing removed
    assert (proj.root / "deploy" / "tapwell-a.cronjob.yaml").read_text() == before


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("61 * * * *", "minute '61' is out of range; the minute takes 0-59"),
        ("0 24 * * *", "hour '24' is out of range; the hour takes 0-23"),
        ("0 0 0 * *", "day of month '0' is out of range; the day of month takes 1-31"),
        ("0 0 * 13 *", "month '13' is out of range; the month takes 1-12 or names (jan)"),
        ("0 0 * * 7", "day of week '7' is out of range; the day of week takes 0-6 or names (sun)"),
        ("*/0 * * * *", "minute '*/0' has a step of 0"),
        ("30-10 * * * *", "minute '30-10' is a range that runs backwards"),
        ("0 0 * * funday", "day of week 'funday' is not a number or a name"),
    ],
)
def test_cron_values_out_of_range_fail_at_load(proj: Any, schedule: str, problem: str) -> None:
    proj.write({"integrations": {"a": integration(schedule)}})
    for command in (("schedule", "crontab"), ("schedule", "kubernetes"), ("run", "a")):
        done = proj.cli(*command)
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith(
            f"tapwell: error: {proj.root / 'tapwell.yml'}: integrations.a.schedule "
            f"{schedule!r}: {problem}"
        ), line
    assert not (proj.root / "deploy").exists()


@pytest.mark.parametrize(
    "schedule", ["59 23 31 12 6", "*/15 0-6,22-23 * jan-mar mon-fri", "0 0 1 * sun", "@daily"]
)
def test_cron_values_in_range_pass(proj: Any, schedule: str) -> None:
    proj.write({"integrations": {"a": integration(schedule)}})
    done = proj.cli("schedule", "crontab")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith(schedule + " cd ")


def test_cronjobs_name_their_command_and_the_image_and_say_where_it_is_set(proj: Any) -> None:
    from kubernetes.client import ApiClient
    from tapwell import __version__

    proj.write({"integrations": {"a": integration()}})
    done = proj.cli("schedule", "kubernetes")
    assert done.returncode == 0, done.stderr
    path = proj.root / "deploy" / "tapwell-a.cronjob.yaml"
    spec = container(path)
    assert (spec["command"], spec["args"], spec["workingDir"]) == (
        ["tapwell"],
        ["run", "a", "--quiet"],
        "/project",
    )
    assert spec["image"] == f"tapwell:{__version__}"
    assert (
        f"tapwell: kubernetes.image is not set in {proj.root / 'tapwell.yml'}: the CronJobs run "
        f"tapwell:{__version__}, the tag `make image` builds; push it to a registry the cluster "
        "pulls from and set kubernetes.image to its name there"
    ) in done.stderr.splitlines()
    job = ApiClient().deserialize(
        json.dumps(yaml.safe_load(path.read_text())), "V1CronJob", "application/json"
    )
    assert job.spec.job_template.spec.template.spec.containers[0].command == ["tapwell"]

    proj.write(
        {"integrations": {"a": integration()}, "kubernetes": {"image": "registry.example/t:2"}}
    )
    done = proj.cli("schedule", "kubernetes")
    assert container(path)["image"] == "registry.example/t:2"
    assert (
        f"tapwell: the CronJobs run image registry.example/t:2 (kubernetes.image in "
        f"{proj.root / 'tapwell.yml'}); `make image` builds it from the Dockerfile: push it "
        "where the cluster pulls from"
    ) in done.stderr.splitlines()


def _cron_command(line: str) -> str:
    """What cron runs of a crontab line: the line without its five schedule fields."""
    return line.split(None, 5)[5]


def test_crontab_line_bounds_its_log(proj: Any) -> None:
    """Run the crontab line's command as cron does (/bin/sh), over a log past the bound: the old
    log becomes NAME.log.1 (replacing an older one) and the run starts a new log; below the bound
    the run appends."""
    from tapwell.runner.schedule import LOG_MAX_BYTES

    (proj.root / "data").mkdir()
    (proj.root / "data" / "t.csv").write_text("id,name\n1,a\n")
    proj.write({"integrations": {"a": integration()}})
    line = proj.cli("schedule", "crontab").stdout.splitlines()[-1]
    assert "%" not in line  # cron turns % into a newline
    logs = proj.root / "state" / "logs"
    logs.mkdir(parents=True)
    log, old = logs / "a.log", logs / "a.log.1"
    old.write_text("the oldest log\n")
    with log.open("wb") as f:
        f.truncate(LOG_MAX_BYTES + 1)  # sparse: a big log without writing it
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}

    def cron_runs() -> None:
        done = subprocess.run(
            ["/bin/sh", "-c", _cron_command(line)], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr

    cron_runs()
    assert old.stat().st_size == LOG_MAX_BYTES + 1  # the big log, moved aside
    first = log.read_text()
    assert 0 < len(first) < 10_000
    cron_runs()  # below the bound: appended, nothing rotated
    assert log.read_text().startswith(first) and len(log.read_text()) > len(first)
    assert old.stat().st_size == LOG_MAX_BYTES + 1
