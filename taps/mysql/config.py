"""tap-mysql's settings, declared once (tapwell.sdk.settings): what connection, discovery and
sync read, what `--about` prints and the README's table lists.

The config of singer-io's and PipelineWise's tap-mysql works unchanged: flags may be the strings
of older configs ("true", "1"), numbers may be numeric strings, `filter_dbs` a comma-separated
string, and `export_batch_rows` / `verify_mode` are read as `state_every` / `check_hostname`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tapwell.sdk.sql_tap as sql_tap
from tapwell.sdk.settings import Settings, setting, whole_number
from tapwell.sdk.sql_tap import truthy
from tapwell.sdk.tap_batch import BatchConfig
from tapwell.singer.errors import ConfigError

__all__ = ["SETTINGS", "MySQLConfig", "truthy"]


def _statements(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config key {key}: a list of SQL statements (strings)")
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class MySQLConfig:
    host: str = setting(required=True, help="Server host name or address")
    port: int = setting(3306, type=sql_tap.WHOLE, parse=sql_tap.port, help="Server port")
    user: str = setting(required=True, help="User name")
    password: str = sql_tap.password_setting()
    database: str = setting("", help="Database to connect to (optional)", show_default=False)
    filter_dbs: tuple[str, ...] = sql_tap.filter_setting("databases")
    ssl: bool = setting(
        False,
        type=sql_tap.FLAG,
        parse=sql_tap.loose_flag,
        help='Connect with TLS, or refuse a server that offers none ("true" strings accepted)',
    )
    ssl_ca: str = setting("", help="CA certificate file", show_default=False)
    ssl_cert: str = setting("", help="Client certificate file", show_default=False)
    ssl_key: str = setting("", help="Client key file", show_default=False)
    check_hostname: bool = setting(
        False,
        type=sql_tap.FLAG,
        aliases=("verify_mode",),
        parse=sql_tap.loose_flag,
        help="With ssl: verify the server certificate's host name",
    )
    session_sqls: tuple[str, ...] | None = setting(
        None,
        type="array",
        parse=_statements,
        schema={"items": {"type": "string"}},
        help="SQL run on connect, replacing the defaults (PipelineWise's wait, net and lock "
        "timeouts); a failing one is a warning. time_zone is then always set to +00:00",
    )
    server_id: int | None = setting(
        None,
        type=sql_tap.WHOLE,
        parse=whole_number(1),
        help="Replica id used to read the binlog (default: random in 5400..2^31)",
    )
    use_gtid: bool = setting(
        False,
        type=sql_tap.FLAG,
        parse=sql_tap.loose_flag,
        help="LOG_BASED: resume from the bookmarked GTID (MariaDB only, engine: mariadb)",
    )
    engine: str = setting(
        "",
        choices=("mysql", "mariadb"),
        show_default=False,
        help="Server flavour (default: detected)",
    )
    zero_dates: str = setting(
        "null",
        choices=("null", "error"),
        help="Zero and invalid dates (0000-00-00, 2022-11-00): null (counted in one warning per "
        "stream) or error",
    )
    state_every: int = sql_tap.state_every_setting("Rows (or binlog rows)")
    batch_rows: int = sql_tap.batch_rows_setting()
    start_date: str = sql_tap.start_date_setting("date or datetime")
    batch_config: BatchConfig | None = sql_tap.batch_config_setting(
        "FULL_TABLE and initial LOG_BASED rows", "PostgreSQL's COPY csv dialect, tapwell's own"
    )
    connect_timeout: int = sql_tap.connect_timeout_setting()

    @property
    def where(self) -> str:
        """host:port, as errors name the server."""
        return f"{self.host}:{self.port}"


SETTINGS = Settings(MySQLConfig)
