"""The tap's side of the fast lane: rows written straight into BATCH files, then the BATCH message.

`batch_config` is spelled as singer-sdk spells it, so a config written for an SDK tap works:

    {"encoding": {"format": "jsonl" | "csv", "compression": "none" | "gzip"},
     "storage": {"root": "file:///spool", "prefix": "orders-"},
     "batch_size": 100000}

tapwell's own keys beside them: `max_pending_files` (the tap waits while its files not yet consumed
hold more rows than that many files of `batch_size` rows; 0, the default: never) and `durable` (default true: each file is fsynced before its
BATCH message; false for a spool whose files the target consumes in the same run, see below).

`jsonl` is the SDK's format: one JSON object (the record) per line. `csv` is tapwell's: a header
line naming the columns, then one line per row in the dialect PostgreSQL's `COPY ... (FORMAT csv,
HEADER)` reads: text quoted (this module quotes every value; tap-mysql's server-rendered lines
leave numbers, booleans and datetimes bare), NULL an unquoted empty field, so '' stays '' (`""`),
and tabs, newlines and backslashes are plain characters inside the quotes. A value is written as its JSON
text would carry it (decimals with every digit, timestamps with offset and microseconds, JSON
documents as their text), so the target parses each column from the text as it would the RECORD.
A column the targets keep as JSON (its property admits an object or an array, or any value) holds
every value's JSON text: a string there is written with its JSON quotes (`"x"`, `"{}"`), so the
target tells it from a document as the RECORD line does (`BatchFile(..., properties=)`).

Storage is a seam (`Storage`): local folders (`file://`) today; an object store is another class
with `open_new` and `url`, chosen by the root's scheme in `storage_for`.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import IO, Any, Protocol

import orjson

from tapwell.singer.codegen import execute
from tapwell.singer.errors import ConfigError
from tapwell.singer.schema import logical_type
from tapwell.singer.wire import dumps as json_dumps

FORMATS = ("jsonl", "csv")
COMPRESSIONS = ("none", "gzip")
DEFAULT_BATCH_SIZE = 100_000

__all__ = [
    "BatchConfig",
    "BatchFile",
    "LocalStorage",
    "csv_text",
    "json_columns",
    "json_text",
    "parse_batch_config",
]


class Storage(Protocol):
    """Where BATCH files go: a new file to write, and the URL a target reads it from."""

    def open_new(self, name: str) -> tuple[IO[bytes], str]: ...

    def wait_below(self, most: int) -> None: ...

    def wait_rows(self, rows: dict[str, int], full: int, most: int) -> None: ...


@dataclass(frozen=True)
class LocalStorage:
    """A local folder (`file:///path`): files are created new, never overwritten."""

    folder: str
    prefix: str = ""

    def open_new(self, name: str) -> tuple[IO[bytes], str]:
        path = os.path.join(self.folder, self.prefix + name)
        f = open(path, "xb")  # noqa: SIM115 - the writer closes it
        return f, "file://" + os.path.abspath(path)

    def pending(self) -> int:
        """Files of ours still in the folder: the target deletes each once committed."""
        return sum(1 for n in os.listdir(self.folder) if n.startswith(self.prefix))

    def wait_below(self, most: int) -> None:
        """Bounded disk: wait while more than `most` files are not yet consumed (0: never)."""
        while most and self.pending() > most:
            time.sleep(0.02)

    def pending_rows(self, rows: dict[str, int], full: int) -> int:
        """The rows in our files not yet consumed: `rows` gives a file's (by name; the
        consumed ones are forgotten), another of ours (an earlier stream's, a file left over)
        counts `full`."""
        here = [n for n in os.listdir(self.folder) if n.startswith(self.prefix)]
        for name in rows.keys() - set(here):
            del rows[name]
        return sum(rows.get(n, full) for n in here)

    def wait_rows(self, rows: dict[str, int], full: int, most: int) -> None:
        """Bounded disk, counted in rows: wait while our files not yet consumed hold more than
        `most` full files' rows (0: never). A file cut short (the last ones of a stream, which
        halve) counts its own rows, so several small files are not waited for as many full
        ones."""
        while most and self.pending_rows(rows, full) > most * full:
            time.sleep(0.02)


def storage_for(root: str, prefix: str) -> LocalStorage:
    """The storage a root URL names. Only local folders for now (the seam for object stores)."""
    if root.startswith("file://"):
        folder = root[len("file://") :]
    elif "://" in root:
        scheme = root.split("://", 1)[0]
        raise ConfigError(
            f"config key batch_config.storage.root: {scheme}:// is not supported yet "
            "(use a local folder, file:///path)"
        )
    else:
        folder = root
    if not os.path.isdir(folder):
        raise ConfigError(
            f"config key batch_config.storage.root: folder {folder} does not exist (create it)"
        )
    return LocalStorage(folder, prefix)


@dataclass(frozen=True)
class BatchConfig:
    format: str
    compression: str
    root: str
    prefix: str
    batch_size: int
    max_pending_files: int = 0  # tapwell's: wait while more files are unconsumed (0: never)
    durable: bool = True  # tapwell's: fsync each file before its BATCH (BatchFile.close)

    def storage(self) -> LocalStorage:
        return storage_for(self.root, self.prefix)

    @property
    def suffix(self) -> str:
        return "." + self.format + (".gz" if self.compression == "gzip" else "")


def parse_batch_config(value: Any, key: str = "batch_config") -> BatchConfig:
    """singer-sdk's `batch_config` object, checked: one ConfigError line naming the key."""
    if not isinstance(value, dict):
        raise ConfigError(f"config key {key}: an object with encoding, storage and batch_size")
    encoding = value.get("encoding") or {}
    storage = value.get("storage") or {}
    if not isinstance(encoding, dict) or not isinstance(storage, dict):
        raise ConfigError(f"config key {key}: encoding and storage are objects")
    fmt = str(encoding.get("format") or "jsonl").lower()
    if fmt not in FORMATS:
        raise ConfigError(f"config key {key}.encoding.format: {fmt!r} is not one of jsonl, csv")
    comp = str(encoding.get("compression") or "none").lower()
    if comp not in COMPRESSIONS:
        raise ConfigError(
            f"config key {key}.encoding.compression: {comp!r} is not one of none, gzip"
        )
    root = storage.get("root")
    if not isinstance(root, str) or not root:
        raise ConfigError(f"config key {key}.storage.root: the folder, as file:///path")
    size = value.get("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(size, bool) or not isinstance(size, int | str) or not str(size).isdigit():
        raise ConfigError(f"config key {key}.batch_size: {size!r} is not a whole number")
    if int(size) < 1:
        raise ConfigError(f"config key {key}.batch_size: at least 1")
    pending = value.get("max_pending_files", 0)
    if isinstance(pending, bool) or not isinstance(pending, int) or pending < 0:
        raise ConfigError(f"config key {key}.max_pending_files: {pending!r} is not a whole number")
    durable = value.get("durable", True)
    if not isinstance(durable, bool):
        raise ConfigError(f"config key {key}.durable: {durable!r} is not true or false")
    prefix = str(storage.get("prefix") or "")
    storage_for(root, prefix)  # a missing folder is said before any message, not at the 1st file
    return BatchConfig(fmt, comp, root, prefix, int(size), pending, durable)


# ----------------------------------------------------------------------------- csv values


_JSON_SPACE = re.compile(r'("(?:[^"\\]|\\.)*")|\s+')


def _compact(text: str) -> str:
    """JSON text without the blanks between tokens (strings untouched, numbers never parsed:
    every digit stays), as a target that parses the RECORD's JSON would store it."""
    return _JSON_SPACE.sub(lambda m: m.group(1) or "", text) if " " in text else text


def _datetime(v: datetime) -> str:
    return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()


_CSV: dict[type, Callable[[Any], str]] = {
    str: lambda v: v,
    bool: lambda v: "true" if v else "false",
    int: str,
    float: repr,
    orjson.Fragment: lambda v: _compact(orjson.dumps(v).decode()),  # JSON text, every digit
    Decimal: lambda v: format(v, "f"),
    datetime: _datetime,
    date: date.isoformat,
    clock_time: clock_time.isoformat,
    timedelta: str,
    bytes: lambda v: base64.b64encode(v).decode("ascii"),
    dict: lambda v: json_dumps(v).decode(),  # as the RECORD line: a Decimal inside exact
    list: lambda v: json_dumps(v).decode(),
}


def csv_text(value: Any) -> str | None:
    """A value as its csv field's text (None stays None: the unquoted empty field)."""
    if value is None:
        return None
    conv = _CSV.get(type(value))
    if conv is None:
        if isinstance(value, str):
            return str(value)
        raise TypeError(f"cannot write {type(value).__name__} to a csv BATCH file")
    return conv(value)


def json_text(value: Any) -> str | None:
    """A value of a JSON column (`json_columns`) as its csv field's text: its JSON text as the
    RECORD line carries it, a string with its quotes (None stays None)."""
    if value is None:
        return None
    if type(value) is orjson.Fragment:
        return _compact(orjson.dumps(value).decode())
    return json_dumps(value).decode()


def json_columns(properties: Mapping[str, Any]) -> frozenset[str]:
    """The properties the targets keep in a JSON column (tapwell.singer.schema.logical_type):
    one admitting an object or an array, or any value."""
    return frozenset(
        name
        for name, prop in properties.items()
        if isinstance(prop, dict) and logical_type(prop).kind == "json"
    )


def csv_line(fields: Sequence[str | None]) -> bytes:
    """One csv line: every value quoted (a quote doubled), None as the unquoted empty field."""
    return (
        ",".join(["" if v is None else '"' + v.replace('"', '""') + '"' for v in fields]) + "\n"
    ).encode("utf-8", "surrogatepass")


def _quoted(value: Any) -> str:
    text = value if type(value) is str else csv_text(value)
    return '"' + text.replace('"', '""') + '"'  # type: ignore[union-attr]


def _json_quoted(value: Any) -> str:
    return '"' + json_text(value).replace('"', '""') + '"'  # type: ignore[union-attr]


def compile_csv_row(
    columns: Sequence[str], json: Iterable[str] = ()
) -> Callable[[dict[str, Any]], str]:
    """A function from a record dict to its csv line, compiled once per file: one expression per
    column, a string (the common case) quoted inline, other values through csv_text; a column
    in `json` (json_columns) holds every value's JSON text (json_text). Column names appear only
    as values in the namespace, never in the source text."""
    ns: dict[str, Any] = {"q": _quoted, "j": _json_quoted}
    parts = []
    json = frozenset(json)
    for i, name in enumerate(columns):
        ns[f"k{i}"] = name
        if name in json:
            parts.append(f"('' if (x{i} := r[k{i}]) is None else j(x{i}))")
            continue
        parts.append(
            f"('' if (x{i} := r[k{i}]) is None else "
            f"('\"' + x{i}.replace('\"', '\"\"') + '\"' if type(x{i}) is str else q(x{i})))"
        )
    src = "def row(r):\n    return ','.join((" + ", ".join(parts) + ",)) + '\\n'\n"
    return execute(src, "tap-csv-row", ns)["row"]  # source from indexes only


# ----------------------------------------------------------------------------- the files


class BatchFile:
    """One BATCH file being written: rows (as record dicts) in, the file's URL out on close.

    `properties` (the stream's schema properties) tells a csv file which columns the targets
    keep as JSON (json_columns): a string there is written as its JSON text, as the RECORD line
    carries it. Without them a csv file writes every string as it is, which is right only when
    no column admits both a string and a document (a target reads `x` as no JSON, `{}` as the
    document where the record held the string)."""

    def __init__(
        self,
        cfg: BatchConfig,
        storage: Storage,
        name: str,
        columns: Sequence[str],
        properties: Mapping[str, Any] | None = None,
    ):
        self.raw, self.url = storage.open_new(name + cfg.suffix)
        import gzip  # here: only a gzip lane needs it (start-up of every tap)

        self.f: IO[bytes] = (
            gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=1)  # type: ignore[assignment]
            if cfg.compression == "gzip"
            else self.raw
        )
        self.format = cfg.format
        self.durable = cfg.durable
        self.columns = tuple(columns)
        self.rows = 0
        self.bytes = 0  # written by write_lines
        if self.format == "csv":
            self.f.write(csv_line(self.columns))
            self.csv_row = compile_csv_row(self.columns, json_columns(properties or {}))

    def write(self, records: Sequence[dict[str, Any]], dumps: Callable[[Any], bytes]) -> None:
        """`records` as lines; `dumps` is the tap's exact JSON encoder (jsonl)."""
        if self.format == "jsonl":
            self.f.write(b"".join([dumps(r) + b"\n" for r in records]))
        else:
            self.f.write("".join(map(self.csv_row, records)).encode("utf-8", "surrogatepass"))
        self.rows += len(records)

    def write_lines(self, data: bytes, rows: int) -> None:
        """`rows` lines already in the file's format (each ending in a newline), as a source
        that renders them itself writes them (tap-mysql's server-side csv)."""
        self.f.write(data)
        self.rows += rows
        self.bytes += len(data)

    def close(self) -> str:
        """Close the file and return its URL; `durable` (the default), fsynced first: a STATE
        will say these rows are done, and a reader after a crash must not find the file cut
        short. Not durable (`tapwell run`'s spool, tapwell.runner.fast_lane): the target reads
        the file from the page cache within the run and its commit is what makes the rows
        durable; after a crash the run starts again from the saved state with a new spool, so
        nobody reads the file again, and the file is deleted, often before it reaches the disk.
        The fsyncs were the tap's wait on the disk, on its critical path: 0.06 s of a 300,000-row
        tap-csv | target-duckdb, 0.19 s of 1,000,000 (strace -T, 2026-12-06, load 5-7)."""
        if self.f is not self.raw:
            self.f.close()
        self.raw.flush()
        if self.durable:
            os.fsync(self.raw.fileno())
        self.raw.close()
        return self.url


