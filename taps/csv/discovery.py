"""Which files make each stream, and each stream's schema (declared, or inferred from a sample)."""

from __future__ import annotations

import codecs
import csv
import glob
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress
from pathlib import Path
from typing import Any

from tapwell.sdk.tap_schema import draft7_schema
from tapwell.singer.errors import ConfigError, DiscoveryError, SyncError, did_you_mean
from tapwell.singer.wire import dumps, loads

from .config import CsvConfig
from .types import infer_property, not_null


@dataclass
class StreamConfig:
    name: str
    paths: list[str]
    key_properties: list[str] = field(default_factory=list)
    replication_key: str | None = None
    schema: dict[str, Any] | None = None
    column_types: dict[str, Any] = field(default_factory=dict)
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    null_values: list[str] = field(default_factory=list)
    # Columns whose type the catalog changes from the stream's own (catalog_typed): declared by
    # the user there, so never widened, and a value they refuse names the catalog as the fix.
    catalog_typed: frozenset[str] = frozenset()


def stream_configs(config: CsvConfig) -> list[StreamConfig]:
    """Streams from `streams` (tapwell's shape) or `files` (the shape of Meltano's tap-csv:
    entity, path, keys)."""
    raw: Any = config.streams
    if raw is None:
        raw = [
            {
                "name": f.get("entity"),
                "path": f.get("path"),
                "key_properties": f.get("keys", []),
                "delimiter": f.get("delimiter", ","),
                "encoding": f.get("encoding", "utf-8"),
            }
            for f in config.files
        ]
    if not raw:
        raise ConfigError(
            'config has no streams: add "streams": [{"name": ..., "path": "data/*.csv"}]'
        )
    base = Path(config.base_dir)
    out = []
    for i, s in enumerate(raw):
        name = s.get("name")
        if not name:
            raise ConfigError(f"config key streams/{i}/name: every stream needs a name")
        patterns = s.get("paths") or ([s["path"]] if s.get("path") else [])
        if not patterns:
            raise ConfigError(f"config key streams/{i}/path: stream {name!r} needs a path or glob")
        files: list[str] = []
        for pattern in patterns:
            full = str(base / pattern) if not Path(pattern).is_absolute() else pattern
            matched = sorted(glob.glob(full, recursive=True))
            if not matched:
                raise ConfigError(f"stream {name!r}: no file matches {full!r}")
            files.extend(matched)
        encoding = s.get("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise ConfigError(
                f"config key streams/{i}/encoding: stream {name!r}: unknown encoding {encoding!r} "
                "(e.g. utf-8, latin-1, cp1252, utf-16)"
            ) from None
        out.append(
            StreamConfig(
                name=name,
                paths=files,
                key_properties=list(s.get("key_properties") or s.get("keys") or []),
                replication_key=s.get("replication_key"),
                schema=s.get("schema"),
                column_types=dict(s.get("column_types") or {}),
                delimiter=s.get("delimiter", ","),
                quotechar=s.get("quotechar", '"'),
                encoding=encoding,
                null_values=list(s.get("null_values") or []),
            )
        )
    return out


# Python's csv module refuses a field past 128 KiB as malformed, and a text or JSON document may
# well be longer. A field past 64 MiB is most likely a quote never closed (the rest of the file
# read as one field): that bound keeps such a file from filling the memory before it is refused.
FIELD_LIMIT = 64 << 20
csv.field_size_limit(FIELD_LIMIT)

# Encodings where a newline byte is always a newline: decode line by line, so a bad byte is
# reported at its own line rather than wherever the decoder's buffer happened to be.
_LINE_SAFE = {
    "utf-8",
    "utf8",
    "utf-8-sig",
    "ascii",
    "latin-1",
    "latin1",
    "iso-8859-1",
    "cp1252",
    "windows-1252",
}


def _decoded_lines(f: Any, encoding: str, path: str) -> Iterator[str]:
    enc = "utf-8" if encoding.lower() in ("utf-8", "utf8", "utf-8-sig") else encoding
    for n, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8-sig" if n == 1 and enc == "utf-8" else enc)
        except UnicodeDecodeError as exc:
            raise CsvDecodeError(
                path, n, f"not valid {encoding} ({exc.reason} at byte {exc.start})"
            ) from None


