"""tap-rest's settings declared once, with the kit's `Setting` (tapwell.sdk.settings) as every
connector: `config.py` parses and checks a config against these declarations, and `--about` (each
property rendered by `Setting.json_schema`, as the other connectors' are) and the README's tables
are generated from them here, so the three cannot drift. The kit's `Settings` reads one flat
dataclass and lets unknown keys pass with a warning; tap-rest's config nests objects (auth, each
stream, its paginator) and refuses unknown keys, so each object is a tuple of `Setting`s and the
parse and the four README tables stay here."""

from __future__ import annotations

from typing import Any

from tapwell.sdk.settings import Setting

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


# keys whose default is an empty object or array (the same in every object that has the key):
# --about shows no default for them, as before, and the parse still fills them in
_EMPTY_DEFAULTS: dict[str, Any] = {}


def _s(
    key: str,
    kind: str,
    doc: str,
    default: Any = None,
    *,
    required: bool = False,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    minimum: float | None = None,
) -> Setting:
    """One key of one config object as the kit's `Setting` (tapwell.sdk.settings, the type every
    connector declares its settings with): its JSON type, description, default, choices, whether
    secret or required, and a `minimum` kept in its JSON Schema."""
    if default in ((), {}):
        _EMPTY_DEFAULTS[key], default = default, None
    return Setting(
        name=key,
        type=(kind,),
        default=default,
        help=doc,
        choices=choices,
        secret=secret,
        required=required,
        schema={} if minimum is None else {"minimum": minimum},
    )


def default_of(s: Setting) -> Any:
    """The value a config object gets for a key it does not give."""
    return _EMPTY_DEFAULTS.get(s.name) if s.default is None else s.default


def minimum_of(s: Setting) -> float | None:
    return s.schema.get("minimum")


AUTH_SETTINGS = (
    _s("type", "string", "Auth kind", "none", choices=AUTH_TYPES),
    _s("token", "string", "bearer: the token", secret=True),
    _s("username", "string", "basic: the user name (masked like a secret when password is empty)"),
    _s("password", "string", "basic: the password", secret=True),
    _s("name", "string", "api_key: header or query parameter name", "X-API-Key"),
    _s("value", "string", "api_key: the key", secret=True),
    _s(
        "in",
        "string",
        "api_key: sent in a `header` or the `query`",
        "header",
        choices=("header", "query"),
    ),
    _s("token_url", "string", "oauth2_*: the token endpoint (absolute URL)"),
    _s("client_id", "string", "oauth2_*: client id"),
    _s("client_secret", "string", "oauth2_*: client secret", secret=True),
    _s("refresh_token", "string", "oauth2_refresh_token: the refresh token", secret=True),
    _s("scopes", "array", "oauth2_*: scopes requested (space-joined)", ()),
)

PAGINATOR_SETTINGS = (
    _s("type", "string", "Pagination style", "none", choices=PAGINATOR_TYPES),
    _s(
        "param",
        "string",
        "page: page number param (default `page`); offset: offset param (default `offset`); "
        "cursor/header_cursor: the param the token is sent as (default `cursor`)",
    ),
    _s("start", "integer", "page: number of the first page (0 or 1)", 1, minimum=0),
    _s(
        "page_size",
        "integer",
        "Records asked per page (sent as page_size_param / limit_param)",
        minimum=1,
    ),
    _s("page_size_param", "string", "page: the param carrying page_size (not sent if unset)"),
    _s("limit_param", "string", "offset: the param carrying page_size", "limit"),
    _s("cursor_path", "string", "cursor: JSONPath of the next token in the body"),
    _s(
        "next_url_path",
        "string",
        "next_url: JSONPath of the next page's URL in the body (followed as given)",
    ),
    _s("header", "string", "header_cursor: response header holding the next token"),
    _s("has_more_path", "string", "Stop when this JSONPath in the body is false"),
    _s("total_path", "string", "Stop when this many records (JSONPath in the body) were read"),
    _s("max_pages", "integer", "Stop after this many pages (a safety cap)", minimum=1),
    _s("stop_on_empty", "boolean", "Stop at a page with no records", True),
)

