"""`python -m tapwell.scaffold tap|target NAME [--dir PATH]`, the same as `tapwell new`."""

from tapwell.scaffold.cli import new

new(prog_name="python -m tapwell.scaffold")
