"""`${VAR}` in tapwell.yml: which variables a file uses, and their values from the environment
or the project's `env_file` (read with python-dotenv's parser)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tapwell.sdk.cli_util import cannot_read
from tapwell.singer.config import SECRET_ENV_NAME
from tapwell.singer.errors import ConfigError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def env_names(value: Any) -> set[str]:
    """Every ${NAME} used anywhere in value (the variables a deployment must provide)."""
    return {m.group(1) for text in _strings(value) for m in _ENV.finditer(text)}


def env_with_defaults(value: Any) -> set[str]:
    """The ${NAME:-default} variables that never appear without a default (optional ones)."""
    found: dict[str, bool] = {}
    for text in _strings(value):
        for m in _ENV.finditer(text):
            found[m.group(1)] = found.get(m.group(1), True) and m.group(2) is not None
    return {name for name, optional in found.items() if optional}


def secret_env_values(value: Any, env_file: dict[str, str] | None = None) -> list[str]:
    """The values of the secret-named `${VAR}`s in value (PG_PASSWORD, API_TOKEN, S3_KEY: see
    SECRET_ENV_NAME), as interpolate() reads them: secrets wherever they are placed, under a key
    that does not look secret (`key:`, `conn_opts:`) or inside a longer string."""
    return env_values(value, env_file, secret_named=True)


def env_values(
    value: Any, env_file: dict[str, str] | None = None, secret_named: bool = False
) -> list[str]:
    """The values interpolate() reads for the `${VAR}`s in value (only the secret-named ones
    with `secret_named`); a variable that is not set is skipped (interpolate() says so)."""
    found = []
    for text in _strings(value):
        for m in _ENV.finditer(text):
            if secret_named and not SECRET_ENV_NAME.search(m.group(1)):
                continue
            try:
                found.append(interpolate(m.group(0), m.group(1), env_file))
            except ConfigError:
                continue
    return [v for v in found if v]


def _strings(node: Any) -> Iterator[str]:
    """Every string in node, at any depth."""
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def interpolate(value: Any, where: str = "", env_file: dict[str, str] | None = None) -> Any:
    """Replace ${NAME} (or ${NAME:-default}) in every string with the environment's value, else
    the value in tapwell.yml's `env_file` (the environment wins: a deployment overrides the file)."""
    if isinstance(value, dict):
        return {
            k: interpolate(v, f"{where}.{k}" if where else str(k), env_file)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]", env_file) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    from_file = env_file or {}

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if name in from_file:
            return from_file[name]
        if default is not None:
            return default
        also = " or add it to the env_file" if env_file is not None else ""
        raise ConfigError(
            f"{where}: environment variable {name} is not set "
            f"(export it{also}, or write ${{{name}:-default}})"
        )

    return _ENV.sub(sub, value)


def read_env_file(path: Path) -> dict[str, str]:
    """A dotenv file (`NAME=value`, `export NAME=value`, quotes, # comments) as a mapping, read
    with python-dotenv's parser. Values are taken literally (no `${X}` expansion inside the
    file: a password may hold a `$`), and a line it cannot parse is an error, never skipped."""
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"env_file: {path} does not exist (create it, or remove env_file from tapwell.yml)"
        ) from None
    except OSError as exc:
        raise cannot_read("env_file:", path, exc) from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"env_file: {path} line {binding.original.line}: not a NAME=value line "
                "(quote a value with spaces or #, e.g. NAME='a b')"
            )
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values
