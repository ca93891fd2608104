"""The fast lane into PostgreSQL: a csv BATCH file (tapwell's dialect, see
tapwell.sdk.tap_batch) is sent to `COPY ... (FORMAT csv, HEADER)` as it lies on disk, in 1 MB
chunks through psycopg's `cursor.copy()`: no Python per row. The rows go into a temporary staging
table shaped like the target (the batch's table version filled in as the column's default), then
the loader's usual merge runs, all inside the transaction that also saves the state
(PostgresLoader.load). While no key is already in the table (a first load), a file is COPYed
straight into the table instead (`_direct`), as the RECORD lane does: no staging, no merge.
Either way the number columns are looked through on the way (steps.py), so that PostgreSQL's
input functions never read a text the RECORD lane would refuse (' 12', '+5', 'NaN', '0x10') nor
numeric(p,s)'s input round a value past its scale; and by the same look the date-time, date,
time, boolean, document and bytea columns (kinds.py: 'now', 'epoch', 'infinity', 'J2451187',
'24:00:00', 't', 'yes', '1' in an object property, 'abc' as bytea).

A value PostgreSQL refuses, a truncated or corrupt file, a header naming a column the stream does
not have: one ProtocolError naming the file and its row, never a traceback.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from typing import IO, Any

import psycopg
import psycopg.errors
from psycopg import sql
from tapwell.sdk.csv_fractions import (
    cut_fractions,
    long_fraction,
    moment_start,
    rows_in_chunks,
)
from tapwell.sdk.target import Batch
from tapwell.singer.errors import ProtocolError
from tapwell.singer.fraction_digits import FRACTIONS

from . import ddl
from .connection import CHARACTER_NOT_IN_REPERTOIRE, UNTRANSLATABLE_CHARACTER, sqlstate, value_fix
from .kinds import text_checks_of
from .steps import ColumnCheck, NumberScan, checks_of, not_null_of
from .types import family

LOG = logging.getLogger("target-postgres")

BAD_COPY_FILE_FORMAT = "22P04"  # extra data after the last column, missing data, a quote left open
VALUE_FIX = " (fix the value at the source, or change the field's type in the SCHEMA)"
INVALID_TEXT = "22P02"  # a value its column's type cannot read ('abc' for a number)

CHUNK = 1 << 20


def load_files(loader: Any, cur: Any, batch: Batch, stage: sql.Identifier) -> None:
    """Every file of `batch` into its table: staged by COPY into `stage` (the loader's staging
    table, which its merge reads), then merged. `loader` is the PostgresLoader (typed Any: this
    module is imported by loader.py)."""
    table = loader.tables[batch.spec.name]
    if batch.version is not None:
        loader._ensure_column(cur, table, "_sdc_table_version", "bigint")
    if table.how.load_method == "overwrite" and table.stream not in loader.overwritten:
        cur.execute(sql.SQL("DELETE FROM {}").format(table.target))
        loader.overwritten.add(table.stream)
    for path, gz in batch.files:
        _load_file(loader, cur, batch, table, path, gz, stage)


def _load_file(
    loader: Any, cur: Any, batch: Batch, table: Any, path: str, gz: bool, stage: sql.Identifier
) -> None:
    header = _header(batch, path, gz, loader.source)
    cols = []
    for name in header:
        col = table.props.get(name)
        if col is None:
            raise _bad(
                batch,
                loader.source,
                f"BATCH file {path} row 1: column {name!r} is not "
                "in the stream's schema (send its SCHEMA first)",
            )
        cols.append(col)
    merge = bool(table.key_props) and table.how.upsert
    deletes = "_sdc_deleted_at" in table.props and table.how.hard_delete
    props = {col: prop for prop, col in table.props.items()}
    schema = batch.spec.schema.get("properties") or {}
    checks: dict[int, ColumnCheck] = {
        **checks_of(schema, props, cols, table.columns),
        **text_checks_of(schema, props, cols, table.columns),
    }
    not_null = not_null_of(schema, props, cols)
    scan = NumberScan(checks, not_null) if checks or not_null else None
    direct = merge and not deletes and table.direct and sorted(table.keys) == table.pk
    if direct and _direct(loader, cur, batch, table, path, gz, cols, scan):
        return
    _make_stage(cur, stage, table)
    merged = list(cols)
    if batch.version is not None:
        cur.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN _sdc_table_version SET DEFAULT {}").format(
                stage, sql.Literal(int(batch.version))
            )
        )
        merged.append("_sdc_table_version")
    if "_sdc_deleted_at" in table.columns and "_sdc_deleted_at" not in merged:
        merged.append("_sdc_deleted_at")  # NULL: a row sent again is alive again
    try:
        _copy_file(loader, cur, batch, path, gz, stage, cols, scan)
    except psycopg.Error as exc:
        raise _bad(batch, loader.source, _copy_problem(exc, path, gz)) from None
    loader._merge(cur, table, merged, merge, deletes)


def _make_stage(cur: Any, stage: sql.Identifier, table: Any) -> None:
    """The staging table, shaped like the target."""
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, table.target)
    )


def _copy_file(
    loader: Any,
    cur: Any,
    batch: Batch,
    path: str,
    gz: bool,
    into: Any,
    cols: list[str],
    scan: NumberScan | None,
) -> None:
    """COPY the file into `into` as it lies on disk (1 MB chunks); a file with checked columns
    (steps.checks_of, kinds.text_checks_of) is looked through piece by piece on the way
    (`scan`), and a value the RECORD lane would refuse (no JSON number, more digits after the
    point than its column keeps, a date-time off the rule, ...) stops the COPY naming its row. A file `scan` has looked through to its end already
    (a direct COPY rolled back: a key was in the table) is not looked at again."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(
        into, ddl.idents(cols)
    )
    table = loader.tables[batch.spec.name]
    nul = table.nul
    json_at = [i for i, c in enumerate(cols) if family(table.columns.get(c, "")) in JSON_TYPES]
    moments = _moments(table, cols)
    look = None if scan is None or scan.finished else scan
    offset = 0
    props = {col: prop for prop, col in table.props.items()}

    def where(at: int) -> str:
        return f"BATCH file {path} row {_row_number(path, gz, offset + at)}"

    def cut(text: str, start: int, index: int, at: int) -> str:
        return FRACTIONS.cut(
            text,
            start,
            batch.spec.name,
            props.get(cols[index], cols[index]),
            batch.first_line,
            where=lambda: where(at),
        )

    try:
        with _open(path, gz) as f, cur.copy(stmt) as pipe:
            if json_at or moments or look or (scan is not None and scan.integers):
                for piece in rows_in_chunks(f, CHUNK):
                    size = len(piece)
                    if look is not None:
                        off = look.first_off(piece, _row_end(piece, 0) if offset == 0 else 0)
                        if off is not None:
                            at, index, why = off
                            raise _bad(
                                batch,
                                loader.source,
                                f"{where(at)}, column {cols[index]}: {why}{VALUE_FIX}",
                            )
                    if moments and long_fraction(piece):  # PostgreSQL would round them
                        piece = cut_fractions(piece, len(cols), moments, cut)
                    if json_at and b"\\u0000" in piece:
                        try:
                            piece = _json_without_nul(piece, json_at, cols, nul)
                        except _NulInJson as exc:
                            raise _bad(
                                batch,
                                loader.source,
                                f"{where(exc.at)}, column {exc.column}: {NUL_IN_JSON}",
                            ) from None
                    if scan is not None:  # an integer column's '1.0' or '1E+3' as digits
                        piece = scan.as_integers(piece, offset)
                    offset += size
                    pipe.write(_without_nul(piece, nul))
                if look is not None:
                    look.finished = True
            else:
                while chunk := f.read(CHUNK):
                    pipe.write(_without_nul(chunk, nul))
        batch.file_rows += max(cur.rowcount, 0)
        if scan is not None:
            LOG.debug(
                "stream %r: BATCH file %s COPYed into %s, its checked columns looked through "
                "(rows read closer: %d)",
                batch.spec.name,
                path,
                "the table" if into == table.target else "the staging table",
                scan.closer,
            )
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _bad(batch, loader.source, f"BATCH file {path} cannot be read ({exc})") from None


