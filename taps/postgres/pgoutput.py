"""A decoder for the `pgoutput` logical replication protocol, version 1 (PostgreSQL 10+): each
message's bytes -> a small typed object. Pure `struct`, no server needed (unit-tested on captured
messages). Values stay as the server's text; types.text_converter turns them into JSON.

https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

_I16 = struct.Struct("!h").unpack_from
_I32 = struct.Struct("!i").unpack_from
_STRUCTS: dict[str, struct.Struct] = {}
UNCHANGED = object()  # an unchanged TOASTed value ('u'): not sent, the stored one stays
"""Marks an unchanged TOASTed value in a tuple: pgoutput does not send it again."""

Tuple = list["str | None | object"]


class DecodeError(ValueError):
    """A message the decoder does not understand (protocol version, truncated data)."""


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_time: datetime
    xid: int


@dataclass(frozen=True)
class Commit:
    flags: int
    commit_lsn: int
    end_lsn: int
    commit_time: datetime


@dataclass(frozen=True)
class RelationColumn:
    name: str
    type_oid: int
    typmod: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    oid: int
    namespace: str
    name: str
    replica_identity: str  # d default, n nothing, f full, i index
    columns: tuple[RelationColumn, ...]


@dataclass(frozen=True)
class TypeMessage:
    oid: int
    namespace: str
    name: str


@dataclass(frozen=True)
class Insert:
    relation: int
    new: Tuple


@dataclass(frozen=True)
class Update:
    relation: int
    new: Tuple
    old: Tuple | None = None  # the old row (REPLICA IDENTITY FULL) or its key, when sent
    old_is_key: bool = False


@dataclass(frozen=True)
class Delete:
    relation: int
    old: Tuple
    old_is_key: bool


@dataclass(frozen=True)
class Truncate:
    relations: tuple[int, ...]
    cascade: bool
    restart_identity: bool


@dataclass(frozen=True)
class Origin:
    lsn: int
    name: str


@dataclass(frozen=True)
class Other:
    tag: str
    data: bytes = field(repr=False, default=b"")


Message = (
    Begin | Commit | Relation | TypeMessage | Insert | Update | Delete | Truncate | Origin | Other
)


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[int, ...]:
        s = _STRUCTS.get(fmt) or _STRUCTS.setdefault(fmt, struct.Struct(fmt))
        if self.pos + s.size > len(self.buf):
            raise DecodeError(f"message cut short at byte {self.pos}")
        out = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return out

    def int8(self) -> int:
        return self.unpack("!b")[0]

    def byte(self) -> str:
        return chr(self.unpack("!B")[0])

    def int16(self) -> int:
        return self.unpack("!h")[0]

    def int32(self) -> int:
        return self.unpack("!i")[0]

    def uint32(self) -> int:
        return self.unpack("!I")[0]

    def int64(self) -> int:
        return self.unpack("!q")[0]

    def uint64(self) -> int:
        return self.unpack("!Q")[0]

    def string(self) -> str:
        end = self.buf.find(b"\0", self.pos)
        if end < 0:
            raise DecodeError(f"unterminated string at byte {self.pos}")
        text = self.buf[self.pos : end].decode()
        self.pos = end + 1
        return text

    def timestamp(self) -> datetime:
        return PG_EPOCH + timedelta(microseconds=self.int64())

    def tuple(self) -> Tuple:
        """A TupleData: one value per column. The hot path of a CDC read (each change has one
        or two), so it works on the buffer with local names rather than through unpack()."""
        buf, pos, end = self.buf, self.pos, len(self.buf)
        if pos + 2 > end:
            raise DecodeError(f"message cut short at byte {pos}")
        (n,) = _I16(buf, pos)
        pos += 2
        out: Tuple = []
        append = out.append
        for _ in range(n):
            if pos >= end:
                raise DecodeError(f"message cut short at byte {pos}")
            kind = buf[pos]
            pos += 1
            if kind == 0x74:  # 't': text
                if pos + 4 > end:
                    raise DecodeError(f"message cut short at byte {pos}")
                (size,) = _I32(buf, pos)
                pos += 4
                stop = pos + size
                if size < 0 or stop > end:
                    raise DecodeError(f"value cut short at byte {pos}")
                append(buf[pos:stop].decode())
                pos = stop
            elif kind == 0x6E:  # 'n': NULL
                append(None)
            elif kind == 0x75:  # 'u': unchanged TOASTed value
                append(UNCHANGED)
            else:
                raise DecodeError(
                    f"unknown tuple value kind {chr(kind)!r} (binary values need protocol v2+)"
                )
        self.pos = pos
        return out


def decode(payload: bytes) -> Message:
    """One pgoutput message."""
    if not payload:
        raise DecodeError("empty message")
    r = _Reader(payload)
    tag = r.byte()
    if tag == "B":
        return Begin(r.uint64(), r.timestamp(), r.uint32())
    if tag == "C":
        return Commit(r.int8(), r.uint64(), r.uint64(), r.timestamp())
    if tag == "R":
        oid, ns, name, ident, n = r.uint32(), r.string(), r.string(), r.byte(), r.int16()
        cols = []
        for _ in range(n):
            flags = r.int8()
            cols.append(RelationColumn(r.string(), r.uint32(), r.int32(), bool(flags & 1)))
        return Relation(oid, ns, name, ident, tuple(cols))
    if tag == "Y":
        return TypeMessage(r.uint32(), r.string(), r.string())
    if tag == "I":
        rel = r.uint32()
        _expect(r, "N")
        return Insert(rel, r.tuple())
    if tag == "U":
        rel = r.uint32()
        kind = r.byte()
        old = None
        if kind in ("K", "O"):
            old = r.tuple()
            _expect(r, "N")
        elif kind != "N":
            raise DecodeError(f"update: unexpected {kind!r}")
        return Update(rel, r.tuple(), old, kind == "K")
    if tag == "D":
        rel = r.uint32()
        kind = r.byte()
        if kind not in ("K", "O"):
            raise DecodeError(f"delete: unexpected {kind!r}")
        return Delete(rel, r.tuple(), kind == "K")
    if tag == "T":
        n = r.int32()
        options = r.int8()
        rels = tuple(r.uint32() for _ in range(n))
        return Truncate(rels, bool(options & 1), bool(options & 2))
    if tag == "O":
        return Origin(r.uint64(), r.string())
    return Other(tag, payload)


def _expect(r: _Reader, tag: str) -> None:
    got = r.byte()
    if got != tag:
        raise DecodeError(f"expected {tag!r} at byte {r.pos - 1}, got {got!r}")


def lsn_text(lsn: int) -> str:
    """An LSN as PostgreSQL prints it: 0/16B3748."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)
