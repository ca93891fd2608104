"""One benchmark at a time per source database and per destination prefix.

Two runs on the same names would regenerate the source table and drop each other's
destination databases mid-load (and time each other's load). A MariaDB named lock, held on its
own connection for the whole run, serializes them; it is released if this process dies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.source import MySQLSource


def _lock_name(kind: str, name: str) -> str:
    full = f"tapwell-bench/{kind}/{name}"
    return full if len(full) <= 64 else f"tapwell-bench/{hashlib.sha1(full.encode()).hexdigest()}"


@contextmanager
def exclusive_run(
    src: MySQLSource, dest_prefix: str, wait_s: float, say: Callable[[str], None]
) -> Iterator[None]:
    """Hold the locks on `src.database` and `dest_prefix` for the duration, waiting up to
    `wait_s` for another run that holds them."""
    conn = src.connect(database=False)
    try:
        cur = conn.cursor()
        for kind, name in (("mysql", src.database), ("pg", dest_prefix)):
            lock = _lock_name(kind, name)
            cur.execute("SELECT GET_LOCK(%s, 0)", (lock,))
            if cur.fetchone()[0] == 1:
                continue
            say(f"bench: another bench run is using {kind} {name!r}; waiting for it to finish")
            cur.execute("SELECT GET_LOCK(%s, %s)", (lock, int(wait_s)))
            if cur.fetchone()[0] != 1:
                raise RuntimeError(f"another bench run held {kind} {name!r} for over {wait_s:.0f}s")
        yield
    finally:
        conn.close()  # releases every lock this connection holds
