"""The target loop's read path against a loader that records what it is given: every record
reaches its batch once, in order, with its input line, whatever the interleaving of streams,
flushes, states and schema changes; STATE is printed only after what came before it loaded."""

from __future__ import annotations

import io
import operator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tapwell.sdk.target import Batch, RowEncoder, StreamSpec, TargetLoop
from tapwell.singer.errors import ProtocolError
from tapwell.singer.record_check import CheckCode


class Recorder:
    """A Loader that keeps each load: (stream, rows, lines, keys) per batch, and the state."""

    def __init__(self, encoded: bool) -> None:
        self.encoded = encoded
        self.loads: list[tuple[list[tuple[str, list[Any], list[int], list[Any]]], Any]] = []

    def prepare(self, spec: StreamSpec) -> None:
        pass

    def row_encoder(self, spec: StreamSpec, check: CheckCode) -> RowEncoder | None:
        if not self.encoded:
            return None
        checker = check.compile()

        def encode(record: dict[str, Any], line: int | None) -> Any:
            checker(record, line)
            return ("escaped", record)

        def encode_clean(record: dict[str, Any], line: int | None) -> Any:
            checker(record, line)
            return ("clean", record)

        return RowEncoder(encode, operator.itemgetter("id"), None, None, encode_clean)

    def load(self, batches: list[Batch], state: Any) -> None:
        self.loads.append(
            (
                [(b.spec.name, list(b.records), list(b.lines), list(b.keys)) for b in batches],
                state,
            )
        )

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        pass

    def close(self) -> None:
        pass


def _schema(stream: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {"id": {"type": "integer"}, "s": {"type": ["null", "string"]}, **(extra or {})}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": ["id"],
    }


def _input() -> tuple[bytes, dict[str, list[tuple[int, dict[str, Any]]]], list[tuple[int, Any]]]:
    """Two interleaved streams, states, a schema change, a blank line and an unknown type; some
    strings need escaping (their lines hold a backslash). Returns the bytes, each stream's
    (line, record) in order, and each STATE's (line, value)."""
    messages: list[Any] = [_schema("a"), _schema("b")]
    for i in range(1, 41):
        stream = "a" if i % 3 else "b"
        text = "tab\there" if i % 7 == 0 else f"row {i} ü 😀"
        messages.append({"type": "RECORD", "stream": stream, "record": {"id": i, "s": text}})
        if i % 11 == 0:
            messages.append({"type": "STATE", "value": {"at": i}})
        if i == 20:
            messages.append(_schema("a", {"n": {"type": ["null", "number"]}}))
            messages.append("")
            messages.append({"type": "SOMETHING_NEW", "x": 1})
    messages.append({"type": "STATE", "value": {"at": 41}})
    lines = [m if isinstance(m, str) else orjson.dumps(m).decode() for m in messages]
    expected: dict[str, list[tuple[int, dict[str, Any]]]] = {"a": [], "b": []}
    states: list[tuple[int, Any]] = []
    for n, m in enumerate(messages, start=1):
        if isinstance(m, dict) and m["type"] == "RECORD":
            expected[m["stream"]].append((n, m["record"]))
        elif isinstance(m, dict) and m["type"] == "STATE":
            states.append((n, m["value"]))
    return ("\n".join(lines) + "\n").encode(), expected, states


@pytest.mark.parametrize("encoded", [True, False], ids=["rows", "dicts"])
@pytest.mark.parametrize("rows", [1, 2, 3, 5, 1000])
def test_every_record_reaches_its_batch_once_in_order(encoded: bool, rows: int) -> None:
    data, expected, states = _input()
    loader = Recorder(encoded)
    out = io.BytesIO()
    TargetLoop("t", loader, {"batch_size_rows": rows}, out=out).run(io.BytesIO(data))

    got: dict[str, list[tuple[int, Any]]] = {"a": [], "b": []}
    loaded_through = 0  # every record up to this input line is loaded
    for batches, state in loader.loads:
        for stream, records, lines, keys in batches:
            assert len(records) == len(lines) <= max(rows, 1)
            got[stream] += list(zip(lines, records, strict=True))
            if encoded:
                assert keys == [r[1]["id"] for r in records]
            loaded_through = max(loaded_through, *lines)
        if state is not None:  # the state goes with every record that came before it
            line = next(n for n, v in states if v == state)
            assert all(n <= loaded_through for s in expected.values() for n, _ in s if n < line)

    kinds = set()
    for stream, want in expected.items():
        assert [n for n, _ in got[stream]] == [n for n, _ in want]
        for (_, row), (_, record) in zip(got[stream], want, strict=True):
            if encoded:
                kind, value = row
                assert value == record
                if "\t" in record["s"]:  # its line holds a backslash: the escaping encoder
                    assert kind == "escaped"
                kinds.add(kind)
            else:
                assert row == record
    # a batch's first record takes the general path (escaped); with one-row batches, every one
    assert not encoded or rows == 1 or kinds == {"clean", "escaped"}
    # A state buffered behind rows is replaced by the next one; the last is always printed.
    printed = [orjson.loads(line) for line in out.getvalue().splitlines()]
    values = [v for _, v in states]
    assert printed[-1] == values[-1]
    assert [values.index(v) for v in printed] == sorted({values.index(v) for v in printed})
    if rows == 1:
        assert printed == values


