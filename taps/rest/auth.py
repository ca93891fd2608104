"""Authentication: what each `auth.type` adds to a request, and OAuth2 tokens cached until they
expire, refreshed once when the API answers 401."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from tapwell.singer.errors import AuthenticationError, RetriableSyncError
from tapwell.singer.wire import loads

from .config import AuthConfig

_EARLY = 30.0  # refresh a token this long before the server says it expires


class Auth:
    """Headers and params for each request; `refresh()` after a 401 (True when it can help)."""

    def __init__(self, cfg: AuthConfig, session: requests.Session, timeout: tuple[float, float]):
        self.cfg = cfg
        self._session = session
        self._timeout = timeout
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def refreshable(self) -> bool:
        return self.cfg.type.startswith("oauth2_")

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        kind = self.cfg.type
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {self.cfg.token}"
        elif kind == "basic":
            import base64

            pair = f"{self.cfg.username}:{self.cfg.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif kind == "api_key":
            target = headers if self.cfg.in_ == "header" else params
            target[self.cfg.name] = self.cfg.value or ""
        elif self.refreshable:
            headers["Authorization"] = f"Bearer {self._oauth_token()}"

    def refresh(self, used: str | None) -> bool:
        """Forget the token a 401 refused (unless another thread already replaced it)."""
        if not self.refreshable:
            return False
        with self._lock:
            if used is None or used == f"Bearer {self._token}":
                self._token = None
        return True

    def _oauth_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._token, lifetime = self._fetch_token()
                self._expires = time.monotonic() + max(lifetime - _EARLY, lifetime / 2)
                self.refreshes += 1
            return self._token

    def _fetch_token(self) -> tuple[str, float]:
        cfg = self.cfg
        data: dict[str, str] = {"client_id": cfg.client_id or ""}
        if cfg.type == "oauth2_client_credentials":
            data["grant_type"] = "client_credentials"
        else:
            data["grant_type"] = "refresh_token"
            data["refresh_token"] = cfg.refresh_token or ""
        if cfg.client_secret:
            data["client_secret"] = cfg.client_secret
        if cfg.scopes:
            data["scope"] = " ".join(cfg.scopes)
        url = cfg.token_url or ""
        try:
            resp = self._session.post(url, data=data, timeout=self._timeout)
        except requests.RequestException as exc:
            raise RetriableSyncError(
                f"auth: the token endpoint {url} did not answer ({type(exc).__name__}); "
                "the run can be retried"
            ) from None
        if resp.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"auth: the token endpoint {url} refused the credentials "
                f"({resp.status_code} {resp.reason}); check auth/client_id, client_secret"
                + (" and refresh_token" if cfg.type == "oauth2_refresh_token" else "")
            )
        if resp.status_code >= 300:
            raise RetriableSyncError(
                f"auth: the token endpoint {url} answered {resp.status_code} {resp.reason}"
            )
        try:
            body = loads(resp.content)
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError(
                f"auth: the token endpoint {url} answered without an access_token; "
                "check auth/token_url"
            ) from None
        lifetime = float(body.get("expires_in") or 3600)
        return str(token), lifetime
