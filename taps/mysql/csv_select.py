"""The csv fast lane's SELECT: the server renders each row as one finished csv line in
tapwell's dialect (see tapwell.sdk.tap_batch), so the tap only joins lines and writes them: no
Python per value, as the raw `mysql | psql` limit does it.

Every field is what the RECORD lane's JSON value would parse to in the target:

    int, year, decimal, float, bit>1   the server's digits, unquoted (DECIMAL exact)
    boolean (TINYINT(1), BIT(1))       "true" / "false"
    string, enum, set, time, spatial   quoted text ('"' doubled), utf8mb4 bytes
    binary                             quoted base64 (the schema's contentEncoding)
    json                               quoted JSON text, compact (every digit kept)
    date, datetime, timestamp          ISO 8601 (a space before the time), datetimes with the
                                       server's fraction and +00:00 (the session is UTC, so
                                       TIMESTAMP is read in UTC; DATETIME is naive and written
                                       as UTC, as the RECORD lane does)

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

# Charsets whose bytes are already utf8mb4's: their text is taken as bytes, never converted.
UTF8_BYTES = {"utf8mb4", "utf8mb3", "utf8", "ascii"}


def _quoted(bytes_sql: str) -> str:
    """A binary text expression as a quoted csv field ('"' doubled), NULL as the unquoted
    empty field."""
    return f"IFNULL(CONCAT('\"', REPLACE({bytes_sql}, '\"', '\"\"'), '\"'), '')"


def _text(q: str, charset: str | None) -> str:
    """A column's text as utf8mb4 bytes: binary, so fields of different collations join."""
    if charset is None or charset.lower() in UTF8_BYTES:
        return f"CAST({q} AS BINARY)"
    return f"CAST(CONVERT({q} USING utf8mb4) AS BINARY)"


def _valid_date(q: str) -> str:
    """True for a date Python (and the targets) can hold: date arithmetic gives NULL for zero
    and invalid dates (`0000-00-00`, `2022-11-00`, `2022-02-30` stored under
    ALLOW_INVALID_DATES), and TO_DAYS is below 366 in year 0; NULL (false) for NULL."""
    return f"TO_DAYS({q} + INTERVAL 0 DAY) >= 366"


def field_sql(
    col: Column, prop: dict[str, Any], q: str, mariadb: bool, charset: str | None = None
) -> str:
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
        # MariaDB's JSON is LONGTEXT as written: JSON_COMPACT drops the layout and keeps every
        # digit, as the RECORD lane's re-encoded document (DuckDB stores the text as given).
        if mariadb:
            return _quoted(_text(f"IFNULL(JSON_COMPACT({q}), {q})", charset))
        return _quoted(f"CAST(CAST({q} AS CHAR) AS BINARY)")
    if kind == "date":
        tail = "'T00:00:00+00:00'" if property_format(prop) == "date-time" else "''"
        return f"IF({_valid_date(q)}, CONCAT({q}, {tail}), '')"
    if kind == "datetime":  # 'YYYY-MM-DD hh:mm:ss[.ffffff]': ISO 8601 with a space, in UTC
        return f"IF({_valid_date(q)}, CONCAT({q}, '+00:00'), '')"
    if kind == "spatial":
        return _quoted(f"CAST(CONVERT(ST_AsText({q}) USING utf8mb4) AS BINARY)")
    if kind == "time":
        return _quoted(f"CAST({q} AS BINARY)")
    return _quoted(_text(q, charset))  # string, enum, set


def bad_dates_sql(columns: Sequence[Column], quote: Quote) -> str | None:
    """An expression listing a row's zero or invalid dates ('' when none), or None when the
    stream has no date columns."""
    parts = []
    for col in columns:
        if col.kind in ("date", "datetime"):
            q = quote(col.name)
            parts.append(f"IF({q} IS NULL OR {_valid_date(q)}, NULL, CAST({q} AS CHAR))")
    if not parts:
        return None
    return "CONCAT_WS(',', " + ", ".join(parts) + ")"


def csv_select_list(
    columns: Sequence[Column],
    props: dict[str, Any],
    keys: Sequence[str],
    quote: Quote,
    mariadb: bool,
    charsets: dict[str, str | None] | None = None,
) -> tuple[str, bool]:
    """(the SELECT list, whether it has the bad-dates column): the row's csv line as bytes
    (without its line end), then the bad dates when there are date columns, then the key
    columns as themselves (for the STATE after each file)."""
    sets = charsets or {}
    fields = [
        field_sql(c, props.get(c.name) or {}, quote(c.name), mariadb, sets.get(c.name))
        for c in columns
    ]
    out = ["CAST(CONCAT_WS(',', " + ", ".join(fields) + ") AS BINARY)"]
    bad = bad_dates_sql(columns, quote)
    if bad is not None:
        out.append(bad)
    out += [quote(k) for k in keys]
    return ", ".join(out), bad is not None
