"""target-postgres: a plain `number` (an unconstrained numeric column) holds what PostgreSQL makes
of the source's text on every path: RECORD lines without nesting, the csv lane, and the root and
child tables of `nested: tables` (before 2026-12-07 a `1.50` there landed as 1.5, `1E5` as
100000.0). And the per-line look that decides whether a line is read again (spelled.may_differ)
never passes over a number whose float text PostgreSQL would store otherwise."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from helpers.pg_target import query, run_target, schema, state
from tapwell.sdk.target import Batch
from tapwell.singer.wire import loads
from tapwell.targets.postgres.spelled import PlainTexts, may_differ, plain_respeller, scale

# the texts of the audit test, and more exponents and zeros
TEXTS = [
    "1.50", "1E5", "-0", "12.50", "1e-7", "0.000001", "2.0", "1.5", "100", "-2.50E+3",
    "1250e-2", "1.250e1", "125.0e-1", "3.10", "-0.0", "0.10", "7", "1.25e1", "1.00E2", "10.0",
]  # fmt: skip
NUM = {"type": ["null", "number"]}
FLAT = {"id": {"type": "integer"}, "amount": NUM, "net": NUM}
NESTED_PROPS = {
    "id": {"type": "integer"},
    "amount": NUM,
    "price": {"type": ["null", "object"], "properties": {"net": NUM}},
    "lines": {
        "type": ["null", "array"],
        "items": {"type": "object", "properties": {"n": {"type": "integer"}, "amount": NUM}},
    },
}


def _nested_line(stream: str, i: int, text: str) -> str:
    """A record whose plain numbers stand in the root, a flattened object and a child table,
    beside a key of the same name written with the float's text (`"amount":1.5` in a line)."""
    lines = f'[{{"n":1,"amount":{text}}},{{"n":2,"amount":1.5}}]'
    return (
        f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{i},"amount":{text},'
        f'"price":{{"net":{text}}},"lines":{lines}}}}}'
    )


def _flat_line(stream: str, i: int, text: str) -> str:
    return (
        f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{i},"amount":{text},'
        f'"net":{text}}}}}'
    )


def _own(pg_db: dict[str, Any]) -> list[str]:
    return [query(pg_db, "SELECT %s::numeric::text", (t,))[0][0] for t in TEXTS]


