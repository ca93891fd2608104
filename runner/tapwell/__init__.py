"""tapwell: the shared core of tapwell's taps, targets and runner.

Public surface: `tapwell.wire` (read/write Singer messages), `tapwell.messages`, `tapwell.schema`,
`tapwell.catalog`, `tapwell.state`, `tapwell.tap` (the light tap API), `tapwell.target` (the
target loop), `tapwell.errors`.
"""

__version__ = "0.1.0"