class CsvDecodeError(Exception):
    """A line of a CSV file is not in the stream's encoding."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path} line {line}: {problem}")
        self.path, self.line, self.problem = path, line, problem

    def named(self, stream: str) -> BadFile:
        """The one line saying it, with the stream and the fix."""
        return gzipped(self.path, stream) or bad_file(
            f"{self.path} line {self.line}", stream, self.problem, FIX_ENCODING
        )


class BadFile(DiscoveryError, SyncError):
    """A file the stream's dialect or encoding cannot read (malformed CSV, a line with another
    number of fields than the header, a byte the encoding cannot decode): bad input, exit 65,
    one line naming the file, the line, the stream, what is wrong and the fix."""

    exit_code = 65  # EX_DATAERR


FIX_CSV = (
    "fix the file: a quoted field ends at its closing quote, followed by the delimiter or the "
    'line\'s end, and a quote inside it is doubled ("")'
)
FIX_WIDTH = (
    "fix the file: every line has the header's fields (quote a field that holds the delimiter "
    "{delimiter!r})"
)
FIX_ENCODING = 'fix the file, or set the stream\'s encoding (e.g. "encoding": "latin-1")'


def gzipped(path: str, stream: str) -> BadFile | None:
    """The error for a gzip file named as a stream's CSV (its bytes are no text in any encoding,
    and FIX_ENCODING's advice would load them as garbage); None when `path` is not gzip."""
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return None
    return bad_file(
        path,
        stream,
        "the file is gzip-compressed, and tap-csv reads plain CSV",
        f"decompress it first (gunzip -k {path}) and name the .csv file in the stream's path",
    )


def bad_file(where: str, stream: str, problem: str, fix: str) -> BadFile:
    """`<where: t.csv line 3>, stream 't': <problem>: <fix>`."""
    return BadFile(f"{where}, stream {stream!r}: {problem}: {fix}")


def open_csv(path: str, sc: StreamConfig) -> tuple[Any, Any]:
    """(file, csv reader) for a stream's file; close the file when done."""
    if sc.encoding.lower() in _LINE_SAFE:
        f: Any = open(path, "rb")  # noqa: SIM115 (closed by the caller)
        lines: Any = _decoded_lines(f, sc.encoding, path)
    else:
        f = lines = open(path, newline="", encoding=sc.encoding)  # noqa: SIM115
    return f, csv.reader(lines, delimiter=sc.delimiter, quotechar=sc.quotechar, strict=True)


def open_rows(path: str, sc: StreamConfig) -> tuple[Any, Any]:
    """(file, csv reader) for reading a whole file fast: decoded in C by Python's text layer
    (a bad byte is then located by `first_bad_line`); close the file when done."""
    enc = sc.encoding
    if enc.lower() in ("utf-8", "utf8") and _has_bom(path):
        enc = "utf-8-sig"  # a byte order mark is not part of the first column's name
    f = open(path, newline="", encoding=enc)  # noqa: SIM115 (closed by the caller)
    return f, csv.reader(f, delimiter=sc.delimiter, quotechar=sc.quotechar, strict=True)


def _has_bom(path: str) -> bool:
    """Whether the file starts with UTF-8's byte order mark (then read as utf-8-sig, a decoder
    written in Python: plain utf-8 is decoded in C, 0.02-0.03 s less on 300,000 rows)."""
    with open(path, "rb") as f:
        return f.read(3) == codecs.BOM_UTF8


def not_decoded(path: str, near: int, sc: StreamConfig, exc: UnicodeDecodeError) -> BadFile:
    """The error for a byte `sc.encoding` cannot decode: at its own line when the encoding is
    decoded line by line (`first_bad_line`), else near the line the reader was at."""
    return (
        gzipped(path, sc.name)
        or first_bad_line(path, sc)
        or bad_file(
            f"{path} near line {near}",
            sc.name,
            f"not valid {sc.encoding} ({exc.reason})",
            FIX_ENCODING,
        )
    )


def first_bad_line(path: str, sc: StreamConfig) -> BadFile | None:
    """The error naming the first line of `path` its encoding cannot decode, as `open_csv`'s
    reader words it; None when the encoding is not decoded line by line."""
    if sc.encoding.lower() not in _LINE_SAFE:
        return None
    with open(path, "rb") as f:
        try:
            for _ in _decoded_lines(f, sc.encoding, path):
                pass
        except CsvDecodeError as exc:
            return exc.named(sc.name)
    return None


