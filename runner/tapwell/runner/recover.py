"""Recover an integration's state from the destination, where the target committed it together
with the rows it covers.

A target that commits its state there says so with `read-state` in its `--about` capabilities
(tapwell's target-postgres and target-duckdb, and any target that adopts the flag); the runner
then runs `TARGET --config c.json --read-state` (the same command and config a run uses:
tapwell.runner.attempt.resolve_command, target_config) and reads the one JSON line it prints (`{}`:
none). Each target reads its own state table with its own naming rules; none of them is copied
here. The answer of `--about` is cached in .tapwell/capabilities.json, keyed by the command and
its files' modification times. A target that keeps its state in a local file names the setting
that holds the file's path in `--about` (`read_state_file`); while that file does not exist the
destination holds no state, and the target is not started to say so (the first run of `make demo`).
A target without the capability can still name the place:
`state.recover: {dsn, query}` in tapwell.yml, a PostgreSQL query returning one row whose first
column is the state. `state.recover: false` turns recovery off.

Errors say where and what, never a password: the config's secret values are masked.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from tapwell.runner.project import Connector, Integration, Project
from tapwell.runner.statestore import check_state
from tapwell.singer.config import redact
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import loads

READ_STATE_TIMEOUT = 300  # seconds; a target's own connect_timeout applies inside it


@dataclass
class Source:
    """Where an integration's state can be recovered from; `where` is safe to print."""

    kind: str  # "read-state" (the target's own flag) or "query"
    where: str
    automatic: bool  # checked by `tapwell run` also when a saved state exists (targets only)


def recovery_source(project: Project, integration: Integration) -> Source | None:
    config = project.state_config_for(integration.name).get("recover")
    if config is False:
        return None
    if isinstance(config, dict):
        return Source("query", "state.recover.query", False)
    if "read-state" not in capabilities(project, integration.target):
        return None
    return Source("read-state", integration.target.name, True)


def capabilities(project: Project, target: Connector) -> list[str]:
    """The capabilities the target's `--about` lists; [] when it cannot say (not installed, no
    --about, not JSON). Its --about is cached per command and modification times of its files
    (tapwell.runner.fast_lane.about, which the fast lane's negotiation reads too)."""
    from tapwell.runner.attempt import resolve_command
    from tapwell.runner.fast_lane import about

    try:
        argv = resolve_command(target, project.root)
    except ConfigError:
        return []  # the run itself says what is missing
    found = about(project.root, argv).get("capabilities")
    return [str(c) for c in found] if isinstance(found, list) else []


def recover_state(project: Project, integration: Integration) -> dict[str, Any] | None:
    """The state the destination holds for the integration, or None when it holds none.
    ConfigError when recovery is not possible (not configured, unreachable, malformed)."""
    source = recovery_source(project, integration)
    if source is None:
        raise ConfigError(
            f"integration {integration.name!r}: its target ({integration.target.name}) keeps no "
            "state we can read; set state.recover: {dsn, query} to say where it is"
        )
    config = project.state_config_for(integration.name).get("recover")
    secrets = _secrets(integration.target, config)
    try:
        if source.kind == "query":
            assert isinstance(config, dict)
            try:
                value = _query(str(config["dsn"]), str(config["query"]))
            except ConfigError as exc:
                raise ConfigError(f": {exc}") from None
        else:
            value = _read_state(project, integration)
    except ConfigError as exc:  # its text goes on from the source's name
        raise ConfigError(redact(f"state recovery from {source.where}{exc}", secrets)) from None
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        try:
            value = loads(value)
        except ValueError:
            raise ConfigError(f"{source.where} holds text that is not JSON") from None
    if value == {}:
        return None  # `--read-state` prints {} when nothing is committed
    return check_state(value, None)


def _read_state(project: Project, integration: Integration) -> str | None:
    """`TARGET --config c.json --read-state`, as a run starts the target; its JSON line. A
    failure is ConfigError(" DETAIL" or ": LINE"), appended to the target's name by the caller."""
    from tapwell.runner.attempt import resolve_command, target_config, write_private

    name = integration.target.name
    argv = resolve_command(integration.target, project.root, integration.name)
    if _no_state_file(project, argv, target_config(integration)):
        return None
    with tempfile.TemporaryDirectory(prefix="tapwell-read-state-") as tmp:
        path = write_private(tmp, "target.json", target_config(integration))
        try:
            done = subprocess.run(
                [*argv, "--config", path, "--read-state"],
                capture_output=True,
                timeout=READ_STATE_TIMEOUT,
                cwd=project.root,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f": {name} --read-state gave no answer in {READ_STATE_TIMEOUT}s"
            ) from None
        except OSError as exc:
            raise ConfigError(f": cannot start {name}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        line = lines[-1].strip() if lines else f"exit code {done.returncode}"
        marker = ": error: "
        if marker in line:  # `NAME: error: WHERE: WHAT`, where the target says where
            raise ConfigError(" " + line.split(marker, 1)[1])
        raise ConfigError(f": {line}")
    out = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if not out:
        raise ConfigError(f": {name} --read-state printed nothing")
    return out[-1]


def _no_state_file(project: Project, argv: list[str], config: dict[str, Any]) -> bool:
    """True when the target's `--about` names the setting holding the file its state is kept in
    (`read_state_file`) and that file does not exist: it then has committed nothing, by its own
    rule, and need not be started to say `{}`. The value is the setting's, one of its aliases' or
    its default; with two of them set, or a value that is no plain path, the target is asked."""
    from tapwell.runner.fast_lane import about

    info = about(project.root, argv)
    key = info.get("read_state_file")
    settings = info.get("settings")
    props = settings.get("properties") if isinstance(settings, dict) else None
    spec = props.get(key) if isinstance(key, str) and isinstance(props, dict) else None
    if not isinstance(spec, dict):
        return False
    aliases = spec.get("aliases")
    names = [key, *(aliases if isinstance(aliases, list) else [])]
    given = [config[n] for n in names if n in config]
    if len(given) > 1:
        return False
    value = given[0] if given else spec.get("default")
    if not isinstance(value, str) or not value or value.startswith(("~", ":")) or "$" in value:
        return False
    return not (project.root / value).exists()


def _secrets(target: Connector, recover: Any) -> list[str]:
    """Values never to print: the usual secret keys, and URL passwords (sqlalchemy_url)."""
    from tapwell.runner.masking import secrets_of

    return secrets_of(target, recover)


# --------------------------------------------------------------------------- state.recover query


def _pg_error(exc: BaseException) -> str:
    text = str(getattr(exc, "pgerror", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0].removeprefix("ERROR:").strip()


def _query(dsn: str, query: str) -> Any:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover
        raise ConfigError("state.recover needs psycopg2: pip install 'tapwell[postgres]'") from None
    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.Error as exc:
        raise ConfigError(f"cannot connect: {_pg_error(exc)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            row = cur.fetchone()
    except psycopg2.Error as exc:
        raise ConfigError(f"state.recover.query failed: {_pg_error(exc)}") from None
    finally:
        conn.close()
    return row[0] if row else None
