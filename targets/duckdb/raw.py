"""RECORD lines handed to DuckDB as they are: no Python JSON parse, no Python check per record.

The loop gives a batch the input lines of its records when this module says the stream can take
them (`plan`): one Arrow string column, read by `json_transform_strict` (given the message's every
key, as our writers write it; `json_transform` for a batch it refuses) into each property's JSON
text (a date-time's or date's string value: Column.read), then checked and cast in one SQL
statement into a temporary table. The SQL checks are those of
the Python check (tapwell.singer.record_check) for the types it covers, made stricter where SQL cannot
tell (a present null from a missing property, an integral float in an integer column): a row
they refuse, a line DuckDB cannot parse or a value its column cannot hold, and the loader decodes
the batch's lines in Python instead (`decode`), so what is refused is refused by the usual
check, with its usual one line.

Values arrive as the Python path stages them (stage.py): strings unescaped as JSON defines, numbers
from the same text (a line with a run of 16 digits or a three-digit exponent never comes here:
the loop keeps it for the exact parser), date-times cast by DuckDB from their text, JSON
documents as minified JSON text with every number as the line spells it (a row whose document
DuckDB writes otherwise, 1.50 as 1.5, gets it from Python after the read: `respell_rows`).
A stream goes the Python way when any of its columns is of a kind not covered here (time,
unions of kinds, `required`, multipleOf other than 10^-s, `_sdc_unchanged`, nested tables).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tapwell.sdk import target_lanes as lanes
from tapwell.sdk.sql_names import quote_ident
from tapwell.sdk.target import Batch, StreamSpec
from tapwell.singer.errors import ProtocolError
from tapwell.singer.messages import RecordMessage
from tapwell.singer.number_steps import number_step, ten_to_minus
from tapwell.singer.schema import property_format, property_types
from tapwell.singer.wire import dumps, loads, loads_spelled, parse_line, sniff_record

from .stage import UNCHANGED, StagedColumn
from .types import is_plain, minus_zero_pattern

LINES = "_tapwell_lines"  # the batch's lines, an Arrow table registered on the load's connection
ROWS = "temp.main._tapwell_raw_rows"  # the lines' rows, typed and checked
N, BAD = "_tapwell_n", "_tapwell_bad"  # the rows' position and refusal, beside the columns
SPELL = "_tapwell_spell"  # a row whose JSON documents Python writes (respell_rows)
FIX = "_tapwell_spelled"  # those rows' documents as Python writes them, an Arrow table
LINE = "d"  # a row's input line, as text (create_rows)
COMMA = "c"  # a line with a comma before a closing bracket, which DuckDB reads and JSON has not
SLICE = 4096  # lines per Arrow record batch: DuckDB's threads share a batch's record batches
RUN = 1 << 20  # bytes: consecutive blocks of lines shorter than this are joined (lines_table)
INTEGER_TYPES = ("BIGINT", "HUGEINT", "INTEGER", "SMALLINT", "TINYINT")
# A date-time Python's datetime.fromisoformat reads and DuckDB reads alike; others go to Python.
DATETIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?)?"  # an offset may have seconds
)
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# A comma before a closing bracket ({"a":1,}, [1, ]): DuckDB's JSON reader (yyjson) takes it, the
# Python path refuses the line (not valid JSON), so such a line must not be read in SQL. One RE2
# search of each block of lines (no look per line, the GIL released); where it finds one, the
# block's lines holding one are parsed (wire.loads) to tell a string's ",]" from JSON that is not.
TRAILING_COMMA = r",[ \t\r]*[\]}]"
# A number two JSON writers may spell differently (exponent, 16+ digits): a JSON document holding
# one, where its input line is not at hand (nested tables' SQL), is written by the Python path.
SPELLED_APART = r"[0-9]([eE]|[0-9]{15})"
# A number DuckDB (and Python) may write otherwise than a line spells it: an exponent, -0, a
# fraction ending in 0 after another digit or with five leading zeros, where a number can stand
# (tapwell.singer.wire.may_respell; checked against DuckDB's writing on 100,000 random
# spellings). Blanks as \x09 and the like: `_named` would rename the r of \r.
RESPELLED = (
    r"[:,\[][ \x09\x0a\x0d]*(-0|-?[0-9]+(\.[0-9]*[0-9]0|\.00000[0-9]*|(\.[0-9]+)?[eE][-+]?[0-9]+))"
    r"[ \x09\x0a\x0d,\]}]"
)
# The message's version in the lax read: none in a batch without one (a line of another writer
# may hold one before a last object key, and still end as ours: the loop did not see it), a whole
# number in a batch with one (the loop chose lines ending in it; DuckDB reads the first of two).
NO_VERSION = "struct_extract(ok, 'version') IS NULL"
VERSION = (
    "struct_extract(ok, 'version') IS NULL OR NOT (contains(struct_extract(ok, 'version')::VARCHAR, '.') OR "
    "contains(struct_extract(ok, 'version')::VARCHAR, 'e') OR contains(struct_extract(ok, 'version')::VARCHAR, 'E'))"
)


@dataclass(frozen=True)
class Column:
    """One column of the SQL, from `r` (the property's JSON text as DuckDB writes it, NULL when
    the property is null or missing): `text`, what the value is read from (a string's value, a
    number as a double; `r` itself when that is all), `value` (from `r` and `s`, that text) and
    whether the property passes its check (`good`, from `r`, `s` and `v`, the value);
    `respell`, for a JSON document: whether DuckDB's text of it is not the line's (from `r` and
    `s`), so Python writes it (respell_rows). `digits`: whether `r` may hold other digits than
    the line (DuckDB reads a non-integer number as a double, 0.10000000000000000001 as 0.1, and
    a document's numbers too), so a line with a run of 16 digits or a three-digit exponent must
    reach the exact parser instead (`Plan.digits`); integers, strings, booleans and date-times
    are read as the line spells them (an integer of any length stays its text). `key`, for a
    JSON document read with its line: the property's key as `dumps` writes it, and `alone`, the
    `text` for a batch whose every line holds that key once (raw.alone: no look per line).
    `read`: the type json_transform reads the property as, so `r` is its JSON text (JSON) or,
    for a date-time or date, the string's value (VARCHAR: see column)."""

    staged: StagedColumn
    text: str
    value: str
    good: str
    respell: str | None = None
    digits: bool = False
    key: bytes | None = None
    alone: str | None = None
    read: str = "JSON"


@dataclass(frozen=True)
class Plan:
    structure: (
        str  # json_transform's structure: {"record": {property: Column.read, ...}, "version": ...}
    )
    columns: list[Column]
    keys: list[str]
    # a column may read other digits than the line's (Column.digits): the loop keeps lines that
    # only the exact parser reads exactly out of the batch (RowEncoder.raw_digits)
    digits: bool = True


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# A JSON string's text without its quotes: in DuckDB's text of a string every quote but the
# first and last is escaped (\"), so where the text holds no backslash this is r[2:-2], and
# where it holds one the backslash stays (the date-time shape refuses it). 0.06-0.08 CPU s less
# per 300,000 rows of four such columns than r[2:-2], which counts the text's characters.
UNQUOTED = "replace(r, '\"', '')"
# A JSON string's value from its text (DuckDB's: minified, escapes only where needed).
STRING = f"CASE WHEN contains(r, '\\') THEN json_extract_string(r, '$') ELSE {UNQUOTED} END"
NUMERIC = "left(r, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
WHOLE = "NOT (contains(r, '.') OR contains(r, 'e') OR contains(r, 'E'))"


def as_written(line: str, prop: str, alone: bool = False) -> str:
    """SQL: a document's text `r` as DuckDB writes it (minified, each number re-spelled from a
    double: 1.50 as 1.5, 1E5 as 100000.0, -0 as 0) when every number in it is spelled as the
    source spelled it: the input line holds `"prop":r` where its record's own property stands
    (as our writers write a document), or holds no number DuckDB may spell otherwise
    (RESPELLED: a document with blanks, as tap-csv passes a file's text on); else NULL, and the
    line goes to the Python path, which keeps each number's text
    (tapwell.singer.wire.loads_spelled). A control character DuckDB escapes as \\u001F (Python
    as \\u001f) goes there too.

    `"prop":r` found elsewhere (another document holding the key, a key ending in it:
    `{"doc":{"a":1.50},"other":{"doc":{"a":1.5}}}`) says nothing of the record's own, so each
    place the line holds the key must be followed by `:r` (`everywhere`; a nested table's
    documents share their key, each as written), unless the batch has shown that each line
    holds the key once (`alone`: lines_table). Then the key is looked for without its opening
    quote (`prop":r`), which `alone` found once in each line: DuckDB's `contains`
    starts at each place the needle's first byte stands, and a quote stands everywhere in a
    JSON line (0.11 against 0.04 CPU s per 300,000 lines of the embedded series). The keys are
    written in hex: `_named` would rename a key such as "r"."""
    key = f"decode(from_hex('{dumps(prop).hex()}'))"
    needle = f"decode(from_hex('{(dumps(prop) + b':').hex()}')) || r"
    if alone:
        found = f"contains({line}, decode(from_hex('{tail_key(prop).hex()}')) || r)"
    else:
        found = f"contains({line}, {needle}) AND {everywhere(line, key, needle)}"
    return (
        "CASE WHEN contains(r, '\\u00') THEN NULL "
        f"WHEN {found} THEN r "
        f"WHEN regexp_matches({line}, '{RESPELLED}') THEN NULL ELSE r END"
    )


def tail_key(prop: str) -> bytes:
    """The key `prop` as a line writes it before its value, without the opening quote
    (`prop":`): where the line holds `prop"` once, it stands only where the record's property
    does (alone)."""
    return dumps(prop)[1:] + b":"


def minus_zero(prop: str) -> tuple[str, str]:
    """SQL: the key `"prop"` as a line writes it, and the pattern of `"prop":-0` (blanks around
    the colon), in hex: `_named` would rename a key such as "r"."""
    key, pattern = dumps(prop), minus_zero_pattern(prop)
    return f"decode(from_hex('{key.hex()}'))", f"decode(from_hex('{pattern.encode().hex()}'))"


def everywhere(line: str, key: str, needle: str) -> str:
    """SQL: whether each place the line holds `key` (a key as `dumps` writes it) begins
    `needle` (the key, ':' and a text), and no escape could spell the key otherwise (`\\u`,
    `\\/`): the record's own property (written as `key`, as no escape spells it) is then
    followed by that text (tapwell.sdk.target_lanes.everywhere, in SQL: as many of one as of
    the other, each counted by what replace takes away)."""
    return (
        f"NOT contains({line}, '\\u') AND NOT contains({line}, '\\/') AND "
        f"(strlen({line}) - strlen(replace({line}, {key}, ''))) // strlen({key}) = "
        f"(strlen({line}) - strlen(replace({line}, {needle}, ''))) // strlen({needle})"
    )


def alone(chunks: list[bytes], count: int, p: Plan) -> frozenset[int]:
    """The JSON document columns (their places in p.columns) whose key, as `dumps` writes it,
    each of the `count` lines of `chunks` (whole lines) holds once, where no escape could spell
    it otherwise: as each line holds its record's property (the strict read refuses a line
    without it), that one is it, and SQL need not look again per line (`everywhere`). The key
    is counted without its opening quote (`doc"`, which a key such as "mydoc" ends in too, and
    the key holds): found once a line, it stands only where the record's property does, so
    as_written looks for `doc":` and the text (tail_key). One count per document column, and
    a look at each `\\u` escape, over the batch's bytes."""
    keys = [(j, c.key) for j, c in enumerate(p.columns) if c.key is not None]
    if not keys:
        return frozenset()
    spelled: set[bytes] = set()
    slash = False
    for chunk in chunks:
        units, slashed = lanes.key_escapes(chunk)
        spelled |= units
        slash = slash or slashed
    found = set()
    for j, key in keys:
        prop = p.columns[j].staged.prop
        if (slash and "/" in prop) or lanes.key_units(prop) & spelled:
            continue
        if sum(chunk.count(key[1:]) for chunk in chunks) == count:
            found.add(j)
    return frozenset(found)


def column(
    col: StagedColumn,
    prop: dict[str, Any],
    key: bool,
    line: str | None = None,
    typed: bool = False,
) -> Column | None:
    """The SQL of one column (see Column), or None when its kind is not checked in SQL. `line`:
    the SQL of the record's input line, where a JSON document's text is looked for (as_written);
    without it a document holding a number two writers may spell apart goes to Python. `typed`:
    the property is read by json_transform with the structure `plan` builds (Column.read), not
    as JSON text by the nested tables' SQL (children_sql.py)."""
    kinds = set(property_types(prop))
    nullable = "null" in kinds and not key
    real = kinds - {"null"}
    fmt = property_format(prop)
    base = col.sqltype.split("(", 1)[0]
    multiple = number_step(prop)  # multipleOf, or x-scale's 10^-s
    if multiple is not None and real not in ({"number"}, {"number", "integer"}):
        return None
    text, value, respell, digits, read = "r", "r", None, False, "JSON"
    named: bytes | None = None  # the document's key, as dumps writes it
    text_alone: str | None = None
    checks: list[str]
    if real == {"integer"} and base in (*INTEGER_TYPES, "DECIMAL"):
        value = f"TRY_CAST(r AS {col.sqltype})"
        checks = [WHOLE, "v IS NOT NULL"]
    elif real in ({"number"}, {"number", "integer"}) and base in ("DOUBLE", "DECIMAL"):
        text, value, digits = "TRY_CAST(r AS DOUBLE)", f"TRY_CAST(r AS {col.sqltype})", True
        checks = [NUMERIC, "isfinite(s)", "v IS NOT NULL"]
        if base == "DECIMAL" and is_plain(prop):
            # a plain number made exact (plainnumber.py): a value with more places goes to Python,
            # which widens the column (the line's <= 15 digits: distinct values, distinct doubles)
            checks.append("CAST(v AS DOUBLE) = s")
        if base == "DOUBLE" and line is not None:
            # `-0`: DuckDB's JSON reader (as orjson) reads it as the integer 0, r '0'; -0.0 keeps
            # the sign, as `-0.0` and a csv file's -0 do. Only a zero's line is searched; a line
            # naming the key twice (a document's key, a string) goes to Python (no value: BAD).
            name, pattern = minus_zero(col.prop)
            once = f"length({line}) - length(replace({line}, {name}, '')) = length({name})"
            text = (
                f"CASE WHEN r = '0' AND regexp_matches({line}, {pattern}) THEN "
                f"CASE WHEN {once} THEN CAST('-0.0' AS DOUBLE) END ELSE TRY_CAST(r AS DOUBLE) END"
            )
            value = "s"
        if multiple is not None:
            scale = ten_to_minus(multiple)
            if scale is None:
                return None
            k = f"(s * CAST('{10.0**scale!r}' AS DOUBLE))"  # as schema.FLOAT_ON_STEP tests it
            checks.append(f"abs({k} - round({k})) <= abs({k}) * 4e-16")
    elif real == {"boolean"} and base == "BOOLEAN":
        value = "CASE r WHEN 'true' THEN true WHEN 'false' THEN false END"
        checks = ["v IS NOT NULL"]
    elif real == {"string"} and (fmt, base) in (("date-time", "TIMESTAMPTZ"), ("date", "DATE")):
        shape = DATETIME if base == "TIMESTAMPTZ" else DATE
        if typed:
            # read as VARCHAR: r is the string's value, its escapes undone as Python undoes them
            # (no JSON text written and unquoted per value: 0.1 CPU s less per 300,000 rows of two
            # date-times); a number, boolean, object or array read so is its JSON text, which the
            # shape refuses, as the Python check refuses a value that is not a string
            read, value = "VARCHAR", f"TRY_CAST(r AS {base})"
            checks = [f"regexp_full_match(r, '{shape}')", "NOT starts_with(r, '0000')"]
        else:
            text, value = UNQUOTED, f"TRY_CAST(s AS {base})"  # escaped text fails the shape
            checks = [
                "left(r, 1) = '\"'",
                f"regexp_full_match(s, '{shape}')",
                "NOT starts_with(s, '0000')",
            ]
        checks.append("v IS NOT NULL")
    elif real == {"string"} and fmt not in ("date-time", "date", "time") and base == "VARCHAR":
        value = STRING
        checks = ["left(r, 1) = '\"'"]
    elif real and real <= {"object", "array"} and base == "JSON":
        starts = ", ".join(_lit("{" if k == "object" else "[") for k in sorted(real))
        checks, digits = [f"left(r, 1) IN ({starts})"], True
        if line is None:
            checks.append(f"NOT regexp_matches(r, '{SPELLED_APART}')")
        else:
            text, value, respell = as_written(line, col.prop), "s", "s IS NULL"
            named, text_alone = dumps(col.prop), as_written(line, col.prop, alone=True)
    else:
        return None
    good = " AND ".join(f"({c})" for c in checks)
    # a null is refused when the property may not be null (SQL cannot tell it from a missing one)
    good = f"CASE WHEN r IS NULL THEN {'true' if nullable else 'false'} ELSE {good} END"
    return Column(col, text, value, good, respell, digits, named, text_alone, read)


def plan(spec: StreamSpec, staged: list[StagedColumn]) -> Plan | None:
    """How the stream's lines are read in SQL, or None when a column needs the Python path."""
    schema = spec.schema
    props: dict[str, Any] = schema.get("properties") or {}
    required = [r for r in schema.get("required") or [] if r not in spec.key_properties]
    if required or UNCHANGED in props or set(props) != {c.prop for c in staged}:
        return None
    if any(c.column in (N, BAD) for c in staged):
        return None
    columns = []
    for c in staged:
        made = column(c, props[c.prop], c.prop in spec.key_properties, LINE, typed=True)
        if made is None:
            return None
        columns.append(made)
    record = {c.staged.prop: c.read for c in columns}
    structure = dumps({"record": record, "version": "JSON"}).decode()
    keys = [c.column for c in staged if c.prop in spec.key_properties]
    return Plan(structure, columns, keys, any(c.digits for c in columns))


_NAME = re.compile(r"\b[rsv]\b")


def _named(sql: str, j: int) -> str:
    """`sql` written for r, s and v, for column j's (r3, s3, v3). SQL quoted text holding a lone
    r, s or v would be renamed too: the expressions above hold none."""
    return _NAME.sub(lambda m: f"{m[0]}{j}", sql)


def structure(p: Plan, version: int | None, strict: bool) -> str:
    """json_transform's structure for the batch's lines. Strict: the message's every key, as our
    writers write it (type, stream, record with every property, the batch's version when it has
    one), for json_transform_strict, which refuses a line with one of these keys missing or
    written twice (a key it was not given it leaves alone, as the lax read does)."""
    if not strict:
        return p.structure
    shape: dict[str, Any] = {
        "type": "JSON",
        "stream": "JSON",
        "record": json.loads(p.structure)["record"],
    }
    if version is not None:
        shape["version"] = "JSON"
    return dumps(shape).decode()


def create_rows(
    p: Plan, version: int | None, strict: bool = True, lone: frozenset[int] = frozenset()
) -> tuple[str, list[str]]:
    """(the statement that makes ROWS from LINES, the table's columns it fills), one level of
    SELECT per step so each value is computed once. A line that DuckDB cannot parse is BAD, and
    so is one that is not UTF-8: the lines come as text unchecked (lines_table) and the JSON
    reader refuses such bytes as Python's decode does.

    Strict (tried first): json_transform_strict reads each line as our writers write it, so a
    line with a property missing or written twice, or any other key, is BAD; the loop chose
    lines ending in the batch's version, which needs no other check. Otherwise (a batch strict
    refused): json_transform, a missing property read as null, the version checked and the
    record's keys counted and compared to find a property written twice.

    `lone`: the document columns whose key each line holds once (raw.alone), found where the
    strict read finds every property in every line: their text needs no look per line."""
    n = len(p.columns)
    texts = [
        c.alone if strict and j in lone and c.alone is not None else c.text
        for j, c in enumerate(p.columns)
    ]
    record = "struct_extract(ok, 'record')"
    rs = [
        f"struct_extract({record}, {_lit(c.staged.prop)})::VARCHAR AS r{j}"
        for j, c in enumerate(p.columns)
    ]
    ss = [f"{_named(texts[j], j)} AS s{j}" for j, c in enumerate(p.columns) if c.text != "r"]
    vs = [f"{_named(c.value, j)} AS v{j}" for j, c in enumerate(p.columns)]
    bad = [f"NOT ({_named(c.good, j)})" for j, c in enumerate(p.columns)]
    values, cols = [], []
    for j, c in enumerate(p.columns):
        if version is not None and c.staged.column == "_sdc_table_version":
            continue
        values.append(f"v{j} AS {quote_ident(c.staged.column)}")
        cols.append(c.staged.column)
    if version is not None:
        values.append(f"CAST({int(version)} AS BIGINT) AS _sdc_table_version")
        cols.append("_sdc_table_version")
    r_names = ", ".join(f"r{j}" for j in range(n))
    s_names = "".join(f", s{j}" for j, c in enumerate(p.columns) if c.text != "r")
    if strict:
        lines = (
            f"SELECT {N}, d, {COMMA}, try(json_transform_strict(d, ?)) AS ok FROM ("
            f"SELECT n AS {N}, d, {COMMA} FROM {LINES})"
        )
        broken, carried = f"ok IS NULL OR {COMMA}", ", d"
    else:
        # A property written twice: DuckDB reads the first, the Python parser the last, so the
        # line is BAD (decoded in Python). Only a line with more keys than properties it gave a
        # value (extra keys, nulls) has its keys compared, which costs.
        given = " + ".join(f"(r{j} IS NOT NULL)::INTEGER" for j in range(n)) or "0"
        lines = (
            f"SELECT {N}, d, {COMMA}, ok, len(try(json_keys(d, '$.record'))) AS nk FROM ("
            f"SELECT {N}, d, {COMMA}, try(json_transform(d, ?)) AS ok FROM ("
            f"SELECT n AS {N}, d, {COMMA} FROM {LINES}))"
        )
        broken = (
            f"ok IS NULL OR {COMMA} OR NOT ({NO_VERSION if version is None else VERSION}) OR CASE WHEN nk > {given} "
            "THEN len(list_distinct(json_keys(d, '$.record'))) < nk ELSE false END"
        )
        carried = ", d, nk"
    spell = [
        f"(r{j} IS NOT NULL AND {_named(c.respell, j)})"
        for j, c in enumerate(p.columns)
        if c.respell is not None
    ]
    spelled = f"({' OR '.join(spell)}) AS {SPELL}, " if spell else ""
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {ROWS} AS SELECT {N}, {', '.join(values)}, {spelled}"
        f"(broken OR {' OR '.join(bad) or 'false'}) AS {BAD} "
        f"FROM (SELECT {N}, broken, {r_names}{s_names}, {', '.join(vs)} FROM ("
        f"SELECT {N}, ({broken}) AS broken, {r_names}{''.join(', ' + x for x in ss)} FROM ("
        f"SELECT {N}, ok, {COMMA}{carried}, {', '.join(rs)} FROM ({lines}))))"
    )
    return sql, cols


