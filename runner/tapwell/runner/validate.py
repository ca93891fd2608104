"""`tapwell discover` and `tapwell validate`: the catalog an integration runs with, and the
check that the source still matches it.

validate runs discovery again and compares it with the committed catalogs/NAME.json, stream by
stream: columns added (fine: the target evolves), columns removed, types changed and keys
changed (breaking: a load would fail or lose data). A nightly `tapwell validate` catches an
upstream change before the next load fails.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import orjson

from tapwell.runner.attempt import resolve_command, write_private
from tapwell.runner.masking import secrets_of
from tapwell.runner.processes import Sink
from tapwell.runner.project import Integration, Project
from tapwell.runner.retry import NOT_RUNNABLE_EXITS
from tapwell.runner.selection import apply_selection
from tapwell.runner.statestore import atomic_write
from tapwell.runner.terminal import TerminalFilter
from tapwell.singer.catalog import Catalog, StreamEntry, load_catalog
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError, DiscoveryError, TapwellError


class BreakingChange(TapwellError):
    """The source changed in a way the committed catalog cannot load."""

    exit_code = 1


class SourceUnreachable(DiscoveryError):
    """The tap could not reach its source (it exited 75): try again later."""

    retriable = True
    exit_code = 75


def discovery_failure(tap_code: int, text: str) -> TapwellError:
    """The tap's exit code kept as the documented one: 2 (configuration or credentials: fix
    them) and 75 (unreachable: try again) pass through, so a nightly `tapwell validate` exits
    1 only for what is not one of those; a breaking change is told apart by its own lines."""
    if tap_code in (2, *NOT_RUNNABLE_EXITS):  # 126, 127: a wrapper's program not runnable
        return ConfigError(text)
    if tap_code == 75:
        return SourceUnreachable(text)
    return DiscoveryError(text)


def run_discovery(
    project: Project, integration: Integration, log: Sink | None = None
) -> dict[str, Any]:
    """The tap's `--discover` output. Its warning and error lines go to `log` as `tapwell run`
    shows them (`[tap-csv] tap-csv: warning: ...`, secrets masked), also when it succeeds: a
    mistyped setting is said before the catalog is written, not first in a run; the last line of
    a tap that fails is in the error instead."""
    argv = resolve_command(integration.tap, project.root, integration.name)
    name = integration.tap.name
    with tempfile.TemporaryDirectory(prefix="tapwell-discover-") as tmp:
        os.chmod(tmp, 0o700)
        cmd = [
            *argv,
            "--config",
            write_private(tmp, "tap.json", integration.tap.config),
            "--discover",
        ]
        try:
            proc = subprocess.run(cmd, cwd=project.root, capture_output=True)
        except OSError as exc:  # what check_runnable could not foresee (the file changed since)
            raise ConfigError(f"{name}: cannot start {argv[0]}: {exc.strerror}") from None
    secrets = secrets_of(integration.tap)
    lines = [
        redact(line, secrets)
        for line in proc.stderr.decode("utf-8", "replace").strip().splitlines()
    ]
    if proc.returncode != 0:
        message = lines.pop() if lines else "(no output)"
        _show(lines, name, log)
        text = f"{name} --discover failed (exit {proc.returncode}): {message}"
        raise discovery_failure(proc.returncode, text)
    _show(lines, name, log)
    try:
        catalog = orjson.loads(proc.stdout)
    except orjson.JSONDecodeError as exc:
        raise DiscoveryError(
            f"{integration.tap.name} --discover printed something that is not a JSON catalog ({exc})"
        ) from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise DiscoveryError(f"{integration.tap.name} --discover printed no 'streams' array")
    return catalog


def _show(lines: list[str], name: str, log: Sink | None) -> None:
    """The connector's lines a person needs (tapwell.runner.terminal: warnings and errors, no
    METRIC lines, no traceback frames), each `[name] line`."""
    if log is not None:
        terminal = TerminalFilter(log)
        for line in lines:
            terminal(f"[{name}] {line}")


def discover(project: Project, integration: Integration, log: Sink | None = None) -> dict[str, Any]:
    """Discover, apply tapwell.yml's selection and stream settings, write catalogs/NAME.json;
    the tap's warnings go to `log` (run_discovery)."""
    catalog = apply_selection(
        run_discovery(project, integration, log),
        integration.select,
        integration.stream_overrides,
    )
    atomic_write(
        project.catalog_path(integration.name),
        orjson.dumps(catalog, option=orjson.OPT_INDENT_2) + b"\n",
        mode=0o644,
    )
    return catalog


