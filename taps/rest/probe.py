"""`tap-rest --probe STREAM`: the first two requests of a stream, shown so a user can build a
config in minutes: each request (secrets masked), the records found at records_path, the next
page token or URL or the stop reason, and the schema inferred from what came back."""

from __future__ import annotations

import logging
from typing import IO, Any

from tapwell.singer.wire import dumps

from .client import Client
from .config import RestConfig, StreamConfig
from .discovery import sample_records
from .paginate import PaginationLoop
from .sync_pages import context_values, pages
from .types import infer_object, start_value

SHOWN = 3  # records printed per page


def _request_lines(client: Client) -> list[str]:
    req = client.last_request
    if req is None:
        return []
    lines = [f"{req.method} {client.mask(req.url or '')}"]
    for name, value in req.headers.items():
        if name.lower() in ("authorization", "proxy-authorization"):
            value = value.split(" ", 1)[0] + " ***"
        lines.append(f"  {name}: {client.mask(value)}")
    return lines


def probe(cfg: RestConfig, client: Client, name: str, log: logging.Logger, out: IO[str]) -> None:
    sc = cfg.stream(name)
    parent: dict[str, Any] | None = None
    if sc.parent is not None:
        parent = next(iter(sample_records(cfg, client, cfg.stream(sc.parent), 1, log)), None)
        if parent is None:
            out.write(f"stream {sc.parent!r} (the parent) has no records to probe {name!r} under\n")
            return
        out.write(f"under the first {sc.parent} record: {dumps(parent).decode()[:300]}\n")
    start = start_value(sc.start_value)
    seen: list[dict[str, Any]] = []
    shown: list[int] = []
    loop: PaginationLoop | None = None
    try:
        _show_pages(client, sc, context_values(sc, parent, start), log, out, seen, shown)
    except PaginationLoop as exc:  # shown with the schema so far, then the usual error and exit
        number = len(shown) + 1
        out.write(f"\n== request {number}\n" + "\n".join(_request_lines(client)) + "\n")
        out.write(f"== stop: {exc}\n")
        loop = exc
    schema = infer_object(seen)
    schema["type"] = "object"
    out.write(
        f"\n== schema inferred from {len(seen)} record(s) (paste as the stream's `schema`):\n"
    )
    from orjson import OPT_INDENT_2

    out.write(dumps(schema, OPT_INDENT_2).decode() + "\n")
    if loop is not None:
        raise loop


def _show_pages(
    client: Client,
    sc: StreamConfig,
    values: dict[str, Any],
    log: logging.Logger,
    out: IO[str],
    seen: list[dict[str, Any]],
    shown: list[int],
) -> None:
    for page in pages(client, sc, values, log):
        shown.append(page.number)
        out.write(f"\n== request {page.number}\n" + "\n".join(_request_lines(client)) + "\n")
        where = sc.records_path or "(the body)"
        out.write(f"== {len(page.records)} record(s) at records_path {where}\n")
        for record in page.records[:SHOWN]:
            out.write(dumps(record).decode() + "\n")
        if len(page.records) > SHOWN:
            out.write(f"... and {len(page.records) - SHOWN} more\n")
        seen.extend(page.records)
        if page.stop_reason:
            out.write(f"== stop: {page.stop_reason}\n")
        else:
            out.write(f"== next request: {page.next_hint}\n")
        if page.number >= 2:
            return
