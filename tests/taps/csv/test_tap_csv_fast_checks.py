"""The whole-column checks of tap-csv's chunked path (lines.py) take a column as written only
when the record path (types.compile_row, written by MessageWriter) writes every value so, and
refuse (BadRow at the first bad value) exactly what the record path refuses; the lines are
the same bytes however the non-ASCII rows fall; a byte order mark is not part of a name."""

from __future__ import annotations

import io
import json
import random
import re

import pytest
from tapwell.singer.wire import MessageWriter
from tapwell.taps.csv import cli
from tapwell.taps.csv.config import SETTINGS
from tapwell.taps.csv.lines import (
    _INTEGER,
    _NUMBER,
    BadRow,
    _lines_of,
    _null_rows,
    _plain_integers,
    assemble,
    column_renderer,
    lines,
)
from tapwell.taps.csv.types import compile_row

INTEGER = {"type": ["null", "integer"]}
NUMBER = {"type": ["null", "number"]}
BOOLEAN = {"type": ["null", "boolean"]}
STRING = {"type": ["null", "string"]}


def reference(prop: dict, nulls: frozenset[str], texts: list[str]) -> list[str] | int:
    """Each value's JSON text as the record path writes it, or the index of the first value
    it refuses."""
    convert = compile_row([(0, "c", prop)], nulls, set())
    out = []
    for i, text in enumerate(texts):
        try:
            record = convert([text])
        except ValueError:
            return i
        buf = io.BytesIO()
        MessageWriter(buf).write_record("s", record)
        out.append(buf.getvalue().decode().split('"c":', 1)[1].rsplit("}}", 1)[0])
    return out


def rendered(prop: dict, nulls: frozenset[str], texts: list[str]) -> list[str] | int:
    try:
        got, quoted, _ = column_renderer(prop, nulls, native=False)(list(texts))
    except BadRow as bad:
        return bad.index
    return [f'"{t}"' if quoted else t for t in got]


NUMBERS = [
    "0", "-0", "7", "-12", "1047.29", "0.10", "-0.0", "0.000000", "0.0000001", "0.0000010",
    "-0.0000001", "10.0000001", "0.000001", "1E+5", "1e-7", ".5", "5.", "+5", "007", "00.5",
    "1_000", "1.2.3", "--1", "1-", "", "\\N", " 3 ", "NaN", "Infinity", "\u0661\u0662", "1\n2",
    "12345678901234567890.123456789", "9" * 4300, "9" * 4301, "-" + "9" * 4300, "0x10",
]  # fmt: skip


@pytest.mark.parametrize("prop", [INTEGER, NUMBER], ids=["integer", "number"])
@pytest.mark.parametrize("nulls", [frozenset(), frozenset(["\\N"]), frozenset(["0", "-1"])])
def test_a_column_of_numbers_is_what_the_record_path_writes(prop, nulls):
    rng = random.Random(7)
    typed_nulls = nulls | {""}
    for text in NUMBERS:  # a column of one value, then the value among plain ones
        for col in ([text] * 3, ["1", "22", text, "333"]):
            assert rendered(prop, typed_nulls, col) == reference(prop, nulls, col), col
    for _ in range(300):  # columns mixing several values
        col = rng.choices(NUMBERS[:20] + ["1", "2.5", "\\N", ""], k=rng.randint(1, 6))
        assert rendered(prop, typed_nulls, col) == reference(prop, nulls, col), col


# The column patterns as first written, without possessive quantifiers (lines.py's own spare the
# engine its backtracking notes): both must take exactly the same columns.
BACKTRACKING = {
    "integer": r"(?:0|-?[1-9][0-9]{0,4299})",
    "number": r"(?!-?0\.000000[0-9])-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?",
}


def backtracking_lines(item: str, nulls: frozenset[str]) -> re.Pattern[str]:
    if nulls:
        item = "(?:" + "|".join([item, *map(re.escape, sorted(nulls, reverse=True))]) + ")"
    return re.compile(f"{item}(?:\\n{item})*")


