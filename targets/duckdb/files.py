"""The fast lane into DuckDB: a csv BATCH file (tapwell's dialect, see tapwell.sdk.tap_batch) is
read by DuckDB's own `read_csv` (every column as text, NULL only for the unquoted empty field, so
'' stays '') and cast to the table's column types in the SELECT the loader's merge inserts from:
no Python per row. The merge, the state row and the commit are the loader's usual ones.

A header naming a column the stream does not have, a file DuckDB cannot parse, or a value its
column cannot hold: one ProtocolError naming the file and, when it can be found, the row.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from typing import TYPE_CHECKING, Any

import duckdb
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch
from tapwell.singer.errors import ProtocolError

if TYPE_CHECKING:
    from .loader import Table


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def csv_source(path: str, gz: bool, names: list[str]) -> str:
    """`read_csv` of one file in tapwell's csv dialect, every column (its header) as text."""
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({literal(path)}, header = true, columns = {{{columns}}}, delim = ',', "
        "quote = '\"', escape = '\"', allow_quoted_nulls = false, auto_detect = false, "
        f"compression = {literal('gzip' if gz else 'none')}, strict_mode = true)"
    )


def header(batch: Batch, path: str, gz: bool, source: str) -> list[str]:
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as f:
            first = f.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise bad(batch, source, f"BATCH file {path} cannot be read ({exc})") from None
    if not first.endswith(b"\n"):
        raise bad(batch, source, f"BATCH file {path} row 1: no header line (empty or truncated)")
    try:
        return next(csv.reader(io.StringIO(first.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise bad(batch, source, f"BATCH file {path} row 1: the header is not csv") from None


def staged_select(
    batch: Batch, table: Table, path: str, gz: bool, source: str
) -> tuple[str, list[str], list[tuple[str, str, str]]]:
    """(the SELECT of the file's rows cast to the table's types, the columns it gives, the
    (csv column, table column, type) it casts)."""
    by_prop = {c.prop: c.column for c in table.staged if not c.unchanged}
    casts = []
    for name in header(batch, path, gz, source):
        col = by_prop.get(name)
        if col is None:
            raise bad(
                batch,
                source,
                f"BATCH file {path} row 1: column {name!r} is not in the stream's schema",
            )
        casts.append((name, col, table.columns[col]))
    select = [
        f"CAST({quote_ident(name)} AS {sqltype}) AS {quote_ident(col)}"
        for name, col, sqltype in casts
    ]
    cols = [col for _, col, _ in casts]
    if batch.version is not None:
        select.append(f"CAST({int(batch.version)} AS BIGINT) AS _sdc_table_version")
        cols.append("_sdc_table_version")
    source_sql = csv_source(path, gz, [name for name, _, _ in casts])
    return f"(SELECT {', '.join(select)} FROM {source_sql})", cols, casts


def refused(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    path: str,
    gz: bool,
    casts: list[tuple[str, str, str]],
    exc: duckdb.Error,
    source: str,
) -> ProtocolError:
    """What DuckDB refused, named by file, row and column when a value does not cast."""
    message = str(exc).splitlines()[0]
    probe = con.cursor()  # the load's transaction is aborted; reading the file needs none
    for name, col, sqltype in casts:
        q = quote_ident(name)
        try:
            found = probe.execute(
                f"SELECT n FROM (SELECT row_number() OVER () + 1 AS n, {q} AS v "
                f"FROM {csv_source(path, gz, [n for n, _, _ in casts])}) WHERE v IS NOT NULL "
                f"AND TRY_CAST(v AS {sqltype}) IS NULL LIMIT 1"
            ).fetchone()
        except duckdb.Error:
            break  # the file itself does not parse: DuckDB's message says where
        if found is not None:
            return bad(
                batch,
                source,
                f"BATCH file {path} row {found[0]}, column {col}: not a {sqltype} ({message})",
            )
    return bad(batch, source, f"BATCH file {path}: {message}")


def bad(batch: Batch, source: str, problem: str) -> ProtocolError:
    return ProtocolError(problem, line=batch.first_line, stream=batch.spec.name, source=source)


__all__: list[Any] = ["csv_source", "refused", "staged_select"]
