"""The csv fast lane's SELECT: the server renders each row as one finished csv line in
tapwell's dialect (see tapwell.sdk.tap_batch), so the tap only joins lines and writes them: no
Python per value, as the raw `mysql | psql` limit does it.

Every field is what the RECORD lane's JSON value would parse to in the target:

    int, year, decimal, float, bit>1   the server's digits, unquoted (DECIMAL exact)
    boolean (TINYINT(1), BIT(1))       "true" / "false"
    string, enum, set, time, spatial   quoted text ('"' doubled), utf8mb4
    binary                             quoted base64 (the schema's contentEncoding)
    json                               quoted JSON text (MariaDB: JSON_COMPACT, every digit kept)
    date, datetime, timestamp          ISO 8601, datetimes with microseconds and +00:00 (the
                                       session is UTC, so TIMESTAMP is read in UTC; DATETIME is
                                       naive and written as UTC, as the RECORD lane does)

NULL is the unquoted empty field and '' the quoted `""`, because each field is rendered with
`IFNULL(<quoted text>, '')`. Zero and invalid dates become NULL as in the RECORD lane; a second
output column lists them (their text) so the tap counts them, or refuses them under
`zero_dates: "error"`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tapwell.singer.schema import property_format, property_types

from .types import Column

Quote = Callable[[str], str]

_DATETIME = "'%Y-%m-%dT%H:%i:%s.%f+00:00'"
_DATE = "'%Y-%m-%d'"
_MIDNIGHT = "'%Y-%m-%dT00:00:00+00:00'"


def _quoted(text_sql: str) -> str:
    """A text expression as a quoted csv field, NULL as the unquoted empty field."""
    return f"IFNULL(CONCAT('\"', REPLACE({text_sql}, '\"', '\"\"'), '\"'), '')"


def _valid_date(q: str) -> str:
    """True for a date Python (and the targets) can hold: no zero year, month or day, and no day
    past the month's last (possible under ALLOW_INVALID_DATES)."""
    return (
        f"IFNULL(YEAR({q}) > 0 AND MONTH({q}) > 0 AND DAYOFMONTH({q}) > 0"
        f" AND DAYOFMONTH({q}) <= DAYOFMONTH(LAST_DAY({q})), 0)"
    )


def field_sql(col: Column, prop: dict[str, Any], q: str, mariadb: bool) -> str:
    """The csv field of one column (q: its quoted name) as a MySQL expression."""
    kind = col.kind
    if kind in ("bool", "bit") and "boolean" in property_types(prop):
        return f"CASE WHEN {q} IS NULL THEN '' WHEN {q} <> 0 THEN 'true' ELSE 'false' END"
    if kind in ("bool", "bit"):
        return f"IFNULL({q} + 0, '')"
    if kind in ("int", "year", "decimal", "float"):
        return f"IFNULL({q}, '')"
    if kind == "binary":
        return f"IFNULL(CONCAT('\"', REPLACE(TO_BASE64({q}), '\\n', ''), '\"'), '')"
    if kind == "json":
        text = f"IFNULL(JSON_COMPACT({q}), {q})" if mariadb else f"CAST({q} AS CHAR)"
        return _quoted(f"CONVERT({text} USING utf8mb4)")
    if kind in ("date", "datetime"):
        fmt = _DATE if kind == "date" else _DATETIME
        if kind == "date" and property_format(prop) == "date-time":
            fmt = _MIDNIGHT
        return f"IF({_valid_date(q)}, DATE_FORMAT({q}, {fmt}), '')"
    if kind == "spatial":
        return _quoted(f"CONVERT(ST_AsText({q}) USING utf8mb4)")
    return _quoted(f"CONVERT({q} USING utf8mb4)")  # string, enum, set, time


def bad_dates_sql(columns: Sequence[Column], quote: Quote) -> str | None:
    """An expression listing a row's zero or invalid dates ('' when none), or None when the
    stream has no date columns."""
    parts = []
    for col in columns:
        if col.kind in ("date", "datetime"):
            q = quote(col.name)
            parts.append(f"IF({q} IS NOT NULL AND NOT {_valid_date(q)}, CAST({q} AS CHAR), NULL)")
    if not parts:
        return None
    return "CONCAT_WS(',', " + ", ".join(parts) + ")"


def csv_select_list(
    columns: Sequence[Column],
    props: dict[str, Any],
    keys: Sequence[str],
    quote: Quote,
    mariadb: bool,
) -> tuple[str, bool]:
    """(the SELECT list, whether it has the bad-dates column): the row's csv line as bytes
    (without its line end), then the bad dates when there are date columns, then the key
    columns as themselves (for the STATE after each file)."""
    fields = [field_sql(c, props.get(c.name) or {}, quote(c.name), mariadb) for c in columns]
    out = ["CAST(CONCAT_WS(',', " + ", ".join(fields) + ") AS BINARY)"]
    bad = bad_dates_sql(columns, quote)
    if bad is not None:
        out.append(bad)
    out += [quote(k) for k in keys]
    return ", ".join(out), bad is not None
