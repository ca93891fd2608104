"""A run whose catalog selects no stream would succeed having done nothing, run after run (a
scheduled job quietly idle for weeks). `tapwell run` refuses it as the configuration error it
is: one line naming the catalog, its streams and the key that selects them, exit 2 (never
retried), the line in the run's record and log, nothing started. `tapwell discover` says so
when it writes such a catalog."""

from __future__ import annotations

import json

import pytest
from helpers.runner_project import csv_shop_project as shop_project
from tapwell.runner.selection import check_something_selected
from tapwell.singer.errors import ConfigError


def refused(proj, line):
    """`tapwell run shop` fails with `line` alone, recorded as the run's error and in its log."""
    done = proj.cli("run", "shop")
    run_id = done.stderr.rsplit("(run ", 1)[1].split(";")[0]
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: integration 'shop' failed: {line} "
            f"(run {run_id}; `tapwell logs {run_id}`)"
        ],
    )
    assert not (proj.root / "out").exists()  # no target ran
    [run] = json.loads(proj.cli("runs", "--json").stdout)["runs"]
    assert (run["status"], run["error"]) == ("failed", line)
    assert f"[tapwell] error: {line}" in proj.cli("logs", run_id).stdout


def test_a_select_that_leaves_out_every_stream_is_refused(proj):
    shop_project(proj, ["customers", "!customers"])
    done = proj.cli("discover", "shop")
    assert done.returncode == 0, done.stderr
    catalog = proj.root / "catalogs" / "shop.json"
    line = (
        f"nothing to sync: select: ['customers', '!customers'] leaves out every stream of "
        f"{catalog} (streams: customers, products): name the streams to sync under "
        "integrations.shop.select in tapwell.yml"
    )
    assert done.stderr.splitlines()[-1] == f"tapwell: note: `tapwell run shop` refuses it: {line}"
    refused(proj, line)


def test_only_exclusions_are_said_to_take_out_only(proj):
    shop_project(proj, ["!customers"])
    assert proj.cli("discover", "shop").returncode == 0
    refused(
        proj,
        f"nothing to sync: select: ['!customers'] leaves out every stream of "
        f"{proj.root / 'catalogs' / 'shop.json'} (streams: customers, products): name the "
        "streams to sync under integrations.shop.select in tapwell.yml; a '!' pattern only "
        "takes out what a pattern before it selects, e.g. select: ['*', '!audit_*']",
    )


def test_a_catalog_with_every_stream_deselected_is_refused(proj):
    shop_project(proj)
    assert proj.cli("discover", "shop").returncode == 0
    path = proj.root / "catalogs" / "shop.json"
    catalog = json.loads(path.read_text())
    for stream in catalog["streams"]:
        for item in stream["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = False
    path.write_text(json.dumps(catalog))
    refused(
        proj,
        f"nothing to sync: no stream of {path} is selected (streams: customers, products): "
        "name the streams to sync under integrations.shop.select in tapwell.yml (e.g. select: "
        "[customers], or ['*'] for all) or mark them \"selected\": true in their metadata",
    )
    shop_project(proj, ["products"])  # the fix the line names
    assert proj.cli("run", "shop").returncode == 0
    assert (proj.root / "out" / "products.jsonl").exists()


def test_a_catalog_without_streams_is_refused(proj):
    shop_project(proj)
    path = proj.root / "catalogs" / "shop.json"
    path.parent.mkdir()
    path.write_text('{"streams": []}')
    refused(
        proj, f"nothing to sync: {path} holds no stream: run `tapwell discover shop` to fill it"
    )


def stream(metadata=None, **schema):
    entry = {"tap_stream_id": "s", "schema": {"type": "object", **schema}}
    if metadata is not None:
        entry["metadata"] = metadata
    return {"streams": [entry]}


def root(**md):
    return [{"breadcrumb": [], "metadata": md}]


@pytest.mark.parametrize(
    "catalog",
    [
        stream(),  # no metadata: singer-sdk syncs it
        stream([]),
        stream(root(inclusion="automatic", selected=False)),
        stream(root(), selected=True),  # the old convention: selected on the schema
        stream(root(**{"selected-by-default": True})),
        stream(root(selected=True)),
    ],
)
def test_a_stream_some_tap_syncs_is_not_refused(catalog):
    check_something_selected(catalog, [], "c.json", "x")


@pytest.mark.parametrize(
    "catalog",
    [
        stream(root()),  # metadata, but neither selected nor selected-by-default
        stream(root(selected=False, **{"selected-by-default": True})),
        stream(root(inclusion="unsupported", selected=True)),
        stream([{"breadcrumb": ["properties", "a"], "metadata": {"selected": True}}]),
    ],
)
def test_a_stream_no_tap_syncs_is_refused(catalog):
    with pytest.raises(ConfigError, match="^nothing to sync: no stream of c.json is selected"):
        check_something_selected(catalog, [], "c.json", "x")


def test_the_runner_counts_a_stream_as_the_taps_select_it():
    """check_something_selected and the taps (tapwell.singer.catalog) give one answer for every
    stream above: a catalog the runner lets through is one a tap syncs."""
    from tapwell.singer.catalog import Catalog

    synced = [
        stream(),
        stream([]),
        stream(root(inclusion="automatic", selected=False)),
        stream(root(), selected=True),
        stream(root(**{"selected-by-default": True})),
        stream(root(selected=True)),
    ]
    left_out = [
        stream(root()),
        stream(root(selected=False, **{"selected-by-default": True})),
        stream(root(inclusion="unsupported", selected=True)),
        stream([{"breadcrumb": ["properties", "a"], "metadata": {"selected": True}}]),
    ]
    assert [len(Catalog(c).selected()) for c in synced] == [1] * len(synced)
    assert [len(Catalog(c).selected()) for c in left_out] == [0] * len(left_out)
