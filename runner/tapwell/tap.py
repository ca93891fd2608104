"""A light API for writing a tap: declare streams, write a generator of records.

    from tapwell.tap import Stream, Tap

    def users(ctx):
        for row in fetch_users(ctx.config["api_url"], since=ctx.start_value):
            yield row

    tap = Tap("tap-example", streams=[Stream("users", USERS_SCHEMA, users,
                                              key_properties=["id"], replication_key="updated_at")])
    main = tap.main

tapwell handles the Singer CLI (`--config`, `--discover`, `--catalog`/`--properties`, `--state`,
`--about`), config validation, stream selection, bookmarks, STATE emission, METRIC lines and the
fast orjson writer. Records are yielded as Python values: Decimal, datetime and date are written
exactly (see tapwell.wire).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import click
import orjson

from tapwell import state as st
from tapwell.catalog import (
    Catalog,
    StreamEntry,
    catalog_entry,
    load_catalog,
    select_all,
    standard_metadata,
)
from tapwell.cli_util import run_main
from tapwell.config import load_config, secret_values
from tapwell.errors import ConfigError, SyncError
from tapwell.progress import Progress, configure_logging
from tapwell.schema import property_format, property_types
from tapwell.wire import MessageWriter


@dataclass
class SyncContext:
    """What a stream's record generator gets: the config, the typed bookmark to start from
    (records with replication key >= start_value are wanted), and the whole state."""

    config: dict[str, Any]
    stream: str
    replication_key: str | None
    start_value: Any
    state: dict[str, Any]
    selected: list[str]


@dataclass
class Stream:
    """One stream of a tap.

    records: a function of SyncContext yielding dicts.
    is_sorted: records come in replication-key order, so STATE can be emitted mid-stream.
    filter_start: drop records whose replication key is below the bookmark (for sources that
        cannot filter, like files).
    """

    name: str
    schema: dict[str, Any]
    records: Callable[[SyncContext], Iterable[dict[str, Any]]]
    key_properties: Sequence[str] = ()
    replication_key: str | None = None
    is_sorted: bool = False
    filter_start: bool = False
    root_metadata: dict[str, Any] = field(default_factory=dict)
    property_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


StreamsFn = Callable[[dict[str, Any]], Sequence[Stream]]


def typed_value(prop: dict[str, Any], raw: Any) -> Any:
    """A bookmark as stored in JSON, back to the Python type its property has."""
    if raw is None or not isinstance(raw, str | int | float):
        return raw
    kinds = property_types(prop)
    fmt = property_format(prop)
    if "string" in kinds and fmt == "date-time":
        value = datetime.fromisoformat(str(raw))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if "string" in kinds and fmt == "date":
        return date.fromisoformat(str(raw)[:10])
    if "integer" in kinds:
        return int(raw)
    if "number" in kinds:
        return Decimal(str(raw))
    return raw


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _typed_key(stream: str, rkey: str, prop: dict[str, Any], value: str) -> Any:
    """A replication-key value yielded as text (as most APIs return it), typed like the bookmark."""
    try:
        return _comparable(typed_value(prop, value))
    except (ValueError, ArithmeticError):
        raise SyncError(
            f"stream {stream!r}, field {rkey!r}: replication key value {value!r} does not "
            f"match the schema's type"
        ) from None


def _replication_method(entry: StreamEntry, stream: Stream) -> str:
    """The catalog's choice when it makes one; else INCREMENTAL for a stream that declares a
    replication key (as singer-sdk does), FULL_TABLE otherwise."""
    md = entry.metadata()
    chosen = (
        md.get("replication-method")
        or entry.raw.get("replication_method")
        or md.get("forced-replication-method")
    )
    if chosen:
        return str(chosen).upper()
    return "INCREMENTAL" if (entry.replication_key or stream.replication_key) else "FULL_TABLE"


class Tap:
    def __init__(
        self,
        name: str,
        streams: Sequence[Stream] | StreamsFn,
        *,
        version: str = "0.1.0",
        description: str = "",
        config_schema: dict[str, Any] | None = None,
        state_every: int = 10_000,
    ) -> None:
        self.name = name
        self._streams = streams
        self.version = version
        self.description = description
        self.config_schema = config_schema or {"type": "object", "properties": {}}
        self.state_every = state_every
        self.log = configure_logging(name)

    # ------------------------------------------------------------------ the two seams

    def streams(self, config: dict[str, Any]) -> list[Stream]:
        return list(self._streams(config) if callable(self._streams) else self._streams)

    def discover(self, config: dict[str, Any]) -> dict[str, Any]:
        entries = []
        for s in self.streams(config):
            md = standard_metadata(
                s.schema,
                key_properties=s.key_properties,
                valid_replication_keys=[s.replication_key] if s.replication_key else (),
                root_extra=s.root_metadata,
                property_extra=s.property_metadata,
            )
            entries.append(catalog_entry(s.name, s.schema, md, key_properties=s.key_properties))
        return {"streams": entries}

    def sync(
        self,
        config: dict[str, Any],
        catalog: Catalog,
        state: dict[str, Any],
        writer: MessageWriter | None = None,
    ) -> dict[str, Any]:
        writer = writer or MessageWriter()
        by_name = {s.name: s for s in self.streams(config)}
        progress = Progress(self.name)
        for entry in catalog.selected():
            stream = by_name.get(entry.tap_stream_id)
            if stream is None:
                raise ConfigError(
                    f"the catalog selects stream {entry.tap_stream_id!r}, which this tap does not have"
                )
            state = self._sync_stream(config, stream, entry, state, writer, progress)
        state = st.set_currently_syncing(state, None)
        writer.write_state(state)
        return state

    # ------------------------------------------------------------------ one stream

    def _sync_stream(
        self,
        config: dict[str, Any],
        stream: Stream,
        entry: StreamEntry,
        state: dict[str, Any],
        writer: MessageWriter,
        progress: Progress,
    ) -> dict[str, Any]:
        name = stream.name
        selected = entry.selected_properties()
        props = entry.schema.get("properties") or {}
        schema = dict(entry.schema, properties={p: props[p] for p in selected})
        method = _replication_method(entry, stream)
        rkey = (
            (entry.replication_key or stream.replication_key) if method == "INCREMENTAL" else None
        )
        if method == "INCREMENTAL" and not rkey:
            raise ConfigError(
                f"stream {name!r} is INCREMENTAL but has no replication key; set 'replication-key' in the catalog"
            )
        if rkey and rkey not in props:
            raise ConfigError(
                f"stream {name!r}: replication key {rkey!r} is not a property of the stream"
            )

        start_value = None
        if rkey:
            if st.get_bookmark(state, name, "replication_key") in (None, rkey):
                start_value = typed_value(
                    props[rkey], st.get_bookmark(state, name, "replication_key_value")
                )
            if start_value is None and config.get("start_date"):
                start_value = typed_value(props[rkey], config["start_date"])

        state = st.set_currently_syncing(state, name)
        writer.write_schema(
            name,
            schema,
            entry.key_properties or list(stream.key_properties),
            [rkey] if rkey else None,
        )
        version = None
        if method == "FULL_TABLE":
            version = int(time.time() * 1000)
            if not st.get_bookmark(state, name, "initial_full_table_complete"):
                writer.write_activate_version(name, version)  # the table is visible from the start
            state = st.set_bookmark(state, name, "version", version)
        writer.write_state(state)

        ctx = SyncContext(config, name, rkey, start_value, state, selected)
        all_selected = len(selected) == len(props)
        wanted = tuple(selected)
        start_cmp = _comparable(start_value)
        max_value: Any = start_cmp
        rprop = props.get(rkey, {}) if rkey else {}
        typed_strings = bool(rprop) and (
            property_format(rprop) in ("date-time", "date")
            or bool({"integer", "number"} & set(property_types(rprop)))
        )
        count = 0
        since_state = 0
        checkpoint = bool(rkey and stream.is_sorted and self.state_every > 0)
        write = writer.write_record
        for record in stream.records(ctx):
            if rkey is not None:
                value = _comparable(record.get(rkey))
                if value is not None:
                    if typed_strings and isinstance(value, str):
                        value = _typed_key(name, rkey, rprop, value)
                    try:
                        if stream.filter_start and start_cmp is not None and value < start_cmp:
                            continue
                        if max_value is None or value > max_value:
                            max_value = value
                    except TypeError:
                        raise SyncError(
                            f"stream {name!r}, field {rkey!r}: replication key value {value!r} cannot be "
                            f"compared with {max_value!r}; yield values of the type the schema declares"
                        ) from None
            write(
                name,
                record if all_selected else {k: record.get(k) for k in wanted if k in record},
                version,
            )
            count += 1
            since_state += 1
            if count % 1000 == 0:
                progress.add(name, 1000)
            if checkpoint and since_state >= self.state_every:
                since_state = 0
                state = self._bookmark(state, name, rkey, max_value)  # type: ignore[arg-type]
                writer.write_state(state)
        progress.add(name, count % 1000)
        progress.done(name)
        if rkey is not None:
            state = self._bookmark(state, name, rkey, max_value)
        if version is not None:
            writer.write_activate_version(name, version)
            state = st.clear_bookmark(state, name, "version")
            state = st.set_bookmark(state, name, "initial_full_table_complete", True)
        writer.write_state(state)
        return state

    @staticmethod
    def _bookmark(state: dict[str, Any], stream: str, rkey: str, value: Any) -> dict[str, Any]:
        if value is None:
            return state
        state = st.set_bookmark(state, stream, "replication_key", rkey)
        return st.set_bookmark(state, stream, "replication_key_value", orjson.loads(_dump(value)))

    # ------------------------------------------------------------------ the CLI

    def about(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "capabilities": ["catalog", "discover", "state", "about"],
            "settings": self.config_schema,
        }

    def validate_config(self, config: dict[str, Any]) -> None:
        """Check the config against `config_schema`; every problem in one line that names each
        setting, never its value (values may be secrets)."""
        raise_config_errors(self.config_schema, config)

    def main(self, argv: Sequence[str] | None = None) -> None:
        command = self._click_command()
        command.main(
            args=list(argv) if argv is not None else None, prog_name=self.name, standalone_mode=True
        )

    def _click_command(self) -> click.Command:
        tap = self

        @click.command(name=self.name, help=self.description or f"{self.name}: a Singer tap.")
        @click.option(
            "--config",
            "configs",
            multiple=True,
            type=click.Path(),
            help="JSON config file (repeatable; later files win).",
        )
        @click.option(
            "--discover", is_flag=True, help="Print the catalog of available streams and exit."
        )
        @click.option(
            "--catalog",
            type=click.Path(),
            help="Catalog selecting streams and replication methods.",
        )
        @click.option("--properties", type=click.Path(), help="Older name for --catalog.")
        @click.option(
            "--state",
            "state_path",
            type=click.Path(),
            help="State file with bookmarks to resume from.",
        )
        @click.option(
            "--about", is_flag=True, help="Print what this tap is and its settings, and exit."
        )
        @click.option(
            "--format",
            "fmt",
            type=click.Choice(["json", "markdown"]),
            default="json",
            help="Format of --about.",
        )
        def command(
            configs: tuple[str, ...],
            discover: bool,
            catalog: str | None,
            properties: str | None,
            state_path: str | None,
            about: bool,
            fmt: str,
        ) -> None:
            holder: dict[str, Any] = {}

            def body() -> None:
                if about:
                    _print_about(tap.about(), fmt)
                    return
                if not configs and tap.config_schema.get("required"):
                    raise ConfigError(
                        f"--config is required (a JSON file with the tap's settings; "
                        f"`{tap.name} --about` lists them)"
                    )
                config = load_config(configs) if configs else {}
                holder["config"] = config
                tap.validate_config(config)
                if discover:
                    sys.stdout.buffer.write(
                        orjson.dumps(tap.discover(config), option=orjson.OPT_INDENT_2) + b"\n"
                    )
                    return
                cat_path = catalog or properties
                cat = (
                    load_catalog(cat_path)
                    if cat_path
                    else Catalog(select_all(tap.discover(config)))
                )
                state = _load_state(state_path)
                writer = MessageWriter()
                tap.sync(config, cat, state, writer)
                writer.flush()

            code = run_main(tap.name, body, lambda: secret_values(holder.get("config", {})))
            sys.exit(code)

        return command


def _dump(value: Any) -> bytes:
    from tapwell.wire import dumps

    return dumps(value)


def _load_state(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError(f"state file {path} does not exist") from None
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"state file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"state file {path} must hold a JSON object")
    # Accept a whole STATE message as well as its value (some runners save either).
    if data.get("type") == "STATE" and isinstance(data.get("value"), dict):
        return data["value"]
    return data


def raise_config_errors(schema: dict[str, Any], config: dict[str, Any]) -> None:
    """Validate `config` against a JSON Schema; raise one ConfigError listing every problem."""
    import jsonschema

    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path)
    )
    if errors:
        problems = "; ".join(_config_problem(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError(f"invalid config: {problems}{more}")


def _config_problem(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        keys = ", ".join(repr("/".join(filter(None, [where, k]))) for k in missing)
        return f"missing required setting {keys}"
    if error.validator == "additionalProperties":
        return (
            f"{where or 'config'}: unknown setting(s) ({error.message.split('(')[-1].rstrip(')')}"
        )
    expected = {
        "type": f"must be of type {error.validator_value}",
        "enum": f"must be one of {error.validator_value}",
        "minimum": f"must be >= {error.validator_value}",
        "maximum": f"must be <= {error.validator_value}",
        "minLength": f"must have at least {error.validator_value} character(s)",
        "maxLength": f"must have at most {error.validator_value} character(s)",
        "pattern": f"must match {error.validator_value!r}",
        "format": f"must be a {error.validator_value}",
    }.get(str(error.validator), f"fails {error.validator} {error.validator_value!r}")
    return f"setting {where or '(top level)'!r} {expected}"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _print_about(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    settings = info.get("settings") or {}
    lines = [
        f"# `{info['name']}`",
        "",
        info.get("description") or "",
        "",
        f"Version: {info['version']}",
        "",
        "Capabilities: " + ", ".join(f"`{c}`" for c in info.get("capabilities") or []),
        "",
        "## Settings",
        "",
    ]
    props = settings.get("properties") or {}
    required = set(settings.get("required") or [])
    if not props:
        lines.append("This tap has no settings.")
    else:
        lines += ["| Setting | Type | Required | Description |", "|:--|:--|:--|:--|"]
        for key, prop in props.items():
            kinds = "/".join(k for k in property_types(prop) if k != "null") or "any"
            lines.append(
                f"| {_cell(key)} | {kinds} | {'yes' if key in required else 'no'} | {_cell(prop.get('description', ''))} |"
            )
    sys.stdout.write("\n".join(lines) + "\n")
