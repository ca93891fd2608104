"""Read a target's destination back and compare it, row by row, with what the suite sent.

An append destination (jsonl) must hold every record, in order, as sent. An upsert destination
(duckdb, postgres) must hold one row per key (the last one sent wins) and only the active version
after ACTIVATE_VERSION. Every value must be equal after typing: numbers exact, date-times as
instants, null never confused with the empty string. A nested property loaded as columns and
child tables (`nested: tables`) is reassembled first (tapwell.sdk.check.nested_verify). Columns named `_sdc_*` are the target's own
and are ignored; a row with `_sdc_deleted_at` set is a deleted row. The destinations are in
tapwell.sdk.check.destinations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

from tapwell.sdk.check.destinations import Destination
from tapwell.sdk.check.nested_verify import Reassembler, canonical
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.suite import Prepared
from tapwell.singer.datetime_rule import parse_date, parse_datetime
from tapwell.singer.schema import property_format, property_types
from tapwell.singer.wire import loads

# ----------------------------------------------------------------------------- expectations


def expected_rows(
    prepared: Prepared, mode: str
) -> dict[str, tuple[dict[str, Any], list[str], list[dict[str, Any]]]]:
    """Per stream: the union of its schemas' properties, its key, and the rows the destination
    should hold."""
    out: dict[str, tuple[dict[str, Any], list[str], list[dict[str, Any]]]] = {}
    versions: dict[str, dict[tuple[Any, ...] | int, int | None]] = {}
    for m in prepared.messages:
        v = m.value
        if not isinstance(v, dict):
            continue
        kind, stream = v.get("type"), str(v.get("stream"))
        if kind == "SCHEMA":
            props, keys, rows = out.get(stream, ({}, [], []))
            props = {**props, **(v["schema"].get("properties") or {})}
            out[stream] = (props, list(v.get("key_properties") or []), rows)
        elif kind == "RECORD" and stream in out:
            props, keys, rows = out[stream]
            record = v["record"]
            if mode == "upsert" and keys:
                key = tuple(record.get(k) for k in keys)
                rows[:] = [r for r in rows if tuple(r.get(k) for k in keys) != key]
            rows.append(record)
            versions.setdefault(stream, {})[id(record)] = v.get("version")
        elif kind == "ACTIVATE_VERSION" and stream in out and mode == "upsert":
            props, keys, rows = out[stream]
            seen = versions.get(stream, {})
            if (
                v.get("empty") is True or v["version"] in seen.values()
            ):  # tapwell.sdk.target_versions
                rows[:] = [r for r in rows if seen.get(id(r)) == v["version"]]
    return out


def _numbers(value: Any) -> Any:
    """A JSON document with every number as its normalized decimal text (marked apart from a
    string): 1.0 (a reader's float) and 1.00 (an exact reader's Decimal) are one number, as JSON
    means them."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "\x00number " + str(Decimal(str(value)).normalize())
    return value if isinstance(value, str | bool) or value is None else str(value)


def normal(prop: dict[str, Any], value: Any) -> Any:
    """A value as something comparable across destinations; a date-time or date text read by
    the rule the targets hold records to (parse_datetime, parse_date), else unparsable."""
    if value is None:
        return None
    kinds = set(property_types(prop)) - {"null"}
    fmt = property_format(prop)
    try:
        if fmt == "date-time" and kinds <= {"string"}:
            dt = value if isinstance(value, datetime) else parse_datetime(str(value))
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
        if fmt == "date" and kinds <= {"string"}:
            return (
                value
                if isinstance(value, date) and not isinstance(value, datetime)
                else parse_date(str(value))
            )
        if kinds and kinds <= {"integer", "number"} and not isinstance(value, bool):
            return Decimal(str(value)).normalize()
        if kinds & {"object", "array"}:
            parsed = loads(value) if isinstance(value, str | bytes) else value
            return orjson.dumps(_numbers(parsed), option=orjson.OPT_SORT_KEYS).decode()
    except (ValueError, ArithmeticError, TypeError):
        return ("unparsable", value)
    return value