def write_line_files(
    stream: str,
    chunks: Iterable[tuple[bytes, int, Any]],
    cfg: BatchConfig,
    version: int | None,
    writer: Any,
    state: dict[str, Any],
    columns: Sequence[str] = (),
    expected_bytes: int = 0,
    flushes: list[Callable[[], None]] | None = None,
) -> tuple[int, Any]:
    """A stream's jsonl lines (chunks of (lines, how many, greatest replication-key value or
    None), as tapwell.sdk.tap.Stream.lines gives them; csv: `columns` is the header) written into BATCH files of about
    `cfg.batch_size` rows, each announced by a BATCH message (with the version its rows carry)
    and followed by `state`, so the target commits and deletes it while the next is written (the
    tap waits while the files not yet consumed hold more than `max_pending_files` full files'
    rows: LocalStorage.wait_rows). With `expected_bytes` (about the
    lines' size), the last files are cut smaller (tail_budget): the target loads the last one
    after the tap has finished, and a short one ends the run sooner. `flushes` gets a function
    that announces the open file now: the stream calls it before a new SCHEMA, so no file holds
    rows written under two schemas (a jsonl file's earlier rows would be checked against the new
    one). Returns (rows, greatest key)."""
    storage = cfg.storage()
    file: BatchFile | None = None
    count, top, seq = 0, None, 0
    written, budget = 0, 0  # bytes written; the current file's byte budget (0: rows only)
    stamp = f"{os.getpid()}-{time.time_ns()}"
    unconsumed: dict[str, int] = {}  # each announced file's rows, by name, until it is consumed

    def announce(file: BatchFile) -> None:
        url = file.close()
        unconsumed[os.path.basename(url)] = file.rows
        msg = batch_message(stream, cfg, [url])
        if version is not None:
            msg["version"] = version
        writer.write_dict(msg)
        writer.write_state(state)

    def flush() -> None:
        nonlocal file
        if file is not None:
            announce(file)
            file = None

    if flushes is not None:
        flushes.append(flush)
    for data, n, chunk_top in chunks:
        if file is None:
            storage.wait_rows(unconsumed, cfg.batch_size, cfg.max_pending_files)
            seq += 1
            file = BatchFile(cfg, storage, f"{_safe(stream)}-{stamp}-{seq}", columns)
            budget = tail_budget(expected_bytes - written) if expected_bytes else 0
        file.write_lines(data, n)
        count += n
        written += len(data)
        if chunk_top is not None and (top is None or chunk_top > top):
            top = chunk_top
        if file.rows >= cfg.batch_size or (budget and file.bytes >= budget):
            flush()
    flush()
    return count, top


TAIL_BYTES = 2 << 20  # the smallest file tail_budget asks for (about 10,000 rows of orders)


def tail_budget(remaining: int) -> int:
    """A new file's size in bytes when about `remaining` bytes of lines are still to come: half
    of them (the files halve toward the end, so the last is small), at least TAIL_BYTES (a file
    costs the target a commit). Only a cap: `batch_size` rows still cut a file first."""
    return max(remaining // 2, TAIL_BYTES)


def _safe(name: str) -> str:
    """A stream's name as part of a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60]


def batch_message(stream: str, cfg: BatchConfig, urls: list[str]) -> dict[str, Any]:
    """singer-sdk's BATCH message for `urls`."""
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": cfg.format, "compression": cfg.compression},
        "manifest": urls,
    }