def read_header(path: str, sc: StreamConfig) -> list[str] | None:
    """The file's column names, checked (check_header); None when the file is empty: it has no
    rows, and the sync skips it."""
    f, reader = open_csv(path, sc)
    with f:
        try:
            header = next(reader)
        except StopIteration:
            return None
        except CsvDecodeError as exc:
            raise exc.named(sc.name) from None
        except csv.Error as exc:
            problem = f"malformed CSV header ({exc})"
            raise bad_file(f"{path} line 1", sc.name, problem, FIX_CSV) from None
        except UnicodeDecodeError as exc:
            raise not_decoded(path, 1, sc, exc) from None
    check_header(header, path, sc)
    return header


def check_header(header: list[str], path: str, sc: StreamConfig) -> None:
    """Refuse a header whose names cannot each name one column: an empty one (no table can have
    a column without a name), or a name written twice."""
    if not header:
        problem = "the header line is blank"
        fix = "fix the file: its first line is the header naming the columns"
        raise bad_file(f"{path} line 1", sc.name, problem, fix)
    if "" in header:
        problem = f"column {header.index('') + 1} of the header has no name"
        fix = (
            "fix the file: name every column in the header (a header line that ends with the "
            f"delimiter {sc.delimiter!r} has an empty last name)"
        )
        raise bad_file(f"{path} line 1", sc.name, problem, fix)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        problem = f"duplicate column names {dupes}"
        raise bad_file(f"{path} line 1", sc.name, problem, "fix the file: rename one of each")


def file_headers(sc: StreamConfig) -> list[tuple[str, list[str]]]:
    """(path, header) of each of the stream's files that has one (an empty file has no rows)."""
    return [(path, got) for path in sc.paths if (got := read_header(path, sc)) is not None]


def infer_schema(
    sc: StreamConfig, sample_rows: int, headers: list[tuple[str, list[str]]] | None = None
) -> dict[str, Any]:
    """The stream's schema: declared, or every column of its files (in the order first met)
    typed from the first `sample_rows` rows, each file's rows read by its own header
    (`headers`: file_headers', read when not given)."""
    if headers is None:
        headers = file_headers(sc)
    if sc.schema:
        if headers:  # files with no rows yet have nothing to compare
            _check_declared(sc, list(dict.fromkeys(h for _, names in headers for h in names)))
        return sc.schema
    if not headers:
        problem = "the file is empty" if len(sc.paths) == 1 else "every file is empty"
        fix = "fix the file: its first line is the header naming the columns"
        raise bad_file(sc.paths[0], sc.name, f"{problem}, no header row", fix)
    header = list(dict.fromkeys(h for _, names in headers for h in names))
    _check_columns(sc, header)
    samples: dict[str, list[str]] = {h: [] for h in header}
    taken = 0
    for path, names in headers:
        inferred = [not sc.column_types.get(h) for h in names]  # a declared column: no sample
        f, reader = open_csv(path, sc)
        with f:
            try:
                next(reader, None)
                for row in reader:
                    for h, v in compress(zip(names, row, strict=False), inferred):
                        if v not in sc.null_values:
                            samples[h].append(v)
                    taken += 1
                    if sample_rows and taken >= sample_rows:
                        break
            except CsvDecodeError as exc:
                raise exc.named(sc.name) from None
            except csv.Error as exc:
                problem = f"malformed CSV ({exc})"
                raise bad_file(
                    f"{path} line {reader.line_num}", sc.name, problem, FIX_CSV
                ) from None
            except UnicodeDecodeError as exc:
                raise not_decoded(path, reader.line_num + 1, sc, exc) from None
        if sample_rows and taken >= sample_rows:
            break
    props = {h: sc.column_types.get(h) or infer_property(samples[h]) for h in header}
    return {"type": "object", "properties": props}


def catalog_typed(
    sc: StreamConfig, schema: dict[str, Any], given: dict[str, Any]
) -> tuple[StreamConfig, dict[str, Any]]:
    """The stream and its schema as the catalog types them: each property of the catalog's
    schema (`given`, what the SCHEMA message announces) that differs from the stream's own
    replaces it, so the values are converted, and refused, by the type the target was told. A
    property left out of the catalog is not synced (tapwell.singer.catalog selects the catalog's
    properties only). An unchanged catalog gives `sc` and `schema` back as they are."""
    own = schema.get("properties") or {}
    changed = {h: p for h, p in given.items() if h not in own or _as_sent(p) != _as_sent(own[h])}
    if not changed:
        return sc, schema
    return (
        replace(sc, catalog_typed=frozenset(changed)),
        dict(schema, properties={**own, **changed}),
    )


