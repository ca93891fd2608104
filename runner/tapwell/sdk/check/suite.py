"""The target suite: `.singer` files shipped with tapwell, one case each, and what a target must do
with it. Valid cases must load and confirm their states; malformed ones must be refused cleanly."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from tapwell.singer.wire import loads


@dataclass(frozen=True)
class Case:
    name: str
    valid: bool
    about: str


CASES: tuple[Case, ...] = (
    Case(
        "types",
        True,
        "integers past 2^53 and int64 limits, exact decimals, floats, booleans, "
        "date-times with microseconds and offsets, dates, objects, arrays, all-null rows",
    ),
    Case("nulls", True, "null versus the empty string, 'null'/'None' as text, missing properties"),
    Case(
        "unicode",
        True,
        "emoji, CJK, RTL, combining marks, newlines, tabs, quotes, a 10,000-character value",
    ),
    Case(
        "names",
        True,
        "a dashed stream name; column names with spaces, dots, quotes, mixed case, "
        "reserved words, non-ASCII, a leading digit, 80 characters",
    ),
    Case(
        "schema_change",
        True,
        "a column added, then another dropped and a new one added, mid-stream",
    ),
    Case(
        "duplicates",
        True,
        "the same key several times in one batch and across batches, composite keys",
    ),
    Case("append_only", True, "a stream without key properties: identical rows are all kept"),
    Case(
        "activate_version",
        True,
        "ACTIVATE_VERSION: a full-table sync replaced by a smaller one, then a version no record "
        "came with (a tap that crashed): its rows stay",
    ),
    Case(
        "nested",
        True,
        "orders with an address object, line items holding discounts, tags; upserts that shrink "
        "and grow the arrays, null and empty arrays, elements missing properties",
    ),
    Case(
        "states", True, "interleaved streams, a STATE after every record, a stream with no records"
    ),
    Case("bad_json", False, "a truncated JSON line after good records and a STATE"),
    Case("not_an_object", False, "a line that is JSON but not an object"),
    Case("record_before_schema", False, "a RECORD for a stream with no SCHEMA yet"),
    Case("record_violates_schema", False, "a string in an integer column"),
    Case("record_missing_record", False, "a RECORD message without its record"),
)


@dataclass
class Message:
    """One line of a case: its raw bytes and, when it parses, its JSON value."""

    raw: bytes
    value: Any = None


@dataclass
class Prepared:
    case: Case
    data: bytes
    messages: list[Message] = field(default_factory=list)
    streams: dict[str, str] = field(default_factory=dict)  # suite name -> name sent this run

    def states(self) -> list[tuple[int, dict[str, Any]]]:
        """(index in `messages`, value) of every STATE sent."""
        return [
            (i, m.value["value"])
            for i, m in enumerate(self.messages)
            if isinstance(m.value, dict) and m.value.get("type") == "STATE"
        ]

    def first_bad_line(self) -> int | None:
        """Index of the malformed line: the first one a careful target must refuse."""
        seen: set[str] = set()
        for i, m in enumerate(self.messages):
            v = m.value
            if not isinstance(v, dict):
                return i
            if v.get("type") == "SCHEMA":
                seen.add(v["stream"])
            elif (
                v.get("type") == "RECORD"
                and (v.get("stream") not in seen or not isinstance(v.get("record"), dict))
                or v.get("type") == "RECORD"
                and self.case.name == "record_violates_schema"
                and not isinstance(v["record"].get("id"), int)
            ):
                return i
        return None


def prepare(case: Case, token: str | None = None) -> Prepared:
    """A case's messages with every stream renamed `<name>_<token>`, so runs never collide in
    a destination that already holds data."""
    token = token or secrets.token_hex(3)
    text = (
        resources.files("tapwell.sdk.check")
        .joinpath("suite", f"{case.name}.singer")
        .read_text(encoding="utf-8")
    )
    names = sorted(set(re.findall(r'"stream": "([^"]+)"', text)), key=len, reverse=True)
    renames = {n: f"{n}_{token}" for n in names}
    if names:
        pattern = re.compile("|".join(re.escape(f'"{n}"') for n in names))
        text = pattern.sub(lambda m: f'"{renames[m.group(0)[1:-1]]}"', text)
    data = text.encode("utf-8")
    messages = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            value = loads(line)
        except ValueError:
            value = None
        messages.append(Message(line, value))
    return Prepared(case, data, messages, renames)
