"""`tapwell serve`: the command line of the long-running service."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
from pathlib import Path

import click

from tapwell.singer.errors import ConfigError


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_token(host: str) -> str | None:
    """TAPWELL_SERVE_TOKEN; required (a ConfigError, exit 2) when `host` is not loopback."""
    token = os.environ.get("TAPWELL_SERVE_TOKEN") or None
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without a token: set TAPWELL_SERVE_TOKEN (every /api "
            "request then needs Authorization: Bearer TOKEN), or bind 127.0.0.1"
        )
    return token


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` for uvicorn, bound before serve starts anything (its
    scheduler could start runs): a port in use is one line, exit 2, where uvicorn's own bind
    printed its ERROR after serve said it was listening."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = (
            " (another tapwell serve? choose another --port)"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise ConfigError(
            f"cannot listen on {host}:{port}: {(exc.strerror or str(exc)).lower()}{hint}"
        ) from None
    return sock


@click.command(
    "serve",
    help="Run the scheduler, the JSON API (/api), /metrics and /healthz in one long-running "
    "process: integrations run at their `schedule:` (cron, in their `timezone:`) and after their "
    "`after:` integrations succeed, each as `tapwell run NAME`. Bound to an address other than "
    "loopback it needs TAPWELL_SERVE_TOKEN. SIGTERM (or Ctrl-C) lets running runs finish "
    "(serve.shutdown_grace_seconds), then interrupts them.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    from tapwell.sdk.cli_util import run_main

    def body() -> None:
        token = check_token(host)
        try:
            import uvicorn

            from tapwell.runner.serve.app import make_app
            from tapwell.runner.serve.service import Service
        except ImportError as exc:
            raise ConfigError(
                f"tapwell serve needs its extra ({exc.name} is missing): pip install 'tapwell[serve]'"
            ) from None
        given = (ctx.obj or {}).get("project") or os.environ.get("TAPWELL_PROJECT") or "."
        sock = listen(host, port)
        service = Service(Path(given), token=token)
        click.echo(
            f"tapwell serve: {len(service.scheduler.project.names)} integration(s) from "
            f"{service.file}; listening on http://{host}:{port}",
            err=True,
        )
        config = uvicorn.Config(
            make_app(service),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,  # open log streams; the runs get their own grace
            lifespan="on",
        )
        # uvicorn stops gracefully on SIGTERM and SIGINT, then raises the signal again with the
        # handler it found: this one, so a stop asked for by systemd, Kubernetes or a Ctrl-C
        # exits 0 (Python's own SIGINT handler made a Ctrl-C print a traceback)
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, lambda signum, frame: None)
        uvicorn.Server(config).run(sockets=[sock])
        click.echo("tapwell serve: stopped", err=True)

    raise SystemExit(run_main("tapwell", body))
