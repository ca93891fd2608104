"""tapwell: Singer taps, targets and the runner that schedules and watches them.

Three layers, each importing only the ones before it:

- `tapwell.singer`: the protocol (wire, messages, schema, catalog, state, config, errors);
- `tapwell.sdk`: the kit for writing connectors (`tapwell.sdk.tap`, `tapwell.sdk.target`, the
  conformance checker, the scaffold);
- `tapwell.runner`: the orchestration (the `tapwell` CLI, runs, state store, schedules).

The connectors, `tapwell.taps.*` and `tapwell.targets.*`, stand on the first two; the runner
never imports them. The modules of tapwell 0.1 (`tapwell.wire`, `tapwell.tap`, ...) still import,
with a DeprecationWarning naming their new place, until 0.3 (`tapwell._moved`).
"""

from tapwell import _moved

__version__ = "0.1.0"

_moved.install()
