"""Which stream owns which table: two streams never share one, and tapwell's own table is no stream's.

Streams `db1-orders` and `db2-orders` both map to table `orders` (the source schema is dropped),
so do `orders` and `shop-orders`, and a 70-byte name and its 63-byte shortened form. Loaded
together, one stream's ACTIVATE_VERSION retires the other's rows. So the stream that loads a
table first owns it, and that is recorded with the table itself, as a line of its COMMENT
(`tapwell stream: "db1-orders"`), so it holds across runs and across integrations. A second
stream that maps onto an owned table is refused with one line naming both streams and the
setting that separates them. A table without the line (made by an older tapwell, or by hand) is
claimed by the first stream that loads it; any comment of the user's is kept.

The state table is checked the same way: a stream never loads into it, and a table of that name
that is not shaped like tapwell's state table (a user's own) is never written.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import sql
from tapwell.singer.errors import ConfigError

from . import ddl

MARK = "tapwell stream: "
STATE_MARK = "tapwell state table"
STATE_COLUMNS = {"id": "text", "value": "jsonb", "updated_at": "timestamp with time zone"}


def table_comment(cur: Any, schema: str, table: str) -> str | None:
    cur.execute(
        "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    row = cur.fetchone()
    return row[0] if row else None


def owner_in(comment: str | None) -> str | None:
    """The stream named by the comment's ownership line, or None."""
    for line in (comment or "").splitlines():
        if line.startswith(MARK):
            try:
                name = json.loads(line[len(MARK) :])
            except ValueError:
                return None
            return name if isinstance(name, str) else None
    return None


def shown(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def separate_hint(stream: str) -> str:
    """How to give `stream` a table of its own, in the config's own terms."""
    source, table = ddl.split_stream(stream)
    if source is not None:
        return (
            f'set schema_mapping, e.g. {{"{source}": {{"target_schema": "{source}"}}}} '
            f'or {{"{stream}": {{"target_table": "{source}_{table}"}}}}'
        )
    return f'set schema_mapping, e.g. {{"{stream}": {{"target_table": "..."}}}}'


class Owners:
    """The tables of this run's streams, and the check against the ones recorded before."""

    def __init__(self, state_schema: str, state_table: str) -> None:
        self.state = (state_schema, state_table)
        self.taken: dict[tuple[str, str], str] = {}  # (schema, table) -> stream, this run

    def claim(self, cur: Any, stream: str, schema: str, table: str, exists: bool) -> bool:
        """Refuse `stream` if (schema, table) belongs to another stream or is the state table,
        before its table is created or changed. True when the table does not name its owner yet:
        `mark` it once it exists."""
        where = shown(schema, table)
        if (schema, table) == self.state:
            raise ConfigError(
                f"stream {stream!r} would load into table {where}, which holds tapwell's state; "
                f"{separate_hint(stream)}, or set state_table to another name"
            )
        other = self.taken.get((schema, table))
        if other is None and exists:
            other = owner_in(table_comment(cur, schema, table))
        if other is not None and other != stream:
            raise ConfigError(
                f"streams {other!r} and {stream!r} both map to table {where}, which "
                f"{other!r} already loads; {separate_hint(stream)}"
            )
        self.taken[(schema, table)] = stream
        return other is None

    def mark(self, cur: Any, stream: str, schema: str, table: str) -> None:
        """Record `stream` as the table's owner in its comment (a user's comment is kept)."""
        comment = table_comment(cur, schema, table)
        line = MARK + json.dumps(stream)
        text = line if not comment else comment + "\n" + line
        cur.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(schema, table), sql.Literal(text)
            )
        )

    def check_state_table(self, cur: Any) -> None:
        """Before the state row is first written: the state table, if it exists, must be ours
        (tapwell's shape; marked by its comment from then on), never a user's table of that name."""
        schema, table = self.state
        have = ddl.existing_columns(cur, schema, table)
        if not have:
            return
        if have != STATE_COLUMNS:
            raise ConfigError(
                f"table {shown(schema, table)} exists and is not tapwell's state table "
                f"(columns {', '.join(have)}); set state_table (or state_schema) to a name of "
                "tapwell's own"
            )
        comment = table_comment(cur, schema, table)
        if STATE_MARK not in (comment or ""):
            text = STATE_MARK if not comment else comment + "\n" + STATE_MARK
            cur.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    sql.Identifier(schema, table), sql.Literal(text)
                )
            )
