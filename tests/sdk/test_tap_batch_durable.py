"""BATCH files and fsync: a tap fsyncs each file before its BATCH message unless its
batch_config says `durable: false`, which `tapwell run` says for its private spool (the target
reads each file within the run and its commit is what makes the rows durable; after a crash the
next attempt starts from the saved state with a new spool). Each fsync waited on the disk on the
tap's critical path: 0.06 s of a 300,000-row run, 0.19 s of 1,000,000 rows (strace -T)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tapwell.runner import fast_lane
from tapwell.sdk import tap_batch
from tapwell.sdk.tap_batch import BatchFile, parse_batch_config
from tapwell.singer.errors import ConfigError


def _lane(spool: Path, **extra: Any) -> dict[str, Any]:
    return {"encoding": {"format": "csv"}, "storage": {"root": f"file://{spool}"}, **extra}


def _written(cfg: tap_batch.BatchConfig, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    """(fsync calls, the file's bytes) of one csv file of two rows written with `cfg`."""
    calls: list[int] = []
    monkeypatch.setattr(tap_batch.os, "fsync", lambda fd: calls.append(fd))
    f = BatchFile(cfg, cfg.storage(), "s-1", ["id", "s"])
    f.write_lines(b'"1",""\n"2",\n', 2)
    path = f.close().removeprefix("file://")
    return len(calls), Path(path).read_bytes()


def test_a_file_is_fsynced_unless_the_config_says_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    durable = parse_batch_config(_lane(tmp_path / "a"))
    loose = parse_batch_config(_lane(tmp_path / "b", durable=False))
    assert durable.durable and not loose.durable
    n_durable, text_durable = _written(durable, monkeypatch)
    n_loose, text_loose = _written(loose, monkeypatch)
    assert (n_durable, n_loose) == (1, 0)
    assert text_loose == text_durable == b'"id","s"\n"1",""\n"2",\n'


def test_durable_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_batch_config(_lane(tmp_path, durable="no"))
    assert str(exc.value) == "config key batch_config.durable: 'no' is not true or false"


def test_the_runners_spool_is_not_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare() gives the tap `durable: false` with the spool it removes after the run."""
    both = {"capabilities": ["batch"], "batch_formats": ["csv"]}
    monkeypatch.setattr(fast_lane, "abouts", lambda root, argvs: [both, both])
    tap, target, spool = fast_lane.prepare(
        "x", {}, tmp_path, tmp_path, ["tap-csv"], ["target-duckdb"], {}, {}
    )
    assert spool is not None and target["batch_root"] == str(spool)
    assert tap["batch_config"]["durable"] is False
    assert parse_batch_config(tap["batch_config"]).durable is False
    fast_lane.remove(spool)
