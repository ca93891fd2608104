"""What every tapwell executable does with an expected failure: one line on stderr, an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from tapwell.singer.config import redact
from tapwell.singer.errors import TapwellError


def run_main(
    name: str, body: Callable[[], Any], secrets: Sequence[str] | Callable[[], Sequence[str]] = ()
) -> int:
    """Run `body`; a TapwellError becomes `name: error: message` (secrets masked) and its exit
    code. A broken pipe downstream exits quietly with 141, as a shell pipeline would."""
    try:
        body()
        return 0
    except TapwellError as exc:
        hidden = secrets() if callable(secrets) else secrets
        sys.stderr.write(f"{name}: error: {redact(str(exc), hidden)}\n")
        sys.stderr.flush()
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.write(f"{name}: error: the reading end of the pipe closed\n")
        return 141
    except KeyboardInterrupt:
        sys.stderr.write(f"{name}: interrupted\n")
        return 130