def _direct(
    loader: Any,
    cur: Any,
    batch: Batch,
    table: Any,
    path: str,
    gz: bool,
    cols: list[str],
    scan: NumberScan | None,
) -> bool:
    """New keys only (a first load): the file COPYed straight into the table, no staging table
    and no merge (as the RECORD lane's direct COPY). The primary key catches a key already
    there: the savepoint undoes the attempt and the stream is staged and merged from then on.

    The batch's table version is the `_sdc_table_version` column's default for the
    transaction: `tapwell.table_version`, a setting local to it (the default expression is set
    once per table; a writer that sets nothing gets NULL, as before)."""
    if batch.version is not None:
        _version_default(cur, table)
        cur.execute(
            "SELECT set_config('tapwell.table_version', %s, true)", (str(int(batch.version)),)
        )
    counted = batch.file_rows
    cur.execute("SAVEPOINT tapwell_direct")
    try:
        _copy_file(loader, cur, batch, path, gz, table.target, cols, scan)
    except psycopg.errors.UniqueViolation:
        batch.file_rows = counted  # the staged load counts them
        cur.execute("ROLLBACK TO SAVEPOINT tapwell_direct")
        loader.stage_from_now(table)
        return False
    except psycopg.Error as exc:
        raise _bad(batch, loader.source, _copy_problem(exc, path, gz)) from None
    cur.execute("RELEASE SAVEPOINT tapwell_direct")
    return True


