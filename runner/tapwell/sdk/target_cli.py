"""The Singer target command line, shared by every tapwell target: `--config` (repeatable),
`--input` (a file instead of stdin), `--about`, and `--read-state` for a target that commits its
state in the destination.

`--read-state` prints the state the target last committed as one JSON line (`{}` when none; exact
numbers, through tapwell.singer.wire) and exits; `read-state` is then in `--about`'s capabilities. The
runner recovers a lost state with it (tapwell.runner.recover), so each target keeps its own state table
naming and any target that adopts the flag is recovered the same way.

A target hands over a Loader factory; this module turns it into a click command around
tapwell.sdk.target_loop.TargetLoop whose expected failures are one line on stderr with the exit code.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from tapwell.sdk.about import print_about
from tapwell.sdk.cli_util import files_named, read_settings, run_main
from tapwell.sdk.cli_version import version_option
from tapwell.sdk.pipes import READ_BUFFER, widen_pipe
from tapwell.sdk.settings import Settings
from tapwell.sdk.target_loop import TargetLoop
from tapwell.sdk.target_types import Limits, Loader
from tapwell.singer.config import load_config, secret_values
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps, loads


def target_command(
    name: str,
    make_loader: Callable[[Any], Loader],
    *,
    description: str,
    settings: dict[str, Any] | Settings[Any] | None = None,
    version: str = "0.1.0",
    read_state: Callable[[Any], str | None] | None = None,
    batch_formats: tuple[str, ...] = ("jsonl",),
    state_file_setting: str | None = None,
    end_warnings: Callable[[Any], Iterable[str]] | None = None,
) -> Callable[..., None]:
    """The Singer target CLI (`--config`, `--input`, `--about`) around a Loader factory;
    `read_state(config)` returns the committed state as JSON text, None when there is none.

    `settings` is --about's settings: a JSON Schema, or a tapwell.sdk.settings.Settings, which
    also parses the config once (keys that are no setting warned about, secrets masked) and hands
    the parsed object to `make_loader` and `read_state` instead of the dict; the loop's own
    settings (batch_size_rows, batch_size_bytes, batch_wait_limit_seconds, add_metadata_columns)
    are then read from its attributes of those names. `batch_formats`: the BATCH formats it
    loads (jsonl through the loop, record by record; csv only when its loader reads files).
    `state_file_setting`: the setting holding the path of the local file the state is committed
    in, when `read_state` returns None for a missing file (--about's `read_state_file`: the runner
    then skips `--read-state` while the file does not exist). `end_warnings(config)`: lines
    warned on stderr once the input has ended and every batch is committed (settings that
    turned out to match nothing in this load)."""
    capabilities = ["about", "soft-delete", "hard-delete", "batch"]
    if read_state is not None:
        capabilities.append("read-state")

    # readable=False: click's own check of a file it cannot read is a 3-line usage error;
    # reading it says why in one line (files_named, load_config)
    @click.command(name=name, help=description)
    @version_option(name, lambda: version)
    @click.option(
        "--config",
        "configs",
        multiple=True,
        type=click.Path(readable=False),
        help="JSON config file (repeatable; later files win).",
    )
    @click.option(
        "--input",
        "input_path",
        type=click.Path(readable=False),
        help="Read messages from this file instead of stdin.",
    )
    @click.option(
        "--about", is_flag=True, help="Print what this target is and its settings, and exit."
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["json", "markdown"]),
        default="json",
        help="Format of --about.",
    )
    @click.option(
        "--read-state",
        "read_state_flag",
        is_flag=True,
        help="Print the state last committed in the destination as one JSON line ({} when "
        "none), and exit.",
    )
    def command(
        configs: tuple[str, ...],
        input_path: str | None,
        about: bool,
        fmt: str,
        read_state_flag: bool,
    ) -> None:
        holder: dict[str, Any] = {}

        def body() -> None:
            with files_named({"config file": configs, "input file": input_path}):
                load()

        def load() -> None:
            if about:
                info = {
                    "name": name,
                    "version": version,
                    "description": description,
                    "capabilities": capabilities,
                    "batch_formats": list(batch_formats),
                    "settings": schema,
                }
                if read_state is not None and state_file_setting:
                    info["read_state_file"] = state_file_setting
                print_about(info, fmt)
                return
            raw = load_config(configs) if configs else {}
            holder["config"] = raw
            config = read_settings(name, declared, raw) if declared is not None else raw
            if read_state_flag:
                _print_state(name, read_state, config)
                return
            loop = TargetLoop(name, make_loader(config), raw, **_loop_settings(config, declared))
            # Records are acyclic: the cyclic GC frees nothing in them but walks every buffered
            # dict, again and again (a third of a target's CPU). Collect rarely; refcounting frees.
            gc.set_threshold(100_000, 50, 100)
            if input_path:
                with open(input_path, "rb") as f:
                    loop._source = input_path
                    loop.run(f, source=input_path)
            else:
                try:
                    fd = sys.stdin.fileno()
                except (OSError, ValueError):  # not a file (a test harness's stream): as it is
                    loop.run()
                else:
                    widen_pipe(fd)  # see tapwell.sdk.pipes
                    with open(fd, "rb", buffering=READ_BUFFER, closefd=False) as stdin:
                        loop.run(stdin)
            if end_warnings is not None:
                for line in end_warnings(config):
                    logging.getLogger(name).warning(line)

        sys.exit(run_main(name, body, lambda: _secrets(holder.get("config", {}), declared)))

    declared = settings if isinstance(settings, Settings) else None
    schema = declared.json_schema() if declared is not None else settings or {}
    return command


def _loop_settings(config: Any, declared: Settings[Any] | None) -> dict[str, Any]:
    """TargetLoop's batch limits and metadata flag from a parsed config object (none from a dict:
    the loop reads those keys itself)."""
    if declared is None:
        return {}
    limits = Limits(
        rows=config.batch_size_rows,
        bytes=config.batch_size_bytes,
        seconds=config.batch_wait_limit_seconds,
    )
    return {"limits": limits, "metadata_columns": config.add_metadata_columns}


def _secrets(config: dict[str, Any], declared: Settings[Any] | None) -> list[str]:
    """Values never to print: secret-looking keys' (tapwell.singer.config) and declared secrets'."""
    found = declared.secret_values(config) if declared is not None else []
    return sorted({*secret_values(config), *found}, key=len, reverse=True)


def _print_state(
    name: str, read_state: Callable[[dict[str, Any]], str | None] | None, config: dict[str, Any]
) -> None:
    """`--read-state`: the committed state as one exact JSON line, `{}` when none."""
    if read_state is None:
        raise ConfigError(
            f"{name} keeps no state in the destination: --read-state is not supported"
        )
    text = read_state(config)
    value: Any = {} if text is None else loads(text)
    if value is None:
        value = {}
    sys.stdout.write(dumps(value).decode() + "\n")