def lines_table(
    chunks: list[tuple[bytes, int]], p: Plan | None = None
) -> tuple[Any, bool, frozenset[int]]:
    """(the lines of `chunks` as an Arrow table, whether any holds the text "version", the JSON
    document columns of `p` whose key each line holds once: `alone`). `chunks` are (whole
    lines, each ending in a newline; how many): a batch's blocks as they were read
    (Batch.blocks), or its lines joined (`batch_lines`). The table (n: position, j: the line's
    bytes, d: the same bytes as text) shares the blocks' bytes (consecutive short ones joined
    first, up to RUN bytes), its offsets found by Arrow (split at each newline, in C++): no
    Python object per line and no copy of the batch. In record batches of at most SLICE lines:
    DuckDB scans an Arrow table one record batch per thread.

    `d` shares j's buffers and is not checked as UTF-8 (neither pyarrow nor DuckDB's scan checks
    it): create_rows reads it with json_transform, which refuses a line that is not UTF-8 as
    Python's decode does (overlong forms, surrogates, past U+10FFFF, cut sequences: the line is
    BAD and goes to Python), so SQL need not decode(j) first (~7% of the read-and-check
    statement's CPU). The nested tables' SQL reads j (children_sql.py)."""
    import pyarrow as pa  # imported when a batch is loaded, not when --about or --help run

    # Arrow's kernels by name: pyarrow.compute would cost ~0.17 CPU s to import (it writes a
    # Python wrapper for each of its functions). pyarrow._compute is the module it re-exports
    # these from; should a pyarrow release move them, the public module still has them.
    try:
        from pyarrow._compute import (
            CumulativeOptions,
            MatchSubstringOptions,
            SplitPatternOptions,
            call_function,
        )
    except ImportError:  # pragma: no cover - a pyarrow that moved its private module
        from pyarrow.compute import (
            CumulativeOptions,
            MatchSubstringOptions,
            SplitPatternOptions,
            call_function,
        )

    runs = _runs(chunks)
    count = sum(n for _, n in runs)
    ones = pa.repeat(pa.scalar(1, pa.int64()), count + 1)  # 0, 1, ..., count (10x pa.array(range))
    positions = call_function("cumulative_sum", [ones], CumulativeOptions(start=-1))
    schema = pa.schema(
        [
            ("n", pa.int64()),
            ("j", pa.large_binary()),
            ("d", pa.large_string()),
            (COMMA, pa.bool_()),
        ]
    )
    trailing = MatchSubstringOptions(TRAILING_COMMA)
    pool = pa.system_memory_pool()  # the split's copy freed at once (Arrow's own pool keeps it)
    newline = SplitPatternOptions("\n")
    batches: list[Any] = []
    start = 0
    for data, n in runs:
        if not data and not n:
            continue
        whole = pa.py_buffer(data)
        ends = pa.array([0, len(data)], pa.int64()).buffers()[1]
        one = pa.Array.from_buffers(pa.large_binary(), 1, [None, ends, whole])
        # the pieces between newlines: each one's start, less the newlines before it
        pieces = call_function("split_pattern", [one], newline, memory_pool=pool).values
        if len(pieces) != n + 1 or not data.endswith(b"\n"):
            raise ValueError(f"{n} whole lines expected, {len(pieces) - 1} found")
        starts = pa.Array.from_buffers(
            pa.int64(), n + 1, [None, pieces.buffers()[1]], offset=pieces.offset
        )
        offsets = call_function("add", [starts, positions.slice(0, n + 1)])
        buffers = [None, offsets.buffers()[1], whole]
        found = call_function("match_substring_regex", [one], trailing)[0].as_py()
        commas = pa.array(_not_json(data, n)) if found else pa.repeat(pa.scalar(False), n)
        lines = pa.RecordBatch.from_arrays(
            [
                positions.slice(start, n),
                pa.Array.from_buffers(pa.large_binary(), n, buffers),
                pa.Array.from_buffers(pa.large_string(), n, buffers),
                commas,
            ],
            schema=schema,
        )
        batches.extend(lines.slice(k, SLICE) for k in range(0, n, SLICE))
        start += n
    texts = [data for data, _ in runs]
    lone = frozenset() if p is None else alone(texts, count, p)
    return (
        pa.Table.from_batches(batches, schema),
        any(b'"version"' in data for data in texts),
        lone,
    )


