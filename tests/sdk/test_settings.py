"""tapwell.sdk.settings: one declaration per connector, parsed once into a typed frozen object,
from which --about's settings and the README table are generated (issue 12 item 4)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tapwell.sdk.about import about_markdown, settings_table
from tapwell.sdk.cli_util import run_main
from tapwell.sdk.readme_settings import rewritten, table_of, update
from tapwell.sdk.settings import Settings, SettingsError, setting, whole_number
from tapwell.sdk.tap import Stream, Tap
from tapwell.sdk.target_cli import target_command
from tapwell.sdk.target_settings import LoopSettings
from tapwell.sdk.target_types import Limits
from tapwell.singer.errors import ConfigError


def _port(value: Any, key: str) -> int:
    if not str(value).isdigit():
        raise ValueError(f"{value!r} is not a port number")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class ExampleConfig:
    host: str = setting(required=True, help="Server host name")
    port: int = setting(5432, type=("integer", "string"), parse=_port, help="Server port")
    user: str = setting("postgres", aliases=("username",), help="User name")
    password: str = setting("", secret=True, help="Password")
    mode: str = setting("upsert", choices=("upsert", "append-only"), help="How rows load")
    rows: int = setting(5000, type=("integer", "string"), parse=whole_number(1), help="Rows")
    tables: tuple[str, ...] = setting((), help="Tables to read")
    verbose: bool = setting(False, help="Say more")
    where: str = dataclasses.field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", f"{self.host}:{self.port}")


SETTINGS = Settings(ExampleConfig)


def test_parse_gives_a_typed_frozen_object_with_defaults_and_aliases() -> None:
    config = SETTINGS.parse(
        {"host": "db", "port": "6543", "username": "me", "tables": ["a", "b"], "rows": 10}
    )
    assert config == ExampleConfig(
        host="db", port=6543, user="me", rows=10, tables=("a", "b")
    )  # a list becomes a tuple: the object is frozen all the way down
    assert (config.password, config.mode, config.verbose, config.where) == (
        "",
        "upsert",
        False,
        "db:6543",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.host = "other"  # type: ignore[misc]


def test_an_empty_or_null_value_is_no_value_and_the_name_wins_over_an_alias() -> None:
    config = SETTINGS.parse({"host": "db", "user": "", "username": "alias", "port": None})
    assert (config.user, config.port) == ("alias", 5432)
    assert SETTINGS.parse({"host": "db", "user": "name", "username": "alias"}).user == "name"


def test_every_problem_is_one_line_naming_the_key_and_secrets_are_never_shown() -> None:
    with pytest.raises(SettingsError) as err:
        SETTINGS.parse(
            {"port": "x", "mode": "merge", "rows": 0, "verbose": "yes", "password": 12345}
        )
    assert err.value.exit_code == 2
    assert err.value.problems == [
        "config key host is required: server host name",
        "config key port: 'x' is not a port number",
        "config key password: a value is not a string",
        "config key mode: 'merge' is not one of upsert, append-only",
        "config key rows: must be at least 1",
        "config key verbose: 'yes' is not true or false",
    ]
    assert str(err.value) == "\n".join(err.value.problems)
    assert "12345" not in str(err.value)


def test_keys_that_are_no_setting_are_warned_about_with_the_one_meant() -> None:
    config = {"host": "db", "usernme": "x", "max_parallelism": 4, "username": "me"}
    assert SETTINGS.unknown(config) == ["usernme", "max_parallelism"]
    assert SETTINGS.warnings(config) == [
        "config key 'usernme' is not a setting and is ignored; did you mean 'username'?",
        "config key 'max_parallelism' is not a setting and is ignored",
    ]
    assert SETTINGS.parse(config).user == "me"  # a warning, not an error
    assert Settings(ExampleConfig, ignored=["max_parallelism"]).unknown(config) == ["usernme"]


def test_secret_values_come_from_the_declaration_under_any_alias() -> None:
    @dataclass(frozen=True, kw_only=True)
    class C:
        key: str = setting("", aliases=("k",), secret=True)

    assert Settings(C).secret_values({"k": "hunter2", "other": "x"}) == ["hunter2"]


def test_json_schema_is_singer_sdk_shaped() -> None:
    schema = SETTINGS.json_schema()
    assert schema["type"] == "object"
    assert schema["required"] == ["host"]
    props = schema["properties"]
    assert list(props) == ["host", "port", "user", "password", "mode", "rows", "tables", "verbose"]
    assert props["host"] == {"type": "string", "description": "Server host name"}
    assert props["port"] == {
        "type": ["integer", "string"],
        "default": 5432,
        "description": "Server port",
    }
    assert props["user"]["aliases"] == ["username"]
    assert props["password"]["secret"] is True and props["password"]["writeOnly"] is True
    assert props["mode"]["enum"] == ["upsert", "append-only"]
    assert props["tables"] == {"type": "array", "default": [], "description": "Tables to read"}
    assert props["verbose"]["type"] == "boolean"


def test_singer_sdk_reads_our_settings_as_its_own() -> None:
    """singer-sdk's about formatter (the reference) renders our --about settings."""
    about = pytest.importorskip("singer_sdk.about")
    info = about.AboutInfo(
        name="tap-x",
        description="d",
        version="1",
        sdk_version="0",
        supported_python_versions=None,
        capabilities=[],
        settings=SETTINGS.json_schema(),
        env_var_prefix="TAP_X_",
    )
    text = about.MarkdownFormatter().format_about(info)
    assert "| host | True | None | Server host name |" in text
    assert "| port | False | 5432 | Server port |" in text


