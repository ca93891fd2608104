"""The chunk edit against every slower path, on random records: the whole-chunk split
(Mapper.spliced_whole), the match-by-match chunk edit (Mapper.spliced), the line's in-place edit
(rewrite.rewrite) and the parse (orjson, every number exact, written back by the wire writer)
must write the same bytes for lines as tapwell writes them, and the same JSON values (the
fast paths keeping the tap's own spelling) for lines written otherwise. A failure must name
the same line after the same output. The values: every JSON escape, unicode and emoji,
quotes and brackets in strings and names, the key inside strings and nested objects, nulls,
numbers as the hashed value, records without the property, the key twice."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest
from tapwell.mappers.stream_maps.maps import read_config
from tapwell.mappers.stream_maps.stream import Mapper
from tapwell.singer.errors import TapwellError
from tapwell.singer.wire import dumps

ALPHABET = [
    "a",
    "Z",
    "0",
    " ",
    ",",
    ":",
    '"',
    "\\",
    "/",
    "{",
    "}",
    "[",
    "]",
    "\n",
    "\t",
    "\r",
    "\b",
    "\f",
    "\x00",
    "\x1f",
    "\x7f",
    "é",
    "ñ",
    "€",
    "\u2028",
    "\u2029",
    "😀",
    "\ufeff",
    "null",
    "true",
    "1.10",
]
PATHS = ("whole", "spliced", "line", "parse")


def _string(rng: random.Random, prop: str) -> str:
    if rng.random() < 0.1:
        return ""
    parts = [rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.1:
        parts.insert(0, json.dumps({prop: "x"}))  # the key, quoted, inside a string
    return "".join(parts)


def _value(rng: random.Random, prop: str, depth: int = 0) -> Any:
    kind = rng.random()
    if kind < 0.45:
        return _string(rng, prop)
    if kind < 0.55:
        return None
    if kind < 0.62:
        return rng.choice([0, -1, 42, 2**63, 2**70, -(2**65)])
    if kind < 0.7:
        return rng.choice([Decimal("1.10"), Decimal("-0.0"), Decimal("1E+5"), Decimal("3.14")])
    if kind < 0.75:
        return rng.choice([True, False])
    if depth < 2 and kind < 0.88:
        return {rng.choice([prop, "n", 'q"k']): _value(rng, prop, depth + 1)}
    if depth < 2:
        return [_value(rng, prop, depth + 1), _string(rng, prop)]
    return _string(rng, prop)


def _record(rng: random.Random, i: int, prop: str, odd: bool = True) -> dict[str, Any]:
    """A record with the property somewhere among the others; with `odd`, its value is now and
    then a number, a bool, an object or a list, and once in a while it is missing."""
    record: dict[str, Any] = {"id": i}
    others = ["a", "b{", 'c"d', "e,f", "note"]
    rng.shuffle(others)
    place = rng.randint(0, len(others))
    missing = odd and i > 200 and rng.random() < 0.02  # late: a run ends there
    for n, name in enumerate(others):
        if n == place and not missing:
            record[prop] = _hashed(rng, prop, odd)
        record[name] = _value(rng, prop)
    if place == len(others) and not missing:
        record[prop] = _hashed(rng, prop, odd)
    return record


def _hashed(rng: random.Random, prop: str, odd: bool) -> Any:
    kind = rng.random()
    if kind < 0.75 or (kind >= 0.9 and not odd):
        return _string(rng, prop)
    if kind < 0.9:
        return None
    return _value(rng, prop)  # a number, a bool, an object, a list


def _lines(seed: int, prop: str, odd: bool = True, count: int = 300) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.03:
            lines.append(b'{"type":"STATE","value":{"bookmarks":{"c":{"id":%d}}}}\n' % i)
        elif kind < 0.05:
            lines.append(
                dumps({"type": "RECORD", "stream": "other", "record": {prop: "x"}}) + b"\n"
            )
        elif (i // 20) % 2:  # runs of the shape most taps write: the split takes these
            text = "".join(c for c in _string(rng, prop) if c not in "{}[]")
            record = {
                "id": i,
                "a": text,
                prop: _hashed(rng, prop, False),
                "note": _value(rng, prop),
            }
            if odd and rng.random() < 0.2:
                record[prop] = None
            lines.append(dumps({"type": "RECORD", "stream": "c", "record": record}) + b"\n")
        else:
            message = {"type": "RECORD", "stream": "c", "record": _record(rng, i, prop, odd)}
            if rng.random() < 0.1:
                message["version"] = 1
                message["time_extracted"] = "2024-01-01T00:00:00.123456+00:00"
            lines.append(dumps(message) + b"\n")
    return lines


def _schema(prop: str) -> bytes:
    names = ["id", prop, "a", "b{", 'c"d', "e,f", "note"]
    schema = {"properties": {n: {} for n in names}}
    message = {"type": "SCHEMA", "stream": "c", "schema": schema, "key_properties": ["id"]}
    return dumps(message) + b"\n"


WHOLE_CHUNKS = [0]  # chunks the whole-chunk split mapped


def _run(prop: str, expr: str, data: bytes, path: str) -> tuple[bytes, str | None]:
    """The output and the error (if any) of `data` mapped by one path, in chunks of 1 to 8
    lines (so some chunks hold only lines the whole-chunk split takes)."""
    config = {"stream_maps": {"c": {prop: expr}}, "stream_map_config": {"hash_key": "k"}}
    mapper = Mapper(read_config(config))
    out: list[bytes] = []
    mapper.chunk(_schema(prop), out)
    out.clear()
    assert mapper.splices and mapper.edits
    whole = mapper.spliced_whole

    def counted(data: bytes, splice: Any, out: list[bytes]) -> bool:
        done = path == "whole" and whole(data, splice, out)
        WHOLE_CHUNKS[0] += done
        return done

    mapper.spliced_whole = counted  # type: ignore[method-assign]
    if path in ("line", "parse"):
        mapper.splices.clear()
    if path == "parse":
        mapper.edits.clear()
    lines = data.splitlines(keepends=True)
    rng = random.Random(len(data))
    try:
        while lines:
            size = rng.randint(1, 8)
            mapper.chunk(b"".join(lines[:size]), out)
            del lines[:size]
    except TapwellError as exc:
        return b"".join(out), str(exc)
    return b"".join(out), None


def _rows(data: bytes) -> list[Any]:
    return [json.loads(line, parse_float=Decimal) for line in data.splitlines()]


@pytest.mark.parametrize("prop", ["email", "nöte", "n"])
@pytest.mark.parametrize("func", ["hmac_sha256", "sha256", "md5"])
@pytest.mark.parametrize("seed", range(8))
def test_every_path_writes_the_same_bytes(prop: str, func: str, seed: int) -> None:
    # md5 and sha256 fail on anything but a string (as in singer-sdk): with those, an odd value
    # (a number, null, a missing property) is in every other run, and ends it
    odd = func == "hmac_sha256" or seed % 2 == 1
    lines = _lines(seed, prop, odd)
    if not odd:
        lines = [line for line in lines if b"null" not in line]
    data = b"".join(lines)
    before = WHOLE_CHUNKS[0]
    results = {path: _run(prop, f"{func}({prop})", data, path) for path in PATHS}
    if func == "hmac_sha256" or not odd:  # (a run of md5 with odd values ends early)
        assert WHOLE_CHUNKS[0] > before  # the split took some chunks
    assert results["whole"] == results["spliced"] == results["line"] == results["parse"]
    if results["whole"][1] is None:  # a run without a failure hashed every value
        assert len(results["whole"][0].splitlines()) == len(lines)


@pytest.mark.parametrize("seed", range(6))
def test_lines_written_otherwise_keep_their_spelling_and_values(seed: int) -> None:
    """ASCII escapes (\\u00e9) and blanks after the separators: the fast paths keep the tap's
    bytes, the parse writes them its way; the JSON values are the same."""
    rng = random.Random(seed)
    lines = []
    for i in range(200):
        message = {"type": "RECORD", "stream": "c", "record": _record(rng, i, "email")}
        plain = json.loads(dumps(message))  # floats: json.dumps writes them back the same
        spaced = rng.random() < 0.5
        lines.append(
            json.dumps(
                plain, ensure_ascii=True, separators=(", ", ": ") if spaced else (",", ":")
            ).encode()
            + b"\n"
        )
    data = b"".join(lines)
    results = {path: _run("email", "hmac_sha256(email)", data, path) for path in PATHS}
    assert results["whole"] == results["spliced"] == results["line"]
    assert results["whole"][1] == results["parse"][1]
    assert _rows(results["whole"][0]) == _rows(results["parse"][0])


def test_the_key_twice_in_a_record_takes_the_parse() -> None:
    twice = b'{"type":"RECORD","stream":"c","record":{"id":1,"email":"a@b.c","email":"d@e.f"}}\n'
    once = b'{"type":"RECORD","stream":"c","record":{"id":2,"email":"g@h.i"}}\n'
    data = once + twice + once
    results = {path: _run("email", "hmac_sha256(email)", data, path) for path in PATHS}
    assert len({r for r in results.values()}) == 1
    assert b"a@b.c" not in results["whole"][0] and b"d@e.f" not in results["whole"][0]


def test_a_value_in_a_nested_object_is_never_taken_for_the_records() -> None:
    """A record without the property but with it in a nested object (or in a nested message)
    fails as the parse does; before, the nested value was hashed and the record passed."""
    nested = b'{"type":"RECORD","stream":"c","record":{"id":1,"a":{"email":"x@y.z"}}}\n'
    inner = (
        b'{"type":"RECORD","stream":"c","record":{"id":2,"a":'
        b'{"type":"RECORD","stream":"c","record":{"email":"x@y.z"}}}}\n'
    )
    for line in (nested, inner):
        results = {path: _run("email", "hmac_sha256(email)", line, path) for path in PATHS}
        assert len(set(results.values())) == 1, results
        written, error = results["whole"]
        assert written == b"" and error is not None and "field 'email'" in error


def test_a_failure_leaves_whole_lines_before_it() -> None:
    """md5(null) fails: the lines before it are written whole (before, the chunk edit left the
    previous line cut after its hashed value), and the error names the line."""
    good = b'{"type":"RECORD","stream":"c","record":{"id":1,"email":"a@b.c","n":1}}\n'
    bad = b'{"type":"RECORD","stream":"c","record":{"id":2,"email":null,"n":2}}\n'
    results = {path: _run("email", "md5(email)", good * 3 + bad + good, path) for path in PATHS}
    assert len(set(results.values())) == 1
    written, error = results["whole"]
    assert written.count(b"\n") == 3 and written.endswith(b',"n":1}}\n')
    assert error is not None and error.startswith("input line 5,")