def _not_json(data: bytes, n: int) -> list[bool]:
    """For each of the n lines of `data`: whether it holds a comma before a closing bracket
    outside its strings, which only a line that is no JSON does (`loads` refuses it)."""
    found = re.compile(TRAILING_COMMA.encode())
    marks = []
    for line in data.split(b"\n")[:n]:
        bad = False
        if found.search(line) is not None:
            try:
                loads(line)
            except ValueError:
                bad = True
        marks.append(bad)
    return marks


def _runs(chunks: list[tuple[bytes, int]]) -> list[tuple[bytes, int]]:
    """`chunks` with consecutive ones joined while they stay within RUN bytes (a block read
    whole from a file is about RUN; a single line or a pipe's 64 KB is joined to its
    neighbours)."""
    runs: list[tuple[bytes, int]] = []
    pending: list[bytes] = []
    size = lines = 0
    for data, n in chunks:
        if pending and size + len(data) > RUN:
            runs.append((pending[0] if len(pending) == 1 else b"".join(pending), lines))
            pending, size, lines = [], 0, 0
        pending.append(data)
        size += len(data)
        lines += n
    if pending:
        runs.append((pending[0] if len(pending) == 1 else b"".join(pending), lines))
    return runs


def arrow_lines(lines: list[bytes]) -> Any:
    """The lines (each ending in a newline) as an Arrow table (see lines_table)."""
    return lines_table([(b"".join(lines), len(lines))])[0]