@pytest.mark.parametrize("nulls", [frozenset(), frozenset(["\\N", ""]), frozenset(["-", "1x", ""])])
def test_the_column_patterns_take_what_they_took_with_backtracking(nulls):
    rng = random.Random(13)
    pieces = ["0", "1", "9", "12", "-", ".", "05", "0.000000", "7", "\\N", "x", "e5", " ", "1x"]
    for kind, item in (("integer", _INTEGER), ("number", _NUMBER)):
        fast, slow = _lines_of(item, nulls), backtracking_lines(BACKTRACKING[kind], nulls)
        for _ in range(4000):
            texts = ["".join(rng.choices(pieces, k=rng.randint(0, 4))) for _ in range(3)]
            joined = "\n".join(texts)
            assert bool(fast.fullmatch(joined)) == bool(slow.fullmatch(joined)), (kind, texts)


def test_plain_integers_are_digits_without_a_leading_zero():
    rng = random.Random(17)
    pieces = ["0", "1", "9", "42", "-", "\n", "", " ", "\u0661", "x", "9" * 4299]
    plain = re.compile(r"[1-9][0-9]{0,4299}")
    for _ in range(4000):
        col = ["".join(rng.choices(pieces, k=rng.randint(0, 3))) for _ in range(rng.randint(1, 4))]
        assert _plain_integers(col) == all(plain.fullmatch(t) for t in col), col


@pytest.mark.parametrize("nulls", [frozenset(["\\N"]), frozenset([""]), frozenset(["\\N", ""])])
def test_null_rows_are_found_few_or_many(nulls):
    rng = random.Random(19)
    for _ in range(3000):
        col = [
            rng.choice(["\\N", "a", "", "\\N\\N", "\\n", "N", "x\\"])
            for _ in range(rng.randint(1, 12))
        ]
        want = [i for i, t in enumerate(col) if t in nulls]
        assert _null_rows(col, "".join(col), nulls) == want, col


DATE_TIME = {"type": ["null", "string"], "format": "date-time"}


@pytest.mark.parametrize("seed", range(3))
def test_date_times_of_one_shape_are_what_the_record_path_writes(seed):
    """A column of one length, separators in place, is written as it is unless a value is one
    orjson writes otherwise: -00:00 (among offsets of either sign, at any row) or zero
    microseconds (among fractions that are not)."""
    rng = random.Random(seed)
    nulls = frozenset(["\\N", ""])
    for _ in range(1500):
        fraction = rng.choice(["", ".000001", ".5", ".123456"])
        col = [
            f"2024-02-{rng.randint(1, 29):02d}T{rng.randint(0, 23):02d}:59:0{rng.randint(0, 9)}"
            + (fraction if len(fraction) != 7 else f".{rng.randint(1, 999999):06d}")
            + rng.choice(["+00:00", "+05:30", "-08:00", "-00:30", "+00:01"])
            for _ in range(rng.randint(1, 9))
        ]
        at = rng.randrange(len(col))
        odd = rng.choice(["offset", "zero", "null", None])
        if odd == "offset":
            col[at] = col[at][:-6] + "-00:00"
        elif odd == "zero" and len(fraction) == 7:
            col[at] = col[at][:19] + ".000000" + col[at][-6:]
        elif odd == "null":
            col[at] = "\\N"
        assert rendered(DATE_TIME, nulls, col) == reference(DATE_TIME, nulls, col), col


@pytest.mark.parametrize("nulls", [frozenset(), frozenset(["\\N"]), frozenset(["true"])])
def test_a_column_of_booleans_is_what_the_record_path_writes(nulls):
    for col in (["true", "false"], ["true", "\\N"], ["true", ""], ["True", "0"], ["true", "x"]):
        got = rendered(BOOLEAN, nulls | {""}, col)
        assert got == reference(BOOLEAN, nulls, col), col


