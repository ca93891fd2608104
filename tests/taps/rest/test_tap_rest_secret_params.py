"""An API key written as a header or a query param whose name says so (`X-Api-Key`,
`api_key`, `access_token`), not under `auth`, is masked like auth's secrets: in --probe's
requests and headers and in a next URL the API echoes it in (error lines use the same mask). tap-rest masked
only auth's values: `--probe` printed `X-Api-Key: <the key>` and `?api_key=<the key>`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.rest_server import RestServer

TAP = str(Path(sys.executable).parent / "tap-rest")
KEYS = ("q-key-0001", "h-key-0002", "t-key/0003+")


def _config(srv: RestServer, path: str, **more: Any) -> dict[str, Any]:
    stream = {
        "name": "orders",
        "path": path,
        "primary_key": ["id"],
        "records_path": "$.data[*]",
        "params": {"access_token": KEYS[2]},
        **more,
    }
    return {
        "base_url": srv.url,
        "params": {"api_key": KEYS[0]},
        "headers": {"X-Api-Key": KEYS[1]},
        "max_retries": 0,
        "streams": [stream],
    }


def _run(config: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "c.json").write_text(json.dumps(config))
    return subprocess.run(
        [TAP, "--config", str(tmp_path / "c.json"), *args], capture_output=True, text=True
    )


def test_probe_masks_keys_in_params_and_headers(tmp_path: Path) -> None:
    with RestServer() as srv:
        paginator = {"type": "next_url", "next_url_path": "$.links.next"}
        out = _run(_config(srv, "/orders_echo", paginator=paginator), tmp_path, "--probe", "orders")
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert "X-Api-Key: ***" in text and "api_key=***" in text and "access_token=***" in text
    assert "== next request: " in text  # the echoed next URL carries the keys too
    for key in KEYS:
        assert key not in text
    assert "t-key%2F0003%2B" not in text  # as a query spells it
