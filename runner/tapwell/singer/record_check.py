"""The record check of one SCHEMA, compiled: `compile_checker` returns a function that checks one
record in a few attribute look-ups per field, instead of walking the schema (or calling
jsonschema) for every record; `CheckCode` is its source, for a target to fuse its own work into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapwell.singer.codegen import build_function
from tapwell.singer.datetime_rule import format_parser, inline_parser
from tapwell.singer.errors import ProtocolError
from tapwell.singer.fraction_digits import CUT_GUARDS, FRACTIONS, FractionNotes
from tapwell.singer.number_steps import FLOAT_ON_STEP, multiple_of, number_step
from tapwell.singer.schema import property_types
from tapwell.singer.value_check import Check, fast_types, value_check, with_fix


def compile_checker(
    stream: str, schema: dict[str, Any], key_properties: list[str] | None = None
) -> Callable[[dict[str, Any], int | None], None]:
    """A function that raises ProtocolError (with stream, line and field) for a record that
    breaks `schema`: wrong type, unparseable date, a required field or key property missing."""
    return check_code(stream, schema, key_properties).compile()


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    fast: frozenset[type]  # types certainly valid (one look-up)
    parse: Any  # the format's parser for strings, or None
    check: Check  # the full check, which names the problem
    nullable: bool
    number: bool
    multiple: Any = None  # multiple_of's test, when the property has a step (number_step)


# Types a branch may name in generated source (builtins, so no look-up through the environment).
_NAMED = {int: "int", float: "float", str: "str", bool: "bool", dict: "dict", list: "list"}

Then = Callable[[type | None], list[str]]


class CheckCode:
    """The record check of one SCHEMA as straight-line source, one block per field, specialised
    once (a loop over the fields cost twice as much per record). The common case for each field
    is a type look-up; anything else goes to the field's full check, which names the problem.

    A target that does its own work per field (encoding a row for its destination) can fuse it
    into the same function with `field_block`, so each value is fetched and its type tested once.
    Names reach the code only as values in the function's environment, never as source text."""

    def __init__(
        self,
        stream: str,
        schema: dict[str, Any],
        keys: list[str],
        notes: FractionNotes = FRACTIONS,
    ) -> None:
        props: dict[str, Any] = schema.get("properties") or {}
        self.fields: list[_Field] = []
        for name, prop in props.items():
            check = value_check(prop)
            if check is None:
                continue
            kinds = property_types(prop)
            parse = format_parser(prop)
            nullable = not kinds or "null" in kinds
            step = number_step(prop)
            multiple = multiple_of(step) if step is not None else None
            fast = fast_types(prop) - ({int, Decimal} if multiple else set())
            numeric = bool(set(kinds) & {"number", "integer"})
            self.fields.append(
                _Field(
                    name,
                    fast,
                    parse,
                    check,
                    nullable,
                    "number" in kinds,
                    multiple if numeric else None,
                )
            )
        self.index = {f.name: i for i, f in enumerate(self.fields)}
        required = [name for name in schema.get("required") or [] if name not in keys]
        names = tuple(f.name for f in self.fields)
        checks = tuple(f.check for f in self.fields)

        def fail(problem: str, line: int | None, name: str) -> None:
            raise ProtocolError(with_fix(problem), line=line, stream=stream, field=name)

        def slow(i: int, value: Any, line: int | None) -> None:
            problem = checks[i](value)
            if problem is not None:
                fail(problem, line, names[i])

        self.env: dict[str, Any] = {"fail": fail, "slow": slow}
        self.head: list[str] = []  # key properties, then required fields
        for i, key in enumerate(keys):
            self.env[f"_k{i}"] = key
            self.head += [
                f"if get(_k{i}) is None:",
                f"    fail('key property is missing or null', line, _k{i})",
            ]
        for i, name in enumerate(required):
            self.env[f"_r{i}"] = name
            self.head += [
                f"if _r{i} not in record:",
                f"    fail('required field is missing', line, _r{i})",
            ]
        for i, f in enumerate(self.fields):
            self.env.update({f"_n{i}": f.name, f"_t{i}": f.fast, f"_p{i}": f.parse})
            if f.multiple:
                self.env[f"_m{i}"] = f.multiple
            if f.parse in CUT_GUARDS:
                self.env[f"_c{i}"] = _cutter(stream, f.name, CUT_GUARDS[f.parse][1], notes)
        self.env["_D"] = Decimal

    def _bind(self, key: str, value: Any) -> str:
        self.env[f"_dt_{key}"] = value
        return f"_dt_{key}"

    def field_block(self, i: int, then: Then | None = None) -> list[str]:
        """Source that fetches field `i` into `v` and checks it; `then(t)` gives the lines to run
        once `v` passed: t is type(None) for null, a builtin type when the branch pins `v`'s type,
        None when it does not."""
        f = self.fields[i]
        after: Then = then or (lambda t: [])

        def branch(lines: list[str]) -> list[str]:
            return ["    " + line for line in lines] or ["    pass"]

        out = [f"v = get(_n{i})", "if v is None:"]
        out += branch(
            ([] if f.nullable else [f"if _n{i} in record: slow({i}, v, line)"]) + after(type(None))
        )
        rest = f.fast
        inline = inline_parser(f.parse, "v", self._bind)
        # a date-time or time past microseconds: cut, said once, and the record holds the cut text
        guard = CUT_GUARDS.get(f.parse)
        cut = [f"if {guard[0]}: v = _c{i}(record, v, line)"] if guard else []
        if f.parse is not None and str in f.fast and inline is not None:
            self.env[f"_q{i}"] = inline[1]
            out += [
                "elif type(v) is str:",
                f"    if {inline[0]}:",  # at most 6 fraction digits: no cut
                "        try:",
                f"            _q{i}(v)",
                "        except ValueError:",
                f"            slow({i}, v, line)",
                "    else:",
                f"        slow({i}, v, line)",
                *["        " + line for line in cut],
                *["    " + line for line in after(str)],
            ]
            rest = f.fast - {str}
        elif f.parse is not None and str in f.fast:
            out += [
                "elif type(v) is str:",
                "    try:",
                f"        _p{i}(v)",
                "    except ValueError:",
            ]
            out += [f"        slow({i}, v, line)", *["    " + line for line in cut]]
            out += ["    " + line for line in after(str)]
            rest = f.fast - {str}
        if rest or f.parse is None:
            for t in sorted(rest & _NAMED.keys(), key=_NAMED.__getitem__):
                if after(t) != after(None):
                    out += [f"elif type(v) is {_NAMED[t]}:", *branch(after(t))]
            out += [f"elif type(v) in _t{i}:", *branch(after(None))]
        if f.multiple:  # numbers pass only as exact multiples of multipleOf
            out += [f"elif type(v) is int and _m{i}(v):", *branch(after(int))]
            if f.number:
                out += [f"elif type(v) is _D and _m{i}(v):", *branch(after(None))]
        if f.number:
            scale = getattr(f.multiple, "scale", None)
            if scale is not None:  # multipleOf 10^-s: the test inline, see FLOAT_ON_STEP
                self.env[f"_s{i}"] = scale
                extra = " and " + FLOAT_ON_STEP.format(scale=f"_s{i}")
            else:
                extra = f" and _m{i}(v)" if f.multiple else ""
            out += [f"elif type(v) is float and v - v == 0.0{extra}:  # finite (NaN, inf: NaN)"]
            out += branch(after(float))
        out += ["else:", f"    slow({i}, v, line)", *["    " + line for line in after(None)]]
        return out

    def compile(self) -> Callable[[dict[str, Any], int | None], None]:
        body = ["get = record.get", *self.head]
        for i in range(len(self.fields)):
            body += self.field_block(i)
        checker: Callable[[dict[str, Any], int | None], None] = build_function(
            "check_record", "record, line=None", body, self.env, "schema-check"
        )
        return checker


def check_code(
    stream: str, schema: dict[str, Any], key_properties: list[str] | None = None
) -> CheckCode:
    """The check of `schema`'s records as source, to compile or to fuse with a target's encoding."""
    return CheckCode(stream, schema, list(key_properties or []))


def _cutter(
    stream: str, name: str, start: int, notes: FractionNotes
) -> Callable[[dict[str, Any], str, int | None], str]:
    """The record check's cut of field `name` (see FractionNotes): the record is given the cut
    text too, so a batch kept as dicts, a key, a dedupe, a nested split all see what is stored."""

    def cut(record: dict[str, Any], value: str, line: int | None) -> str:
        kept = notes.cut(value, start, stream, name, line)
        if kept is not value:
            record[name] = kept
        return kept

    return cut