def test_lines_are_the_same_bytes_wherever_the_wide_rows_are():
    rng = random.Random(3)
    keys = ['{"type":"RECORD","stream":"s","record":{"a":', ',"b":', ',"c":']
    words = ["plain", "", "é", "emoji \U0001f600", 'q"uote', "tab\t", "\\N", "null"]
    for _ in range(200):
        rows = rng.randint(1, 9)
        cols = [[rng.choice(words) for _ in range(rows)] for _ in range(3)]
        rendered_cols = [
            column_renderer(prop, frozenset(["\\N"]), native=False)(col)
            for prop, col in zip([STRING, INTEGER, STRING], [cols[0], ["1"] * rows, cols[2]])
        ]
        want = assemble(keys, rendered_cols, "}}\n", rows).encode()
        assert lines(keys, rendered_cols, "}}\n", rows, [True, False, True]) == want
        assert lines(keys, rendered_cols, "}}\n", rows, [False, False, False]) == want
        assert want.decode().count("\n") == rows
        for line in want.decode().splitlines():
            json.loads(line)


def test_null_strings_among_texts_written_as_they_are_are_the_record_paths():
    """Adjacent string columns, each with null_values in some rows (the same rows too): the
    quotes around a null are left out, first and last column included."""
    rng = random.Random(5)
    names = ["a", "b", "c"]
    keys = ['{"type":"RECORD","stream":"s","record":{"a":', ',"b":', ',"c":']
    nulls = frozenset(["\\N", "NULL"])
    columns = [(i, name, STRING) for i, name in enumerate(names)]
    convert = compile_row(columns, nulls, set())
    for _ in range(300):
        rows = rng.randint(1, 6)
        table = [[rng.choice(["x", "", "\\N", "NULL", "y z"]) for _ in names] for _ in range(rows)]
        cols = [[row[j] for row in table] for j in range(3)]
        done = [column_renderer(STRING, nulls, native=False)(col) for col in cols]
        got = lines(keys, done, "}}\n", rows, [True] * 3)
        want = io.BytesIO()
        writer = MessageWriter(want)
        for row in table:
            writer.write_record("s", convert(row))
        assert got == want.getvalue(), table


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path, bom):
    path = tmp_path / "t.csv"
    path.write_bytes(bom + b'"id",name\n1,a\xc3\xa9\n')
    config = SETTINGS.of({"streams": [{"name": "t", "path": str(path)}]})
    out = io.BytesIO()
    catalog = cli.tap.discover(config)
    from tapwell.singer.catalog import Catalog, select_all

    cli.tap.sync(config, Catalog(select_all(catalog)), {}, MessageWriter(out))
    records = [json.loads(x) for x in out.getvalue().splitlines() if b'"RECORD"' in x]
    assert [r["record"] for r in records] == [{"id": 1, "name": "a\u00e9"}]


def test_an_incremental_run_keeps_nulls_and_wide_rows_of_the_rows_it_keeps(tmp_path):
    """Rows below the bookmark dropped from a chunk whose string columns hold null_values and
    emoji (texts written as they are, nulls without quotes): the same lines as the record path."""
    import dataclasses

    from tapwell.sdk.tap import Tap
    from tapwell.singer.catalog import Catalog, select_all

    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("id,n,s\n")
        for i in range(1, 601):
            s = "\\N" if i % 3 == 0 else ("\U0001f600 wide" if i % 7 == 0 else f"text {i}")
            f.write(f"{i},{(i * 37) % 100},{s}\n")
    config = {
        "streams": [
            {
                "name": "t",
                "path": str(path),
                "replication_key": "n",
                "null_values": ["\\N"],
                "column_types": {"n": {"type": "integer"}},
            }
        ]
    }
    reference = Tap(
        "tap-csv",
        lambda c: [dataclasses.replace(s, lines=None) for s in cli.streams(c)],
        settings=SETTINGS,
    )
    doc = select_all(cli.tap.discover(SETTINGS.of(config)))
    for item in doc["streams"][0]["metadata"]:
        if not item["breadcrumb"]:
            item["metadata"]["replication-method"] = "INCREMENTAL"
    state = {"bookmarks": {"t": {"replication_key": "n", "replication_key_value": 50}}}
    outs = []
    for tap in (cli.tap, reference):
        out = io.BytesIO()
        tap.sync(SETTINGS.of(config), Catalog(doc), state, MessageWriter(out))
        outs.append(out.getvalue().decode())
    ours, want = outs
    assert ours.count('"type":"RECORD"') == want.count('"type":"RECORD"') > 200
    assert [x for x in ours.splitlines() if "RECORD" in x] == [
        x for x in want.splitlines() if "RECORD" in x
    ]
