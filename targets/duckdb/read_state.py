"""`target-duckdb --read-state`: the state this target last committed, read from its own
`_tapwell_state` table in the file and schema its config names (DuckDBConfig.parse, the rules a
load uses), so the runner's recovery copies none of them. Opened read-only; a missing file is
"nothing committed yet" and is not created."""

from __future__ import annotations

import os
from typing import Any

import duckdb
from tapwell.sdk.sql_names import quote_ident
from tapwell.singer.errors import ConfigError

from .config import DuckDBConfig
from .loader import STATE_TABLE


def read_state(config: DuckDBConfig | dict[str, Any]) -> str | None:
    """The committed state as JSON text, None when the file, table or row does not exist yet."""
    parsed = DuckDBConfig.parse(config)
    path, schema, sid = parsed.path, parsed.schema, parsed.state_id
    where = f"{path}: {quote_ident(schema)}.{STATE_TABLE} id {sid!r}"
    if not os.path.exists(path):
        return None
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(
            f"{where}: cannot open {path} read-only: {str(exc).splitlines()[0]}"
        ) from None
    try:
        catalog = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
            [catalog, schema, STATE_TABLE],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = con.execute(
            f"SELECT value::VARCHAR FROM {quote_ident(catalog)}.{quote_ident(schema)}.{STATE_TABLE} "
            "WHERE id = ? ORDER BY updated_at DESC LIMIT 1",
            [sid],
        ).fetchone()
    except duckdb.Error as exc:
        raise ConfigError(f"{where}: cannot read the state: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return str(row[0]) if row else None
