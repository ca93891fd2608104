"""`_sdc_unchanged`: a LOG_BASED record from tap-postgres may leave out columns whose value did
not change (unchanged TOASTed values the server did not resend) and name them in its
`_sdc_unchanged` list. The property is not a column: on upsert the listed columns keep the value
stored for the record's key, every other column is updated.

- An earlier record of the same key in the same batch is what is stored by then: the listed
  columns take its values (the batch keeps only the last record of a key).
- A key with no stored row (nor an earlier record in the batch): the listed columns are NULL,
  as there is no value to keep.
- append-only, overwrite, and streams without key properties have no stored row to keep a value
  from: the listed columns are NULL (a warning says so once per stream).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from tapwell.sdk.sql_names import quote_ident

from .ddl import key_match, literal
from .stage import StagedColumn

LIST = "_tapwell_unchanged"  # the staged list's name inside the merge's SELECTs only


def position(staged: Sequence[StagedColumn]) -> int | None:
    """Where the `_sdc_unchanged` list is in a staged row; None when the stream has none."""
    return next((j for j, c in enumerate(staged) if c.unchanged), None)


def present(rows: Sequence[tuple[Any, ...] | None], u: int) -> bool:
    """Whether any staged row lists unchanged columns."""
    return any(row is not None and row[u] is not None for row in rows)


def fill_from_batch(
    rows: list[tuple[Any, ...]], staged: Sequence[StagedColumn], keys: list[str], u: int
) -> list[tuple[Any, ...]]:
    """The rows, each listed column of a row taken from the latest earlier row of its key in
    the batch (and no longer listed); a column that row listed too stays listed (the stored
    value is still the one to keep)."""
    at = {c.prop: j for j, c in enumerate(staged) if not c.unchanged}
    key_at = [at[k] for k in keys]
    latest: dict[Any, tuple[Any, ...]] = {}
    out = []
    for row in rows:
        key = tuple(row[j] for j in key_at)
        before = latest.get(key)
        if row[u] is not None and before is not None:
            listed = orjson.loads(row[u])
            kept = set(orjson.loads(before[u])) if before[u] is not None else set()
            filled = list(row)
            still = []
            for name in listed if isinstance(listed, list) else []:
                j = at.get(name)
                if j is None or name in kept:
                    still.append(name)
                elif name not in keys:
                    filled[j] = before[j]
            filled[u] = orjson.dumps(still).decode() if still else None
            row = tuple(filled)
        latest[key] = row
        out.append(row)
    return out


def kept_select(
    staged: Sequence[StagedColumn], keys: list[str], cols: list[str], target: str, rows: str
) -> str:
    """The SELECT of the staged `rows` (naming the table's `cols` and the list as LIST) with
    every listed column's value taken from the stored row of its key in `target`."""
    by_column = {c.column: c.prop for c in staged if not c.unchanged}
    match = key_match(keys)  # a key property is refused when null
    select = []
    for col in cols:
        q = quote_ident(col)
        prop = by_column.get(col)
        if prop is None or prop in keys:
            select.append(f"s.{q}")
        else:
            listed = f"list_contains(s.{LIST}, {literal(prop)})"
            select.append(f"CASE WHEN {listed} THEN t.{q} ELSE s.{q} END AS {q}")
    return f"(SELECT {', '.join(select)} FROM {rows} AS s LEFT JOIN {target} AS t ON {match})"


def list_select(j: int) -> str:
    """The staged list (JSON text in Arrow column c<j>) as a VARCHAR[] named LIST."""
    return f"CAST(CAST(c{j} AS JSON) AS VARCHAR[]) AS {LIST}"
