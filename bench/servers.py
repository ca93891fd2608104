"""CPU seconds spent by the database servers themselves (MariaDB and PostgreSQL on this
machine), read from /proc before and after a run. A target's COPY and index maintenance, a
tap's query, run in the server, not in the tap or target process, so without this a client
can look cheap while the server works hard.

These are whole-server figures: on a shared machine they include any other client's work
during the run, so read them beside the load average saved with the results."""

from __future__ import annotations

import os
from pathlib import Path

SERVERS = {"mariadb": ("mariadbd", "mysqld"), "postgres": ("postgres",)}
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_ticks(stat: str) -> int:
    # Fields after the parenthesised command name: utime stime cutime cstime are 12..15 there.
    # cutime/cstime hold the backends that exited (the postmaster waited for them).
    rest = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in rest[11:15])


def server_cpu() -> dict[str, float]:
    """CPU seconds so far of every process named like each server (0 where /proc is missing)."""
    totals = dict.fromkeys(SERVERS, 0)
    proc = Path("/proc")
    if not proc.is_dir():
        return {k: 0.0 for k in totals}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked, or is not ours to read
            continue
        for server, names in SERVERS.items():
            if comm in names:
                totals[server] += _cpu_ticks(stat)
    return {k: v / _TICK for k, v in totals.items()}


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(max(after.get(k, 0.0) - v, 0.0), 2) for k, v in before.items()}
