"""The Singer rules a tap's output must keep, checked line by line as the tap runs.

RECORD after its SCHEMA; records valid against their schema (jsonschema, Draft 7, with date,
date-time and time formats checked); key properties in the schema and in every record; STATE
values are objects; bookmarks never move backwards, within a run or from the state a run was given;
a resumed incremental stream sends nothing older than its bookmark; an ACTIVATE_VERSION is
followed (or preceded) by a record of its version, or says `"empty": true` (targets retire
nothing on a version they got no record of: see tapwell.sdk.target_versions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tapwell.sdk.check.report import Report
from tapwell.singer.datetime_rule import parse_date, parse_datetime, parse_time
from tapwell.singer.errors import ProtocolError
from tapwell.singer.messages import (
    ActivateVersionMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
    UnknownMessageType,
)
from tapwell.singer.schema import property_format, property_types
from tapwell.singer.wire import parse_line


def format_checker() -> Any:
    """Formats Singer uses, checked with the standard library (no optional jsonschema extras)."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    def parses(parse: Any) -> Any:
        def check(value: object) -> bool:
            if not isinstance(value, str):
                return True
            parse(value)
            return True

        return check

    checker.checks("date-time", raises=ValueError)(parses(_parse_datetime))
    checker.checks("date", raises=ValueError)(parses(parse_date))
    checker.checks("time", raises=ValueError)(parses(parse_time))
    return checker


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Any:
    """multipleOf on decimal text, not binary floats: 1239008.43 is a multiple of 0.01."""
    from jsonschema import ValidationError

    if not validator.is_type(instance, "number"):
        return
    try:
        exact = Decimal(str(instance)) % Decimal(str(step)) == 0
    except ArithmeticError:
        exact = False
    if not exact:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


def draft_for(schema: Any) -> Any:
    """The JSON Schema draft a Singer schema is written in: what `$schema` says; else Draft 4 when
    it uses Draft 4's boolean `exclusiveMaximum`/`exclusiveMinimum` (singer-io's decimals do:
    `"maximum": 1e10, "exclusiveMaximum": true`); else Draft 7."""
    import jsonschema

    if isinstance(schema, dict) and "$schema" in schema:
        return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return jsonschema.Draft4Validator if _uses_draft4_bounds(schema) else jsonschema.Draft7Validator