class Verifier:
    def __init__(self, dest: Destination) -> None:
        self.dest = dest

    def describe(self) -> str:
        return self.dest.describe()

    def compare(self, prepared: Prepared, report: Report, check: str) -> None:
        for stream, (props, keys, rows) in expected_rows(prepared, self.dest.mode).items():
            got = self.dest.rows(stream)
            if got is None:
                if rows:
                    report.add(
                        check,
                        "stream-not-loaded",
                        f"no table/file for the stream ({len(rows)} row(s) expected)",
                        stream=stream,
                    )
                continue
            columns, actual = got
            deleted = [r for r in actual if r.get("_sdc_deleted_at") is not None]
            actual = [r for r in actual if r.get("_sdc_deleted_at") is None]
            missing = [p for p in props if self.dest.column(p) not in columns]
            tables = Reassembler(self.dest, stream, keys, normal)
            assembled = [p for p in missing if tables.nested(props[p], p, columns)]
            missing = [p for p in missing if p not in assembled]
            if missing and actual:
                report.add(
                    check,
                    "column-missing",
                    f"columns {missing} are not in the destination (renamed or dropped?)",
                    stream=stream,
                )
            present = {p: prop for p, prop in props.items() if p not in missing}
            have = [
                {
                    p: tables.value(r, p, present[p])
                    if p in assembled
                    else r.get(self.dest.column(p))
                    for p in present
                }
                for r in actual
            ]
            self._compare_rows(
                stream, present, keys, rows, have, report, check, bool(deleted), set(assembled)
            )

    def _compare_rows(
        self,
        stream: str,
        props: dict[str, Any],
        keys: list[str],
        rows: list[dict[str, Any]],
        actual: list[dict[str, Any]],
        report: Report,
        check: str,
        soft_deleted: bool,
        assembled: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        def norm(r: dict[str, Any], sent: bool) -> dict[str, Any]:
            return {
                p: (canonical(prop, r.get(p), normal) if sent else r.get(p))
                if p in assembled
                else normal(prop, r.get(p))
                for p, prop in props.items()
            }

        want = [norm(r, True) for r in rows]
        have = [norm(r, False) for r in actual]
        if self.dest.mode == "upsert" and keys:
            by_key = {tuple(r[k] for k in keys): r for r in have}
            if len(by_key) != len(have):
                report.add(
                    check,
                    "duplicate-key",
                    f"{len(have) - len(by_key)} row(s) share a key with another row",
                    stream=stream,
                )
            for w in want:
                key = tuple(w[k] for k in keys)
                h = by_key.pop(key, None)
                if h is None:
                    report.add(check, "row-missing", f"no row for key {key}", stream=stream)
                else:
                    self._diff(stream, str(key), w, h, report, check)
            for key in by_key:
                report.add(
                    check,
                    "row-extra",
                    f"row for key {key} should not be there (a replaced version or a deleted row)",
                    stream=stream,
                )
            return
        if len(want) != len(have):
            report.add(
                check, "row-count", f"expected {len(want)} row(s), found {len(have)}", stream=stream
            )
        ordered = self.dest.mode == "append"
        pairs = zip(want, have) if ordered else zip(sorted(want, key=repr), sorted(have, key=repr))
        for i, (w, h) in enumerate(pairs, 1):
            self._diff(stream, f"row {i}", w, h, report, check)

    @staticmethod
    def _diff(
        stream: str,
        where: str,
        want: dict[str, Any],
        have: dict[str, Any],
        report: Report,
        check: str,
    ) -> None:
        for p, w in want.items():
            h = have.get(p)
            if w != h:
                report.add(
                    check,
                    "value-mismatch",
                    f"{where}, field {p!r}: sent {_show(w)}, found {_show(h)}",
                    stream=stream,
                )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
