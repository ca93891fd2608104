"""`tapwell serve` as a real process on a free 127.0.0.x port, for the serve tests: start it, wait
for /healthz, talk to it with httpx, stop it with a signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.runner_project import BIN


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Serve:
    def __init__(self, root: Path, host: str = "127.0.0.1", env: dict[str, str] | None = None):
        self.root = root
        self.host = host
        self.port = free_port(host)
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = f"http://{host}:{self.port}"
        self.headers: dict[str, str] = {}

    def start(self, wait: bool = True) -> Serve:
        self.log = open(self.root / f"serve-{self.port}.log", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(BIN / "tapwell"),
                "--project",
                str(self.root),
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        if wait:
            self.wait_up()
        return self

    def wait_up(self, seconds: float = 120) -> None:  # a hang guard: imports are slow under load
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"tapwell serve exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"tapwell serve did not answer: {self.output()}")

    def output(self) -> str:
        return (self.root / f"serve-{self.port}.log").read_text()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(
            self.url + path, headers={**self.headers, **kw.pop("headers", {})}, timeout=30, **kw
        )

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(
            self.url + path, headers={**self.headers, **kw.pop("headers", {})}, timeout=30, **kw
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code