VERSION_DEFAULT = "NULLIF(current_setting('tapwell.table_version', true), '')::bigint"


def _version_default(cur: Any, table: Any) -> None:
    cur.execute(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = '_sdc_table_version'",
        (table.schema, table.name),
    )
    row = cur.fetchone()
    if row is not None and row[0] and "tapwell.table_version" in row[0]:
        return
    cur.execute(
        sql.SQL("ALTER TABLE {} ALTER COLUMN _sdc_table_version SET DEFAULT {}").format(
            table.target, sql.SQL(VERSION_DEFAULT)
        )
    )


def _without_nul(chunk: bytes, nul: Any) -> bytes:
    """`chunk` with its NUL characters replaced or stripped as the setting `nul_characters`
    says, as the RECORD lane does (PostgreSQL cannot store them; in UTF-8 a 0 byte is only ever
    U+0000, so a chunk boundary never splits one). Mode `error` leaves them: COPY then refuses
    the row, and the error names the file, row and column. A NUL written as `\\u0000` inside a
    JSON value: `_json_without_nul`."""
    if nul.mode == "error" or b"\x00" not in chunk:
        return chunk
    nul.count += chunk.count(b"\x00")
    return chunk.replace(b"\x00", "\ufffd".encode() if nul.mode == "replace" else b"")


JSON_TYPES = ("json", "jsonb")
# a csv field: quoted (a quote inside doubled), or bare
_FIELD = re.compile(rb'"(?:[^"]|"")*"|[^,"\n]*')
# a JSON escape of U+0000: `\u0000` after an even run of backslashes (`\\u0000` is a backslash
# and the text "u0000"). A csv field keeps backslashes as they are, so this holds in it too.
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


NUL_IN_JSON = (
    "JSON contains a NUL character (\\u0000), which PostgreSQL's jsonb cannot store "
    "(set nul_characters to replace or strip to load it)"
)


class _NulInJson(Exception):
    """Mode `error`: the row starting at `at` holds a NUL in JSON column `column`."""

    def __init__(self, at: int, column: str) -> None:
        super().__init__(column)
        self.at, self.column = at, column


def _json_without_nul(piece: bytes, json_at: list[int], cols: list[str], nul: Any) -> bytes:
    """`piece` (whole csv rows) with every JSON escape of a NUL character in a json or jsonb
    column replaced by U+FFFD's or stripped, as `nul_characters` says: what the RECORD lane does
    to such a value (encode.Nul.fix_json), which jsonb would refuse; in mode `error`, the first
    one raises _NulInJson. A text column's `\\u0000` is six characters of text, and stays."""
    fix = rb"\1\\ufffd" if nul.mode == "replace" else rb"\1"
    out: list[bytes] = []
    done = pos = 0
    end = len(piece)
    while pos < end:
        row_end = _row_end(piece, pos)
        if piece.find(b"\\u0000", pos, row_end) < 0:
            pos = row_end
            continue
        at = pos
        for index in range(len(cols)):
            field = _FIELD.match(piece, at)
            if field is None:
                break
            start, stop = field.span()
            if index in json_at and piece.find(b"\\u0000", start, stop) >= 0:
                fixed, count = _NUL_ESCAPE.subn(fix, piece[start:stop])
                if count and nul.mode == "error":
                    raise _NulInJson(pos, cols[index])
                if count:
                    nul.count += 1
                    out.append(piece[done:start])
                    out.append(fixed)
                    done = stop
            if piece[stop : stop + 1] != b",":
                break
            at = stop + 1
        pos = row_end
    out.append(piece[done:])
    return b"".join(out)


