"""A real browser for the web page tests: Debian's chromium driven by Playwright (from PyPI).
Never `playwright install` (it downloads a browser build and cannot work offline): chromium comes
from apt, installed here when missing and we are root, else the tests say how and are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / ".screenshots"  # ignored by git


def chromium() -> str:
    """The path of Debian's chromium, installing it (apt-get, as root) when it is missing."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
        if os.path.exists(CHROMIUM):
            return CHROMIUM
    pytest.skip("the browser tests need Debian's chromium: sudo apt-get install -y chromium")


def screenshots_dir() -> Path:
    """Where the browser tests save their screenshots: $TAPWELL_SCREENSHOTS (`make screenshots`
    sets docs/screenshots), else .screenshots/ at the top of the repo."""
    folder = Path(os.environ.get("TAPWELL_SCREENSHOTS") or SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def launch() -> Iterator[Any]:
    """A headless chromium (Playwright's sync API); closed at the end."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