@dataclass(frozen=True)
class Change:
    stream: str
    what: str
    breaking: bool

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'ok      '}  {self.stream}: {self.what}"


def _type(prop: dict[str, Any]) -> str:
    types = prop.get("type") or []
    types = [types] if isinstance(types, str) else list(types)
    if not types and "anyOf" in prop:
        types = sorted(
            {
                t
                for p in prop["anyOf"]
                for t in (
                    [p.get("type")] if isinstance(p.get("type"), str) else p.get("type") or []
                )
            }
        )
    kinds = sorted(t for t in types if t != "null")
    text = "|".join(kinds) or "any"
    if prop.get("format"):
        text += f" ({prop['format']})"
    return text


def diff_stream(old: StreamEntry, new: StreamEntry, integration: str = "NAME") -> list[Change]:
    """The changes of one selected stream. `new` has tapwell.yml's selection applied, so an
    added column says whether `tapwell discover` would load it: a run loads the committed
    catalog's columns only, and "ok" alone reads as "it will arrive"."""
    name = old.tap_stream_id
    out: list[Change] = []
    before = old.schema.get("properties") or {}
    after = new.schema.get("properties") or {}
    will_select = set(new.selected_properties()) if new.is_selected else set()
    for col in after.keys() - before.keys():
        if col in will_select:
            note = f"; not loaded until `tapwell discover {integration}` adds it to the catalog"
        else:
            note = " (not selected: tapwell.yml's selection leaves it out)"
        out.append(Change(name, f"column added: {col} ({_type(after[col])}){note}", False))
    loaded = set(old.selected_properties())  # a column the integration does not load breaks nothing
    for col in before.keys() - after.keys():
        out.append(
            Change(
                name,
                f"column removed: {col}" + ("" if col in loaded else " (not selected)"),
                col in loaded,
            )
        )
    for col in before.keys() & after.keys():
        a, b = _type(before[col]), _type(after[col])
        if a != b:
            out.append(Change(name, f"type changed: {col} {a} -> {b}", col in loaded))
    if old.key_properties != new.key_properties:
        out.append(Change(name, f"key changed: {old.key_properties} -> {new.key_properties}", True))
    return sorted(out, key=lambda c: (not c.breaking, c.what))


def diff_catalogs(
    committed: Catalog, discovered: Catalog, integration: str = "NAME"
) -> list[Change]:
    """Every difference, selected streams only (a change in a stream nobody loads breaks nothing).
    `discovered` has the selection applied, as `tapwell discover` would write it."""
    changes: list[Change] = []
    for old in committed:
        new = discovered.get(old.tap_stream_id)
        if new is None:
            changes.append(Change(old.tap_stream_id, "stream removed", old.is_selected))
        elif old.is_selected:
            changes.extend(diff_stream(old, new, integration))
    for new in discovered:
        if committed.get(new.tap_stream_id) is None:
            what = (
                f"stream added; not loaded until `tapwell discover {integration}` adds it to the catalog"
                if new.is_selected
                else "stream added (not selected)"
            )
            changes.append(Change(new.tap_stream_id, what, False))
    return changes


def validate(project: Project, integration: Integration, log: Sink | None = None) -> list[Change]:
    """The changes between the committed catalog and a discovery run now; the tap's warnings
    go to `log` (run_discovery)."""
    path = project.catalog_path(integration.name)
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: run `tapwell discover {integration.name}` first "
            "(and commit the catalog)"
        )
    committed = load_catalog(path)
    discovered = apply_selection(
        run_discovery(project, integration, log),
        integration.select,
        integration.stream_overrides,
        strict=False,
    )
    return diff_catalogs(committed, Catalog(discovered), integration.name)