STREAM_SETTINGS = (
    _s("name", "string", "Stream name", required=True),
    _s(
        "path",
        "string",
        "Path after base_url; `{start}` and `{field}` (parent's) placeholders",
        required=True,
    ),
    _s("method", "string", "HTTP method", "GET", choices=("GET", "POST")),
    _s(
        "params",
        "object",
        "Query params; values may hold `{start}` / `{field}` (a next URL gets those its query lacks)",
        {},
    ),
    _s("body", "object", "JSON body (POST); string values may hold placeholders"),
    _s("headers", "object", "Extra headers for this stream", {}),
    _s(
        "records_path",
        "string",
        "JSONPath of the records (default: the body's items if it is a list, else the body)",
    ),
    _s(
        "response_format",
        "string",
        "`json`, or `jsonl` (one record per line)",
        "json",
        choices=("json", "jsonl"),
    ),
    _s("primary_key", "array", "Key properties", ()),
    _s("replication_key", "string", "Incremental: the record field that only grows"),
    _s("start_value", "string", "Incremental: where the first run starts"),
    _s(
        "start_format",
        "string",
        "How `{start}` is written: iso, date, epoch, epoch_ms, or a strftime pattern",
        "iso",
    ),
    _s(
        "lookback_seconds",
        "integer",
        "Incremental: ask again from this long before the bookmark",
        0,
        minimum=0,
    ),
    _s(
        "client_filter",
        "boolean",
        "Incremental: drop records older than the start (for APIs that cannot filter)",
        True,
    ),
    _s(
        "records_sorted",
        "boolean",
        "Records come in replication-key order: STATE after every page",
        False,
    ),
    _s("paginator", "object", "Pagination (see the paginator table)", {}),
    _s("ignore_status", "array", "HTTP statuses meaning `no records` (e.g. [404])", ()),
    _s("parent", "string", "Parent stream: this path is requested once per parent record"),
    _s("parent_fields", "array", "Parent fields copied into each record as PARENT_FIELD", ()),
    _s("parent_state", "boolean", "Child streams: a bookmark per parent (else one)", True),
    _s(
        "child_concurrency",
        "integer",
        "Child streams: parents whose requests run at once",
        1,
        minimum=1,
    ),
    _s("schema", "object", "Declared JSON Schema (then --discover makes no request)"),
    _s(
        "infer_records",
        "integer",
        "Records read to infer the schema when none is declared",
        100,
        minimum=1,
    ),
)

TOP_SETTINGS = (
    _s("base_url", "string", "API root, e.g. https://api.example.com/v1", required=True),
    _s("auth", "object", "Authentication (see the auth table)", {}),
    _s("headers", "object", "Headers sent with every request", {}),
    _s(
        "params",
        "object",
        "Query params for every request; a next URL (next_url, link_header) is used as the API "
        "gives it, these added only where its query lacks the name",
        {},
    ),
    _s("timeout_seconds", "number", "Read timeout per request", 30, minimum=0.001),
    _s("connect_timeout_seconds", "number", "Connect timeout per request", 10, minimum=0.001),
    _s(
        "max_retries",
        "integer",
        "Retries of a request (429, 5xx, connection errors, timeouts)",
        8,
        minimum=0,
    ),
    _s(
        "max_wait_seconds",
        "number",
        "Cap on the total time one request spends waiting",
        600,
        minimum=0,
    ),
    _s(
        "backoff_seconds",
        "number",
        "First backoff (doubles each retry, with jitter)",
        1.0,
        minimum=0,
    ),
    _s("streams", "array", "Streams (see the stream table)", required=True),
)

# ---------------------------------------------------------------------------------- --about


def _property(s: Setting, nested: tuple[Setting, ...] | None = None) -> dict[str, Any]:
    prop = s.json_schema()  # the kit's rendering, as every connector's --about
    if nested is not None:
        prop.update(_object_schema(nested))
    return prop


def _object_schema(settings: tuple[Setting, ...]) -> dict[str, Any]:
    nested = {"auth": AUTH_SETTINGS, "paginator": PAGINATOR_SETTINGS, "streams": STREAM_SETTINGS}
    props: dict[str, Any] = {}
    for s in settings:
        inner = nested.get(s.name)
        if s.name == "streams" and inner is not None:
            props[s.name] = dict(_property(s), items=_object_schema(inner))
        else:
            props[s.name] = _property(s, inner)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [s.name for s in settings if s.required]
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
            default = "required" if s.required else ("" if s.default is None else f"`{s.default}`")
            choices = f" One of: {', '.join(f'`{c}`' for c in s.choices)}." if s.choices else ""
            rows.append(f"| `{s.name}` | {s.type[0]} | {default} | {s.help}.{choices} |")
        parts.append(f"### {title}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"