@pytest.mark.services
def test_nested_tables_keep_a_plain_numbers_text_as_the_other_lanes(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """Row by row: the nested root table (own column, flattened object) and its child table
    hold what RECORD lines without nesting and the csv lane hold. Fails before 2026-12-07
    (nested: 1.5, 100000.0, ...)."""
    f = tmp_path / "c.csv"
    f.write_text(
        "id,amount,net\n" + "".join(f"{i},{t},{t}\n" for i, t in enumerate(TEXTS)),
        encoding="utf-8",
    )
    encoding = {"format": "csv", "compression": "none"}
    batch = {"type": "BATCH", "stream": "c", "encoding": encoding, "manifest": [f.as_uri()]}
    messages: list[Any] = [
        schema("c", FLAT, ["id"]),
        json.dumps(batch),
        schema("r", FLAT, ["id"]),
        *[_flat_line("r", i, t) for i, t in enumerate(TEXTS)],
        schema("n", NESTED_PROPS, ["id"]),
        *[_nested_line("n", i, t) for i, t in enumerate(TEXTS)],
        state({"p": 1}),
    ]
    config = {**pg_db, "batch_keep_files": True, "nested_streams": {"n": "tables"}}
    for _ in range(2):  # a second load (merged on the key) changes nothing
        done = run_target(config, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        via_csv = query(pg_db, "SELECT id, amount::text, net::text FROM c ORDER BY id")
        via_records = query(pg_db, "SELECT id, amount::text, net::text FROM r ORDER BY id")
        root = query(pg_db, "SELECT id, amount::text, price__net::text FROM n ORDER BY id")
        child = query(
            pg_db,
            'SELECT "_sdc_source_key_id", amount::text, amount::text FROM n__lines '
            "WHERE n = 1 ORDER BY 1",
        )
        assert via_records == via_csv
        assert root == via_csv
        assert child == via_csv
    own = _own(pg_db)
    assert [r[1] for r in root] == own
    assert own[:3] == ["1.50", "100000", "0"]
    assert query(pg_db, "SELECT DISTINCT amount::text FROM n__lines WHERE n = 2") == [("1.5",)]


@pytest.mark.services
def test_nested_tables_read_an_escaped_or_doubled_key_as_json_does(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """An escaped key and a key written twice (the last one wins, as every reader takes it)."""
    lines = [
        '{"type":"RECORD","stream":"n","record":{"id":1,"\\u0061mount":1.50,'
        '"lines":[{"n":1,"\\u0061mount":2.50}]}}',
        '{"type":"RECORD","stream":"n","record":{"id":2,"amount":1.5,"amount":1.50,'
        '"lines":[{"n":1,"amount":1E5}]}}',
    ]
    config = {**pg_db, "nested_streams": {"n": "tables"}}
    done = run_target(config, [schema("n", NESTED_PROPS, ["id"]), *lines, state({})], tmp_path)
    assert done.returncode == 0, done.stderr
    assert query(pg_db, "SELECT id, amount::text FROM n ORDER BY id") == [(1, "1.50"), (2, "1.50")]
    assert query(pg_db, "SELECT amount::text FROM n__lines ORDER BY 1") == [("100000",), ("2.50",)]


def _spelling(rng: random.Random) -> str:
    whole = str(rng.choice([0, 1, 7, 10, 12, 100, 1234, 99999]))
    sign = rng.choice(["", "", "-"])
    frac = rng.choice(
        ["", "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 5)))]
    )
    exp = rng.choice(
        ["", "", "", f"{rng.choice('eE')}{rng.choice(['', '+', '-'])}{rng.randint(0, 12)}"]
    )
    return sign + whole + frac + exp


def test_a_line_may_differ_finds_every_float_stored_otherwise() -> None:
    """Random spellings: a line `may_differ` passes over reads each float back with the scale
    PostgreSQL gives its own text (spelled.scale), in every place a line may hold it."""
    rng = random.Random(20261207)
    passed = 0
    for _ in range(20000):
        text = _spelling(rng)
        value = orjson.loads(text)
        for line in (
            f'{{"record":{{"a":{text},"b":"x"}}}}',
            f'{{"record":{{"b":[1,{text}]}}}}',
            f'{{"record":{{"a" : {text} }}}}',
        ):
            if may_differ(line.encode()):
                continue
            passed += 1
            if type(value) is float:
                assert scale(orjson.dumps(value)) == scale(text.encode()), (text, line)
    assert passed > 10000  # most spellings are ones a float writes back


def _stored(text: str) -> tuple[Any, ...]:
    """What PostgreSQL's numeric makes of a COPY field: its value and scale (NULL as None)."""
    if text == "\\N":
        return (None,)
    return (Decimal(text), scale(text.encode()))


def _field(value: Any) -> str:
    """A row field as target-postgres's encoder writes a number (encode._as_number)."""
    if value is None:
        return "\\N"
    return repr(value) if type(value) is float else str(value)


def _random_line(rng: random.Random, i: int) -> str:
    """A RECORD line with plain numbers `a` and `b`, spelled every way, beside a document that
    may hold the same keys, an escaped key, blanks, a null, a missing property."""
    parts = [f'"id":{i}']
    for key in ("a", "b"):
        roll = rng.random()
        if roll < 0.1:
            continue  # not in the record (the document may still hold the key)
        spelled = "null" if roll < 0.2 else _spelling(rng)
        written = f'"\\u00{ord(key):02x}"' if rng.random() < 0.1 else f'"{key}"'
        blank = rng.choice(["", "", " "])
        parts.append(f"{written}{blank}:{blank}{spelled}")
    if rng.random() < 0.3:
        parts.append(f'"doc":{{"{rng.choice("ab")}":{_spelling(rng)}}}')
    if rng.random() < 0.1:
        parts.append('"s":"say \\"a\\":1.50"')
    if rng.random() < 0.1:  # a number's text in a string, and in an array
        parts.append(f'"t":"b: {_spelling(rng)}, c","arr":[{_spelling(rng)}, {_spelling(rng)}]')
    rng.shuffle(parts)
    return '{"type":"RECORD","stream":"t","record":{' + ",".join(parts) + "}}\n"


def test_plain_texts_put_into_rows_what_a_line_by_line_respell_gives() -> None:
    """PlainTexts, a thousand rows at a time, against plain_respeller line by line (the rule
    before 2026-12-07's per-batch look): the same value and scale in every field, for random
    lines (escaped keys, a key in a document too, blanks, nulls, numbers in strings and arrays)."""
    rng = random.Random(7)
    columns = [("id", "id", "bigint"), ("a", "a", "numeric"), ("b", "b", "numeric")]
    per_line = plain_respeller(["a", "b"], None)
    assert per_line is not None
    lines = [_random_line(rng, i).encode() for i in range(5000)]
    records = [loads(line)["record"] for line in lines]
    rows = ["\t".join(_field(r.get(p)) for p, _, _ in columns) for r in records]
    batch = Batch(spec=None)  # type: ignore[arg-type]
    texts = PlainTexts(columns, ["a", "b"])
    for end in (1000, 1000, 2500, 5000):  # as the loop feeds it, then at load
        start = len(batch.records)
        batch.records.extend(rows[start:end])
        batch.texts.extend(lines[start:end])
        texts.patch(batch, last=end == 5000)
    assert not texts.progress  # forgotten after its load
    for line, record, row in zip(lines, records, batch.records, strict=True):
        wanted = [_field(v) for v in (per_line(record, line).get(p) for p, _, _ in columns)]
        assert [_stored(f) for f in row.split("\t")] == [_stored(f) for f in wanted], line


@pytest.mark.services
def test_rows_streamed_while_read_get_their_texts_too(
    pg_db: dict[str, Any], tmp_path: Path
) -> None:
    """2,500 rows: the first thousands are COPYed while the batch is read (stream.py), patched
    a thousand at a time before they are sent; the rest at load; a second run merges them."""
    texts = [f"{i}.{i % 100:02d}" if i % 7 else f"{i}E-2" for i in range(2500)]
    lines = [
        f'{{"type":"RECORD","stream":"t","record":{{"id":{i},"amount":{t},"net":{i}.5}}}}'
        for i, t in enumerate(texts)
    ]
    messages: list[Any] = [schema("t", FLAT, ["id"]), *lines, state({"p": 1})]
    for _ in range(2):
        done = run_target({**pg_db, "batch_size_rows": 100000}, messages, tmp_path)
        assert done.returncode == 0, done.stderr
        stored = query(pg_db, "SELECT amount::text, net::text FROM t ORDER BY id")
        own = query(
            pg_db,
            "SELECT t::numeric::text, n::numeric::text FROM unnest(%s::text[], %s::text[]) "
            "WITH ORDINALITY AS x(t, n, o) ORDER BY o",
            (texts, [f"{i}.5" for i in range(2500)]),
        )
        assert stored == own
    assert stored[10] == ("10.10", "10.5") and stored[7] == ("0.07", "7.5")
