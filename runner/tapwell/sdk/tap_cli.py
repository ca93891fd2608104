"""The Singer tap command line, shared by every tapwell tap: `--config` (repeatable),
`--discover`, `--catalog` (or the older `--properties`), `--state`, `--about [--format]`.

A tap hands over four functions (about, validate, discover, sync); this module turns them into
a click command whose expected failures are one line on stderr with the tap's exit code. A tap
with its own config object (`parse`, `secrets`) or an option of its own (`actions`, e.g.
tap-rest's `--probe STREAM`) uses the same command.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import click
import orjson

from tapwell.sdk.about import print_about
from tapwell.sdk.cli_util import files_named, read_settings, run_main
from tapwell.sdk.cli_version import version_option
from tapwell.sdk.pipes import widen_pipe
from tapwell.sdk.settings import Settings
from tapwell.singer.catalog import Catalog, load_catalog, select_all
from tapwell.singer.config import load_config, secret_values
from tapwell.singer.errors import ConfigError
from tapwell.singer.state import check_state
from tapwell.singer.wire import loads


def tap_command(
    name: str,
    *,
    help: str,
    about: Callable[[], dict[str, Any]],
    discover: Callable[[Any], dict[str, Any]],
    sync: Callable[[Any, Catalog, dict[str, Any]], Any],
    validate: Callable[[Any], None] | None = None,
    config_required: bool = True,
    config_hint: str = "a JSON file with the tap's settings",
    settings: Settings[Any] | None = None,
    parse: Callable[[dict[str, Any]], Any] | None = None,
    secrets: Callable[[Any], list[str]] | None = None,
    actions: Sequence[tuple[click.Option, Callable[[Any, Any], None]]] = (),
    option_help: Mapping[str, str] | None = None,
) -> click.Command:
    """A click command running a tap's discover or sync, as the Singer spec lays out the CLI.

    With `settings` (tapwell.sdk.settings), the config is parsed once, before anything else, and
    validate, discover and sync get the parsed object instead of the dict; keys that are no
    setting are warned about, and the values of secret settings are masked in every error.
    `parse` does the same with the tap's own function, and `secrets(parsed)` then names exactly
    the values to mask (none before the config parsed).

    `actions`: options of the tap's own, each with what it does instead of discover and sync
    when given (`run(config, value)`, after the config is parsed and validated).
    `option_help`: the tap's own help text of a standard option, by its name (`discover`)."""
    helps = {
        "discover": "Print the catalog of available streams and exit.",
        "about": "Print what this tap is and its settings, and exit.",
        **(option_help or {}),
    }

    # readable=False: click's own check of a file it cannot read is a 3-line usage error;
    # reading it says why in one line (files_named, load_config)
    @click.command(name=name, help=help)
    @version_option(name, lambda: about().get("version", "unknown"))
    @click.option(
        "--config",
        "configs",
        multiple=True,
        type=click.Path(readable=False),
        help="JSON config file (repeatable; later files win).",
    )
    @click.option("--discover", is_flag=True, help=helps["discover"])
    @click.option(
        "--catalog",
        type=click.Path(readable=False),
        help="Catalog selecting streams and replication methods.",
    )
    @click.option("--properties", type=click.Path(readable=False), help="Older name for --catalog.")
    @click.option(
        "--state",
        "state_path",
        type=click.Path(readable=False),
        help="State file with bookmarks to resume from.",
    )
    @click.option("--about", "show_about", is_flag=True, help=helps["about"])
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
        show_about: bool,
        fmt: str,
        **chosen: Any,
    ) -> None:
        holder: dict[str, Any] = {}

        def body() -> None:
            named = {"config file": configs, "catalog file": catalog or properties}
            with files_named({**named, "state file": state_path}):
                sync_or_discover()

        def sync_or_discover() -> None:
            if show_about:
                print_about(about(), fmt)
                return
            if not configs and config_required:
                raise ConfigError(
                    f"--config is required ({config_hint}; `{name} --about` lists them)"
                )
            raw = load_config(configs) if configs else {}
            holder["config"] = raw
            if parse is not None:
                config = holder["parsed"] = parse(raw)
            else:
                config = read_settings(name, settings, raw) if settings is not None else raw
            if validate is not None:
                validate(config)
            for option, run in actions:
                if chosen.get(str(option.name)):
                    run(config, chosen[str(option.name)])
                    return
            if discover:
                sys.stdout.buffer.write(_dumps_indented(discover_fn(config)) + b"\n")
                return
            state = load_state(state_path, name)  # checked before any message is written
            cat_path = catalog or properties
            cat = load_catalog(cat_path) if cat_path else Catalog(select_all(discover_fn(config)))
            widen_pipe(sys.stdout)  # see tapwell.sdk.pipes
            sync(config, cat, state)
            sys.stdout.flush()

        def masked() -> list[str]:
            if secrets is None:
                return _secrets(holder.get("config", {}), settings)
            return secrets(holder["parsed"]) if "parsed" in holder else []

        sys.exit(run_main(name, body, masked))

    command.params.extend(option for option, _ in actions)  # listed after --format
    discover_fn = discover
    return command