def lines_only(batch: Batch) -> bool:
    """Whether the batch holds only RECORD lines as they were read: blocks (Batch.blocks) and
    nothing else, or records that are all lines."""
    if batch.blocks:
        return not batch.records
    return bool(batch.records) and set(map(type, batch.records)) == {bytes}


def batch_lines(batch: Batch) -> list[tuple[bytes, int]]:
    """The chunks of whole lines (lines_table) of a batch that holds lines only (`lines_only`):
    its blocks, or its lines joined."""
    if batch.blocks:
        return [(b.data, b.size) for b in batch.blocks]
    return [(b"".join(batch.records), len(batch.records))]


class TableLines(Sequence[bytes]):
    """The lines of a lines_table table, each read from it when asked for (respell_rows reads a
    few): a batch of blocks has no Python object per line."""

    def __init__(self, table: Any) -> None:
        self.column = table.column("j")

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, n: Any) -> Any:
        return self.column[n].as_py()


def strict_first(version: int | None, mentions_version: bool) -> bool:
    """Whether the strict read is tried first. Strict takes a key it was not given as it is: in
    a batch without a version, a line of another writer holding one (before a last object key,
    so it still ends as ours) would lose it, so lines that name "version" anywhere (a property of
    that name too) are read the lax way, which checks there is none."""
    return version is not None or not mentions_version


