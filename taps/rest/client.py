"""HTTP requests with one retry policy, on requests and tenacity.

tenacity runs the attempts (retry 429, 5xx, 408, connection errors and timeouts); this module
decides each wait: the server's `Retry-After` (seconds or an HTTP date) or rate-limit reset
(`X-RateLimit-Reset`, `RateLimit-Reset`, `RateLimit: ...;r=`) when it gives one, else exponential
backoff with jitter. `max_wait_seconds` caps the total waited for one request; a request that
exhausts its retries or the cap exits 75 (the runner retries the run). 401/403 fail at once
(exit 2) after one token refresh for OAuth2. HTTP errors are mapped here, in one place.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import tenacity
from tapwell.singer.config import redact
from tapwell.singer.errors import AuthenticationError, RetriableSyncError, SyncError

from .auth import Auth
from .config import RestConfig

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Transient(Exception):
    """One attempt failed in a way a later attempt may not: carries the response or the error."""

    def __init__(self, what: str, response: requests.Response | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.response = response


@dataclass
class Request:
    """One request as the paginator and the stream build it (before auth is applied)."""

    stream: str
    method: str
    url: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: Any = None
    ignore_status: tuple[int, ...] = ()


class Client:
    def __init__(self, cfg: RestConfig, log: logging.Logger, sleep: Any = time.sleep) -> None:
        self.cfg = cfg
        self.log = log
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "tap-rest (tapwell)"
        self.timeout = (cfg.connect_timeout_seconds, cfg.timeout_seconds)
        self.auth = Auth(cfg.auth, self.session, self.timeout)
        self._sleep = sleep
        self.requests_sent = 0
        self.last_request: requests.PreparedRequest | None = None  # for --probe

    def mask(self, text: str) -> str:
        return redact(text, self.cfg.secrets())

    def send(self, req: Request) -> requests.Response | None:
        """The response of `req` (None for a status in `ignore_status`), after retries."""
        plan: dict[str, float] = {"waited": 0.0, "next": 0.0}
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=lambda rs: self._stop(rs, plan),
            wait=lambda rs: self._wait(rs, plan),
            sleep=self._sleep,
            before_sleep=lambda rs: self._log_wait(req, rs, plan),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(req)
        except _Transient as exc:
            raise RetriableSyncError(self._gave_up(req, exc, plan)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ one attempt

    def _send_once(self, req: Request) -> requests.Response | None:
        resp = self._http(req)
        if resp.status_code == 401 and self.auth.refreshable:
            self.log.info(
                "stream %s: 401 Unauthorized; refreshing the OAuth2 token once", req.stream
            )
            self.auth.refresh(resp.request.headers.get("Authorization"))
            resp = self._http(req)
        status = resp.status_code
        if status < 300:
            self._respect_rate_limit(req, resp)
            return resp
        if status in req.ignore_status:
            self.log.info(
                "stream %s: %s answered %d; ignored (ignore_status)",
                req.stream,
                self.mask(resp.url),
                status,
            )
            return None
        if status in (401, 403):
            raise AuthenticationError(
                f"stream {req.stream!r}: {req.method} {self.mask(resp.url)} answered {status} "
                f"{resp.reason}: check the credentials in auth (type {self.cfg.auth.type!r})"
            )
        if status in RETRY_STATUS or status >= 500:
            raise _Transient(f"{status} {resp.reason}", resp)
        snippet = self.mask(resp.text[:200].replace("\n", " "))
        raise SyncError(
            f"stream {req.stream!r}: {req.method} {self.mask(resp.url)} answered {status} "
            f"{resp.reason} ({snippet!r}); check the stream's path and params, or add {status} "
            "to ignore_status"
        )

    def _http(self, req: Request) -> requests.Response:
        headers = {**self.cfg.headers, **req.headers}
        params = {**self.cfg.params, **req.params}
        try:
            self.auth.apply(headers, params)  # may fetch an OAuth2 token
        except RetriableSyncError as exc:
            raise _Transient(str(exc)) from None
        given = query_names(req.url)  # a next URL's own query wins: no name sent twice
        params = {k: v for k, v in params.items() if k not in given}
        self.requests_sent += 1
        try:
            resp = self.session.request(
                req.method,
                req.url,
                params=params or None,
                headers=headers,
                json=req.body,
                timeout=self.timeout,
            )
            self.last_request = resp.request
            return resp
        except requests.Timeout as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None

    # ------------------------------------------------------------------ waits

    def _wait(self, rs: tenacity.RetryCallState, plan: dict[str, float]) -> float:
        """The wait before the next attempt: what the server asked for, else backoff.
        (tenacity asks for the wait before it asks whether to stop.)"""
        exc = rs.outcome.exception() if rs.outcome else None
        resp = exc.response if isinstance(exc, _Transient) else None
        told = server_wait(resp) if resp is not None else None
        wait = told if told is not None else self._backoff(rs.attempt_number)
        plan["next"] = wait
        plan["told"] = 1.0 if told is not None else 0.0
        return wait

    def _stop(self, rs: tenacity.RetryCallState, plan: dict[str, float]) -> bool:
        """Stop when retries are used up, or when the next wait would pass max_wait_seconds."""
        if rs.attempt_number > self.cfg.max_retries:
            return True
        if plan["waited"] + plan["next"] > self.cfg.max_wait_seconds:
            plan["over"] = plan["next"]
            return True
        plan["waited"] += plan["next"]
        return False

    def _backoff(self, attempt: int) -> float:
        base = self.cfg.backoff_seconds * 2 ** (attempt - 1)
        return min(base, 60.0) + random.uniform(0, self.cfg.backoff_seconds)

    def _log_wait(self, req: Request, rs: tenacity.RetryCallState, plan: dict[str, float]) -> None:
        exc = rs.outcome.exception() if rs.outcome else None
        why = "as the server asked (Retry-After / rate limit)" if plan.get("told") else "(backoff)"
        self.log.warning(
            "stream %s: %s %s: %s; retry %d of %d in %.2fs %s",
            req.stream,
            req.method,
            self.mask(req.url),
            exc,
            rs.attempt_number,
            self.cfg.max_retries,
            plan["next"],
            why,
        )

    def _gave_up(self, req: Request, exc: _Transient, plan: dict[str, float]) -> str:
        where = f"stream {req.stream!r}: {req.method} {self.mask(req.url)}"
        if "over" in plan:
            return (
                f"{where}: {exc.what}; the next wait ({plan['over']:.0f}s) would pass "
                f"max_wait_seconds ({self.cfg.max_wait_seconds:g}s, {plan['waited']:.1f}s waited); "
                "the run can be retried later (exit 75)"
            )
        return (
            f"{where}: {exc.what} after {self.cfg.max_retries + 1} attempts "
            f"({plan['waited']:.1f}s waited); the run can be retried later (exit 75)"
        )

    def _respect_rate_limit(self, req: Request, resp: requests.Response) -> None:
        """When the server says no requests remain, wait for its reset before the next one."""
        remaining = _header_number(resp, "X-RateLimit-Remaining", "RateLimit-Remaining")
        if remaining is None:
            remaining = _ratelimit_field(resp, "r")
        if remaining is None or remaining > 0:
            return
        wait = _reset_wait(resp)
        if wait is None or wait <= 0:
            return
        if wait > self.cfg.max_wait_seconds:
            raise RetriableSyncError(
                f"stream {req.stream!r}: the rate limit resets in {wait:.0f}s, more than "
                f"max_wait_seconds ({self.cfg.max_wait_seconds:g}s); the run can be retried later"
            )
        self.log.info(
            "stream %s: rate limit reached; waiting %.2fs for its reset", req.stream, wait
        )
        self._sleep(wait)


def query_names(url: str) -> set[str]:
    """The names of the params a URL already carries in its query."""
    return {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def server_wait(resp: requests.Response) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or HTTP date), else a rate-limit
    reset (only on 429 / 503, where the limit is the reason)."""
    value = resp.headers.get("Retry-After")
    if value:
        value = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - time.time())
    if resp.status_code in (429, 503):
        return _reset_wait(resp)
    return None


def _reset_wait(resp: requests.Response) -> float | None:
    reset = _header_number(resp, "X-RateLimit-Reset", "RateLimit-Reset")
    if reset is None:
        reset = _ratelimit_field(resp, "t") or _ratelimit_field(resp, "reset")
    if reset is None:
        return None
    if reset > 1_000_000_000:  # an epoch time (GitHub's style), not a number of seconds
        return max(0.0, reset - time.time())
    return reset


def _header_number(resp: requests.Response, *names: str) -> float | None:
    for name in names:
        value = resp.headers.get(name)
        if value is not None:
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


def _ratelimit_field(resp: requests.Response, key: str) -> float | None:
    """A field of the IETF `RateLimit` header (`limit=100, remaining=0, reset=5` in the older
    drafts, `"default";r=0;t=5` in the newer)."""
    value = resp.headers.get("RateLimit")
    if not value:
        return None
    names = {"r": ("r", "remaining"), "t": ("t", "reset"), "reset": ("reset",)}[key]
    for name in names:
        m = re.search(rf"(?:^|[;,\s]){name}=(\d+(?:\.\d+)?)", value)
        if m:
            return float(m.group(1))
    return None