def test_a_batch_size_limit_counts_records_read_from_batch_files(tmp_path: Path) -> None:
    """singer-sdk BATCH messages point at files of records: their bytes count towards
    batch_size_bytes, so a large file is loaded in several batches, not held whole."""
    path = tmp_path / "part.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"id": i, "s": "x" * 100}) + b"\n" for i in range(100)))
    data = b"\n".join(
        orjson.dumps(m)
        for m in (
            _schema("a"),
            {
                "type": "BATCH",
                "stream": "a",
                "encoding": {"format": "jsonl"},
                "manifest": [f"file://{path}"],
            },
        )
    )
    loader = Recorder(encoded=True)
    TargetLoop("t", loader, {"batch_size_bytes": 2000}, out=io.BytesIO()).run(io.BytesIO(data))
    sizes = [len(records) for batches, _ in loader.loads for _, records, _, _ in batches]
    assert sum(sizes) == 100 and len(sizes) >= 5 and max(sizes) <= 20


def test_target_command_is_still_importable_from_tapwell_target() -> None:
    """Targets written against `from tapwell.sdk.target import target_command` (our scaffold's
    template until the CLI moved to tapwell.sdk.target_cli) keep working until 0.3, with a
    DeprecationWarning that says where to import it from."""
    from tapwell.sdk.target_cli import target_command

    with pytest.warns(
        DeprecationWarning, match=r"removed in tapwell 0\.3.*tapwell\.sdk\.target_cli"
    ):
        from tapwell.sdk.target import target_command as old

    assert old is target_command


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("encoded", [True, False], ids=["rows", "dicts"])
@pytest.mark.parametrize("rows", [2, 1000])
def test_a_bad_line_commits_exactly_what_came_before_the_last_state(
    encoded: bool, rows: int
) -> None:
    """Whatever the batch size and interleaving: the records up to the last STATE before the bad
    line are loaded with that STATE, which is printed; nothing buffered after it."""
    data, expected, states = _input()
    cut = states[1][0]  # the bad line comes a little after the second STATE
    lines = data.splitlines()
    bad_at = cut + 3
    data = b"\n".join(lines[: bad_at - 1] + [b'{"type":"RECORD","stream":"a","rec']) + b"\n"
    recorder = Recorder(encoded)
    out = io.BytesIO()
    loop = TargetLoop("t", recorder, {"batch_size_rows": rows}, out)
    with pytest.raises(ProtocolError, match=f"line {bad_at}: not valid JSON"):
        loop.run(io.BytesIO(data))
    loaded: dict[str, list[int]] = {"a": [], "b": []}
    for batches, _state in recorder.loads:
        for stream, _records, got_lines, _keys in batches:
            loaded[stream] += got_lines
    for stream, records in expected.items():
        before_state = [n for n, _ in records if n < cut]
        if rows >= 1000:  # one batch: cut exactly at the STATE
            assert loaded[stream] == before_state
        else:  # a full batch is committed when it fills, with the STATE before it
            assert loaded[stream][: len(before_state)] == before_state
            assert all(n < bad_at for n in loaded[stream])
    assert [st for _, st in recorder.loads if st is not None][-1] == states[1][1]
    assert out.getvalue().splitlines()[-1] == orjson.dumps(states[1][1])


class Versions(Recorder):
    def __init__(self) -> None:
        super().__init__(False)
        self.activated: list[tuple[str, int]] = []

    def activate_version(self, spec: StreamSpec, version: int) -> None:
        self.activated.append((spec.name, version))


def test_activate_version_reaches_the_loader_only_for_a_version_records_came_with() -> None:
    def act(version: int, **extra: Any) -> dict[str, Any]:
        return {"type": "ACTIVATE_VERSION", "stream": "a", "version": version, **extra}

    def rec(i: int, version: int) -> dict[str, Any]:
        return {"type": "RECORD", "stream": "a", "record": {"id": i}, "version": version}

    messages = [_schema("a"), act(1), rec(1, 1), rec(2, 1), act(1), act(2), act(3, empty=True)]
    recorder = Versions()
    TargetLoop("t", recorder, {}, io.BytesIO()).run(
        io.BytesIO(b"".join(orjson.dumps(m) + b"\n" for m in messages))
    )
    assert recorder.activated == [("a", 1), ("a", 3)]  # the opening 1 and the bare 2 retire nothing


@pytest.mark.parametrize("encoded", [True, False], ids=["rows", "dicts"])
def test_metadata_columns_are_the_same_on_either_path(encoded: bool) -> None:
    """With add_metadata_columns a record gets its RECORD's version and time_extracted whether it
    begins a batch (taken the general way) or joins one (the hot path): one-row batches take
    every record the general way, one big batch nearly all of them the hot way."""
    messages: list[Any] = [_schema("a")]
    for i in range(1, 8):
        at = f"2024-01-0{i}T00:00:00+00:00"
        record = {"id": i, "s": "x\ty" if i == 3 else "plain"}
        messages.append(
            {"type": "RECORD", "stream": "a", "record": record, "version": 5, "time_extracted": at}
        )
    data = b"".join(orjson.dumps(m) + b"\n" for m in messages)
    varying = {"_sdc_received_at", "_sdc_batched_at", "_sdc_sequence"}
    got = []
    for rows in (1, 1000):
        recorder = Recorder(encoded)  # an encoder is given the record with its _sdc_ values
        config = {"batch_size_rows": rows, "add_metadata_columns": True}
        TargetLoop("t", recorder, config, io.BytesIO()).run(io.BytesIO(data))
        loaded = [
            r for batches, _ in recorder.loads for _, records, _, _ in batches for r in records
        ]
        loaded = [r[1] if encoded else r for r in loaded]  # rows: (kind, record)
        got.append([{k: v for k, v in r.items() if k not in varying} for r in loaded])
    assert got[0] == got[1]
    assert got[0][2] == {
        "id": 3,
        "s": "x\ty",
        "_sdc_extracted_at": "2024-01-03T00:00:00+00:00",
        "_sdc_deleted_at": None,
        "_sdc_table_version": 5,
    }
