"""The fast lane, negotiated by the runner: when the tap and the target both list `batch` in
their `--about` capabilities and share a format (`batch_formats`; csv preferred, the one COPY and
read_csv take straight from the file), the tap gets a `batch_config` and the target a
`batch_root`, both naming a spool folder private to the run, next to the state (same disk),
removed afterwards. `fast_lane: auto | on | off` per integration (YAML's true/false read as
on/off): auto uses the lane when both sides can (jsonl only from a tap that writes no csv:
common_format), on refuses to run without it, off never.

The default is auto: on 1,000,000 rows (`python -m bench`, one run, load 14-29 on 2 cores)
`tapwell run` took 79.9 s through the lane against 112.8 s through RECORD lines, with 3.2 s of
client CPU against 21.6 s (tap-mysql's server renders the csv lines; target-postgres COPYs the
files); at load 7-8, 12.5 s against 21.0 s, the raw mysql | psql limit 14.5 s in that run; kills of tap, target and runner mid-lane resume with nothing lost or twice
(tests/chaos/test_kill_lane.py). `fast_lane: off` keeps RECORD lines. A target with
`nested: tables` is given jsonl files with `fast_lane: on` (its records split in Python), never
csv. An integration
with mappers (`transform:`/`mappers:`) never takes the lane: mappers map RECORD lines only.

Disk stays bounded: the tap writes `fast_lane_batch_size` rows per file (200,000) and waits while its
files not yet committed (and so deleted) by the target hold more than `max_pending_files` (1) such
files' rows. 200,000-row files (1 pending) rather than 100,000 (2 pending), the same rows pending:
tap-csv | target-duckdb on 1,000,000 rows (`python -m bench.lane_pipe_ab --batch-size-b 200000
--max-pending-b 1 --pairs 4`, one build both sides, 2026-12-08 01:39, load 7.0-7.8) CPU tap+target
median 7.04 -> 6.56 s (target 3.56 -> 3.16, lower in 4 of 4 pairs), wall 11.84 -> 10.73 s (lower
in 2 of 4), the target's tail after the tap 1.31 -> 1.14 s, peak RSS 214-229 -> 214-247 MB
(`read_csv`'s own 263 MB); fewer files are fewer statements, commits and STATE lines. Not measured
into target-postgres.
The tap does not fsync them (`durable: false`, tapwell.sdk.tap_batch.BatchFile.close): the
target's commit makes the rows durable, and a new attempt gets a new spool; the fsyncs had been
0.06 s of the tap's time on 300,000 rows and 0.19 s on 1,000,000 (tap-csv, load 5-7).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from tapwell.runner.probe import cached_probes
from tapwell.singer.errors import ConfigError

BATCH_SIZE = 200_000
MAX_PENDING = 1  # files of BATCH_SIZE rows: the same 200,000 rows pending as 2 of 100,000
PREFERRED = ("csv", "jsonl")
DEFAULT = "auto"  # see the module's docstring


def mode(raw: dict[str, Any], name: str) -> str:
    """The integration's `fast_lane`, as auto, on or off."""
    value = raw.get("fast_lane", DEFAULT)
    if value is True:
        return "on"
    if value is False:
        return "off"
    text = str(value).strip().lower()
    if text in ("auto", "on", "off"):
        return text
    if text in ("true", "yes"):
        return "on"
    if text in ("false", "no"):
        return "off"
    raise ConfigError(f"integrations.{name}.fast_lane: {value!r} is not auto, on or off")


def batch_size(raw: dict[str, Any], name: str) -> int:
    """The integration's `fast_lane_batch_size`: rows per BATCH file (200,000 by default)."""
    value = raw.get("fast_lane_batch_size", BATCH_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"integrations.{name}.fast_lane_batch_size: {value!r} is not a whole number of rows"
        )
    return value


def about(root: Path, argv: list[str]) -> dict[str, Any]:
    """A connector's `--about` (JSON), {} when it cannot say. Cached in
    .tapwell/capabilities.json (tapwell.runner.probe: one --about per connector version; state
    recovery reads the same answer)."""
    return abouts(root, [argv])[0]


def abouts(root: Path, argvs: list[list[str]]) -> list[dict[str, Any]]:
    """about() of several connectors, those not cached asked at the same time: `--about --format
    json` first (a singer-sdk connector prints text for `--about` alone, and its answer was read
    as {}: no `batch`, no fast lane even with `fast_lane: on`), then `--about` alone of those
    that gave no JSON object (a connector that knows no --format)."""
    found = [_about_of(f) for f in _probe(root, argvs, ABOUT_JSON)]
    plain = [i for i, f in enumerate(found) if not f]
    for i, f in zip(plain, _probe(root, [argvs[i] for i in plain], ["--about"]), strict=True):
        found[i] = _about_of(f)
    return found


ABOUT_JSON = ["--about", "--format", "json"]


def _probe(root: Path, argvs: list[list[str]], option: list[str]) -> list[Any]:
    if not argvs:
        return []
    return cached_probes(
        root, "capabilities.json", argvs, option, _about_json, lambda v: isinstance(v, dict)
    )


def _about_of(found: Any) -> dict[str, Any]:
    return dict(found) if isinstance(found, dict) else {}


