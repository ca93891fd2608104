"""Debian's Prometheus and Pushgateway for the serve tests: installed with apt-get when missing
(as root; otherwise the test fails saying what to install), each started on its own port with
its own data folder under the test's temporary folder, and queried through its own HTTP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.serve_process import free_port

PACKAGES = {"prometheus": "prometheus", "prometheus-pushgateway": "prometheus-pushgateway"}


def ensure(binary: str) -> str:
    """The path of `binary`, installing its Debian package first when it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    package = PACKAGES[binary]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{binary} is missing: install it with `sudo apt-get install -y {package}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # another apt-get (a parallel test, unattended-upgrades) may hold dpkg's lock: wait for it
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    for argv in (
        ["apt-get", *wait, "update", "-qq"],
        ["apt-get", *wait, "install", "-y", "-qq", package],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-500:]}")
    found = shutil.which(binary)
    if not found:
        pytest.fail(f"apt-get installed {package} but {binary} is not on PATH")
    return found


class Server:
    """A started Prometheus or Pushgateway; stopped by `stop()`."""

    def __init__(self, argv: list[str], port: int, folder: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / f"{Path(argv[0]).name}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{argv[0]} exited: {self.log.read_text()[-800:]}")
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{argv[0]} did not get ready: {self.log.read_text()[-800:]}")

    def get(self, path: str, **params: Any) -> Any:
        return httpx.get(self.url + path, params=params, timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def pushgateway(folder: Path) -> Server:
    port = free_port()
    exe = ensure("prometheus-pushgateway")
    return Server([exe, f"--web.listen-address=127.0.0.1:{port}"], port, folder)


def prometheus(folder: Path, scrape: str) -> Server:
    """Prometheus scraping `scrape` (host:port) every second."""
    port = free_port()
    exe = ensure("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: tapwell\n    static_configs: [{{targets: ['{scrape}']}}]\n"
    )
    return Server(
        [
            exe,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        folder,
    )
