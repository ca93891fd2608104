"""Each connector README's settings table is what `CMD --about --format markdown` prints
(issue 12 item 4): a README that drifted from its connector's settings declaration fails here,
naming the README, the command and the fix (`make docs`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tapwell.sdk.readme_settings import marked_command, update

ROOT = Path(__file__).resolve().parents[1]
CONNECTORS = {
    "taps/csv": "tap-csv",
    "taps/mysql": "tap-mysql",
    "targets/duckdb": "target-duckdb",
    "targets/jsonl": "target-jsonl",
    "targets/postgres": "target-postgres",
}
MARKED = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [*ROOT.glob("taps/*/README.md"), *ROOT.glob("targets/*/README.md")]
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