def _as_sent(prop: Any) -> Any:
    """A property as the discovered catalog writes it and a catalog file reads back (draft 7,
    numbers as the wire reads them): an unchanged one compares equal."""
    return loads(dumps(draft7_schema(prop)))


def check_selection(
    sc: StreamConfig,
    headers: list[tuple[str, list[str]]],
    selected: dict[str, Any],
    keys: Sequence[str],
) -> None:
    """Every file of the stream has the columns its rows cannot go without, checked before the
    sync writes anything: each key property, and each selected column the catalog declares not
    null (a file without it loaded NULL there through RECORD lines, where the csv lane's target
    refused it halfway). A nullable column a file lacks is NULL in that file's rows, on every
    lane (the record leaves it out; the csv lane writes NULL)."""
    needed = list(keys) + [p for p, prop in selected.items() if p not in keys and not_null(prop)]
    for path, header in headers:
        missing = next((column for column in needed if column not in header), None)
        if missing is not None:
            why = _why(sc, missing, keys)
            raise ConfigError(f"stream {sc.name!r}: {path} has no column {missing!r}, {why}")


def _why(sc: StreamConfig, column: str, keys: Sequence[str]) -> str:
    """Why a file needs `column`, and the fixes: in the file, the config or the catalog."""
    if column in keys:
        return (
            "a key property of the stream: add the column to the file, or take the file out of "
            "the stream's path"
        )
    who, where = declared_not_null(sc, column)
    return (
        f'which {who} declares not null: add the column to the file, or add "null" to its "type" in '
        f"{where}, or deselect {column!r} in the catalog"
    )


def declared_not_null(sc: StreamConfig, column: str) -> tuple[str, str]:
    """(who declares a not-null column so, where "null" goes to let it be null): the config
    (its schema or column_types; the catalog then too), else the catalog alone."""
    declared = (sc.schema or {}).get("properties") or sc.column_types
    if not_null(declared.get(column) or {}):
        return "the config", "the config and the catalog"
    return "the catalog", "the catalog"


def _check_columns(sc: StreamConfig, header: list[str], declared: Iterable[str] = ()) -> None:
    """Every column the stream's settings name is a column of its files: a key property or
    replication key that is not would break the sync, a column_types entry would be ignored (a
    typo, `nmu` for `num`, left the column inferred without a word), a property of a declared
    schema would be null in every record (`declared`)."""
    named = [("key property", key) for key in sc.key_properties]
    named += [("replication key", sc.replication_key)] if sc.replication_key else []
    named += [("column_types entry", column) for column in sc.column_types]
    named += [("schema property", column) for column in declared]
    for what, column in named:
        if column not in header:
            raise ConfigError(
                f"stream {sc.name!r}: {what} {column!r} is not a column of {_files(sc)}"
                f"{did_you_mean(column, header)} (its header: {_shown(header)})"
            )


def _check_declared(sc: StreamConfig, header: list[str]) -> None:
    """A declared schema's columns against the files' header (all of them, in the order first
    met): a property no file has is refused as a column_types entry naming no column is (a typo,
    `nmae` for `name`, would sync the column as null); a column the schema lacks is a warning
    line, as leaving one out is a way to not sync it, but a column added to the files later is
    left out of the catalog too until the schema names it."""
    declared = (sc.schema or {}).get("properties") or {}
    _check_columns(sc, header, declared)
    left = [h for h in header if h not in declared]
    if left:
        names = ", ".join(repr(h) for h in left[:_SHOWN_COLUMNS])
        names += f", ... ({len(left)} columns)" if len(left) > _SHOWN_COLUMNS else ""
        what, are, them = ("column", "is", "it") if len(left) == 1 else ("columns", "are", "them")
        sys.stderr.write(
            f"tap-csv: warning: stream {sc.name!r}: {what} {names} of {_files(sc, 'its files')} "
            f"{are} not in its schema and not discovered: add {them} to schema's properties to sync "
            f"{them}\n"
        )


def _files(sc: StreamConfig, several: str = "any of its files") -> str:
    return sc.paths[0] if len(sc.paths) == 1 else f"{several} ({sc.paths[0]}, ...)"


def _shown(header: list[str]) -> str:
    more = f", ... ({len(header)} columns)" if len(header) > _SHOWN_COLUMNS else ""
    return ", ".join(header[:_SHOWN_COLUMNS]) + more


_SHOWN_COLUMNS = 40  # a header's columns named in an error line, at most
