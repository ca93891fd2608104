"""One stream's pages: the first request built from the stream's settings (placeholders filled
from the bookmark and the parent record), then one request per page until the paginator stops."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from tapwell.singer.errors import ConfigError

from .client import Client, Request, query_names
from .config import StreamConfig
from .paginate import Paginator
from .records import as_text, extract, parse_body, path_missing
from .types import format_start

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


@dataclass
class Page:
    records: list[dict[str, Any]]
    url: str  # as requested, secrets masked
    number: int
    next_hint: str | None = None  # what the paginator will ask next (for --probe)
    stop_reason: str | None = None  # why this was the last page


def placeholders(template: Any) -> set[str]:
    """The `{name}`s in a template (string, or strings inside a dict/list)."""
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return {p for v in template.values() for p in placeholders(v)}
    if isinstance(template, list):
        return {p for v in template for p in placeholders(v)}
    return set()


def fill(
    template: Any, values: dict[str, Any], stream: str, where: str, quoted: bool = False
) -> Any:
    """`template` with each `{name}` replaced by values[name] (URL-quoted in a path)."""
    if isinstance(template, dict):
        return {k: fill(v, values, stream, f"{where}/{k}", quoted) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values, stream, where, quoted) for v in template]
    if not isinstance(template, str):
        return template

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise ConfigError(
                f"stream {stream!r}, {where}: placeholder {{{name}}} has no value "
                + (
                    "(no bookmark or start_value yet)"
                    if name == "start"
                    else "(not a field of the parent record; check the name or the stream's parent)"
                )
            )
        text = as_text(values[name])
        return quote(text, safe="") if quoted else text

    return _PLACEHOLDER.sub(one, template)


def _next_hint(url: str, params: dict[str, Any]) -> str:
    """The next URL and the params the client will add to it (those its query lacks)."""
    given = query_names(url)
    added = {k: v for k, v in params.items() if k not in given}
    return url + (f" {added}" if added else "")


def _params(sc: StreamConfig, values: dict[str, Any]) -> dict[str, Any]:
    """The stream's params filled in; a param that needs `{start}` is left out when there is none."""
    out = {}
    for key, value in sc.params.items():
        if "start" in placeholders(value) and "start" not in values:
            continue
        out[key] = fill(value, values, sc.name, f"params/{key}")
    return out


def context_values(sc: StreamConfig, parent: dict[str, Any] | None, start: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(parent or {})
    if start is not None:
        values["start"] = format_start(start, sc.start_format)
    return values


class _Prefetch:
    """The next page's request, sent in a thread while the current page's records are written
    (a daemon thread: an error elsewhere never waits for its retries)."""

    def __init__(self, client: Client, req: Request) -> None:
        self._outcome: tuple[requests.Response | None, BaseException | None] = (None, None)
        self._thread = threading.Thread(target=self._run, args=(client, req), daemon=True)
        self._thread.start()

    def _run(self, client: Client, req: Request) -> None:
        try:
            self._outcome = (client.send(req), None)
        except BaseException as exc:  # handed to the reader, raised there
            self._outcome = (None, exc)

    def result(self) -> requests.Response | None:
        self._thread.join()
        resp, error = self._outcome
        if error is not None:
            raise error
        return resp


def pages(
    client: Client,
    sc: StreamConfig,
    values: dict[str, Any],
    log: logging.Logger,
    quiet: bool = False,
    prefetch: bool = False,
) -> Iterator[Page]:
    """Every page of the stream for one context (a parent record, a start value). With
    `prefetch`, the next page is requested while the caller handles this one: one request in
    flight at a time, as without; only the server's answer time is overlapped with the work."""
    base = client.cfg.base_url.rstrip("/")
    url = base + "/" + fill(sc.path, values, sc.name, "path", quoted=True).lstrip("/")
    params = {
        **_params(sc, values),
        **(paginator := Paginator(sc.paginator, sc.name)).first_params(),
    }
    body = fill(sc.body, values, sc.name, "body") if sc.body is not None else None

    def request(url: str, params: dict[str, Any]) -> Request:
        return Request(sc.name, sc.method, url, params, dict(sc.headers), body, sc.ignore_status)

    number = 0
    ahead: _Prefetch | None = None
    while True:
        number += 1
        resp = ahead.result() if ahead is not None else client.send(request(url, params))
        if resp is None:
            return
        shown = client.mask(resp.url)
        parsed = parse_body(resp.content, sc.response_format, sc.name, shown)
        records = extract(parsed, sc.records_path, sc.name, shown)
        if number == 1 and not records and not quiet:
            _warn_missing_path(parsed, sc, shown, log)
        nxt = paginator.next(url, params, resp, parsed, len(records))
        hint = None if nxt is None else client.mask(_next_hint(*nxt))
        ahead = None
        if nxt is not None and prefetch:
            ahead = _Prefetch(client, request(*nxt))
        yield Page(records, shown, number, hint, paginator.stop_reason if nxt is None else None)
        if nxt is None:
            (log.debug if quiet else log.info)(
                "stream %s: stopped after %d page(s), %d record(s): %s",
                sc.name,
                paginator.pages,
                paginator.records,
                paginator.stop_reason,
            )
            return
        url, params = nxt


def _warn_missing_path(body: Any, sc: StreamConfig, url: str, log: logging.Logger) -> None:
    """A first page without records whose records_path names a place the body lacks: said once,
    as a misspelt path otherwise syncs nothing with exit 0."""
    missing = path_missing(body, sc.records_path)
    if missing:
        log.warning(
            "stream %s: records_path %s matches nothing in %s (%s): check records_path",
            sc.name,
            sc.records_path,
            url,
            missing,
        )
