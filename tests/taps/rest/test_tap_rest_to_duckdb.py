"""tap-rest | target-duckdb, as a user runs it, twice: the rows in DuckDB compared with the
server's data one by one (a 20-digit id, a 0.1 price, '' and emoji, microsecond timestamps), and
the second run, from the saved state, adding only what is new."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from helpers.duckdb_target import query
from helpers.rest_server import BIG_ID, RestServer
from tapwell.singer.wire import loads


def _pipe(bin_path: Path, tmp_path: Path, cfg: Path, state: Path) -> None:
    tap = [
        str(bin_path / "tap-rest"),
        "--config",
        str(cfg),
        "--catalog",
        str(tmp_path / "catalog.json"),
    ]
    if state.exists():
        tap += ["--state", str(state)]
    out = subprocess.run(tap, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    target = [str(bin_path / "target-duckdb"), "--config", str(tmp_path / "duck.json")]
    loaded = subprocess.run(target, input=out.stdout, capture_output=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr.decode()
    last = loaded.stdout.strip().splitlines()[-1]  # the target's STATE, after its commit
    state.write_bytes(last)


def test_rest_to_duckdb_twice_rows_exact(bin_path, tmp_path):
    with RestServer() as srv:
        cfg = tmp_path / "tap.json"
        cfg.write_text(
            json.dumps(
                {
                    "base_url": srv.url,
                    "streams": [
                        {
                            "name": "orders",
                            "path": "/incremental",
                            "records_path": "$.data[*]",
                            "primary_key": ["id"],
                            "replication_key": "updated_at",
                            "records_sorted": True,
                            "params": {"since": "{start}"},
                            "paginator": {"type": "page"},
                        },
                        {
                            "name": "order_items",
                            "parent": "orders",
                            "path": "/orders/{id}/items",
                            "records_path": "$.items[*]",
                            "primary_key": ["id"],
                            "parent_fields": ["id"],
                            "ignore_status": [404],
                        },
                    ],
                }
            )
        )
        (tmp_path / "duck.json").write_text(json.dumps({"path": str(tmp_path / "w.duckdb")}))
        disc = subprocess.run(
            [str(bin_path / "tap-rest"), "--config", str(cfg), "--discover"],
            capture_output=True,
            timeout=120,
        )
        assert disc.returncode == 0, disc.stderr.decode()
        (tmp_path / "catalog.json").write_bytes(disc.stdout)
        state = tmp_path / "state.json"
        _pipe(bin_path, tmp_path, cfg, state)

        db = tmp_path / "w.duckdb"
        rows = query(db, "SELECT id, customer_id, price, note, updated_at FROM orders ORDER BY id")
        want = [
            (
                o["id"],
                o["customer_id"],
                o["price"],
                o["note"],
                datetime.fromisoformat(o["updated_at"]).astimezone(UTC),
            )
            for o in srv.api.orders
        ]
        assert [
            (r[0], int(r[1]), Decimal(str(r[2])), r[3], r[4].astimezone(UTC)) for r in rows
        ] == want
        assert rows[6][1] == BIG_ID and str(rows[6][2]) == "0.1"
        assert query(db, "SELECT count(*) FROM order_items")[0][0] == 48

        srv.api.orders.append(dict(srv.api.orders[0], id=26, updated_at="2024-02-26T00:00:00Z"))
        assert loads(state.read_bytes())["bookmarks"]["orders"]["replication_key_value"] == (
            "2024-01-25T10:00:00.123456Z"
        )
        srv.api.log.clear()
        _pipe(bin_path, tmp_path, cfg, state)
        asked = [r.query.get("since") for r in srv.api.requests("/incremental")]
        assert asked[0] == "2024-01-25T10:00:00.123456Z"
        assert query(db, "SELECT count(*), max(id) FROM orders")[0] == (26, 26)
        assert query(db, "SELECT count(*) FROM order_items")[0][0] == 50  # order 26: 2 new items
