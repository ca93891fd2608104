"""Paginators: from one page's response to the next request, or a stop with its reason.

Stop rules, checked after every page in this order: `max_pages` reached, `has_more_path` false,
`total_path` reached, an empty page (`stop_on_empty`), then the style's own rule (no next page
number for `none`, no token or URL for the others). A token, URL or whole page body seen before
is a loop: an error, never an endless run. The reason is kept in `stop_reason` for the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests
from tapwell.singer.errors import SyncError

from .config import PaginatorConfig
from .records import as_text, first_match


class PaginationLoop(SyncError):
    """The API sent a page token, URL or page it already sent: following it would never end."""


@dataclass
class Paginator:
    cfg: PaginatorConfig
    stream: str
    pages: int = 0
    records: int = 0
    stop_reason: str | None = None
    _tokens: dict[str, int] = field(default_factory=dict)
    _bodies: dict[bytes, int] = field(default_factory=dict)
    _page: int = 0
    _offset: int = 0

    def first_params(self) -> dict[str, Any]:
        """Params the paginator adds to the first request."""
        c = self.cfg
        out: dict[str, Any] = {}
        if c.type == "page":
            self._page = c.start
            out[c.param or "page"] = c.start
            if c.page_size and c.page_size_param:
                out[c.page_size_param] = c.page_size
        elif c.type == "offset":
            out[c.param or "offset"] = 0
            out[c.limit_param] = c.page_size
        elif c.page_size and c.page_size_param:
            out[c.page_size_param] = c.page_size
        return out

    def next(
        self, url: str, params: dict[str, Any], resp: requests.Response, body: Any, count: int
    ) -> tuple[str, dict[str, Any]] | None:
        """The next request's (url, params), or None with `stop_reason` set."""
        self.pages += 1
        self.records += count
        if self.pages == 1:
            self._tokens[url + "?" + repr(sorted(params.items()))] = 1
        self._check_body_loop(resp.content, count)
        reason = self._general_stop(body, count)
        if reason is not None:
            self.stop_reason = reason
            return None
        return self._next_request(url, params, resp, body, count)

    def _general_stop(self, body: Any, count: int) -> str | None:
        c = self.cfg
        if c.type == "none":
            return "one request (no paginator)"
        if c.max_pages is not None and self.pages >= c.max_pages:
            return f"max_pages ({c.max_pages}) reached"
        if c.has_more_path:
            more = first_match(c.has_more_path, body)
            if more is False or (isinstance(more, str) and more.lower() == "false") or more == 0:
                return f"has_more_path {c.has_more_path} is {more!r}"
        if c.total_path:
            total = first_match(c.total_path, body)
            if isinstance(total, int | str) and str(total).isdigit() and self.records >= int(total):
                return f"total_path {c.total_path}: {self.records} of {total} records read"
        if count == 0 and c.stop_on_empty:
            return "an empty page"
        return None

    def _next_request(
        self, url: str, params: dict[str, Any], resp: requests.Response, body: Any, count: int
    ) -> tuple[str, dict[str, Any]] | None:
        c = self.cfg
        if c.type == "page":
            self._page += 1
            return url, {**params, (c.param or "page"): self._page}
        if c.type == "offset":
            self._offset += count
            return url, {**params, (c.param or "offset"): self._offset}
        if c.type in ("cursor", "header_cursor"):
            if c.type == "cursor":
                token, where = (
                    first_match(c.cursor_path or "", body),
                    f"cursor_path {c.cursor_path}",
                )
            else:
                token, where = resp.headers.get(c.header or ""), f"header {c.header}"
            if token in (None, ""):
                self.stop_reason = f"no next cursor ({where} is empty)"
                return None
            self._seen(as_text(token), "cursor")
            return url, {**params, (c.param or "cursor"): as_text(token)}
        if c.type == "next_url":
            target = first_match(c.next_url_path or "", body)
            where = f"next_url_path {c.next_url_path}"
        else:  # link_header
            target = (resp.links.get("next") or {}).get("url")
            where = 'Link header rel="next"'
        if target in (None, "") or not isinstance(target, str):
            self.stop_reason = f"no next URL ({where} is empty)"
            return None
        full = urljoin(resp.url, target)
        self._seen(full, "next URL")
        # the URL as the API gives it; the client adds a param only where the URL lacks its name
        return full, params

    def _seen(self, token: str, what: str) -> None:
        page = self._tokens.get(token)
        if page is not None:
            raise PaginationLoop(
                f"stream {self.stream!r}: pagination loop: page {self.pages} gave the {what} "
                f"{token!r} already used for page {page + 1}; the API repeats itself: check the "
                "paginator settings (type, cursor_path, param) or set max_pages"
            )
        self._tokens[token] = self.pages

    def _check_body_loop(self, content: bytes, count: int) -> None:
        if count == 0:
            return
        digest = hashlib.blake2b(content, digest_size=16).digest()
        page = self._bodies.get(digest)
        if page is not None:
            raise PaginationLoop(
                f"stream {self.stream!r}: pagination loop: page {self.pages} is the same as page "
                f"{page}; the API ignores the paginator's param "
                f"({self.cfg.param or self.cfg.type!r}): check the paginator settings"
            )
        self._bodies[digest] = self.pages
