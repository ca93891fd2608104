"""From a response body to records: JSON parsed exactly (tapwell.singer.wire: a 20-digit id and a
0.1 stay as sent, never a float; every number keeps its spelling, `read_json`), JSON lines, and
`records_path` (JSONPath, python-jsonpath).

Simple paths (`$`, `$.data`, `$.data.items[*]`) are walked directly (the hot path); any other
JSONPath goes to the library. A match that is a list gives its items: `$.data` and `$.data[*]`
mean the same records.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jsonpath
from tapwell.singer.errors import SyncError
from tapwell.singer.wire import JsonNumber, json_problem, loads, loads_spelled, may_respell


class MalformedResponse(SyncError):
    """The API's answer is not the JSON the stream expects (exit 65, as malformed input)."""

    exit_code = 65


_SIMPLE = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)(\[\*\])?")


@functools.lru_cache(maxsize=256)
def compiled(path: str) -> Callable[[Any], list[Any]]:
    """A function from a body to the values `path` matches."""
    m = _SIMPLE.fullmatch(path)
    if m is None:
        found = jsonpath.compile(path)
        return lambda body: list(found.findall(body))
    keys = [k for k in m.group(1).split(".") if k]
    star = bool(m.group(2))

    def walk(body: Any) -> list[Any]:
        node = body
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                return []
            node = node[k]
        if star:
            if isinstance(node, list):
                return node
            return list(node.values()) if isinstance(node, dict) else []
        return [node]

    return walk


def first_match(path: str, body: Any) -> Any:
    """The first value `path` matches in `body`, or None."""
    found = compiled(path)(body)
    return found[0] if found else None


def read_json(raw: bytes) -> Any:
    """One JSON value of a body, every number as the API spelled it (`1.50`, `1E5`, `-0`, a
    document's too): read by `loads_spelled` (JsonNumber) when `may_respell` finds a number that
    `loads` would write back otherwise, else by `loads` (orjson; Decimal past a float's digits),
    whose numbers are written back as they came."""
    return loads_spelled(raw) if may_respell(raw) else loads(raw)


def as_text(value: Any) -> str:
    """A value as it goes into a URL (a cursor, a parent's field): a number as the API spelled it
    (str() of a JsonNumber would write 1E5 as 1E+5)."""
    return value.text if type(value) is JsonNumber else str(value)


def parse_body(content: bytes, fmt: str, stream: str, url: str) -> Any:
    """The body as JSON values (a list of values for JSON lines); MalformedResponse naming the
    stream, the URL (secrets masked by the caller) and the fix."""
    if fmt == "jsonl":
        out = []
        for n, line in enumerate(content.splitlines(), 1):
            if line.strip():
                try:
                    out.append(read_json(line))
                except ValueError as exc:
                    raise MalformedResponse(
                        f"stream {stream!r}: {url} line {n} is {json_problem(exc)}; the API "
                        "did not send JSON lines: check the path, or set response_format to json"
                    ) from None
        return out
    if not content.strip():
        return None
    try:
        return read_json(content)
    except ValueError as exc:
        start = content[:60].decode("utf-8", "replace").replace("\n", " ")
        raise MalformedResponse(
            f"stream {stream!r}: {url} answered {json_problem(exc)}, starting {start!r}; "
            "check base_url and the stream's path (an HTML page means a wrong URL or a login "
            "page), or set response_format to jsonl if it sends one JSON value per line"
        ) from None


def extract(body: Any, records_path: str | None, stream: str, url: str) -> list[dict[str, Any]]:
    """The records of one page. Without records_path: a list body's items, an object body itself."""
    if body is None:
        return []
    found = compiled(records_path)(body) if records_path else [body]
    if len(found) == 1 and isinstance(found[0], list):
        found = found[0]
    for value in found:
        if not isinstance(value, dict):
            raise MalformedResponse(
                f"stream {stream!r}: {url}: records_path {records_path or '(none)'} found "
                f"{type(value).__name__} {str(value)[:40]!r}, not an object; point records_path "
                "at the list of records (e.g. $.data[*])"
            )
    return found


def path_missing(body: Any, records_path: str | None) -> str | None:
    """When `records_path` names a place the body does not have (a misspelt `$.dta[*]`, not an
    empty `data` list), a hint naming the body's top-level keys; else None."""
    if not records_path or not isinstance(body, dict):
        return None
    container = records_path[:-3] if records_path.endswith("[*]") else records_path
    if container in ("", "$") or compiled(container)(body):
        return None
    keys = ", ".join(list(body)[:10]) or "none"
    return f"its top-level keys: {keys}"