def respell_rows(con: Any, p: Plan, lines: Sequence[bytes]) -> None:
    """The rows of ROWS whose documents DuckDB wrote otherwise than their lines spell them (a
    number such as 1.50 or 1E5, a control character) get them as the Python path writes them:
    each such line read again keeping every number's text (tapwell.singer.wire.loads_spelled).
    Only those lines, so a batch with a few such documents stays in SQL."""
    documents = [(j, c) for j, c in enumerate(p.columns) if c.respell is not None]
    if not documents:
        return
    found = con.execute(f"SELECT {N} FROM {ROWS} WHERE {SPELL}").fetchall()
    if not found:
        return
    import pyarrow as pa  # as lines_table

    rows = [n for (n,) in found]
    records = [loads_spelled(lines[n]).get("record") or {} for n in rows]
    arrays = [pa.array(rows, type=pa.int64())]
    for _, c in documents:
        values = [r.get(c.staged.prop) for r in records]
        arrays.append(pa.array([None if v is None else dumps(v).decode() for v in values]))
    names = ["n", *[f"c{j}" for j, _ in documents]]
    con.register(FIX, pa.table(arrays, names=names))
    try:
        sets = ", ".join(f"{quote_ident(c.staged.column)} = {FIX}.c{j}" for j, c in documents)
        con.execute(f"UPDATE {ROWS} SET {sets} FROM {FIX} WHERE {ROWS}.{N} = {FIX}.n")
    finally:
        con.unregister(FIX)


