"""Keyless FULL_TABLE streams that grow without bound (11.14): per-stream `load_method` and
`hard_delete` in tapwell.yml reach our targets as their `stream_settings` config key, and
`discover` and `run` warn about a stream whose table will grow, naming the setting."""

from __future__ import annotations

import duckdb
from tapwell.runner.attempt import target_config

WARNING = (
    "tapwell: warning: stream 'events' is FULL_TABLE without key properties: every run appends "
    "all its rows again and only marks the previous ones deleted, so its table grows without "
    "bound; set `streams: {events: {load_method: overwrite}}` (or `hard_delete: true`) under "
    "integrations.shop in tapwell.yml"
)


def shop_project(proj, streams=None, target=None):
    data = proj.root / "data"
    data.mkdir(exist_ok=True)
    (data / "events.csv").write_text("kind,at\nclick,1\nview,2\nclick,3\n")
    (data / "customers.csv").write_text("id,name\n1,Ann\n2,Bob\n")
    shop = {
        "tap": {
            "name": "tap-csv",
            "config": {
                "base_dir": "data",
                "streams": [
                    {"name": "events", "path": "events.csv"},  # no key, no replication key
                    {"name": "customers", "path": "customers.csv", "key_properties": ["id"]},
                ],
            },
        },
        "target": target
        or {
            "name": "target-duckdb",
            "config": {"path": "out.duckdb", "default_target_schema": "main"},
        },
        "select": ["events", "customers"],
    }
    if streams is not None:
        shop["streams"] = streams
    proj.write({"integrations": {"shop": shop}})


def warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("tapwell: warning:")]


def test_keyless_full_table_stream_warns_at_discover_and_run(proj):
    shop_project(proj)
    for command in ("discover", "run"):
        done = proj.cli(command, "shop")
        assert done.returncode == 0, done.stderr
        assert warnings(done.stderr) == [WARNING]  # customers has a key: it merges, no warning

    for setting in ({"load_method": "overwrite"}, {"hard_delete": True}):
        shop_project(proj, streams={"events": setting})
        for command in ("discover", "run"):
            done = proj.cli(command, "shop")
            assert done.returncode == 0, done.stderr
            assert warnings(done.stderr) == []


def test_target_own_setting_silences_the_warning(proj):
    target = {
        "name": "target-duckdb",
        "config": {"path": "out.duckdb", "load_method": "overwrite"},
    }
    shop_project(proj, target=target)
    done = proj.cli("discover", "shop")
    assert done.returncode == 0, done.stderr
    assert warnings(done.stderr) == []


def test_stream_settings_in_the_target_config(proj):
    streams = {
        "events": {"load_method": "overwrite"},
        "cust*": {"hard_delete": True, "replication_method": "FULL_TABLE"},
    }
    shop_project(proj, streams=streams)
    assert proj.cli("discover", "shop").returncode == 0
    config = target_config(proj.load().integration("shop"))
    assert config["stream_settings"] == {
        "events": {"load_method": "overwrite"},
        "customers": {"hard_delete": True},
    }
    assert config["path"] == "out.duckdb"  # the rest of the config as written


def test_literal_names_pass_without_a_catalog_and_globs_need_one(proj):
    shop_project(proj, streams={"events": {"hard_delete": True}})
    config = target_config(proj.load().integration("shop"))
    assert config["stream_settings"] == {"events": {"hard_delete": True}}

    shop_project(proj, streams={"ev*": {"hard_delete": True}})
    done = proj.cli("run", "shop")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "tapwell: error: integrations.shop.streams.ev*: a pattern needs the catalog to name its "
        "streams: run `tapwell discover shop` first"
    )


def test_a_third_party_target_is_told_where_the_setting_goes(proj):
    target = {"name": "target-jsonl", "config": {"destination_path": "out"}}
    shop_project(proj, streams={"events": {"load_method": "overwrite"}}, target=target)
    assert proj.cli("discover", "shop").returncode == 0
    done = proj.cli("run", "shop")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "tapwell: error: integrations.shop.streams.events: load_method and hard_delete are passed "
        "only to tapwell's target-postgres and target-duckdb; for target-jsonl set its own setting "
        "in its config instead"
    ]
    assert not (proj.root / "out").exists()


def test_schema_checks_the_settings(proj):
    shop_project(proj, streams={"events": {"load_method": "replace"}})
    done = proj.cli("discover", "shop")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"tapwell: error: {proj.root / 'tapwell.yml'}: integrations.shop.streams.events.load_method "
        "must be one of upsert, append-only, overwrite",
    )


def test_overwrite_keeps_a_keyless_table_at_the_source_size(proj):
    shop_project(proj, streams={"events": {"load_method": "overwrite"}})
    assert proj.cli("discover", "shop").returncode == 0
    for _ in range(3):
        done = proj.cli("run", "shop")
        assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(proj.root / "out.duckdb"), read_only=True)
    try:
        stored = con.execute('SELECT count(*) FROM main."events"').fetchone()[0]
    finally:
        con.close()
    assert stored == 3  # without the setting: 9 stored, 6 of them marked deleted
