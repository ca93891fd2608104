"""Blocks of RECORD lines kept whole from the input to DuckDB (Batch.blocks, raw.lines_table) load
what the Python path loads and say what it says: at a batch's size limit, around a STATE, with a
bad line, a carriage return, 16-digit numbers, two streams alternating, a last line without a
newline. The loop reads small blocks here (target_input.BLOCK), so a few lines make many."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from helpers.duckdb_target import lines, query, record, schema, state
from tapwell.sdk import target_input
from tapwell.sdk.target import Batch, Block, StreamSpec, TargetLoop
from tapwell.singer.errors import ProtocolError
from tapwell.singer.wire import dumps
from tapwell.targets.duckdb import raw
from tapwell.targets.duckdb.loader import DuckDBLoader

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10},
    "ratio": {"type": ["null", "number"]},
    "note": {"type": ["null", "string"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "doc": {"type": ["null", "object"]},
}


def record_of(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "amount": [1047.29, -0.01, 0, None][i % 4],
        "ratio": [0.5, 1e-7, 3, None][i % 4],
        "note": ["", "plain", "ctl \x01\x1e é \U0001f600", None][i % 4],
        "at": ["2024-02-29T23:59:59.999999+05:30", None][i % 2],
        "doc": [{"a": 1.50, "b": [1, "x"]}, {}, None][i % 3],
    }


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of a few hundred bytes, and halves of any length tried whole."""
    monkeypatch.setattr(target_input, "BLOCK", 700)
    monkeypatch.setattr(target_input, "SMALL", 2)


@pytest.fixture
def loads(monkeypatch):
    """The batches the loader was handed, as (blocks' line counts, records) at their load."""
    seen: list[tuple[list[int], int]] = []
    real = DuckDBLoader._load_batch

    def spy(self: DuckDBLoader, batch: Batch) -> None:
        seen.append(([b.size for b in batch.blocks], len(batch.records)))
        real(self, batch)

    monkeypatch.setattr(DuckDBLoader, "_load_batch", spy)
    return seen


def run(tmp_path: Any, name: str, data: bytes, **config: Any) -> tuple[str | None, bytes, Any]:
    """(the error, if any; the STATE lines printed; the rows committed)."""
    db = tmp_path / f"{name}.duckdb"
    cfg = {"path": str(db), **config}
    out, loader = io.BytesIO(), DuckDBLoader(cfg)
    error = None
    try:
        TargetLoop("target-duckdb", loader, cfg, out).run(io.BytesIO(data))
    except ProtocolError as exc:
        error = str(exc)
    finally:
        loader.close()
    tables = [
        t for (t,) in query(db, "SELECT table_name FROM duckdb_tables()") if t != "_tapwell_state"
    ]
    found = {t: query(db, f'SELECT * FROM "{t}" ORDER BY id') for t in sorted(tables)}
    return error, out.getvalue(), found


def same_as_python(tmp_path: Any, data: bytes, **config: Any) -> tuple[str | None, bytes, Any]:
    python = run(tmp_path, "python", data, raw_lines=False, **config)
    blocks = run(tmp_path, "blocks", data, **config)
    assert blocks == python
    return blocks


def test_a_batch_of_blocks_holds_no_line_of_its_own(tmp_path, loads):
    data = lines(schema("t", PROPS), *[record("t", record_of(i)) for i in range(1, 401)])
    error, _, found = same_as_python(tmp_path, data, batch_size_rows=1000)
    assert error is None and len(found["t"]) == 400
    counts, records = loads[-1]
    assert records == 0 and sum(counts) == 400 and max(counts) > 1


def test_a_block_ending_exactly_at_the_batch_size_limit(tmp_path, monkeypatch, loads):
    """Every line as long as the others and blocks of 3 lines: batches of 9 rows end with a block."""
    line = record("t", {"id": 10_000, "note": "n"})
    width = len(dumps(line)) + 1
    monkeypatch.setattr(target_input, "BLOCK", 3 * width)
    head = dumps(schema("t", {"id": {"type": "integer"}, "note": {"type": "string"}})) + b"\n"
    body = lines(*[record("t", {"id": 10_000 + i, "note": "n"}) for i in range(90)])
    pad = b" " * (3 * width - len(head) - 1) + b"\n"  # a blank line: the SCHEMA's block is 3 lines
    error, _, found = same_as_python(tmp_path, head + pad + body, batch_size_rows=9)
    assert error is None and len(found["t"]) == 90
    taken = [n for counts, _ in loads for n in counts]
    assert 3 in taken
    assert all(sum(counts) + records == 9 for counts, records in loads[:-1]), loads


@pytest.mark.parametrize("every", [1, 5, 13])
def test_a_state_in_the_middle_of_a_block(tmp_path, every, loads):
    msgs: list[dict[str, Any]] = [schema("t", PROPS)]
    for i in range(1, 121):
        msgs.append(record("t", record_of(i)))
        if i % every == 0:
            msgs.append(state({"n": i}))
    error, out, found = same_as_python(tmp_path, lines(*msgs), batch_size_rows=40)
    assert error is None and len(found["t"]) == 120
    assert out.endswith(b'{"n":120}\n') or every == 13
    assert any(counts for counts, _ in loads)


