"""In-batch dedupe: for each key, only the last record that has it is loaded.

Keys must be compared as PostgreSQL compares them, not as Python does: `1` and `"1"` in a text
key column are one row there, and so are `"2024-01-01T00:00:00Z"` and
`"2024-01-01T00:00:00+00:00"` in a timestamptz one, or `1` and `1.0` in a numeric one. Two
records that only Python tells apart would both reach the merge, which then fails on the whole
batch ("ON CONFLICT DO UPDATE command cannot affect row a second time"), or, without a primary
key, both be inserted.

Python's own comparison is exact, and free, for the common case: every key an int in an integer
column, or every key a str in a text column. Any other batch compares canonical values instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from tapwell.singer.number_steps import normalized
from tapwell.singer.wire import dumps

from .encode import BadValue, formatter_for
from .types import family

if TYPE_CHECKING:
    from .loader import Table

INTEGER = {"bigint", "integer", "smallint"}
NUMBER = INTEGER | {"numeric", "double precision", "real"}
TEXT = {"text", "character varying", "character"}
NULL_TEXT = "\\N"  # COPY text's NULL
_as_copy_text = formatter_for("key", "text")[0]  # the text encoder's own rules


def last_of_each(keys: Sequence[Any], families: Sequence[str]) -> list[int] | range:
    """Indexes of the rows to load, in order: the last row of each key. `keys` holds one value
    per row (one key column) or a tuple of `len(families)` values; `families` names each key
    column's type family (types.family). `range(len(keys))` when no key repeats."""
    ids = _canonical_keys(keys, families)
    last: dict[Any, int]
    try:
        last = {k: i for i, k in enumerate(ids)}
    except TypeError:  # a key holding an object or array: compare their JSON text
        ids = _as_json(ids, len(families))
        last = {k: i for i, k in enumerate(ids)}
    if len(last) == len(ids):
        return range(len(ids))
    return sorted(last.values())


def key_ids(keys: Sequence[Any], families: Sequence[str]) -> Sequence[Any]:
    """Each row's key as a hashable value that is equal for two rows exactly when PostgreSQL
    sees one key (see last_of_each for `keys` and `families`)."""
    ids = _canonical_keys(keys, families)
    try:
        set(ids)
    except TypeError:
        return _as_json(ids, len(families))
    return ids


def _canonical_keys(keys: Sequence[Any], families: Sequence[str]) -> Sequence[Any]:
    width = len(families)
    columns = [keys] if width == 1 else [[k[i] for k in keys] for i in range(width)]
    if all(_exact(col, fam) for col, fam in zip(columns, families, strict=True)):
        return keys
    canon = [[canonical(v, fam) for v in col] for col, fam in zip(columns, families, strict=True)]
    return canon[0] if width == 1 else list(zip(*canon, strict=True))


def _as_json(ids: Sequence[Any], width: int) -> list[bytes]:
    return [dumps([k] if width == 1 else list(k)) for k in ids]


def fold_unchanged(
    rows: Sequence[Any],
    keys: Sequence[Any],
    families: Sequence[str],
    props: Sequence[str],
    listed: str,
    dicts: bool,
) -> list[Any]:
    """`rows` with each record that lists columns in its `listed` property (`_sdc_unchanged`)
    given those columns' values from the previous record of its key in the batch, which the
    dedupe then drops; the columns that one lacked too stay listed. A row is a record dict
    (`dicts`), else its COPY text line in `props` order, or None (refused)."""
    out = list(rows)
    at = {p: i for i, p in enumerate(props)}
    last: dict[Any, int] = {}
    for i, key in enumerate(key_ids(keys, families)):
        j = last.get(key)
        last[key] = i
        if j is None or out[i] is None or out[j] is None:
            continue
        out[i] = (_fold_dict if dicts else _fold_line)(out[j], out[i], at, listed)
    return out


def _fold_dict(before: dict[str, Any], row: dict[str, Any], _: Any, listed: str) -> Any:
    names = row.get(listed)
    if not names:
        return row
    still = set(before.get(listed) or ())
    out = {**row, **{n: before.get(n) for n in names}}
    out[listed] = [n for n in names if n in still] or None
    return out


def _fold_line(before: str, row: str, at: dict[str, int], listed: str) -> str:
    fields = row.split("\t")  # COPY text escapes a tab inside a value: the split is exact
    u = at[listed]
    if fields[u] == NULL_TEXT:
        return row
    names = orjson.loads(fields[u].replace("\\\\", "\\"))  # its backslashes were doubled
    old = before.split("\t")
    still = set() if old[u] == NULL_TEXT else set(orjson.loads(old[u].replace("\\\\", "\\")))
    for n in names:
        if n in at:
            fields[at[n]] = old[at[n]]
    left = [n for n in names if n in still]
    fields[u] = orjson.dumps(left).decode().replace("\\", "\\\\") if left else NULL_TEXT
    return "\t".join(fields)


def _exact(values: Sequence[Any], fam: str) -> bool:
    """Whether Python's equality on these values is PostgreSQL's on the column."""
    types = set(map(type, values))
    if fam in INTEGER:
        return types <= {int}
    if fam in TEXT:
        return types <= {str}
    return False


def canonical(value: Any, fam: str) -> Any:
    """`value` as PostgreSQL will see it in a column of family `fam`, hashable; the value itself
    when it does not parse (PostgreSQL will refuse it, and name it, at load)."""
    try:
        if fam in NUMBER and type(value) is not bool:
            number = Decimal(str(value))
            return normalized(number) if number.is_finite() else number
        if fam == "timestamp with time zone" and type(value) is str:
            moment = datetime.fromisoformat(value)
            # a time without an offset is read in the session's zone, which the loader sets to UTC
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if fam == "timestamp without time zone" and type(value) is str:
            return datetime.fromisoformat(value).replace(tzinfo=None)  # PostgreSQL drops offsets
        if fam == "date" and type(value) is str:
            return date.fromisoformat(value)
        if fam.startswith("time") and type(value) is str:
            return time.fromisoformat(value)
    except (ValueError, InvalidOperation):
        return value
    try:
        return _as_copy_text(value)  # what a text column receives for it
    except BadValue:  # a NUL byte: PostgreSQL refuses the row at load
        return value


def key_families(table: Table) -> list[str]:
    """The type family of each key column, in key order (for last_of_each). Here, not in the
    loader, so the COPY streamer (stream.py) needs no import of the loader that drives it."""
    return [family(table.columns[table.props[p]]) for p in table.key_props]
