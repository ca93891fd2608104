"""A csv BATCH file's other checked columns, held on the way into COPY to what the RECORD lane
takes, beside the number columns (steps.py) and by the same look (steps.NumberScan):

- a date-time, date or time property (a string with that `format`): PostgreSQL's input reads far
  more than the RECORD lane's rule (tapwell.singer.datetime_rule): `now`, `today`,
  `epoch`, `infinity`, `allballs`, `J2451187`, `January 8, 1999`, `2024-01-01 00:00:00 PST`,
  `20240108T040506`, `24:00:00`, `23:59:60`, a blank around the value, `BC`, a year past 9999;
  `now` and `today` read another value on every load. The value's text is tested by the RECORD
  lane's own check (schema.value_check of the property), in its words;
- a boolean property: the input reads `t`, `yes`, `on`, `1`, `TRUE`, ` true` and any prefix of
  true/false/yes/no/on/off; JSON has only `true` and `false` (tap_batch writes them so);
- an object or array property (a jsonb column): the input reads any JSON value, so `1`, `"x"`,
  `null` (a JSON null where the RECORD lane's null is SQL NULL) or `[1]` in an object property
  would load; the document's kind is its first character past JSON's blanks. A property that
  also admits a string takes a JSON string (`"x"`, its JSON quotes written: tap_batch, tap-csv)
  as the RECORD lane does, and `1` or `true` there are refused as they are on it;
- a bytea column: the input also reads PostgreSQL's escape format (`abc` as the bytes a, b, c);
  the RECORD lane takes only the hex text `\\x...` (encode._as_bytea).

A value most files hold is told by one regular expression (`TextCheck.plain`) inside the row's
look (a date-time as our taps write it, 2024-01-08T04:05:06.123456+00:00, a space for the T,
the fraction or the offset left out, every field in its range: one PostgreSQL and the rule read
alike); anything else is read closer, and the RECORD lane's test decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tapwell.singer.schema import property_format, property_types
from tapwell.singer.value_check import value_check

from .steps import FIELD_END
from .types import family

# a field's text that is certainly within the rule (and read alike by PostgreSQL): a calendar
# date in years 0001-9999, a time of day with seconds and at most 6 fraction digits, an offset
# PostgreSQL takes (to 15:59); a day past its month's end is refused by both, in PostgreSQL's
# words (COPY names the row and column)
_DATE = rb"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6}+)?+"
_OFFSET = rb"(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])"
PLAIN = {
    "date-time": _DATE + rb"[T ]" + _TIME + _OFFSET + rb"?+",
    "date": _DATE,
    "time": _TIME,
}
_QUOTED_TEXT = rb'[^"]*+(?:""[^"]*+)*+"'  # the rest of a quoted field, after its first character
JSON_BLANKS = " \t\n\r"
# a document's kind by its first character
_KIND_OF = {"{": "object", "[": "array", '"': "string", "t": "boolean", "f": "boolean"}
_KIND_OF.update({"n": "null", "-": "number"} | {d: "number" for d in "0123456789"})
# a document's first character inside the csv field's quotes (a JSON string's quote doubled)
_STARTS = {"object": b"{", "array": rb"\[", "string": b'""'}


@dataclass(frozen=True)
class TextCheck:
    """How one column's text is held: the text told at once (`plain_text`, bare or quoted),
    and the RECORD lane's verdict on any other (`test`: the problem, or None). A document's
    plain text is told by its start (`head`): its field is read to its end only when a checked
    field follows it in the row."""

    plain_text: bytes
    test: Callable[[str], str | None]
    head: bytes = b""
    bits: int = 0  # not an integer column (steps.Check's, for NumberScan)

    def field(self, last: bool) -> bytes:
        """The field's plain texts, or empty (NULL), for NumberScan's look at a row; the
        row's `last` checked field ends there (nothing after it is read)."""
        if last and self.head:
            return rb"(?:%s|%s)" % (self.head, FIELD_END)
        return rb"(?:%s|)" % self.plain_text + (FIELD_END if last else b"")

    def problem(self, text: str) -> str | None:
        return self.test(text)


def text_checks_of(
    schema: dict[str, Any], props: dict[str, str], cols: list[str], types: dict[str, str]
) -> dict[int, TextCheck]:
    """The date-time, date, time, boolean, document and bytea columns among `cols` (of column
    `types`): index -> its TextCheck. The property decides, as on the RECORD lane, whatever
    the column has become (a date-time property's text column is held to the rule too)."""
    out = {}
    for i, col in enumerate(cols):
        prop = schema.get(props.get(col, col)) or {}
        check = _check(prop, family(types.get(col, "")))
        if check is not None:
            out[i] = check
    return out


def _check(prop: dict[str, Any], sqltype: str) -> TextCheck | None:
    real = set(property_types(prop)) - {"null"}
    fmt = property_format(prop)
    if real == {"string"} and fmt in PLAIN:
        test = value_check(prop)
        assert test is not None  # a string property always has one
        return TextCheck(_bare_or_quoted(PLAIN[fmt]), test)
    if real == {"boolean"}:
        return TextCheck(rb'(?:true|false|"true"|"false")', _boolean)
    if real & {"object", "array"} and real <= {"object", "array", "string"}:
        head = rb'"(?:%s)' % b"|".join(_STARTS[kind] for kind in sorted(real))
        return TextCheck(head + _QUOTED_TEXT, _document(real), head)
    if sqltype == "bytea":
        return TextCheck(_bare_or_quoted(rb"\\x[0-9a-fA-F]*+"), _bytea)
    return None


def _bare_or_quoted(plain: bytes) -> bytes:
    return rb'(?:%s|"%s")' % (plain, plain)


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _boolean(text: str) -> str | None:
    return None if text in ("true", "false") else f"{_short(text)} is not true or false"


def _document(kinds: set[str]) -> Callable[[str], str | None]:
    """The test of a document's text: its kind (JSON's own reader, PostgreSQL's, judges the rest)."""
    expected = " or ".join(sorted(kinds))

    def test(text: str) -> str | None:
        kind = _KIND_OF.get(text.lstrip(JSON_BLANKS)[:1])
        if kind is None or kind in kinds:
            return None  # no JSON value: jsonb's input refuses it, naming the row
        if kind == "null":
            return (
                f"{_short(text)} is not {expected} (a JSON null: NULL is the unquoted empty field)"
            )
        return f"{_short(text)} is not {expected}"

    return test


def _bytea(text: str) -> str | None:
    if text.startswith("\\x"):
        return None  # PostgreSQL reads the hex digits, or names them
    return f"{_short(text)} is not bytea hex text (\\x and hex digits)"


__all__ = ["TextCheck", "text_checks_of"]
