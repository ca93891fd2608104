"""tap-csv on the fast lane: with a `batch_config` its records go into jsonl BATCH files (each
followed by a STATE), which target-duckdb reads as RECORD lines in SQL; the loaded table is the
RECORD path's row by row, over chunks of edge values. `tapwell run` takes the lane with
`fast_lane: on` only (auto keeps RECORD lines, measured faster into target-duckdb)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any

from helpers.duckdb_target import query
from tapwell.runner import fast_lane

COLUMNS = {
    "id": {"type": "integer"},
    "n": {"type": ["null", "integer"]},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "ok": {"type": ["null", "boolean"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "s": {"type": ["null", "string"]},
}
EDGES = {
    "n": ["7", "-12", "0", "", "\\N", str(2**62)],
    "amount": ["1047.29", "0.10", "-0.01", "12", "", "\\N", "99999999.99"],
    "ratio": ["0.5", "1e-7", "-2.5E10", "3", "\\N"],
    "ok": ["true", "false", "\\N"],
    "day": ["2024-02-29", "0001-01-01", "\\N"],
    "at": [
        "2024-02-29T23:59:59.123456+05:30",
        "2024-01-01 10:00:00",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000001-08:00",
        "\\N",
    ],
    "s": [
        "",
        "\\N",
        "  ",
        "tab\there\nline",
        'say "hi" \\ back',
        "emoji \U0001f600 \u00f1",
        "\x01\x1f\x7f",
        "\u2028 sep",
        "null",
        "1234567890123456789",
    ],  # fmt: skip
}


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(COLUMNS))
        for r in range(1, rows + 1):
            w.writerow(
                [str(r)] + [EDGES[c][(r * 7 + len(c)) % len(EDGES[c])] for c in list(COLUMNS)[1:]]
            )


def config(path: Path) -> dict[str, Any]:
    stream = {
        "name": "t",
        "path": str(path),
        "key_properties": ["id"],
        "null_values": ["\\N"],
        "schema": {"type": "object", "properties": COLUMNS},
    }
    return {"streams": [stream]}


def run(bin_path: Path, tmp_path: Path, name: str, cfg: dict[str, Any]) -> tuple[bytes, Path]:
    """tap-csv --config C --catalog D | target-duckdb, as a user runs it; (tap's output, db)."""
    tap_cfg = tmp_path / f"{name}.json"
    tap_cfg.write_text(json.dumps(cfg))
    catalog = tmp_path / "catalog.json"
    if not catalog.exists():
        found = subprocess.run(
            [str(bin_path / "tap-csv"), "--config", str(tap_cfg), "--discover"],
            capture_output=True,
            check=True,
        )
        catalog.write_bytes(found.stdout)
    tap = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tap_cfg), "--catalog", str(catalog)],
        capture_output=True,
        timeout=300,
    )
    assert tap.returncode == 0, tap.stderr.decode()
    db = tmp_path / f"{name}.duckdb"
    target_cfg = tmp_path / f"{name}-target.json"
    target_cfg.write_text(json.dumps({"path": str(db)}))
    target = subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(target_cfg)],
        input=tap.stdout,
        capture_output=True,
        timeout=300,
    )
    assert target.returncode == 0, target.stderr.decode()
    return tap.stdout, db


def table(db: Path) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    return query(db, f"SELECT {cols} FROM t ORDER BY id")


def test_batch_files_load_the_record_paths_rows(bin_path, tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, 2500)
    spool = tmp_path / "spool"
    spool.mkdir()
    lane = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": f"file://{spool}"},
        "batch_size": 1000,
    }
    cfg = config(path)
    out, batched = run(bin_path, tmp_path, "batch", {**cfg, "batch_config": lane})
    messages = [json.loads(line) for line in out.splitlines()]
    kinds = [m["type"] for m in messages]
    assert "RECORD" not in kinds
    assert kinds.count("BATCH") == 3  # 1,000 rows a file (whole chunks of 1,000)
    after = [kinds[i + 1] for i, k in enumerate(kinds) if k == "BATCH"]
    assert after == ["STATE"] * 3  # each file is committed (and deleted) before the next piles up
    assert list(spool.iterdir()) == []
    _, recorded = run(bin_path, tmp_path, "records", cfg)
    assert table(batched) == table(recorded)
    assert len(table(batched)) == 2500


def test_tap_csv_writes_jsonl_files_only(bin_path, tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, 3)
    cfg = config(path) | {
        "batch_config": {"encoding": {"format": "csv"}, "storage": {"root": str(tmp_path)}}
    }
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    result = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(tmp_path / "c.json"), "--discover"],
        capture_output=True,
    )
    assert result.returncode == 2
    assert (
        result.stderr.decode()
        .strip()
        .splitlines()[-1]
        .endswith(
            "config key batch_config.encoding.format: tap-csv writes jsonl BATCH files, not csv"
        )
    )


def test_the_runner_gives_tap_csv_the_lane_only_when_asked(bin_path):
    about = {}
    for name in ("tap-csv", "target-duckdb"):
        done = subprocess.run([str(bin_path / name), "--about"], capture_output=True, check=True)
        about[name] = json.loads(done.stdout)
    assert "batch" in about["tap-csv"]["capabilities"]
    assert "batch_formats" not in about["tap-csv"]  # fast_lane: auto keeps RECORD lines
    assert fast_lane.common_format(about["tap-csv"], about["target-duckdb"], {}) is None
    got = fast_lane.common_format(about["tap-csv"], about["target-duckdb"], {}, guess=True)
    assert got == "jsonl"  # fast_lane: on
