"""tap-postgres's settings, declared once: each key with its aliases (PipelineWise's and
MeltanoLabs' names), type, default and description. `parse` turns a config dict into the frozen
`PgConfig` every other module reads; `settings_schema` is what `--about` prints.

A config from PipelineWise (`host`, `dbname`, `filter_schemas`, `ssl`), from MeltanoLabs
(`database`, `sqlalchemy_url`, `ssl_enable`, `ssl_mode`, ...) or written for tapwell works as is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tapwell.singer.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One config key: its name, the older names that mean the same, and what it is."""

    name: str
    kind: str  # string, integer, boolean, list, number
    default: Any
    description: str
    aliases: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "string", "localhost", "Server host name or address"),
    Setting("port", "integer", 5432, "Server port"),
    Setting("user", "string", None, "User name", ("username",)),
    Setting("password", "string", "", "Password (never printed)"),
    Setting("dbname", "string", None, "Database to read", ("database",)),
    Setting(
        "sqlalchemy_url",
        "string",
        None,
        "postgresql://user:password@host:port/dbname (MeltanoLabs); explicit keys win",
    ),
    Setting(
        "filter_schemas",
        "list",
        (),
        "Schemas to discover: comma-separated or a list (default: all but system schemas)",
        ("schemas",),
    ),
    Setting(
        "sslmode",
        "string",
        None,
        "libpq sslmode (disable, require, verify-ca, verify-full)",
        ("ssl_mode",),
    ),
    Setting("ssl", "boolean", False, "Connect with TLS (sslmode require)", ("ssl_enable",)),
    Setting(
        "sslrootcert",
        "string",
        None,
        "CA certificate file",
        ("ssl_certificate_authority", "ssl_root_cert"),
    ),
    Setting(
        "sslcert", "string", None, "Client certificate file", ("ssl_client_certificate", "ssl_cert")
    ),
    Setting("sslkey", "string", None, "Client key file", ("ssl_client_private_key", "ssl_key")),
    Setting("publication", "string", "tapwell", "LOG_BASED: the publication pgoutput reads"),
    Setting(
        "replication_slot",
        "string",
        None,
        "LOG_BASED: the logical replication slot (default tapwell_<dbname>)",
        ("slot_name",),
    ),
    Setting(
        "state_every", "integer", 10_000, "Rows between STATE messages", ("export_batch_rows",)
    ),
    Setting(
        "batch_rows",
        "integer",
        5_000,
        "Rows fetched from the server-side cursor at a time",
        ("itersize",),
    ),
    Setting(
        "start_date",
        "string",
        None,
        "INCREMENTAL on a date/time key: where to start without a bookmark",
    ),
    Setting("connect_timeout", "integer", 30, "Seconds to wait for a connection"),
    Setting(
        "max_run_seconds",
        "integer",
        None,
        "LOG_BASED: stop reading changes after this many seconds (default: when the WAL position current at start is reached)",
    ),
    Setting("continuous", "boolean", False, "LOG_BASED: keep streaming changes instead of exiting"),
    Setting(
        "ack_state_file",
        "string",
        None,
        "LOG_BASED: a state file the runner rewrites after each commit; the tap confirms to the server what it says (see README)",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}
_ALIASES = {a: s.name for s in SETTINGS for a in s.aliases}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


