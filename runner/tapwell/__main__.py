"""`python -m tapwell`: the `tapwell` command, for an installation without its console script
(tapwell serve starts its runs this way when the script is not beside the interpreter)."""

from __future__ import annotations

import sys

from tapwell.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
