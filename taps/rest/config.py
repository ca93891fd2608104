"""tap-rest's config: parsed once into frozen dataclasses from the declarations in settings.py,
with defaults filled in and every problem reported on its own line.

Unknown keys are refused (a misspelt `replication_kye` would otherwise silently sync everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tapwell.singer.config import SECRET_KEY, printed_forms
from tapwell.singer.errors import ConfigError

from .settings import (
    AUTH_SETTINGS,
    PAGINATOR_SETTINGS,
    START_FORMATS,
    STREAM_SETTINGS,
    TOP_SETTINGS,
    Setting,
    default_of,
    minimum_of,
    settings_markdown,
    settings_schema,
)

__all__ = ["RestConfig", "StreamConfig", "parse_config", "settings_markdown", "settings_schema"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class AuthConfig:
    type: str = "none"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    name: str = "X-API-Key"
    value: str | None = None
    in_: str = "header"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    scopes: tuple[str, ...] = ()

    def secrets(self) -> list[str]:
        """The values never to print."""
        found = [self.token, self.password, self.value, self.client_secret, self.refresh_token]
        if self.type == "basic" and not self.password:
            found.append(self.username)  # a key sent as the user name (Stripe's secret key)
        return [s for s in found if s]


@dataclass(frozen=True)
class PaginatorConfig:
    type: str = "none"
    param: str | None = None
    start: int = 1
    page_size: int | None = None
    page_size_param: str | None = None
    limit_param: str = "limit"
    cursor_path: str | None = None
    next_url_path: str | None = None
    header: str | None = None
    has_more_path: str | None = None
    total_path: str | None = None
    max_pages: int | None = None
    stop_on_empty: bool = True


@dataclass(frozen=True)
class StreamConfig:
    name: str
    path: str
    method: str = "GET"
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    records_path: str | None = None
    response_format: str = "json"
    primary_key: tuple[str, ...] = ()
    replication_key: str | None = None
    start_value: str | None = None
    start_format: str = "iso"
    lookback_seconds: int = 0
    client_filter: bool = True
    records_sorted: bool = False
    paginator: PaginatorConfig = field(default_factory=PaginatorConfig)
    ignore_status: tuple[int, ...] = ()
    parent: str | None = None
    parent_fields: tuple[str, ...] = ()
    parent_state: bool = True
    child_concurrency: int = 1
    schema: dict[str, Any] | None = None
    infer_records: int = 100


@dataclass(frozen=True)
class RestConfig:
    base_url: str
    streams: tuple[StreamConfig, ...]
    auth: AuthConfig = field(default_factory=AuthConfig)
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 30
    connect_timeout_seconds: float = 10
    max_retries: int = 8
    max_wait_seconds: float = 600
    backoff_seconds: float = 1.0

    def stream(self, name: str) -> StreamConfig:
        for s in self.streams:
            if s.name == name:
                return s
        names = ", ".join(s.name for s in self.streams)
        raise ConfigError(f"no stream {name!r} in the config (streams: {names})")

    def children(self, name: str) -> list[StreamConfig]:
        return [s for s in self.streams if s.parent == name]

    def secrets(self) -> list[str]:
        """The values never to print, longest first: the auth's secrets, and the values of
        headers and params whose names look secret (`X-Api-Key`, `api_key`, `access_token`: a
        key put there rather than under auth), each also as a URL's query or a JSON string
        spells it (tapwell.singer.config.printed_forms)."""
        found = self.auth.secrets()
        named = [self.headers, self.params]
        for s in self.streams:
            named += [s.headers, s.params]
        for values in named:
            found += [
                str(v)
                for k, v in values.items()
                if SECRET_KEY.search(str(k)) and isinstance(v, (str, int)) and str(v)
            ]
        return sorted({form for v in found for form in printed_forms(v)}, key=len, reverse=True)


# ---------------------------------------------------------------------------------- parsing


def _read(
    raw: Any, settings: tuple[Setting, ...], where: str, problems: list[str]
) -> dict[str, Any]:
    """The values of one config object with defaults filled in; each problem appended as a line."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a JSON object")
        return {s.name: default_of(s) for s in settings}
    known = {s.name for s in settings}
    for key in raw:
        if key not in known:
            problems.append(f"{where}/{key}: unknown setting (known: {', '.join(sorted(known))})")
    out: dict[str, Any] = {}
    for s in settings:
        value = raw.get(s.name)
        if value is None:
            if s.required:
                problems.append(f"{where}/{s.name}: required ({s.help})")
            out[s.name] = default_of(s)
            continue
        ok = isinstance(value, _PY_TYPES[s.type[0]]) and not (
            s.type[0] in ("integer", "number") and isinstance(value, bool)
        )
        if not ok:
            shown = "a secret value" if s.secret else type(value).__name__
            problems.append(f"{where}/{s.name}: must be {_a(s.type[0])}, not {shown}")
            out[s.name] = default_of(s)
        elif s.choices and value not in s.choices:
            problems.append(f"{where}/{s.name}: {value!r} is not one of {', '.join(s.choices)}")
            out[s.name] = default_of(s)
        elif (low := minimum_of(s)) is not None and value < low:
            problems.append(f"{where}/{s.name}: must be at least {low:g}")
            out[s.name] = default_of(s)
        else:
            out[s.name] = value
    return out


