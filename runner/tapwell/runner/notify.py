"""Notifications: webhooks on failure and on success (a JSON body Slack's incoming webhooks
accept: `text`, plus a `tapwell` object for machines), and a dead-man switch in the
healthchecks.io style (URL/start when a run begins, URL after success, URL/fail after failure).

A notification that cannot be delivered is logged and never changes the run's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from tapwell.singer.config import redact


def _urls(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _send(url: str, body: bytes | None, timeout: float, log: Callable[[str], None]) -> None:
    import http.client  # here: most runs send nothing, and urllib.request is slow to import
    import urllib.error
    import urllib.request

    try:
        req = urllib.request.Request(
            url,
            data=body,
            method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json", "User-Agent": "tapwell"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URLs come from tapwell.yml)
            resp.read()
    except (ValueError, http.client.InvalidURL):  # its text quotes the URL, a secret
        log(
            "[tapwell] notification failed: a URL of notify: in tapwell.yml is not a valid "
            "http:// or https:// URL (percent-encode its blanks, quotes and non-ASCII characters)"
        )
    except (urllib.error.URLError, OSError) as exc:
        log(f"[tapwell] notification to {_safe(url)} failed: {getattr(exc, 'reason', exc)}")


def _safe(url: str) -> str:
    """A URL fit for a log line: scheme and host only (webhook paths are secrets)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/..."


def message(
    integration: str,
    outcome: str,
    run_id: str,
    attempts: int,
    rows: dict[str, int],
    error: str | None,
    behind: dict[str, dict[str, Any]] | None = None,
    behind_text: str = "",
) -> dict[str, Any]:
    """The webhook body: `text` for people (Slack), `tapwell` for machines; `behind` is the
    fan-out targets the run left behind the tap (tapwell.runner.history.lagging), and
    `behind_text` the sentence that says so."""
    total = sum(rows.values())
    icon = ":white_check_mark:" if outcome == "succeeded" else ":x:"
    text = f"{icon} tapwell: {integration} {outcome} after {attempts} attempt(s), {total:,} rows (run {run_id})"
    if error:
        text += f"\n{error}"
    if behind_text:
        text += f"\n{behind_text}"
    return {
        "text": text,
        "tapwell": {
            "integration": integration,
            "outcome": outcome,
            "run_id": run_id,
            "attempts": attempts,
            "rows": rows,
            "error": error,
            "behind": behind or {},
        },
    }


class Notifier:
    def __init__(
        self, settings: dict[str, Any], log: Callable[[str], None], secrets: Sequence[str] = ()
    ) -> None:
        self.settings = settings
        self.log = log
        self.secrets = list(secrets)
        self.timeout = float(settings.get("timeout_seconds") or 10)

    def started(self) -> None:
        if self.settings.get("healthcheck"):
            _send(
                str(self.settings["healthcheck"]).rstrip("/") + "/start",
                None,
                self.timeout,
                self.log,
            )

    def finished(self, body: dict[str, Any]) -> None:
        ok = body["tapwell"]["outcome"] == "succeeded"
        data = redact(orjson.dumps(body).decode(), self.secrets).encode()
        for url in _urls(self.settings.get("on_success" if ok else "on_failure")):
            _send(url, data, self.timeout, self.log)
        if self.settings.get("healthcheck"):
            _send(
                str(self.settings["healthcheck"]).rstrip("/") + ("" if ok else "/fail"),
                None,
                self.timeout,
                self.log,
            )
