"""tapwell.yml checked by its JSON Schema (errors name the key and the fix), ${ENV}
interpolation, and stream selection applied to a catalog. No services, no processes."""

from __future__ import annotations

import subprocess

import pytest
from tapwell.runner.project_schema import validate_project
from tapwell.runner.selection import apply_selection
from tapwell.singer.catalog import Catalog
from tapwell.singer.errors import ConfigError

OK = {"tap": "tap-csv", "target": "target-jsonl"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "tapwell.yml: (top level) is missing 'integrations': add it"),
        (
            {"integrations": {}},
            "tapwell.yml: integrations is empty: define at least one integration",
        ),
        (
            {"integrations": {"a": {"tap": "tap-csv"}}},
            "tapwell.yml: integrations.a is missing 'target': add it (or targets: [...] for several)",
        ),
        (
            {"integrations": {"a": {**OK, "retries": 3}}},
            "tapwell.yml: integrations.a has an unknown key 'retries': remove it or use one of: after, catchup, fast_lane, fast_lane_batch_size, mappers, notify, retry, schedule, select, state, streams, tap, target, targets, timezone, transform",
        ),
        (
            {"integrations": {"a": {**OK, "schedule": "daily"}}},
            "tapwell.yml: integrations.a.schedule must be a cron expression of five fields, e.g. '15 2 * * *'",
        ),
        (
            {"integrations": {"a": {**OK, "retry": {"attempts": "3"}}}},
            "tapwell.yml: integrations.a.retry.attempts must be an integer",
        ),
        (
            {"state": {"backend": "s3"}, "integrations": {"a": OK}},
            "tapwell.yml: state.backend must be one of file, postgres",
        ),
        (
            {"integrations": {"a": {**OK, "streams": {"orders": {"replication_method": "LOG"}}}}},
            "tapwell.yml: integrations.a.streams.orders.replication_method must be one of FULL_TABLE, INCREMENTAL, LOG_BASED",
        ),
        (
            {"integrations": {"a b": OK}},
            "tapwell.yml: integrations name 'a b' may use only letters, digits, _ . and - (and start with a letter or digit)",
        ),
        (
            {"integrations": {"a": {**OK, "tap": {"config": {}}}}},
            "tapwell.yml: integrations.a.tap needs a 'name' or a 'command'",
        ),
    ],
)
def test_schema_errors_name_the_key_and_the_fix(raw, message):
    with pytest.raises(ConfigError) as exc:
        validate_project(raw)
    assert str(exc.value) == message


def test_full_example_is_valid():
    validate_project(
        {
            "version": 1,
            "state": {"backend": "postgres", "dsn": "${TAPWELL_STATE_DSN}"},
            "retry": {"attempts": 5, "backoff_seconds": 30, "stall_timeout_seconds": 600},
            "notify": {
                "on_failure": ["https://hooks.example/x"],
                "healthcheck": "https://hc.example/uuid",
            },
            "kubernetes": {"image": "registry/tapwell:1", "secret": "tapwell-secrets"},
            "integrations": {
                "shop": {
                    "tap": {"name": "tap-mysql", "config": {"password": "${MYSQL_PASSWORD}"}},
                    "target": {
                        "name": "target-jsonl",
                        "pip_url": "target-jsonl==0.1.4",
                        "config": "target.json",
                    },
                    "select": ["orders", "shop.*", "!customers.ssn"],
                    "streams": {
                        "orders": {
                            "replication_method": "INCREMENTAL",
                            "replication_key": "updated_at",
                        }
                    },
                    "schedule": "15 2 * * *",
                }
            },
        }
    )


