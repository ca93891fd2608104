"""The runner's fast lane: with both sides advertising `batch` and csv in --about, `tapwell run`
hands tap-mysql a batch_config and target-duckdb a batch_root naming a spool folder next to the
state; the rows equal those of `fast_lane: off`, and the spool is gone afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.batch_lane import EDGE_DDL, EDGE_ROWS
from helpers.mysql_tap import sql
from helpers.runner_project import Proj

pytestmark = pytest.mark.services


def _integration(db: dict[str, Any], out: Path, lane: Any) -> dict[str, Any]:
    return {
        "tap": {
            "name": "tap-mysql",
            "config": {k: db[k] for k in ("host", "port", "user", "password")}
            | {"filter_dbs": db["database"]},
        },
        "target": {"name": "target-duckdb", "config": {"path": str(out)}},
        "select": ["*"],
        "fast_lane": lane,
    }


def _log(proj: Proj, done: Any) -> str:
    """The run log of the run that printed `done`'s last line (`... (run RUN_ID)`)."""
    run_id = done.stderr.rstrip().rsplit("(run ", 1)[1].rstrip(")")
    return str(proj.cli("logs", run_id).stdout)


def _rows(path: Path, table: str) -> list[Any]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND column_name <> '_sdc_table_version' ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
        return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").fetchall()
    finally:
        con.close()


def test_run_negotiates_the_lane(mysql_db: dict[str, Any], tmp_path: Path) -> None:
    sql(
        mysql_db,
        EDGE_DDL,
        *EDGE_ROWS,
        "CREATE TABLE many (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO many SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000",
    )
    proj = Proj(tmp_path)
    proj.write(
        {
            "integrations": {
                "lane": _integration(mysql_db, tmp_path / "lane.duckdb", True),
                "plain": _integration(mysql_db, tmp_path / "plain.duckdb", "off"),
            }
        }
    )
    for name in ("lane", "plain"):
        assert proj.cli("discover", name).returncode == 0
        done = proj.cli("run", name)
        assert done.returncode == 0, done.stderr
        log = _log(proj, done)  # the lane is the run log's, not the terminal's
        assert "3,004 rows" in done.stderr, done.stderr
        assert ("fast lane: csv BATCH files through" in log) == (name == "lane"), log
    for table in ("edge", "many"):
        want = _rows(tmp_path / "plain.duckdb", table)
        assert want and _rows(tmp_path / "lane.duckdb", table) == want
    spool = tmp_path / "state" / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
    again = proj.cli("run", "lane")  # twice, as a user would: nothing duplicated
    assert again.returncode == 0, again.stderr
    assert len(_rows(tmp_path / "lane.duckdb", "many")) == 3000


def test_fast_lane_setting_is_checked(tmp_path: Path) -> None:
    from tapwell.runner.fast_lane import mode
    from tapwell.singer.errors import ConfigError

    assert [mode({"fast_lane": v}, "x") for v in (True, False, "auto", "ON")] == [
        "on",
        "off",
        "auto",
        "on",
    ]
    assert mode({}, "x") == "auto"  # the default since it measured faster (fast_lane.py)
    with pytest.raises(ConfigError, match="fast_lane: 'sideways' is not auto, on or off"):
        mode({"fast_lane": "sideways"}, "x")


def test_nested_tables_target_gets_jsonl_files(mysql_db: dict[str, Any], tmp_path: Path) -> None:
    """A target with `nested: tables` splits records in Python: the runner gives the lane jsonl
    files (never csv, which it refused with one line), and the rows are those of the lane off."""
    sql(
        mysql_db,
        "CREATE TABLE docs (id INT PRIMARY KEY, name VARCHAR(20), j JSON)",
        'INSERT INTO docs VALUES (1, \'a\', \'{"k": 1.10, "items": [{"sku": "x"}]}\'),'
        " (2, '', NULL), (3, NULL, '[1, 2]')",
    )
    proj = Proj(tmp_path)
    nested = {"nested": "tables"}
    lane = _integration(mysql_db, tmp_path / "lane.duckdb", "on")
    plain = _integration(mysql_db, tmp_path / "plain.duckdb", "off")
    for integ in (lane, plain):
        integ["target"]["config"] |= nested
    proj.write({"integrations": {"lane": lane, "plain": plain}})
    for name in ("lane", "plain"):
        assert proj.cli("discover", name).returncode == 0
        done = proj.cli("run", name)
        assert done.returncode == 0, done.stdout + done.stderr
        if name == "lane":
            assert "fast lane: jsonl BATCH files through" in _log(proj, done)
    want = _rows(tmp_path / "plain.duckdb", "docs")
    assert len(want) == 3 and _rows(tmp_path / "lane.duckdb", "docs") == want


