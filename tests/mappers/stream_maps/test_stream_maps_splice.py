"""The chunk edit (stream.Mapper.spliced): a stream whose map is one hash of one property has
that property's value replaced in the input bytes, a chunk at a time. Its output must equal,
byte for byte, the line by line path's on a chunk that mixes everything the fast path must hand
over (STATE, other streams, escapes, the key twice, nulls, numbers, a spaced head, a new SCHEMA),
and a failure must name the same input line."""

from __future__ import annotations

import pytest
from tapwell.mappers.stream_maps.maps import read_config
from tapwell.mappers.stream_maps.stream import Mapper
from tapwell.singer.errors import ConfigError, ProtocolError

SCHEMA = (
    b'{"type":"SCHEMA","stream":"c","schema":{"properties":{"id":{},"email":{},"n":{},'
    b'"nested":{},"note":{}}},"key_properties":["id"]}\n'
)
LINES = [
    b'{"type":"RECORD","stream":"c","record":{"id":1,"email":"a@b.c","n":1.10}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":2,"email":"a@b.c","n":123456789012345678901234567890}}\n',
    b'{"type":"STATE","value":{"bookmarks":{"c":{"id":2}}}}\n',
    b'{"type": "RECORD", "stream": "c", "record": {"id": 3, "email" : "sp@b.c", "n": 1e5}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":4,"email":"x\\"y@b.c"}}\n',  # an escape
    b'{"type":"RECORD","stream":"c","record":{"id":5,"email":null,"n":2}}\n',
    b'{"type":"RECORD","stream":"other","record":{"id":6,"email":"clear@b.c"}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":7,"email":"\xc3\xa9\xf0\x9f\x98\x80@b.c"}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":8,"email":"s","nested":{"email":"in"}}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":9,"email":"s","note":"the \\"email\\": x"}}\n',
    b'{"type":"RECORD","stream":"c","record":{"id":10,"email":42}}\n',  # a number
    b"\n",
    b'{"type":"RECORD","stream":"c","record":{"id":11,"email":"a@b.c","at":"2024-01-01T00:00:00.123456+02:00"}}\n',
]


def _config(expr: str = "hmac_sha256(email)") -> object:
    return read_config(
        {"stream_maps": {"c": {"email": expr}}, "stream_map_config": {"hash_key": "k"}}
    )


def _map(data: bytes, spliced: bool, expr: str = "hmac_sha256(email)") -> bytes:
    mapper = Mapper(_config(expr))  # type: ignore[arg-type]
    out: list[bytes] = []
    mapper.chunk(SCHEMA, out)
    assert bool(mapper.splices) is True
    if not spliced:
        mapper.splices.clear()
    mapper.chunk(data, out)
    return b"".join(out)


def test_the_chunk_edit_equals_the_line_by_line_path_byte_for_byte():
    data = b"".join(LINES * 3)
    fast, slow = _map(data, True), _map(data, False)
    assert fast == slow
    assert b"a@b.c" not in fast and b"sp@b.c" not in fast and b"clear@b.c" in fast
    assert b'"n":123456789012345678901234567890' in fast and b'"n":1.10' in fast
    assert b'"at":"2024-01-01T00:00:00.123456+02:00"' in fast


def test_md5_and_sha256_in_place_equal_the_parsed_path():
    data = b"".join(line for line in LINES if b"null" not in line and b"42" not in line)
    for expr in ("md5(email)", "sha256(email)"):
        assert _map(data, True, expr) == _map(data, False, expr)


def test_a_failure_in_the_chunk_edit_names_the_input_line():
    data = b"".join(LINES)
    for spliced in (True, False):
        with pytest.raises(ProtocolError) as caught:
            _map(data, spliced, "md5(email)")  # md5 of null fails
        assert caught.value.line == 7, spliced  # the SCHEMA is line 1
        assert "expression 'md5(email)' failed" in str(caught.value)


def test_a_new_schema_in_the_chunk_takes_effect_in_order():
    lacking = b'{"type":"SCHEMA","stream":"c","schema":{"properties":{"id":{}}},"key_properties":["id"]}\n'
    data = LINES[0] + lacking + LINES[1]
    mapper = Mapper(_config())  # type: ignore[arg-type]
    out: list[bytes] = []
    mapper.chunk(SCHEMA, out)
    with pytest.raises(ConfigError, match="input line 3, the SCHEMA of stream 'c'"):
        mapper.chunk(data, out)
    written = b"".join(out)
    assert written.count(b'"RECORD"') == 1 and b"a@b.c" not in written


def test_a_property_named_like_a_message_key_is_parsed_not_edited():
    import hashlib

    config = read_config({"stream_maps": {"c": {"version": "md5(version)"}}})
    schema = b'{"type":"SCHEMA","stream":"c","schema":{"properties":{"id":{},"version":{}}}}\n'
    record = b'{"type":"RECORD","stream":"c","record":{"id":1,"version":"r1"},"version":"v1"}\n'
    mapper = Mapper(config)
    out: list[bytes] = []
    mapper.chunk(schema + record, out)
    assert not mapper.splices and not mapper.edits
    hashed = hashlib.md5(b"r1").hexdigest().encode()
    assert b'"record":{"id":1,"version":"' + hashed + b'"},"version":"v1"' in b"".join(out)
    # a record without it fails as singer-sdk's does; the message's version is never hashed
    lacking = b'{"type":"RECORD","stream":"c","record":{"id":2},"version":"v1"}\n'
    with pytest.raises(ProtocolError, match="field 'version'"):
        mapper.chunk(lacking, out)
