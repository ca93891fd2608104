"""Each connector README's settings table is what `CMD --about --format markdown` prints
(issue 12 item 4): a README that drifted from its connector's settings declaration fails here,
naming the README, the command and the fix (`make docs`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from tapwell.sdk.readme_settings import marked_command, update

ROOT = Path(__file__).resolve().parents[1]
CONNECTORS = {
    "taps/csv": "tap-csv",
    "taps/mysql": "tap-mysql",
    "taps/postgres": "tap-postgres",
    "targets/duckdb": "target-duckdb",
    "targets/jsonl": "target-jsonl",
    "targets/postgres": "target-postgres",
    "mappers/stream_maps": "mapper-stream-maps",
}
MARKED = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [
        *ROOT.glob("taps/*/README.md"),
        *ROOT.glob("targets/*/README.md"),
        *ROOT.glob("mappers/*/README.md"),
    ]
    if "<!-- settings: begin" in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("folder", sorted(CONNECTORS))
def test_every_connector_readme_has_a_generated_settings_table(folder: str) -> None:
    readme = ROOT / folder / "README.md"
    assert readme.exists(), f"{folder} has no README.md"
    text = readme.read_text(encoding="utf-8")
    assert marked_command(text, readme) == CONNECTORS[folder]


@pytest.mark.parametrize("readme", MARKED)
def test_the_settings_table_is_what_the_connector_prints(readme: str) -> None:
    drift = update(ROOT / readme, check=True)
    assert drift is None, str(drift)


# tap-rest's nested settings (auth, streams, paginator) are the kit's Setting too, but its README
# has one table per object (tests/taps/rest), where `make docs` writes the top level's only
@pytest.mark.parametrize("command", sorted([*CONNECTORS.values(), "tap-rest"]))
def test_about_settings_are_a_draft7_schema_singer_sdk_renders(command: str) -> None:
    """What Meltano reads from `--about`: a JSON Schema object of the settings, secrets marked
    as singer-sdk marks them; singer-sdk's own formatter (the reference) renders it."""
    exe = Path(sys.executable).parent / command
    info = json.loads(subprocess.run([str(exe), "--about"], capture_output=True, check=True).stdout)
    settings = info["settings"]
    jsonschema.Draft7Validator.check_schema(settings)
    for name, prop in settings["properties"].items():
        assert prop.get("description"), f"{command}: setting {name} has no description"
        if prop.get("secret"):
            assert prop["writeOnly"] is True
    about = pytest.importorskip("singer_sdk.about")
    fields = {"sdk_version": "0", "supported_python_versions": None, "env_var_prefix": "X_"}
    text = about.MarkdownFormatter().format_about(
        about.AboutInfo(
            name=info["name"],
            description=info["description"],
            version=info["version"],
            capabilities=info["capabilities"],
            settings=settings,
            **fields,
        )
    )
    assert all(f"| {name} |" in text for name in settings["properties"])


BAD = {
    "tap-csv": ({"sample_rows": "x", "base_dir": 5}, "base_dir", "sample_rows"),
    "tap-mysql": (
        {"host": "h", "user": "u", "password": "s3cr3t-pw", "port": "abc", "zero_dates": "0"},
        "port",
        "zero_dates",
    ),
    "target-duckdb": (
        {"load_method": "merge", "batch_size_rows": 0},
        "load_method",
        "batch_size_rows",
    ),
    "target-jsonl": (
        {"destination_path": 5, "batch_size_bytes": "many"},
        "destination_path",
        "batch_size_bytes",
    ),
    "target-postgres": (
        {"dbname": "d", "password": "s3cr3t-pw", "port": "abc", "number_type": "float"},
        "port",
        "number_type",
    ),
}


@pytest.mark.parametrize("command", sorted(BAD))
def test_a_bad_config_is_every_problem_once_each_before_anything_runs(
    command: str, tmp_path: Path
) -> None:
    """Parsed once through the declaration: one error line per bad setting (exit 2, no
    traceback, no secret), one warning line per key that is no setting, nothing on stdout."""
    config, *bad_keys = BAD[command]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "tapwell_typo_key": 1}))
    exe = Path(sys.executable).parent / command
    args = [str(exe), "--config", str(path)] + (["--discover"] if command.startswith("tap") else [])
    done = subprocess.run(args, input="", capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert (
        lines[0]
        == f"{command}: warning: config key 'tapwell_typo_key' is not a setting and is ignored"
    )
    assert [line.split(":")[2].strip() for line in lines[1:]] == [
        f"config key {k}" for k in bad_keys
    ]
    assert all(line.startswith(f"{command}: error: config key ") for line in lines[1:])
    assert "s3cr3t" not in done.stderr and "Traceback" not in done.stderr
