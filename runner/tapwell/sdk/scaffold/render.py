"""Render a template folder into a new repo: `{{name}}`, `{{package}}` and the tapwell it depends
on (`{{tapwell_requirement}}`, `{{tapwell_origin}}`) in file contents, `__package__` in paths; a `.tmpl` suffix is dropped, `gitignore` becomes `.gitignore`.

Templates end in `.tmpl` so that neither pytest nor ruff mistakes them for tapwell's own code.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from tapwell.sdk.scaffold.source import tapwell_source
from tapwell.singer.errors import ConfigError

KINDS = ("tap", "target")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def package_name(name: str) -> str:
    return name.replace("-", "_")


def check_name(kind: str, name: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"cannot make a {kind!r}; choose one of {', '.join(KINDS)}")
    if not _NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a usable name: lowercase letters, digits and single dashes, "
            f"starting with a letter (e.g. {kind}-example)"
        )
    if not name.startswith(f"{kind}-"):
        raise ConfigError(f"Singer {kind}s are named {kind}-SOMETHING; try {kind}-{name}")


def scaffold(kind: str, name: str, parent: str | Path = ".") -> Path:
    """Make `parent/name` from the `kind` templates and return its path."""
    check_name(kind, name)
    dest = Path(parent) / name
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} already exists and is not empty; choose another --dir or name")
    source = tapwell_source()
    values = {
        "name": name,
        "package": package_name(name),
        "tapwell_requirement": source.requirement,
        "tapwell_origin": source.origin,
    }
    root = resources.files("tapwell.sdk.scaffold").joinpath("templates", kind)
    written = list(_render(root, dest, values))
    if not written:
        raise ConfigError(
            f"tapwell's {kind} templates are missing from this install (reinstall tapwell)"
        )
    return dest


def _render(folder: Traversable, dest: Path, values: dict[str, str]) -> list[Path]:
    out: list[Path] = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__":
            continue
        target_name = item.name.replace("__package__", values["package"]).removesuffix(".tmpl")
        if target_name == "gitignore":
            target_name = ".gitignore"
        target = dest / target_name
        if item.is_dir():
            out += _render(item, target, values)
            continue
        text = item.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        out.append(target)
    return out
