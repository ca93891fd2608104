"""`tapwell check tap|target -- COMMAND...`: the conformance checker at the command line.

Exit codes: 0 the connector conforms, 1 it broke at least one rule, 2 the check could not run
(bad options, a command that does not exist).
"""

from __future__ import annotations

import os
import shlex
import sys

import click

from tapwell.sdk.check.destinations import destination
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.suite import CASES
from tapwell.sdk.check.tap_check import check_tap
from tapwell.sdk.check.target_check import check_target
from tapwell.sdk.check.verify import Verifier
from tapwell.sdk.cli_util import run_main
from tapwell.singer.errors import ConfigError

_PASS_THROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def _split_command(kind: str, command: tuple[str, ...]) -> tuple[str, ...]:
    """`command` as given, unless its first word is a whole command line in quotes (a word with
    blanks that names no file): that is refused with the line to type instead, since COMMAND is
    the words after `--`, as a shell would run them."""
    first = command[0]
    if any(c.isspace() for c in first) and not os.path.exists(first):
        raise ConfigError(
            f"{first!r} is a whole command in one quoted word, and no file has that name: pass "
            f"the command unquoted after --: {_typed_instead(kind, first)}"
        )
    return command


def _typed_instead(kind: str, word: str) -> str:
    """The command line that was typed, with `word` split into its words after `--` (the
    options given stay where they were), or the bare form when it cannot be found again."""
    args = sys.argv[1:]
    words = shlex.split(word)
    if args.count(word) == 1 and args[:2] == ["check", kind]:
        at = args.index(word)
        split = words if "--" in args[:at] else ["--", *words]
        args = args[:at] + split + args[at + 1 :]
    else:
        args = ["check", kind, "--", *words]
    return " ".join(shlex.quote(a) for a in ["tapwell", *args])


def _finish(report: Report, as_json: bool) -> None:
    click.echo(report.to_json() if as_json else report.to_text())
    if not report.ok:
        raise SystemExit(1)


@click.group(
    help="Prove a Singer tap or target speaks the protocol correctly (any tap or target: "
    "tapwell's, singer-sdk's, singer-io's)."
)
def check() -> None:
    pass


@check.command(
    "tap",
    context_settings=_PASS_THROUGH,
    help="Run the tap COMMAND (with its own --config) and report where it breaks the Singer spec: "
    "--about and --discover output, the catalog's shape, RECORD before SCHEMA, records that do not "
    "validate against their schema, missing key properties, STATE shape, bookmarks moving "
    "backwards, and a resumed sync sending records older than its bookmark.\n\n"
    "COMMAND is the tap's words after --, as a shell runs them (not one quoted word). "
    "Example:\n\n\b\n  tapwell check tap -- tap-csv --config tap.json",
)
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Sync with this catalog instead of discovering and selecting every stream.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Start the first sync from this state.",
)
@click.option(
    "--method",
    type=click.Choice(["FULL_TABLE", "INCREMENTAL", "LOG_BASED"], case_sensitive=False),
    help="Replicate every stream this way (default: INCREMENTAL where a stream offers a "
    "replication key, else what the tap chooses).",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Skip the second sync resumed from the first one's last STATE.",
)
@click.option(
    "--validate-limit",
    type=int,
    default=100_000,
    show_default=True,
    help="Records per stream validated against their schema; later ones are only counted.",
)
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds allowed for each run of the tap.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def tap(
    catalog_path: str | None,
    state_path: str | None,
    method: str | None,
    no_resume: bool,
    validate_limit: int,
    timeout: float,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    def body() -> None:
        report = check_tap(
            _split_command("tap", command),
            catalog_path=catalog_path,
            state_path=state_path,
            timeout=timeout,
            validate_limit=validate_limit,
            resume=not no_resume,
            method=method,
        )
        _finish(report, as_json)

    sys.exit(run_main("tapwell check", body))


@check.command(
    "target",
    context_settings=_PASS_THROUGH,
    help="Feed the target COMMAND (with its own --config) a suite of streams and report what it got "
    "wrong: types, schema changes, nulls, unicode, special and long column names, duplicates, "
    "ACTIVATE_VERSION, malformed input. Without --verify only what every target must do "
    "observably is checked (exit codes, error lines, STATE confirmed in order and never ahead "
    "of the data); with --verify the destination is read back row by row.\n\n"
    "Cases: " + ", ".join(c.name for c in CASES) + ".\n\n"
    "COMMAND is the target's words after --, as a shell runs them (not one quoted word). "
    "Example:\n\n\b\n  tapwell check target --verify duckdb:out.duckdb:main \\\n"
    "      -- target-duckdb --config t.json",
)
@click.option(
    "--verify",
    "verify_spec",
    metavar="KIND:WHERE",
    help="Read the destination back: jsonl:DIR, duckdb:PATH[:SCHEMA], or postgres:SCHEMA:DSN "
    "for our target-postgres.",
)
@click.option(
    "--case", "cases", multiple=True, metavar="NAME", help="Run only this case (repeatable)."
)
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds allowed for each case."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def target(
    verify_spec: str | None,
    cases: tuple[str, ...],
    timeout: float,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    def body() -> None:
        verifier = Verifier(destination(verify_spec)) if verify_spec else None
        report = check_target(
            _split_command("target", command), cases=cases or None, verify=verifier, timeout=timeout
        )
        _finish(report, as_json)

    sys.exit(run_main("tapwell check", body))