def negotiates(raw: dict[str, Any], name: str, tap_config: dict[str, Any]) -> bool:
    """Whether prepare() asks the tap's and the target's --about: the lane is not off, the tap
    has no batch_config of the user's, and no mapper reads RECORD lines in between."""
    return (
        mode(raw, name) != "off"
        and "batch_config" not in tap_config
        and not (raw.get("transform") or raw.get("mappers"))
    )


def _about_json(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        parsed = orjson.loads(done.stdout) if done.returncode == 0 else None
        if isinstance(parsed, dict):
            return parsed
    return {}


def _formats(info: dict[str, Any], guess: bool) -> list[str]:
    """The BATCH formats a connector's --about lists; a `capabilities` or `batch_formats` that is
    no list (a connector's own shape, or a damaged cache) is read as not listed."""
    capabilities = info.get("capabilities")
    if not isinstance(capabilities, list) or "batch" not in capabilities:
        return []
    listed = info.get("batch_formats")
    if not isinstance(listed, list) or not listed:
        # singer-sdk connectors list `batch` without formats: they speak jsonl, but an SDK
        # target loads BATCH records without its RECORD-path type conversions (date-times stay
        # text), so only `fast_lane: on` sends them files, never auto
        return ["jsonl"] if guess else []
    return [str(f) for f in listed]


def common_format(
    tap: dict[str, Any],
    target: dict[str, Any],
    target_config: dict[str, Any] | None = None,
    *,
    guess: bool = False,
) -> str | None:
    """The format both sides speak, csv first; `guess` (fast_lane: on): a side that lists
    `batch` without `batch_formats` (singer-sdk's) speaks jsonl. A target that makes nested
    documents into tables (`nested: tables`, or a stream of `nested_streams` so) splits each
    record in Python, which a csv file (COPYed as it lies) cannot feed: jsonl, whose records
    take the target's usual path, or no lane.

    csv is the lane (the target reads the file itself); a jsonl file holds the RECORD lines'
    objects, read as those are (into target-duckdb it measured slower than the lines). So
    `fast_lane: auto` (not `guess`) takes jsonl only from a tap that writes no csv, jsonl being
    its one lane; a tap that writes both (tap-csv, tap-mysql, tap-postgres) sends RECORD lines
    to a target that takes no csv from it (target-jsonl, `nested: tables`), and jsonl files
    only with `fast_lane: on`."""
    written = _formats(tap, guess)
    both = set(written) & set(_formats(target, guess))
    if nests_tables(target_config or {}):
        both.discard("csv")
    if not guess and "csv" in written:
        both &= {"csv"}
    return next((f for f in PREFERRED if f in both), None)


def nests_tables(target_config: dict[str, Any]) -> bool:
    """Whether the target config asks for nested tables for any stream."""
    streams = target_config.get("nested_streams")
    modes = list(streams.values()) if isinstance(streams, dict) else []
    return "tables" in [str(m).strip().lower() for m in [target_config.get("nested"), *modes]]


def prepare(
    name: str,
    raw: dict[str, Any],
    state_dir: Path,
    root: Path,
    tap_argv: list[str],
    target_argv: list[str],
    tap_config: dict[str, Any],
    target_config: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], Path | None]:
    """(tap config, target config, spool folder or None) for this run's lane."""
    how = mode(raw, name)
    if how == "off" or "batch_config" in tap_config:
        return tap_config, target_config, None  # off, or the user's own batch_config
    if raw.get("transform") or raw.get("mappers"):
        # a mapper reads RECORD lines: rows inside BATCH files would pass it unmapped
        if how == "on":
            raise ConfigError(
                f"integrations.{name}.fast_lane: on, but it has mappers (transform/mappers), "
                "which map RECORD lines only (set fast_lane: auto or off)"
            )
        return tap_config, target_config, None
    tap_about, target_about = abouts(root, [tap_argv, target_argv])
    fmt = common_format(tap_about, target_about, target_config, guess=how == "on")
    if fmt is None:
        if how == "on":
            raise ConfigError(
                f"integrations.{name}.fast_lane: on, but the tap and the target do not both "
                "advertise `batch` with a common format in --about (set fast_lane: auto or off)"
            )
        return tap_config, target_config, None
    spool = state_dir / "spool" / f"{name}-{os.getpid()}-{time.time_ns()}"
    spool.mkdir(parents=True, mode=0o700)
    batch = {
        "encoding": {"format": fmt, "compression": "none"},
        "storage": {"root": f"file://{spool}", "prefix": ""},
        "batch_size": batch_size(raw, name),
    }
    if tap_about.get("batch_formats"):
        # tapwell's own keys only for a tap listing its formats (ours): singer-sdk's BatchConfig
        # takes encoding, storage and batch_size, and stopped on any other key (TypeError).
        # durable false: no fsync per file, the target reads each in this run and commits it
        # durably; after a crash the next attempt has a new spool (tap_batch.BatchFile.close)
        batch |= {"max_pending_files": MAX_PENDING, "durable": False}
    return (
        {**tap_config, "batch_config": batch},
        {**target_config, "batch_root": str(spool)},
        spool,
    )


def remove(spool: Path | None) -> None:
    if spool is not None:
        shutil.rmtree(spool, ignore_errors=True)
