"""A command's exit without the interpreter's last garbage collection.

At exit CPython collects every object the process made, modules, classes and functions
included (click's, yaml's, the runner's: ~100,000 of them), and then frees them one by one,
where the operating system takes the memory back at once. `freeze_at_exit` has `gc.freeze()`
called as the last atexit handler, so that collection skips them. Nothing is lost: a file is
closed and flushed by reference counting or by its own atexit handler as before, and only
cyclic garbage is left uncollected. `tapwell run`'s tear-down after the target's exit took
about as long again as the rest of its end (its records' last saves included): see
runner/README.md, "Performance".
"""

from __future__ import annotations

import atexit
import gc


def freeze_at_exit() -> None:
    """Call gc.freeze() at this interpreter's exit (once, however often this is called): a
    process that imports the CLI without exiting (a test) is unchanged until it ends."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