def test_the_markdown_table_has_type_required_default_aliases_and_choices() -> None:
    table = settings_table(SETTINGS.json_schema())
    assert table[0] == "| Setting | Type | Required | Default | Description |"
    assert "| `host` | string | yes |  | Server host name |" in table
    assert "| `port` | integer/string | no | `5432` | Server port |" in table
    assert "| `user` (also `username`) | string | no | `postgres` | User name |" in table
    assert "| `password` | string, secret | no | `` | Password |" in table
    assert (
        "| `mode` | string | no | `upsert` | How rows load; one of `upsert`, `append-only` |"
        in table
    )
    assert settings_table({}) == ["This connector has no settings."]


def test_a_declaration_naming_one_key_twice_is_refused() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Twice:
        a: str = setting("", aliases=("b",))
        b: str = setting("")

    with pytest.raises(TypeError, match="b named by two settings"):
        Settings(Twice)


def test_the_cli_writes_each_problem_on_its_own_prefixed_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body() -> None:
        SETTINGS.parse({"port": "x", "password": "s3cret"})

    assert run_main("tap-x", body, ["s3cret"]) == 2
    assert capsys.readouterr().err == (
        "tap-x: error: config key host is required: server host name\n"
        "tap-x: error: config key port: 'x' is not a port number\n"
    )


@dataclass(frozen=True, kw_only=True)
class TargetConfig(LoopSettings):
    path: str = setting("out", aliases=("destination_path",), help="Folder")
    batch_size_rows: int = setting(  # redeclared whole: another default, the same alias
        20_000,
        type=("integer", "string"),
        aliases=("batch_rows",),
        parse=whole_number(1),
        help="Rows per batch",
    )


class _Loader:
    def __init__(self, seen: list[Any], config: TargetConfig) -> None:
        seen.append(config)

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def test_a_target_gets_its_parsed_config_and_the_loop_its_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    loops: list[Any] = []
    import tapwell.sdk.target_cli as target_cli

    real = target_cli.TargetLoop

    def spy(*args: Any, **kwargs: Any) -> Any:
        loop = real(*args, **kwargs)
        loops.append(loop)
        return loop

    monkeypatch.setattr(target_cli, "TargetLoop", spy)
    command = target_command(
        "target-x",
        lambda config: _Loader(seen, config),  # type: ignore[arg-type,return-value]
        description="Test target",
        settings=Settings(TargetConfig),
    )
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"destination_path": "there", "batch_rows": "7", "pth": 1}))
    empty = tmp_path / "in.singer"
    empty.write_text("")
    with pytest.raises(SystemExit) as done:
        command.main(["--config", str(config), "--input", str(empty)], standalone_mode=True)
    assert done.value.code == 0
    assert seen == [TargetConfig(path="there", batch_size_rows=7)]
    assert loops[0].limits == Limits(rows=7, bytes=Limits.bytes, seconds=Limits.seconds)
    assert capsys.readouterr().err.startswith(
        "target-x: warning: config key 'pth' is not a setting and is ignored; did you mean 'path'?\n"
    )

    with pytest.raises(SystemExit):
        command.main(["--about", "--format", "markdown"], standalone_mode=True)
    out = capsys.readouterr().out
    assert (
        "| `batch_size_rows` (also `batch_rows`) | integer/string | no | `20000` | Rows per batch |"
        in out
    )
    assert "| `path` (also `destination_path`) | string | no | `out` | Folder |" in out


def test_the_light_tap_api_takes_a_declaration() -> None:
    @dataclass(frozen=True, kw_only=True)
    class TapConfig:
        start_date: str = setting("", help="Start here")

    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    got: list[Any] = []

    def streams(config: Any) -> list[Stream]:
        got.append(config)
        return [Stream("s", schema, lambda ctx: iter([]))]

    tap = Tap("tap-x", streams, settings=Settings(TapConfig))
    assert tap.about()["settings"]["properties"]["start_date"]["description"] == "Start here"
    with pytest.raises(ConfigError, match="config key start_date: 5 is not a string"):
        tap.validate_config({"start_date": 5})
    tap.discover(Settings(TapConfig).parse({}))
    assert got == [TapConfig()]


def test_readme_tables_are_rewritten_between_the_markers(tmp_path: Path) -> None:
    page = about_markdown({"name": "tap-x", "settings": SETTINGS.json_schema()})
    table = table_of(page)
    assert table == settings_table(SETTINGS.json_schema())
    readme = (
        "# tap-x\n\n<!-- settings: begin, generated by `make docs` from "
        "`tap-x --about --format markdown` -->\n| old |\n<!-- settings: end -->\n\nMore.\n"
    )
    new = rewritten(readme, table)
    assert new.endswith("\n" + "\n".join(table) + "\n<!-- settings: end -->\n\nMore.\n")
    assert rewritten(new, table) == new


def test_a_drifted_readme_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tapwell.sdk.readme_settings as readme_settings

    page = about_markdown({"name": "tap-x", "settings": SETTINGS.json_schema()})
    monkeypatch.setattr(readme_settings, "about_markdown", lambda command: page)
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- settings: begin, generated by `make docs` from `tap-x --about --format markdown` -->"
        "\n| old |\n<!-- settings: end -->\n"
    )
    drift = update(readme, check=True)
    assert str(drift) == (
        f"{readme}: the settings table differs from `tap-x --about --format markdown`; "
        "run `make docs` and commit the README"
    )
    assert "| old |" in readme.read_text()  # --check writes nothing
    assert update(readme, check=False) is not None
    assert update(readme, check=True) is None
