"""`python -m tapwell.sdk.scaffold tap|target NAME [--dir PATH]`, the same as `tapwell new`."""

from tapwell.sdk.scaffold.cli import new

new(prog_name="python -m tapwell.sdk.scaffold")
