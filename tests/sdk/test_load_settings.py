"""tapwell.sdk.load_settings: the one parse of load_method, hard_delete and stream_settings that
target-postgres and target-duckdb share (issue 12 item 4), with each target's reading kept as it
was: target-postgres's loose one, target-duckdb's strict one (their README-documented errors
are pinned end to end in tests/targets/*/test_target_*_settings.py)."""

from __future__ import annotations

from typing import Any

import pytest
import tapwell.targets.duckdb.config
import tapwell.targets.postgres.config
from tapwell.sdk.load_settings import StreamSettings, flag, load_method, stream_settings
from tapwell.singer.errors import ConfigError

LOOSE = tapwell.targets.postgres.config.DIALECT
STRICT = tapwell.targets.duckdb.config.DIALECT
GLOBAL = StreamSettings("append-only", True)


def test_both_targets_parse_with_the_kit() -> None:
    assert tapwell.targets.postgres.config.StreamSettings is StreamSettings
    assert tapwell.targets.duckdb.config.StreamSettings is StreamSettings
    pg = tapwell.targets.postgres.config.parse({"stream_settings": {"s": {"hard_delete": "yes"}}})
    duck = tapwell.targets.duckdb.config.DuckDBConfig.parse(
        {"stream_settings": {"s": {"hard_delete": True}}}
    )
    assert pg.of("s") == duck.settings_for("s") == StreamSettings("upsert", True)


@pytest.mark.parametrize(
    ("value", "loose", "strict"),
    [
        (None, False, False),
        (True, True, True),
        ("TRUE", True, True),
        ("false", False, False),
        ("yes", True, None),
        ("off", False, None),
        (1, True, None),
        ("", False, None),
        ("maybe", None, None),
    ],
)
def test_booleans_loose_and_strict(value: Any, loose: bool | None, strict: bool | None) -> None:
    for dialect, want in ((LOOSE, loose), (STRICT, strict)):
        if want is None:
            with pytest.raises(ConfigError, match=r"config key k: .* is not true or false"):
                flag(value, "k", dialect)
        else:
            assert flag(value, "k", dialect) is want


def test_load_method_unset_is_upsert_and_a_bad_one_names_the_choices() -> None:
    for dialect in (LOOSE, STRICT):
        assert load_method(None, "k", dialect) == load_method("", "k", dialect) == "upsert"
        with pytest.raises(ConfigError) as raised:
            load_method("merge", "k", dialect)
        assert (
            str(raised.value)
            == "config key k: 'merge' is not one of upsert, append-only, overwrite"
        )
    assert load_method(False, "k", LOOSE) == "upsert"
    with pytest.raises(ConfigError):
        load_method(False, "k", STRICT)


def test_a_left_out_key_is_global_and_null_depends_on_the_target() -> None:
    given = {"s": {"load_method": None}, "t": {}}
    assert stream_settings(given, GLOBAL, STRICT) == {"s": GLOBAL, "t": GLOBAL}
    assert stream_settings(given, GLOBAL, LOOSE) == {
        "s": StreamSettings("upsert", True),
        "t": GLOBAL,
    }
    assert stream_settings([], GLOBAL, LOOSE) == {}
    with pytest.raises(ConfigError, match="config key stream_settings: must be an object"):
        stream_settings([], GLOBAL, STRICT)


def test_unknown_per_stream_keys_in_each_targets_words() -> None:
    given = {"s": {"b": 1, "a": 2}}
    with pytest.raises(ConfigError) as loose:
        stream_settings(given, GLOBAL, LOOSE)
    with pytest.raises(ConfigError) as strict:
        stream_settings(given, GLOBAL, STRICT)
    assert str(loose.value) == (
        "config key stream_settings.s: a, b cannot be set per stream (only load_method, hard_delete)"
    )
    assert str(strict.value) == (
        "config key stream_settings.s: unknown setting 'a' (per-stream settings are load_method, "
        "hard_delete)"
    )
