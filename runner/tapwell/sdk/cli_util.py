"""What every tapwell executable does with an expected failure: one line on stderr, an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tapwell.sdk.settings import Settings
from tapwell.singer.config import cannot_read, redact
from tapwell.singer.errors import ConfigError, TapwellError

# The driver a connector imports when it is used, and the extra of tapwell that installs it
# (pyproject.toml's optional-dependencies): `pip install tapwell` alone has none of them.
DRIVER_EXTRAS = {
    "duckdb": "duckdb",
    "pyarrow": "duckdb",
    "pytz": "duckdb",
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "MySQLdb": "mysql",
    "pymysqlreplication": "mysql",
    "requests": "rest",
    "tenacity": "rest",
    "jsonpath": "rest",
    "simpleeval": "mapper",
}


def run_main(
    name: str,
    body: Callable[[], Any],
    secrets: Sequence[str] | Callable[[], Sequence[str]] = (),
    pipe_line: bool = True,
) -> int:
    """Run `body`; a TapwellError becomes `name: error: message` (secrets masked; each line of a
    message holding several problems gets the prefix) and its exit code. A broken pipe downstream
    exits with 141, as a shell pipeline would: a connector says so in one line (why a tap stopped
    mid-stream), `pipe_line=False` says nothing (`tapwell runs | head`, as `git log | head`)."""
    try:
        try:
            body()
        except ModuleNotFoundError as exc:
            raise missing_driver(exc) from None
        return 0
    except TapwellError as exc:
        hidden = secrets() if callable(secrets) else secrets
        for line in redact(str(exc), hidden).splitlines() or [""]:  # a problem a line
            sys.stderr.write(f"{name}: error: {line}\n")
        sys.stderr.flush()
        return exc.exit_code
    except BrokenPipeError:
        if pipe_line:
            sys.stderr.write(f"{name}: error: the reading end of the pipe closed\n")
        return 141
    except KeyboardInterrupt:
        sys.stderr.write(f"{name}: interrupted\n")
        return 130


@contextmanager
def files_named(named: Mapping[str, str | Path | Sequence[str | Path] | None]) -> Iterator[None]:
    """Inside, an OSError reading one of the files the user named on the command line
    (`{"config file": paths, "catalog file": path}`) is `cannot_read`'s line, not a traceback;
    any other OSError (a database's own file, a full disk) passes as it is."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise
        failed = Path(exc.filename)
        for what, given in named.items():
            paths = [given] if isinstance(given, (str, Path)) else list(given or ())
            if any(Path(p) == failed for p in paths):
                raise cannot_read(what, exc.filename, exc) from None
        raise


def missing_driver(exc: ModuleNotFoundError) -> ConfigError:
    """A connector's driver that is not installed is a setup problem (exit 2, never retried) named
    with the command that installs it, not a traceback; any other missing module is re-raised."""
    extra = DRIVER_EXTRAS.get((exc.name or "").split(".")[0])
    if extra is None:
        raise exc
    return ConfigError(
        f"the Python module {exc.name} is not installed: install tapwell's "
        f"'{extra}' extra (from a clone: .venv/bin/pip install --constraint constraints.txt "
        f"-e '.[{extra}]')"
    )


def read_settings(name: str, settings: Settings[Any], config: dict[str, Any]) -> Any:
    """The connector's parsed config object; each key that is no setting is a warning on stderr
    (configs written for other connectors carry such keys), a bad value a SettingsError."""
    for warning in settings.warnings(config):
        sys.stderr.write(f"{name}: warning: {warning}\n")
    return settings.parse(config)
