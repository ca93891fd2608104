"""The targets' docstrings and READMEs name the protocol's functions where they live: after
tapwell.singer.schema was split by role (datetime_rule, fraction_digits, number_steps,
value_check, record_check), `tapwell.singer.schema.value_check` and `.multiple_of` still sent a
reader to a module that no longer has them."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

TARGETS = Path(__file__).resolve().parents[2] / "targets"
NAMED = re.compile(r"tapwell\.singer\.([a-z_]+)\.([A-Za-z_]+)")


def test_every_tapwell_singer_name_in_the_targets_docs_is_where_it_says() -> None:
    wrong = []
    for path in sorted([*TARGETS.rglob("*.py"), *TARGETS.rglob("*.md")]):
        for module, name in NAMED.findall(path.read_text(encoding="utf-8")):
            found = importlib.import_module(f"tapwell.singer.{module}")
            if not hasattr(found, name):
                wrong.append(f"{path.relative_to(TARGETS)}: tapwell.singer.{module}.{name}")
    assert not wrong, wrong
