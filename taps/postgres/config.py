"""tap-postgres's settings, declared once (tapwell.sdk.settings): what connection, discovery and
sync read, what `--about` prints and the README's table lists.

A config from PipelineWise (`host`, `dbname`, `filter_schemas`, `ssl: "true"`), from MeltanoLabs
(`database`, `sqlalchemy_url`, `ssl_enable`, `ssl_mode`, certificates as PEM text, ...) or
written for tapwell works as is; their other keys are accepted without a warning.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import tapwell.sdk.sql_tap as sql_tap
from tapwell.sdk.settings import Settings, setting, whole_number
from tapwell.sdk.tap_batch import BatchConfig
from tapwell.singer.errors import ConfigError

__all__ = ["SETTINGS", "PgConfig", "default_slot", "parse"]

# Keys of PipelineWise's and MeltanoLabs' tap-postgres that mean nothing here.
OTHER_TAPS = (
    "tap_id", "default_replication_method", "logical_poll_total_seconds", "break_at_end_lsn",
    "debug_lsn", "use_secondary", "secondary_host", "secondary_port", "wal2json_message_format",
    "tap_stream_id", "limit", "stream_maps", "stream_map_config", "flattening_enabled",
    "flattening_max_depth", "dates_as_string", "json_as_object", "ssl_client_certificate_enable",
    "ssl_storage_directory", "ssh_tunnel", "replication_slot_name",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class PgConfig:
    host: str = setting(
        "", show_default=False, help="Server host name or address (default localhost)"
    )
    port: int = setting(
        0,
        type=sql_tap.WHOLE,
        parse=sql_tap.port,
        show_default=False,
        help="Server port (default 5432)",
    )
    user: str = setting(
        "",
        aliases=("username",),
        show_default=False,
        help="User name (required, or in sqlalchemy_url)",
    )
    password: str = sql_tap.password_setting()
    dbname: str = setting(
        "",
        aliases=("database",),
        show_default=False,
        help="Database to read (required, or in sqlalchemy_url)",
    )
    sqlalchemy_url: str = setting(
        "",
        secret=True,
        show_default=False,
        help="postgresql://user:password@host:port/dbname?sslmode=... (MeltanoLabs); the keys above win",
    )
    filter_schemas: tuple[str, ...] = sql_tap.filter_setting("schemas", aliases=("schemas",))
    sslmode: str = setting(
        "",
        aliases=("ssl_mode",),
        show_default=False,
        help="libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full",
    )
    ssl: bool = setting(
        False,
        type=sql_tap.FLAG,
        aliases=("ssl_enable",),
        parse=sql_tap.flag,
        help='Connect with TLS (sslmode require unless sslmode says more; "true" strings accepted)',
    )
    sslrootcert: str = setting(
        "",
        aliases=("ssl_certificate_authority", "ssl_root_cert"),
        show_default=False,
        help="CA certificate: a file, or the PEM text itself",
    )
    sslcert: str = setting(
        "",
        aliases=("ssl_client_certificate", "ssl_cert"),
        show_default=False,
        help="Client certificate: a file, or the PEM text itself",
    )
    sslkey: str = setting(
        "",
        aliases=("ssl_client_private_key", "ssl_key"),
        secret=True,
        show_default=False,
        help="Client key: a file, or the PEM text itself; never printed",
    )
    publication: str = setting("tapwell", help="LOG_BASED: the publication pgoutput reads")
    replication_slot: str = setting(
        "",
        aliases=("slot_name",),
        show_default=False,
        help="LOG_BASED: the logical replication slot, one per integration (default tapwell_<dbname>)",
    )
    state_every: int = sql_tap.state_every_setting()
    batch_config: BatchConfig | None = sql_tap.batch_config_setting(
        "FULL_TABLE and initial LOG_BASED rows of tables with a key",
        "PostgreSQL's COPY csv dialect",
    )
    batch_rows: int = sql_tap.batch_rows_setting(aliases=("itersize",))
    start_date: str = sql_tap.start_date_setting("date or timestamp")
    connect_timeout: int = sql_tap.connect_timeout_setting()
    max_run_seconds: int | None = setting(
        None,
        type=sql_tap.WHOLE,
        parse=whole_number(1),
        help="LOG_BASED: stop reading changes after this many seconds (default: at the WAL position "
        "current when the sync started)",
    )
    continuous: bool = setting(
        False,
        type=sql_tap.FLAG,
        parse=sql_tap.flag,
        help="LOG_BASED: keep streaming changes, never exit",
    )
    ack_state_file: str = setting(
        "", show_default=False,
        help="LOG_BASED: the state file the runner rewrites after each commit (tapwell run sets "
        "TAPWELL_SAVED_STATE); the tap confirms to the server only what it holds",
    )  # fmt: skip

    def __post_init__(self) -> None:
        """Connection keys from `sqlalchemy_url` where the config has none; defaults that depend
        on other keys; PEM text to private files (libpq takes paths)."""
        fill = _from_url(self.sqlalchemy_url)
        for key, value in fill.items():
            if not getattr(self, key):
                object.__setattr__(self, key, value)
        for key in ("user", "dbname"):
            if not getattr(self, key):
                raise ConfigError(
                    f"config key {key}: required (the PostgreSQL {'user' if key == 'user' else 'database'}; "
                    "sqlalchemy_url may give it)"
                )
        object.__setattr__(self, "host", self.host or "localhost")
        object.__setattr__(self, "port", self.port or 5432)
        if self.ssl and not self.sslmode:
            object.__setattr__(self, "sslmode", "require")
        if not self.replication_slot:
            object.__setattr__(self, "replication_slot", default_slot(self.dbname))
        for key in ("sslrootcert", "sslcert", "sslkey"):
            object.__setattr__(self, key, _pem_file(key, getattr(self, key)))

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.dbname}"

    def dsn_args(self) -> dict[str, Any]:
        """psycopg2.connect keyword arguments."""
        args: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": self.connect_timeout,
            "application_name": "tap-postgres",
        }
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            if getattr(self, key):
                args[key] = getattr(self, key)
        return args


SETTINGS = Settings(PgConfig, ignored=OTHER_TAPS)


def parse(raw: dict[str, Any]) -> PgConfig:
    """The config object (SETTINGS.parse): every problem a ConfigError naming the key."""
    return SETTINGS.parse(raw)


def default_slot(dbname: str) -> str:
    """`tapwell_<dbname>` made a valid slot name (lower case letters, digits, underscores)."""
    cleaned = "".join(c if c.isalnum() and c.isascii() else "_" for c in dbname.lower())
    return f"tapwell_{cleaned}"[:63]


def _pem_file(key: str, value: str) -> str:
    """A certificate or key given as its text goes to a private file: libpq takes paths only."""
    if not value or "-----BEGIN" not in value:
        return value
    fd, path = tempfile.mkstemp(prefix=f"tap-postgres-{key}-", suffix=".pem")
    with os.fdopen(fd, "w") as f:  # mkstemp: readable by this user only
        f.write(value.strip() + "\n")
    return path


def _from_url(url: str) -> dict[str, Any]:
    """Connection keys from a `postgresql://` URL (MeltanoLabs' sqlalchemy_url)."""
    if not url:
        return {}
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ConfigError("config key sqlalchemy_url: not a postgresql:// URL")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("config key sqlalchemy_url: the port is not a number") from None
    out: dict[str, Any] = {}
    if parts.hostname:
        out["host"] = parts.hostname
    if port:
        out["port"] = port
    if parts.username:
        out["user"] = unquote(parts.username)
    if parts.password:
        out["password"] = unquote(parts.password)
    if parts.path.strip("/"):
        out["dbname"] = unquote(parts.path.strip("/"))
    query = parse_qs(parts.query)
    if query.get("sslmode"):
        out["sslmode"] = query["sslmode"][0]
    return out