def _a(kind: str) -> str:
    return {"integer": "an integer", "array": "an array", "object": "an object"}.get(
        kind, f"a {kind}"
    )


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: must be a list of strings")
        return ()
    return tuple(value)


def _auth(raw: Any, problems: list[str]) -> AuthConfig:
    v = _read(raw, AUTH_SETTINGS, "auth", problems)
    kind = v["type"]
    needs = {
        "bearer": ("token",),
        "basic": ("username",),  # an empty password is allowed (Stripe's secret key as the user)
        "api_key": ("value",),
        "oauth2_client_credentials": ("token_url", "client_id", "client_secret"),
        "oauth2_refresh_token": ("token_url", "client_id", "refresh_token"),
    }.get(kind, ())
    for key in needs:
        if not v.get(key):
            problems.append(f"auth/{key}: required for auth type {kind!r}")
    if v["token_url"] and not _is_http_url(v["token_url"]):
        problems.append("auth/token_url: must be an absolute http(s) URL")
    return AuthConfig(
        type=kind,
        token=v["token"],
        username=v["username"],
        password=v["password"],
        name=v["name"],
        value=v["value"],
        in_=v["in"],
        token_url=v["token_url"],
        client_id=v["client_id"],
        client_secret=v["client_secret"],
        refresh_token=v["refresh_token"],
        scopes=_strings(v["scopes"], "auth/scopes", problems),
    )


def _paginator(raw: Any, where: str, problems: list[str]) -> PaginatorConfig:
    v = _read(raw, PAGINATOR_SETTINGS, where, problems)
    kind = v["type"]
    required = {
        "cursor": "cursor_path",
        "next_url": "next_url_path",
        "header_cursor": "header",
        "offset": "page_size",
    }.get(kind)
    if required and not v[required]:
        problems.append(f"{where}/{required}: required for paginator type {kind!r}")
    default_param = {
        "page": "page",
        "offset": "offset",
        "cursor": "cursor",
        "header_cursor": "cursor",
    }
    unstoppable = not (v["has_more_path"] or v["total_path"] or v["max_pages"])
    if kind in ("page", "offset") and not v["stop_on_empty"] and unstoppable:
        problems.append(
            f"{where}/stop_on_empty: false needs has_more_path, total_path or max_pages "
            f"(the {kind} paginator has no other way to stop)"
        )
    for key in ("cursor_path", "next_url_path", "has_more_path", "total_path"):
        if v[key]:
            _check_jsonpath(v[key], f"{where}/{key}", problems)
    return PaginatorConfig(
        type=kind,
        param=v["param"] or default_param.get(kind),
        start=v["start"],
        page_size=v["page_size"],
        page_size_param=v["page_size_param"],
        limit_param=v["limit_param"],
        cursor_path=v["cursor_path"],
        next_url_path=v["next_url_path"],
        header=v["header"],
        has_more_path=v["has_more_path"],
        total_path=v["total_path"],
        max_pages=v["max_pages"],
        stop_on_empty=v["stop_on_empty"],
    )


def _check_jsonpath(path: str, where: str, problems: list[str]) -> None:
    import jsonpath

    try:
        jsonpath.compile(path)
    except jsonpath.JSONPathError as exc:
        problems.append(f"{where}: {path!r} is not a JSONPath ({str(exc).splitlines()[0]})")


