"""Recover an integration's state from the destination, where the target committed it together
with the rows it covers.

Our targets need no settings: target-postgres keeps the last state in `tapwell_state` (id text,
value jsonb, updated_at) in `state_schema` (default: `default_target_schema`, else public),
target-duckdb in `_tapwell_state` (id, value JSON, updated_at) in its schema; both keyed by the
config's `state_id`. The runner reads the target's own config (host, port, user, dbname, the
DuckDB path, ...) to find it. Any other target can name the place: `state.recover: {dsn, query}`
in tapwell.yml, a PostgreSQL query returning one row whose first column is the state.
`state.recover: false` turns recovery off.

Errors say where and what, never a password: the config's secret values are masked.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapwell.config import redact
from tapwell.errors import ConfigError
from tapwell.project import Integration, Project, is_ours
from tapwell.statestore import check_state
from tapwell.wire import loads

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's, as target-postgres shortens names


def target_state_id(integration: Integration) -> str:
    """The state row our target writes for this integration: the config's `state_id`, else the
    integration's name (the runner passes it to the target, see attempt.target_config)."""
    return str(integration.target.config.get("state_id") or integration.name)


@dataclass
class Source:
    """Where an integration's state can be recovered from; `where` is safe to print."""

    kind: str  # "target-postgres", "target-duckdb" or "query"
    where: str
    automatic: bool  # checked by `tapwell run` also when a saved state exists (ours only)


def recovery_source(project: Project, integration: Integration) -> Source | None:
    config = project.state_config_for(integration.name).get("recover")
    if config is False:
        return None
    if isinstance(config, dict):
        return Source("query", "state.recover.query", False)
    if not is_ours(integration.target):
        return None
    sid = target_state_id(integration)
    tc = integration.target.config
    if integration.target.name == "target-postgres":
        schema, table = _pg_state_table(tc)
        db = tc.get("dbname") or tc.get("database") or "(sqlalchemy_url)"
        where = f'target-postgres {db}: "{schema}"."{table}" id {sid!r}'
        return Source("target-postgres", where, True)
    path = _duckdb_path(project, tc)
    schema = str(tc.get("default_target_schema") or tc.get("schema") or "main")
    where = f'target-duckdb {path}: "{schema}"._tapwell_state id {sid!r}'
    return Source("target-duckdb", where, True)


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
    secrets = _secrets(integration.target.config, config)
    try:
        if source.kind == "query":
            assert isinstance(config, dict)
            value = _query(str(config["dsn"]), str(config["query"]))
        elif source.kind == "target-postgres":
            value = _from_postgres(integration)
        else:
            value = _from_duckdb(project, integration)
    except ConfigError as exc:
        raise ConfigError(redact(f"state recovery from {source.where}: {exc}", secrets)) from None
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        try:
            value = loads(value)
        except ValueError:
            raise ConfigError(f"{source.where} holds text that is not JSON") from None
    return check_state(value, None)


def _secrets(target_config: dict[str, Any], recover: Any) -> list[str]:
    """Values never to print: the usual secret keys, and URL passwords (sqlalchemy_url)."""
    from tapwell.masking import secrets_of

    return secrets_of(target_config, recover)


# --------------------------------------------------------------------------- PostgreSQL


def _shorten(name: str) -> str:
    """target-postgres's rule for names over 63 bytes (targets/target_postgres/ddl.shorten)."""
    raw = name.encode("utf-8")
    if len(raw) <= MAX_IDENTIFIER_BYTES:
        return name
    suffix = "_" + hashlib.sha1(raw).hexdigest()[:8]
    return raw[: MAX_IDENTIFIER_BYTES - len(suffix)].decode("utf-8", errors="ignore") + suffix


def _pg_state_table(config: dict[str, Any]) -> tuple[str, str]:
    schema = config.get("state_schema") or config.get("default_target_schema") or "public"
    return _shorten(str(schema)), _shorten(str(config.get("state_table") or "tapwell_state"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_error(exc: BaseException) -> str:
    text = str(getattr(exc, "pgerror", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0].removeprefix("ERROR:").strip()


def _from_postgres(integration: Integration) -> Any:
    try:
        import psycopg2
        from target_postgres.connection import connect_params
    except ImportError:  # pragma: no cover
        raise ConfigError("needs psycopg2: pip install 'tapwell[postgres]'") from None
    config = integration.target.config
    schema, table = _pg_state_table(config)
    params = connect_params(config)  # both config dialects, sqlalchemy_url, SSL: as the target
    params["application_name"] = "tapwell state recovery"
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.Error as exc:
        raise ConfigError(f"cannot connect: {_pg_error(exc)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{_q(schema)}.{_q(table)}",))
            row = cur.fetchone()
            if row is None or row[0] is None:
                return None  # the target has committed nothing yet
            cur.execute(
                f"SELECT value::text FROM {_q(schema)}.{_q(table)} WHERE id = %s",
                (target_state_id(integration),),
            )
            found = cur.fetchone()
    except psycopg2.Error as exc:
        raise ConfigError(f"cannot read the state: {_pg_error(exc)}") from None
    finally:
        conn.close()
    return found[0] if found else None


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


# --------------------------------------------------------------------------- DuckDB


def _duckdb_path(project: Project, config: dict[str, Any]) -> Path:
    """The file target-duckdb opens: its config's path, relative to the project folder (the
    runner starts connectors there)."""
    raw = str(
        config.get("path") or config.get("database") or config.get("filepath") or "warehouse.duckdb"
    )
    return project.root / os.path.expanduser(raw)


def _from_duckdb(project: Project, integration: Integration) -> Any:
    try:
        import duckdb
    except ImportError:  # pragma: no cover
        raise ConfigError("needs duckdb: pip install 'tapwell[duckdb]'") from None
    config = integration.target.config
    path = _duckdb_path(project, config)
    if not path.exists():
        return None  # nothing loaded yet
    schema = str(config.get("default_target_schema") or config.get("schema") or "main")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(f"cannot open {path} read-only: {str(exc).splitlines()[0]}") from None
    try:
        catalog = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = '_tapwell_state'",
            [catalog, schema],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = con.execute(
            f"SELECT value::VARCHAR FROM {_q(catalog)}.{_q(schema)}._tapwell_state "
            "WHERE id = ? ORDER BY updated_at DESC LIMIT 1",
            [target_state_id(integration)],
        ).fetchone()
    except duckdb.Error as exc:
        raise ConfigError(f"cannot read the state: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return row[0] if row else None
