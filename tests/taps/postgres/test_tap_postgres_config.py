"""tap-postgres's one config declaration: PipelineWise's and MeltanoLabs' keys, defaults, and the
README table generated from it (no server needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tapwell.singer.errors import ConfigError
from tapwell.taps.postgres.config import SETTINGS, parse


def test_pipelinewise_config() -> None:
    cfg = parse(
        {"host": "db", "port": "5433", "user": "u", "password": "p", "dbname": "Shop-DB",
         "filter_schemas": "public, sales", "ssl": "true", "tap_id": "x", "default_replication_method": "LOG_BASED"}
    )  # fmt: skip
    assert (cfg.host, cfg.port, cfg.user, cfg.dbname) == ("db", 5433, "u", "Shop-DB")
    assert cfg.filter_schemas == ("public", "sales") and cfg.sslmode == "require"
    assert cfg.publication == "tapwell" and cfg.replication_slot == "tapwell_shop_db"
    assert cfg.state_every == 10_000 and cfg.batch_rows == 5_000 and cfg.continuous is False


def test_meltanolabs_config(tmp_path: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    cfg = parse(
        {"sqlalchemy_url": "postgresql://me:s%40cret@h:6543/warehouse?sslmode=verify-full",
         "ssl_enable": True, "ssl_certificate_authority": pem, "schemas": ["a"]}
    )  # fmt: skip
    assert (cfg.user, cfg.password, cfg.host, cfg.port, cfg.dbname) == (
        "me",
        "s@cret",
        "h",
        6543,
        "warehouse",
    )
    assert cfg.sslmode == "verify-full" and cfg.filter_schemas == ("a",)
    assert cfg.sslrootcert and Path(cfg.sslrootcert).read_text().startswith("-----BEGIN")
    assert oct(os.stat(cfg.sslrootcert).st_mode)[-3:] == "600"
    os.unlink(cfg.sslrootcert)
    assert parse({"sqlalchemy_url": "postgresql://me@h/w", "dbname": "other"}).dbname == "other"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ({"user": "u"}, "config key dbname: required"),
        ({"dbname": "d"}, "config key user: required"),
        ({"user": "u", "dbname": "d", "port": "x"}, "config key port: 'x' is not a port number"),
        (
            {"user": "u", "dbname": "d", "continuous": "maybe"},
            "config key continuous: 'maybe' is not true or false",
        ),
        (
            {"user": "u", "dbname": "d", "batch_rows": 0},
            "config key batch_rows: must be at least 1",
        ),
        ({"sqlalchemy_url": "mysql://u@h/d"}, "not a postgresql:// URL"),
    ],
)
def test_bad_config_is_one_line(raw: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert text in str(err.value)


def test_keys_of_the_other_taps_are_no_warning_and_a_typo_is() -> None:
    raw = {
        "user": "u",
        "dbname": "d",
        "tap_id": "x",
        "logical_poll_total_seconds": 3,
        "filter_schema": "a",
    }
    assert SETTINGS.warnings(raw) == [
        "config key 'filter_schema' is not a setting and is ignored; did you mean 'filter_schemas'?"
    ]
    assert "pw-1" in SETTINGS.secret_values({"password": "pw-1", "sqlalchemy_url": "x"})


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("DatabaseError:no COPY in progress", "RetriableSyncError"),
        ("OperationalError:server closed the connection unexpectedly", "RetriableSyncError"),
        ("InterfaceError:connection already closed", "RetriableSyncError"),
        ("DatabaseError:something else", "SyncError"),
    ],
)
def test_a_lost_connection_without_sqlstate_is_retriable(error: str, kind: str) -> None:
    """A server restart mid-stream reaches psycopg2 in several shapes, none with a SQLSTATE."""
    import psycopg2
    from tapwell.taps.postgres.connection import map_error

    cls, _, text = error.partition(":")
    mapped = map_error(
        getattr(psycopg2, cls)(text), parse({"user": "u", "dbname": "d"}), "streaming"
    )
    assert type(mapped).__name__ == kind
    assert mapped.exit_code == (75 if kind == "RetriableSyncError" else 1)
