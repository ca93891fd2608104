"""The pgoutput v1 decoder on messages captured from PostgreSQL 15 (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tapwell.taps.postgres import pgoutput as po
from tapwell.taps.postgres.types import PgType, parse_array, parse_hstore, text_converter

# Captured with psycopg2's LogicalReplicationConnection from
# CREATE TABLE t (id int PRIMARY KEY, v text, n numeric, big text); f has REPLICA IDENTITY FULL).
BEGIN = b"B\x00\x00\x00\x00\x01TI\x18\x00\x03\x04\xe9U\xae\xbe]\x00\x00\x02\xd8"
RELATION = (
    b"R\x00\x00@\x00public\x00t\x00d\x00\x04\x01id\x00\x00\x00\x00\x17\xff\xff\xff\xff\x00v\x00"
    b"\x00\x00\x00\x19\xff\xff\xff\xff\x00n\x00\x00\x00\x06\xa4\xff\xff\xff\xff\x00big\x00\x00\x00"
    b"\x00\x19\xff\xff\xff\xff"
)
INSERT = b"I\x00\x00@\x00N\x00\x04t\x00\x00\x00\x012nt\x00\x00\x00\x03NaNt\x00\x00\x00\x01b"
COMMIT = b"C\x00\x00\x00\x00\x00\x01TI\x18\x00\x00\x00\x00\x01TIH\x00\x03\x04\xe9U\xae\xbe]"
DELETE_KEY = b"D\x00\x00@\x00K\x00\x04t\x00\x00\x00\x012nnn"
UPDATE_FULL = (
    b"U\x00\x00@\x07O\x00\x02t\x00\x00\x00\x011t\x00\x00\x00\x01zN\x00\x02t\x00\x00\x00\x011t\x00"
    b"\x00\x00\x01y"
)
DELETE_FULL = b"D\x00\x00@\x07O\x00\x02t\x00\x00\x00\x011t\x00\x00\x00\x01y"
UPDATE_TOAST = b"U\x00\x00@\x00N\x00\x03t\x00\x00\x00\x011t\x00\x00\x00\x01bu"
TRUNCATE = b"T\x00\x00\x00\x01\x00\x00\x00@\x00"


def test_begin_and_commit() -> None:
    begin = po.decode(BEGIN)
    assert isinstance(begin, po.Begin)
    assert begin.final_lsn == 0x1544918 and begin.xid == 728
    assert begin.commit_time.tzinfo is UTC and begin.commit_time > datetime(2026, 1, 1, tzinfo=UTC)
    commit = po.decode(COMMIT)
    assert isinstance(commit, po.Commit)
    assert commit.commit_lsn == begin.final_lsn and commit.end_lsn == 0x1544948
    assert (
        po.lsn_text(commit.end_lsn) == "0/1544948" and po.parse_lsn("0/1544948") == commit.end_lsn
    )


def test_relation() -> None:
    rel = po.decode(RELATION)
    assert isinstance(rel, po.Relation)
    assert (rel.oid, rel.namespace, rel.name, rel.replica_identity) == (16384, "public", "t", "d")
    assert [(c.name, c.type_oid, c.is_key) for c in rel.columns] == [
        ("id", 23, True), ("v", 25, False), ("n", 1700, False), ("big", 25, False),
    ]  # fmt: skip


def test_insert_update_delete() -> None:
    ins = po.decode(INSERT)
    assert ins == po.Insert(16384, ["2", None, "NaN", "b"])
    dk = po.decode(DELETE_KEY)
    assert dk == po.Delete(16384, ["2", None, None, None], True)
    up = po.decode(UPDATE_FULL)
    assert up == po.Update(16391, ["1", "y"], ["1", "z"], False)
    df = po.decode(DELETE_FULL)
    assert df == po.Delete(16391, ["1", "y"], False)
    toast = po.decode(UPDATE_TOAST)
    assert isinstance(toast, po.Update) and toast.new[:2] == ["1", "b"]
    assert toast.new[2] is po.UNCHANGED and toast.old is None


def test_truncate() -> None:
    assert po.decode(TRUNCATE) == po.Truncate((16384,), False, False)


@pytest.mark.parametrize("cut", [1, 5, 20, len(RELATION) - 1])
def test_cut_short_messages_are_a_decode_error(cut: int) -> None:
    with pytest.raises(po.DecodeError):
        po.decode(RELATION[:cut])


def test_text_values_as_the_snapshot_writes_them() -> None:
    def conv(name: str, element: str | None = None) -> object:
        el = PgType(element, element, "b") if element else None
        return text_converter(PgType(name, name, "b", element=el))

    assert conv("int8")("-9223372036854775808") == -(2**63)
    import orjson

    assert orjson.dumps({"n": conv("numeric")("123456789012345678901234567890.5")}) == (
        b'{"n":123456789012345678901234567890.5}'
    )
    assert conv("numeric")("NaN") is None and conv("float8")("-Infinity") is None
    assert (
        conv("timestamptz")("2024-01-31 10:00:00.000001+00") == "2024-01-31T10:00:00.000001+00:00"
    )
    assert conv("timestamp")("2024-01-31 10:00:00") == "2024-01-31T10:00:00+00:00"
    assert conv("timestamp")("0044-03-15 00:00:00 BC") is None
    assert conv("date")("10000-01-01") is None and conv("date")("2024-01-31") == "2024-01-31"
    assert conv("bool")("t") is True and conv("bool")("f") is False
    assert conv("bytea")("\\x00ff") == "\\x00ff"
    assert conv("_int4", "int4")("{{1,2},{NULL,4}}") == [[1, 2], [None, 4]]
    assert orjson.dumps(conv("json")('{"a":\n1.10}')) == b'{"a": 1.10}'


def test_array_and_hstore_literals() -> None:
    assert parse_array('{"a b","c\\"d",NULL,""}', str) == ["a b", 'c"d', None, ""]
    assert parse_array("{}", str) == []
    assert parse_array("[0:1]={1,2}", int) == [1, 2]
    assert parse_hstore('"a"=>"1", "b c"=>NULL') == {"a": "1", "b c": None}
    assert parse_hstore("") == {}