@dataclass(frozen=True)
class PgConfig:
    """The parsed config: every value typed, every default filled."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    filter_schemas: tuple[str, ...]
    sslmode: str | None
    sslrootcert: str | None
    sslcert: str | None
    sslkey: str | None
    publication: str
    replication_slot: str
    state_every: int
    batch_rows: int
    start_date: str | None
    connect_timeout: int
    max_run_seconds: int | None
    continuous: bool
    ack_state_file: str | None

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


def settings_schema() -> dict[str, Any]:
    """The settings as JSON Schema, for `--about` and config validation."""
    types = {
        "string": ["string"],
        "integer": ["integer", "string"],
        "boolean": ["boolean", "string"],
        "list": ["string", "array"],
        "number": ["number", "string"],
    }
    props: dict[str, Any] = {}
    for s in SETTINGS:
        desc = s.description
        if s.default not in (None, (), "", False):
            desc += f" (default {s.default})"
        if s.aliases:
            desc += f"; also read as {', '.join(s.aliases)}"
        props[s.name] = {"type": types[s.kind], "description": desc}
    return {"type": "object", "properties": props}


def settings_table() -> str:
    """The README's settings table (tests/taps/postgres checks the README holds it as is)."""
    lines = ["| key | also read as | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = (
            ""
            if s.default in (None, (), "")
            else f"`{str(s.default).lower() if isinstance(s.default, bool) else s.default}`"
        )
        aliases = ", ".join(f"`{a}`" for a in s.aliases)
        lines.append(f"| `{s.name}` | {aliases} | {default} | {s.description} |")
    return "\n".join(lines) + "\n"


def parse(raw: dict[str, Any]) -> PgConfig:
    """The config dict as a `PgConfig`; a bad or missing value is a ConfigError naming the key."""
    values = _from_url(raw.get("sqlalchemy_url"))
    for key, value in raw.items():
        name = _ALIASES.get(key, key)
        if name in _BY_NAME and name != "sqlalchemy_url" and value is not None:
            if key != name and name in raw and raw[name] is not None:
                continue  # the canonical key wins over its alias
            values[name] = _typed(_BY_NAME[name], key, value)
    for name in ("user", "dbname"):
        if not values.get(name):
            raise ConfigError(
                f"config key {name}: required (the PostgreSQL {'user' if name == 'user' else 'database'}"
                " to connect as/to; sqlalchemy_url may give it too)"
            )
    out: dict[str, Any] = {}
    for f in fields(PgConfig):
        s = _BY_NAME.get(f.name)
        out[f.name] = values.get(f.name, s.default if s else None)
    for key in ("sslrootcert", "sslcert", "sslkey"):
        out[key] = _pem_file(key, out[key])
    if values.get("ssl") and not out["sslmode"]:
        out["sslmode"] = "require"
    if not out["replication_slot"]:
        out["replication_slot"] = default_slot(str(out["dbname"]))
    out["filter_schemas"] = tuple(out["filter_schemas"] or ())
    for key in ("state_every", "batch_rows", "connect_timeout"):
        if out[key] < 1:
            raise ConfigError(f"config key {key}: must be at least 1")
    return PgConfig(**out)


def default_slot(dbname: str) -> str:
    """`tapwell_<dbname>` made a valid slot name (lower case letters, digits, underscores)."""
    cleaned = "".join(c if c.isalnum() and c.isascii() else "_" for c in dbname.lower())
    return f"tapwell_{cleaned}"[:63]


def _typed(s: Setting, key: str, value: Any) -> Any:
    if s.kind == "string":
        if isinstance(value, (dict, list, bool)):
            raise ConfigError(f"config key {key}: must be a string")
        return str(value)
    if s.kind == "integer":
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key}: {value!r} is not a whole number") from None
    if s.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"config key {key}: {value!r} is not true or false")
    if s.kind == "list":
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"config key {key}: a comma-separated string or a list of names")
    return value


def _pem_file(key: str, value: str | None) -> str | None:
    """A certificate or key given as its text (MeltanoLabs allows that) goes to a private file:
    libpq takes paths only."""
    if not value or "-----BEGIN" not in value:
        return value
    import os
    import tempfile

    fd, path = tempfile.mkstemp(prefix=f"tap-postgres-{key}-", suffix=".pem")
    with os.fdopen(fd, "w") as f:  # mkstemp: readable by this user only
        f.write(value.strip() + "\n")
    return path


def _from_url(url: Any) -> dict[str, Any]:
    """Connection keys from a `postgresql://` URL (MeltanoLabs' sqlalchemy_url)."""
    if not url:
        return {}
    parts = urlsplit(str(url))
    if not parts.scheme.startswith("postgres"):
        raise ConfigError("config key sqlalchemy_url: not a postgresql:// URL")
    out: dict[str, Any] = {}
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("config key sqlalchemy_url: the port is not a number") from None
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