@pytest.mark.parametrize("bad_at", [37, 61, 118])
def test_a_bad_line_in_a_block_is_named_by_its_line(tmp_path, bad_at, loads):
    msgs: list[dict[str, Any]] = [schema("t", PROPS)]
    for i in range(1, 121):
        msgs.append(record("t", record_of(i)))
        if i == 30:
            msgs.append(state({"n": 30}))
    data = lines(*msgs).split(b"\n")
    data[bad_at - 1] = data[bad_at - 1].replace(b'"note":', b'"note":5,"x":', 1)
    error, out, found = same_as_python(tmp_path, b"\n".join(data), batch_size_rows=1000)
    assert error is not None and f"line {bad_at}" in error and "field 'note'" in error, error
    assert out == b'{"n":30}\n'
    assert [r[0] for r in found["t"]] == list(range(1, 31))


def test_a_line_with_a_carriage_return(tmp_path, loads):
    body = [dumps(record("t", record_of(i))) + b"\n" for i in range(1, 80)]
    body[10] = body[10].replace(b'"id":', b'\r"id":', 1)  # JSON's blank, inside a line
    body[40] = body[40][:-1] + b"\r\n"  # a line ending in \r\n
    data = dumps(schema("t", PROPS)) + b"\n" + b"".join(body)
    error, _, found = same_as_python(tmp_path, data)
    assert error is None and len(found["t"]) == 79


def test_sixteen_digit_numbers_in_a_block(tmp_path, loads):
    records = [record_of(i) for i in range(1, 100)]
    records[20]["ratio"] = 0.1234567890123456
    records[50]["ratio"] = 12345678901234567
    records[70]["doc"] = {"long": 1234567890.123456789}
    records[71]["ratio"] = 1e-300
    error, _, found = same_as_python(
        tmp_path, lines(schema("t", PROPS), *[record("t", r) for r in records])
    )
    assert error is None and len(found["t"]) == 99


def test_lines_of_two_streams_alternating(tmp_path, loads):
    msgs: list[dict[str, Any]] = [schema("t", PROPS), schema("u", PROPS)]
    for i in range(1, 101):
        msgs.append(record("t" if i % 2 else "u", record_of(i)))
        if i > 60:  # then runs of three
            msgs.append(record("t", record_of(1000 + i)))
            msgs.append(record("t", record_of(2000 + i)))
    error, _, found = same_as_python(tmp_path, lines(*msgs), batch_size_rows=25)
    assert error is None and set(found) == {"t", "u"}


def test_the_last_line_without_a_newline(tmp_path, loads):
    data = lines(schema("t", PROPS), *[record("t", record_of(i)) for i in range(1, 60)])
    error, _, found = same_as_python(tmp_path, data[:-1])
    assert error is None and len(found["t"]) == 59


def test_a_schema_between_blocks_ends_their_batch(tmp_path, loads):
    wider = dict(PROPS, extra={"type": ["null", "string"]})
    msgs = [schema("t", PROPS), *[record("t", record_of(i)) for i in range(1, 50)]]
    msgs += [
        schema("t", wider),
        *[record("t", record_of(i) | {"extra": "e"}) for i in range(50, 99)],
    ]
    error, _, found = same_as_python(tmp_path, lines(*msgs))
    assert error is None and len(found["t"]) == 98
    assert [(sum(counts), records) for counts, records in loads[-2:]] == [(49, 0), (49, 0)]


def test_unblock_puts_the_lines_first_with_their_numbers():
    spec = StreamSpec("t", {"type": "object", "properties": {}}, [], lambda r, n: None)
    batch = Batch(spec)
    batch.blocks += [Block(3, 2, b"a\nb\n"), Block(5, 1, b"c\rd\n"), Block(9, 3, b"e\rf\ng\nh\n")]
    batch.records.append(("row",))
    batch.lines.append(12)
    batch.refused[0] = ValueError("x")  # type: ignore[assignment]
    assert batch.size == 7 and batch.last_line == 12
    batch.unblock()
    assert batch.records == [b"a\n", b"b\n", b"c\rd\n", b"e\rf\n", b"g\n", b"h\n", ("row",)]
    assert batch.lines == [3, 4, 5, 9, 10, 11, 12]
    assert list(batch.refused) == [6] and batch.blocks == []
    assert Batch(spec, blocks=[Block(4, 2, b"x\ny\n")]).last_line == 5


def test_lines_table_is_the_lines_however_they_are_blocked(monkeypatch):
    monkeypatch.setattr(raw, "RUN", 200)  # short blocks joined, long ones alone
    rng = random.Random(5)
    for trial in range(200):
        many = 9000 if trial % 40 == 0 else 40
        got = [
            bytes(rng.choice(b'ab\r{}"\\ \x00\xff') for _ in range(rng.randint(0, 30))) + b"\n"
            for _ in range(rng.randint(1, many))
        ]
        chunks, i = [], 0
        while i < len(got):
            k = rng.randint(1, 7)
            chunks.append((b"".join(got[i : i + k]), len(got[i : i + k])))
            i += k
        table, _, _ = raw.lines_table(chunks)
        assert table.column("j").to_pylist() == got
        assert table.column("n").to_pylist() == list(range(len(got)))
        assert max(b.num_rows for b in table.to_batches()) <= raw.SLICE
    assert raw.arrow_lines([]).num_rows == 0
    with pytest.raises(ValueError):
        raw.lines_table([(b"a\nb\n", 3)])