def test_nested_tables_config_drops_csv() -> None:
    from tapwell.runner.fast_lane import common_format

    both = {"capabilities": ["batch"], "batch_formats": ["csv", "jsonl"]}
    assert common_format(both, both, {}) == "csv"
    # jsonl files for nested tables with fast_lane: on; auto keeps RECORD lines from a tap that
    # writes csv (common_format: the jsonl lane is no cheaper than the lines)
    assert common_format(both, both, {"nested": "tables"}, guess=True) == "jsonl"
    assert common_format(both, both, {"nested": "tables"}) is None
    assert common_format(both, both, {"nested_streams": {"s": "tables"}}, guess=True) == "jsonl"
    assert common_format(both, {**both, "batch_formats": ["csv"]}, {"nested": "tables"}) is None
    # a singer-sdk target lists batch without formats: jsonl with fast_lane: on, never by auto
    sdk = {"capabilities": ["about", "stream-maps", "batch"]}
    assert common_format(both, sdk, {}) is None
    assert common_format(both, sdk, {}, guess=True) == "jsonl"
    assert common_format(both, {"capabilities": ["about"]}, {}, guess=True) is None


def test_mappers_keep_record_lines(tmp_path: Path) -> None:
    """A mapper maps RECORD lines only: with a transform the lane is never taken (auto), and
    `on` is refused with one line."""
    from tapwell.runner.fast_lane import prepare
    from tapwell.singer.errors import ConfigError

    raw = {"transform": {"stream_maps": {"s": {"email": "md5(email)"}}}}
    tap, target, spool = prepare("x", raw, tmp_path, tmp_path, ["tap"], ["target"], {}, {})
    assert (tap, target, spool) == ({}, {}, None)
    with pytest.raises(ConfigError, match="fast_lane: on, but it has mappers"):
        prepare("x", {**raw, "fast_lane": "on"}, tmp_path, tmp_path, ["t"], ["u"], {}, {})


def test_fast_lane_on_with_several_targets_is_refused(tmp_path: Path) -> None:
    """A fan-out copies the tap's lines to every target and never takes the lane: `on` (refuse
    to run without it) ran RECORD lines without a word. One line naming the setting, exit 2,
    before any connector starts; auto and off run as before."""
    csv = tmp_path / "a.csv"
    csv.write_text("id\n1\n")
    tap = {"name": "tap-csv", "config": {"files": [{"entity": "a", "path": str(csv)}]}}
    targets = [
        {"name": "target-jsonl", "config": {"destination_path": str(tmp_path / "j")}},
        {"name": "target-duckdb", "config": {"path": str(tmp_path / "f.duckdb")}},
    ]
    integrations = {
        name: {"tap": tap, "targets": targets, "fast_lane": lane}
        for name, lane in (("fan", "on"), ("fan_auto", "auto"), ("fan_off", False))
    }
    proj = Proj(tmp_path).write({"integrations": integrations})
    done = proj.cli("run", "fan")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "tapwell: error: integrations.fan.fast_lane: on, but it has several targets (targets:), "
        "which get RECORD lines only (set fast_lane: auto or off)"
    )
    assert not (tmp_path / "j").exists()
    for name in ("fan_auto", "fan_off"):
        assert proj.cli("run", name).returncode == 0


def test_fast_lane_refusal_names_the_integration_once(tmp_path: Path) -> None:
    """The run's failure line said `integration 'm' failed: integration 'm': fast_lane: on, ...`;
    the refusal now names the tapwell.yml key, as the project's own errors do."""
    csv = tmp_path / "a.csv"
    csv.write_text("id\n1\n")
    proj = Proj(tmp_path).write(
        {
            "integrations": {
                "m": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {"files": [{"entity": "a", "path": str(csv)}]},
                    },
                    "transform": {"stream_maps": {"a": {"id": "id"}}},
                    "fast_lane": "on",
                    "target": {
                        "name": "target-jsonl",
                        "config": {"destination_path": str(tmp_path / "j")},
                    },
                }
            }
        }
    )
    done = proj.cli("run", "m")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "tapwell: error: integration 'm' failed: integrations.m.fast_lane: on, but it has mappers "
        "(transform/mappers), which map RECORD lines only (set fast_lane: auto or off) (run "
    ), last
