"""The module names of tapwell 0.1, kept importable until 0.3.

Connectors written against 0.1 import `tapwell.tap`, `tapwell.target`, `tapwell.wire`, ...; those
modules now live in the layer packages. Importing an old name gives the new module itself (one
module object, so `isinstance` and monkeypatching still agree) and a DeprecationWarning that names
the new place and the removal version.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.abc import Loader as _LoaderBase
else:
    _LoaderBase = object

REMOVAL = "0.3"

_LAYERS = {
    "singer": ("errors", "wire", "messages", "schema", "catalog", "state", "config"),
    "sdk": (
        "tap", "tap_cli", "tap_schema", "target", "target_loop", "target_cli", "target_batch",
        "target_types", "target_versions", "load_settings", "progress", "pipes", "sql_names",
        "cli_util", "cli_version", "check", "scaffold",
    ),
    "runner": (
        "cli", "attempt", "run", "retry", "project", "project_schema", "statestore",
        "statestore_pg", "statestore_rules", "lock", "guard", "recover", "validate", "schedule",
        "cron", "notify", "install", "demo", "migrate", "history", "runs_view", "terminal",
        "masking", "selection", "stream_settings",
    ),
}  # fmt: skip

MOVED = {
    f"tapwell.{name}": f"tapwell.{layer}.{name}"
    for layer, names in _LAYERS.items()
    for name in names
}

# An old module whose names a later split spread over several: its alias imports a module that
# gathers them (a module object of its own, unlike the others).
GATHERED = {"tapwell.schema": "tapwell.singer._schema_0_1"}


# Plain classes with the protocols' methods at run time: importlib.abc (and importlib.resources,
# which it imports) costs 10-25 ms in every tapwell process, the demo's three included.
class _Alias(_LoaderBase):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; the old name goes in tapwell {REMOVAL}",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(GATHERED.get(spec.name, self.new))
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """The module was executed under its new name already."""


class _MovedFinder:
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Make the old names importable (once per process)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