def _stream(raw: Any, i: int, problems: list[str]) -> StreamConfig:
    where = f"streams/{i}"
    v = _read(raw, STREAM_SETTINGS, where, problems)
    fmt = v["start_format"]
    if fmt not in START_FORMATS and "%" not in fmt:
        problems.append(
            f"{where}/start_format: {fmt!r} is not iso, date, epoch, epoch_ms or a strftime pattern"
        )
    if v["records_path"]:
        _check_jsonpath(v["records_path"], f"{where}/records_path", problems)
    if v["child_concurrency"] > 1 and not v["parent"]:
        problems.append(f"{where}/child_concurrency: only a child stream (with parent) uses it")
    statuses = v["ignore_status"]
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in statuses):
        problems.append(f"{where}/ignore_status: must be a list of HTTP status numbers")
        statuses = ()
    return StreamConfig(
        name=v["name"] or f"#{i}",
        path=v["path"] or "",
        method=v["method"],
        params=dict(v["params"]),
        body=v["body"],
        headers=dict(v["headers"]),
        records_path=v["records_path"],
        response_format=v["response_format"],
        primary_key=_strings(v["primary_key"], f"{where}/primary_key", problems),
        replication_key=v["replication_key"],
        start_value=v["start_value"],
        start_format=fmt,
        lookback_seconds=v["lookback_seconds"],
        client_filter=v["client_filter"],
        records_sorted=v["records_sorted"],
        paginator=_paginator(v["paginator"], f"{where}/paginator", problems),
        ignore_status=tuple(statuses),
        parent=v["parent"],
        parent_fields=_strings(v["parent_fields"], f"{where}/parent_fields", problems),
        parent_state=v["parent_state"],
        child_concurrency=v["child_concurrency"],
        schema=v["schema"],
        infer_records=v["infer_records"],
    )


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_streams(streams: list[StreamConfig], problems: list[str]) -> None:
    names = [s.name for s in streams]
    by_name = {s.name: s for s in streams}
    for i, s in enumerate(streams):
        if names.count(s.name) > 1 and names.index(s.name) == i:
            problems.append(f"streams: the name {s.name!r} is used {names.count(s.name)} times")
        if s.parent is not None and s.parent not in by_name:
            problems.append(f"streams/{i}/parent: no stream is named {s.parent!r}")
        if s.parent is not None:
            seen = {s.name}
            up = by_name.get(s.parent)
            while up is not None and up.parent is not None:
                if up.name in seen:
                    problems.append(f"streams/{i}/parent: the parents of {s.name!r} form a cycle")
                    break
                seen.add(up.name)
                up = by_name.get(up.parent)
        if s.schema is not None:
            props = s.schema.get("properties")
            if not isinstance(props, dict):
                problems.append(f"streams/{i}/schema: needs an object of properties")
            else:
                for key in (*s.primary_key, *([s.replication_key] if s.replication_key else [])):
                    if key not in props:
                        problems.append(f"streams/{i}/schema: has no property {key!r} (a key)")


def parse_config(raw: dict[str, Any]) -> RestConfig:
    """The config object, or one ConfigError listing every problem, one per line."""
    problems: list[str] = []
    v = _read(raw, TOP_SETTINGS, "config", problems)
    if v["base_url"] and not _is_http_url(v["base_url"]):
        problems.append(
            "config/base_url: must be an absolute http(s) URL, e.g. https://api.example.com/v1"
        )
    auth = _auth(v["auth"], problems)
    streams = [_stream(s, i, problems) for i, s in enumerate(v["streams"] or [])]
    if raw.get("streams") == []:
        problems.append("config/streams: empty; add at least one stream with a name and a path")
    _check_streams(streams, problems)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"invalid config ({len(problems)} problem(s)):\n{lines}")
    return RestConfig(
        base_url=v["base_url"],
        streams=tuple(streams),
        auth=auth,
        headers=dict(v["headers"]),
        params=dict(v["params"]),
        timeout_seconds=v["timeout_seconds"],
        connect_timeout_seconds=v["connect_timeout_seconds"],
        max_retries=v["max_retries"],
        max_wait_seconds=v["max_wait_seconds"],
        backoff_seconds=v["backoff_seconds"],
    )
