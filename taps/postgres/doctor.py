"""`tap-postgres --config c.json --doctor [--catalog cat.json] [--state s.json]`: the LOG_BASED
preflight. Checks wal_level, the replication privilege, the publication and whether it covers
the selected LOG_BASED tables under their own names (a partitioned table needs
publish_via_partition_root), each table's replica identity, the slot (ours, not lost, not past
the state) and its lag; prints one line per check, each problem with the SQL that fixes it.
Exit 0 when LOG_BASED can run, 1 when something must be fixed first."""

from __future__ import annotations

import sys
from typing import Any

from tapwell.sdk.cli_util import read_settings, run_main
from tapwell.sdk.tap_cli import load_state
from tapwell.singer.catalog import load_catalog
from tapwell.singer.config import load_config, secret_values
from tapwell.singer.errors import ConfigError

from .config import SETTINGS, PgConfig
from .connection import connect
from .pgoutput import lsn_text
from .replication import (
    publication_fixes,
    publication_tables,
    replica_identity_problems,
    server_problems,
    slot_info,
    slot_lag,
    slot_problems,
)


def _args(argv: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"--config": [], "--catalog": [], "--state": []}
    it = iter(argv)
    for arg in it:
        key, _, value = arg.partition("=")
        if key not in out:
            raise ConfigError(f"--doctor takes --config, --catalog and --state, not {arg}")
        out[key].append(value or next(it, ""))
    if not out["--config"]:
        raise ConfigError("--doctor needs --config (a JSON file with host, user, dbname, ...)")
    return out


def _log_based_tables(path: str | None) -> list[tuple[str, str, str, bool]]:
    """(stream id, schema, table, has key) of the catalog's selected LOG_BASED streams."""
    if not path:
        return []
    out = []
    for e in load_catalog(path).selected():
        if e.replication_method != "LOG_BASED":
            continue
        schema = e.metadata().get("schema-name") or e.tap_stream_id.partition("-")[0]
        table = e.raw.get("table_name") or e.tap_stream_id.partition("-")[2]
        out.append((e.tap_stream_id, str(schema), str(table), bool(e.key_properties)))
    return out


def run_checks(
    cfg: PgConfig, tables: list[tuple[str, str, str, bool]], state: dict[str, Any]
) -> list[tuple[bool, str]]:
    conn = connect(cfg)
    try:
        lines: list[tuple[bool, str]] = [(False, p) for p in server_problems(conn, cfg)]
        if not lines:
            lines.append((True, "wal_level is logical; the user may stream changes"))
        wanted = [(s, t) for _, s, t, _ in tables]
        fixes = publication_fixes(conn, cfg, wanted)
        lines += [(False, f"{problem}: run {sql}") for problem, sql in fixes]
        if not wanted:
            exists = publication_tables(conn, cfg) is not None
            lines.append((True, f"publication {cfg.publication!r} " + (
                "exists (no LOG_BASED stream selected)" if exists
                else "does not exist yet (the first LOG_BASED sync creates it)"
            )))  # fmt: skip
        elif not fixes:
            lines.append((True, f"publication {cfg.publication!r} covers the selected tables"))
        lines += [
            (False, p)
            for p in replica_identity_problems(conn, cfg, [(s, t, k) for _, s, t, k in tables])
        ]
        marks = state.get("bookmarks") or {}
        lsns = [marks.get(sid, {}).get("lsn") for sid, *_ in tables]
        state_lsn = (
            min(v for v in lsns if isinstance(v, int))
            if any(isinstance(v, int) for v in lsns)
            else None
        )
        slot = slot_info(conn, cfg)
        problems = slot_problems(slot, cfg, state_lsn)
        lines += [(False, p) for p in problems]
        if slot is None and not problems:
            lines.append(
                (
                    True,
                    f"replication slot {cfg.replication_slot!r} does not exist yet (the first LOG_BASED sync creates it)",
                )
            )
        elif slot is not None and not problems:
            flushed = lsn_text(slot.confirmed_flush) if slot.confirmed_flush is not None else "none"
            lag = slot_lag(conn, cfg)
            lines.append(
                (
                    True,
                    f"replication slot {slot.name!r}: confirmed {flushed}, wal_status {slot.wal_status}, lag {lag} bytes",
                )
            )
        return lines
    finally:
        conn.close()


def doctor_main(name: str, argv: list[str]) -> int:
    holder: dict[str, Any] = {}
    failed = [False]

    def body() -> None:
        args = _args(argv)
        raw = load_config(args["--config"])
        holder["config"] = raw
        cfg = read_settings(name, SETTINGS, raw)
        state = load_state(args["--state"][-1], name) if args["--state"] else {}
        tables = _log_based_tables(args["--catalog"][-1] if args["--catalog"] else None)
        for ok, line in run_checks(cfg, tables, state):
            sys.stdout.write(("ok: " if ok else "PROBLEM: ") + line + "\n")
            failed[0] = failed[0] or not ok

    def secrets() -> list[str]:
        raw = holder.get("config", {})
        return [*secret_values(raw), *SETTINGS.secret_values(raw)]

    code = run_main(name, body, secrets)
    return code if code else (1 if failed[0] else 0)