def _moments(table: Any, cols: list[str]) -> dict[int, int]:
    """The date-time and time columns among `cols`: index -> where a value's time begins."""
    starts = {i: moment_start(table.columns.get(col, "")) for i, col in enumerate(cols)}
    return {i: start for i, start in starts.items() if start is not None}


def _row_number(path: str, gz: bool, at: int) -> int:
    """The row (the header is row 1) that starts at byte `at` of the file."""
    with _open(path, gz) as f:
        data = f.read(at)
    row = pos = 0
    while pos < len(data):
        pos = _row_end(data, pos)
        row += 1
    return row + 1


def _row_end(piece: bytes, pos: int) -> int:
    """Where the row starting at `pos` ends (after its newline)."""
    end = piece.find(b"\n", pos)
    while end >= 0 and piece.count(b'"', pos, end) % 2:
        end = piece.find(b"\n", end + 1)
    return len(piece) if end < 0 else end + 1


def _open(path: str, gz: bool) -> IO[bytes]:
    f: Any = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115
    return f


def _header(batch: Batch, path: str, gz: bool, source: str) -> list[str]:
    import csv
    import io

    try:
        with _open(path, gz) as f:
            first = f.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise _bad(batch, source, f"BATCH file {path} cannot be read ({exc})") from None
    if not first.endswith(b"\n"):
        raise _bad(batch, source, f"BATCH file {path} row 1: no header line (empty or truncated)")
    try:
        return next(csv.reader(io.StringIO(first.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise _bad(batch, source, f"BATCH file {path} row 1: the header is not csv") from None


def _copy_problem(exc: Any, path: str, gz: bool) -> str:
    """`BATCH file F row N, column C: what PostgreSQL said (the fix)`, from COPY's error context
    (`COPY t, line N, column C: "..."`). PostgreSQL's N counts physical lines, a newline quoted
    inside a field among them; the file's row (its header row 1) is what the other lanes name."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    message = (primary or (str(exc).strip().splitlines() or ["COPY failed"])[0]).strip()
    # a value quoted across lines stays whole, on the error's one line
    message = message.removeprefix("ERROR:").strip().replace("\r", "\\r").replace("\n", "\\n")
    message += _copy_fix(exc)
    context = getattr(diag, "context", None) or ""
    # COPY's own line: a type's input may put its own first (jsonb's `JSON data, line 1: x`)
    m = re.search(r"^COPY .*?, line (\d+)(?:, column ([^:]+))?", context, re.M)
    if m is None:
        return f"BATCH file {path}: {message}"
    where = f"BATCH file {path} row {_logical_row(path, gz, int(m.group(1)))}"
    if m.group(2):
        where += f", column {m.group(2)}"
    return f"{where}: {message}"


def _copy_fix(exc: Any) -> str:
    """What to do about a value or a row COPY refused, as the RECORD lane says it."""
    code = sqlstate(exc)
    if code == BAD_COPY_FILE_FORMAT:
        return " (the file is not the csv its BATCH message says: write it again at the source)"
    if code == INVALID_TEXT:
        return VALUE_FIX
    if code.startswith("22") and code not in (
        CHARACTER_NOT_IN_REPERTOIRE,
        UNTRANSLATABLE_CHARACTER,
    ):
        return value_fix(exc)
    return ""


def _logical_row(path: str, gz: bool, line: int) -> int:
    """The file's row (the header is row 1) that holds PostgreSQL's physical `line` of it. COPY
    counts one line per row and one per newline quoted inside a field: `\r` in a file whose
    header ends in `\r\n`, else `\n` (its eol_type); an error past the last row is the last."""
    row = lines = 0
    eol = b"\n"
    try:
        with _open(path, gz) as f:
            for piece in rows_in_chunks(f, CHUNK):
                if row == 0 and piece.find(b"\r\n") == piece.find(b"\n") - 1 >= 0:
                    eol = b"\r"
                pos = 0
                while pos < len(piece):
                    end = _row_end(piece, pos)
                    row += 1
                    lines += 1 + max(piece.count(eol, pos, end) - 1, 0)
                    if lines >= line:
                        return row
                    pos = end
    except (OSError, EOFError, zlib.error):
        return line
    return max(row, 1)


def _bad(batch: Batch, source: str, problem: str) -> ProtocolError:
    return ProtocolError(problem, line=batch.first_line, stream=batch.spec.name, source=source)
