"""The repo's docs list the same exit codes of `tapwell` as its --help does (3: the lock is held,
130: interrupted, beside 0, 1, 2, 65, 75): the README's Runner section and runner/README.md each
keep a table of them, which nothing compared with the help text."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from tapwell.runner.cli import RUN_EXIT_CODES, main

ROOT = Path(__file__).resolve().parents[2]


def _help_codes() -> set[int]:
    text = CliRunner().invoke(main, ["--help"]).output
    listed = " ".join(text.split()).split("Exit codes:")[1].split("`tapwell run --help`")[0].strip()
    return {int(code) for code in re.findall(r"(?:^|; )(\d+) ", listed)}


def _table_codes(readme: Path) -> set[int]:
    """The first column of the table after the line naming `tapwell`'s exit codes."""
    text = readme.read_text()
    after = text[text.index("Exit codes of `tapwell`") :]
    table = after[after.index("\n|") :].split("\n\n")[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}


def test_help_and_docs_list_the_same_codes() -> None:
    codes = _help_codes()
    assert codes == {0, 1, 2, 3, 65, 75, 130}
    assert {int(c) for c in re.findall(r"^  (\d+) ", RUN_EXIT_CODES, re.MULTILINE)} == codes
    assert _table_codes(ROOT / "README.md") == codes
    assert _table_codes(ROOT / "runner" / "README.md") == codes