def _uses_draft4_bounds(node: Any) -> bool:
    if isinstance(node, dict):
        if isinstance(node.get("exclusiveMaximum"), bool) or isinstance(
            node.get("exclusiveMinimum"), bool
        ):
            return True
        return any(_uses_draft4_bounds(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_draft4_bounds(v) for v in node)
    return False


def exact_validator(schema: Any) -> Any:
    """The schema's draft, with multipleOf checked in decimal."""
    import jsonschema

    return jsonschema.validators.extend(draft_for(schema), {"multipleOf": _multiple_of})


def _parse_datetime(value: str) -> datetime:
    """RFC 3339 wants the time: a bare date is not a date-time here (targets take it as
    midnight); everything else is the targets' own rule (tapwell.singer.datetime_rule.parse_datetime)."""
    if len(value) < 11 or value[10] not in "Tt ":
        raise ValueError(f"{value!r} is not a date-time")
    return parse_datetime(value)


def typed_bookmark(prop: dict[str, Any] | None, value: Any) -> Any:
    """A bookmark value as something comparable (datetimes aware, numbers exact); None if it
    cannot be typed."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return value  # a log position, compared as (file, offset)
    kinds = property_types(prop or {})
    fmt = property_format(prop or {})
    try:
        if isinstance(value, str) and fmt in ("date-time", "date"):
            parsed = parse_datetime(value)  # the targets' rule; a bare date is midnight
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float | Decimal) or (
            kinds and set(kinds) - {"null"} <= {"integer", "number"}
        ):
            return Decimal(str(value))
    except (ValueError, ArithmeticError):
        return None
    return value if isinstance(value, str) else None


def bookmarks_of(state: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """(bookmark path, value) pairs per stream: singer-io's `replication_key_value`, singer-sdk's
    partitions, log positions (MySQL binlog file and position, PostgreSQL `lsn`). Progress markers
    of an unfinished stream are not bookmarks yet."""
    out: dict[str, list[tuple[str, Any]]] = {}
    books = state.get("bookmarks") if isinstance(state, dict) else None
    if not isinstance(books, dict):
        return out
    for stream, book in books.items():
        if not isinstance(book, dict):
            continue
        pairs: list[tuple[str, Any]] = []
        if "replication_key_value" in book:
            pairs.append((str(book.get("replication_key") or ""), book["replication_key_value"]))
        if isinstance(book.get("log_file"), str) and isinstance(book.get("log_pos"), int):
            pairs.append(("binlog", (book["log_file"], book["log_pos"])))
        if isinstance(book.get("lsn"), int):
            pairs.append(("lsn", book["lsn"]))
        for part in book.get("partitions") or []:
            if isinstance(part, dict) and "replication_key_value" in part:
                ctx = repr(sorted((part.get("context") or {}).items()))
                pairs.append(
                    (f"{part.get('replication_key') or ''}@{ctx}", part["replication_key_value"])
                )
        out[str(stream)] = pairs
    return out


@dataclass
class _Stream:
    schema: dict[str, Any]
    key_properties: list[str]
    validator: Any
    records: int = 0


@dataclass
class StreamValidator:
    """Feed it a tap's stdout lines; it adds violations to `report` under `check`."""

    report: Report
    check: str
    start_state: dict[str, Any] = field(default_factory=dict)
    validate_limit: int = 100_000  # records validated per stream; the rest are only counted
    selected: set[str] | None = None
    streams: dict[str, _Stream] = field(default_factory=dict)
    states: int = 0
    last_state: dict[str, Any] | None = None
    records_total: int = 0
    unknown_types: set[str] = field(default_factory=set)
    _formats: Any = None
    _seen_bookmarks: dict[tuple[str, str], Any] = field(default_factory=dict)
    _versions: dict[str, set[int]] = field(default_factory=dict)  # record versions per stream
    _activated: dict[str, tuple[int, int]] = field(default_factory=dict)  # (version, line) unseen

    def __post_init__(self) -> None:
        self._formats = format_checker()
        self.report.ran(self.check)
        self._start_books = {
            (s, path): value
            for s, pairs in bookmarks_of(self.start_state).items()
            for path, value in pairs
        }

    def _add(
        self, rule: str, message: str, *, stream: str | None = None, line: int | None = None
    ) -> None:
        self.report.add(self.check, rule, message, stream=stream, line=line)

    def feed(self, line_no: int, line: bytes) -> None:
        if not line.strip():
            return
        try:
            msg = parse_line(line, line_no, "stdout")
        except UnknownMessageType as exc:
            self.unknown_types.add(exc.problem)
            return
        except ProtocolError as exc:
            rule = "invalid-json" if "not valid JSON" in exc.problem else "bad-message"
            self._add(rule, f"{exc.problem}: {line[:120]!r}", line=line_no)
            return
        if isinstance(msg, RecordMessage):
            self._record(msg, line_no)
        elif isinstance(msg, SchemaMessage):
            self._schema(msg, line_no)
        elif isinstance(msg, StateMessage):
            self._state(msg.value, line_no)
        elif isinstance(msg, ActivateVersionMessage):
            self._activate(msg, line_no)

    def _activate(self, msg: ActivateVersionMessage, line_no: int) -> None:
        if msg.stream not in self.streams:
            self._add(
                "activate-before-schema",
                "ACTIVATE_VERSION before the stream's SCHEMA",
                stream=msg.stream,
                line=line_no,
            )
        elif not msg.empty and msg.version not in self._versions.get(msg.stream, ()):
            self._activated[msg.stream] = (msg.version, line_no)  # records of it may follow

    def finish(self) -> None:
        """Rules that need the whole output: an ACTIVATE_VERSION no record of its version
        came with (before or after it), in a run that did not say the table is empty."""
        for stream, (version, line_no) in sorted(self._activated.items()):
            self._add(
                "activate-without-records",
                f"ACTIVATE_VERSION {version} but no RECORD of that version: a target retires "
                'no rows on it; send "empty": true when the table is really empty',
                stream=stream,
                line=line_no,
            )

    def _schema(self, msg: SchemaMessage, line_no: int) -> None:
        import jsonschema

        schema = msg.schema
        valid = True
        try:
            draft_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            valid = False
            self._add(
                "schema-invalid",
                f"not a valid JSON Schema: {exc.message}",
                stream=msg.stream,
                line=line_no,
            )
        props: dict[str, Any] = (
            schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        )
        if "object" not in property_types(schema):
            self._add(
                "schema-invalid",
                "a stream's schema must be of type object",
                stream=msg.stream,
                line=line_no,
            )
        for key in msg.key_properties:
            if key not in props:
                self._add(
                    "key-not-in-schema",
                    f"key property {key!r} is not a property of the schema",
                    stream=msg.stream,
                    line=line_no,
                )
        for key in msg.bookmark_properties or []:
            if key not in props:
                self._add(
                    "bookmark-not-in-schema",
                    f"bookmark property {key!r} is not a property of the schema",
                    stream=msg.stream,
                    line=line_no,
                )
        validator = exact_validator(schema)(schema, format_checker=self._formats) if valid else None
        old = self.streams.get(msg.stream)
        self.streams[msg.stream] = _Stream(
            schema, list(msg.key_properties), validator, old.records if old else 0
        )

    def _record(self, msg: RecordMessage, line_no: int) -> None:
        self.records_total += 1
        s = self.streams.get(msg.stream)
        if s is None:
            self._add(
                "record-before-schema", "RECORD before its SCHEMA", stream=msg.stream, line=line_no
            )
            return
        s.records += 1
        if msg.version is not None:
            self._versions.setdefault(msg.stream, set()).add(msg.version)
            if self._activated.get(msg.stream, (None,))[0] == msg.version:
                del self._activated[msg.stream]
        if self.selected is not None and msg.stream not in self.selected:
            self._add(
                "unselected-stream",
                "RECORD of a stream the catalog did not select",
                stream=msg.stream,
                line=line_no,
            )
        for key in s.key_properties:
            if msg.record.get(key) is None:
                self._add(
                    "key-missing",
                    f"key property {key!r} is missing or null",
                    stream=msg.stream,
                    line=line_no,
                )
        start = self._resume_from(msg.stream, s)
        if start is not None:
            rkey, prop, bookmark = start
            value = typed_bookmark(prop, msg.record.get(rkey))
            try:
                older = value is not None and value < bookmark
            except TypeError:
                older = False
            if older:
                self._add(
                    "record-before-bookmark",
                    f"{rkey} {msg.record.get(rkey)!r} is older than the bookmark "
                    "the run started from (an incremental sync sends records >= its bookmark)",
                    stream=msg.stream,
                    line=line_no,
                )
        if s.validator is not None and s.records <= self.validate_limit:
            error = next(iter(s.validator.iter_errors(_plain(msg.record))), None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(record)"
                self._add(
                    "record-invalid",
                    f"field {where}: {error.message[:200]}",
                    stream=msg.stream,
                    line=line_no,
                )

    def _state(self, value: Any, line_no: int) -> None:
        self.states += 1
        if not isinstance(value, dict):
            self._add("state-invalid", "STATE value must be an object", line=line_no)
            return
        if "bookmarks" in value and not isinstance(value["bookmarks"], dict):
            self._add("state-invalid", "STATE bookmarks must be an object", line=line_no)
        if self.last_state and not value:
            self._add(
                "state-emptied",
                "an empty STATE after a non-empty one drops every bookmark",
                line=line_no,
            )
        for stream, pairs in bookmarks_of(value).items():
            prop = self._replication_prop(stream)
            for path, raw in pairs:
                now = typed_bookmark(prop, raw)
                fmt = property_format(prop or {})
                if now is None and isinstance(raw, str) and fmt in ("date-time", "date"):
                    self._add(
                        "bookmark-invalid",
                        f"bookmark {raw!r} is not a {fmt} the tap can resume from (RFC 3339, "
                        "e.g. 2024-01-31T12:00:00+00:00: tapwell.singer.datetime_rule.DATETIME_RULE)",
                        stream=stream,
                        line=line_no,
                    )
                for earlier, what in (
                    (self._seen_bookmarks.get((stream, path)), "an earlier STATE of this run"),
                    (self._start_books.get((stream, path)), "the state the run started from"),
                ):
                    before = typed_bookmark(prop, earlier)
                    if now is None or before is None:
                        continue
                    try:
                        backwards = now < before
                    except TypeError:
                        continue
                    if backwards:
                        self._add(
                            "bookmark-backwards",
                            f"bookmark {raw!r} is behind {earlier!r} in {what}",
                            stream=stream,
                            line=line_no,
                        )
                        break
                self._seen_bookmarks[(stream, path)] = raw
        self.last_state = value

    def _resume_from(self, stream: str, s: _Stream) -> tuple[str, dict[str, Any], Any] | None:
        book = (self.start_state.get("bookmarks") or {}).get(stream)
        if (
            not isinstance(book, dict)
            or not book.get("replication_key")
            or book.get("replication_key_value") is None
        ):
            return None
        rkey = str(book["replication_key"])
        prop = (s.schema.get("properties") or {}).get(rkey)
        bookmark = typed_bookmark(prop, book["replication_key_value"])
        return (rkey, prop or {}, bookmark) if bookmark is not None else None

    def _replication_prop(self, stream: str) -> dict[str, Any] | None:
        s = self.streams.get(stream)
        book = ((self.last_state or self.start_state or {}).get("bookmarks") or {}).get(stream)
        rkey = book.get("replication_key") if isinstance(book, dict) else None
        if s is None or not rkey:
            return None
        return (s.schema.get("properties") or {}).get(rkey)


def _plain(value: Any) -> Any:
    """Decimals (from long numbers kept exact) as jsonschema expects numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value()
            and "E" not in str(value)
            and "." not in str(value)
            else float(value)
        )
    return value