def _secrets(config: dict[str, Any], settings: Settings[Any] | None) -> list[str]:
    """Values never to print: secret-looking keys' (tapwell.singer.config) and declared secrets'."""
    declared = settings.secret_values(config) if settings is not None else []
    return sorted({*secret_values(config), *declared}, key=len, reverse=True)


def _dumps_indented(value: Any) -> bytes:
    from tapwell.singer.wire import dumps  # Decimal bounds and integers past 64 bits stay exact

    return dumps(value, orjson.OPT_INDENT_2)


def load_state(path: str | None, tap_name: str = "tap") -> dict[str, Any]:
    """The state to resume from, checked for singer's shape (`tapwell.singer.state.check_state`).

    No `--state` or a file that does not exist yet (a first run) is an empty state, the latter
    with a note on stderr; an empty, unreadable or malformed file is a ConfigError (exit 2): a
    state that was lost or cut short must not silently restart every stream from scratch."""
    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        sys.stderr.write(
            f"{tap_name}: note: state file {path} does not exist yet; "
            "starting without bookmarks (a first run)\n"
        )
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read state file {path} ({exc.strerror})") from None
    if not raw.strip():
        raise ConfigError(
            f"state file {path} is empty; write {{}} to it to start from scratch, "
            "or restore the last good state"
        )
    try:
        data = loads(raw)  # bookmarks keep every digit
    except (ValueError, RecursionError) as exc:
        raise ConfigError(
            f"state file {path} is not valid JSON ({exc}); restore the last good state, "
            "or remove the file to sync from the start"
        ) from None
    # Accept a whole STATE message as well as its value (some runners save either).
    if isinstance(data, dict) and data.get("type") == "STATE" and "value" in data:
        data = data["value"]
    return check_state(data, f"state file {path}")


def raise_config_errors(schema: dict[str, Any], config: dict[str, Any]) -> None:
    """Validate `config` against a JSON Schema; raise one ConfigError listing every problem.
    jsonschema (about 0.1 s of CPU to import, as much as a tap's whole start-up) is imported only
    for a config that `plainly_valid` cannot vouch for."""
    if plainly_valid(schema, config):
        return
    import jsonschema

    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path)
    )
    if errors:
        problems = "; ".join(_config_problem(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError(f"invalid config: {problems}{more}")


_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment"})
_KINDS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) in (int, float, Decimal) and v == v,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def plainly_valid(schema: Any, value: Any) -> bool:
    """Whether `value` certainly meets `schema`, judged by the keywords settings use (type,
    properties, required, items, additionalProperties, enum of strings, pattern, lengths,
    bounds); False when in doubt (another keyword), and then jsonschema judges and words the
    problems."""
    if schema is True:
        return True
    if not isinstance(schema, dict):
        return False
    for key, want in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            kinds = [want] if isinstance(want, str) else want
            if not any(k in _KINDS and _KINDS[k](value) for k in kinds):
                return False
        elif key == "properties":
            if isinstance(value, dict) and not all(
                plainly_valid(sub, value[name]) for name, sub in want.items() if name in value
            ):
                return False
        elif key == "additionalProperties":
            if isinstance(value, dict) and not all(
                plainly_valid(want, item)
                for name, item in value.items()
                if name not in schema.get("properties", {})
            ):
                return False
        elif key == "required":
            if isinstance(value, dict) and not all(name in value for name in want):
                return False
        elif key == "items" and isinstance(want, dict):
            if isinstance(value, list) and not all(plainly_valid(want, item) for item in value):
                return False
        elif key == "enum":
            if not (isinstance(value, str) and value in want):
                return False
        elif key == "pattern":  # as jsonschema judges it: re.search, on strings only
            if isinstance(value, str) and re.search(want, value) is None:
                return False
        elif key in _BOUNDS:
            if not _within(key, want, value):
                return False
        else:
            return False
    return True


_BOUNDS = frozenset({"minLength", "maxLength", "minimum", "maximum"})


def _within(key: str, bound: Any, value: Any) -> bool:
    if key in ("minLength", "maxLength"):
        if not isinstance(value, str):
            return True
        return len(value) >= bound if key == "minLength" else len(value) <= bound
    if not _KINDS["number"](value):
        return True
    return bool(value >= bound if key == "minimum" else value <= bound)


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