def staged_rows(p: Plan, cols: list[str], upsert: bool) -> str:
    """The rows to merge: with keys (upsert), the last line of each key."""
    collist = ", ".join(quote_ident(c) for c in cols)
    if not (upsert and p.keys):
        return f"(SELECT {collist} FROM {ROWS})"
    keys = ", ".join(quote_ident(k) for k in p.keys)
    return (
        f"(SELECT {collist} FROM {ROWS} "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {N} DESC) = 1)"
    )


def decode(batch: Batch, name_source: Callable[[ProtocolError], None]) -> None:
    """The batch's lines (bytes among its rows) made rows in Python, in place, by the lane the
    loop uses: each line parsed, checked and staged, a refused value kept for the load to name,
    a bad line or record raised as the usual one-line error."""
    encoder = batch.encoder
    assert encoder is not None
    batch.unblock()
    scratch = Batch(batch.spec, encoder=encoder, version=batch.version)
    add = lanes.encoding_lane(scratch, encoder, None, name_source, _keep_version)
    texts = iter(batch.texts)  # the lines of the records encoded as they were read, in order
    for i, (item, line_no) in enumerate(zip(batch.records, batch.lines, strict=True)):
        if type(item) is bytes:
            obj = sniff_record(item)
            if obj is None:
                msg = parse_line(item, line_no, "stdin")
                if not isinstance(msg, RecordMessage):  # pragma: no cover - the loop sent a RECORD
                    raise ProtocolError("not a RECORD", line=line_no, stream=batch.spec.name)
                obj = msg.to_dict()
            add(obj, line_no, item)
            continue
        if i in batch.refused:
            scratch.refused[len(scratch.records)] = batch.refused[i]
        scratch.records.append(item)
        scratch.lines.append(line_no)
        if encoder.keep_lines:
            scratch.texts.append(next(texts, None))
    batch.records[:] = scratch.records
    batch.texts[:] = scratch.texts
    batch.refused = scratch.refused
    batch.version = scratch.version


def _keep_version(batch: Batch, version: int) -> None:
    """A line's own version, as the loop takes one (the batch's becomes it): the loop chose
    lines ending in the batch's, but another writer's line may hold one elsewhere."""
    batch.version = version


def has_lines(batch: Batch) -> bool:
    """Whether the batch holds RECORD lines as they were read (blocks, or lines among its rows)."""
    return bool(batch.blocks) or bytes in set(map(type, batch.records))
