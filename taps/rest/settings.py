"""tap-rest's settings declared once (key, JSON type, default, description, choices, secret):
`config.py` parses and checks a config against these declarations, and `--about` and the
README's tables are generated from them here, so the three cannot drift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AUTH_TYPES = (
    "none",
    "bearer",
    "basic",
    "api_key",
    "oauth2_client_credentials",
    "oauth2_refresh_token",
)
PAGINATOR_TYPES = ("none", "page", "offset", "cursor", "next_url", "link_header", "header_cursor")
START_FORMATS = ("iso", "date", "epoch", "epoch_ms")


@dataclass(frozen=True)
class Setting:
    """One key of one config object: its JSON type, default, whether required, its description."""

    key: str
    kind: str  # JSON Schema type: string, integer, number, boolean, array, object
    doc: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    secret: bool = False
    minimum: float | None = None


AUTH_SETTINGS = (
    Setting("type", "string", "Auth kind", "none", choices=AUTH_TYPES),
    Setting("token", "string", "bearer: the token", secret=True),
    Setting(
        "username", "string", "basic: the user name (masked like a secret when password is empty)"
    ),
    Setting("password", "string", "basic: the password", secret=True),
    Setting("name", "string", "api_key: header or query parameter name", "X-API-Key"),
    Setting("value", "string", "api_key: the key", secret=True),
    Setting(
        "in",
        "string",
        "api_key: sent in a `header` or the `query`",
        "header",
        choices=("header", "query"),
    ),
    Setting("token_url", "string", "oauth2_*: the token endpoint (absolute URL)"),
    Setting("client_id", "string", "oauth2_*: client id"),
    Setting("client_secret", "string", "oauth2_*: client secret", secret=True),
    Setting("refresh_token", "string", "oauth2_refresh_token: the refresh token", secret=True),
    Setting("scopes", "array", "oauth2_*: scopes requested (space-joined)", ()),
)

PAGINATOR_SETTINGS = (
    Setting("type", "string", "Pagination style", "none", choices=PAGINATOR_TYPES),
    Setting(
        "param",
        "string",
        "page: page number param (default `page`); offset: offset param (default `offset`); "
        "cursor/header_cursor: the param the token is sent as (default `cursor`)",
    ),
    Setting("start", "integer", "page: number of the first page (0 or 1)", 1, minimum=0),
    Setting(
        "page_size",
        "integer",
        "Records asked per page (sent as page_size_param / limit_param)",
        minimum=1,
    ),
    Setting("page_size_param", "string", "page: the param carrying page_size (not sent if unset)"),
    Setting("limit_param", "string", "offset: the param carrying page_size", "limit"),
    Setting("cursor_path", "string", "cursor: JSONPath of the next token in the body"),
    Setting(
        "next_url_path",
        "string",
        "next_url: JSONPath of the next page's URL in the body (followed as given)",
    ),
    Setting("header", "string", "header_cursor: response header holding the next token"),
    Setting("has_more_path", "string", "Stop when this JSONPath in the body is false"),
    Setting("total_path", "string", "Stop when this many records (JSONPath in the body) were read"),
    Setting("max_pages", "integer", "Stop after this many pages (a safety cap)", minimum=1),
    Setting("stop_on_empty", "boolean", "Stop at a page with no records", True),
)

STREAM_SETTINGS = (
    Setting("name", "string", "Stream name", required=True),
    Setting(
        "path",
        "string",
        "Path after base_url; `{start}` and `{field}` (parent's) placeholders",
        required=True,
    ),
    Setting("method", "string", "HTTP method", "GET", choices=("GET", "POST")),
    Setting(
        "params",
        "object",
        "Query params; values may hold `{start}` / `{field}` (a next URL gets those its query lacks)",
        {},
    ),
    Setting("body", "object", "JSON body (POST); string values may hold placeholders"),
    Setting("headers", "object", "Extra headers for this stream", {}),
    Setting(
        "records_path",
        "string",
        "JSONPath of the records (default: the body's items if it is a list, else the body)",
    ),
    Setting(
        "response_format",
        "string",
        "`json`, or `jsonl` (one record per line)",
        "json",
        choices=("json", "jsonl"),
    ),
    Setting("primary_key", "array", "Key properties", ()),
    Setting("replication_key", "string", "Incremental: the record field that only grows"),
    Setting("start_value", "string", "Incremental: where the first run starts"),
    Setting(
        "start_format",
        "string",
        "How `{start}` is written: iso, date, epoch, epoch_ms, or a strftime pattern",
        "iso",
    ),
    Setting(
        "lookback_seconds",
        "integer",
        "Incremental: ask again from this long before the bookmark",
        0,
        minimum=0,
    ),
    Setting(
        "client_filter",
        "boolean",
        "Incremental: drop records older than the start (for APIs that cannot filter)",
        True,
    ),
    Setting(
        "records_sorted",
        "boolean",
        "Records come in replication-key order: STATE after every page",
        False,
    ),
    Setting("paginator", "object", "Pagination (see the paginator table)", {}),
    Setting("ignore_status", "array", "HTTP statuses meaning `no records` (e.g. [404])", ()),
    Setting("parent", "string", "Parent stream: this path is requested once per parent record"),
    Setting("parent_fields", "array", "Parent fields copied into each record as PARENT_FIELD", ()),
    Setting("parent_state", "boolean", "Child streams: a bookmark per parent (else one)", True),
    Setting(
        "child_concurrency",
        "integer",
        "Child streams: parents whose requests run at once",
        1,
        minimum=1,
    ),
    Setting("schema", "object", "Declared JSON Schema (then --discover makes no request)"),
    Setting(
        "infer_records",
        "integer",
        "Records read to infer the schema when none is declared",
        100,
        minimum=1,
    ),
)

TOP_SETTINGS = (
    Setting("base_url", "string", "API root, e.g. https://api.example.com/v1", required=True),
    Setting("auth", "object", "Authentication (see the auth table)", {}),
    Setting("headers", "object", "Headers sent with every request", {}),
    Setting(
        "params",
        "object",
        "Query params for every request; a next URL (next_url, link_header) is used as the API "
        "gives it, these added only where its query lacks the name",
        {},
    ),
    Setting("timeout_seconds", "number", "Read timeout per request", 30, minimum=0.001),
    Setting("connect_timeout_seconds", "number", "Connect timeout per request", 10, minimum=0.001),
    Setting(
        "max_retries",
        "integer",
        "Retries of a request (429, 5xx, connection errors, timeouts)",
        8,
        minimum=0,
    ),
    Setting(
        "max_wait_seconds",
        "number",
        "Cap on the total time one request spends waiting",
        600,
        minimum=0,
    ),
    Setting(
        "backoff_seconds",
        "number",
        "First backoff (doubles each retry, with jitter)",
        1.0,
        minimum=0,
    ),
    Setting("streams", "array", "Streams (see the stream table)", required=True),
)

# ---------------------------------------------------------------------------------- --about


def _property(s: Setting, nested: tuple[Setting, ...] | None = None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": s.kind, "description": s.doc}
    if s.default not in (None, (), {}):
        prop["default"] = s.default
    if s.choices:
        prop["enum"] = list(s.choices)
    if s.secret:
        prop["secret"] = True
    if s.minimum is not None:
        prop["minimum"] = s.minimum
    if nested is not None:
        prop.update(_object_schema(nested))
    return prop


def _object_schema(settings: tuple[Setting, ...]) -> dict[str, Any]:
    nested = {"auth": AUTH_SETTINGS, "paginator": PAGINATOR_SETTINGS, "streams": STREAM_SETTINGS}
    props: dict[str, Any] = {}
    for s in settings:
        inner = nested.get(s.key)
        if s.key == "streams" and inner is not None:
            props[s.key] = dict(_property(s), items=_object_schema(inner))
        else:
            props[s.key] = _property(s, inner)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [s.key for s in settings if s.required]
    if required:
        out["required"] = required
    return out


def settings_schema() -> dict[str, Any]:
    """The JSON Schema of the config, for `--about` (generated from the declarations above)."""
    return _object_schema(TOP_SETTINGS)


def settings_markdown() -> str:
    """The README's settings tables, generated from the declarations."""
    parts = []
    for title, settings in (
        ("Top level", TOP_SETTINGS),
        ("`auth`", AUTH_SETTINGS),
        ("Each of `streams`", STREAM_SETTINGS),
        ("`paginator` (in a stream)", PAGINATOR_SETTINGS),
    ):
        rows = ["| Key | Type | Default | Description |", "|:--|:--|:--|:--|"]
        for s in settings:
            default = (
                "required"
                if s.required
                else ("" if s.default in (None, (), {}) else f"`{s.default}`")
            )
            choices = f" One of: {', '.join(f'`{c}`' for c in s.choices)}." if s.choices else ""
            rows.append(f"| `{s.key}` | {s.kind} | {default} | {s.doc}.{choices} |")
        parts.append(f"### {title}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"