def test_env_interpolation_and_missing_variable(tmp_path, monkeypatch):
    from tapwell.runner.project import load_project

    (tmp_path / "tapwell.yml").write_text(
        "integrations:\n  a:\n    tap: {name: tap-csv, config: {password: '${PW}', host: '${HOST:-localhost}'}}\n"
        "    target: {name: target-jsonl, config: tgt.yml}\n"
    )
    (tmp_path / "tgt.yml").write_text("destination_path: ${OUT:-out}\n")
    monkeypatch.delenv("PW", raising=False)
    project = load_project(tmp_path)
    with pytest.raises(
        ConfigError, match=r"integrations.a.tap.config.password: environment variable PW is not set"
    ):
        project.integration("a").tap  # noqa: B018 (resolved when first used)
    assert project.integration("a").target.config == {"destination_path": "out"}
    monkeypatch.setenv("PW", "pw-value")
    a = project.integration("a")
    assert a.tap.config == {"password": "pw-value", "host": "localhost"}
    assert a.target.config == {"destination_path": "out"}


def catalog():
    def stream(name, props, key="id"):
        md = [
            {
                "breadcrumb": [],
                "metadata": {"inclusion": "available", "table-key-properties": [key]},
            }
        ]
        md += [
            {
                "breadcrumb": ["properties", p],
                "metadata": {"inclusion": "automatic" if p == key else "available"},
            }
            for p in props
        ]
        return {
            "tap_stream_id": name,
            "stream": name,
            "schema": {"properties": {p: {"type": "string"} for p in props}},
            "metadata": md,
        }

    return {
        "streams": [
            stream("orders", ["id", "amount", "updated_at"]),
            stream("customers", ["id", "name", "ssn"]),
            stream("shop", ["id", "a", "b"]),
            stream("audit_log", ["id", "x"]),
            stream("db.table", ["id", "y"]),
        ]
    }


def selected(cat):
    return {s.tap_stream_id: s.selected_properties() for s in Catalog(cat).selected()}


def test_selection_patterns():
    out = apply_selection(
        catalog(), ["orders", "shop.*", "customers", "!customers.ssn", "db.table.y"]
    )
    assert selected(out) == {
        "orders": ["id", "amount", "updated_at"],
        "customers": ["id", "name"],
        "shop": ["id", "a", "b"],
        "db.table": ["id", "y"],
    }
    out = apply_selection(catalog(), ["*", "!audit_*", "orders.amount"])
    assert selected(out)["orders"] == [
        "id",
        "amount",
        "updated_at",
    ]  # '*' selected the whole stream first
    assert "audit_log" not in selected(out)
    out = apply_selection(catalog(), ["orders.amount"])
    assert selected(out) == {"orders": ["id", "amount"]}  # the key is automatic: always in


def test_selection_errors_and_overrides():
    with pytest.raises(ConfigError, match="select: pattern 'ordrs' matches no stream"):
        apply_selection(catalog(), ["ordrs"])
    out = apply_selection(
        catalog(),
        ["orders"],
        {
            "orders": {"replication_key": "updated_at"},
            "customers": {"replication_method": "FULL_TABLE"},
        },
    )
    cat = Catalog(out)
    assert (cat.get("orders").replication_method, cat.get("orders").replication_key) == (
        "INCREMENTAL",
        "updated_at",
    )
    assert cat.get("customers").replication_method == "FULL_TABLE"
    with pytest.raises(
        ConfigError, match=r"streams.orders.replication_key: 'nope' is not a property of orders"
    ):
        apply_selection(catalog(), [], {"orders": {"replication_key": "nope"}})


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("on", "the boolean true (an unquoted on, yes or true)"),
        ("no", "the boolean false (an unquoted off, no or false)"),
        ("2024", "the number 2024"),
    ],
)
def test_an_integration_name_yaml_does_not_read_as_text_is_one_line(bin_path, tmp_path, name, read):
    """`on:` is YAML 1.1's true: the run was a TypeError traceback (sorting names); now one line,
    exit 2, and also when these bytes passed the schema check before (its kept passes)."""
    (tmp_path / "tapwell.yml").write_text(
        f"integrations:\n  {name}:\n    tap: {{name: tap-csv}}\n    target: {{name: target-jsonl}}\n"
    )
    for _ in range(2):
        done = subprocess.run(
            [str(bin_path / "tapwell"), "--project", str(tmp_path), "run", name],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"tapwell: error: {tmp_path / 'tapwell.yml'}: integrations: a name YAML reads as {read}, "
            "not as text: quote it (e.g. 'on':)"
        ]
