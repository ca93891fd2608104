"""`--about` for every tapwell executable: the JSON (singer-sdk's shape: name, version,
description, capabilities, settings as a JSON Schema object) and its Markdown rendering, whose
settings table is what each connector README carries between its settings markers
(tapwell.sdk.readme_settings rewrites them; `make docs`)."""

from __future__ import annotations

import sys
from typing import Any

import orjson

from tapwell.singer.schema import property_types

TABLE_HEAD = ("| Setting | Type | Required | Default | Description |", "|:--|:--|:--|:--|:--|")
NO_SETTINGS = "This connector has no settings."


def print_about(info: dict[str, Any], fmt: str) -> None:
    """Write `info` to stdout as JSON (`fmt` "json") or as the Markdown page ("markdown")."""
    if fmt == "json":
        sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(about_markdown(info))


def about_markdown(info: dict[str, Any]) -> str:
    """The Markdown page of `--about --format markdown`: what it is, then its settings table."""
    lines = [
        f"# `{info['name']}`",
        "",
        info.get("description") or "",
        "",
        f"Version: {info.get('version', 'unknown')}",
        "",
        "Capabilities: " + ", ".join(f"`{c}`" for c in info.get("capabilities") or []),
        "",
        "## Settings",
        "",
        *settings_table(info.get("settings") or {}),
    ]
    return "\n".join(lines) + "\n"


def settings_table(schema: dict[str, Any]) -> list[str]:
    """The lines of the settings table of a JSON Schema object (one row per top-level property),
    or one sentence when there are none."""
    props = schema.get("properties") or {}
    if not props:
        return [NO_SETTINGS]
    required = set(schema.get("required") or [])
    rows = [
        _row(name, prop, name in required) for name, prop in props.items() if isinstance(prop, dict)
    ]
    return [*TABLE_HEAD, *rows]


def _row(name: str, prop: dict[str, Any], required: bool) -> str:
    kinds = "/".join(k for k in property_types(prop) if k != "null") or "any"
    if prop.get("secret") or prop.get("writeOnly"):
        kinds += ", secret"
    setting = f"`{name}`"
    if prop.get("aliases"):
        setting += " (also " + ", ".join(f"`{a}`" for a in prop["aliases"]) + ")"
    description = str(prop.get("description", ""))
    if prop.get("enum"):
        one_of = ", ".join(f"`{_json(v)}`" for v in prop["enum"])
        description = f"{description}; one of {one_of}" if description else f"One of {one_of}"
    default = f"`{_json(prop['default'])}`" if "default" in prop else ""
    cells = (setting, kinds, "yes" if required else "no", default, description)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _json(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _cell(text: Any) -> str:
    """One table cell: one line, `|` escaped, and `<` escaped outside code spans (a README would
    otherwise render `<stream>` as an unknown HTML tag, that is, as nothing)."""
    parts = " ".join(str(text).split()).replace("|", "\\|").split("`")
    return "`".join(p if i % 2 else p.replace("<", "\\<") for i, p in enumerate(parts))
