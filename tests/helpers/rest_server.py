"""A real HTTP API on 127.0.0.1 for tap-rest's tests (http.server in a thread): every pagination
style, every auth style (with an OAuth2 token endpoint whose tokens expire), 429 with Retry-After
(seconds and HTTP date), 500s, slow answers, a looping cursor, malformed JSON, parent/child routes
and an incremental route whose data a test changes between runs. Every request is logged with its
arrival time, so tests check what the tap sent and how long it waited.

Bodies are written as JSON text by hand where exactness matters: a 20-digit id and a 0.1 price.
"""

from __future__ import annotations

import base64
import email.utils
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BIG_ID = 12345678901234567890  # 20 digits: past 64 bits signed, past a float's 15-17 digits


FIRST = datetime(2024, 1, 1, 10, 0, 0, 123456)


def make_orders(n: int = 25) -> list[dict[str, Any]]:
    """Orders sorted by updated_at; order 7 has the 20-digit customer id and a 0.1 price."""
    out = []
    for i in range(1, n + 1):
        out.append(
            {
                "id": i,
                "customer_id": BIG_ID if i == 7 else 1000 + i,
                "price": Decimal("0.1") if i == 7 else Decimal(f"{i}.25"),
                "note": "" if i == 3 else f"order {i} 🎉",
                "updated_at": (FIRST + timedelta(days=i - 1)).isoformat() + "Z",
            }
        )
    return out


def dumps(value: Any) -> bytes:
    """JSON with Decimals written exactly (as json.dumps cannot)."""

    def enc(v: Any) -> str:
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, dict):
            return "{" + ",".join(f"{json.dumps(k)}:{enc(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    return enc(value).encode()


@dataclass
class Logged:
    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 200
    body: bytes = b""
    raw_query: str = ""  # as sent: a param repeated shows twice here, once in `query`


@dataclass
class Api:
    """The server's data and its request log; tests change `orders` between runs."""

    orders: list[dict[str, Any]] = field(default_factory=make_orders)
    log: list[Logged] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)  # token -> requests left
    token_uses: int = 2  # an OAuth2 token is good for this many API requests
    token_lifetime: int = 3600  # the expires_in the token endpoint answers
    item_delay: float = 0.0  # seconds each child request takes
    # hold child requests until this many are in flight at once, until that happened once (or
    # 10 s passed): a tap sending fewer at once is seen as such, without a race or a timed assert
    item_overlap: int = 0
    inflight: int = 0
    max_inflight: int = 0
    # the bodies of /spelled, by the request's cursor param ("" for the first): JSON text as a
    # test writes it, every number's spelling its own
    spelled: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    overlapped: threading.Condition = field(default_factory=threading.Condition)

    def count(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def requests(self, path: str) -> list[Logged]:
        return [r for r in self.log if r.path == path]


Reply = tuple[int, dict[str, str], bytes]


def _json(body: Any, status: int = 200, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, dumps(body)


def _int(q: dict[str, str], key: str, default: int) -> int:
    return int(q[key]) if key in q else default


class Routes:
    def __init__(self, api: Api) -> None:
        self.api = api

    # ------------------------------------------------------------------ pagination styles

    def orders_page(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        size = _int(q, "per_page", 10)
        page = _int(q, "page", 1)
        return _json({"data": self.api.orders[(page - 1) * size : page * size]})

    def orders_page0(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        size, page = _int(q, "size", 10), _int(q, "p", 0)
        return _json({"data": self.api.orders[page * size : (page + 1) * size]})

    def orders_offset(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        off, lim = _int(q, "offset", 0), _int(q, "limit", 10)
        return _json({"items": self.api.orders[off : off + lim], "total": len(self.api.orders)})

    def orders_cursor(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        start = int(base64.b64decode(q["cursor"])) if q.get("cursor") else 0
        lim = _int(q, "limit", 10)
        end = start + lim
        nxt = base64.b64encode(str(end).encode()).decode() if end < len(self.api.orders) else None
        return _json({"data": self.api.orders[start:end], "meta": {"next": nxt}})

    def orders_next(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        start = _int(q, "after", 0)
        nxt = f"/orders_next?after={start + 10}" if start + 10 < len(self.api.orders) else None
        return _json({"data": self.api.orders[start : start + 10], "links": {"next": nxt}})

    def orders_echo(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        """The next URL in the body and in a Link header, carrying every param of the request
        (as GitHub's and many others' do), with `after` moved on."""
        start = _int(q, "after", 0)
        more = start + 10 < len(self.api.orders)
        nxt = f"/orders_echo?{urlencode({**q, 'after': start + 10})}" if more else None
        link = {"Link": f'<{self.base}{nxt}>; rel="next"'} if nxt else {}
        return _json({"data": self.api.orders[start : start + 10], "links": {"next": nxt}}, **link)

    def orders_link(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        start = _int(q, "from", 0)
        headers = {}
        if start + 10 < len(self.api.orders):
            headers["Link"] = (
                f'<{self.base}/orders_link?from={start + 10}>; rel="next", <x>; rel="last"'
            )
        return _json(self.api.orders[start : start + 10], **headers)

    def orders_hcursor(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        start = _int(q, "token", 0)
        headers = {"X-Next-Cursor": str(start + 10)} if start + 10 < len(self.api.orders) else {}
        return _json({"data": self.api.orders[start : start + 10]}, **headers)

    def orders_hasmore(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        page = _int(q, "page", 1)
        rows = self.api.orders[(page - 1) * 10 : page * 10]
        return _json({"data": rows, "has_more": page * 10 < len(self.api.orders)})

    def orders_total(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        # never an empty page: only total_path stops it (rows repeat with new ids past the end)
        page = _int(q, "page", 1)
        rows = [dict(o, id=o["id"] + 100 * page) for o in self.api.orders[:10]]
        return _json({"data": rows, "total": 25})

    def loop_cursor(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        token = "B" if q.get("cursor") == "A" else "A"
        page = 1 if "cursor" not in q else 2
        return _json({"data": [{"id": page, "c": q.get("cursor")}], "next": token})

    def loop_page(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        return _json({"data": self.api.orders[:10]})  # ignores ?page=

    def orders_jsonl(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        return (
            200,
            {"Content-Type": "application/x-ndjson"},
            b"\n".join(dumps(o) for o in self.api.orders[:5]) + b"\n",
        )

    def spelled(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        body = self.api.spelled.get(q.get("cursor", ""), b'{"data": []}')
        return 200, {"Content-Type": "application/json"}, body

    def single(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        return _json({"id": 1, "name": "the account", "balance": Decimal("0.10")})

    def malformed(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        return 200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"

    # ------------------------------------------------------------------ failures and limits

    def flaky_429(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        n = self.api.count("flaky_429" + q.get("mode", ""))
        if n == 1:
            if q.get("mode") == "date":
                when = email.utils.formatdate(time.time() + 2, usegmt=True)
                return _json({"error": "slow down"}, 429, **{"Retry-After": when})
            return _json({"error": "slow down"}, 429, **{"Retry-After": "1"})
        return _json({"data": self.api.orders[:3]})

    def flaky_500(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        if self.api.count("flaky_500") <= 2:
            return _json({"error": "oops"}, 500)
        return _json({"data": self.api.orders[:3]})

    def always_503(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        return _json({"error": "down"}, 503)

    def rate_limited(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        page = _int(q, "page", 1)
        rows = self.api.orders[(page - 1) * 10 : page * 10]
        return _json(
            {"data": rows},
            **{"X-RateLimit-Remaining": "0" if page == 1 else "5", "X-RateLimit-Reset": "1"},
        )

    def slow(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        if self.api.count("slow") == 1:
            time.sleep(1.5)
        return _json({"data": self.api.orders[:2]})

    def fail_page2(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        if _int(q, "page", 1) == 1:
            return _json({"data": self.api.orders[:10]})
        return _json({"error": "down"}, 503)

    def big(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        """Page 1: 30,000 records (about 3 MB written by the tap, more than a pipe and the tap's
        buffer hold), page 2: none."""
        if _int(q, "page", 1) > 1:
            return _json({"data": []})
        pad = "x" * 80
        rows = ",".join(f'{{"id":{i},"pad":"{pad}"}}' for i in range(30_000))
        return 200, {"Content-Type": "application/json"}, f'{{"data":[{rows}]}}'.encode()

    # ------------------------------------------------------------------ auth

    def bearer(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        if h.get("authorization") != "Bearer s3cret-token":
            return _json({"error": "unauthorized"}, 401)
        return _json({"data": self.api.orders[:2]})

    def basic(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        want = "Basic " + base64.b64encode(b"ann:pa55word").decode()
        return (
            _json({"data": self.api.orders[:2]})
            if h.get("authorization") == want
            else _json({}, 401)
        )

    def key_header(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        ok = h.get("x-api-key") == "k3y-value"
        return _json({"data": self.api.orders[:2]}) if ok else _json({}, 403)

    def key_query(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        ok = q.get("api_key") == "k3y-value"
        return _json({"data": self.api.orders[:2]}) if ok else _json({}, 401)

    def token(self, q: dict[str, str], h: dict[str, str], form: dict[str, str]) -> Reply:
        good = form.get("client_id") == "cid" and (
            form.get("client_secret") == "csecret" or form.get("refresh_token") == "rtoken"
        )
        if not good:
            return _json({"error": "invalid_client"}, 401)
        n = self.api.count("token")
        token = f"tok-{n}"
        self.api.tokens[token] = self.api.token_uses
        return _json(
            {"access_token": token, "token_type": "bearer", "expires_in": self.api.token_lifetime}
        )

    def oauth_orders(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        token = (h.get("authorization") or "").removeprefix("Bearer ")
        with self.api.lock:
            left = self.api.tokens.get(token, 0)
            if left <= 0:
                return _json({"error": "token expired"}, 401)
            self.api.tokens[token] = left - 1
        page = _int(q, "page", 1)
        return _json({"data": self.api.orders[(page - 1) * 5 : page * 5]})

    # ------------------------------------------------------------------ incremental, children

    def incremental(self, q: dict[str, str], h: dict[str, str]) -> Reply:
        since = q.get("since", "")
        rows = [o for o in self.api.orders if o["updated_at"] >= since]
        page = _int(q, "page", 1)
        return _json({"data": rows[(page - 1) * 10 : page * 10]})

    def items(self, order_id: str) -> Reply:
        api = self.api
        with api.overlapped:
            api.inflight += 1
            api.max_inflight = max(api.max_inflight, api.inflight)
            api.overlapped.notify_all()
            if not api.overlapped.wait_for(lambda: api.max_inflight >= api.item_overlap, 10):
                api.item_overlap = 0  # never reached: stop holding (the test sees max_inflight)
        try:
            time.sleep(api.item_delay)
            return self._items(order_id)
        finally:
            with api.overlapped:
                api.inflight -= 1

    def _items(self, order_id: str) -> Reply:
        oid = int(order_id)
        if oid == 3:
            return _json({"error": "not found"}, 404)
        rows = [
            {"id": oid * 10 + k, "sku": f"S{k}", "qty": k, "updated_at": f"2024-02-0{k}T00:00:00Z"}
            for k in (1, 2)
        ]
        return _json({"items": rows})

    # ------------------------------------------------------------------ public APIs' shapes

    def stripe(self, rest: list[str], q: dict[str, str], h: dict[str, str]) -> Reply:
        """Stripe's list shape (/v1/customers): newest first, `starting_after` an id,
        `has_more`, `created[gte]` an epoch, the secret key as the basic-auth user name."""
        if h.get("authorization") != "Basic " + base64.b64encode(b"sk_test_123:").decode():
            return _json({"error": {"type": "invalid_request_error"}}, 401)
        if rest != ["v1", "customers"]:
            return _json({"error": "no route"}, 404)
        rows = sorted(STRIPE_CUSTOMERS, key=lambda c: -c["created"])
        rows = [c for c in rows if c["created"] >= int(q.get("created[gte]", 0))]
        if "starting_after" in q:
            rows = rows[[c["id"] for c in rows].index(q["starting_after"]) + 1 :]
        size = min(int(q.get("limit", 10)), 3)  # a server may send fewer than asked
        return _json({"object": "list", "data": rows[:size], "has_more": len(rows) > size})

    def github(self, rest: list[str], q: dict[str, str], h: dict[str, str]) -> Reply:
        """GitHub's shape: /repos/O/R/issues (since, sort=updated, direction=asc) and
        /repos/O/R/issues/N/comments, a bare list a page, `Link: rel="next"` while more remain."""
        if h.get("authorization") != "Bearer ghp_test":
            return _json({"message": "Bad credentials"}, 401)
        if rest[:3] != ["repos", "o", "r"] or len(rest) not in (4, 6):
            return _json({"message": "Not Found"}, 404)
        if len(rest) == 4:
            rows = sorted(GITHUB_ISSUES, key=lambda i: i["updated_at"])
            rows = [i for i in rows if i["updated_at"] >= q.get("since", "")]
        else:
            number = int(rest[4])
            rows = [c for c in GITHUB_COMMENTS if c["issue"] == number]
        page, size = int(q.get("page", 1)), min(int(q.get("per_page", 30)), 2)
        headers = {}
        if page * size < len(rows):
            nxt = {**q, "page": str(page + 1)}
            query = "&".join(f"{k}={v}" for k, v in nxt.items())
            headers["Link"] = f'<{self.base}/github/{"/".join(rest)}?{query}>; rel="next"'
        return _json(rows[(page - 1) * size : page * size], **headers)


STRIPE_CUSTOMERS = [
    {
        "id": f"cus_{n}",
        "object": "customer",
        "created": 1704067200 + n * 3600,
        "balance": n * 100,
        "email": f"c{n}@example.com",
    }
    for n in range(1, 8)
]
GITHUB_ISSUES = [
    {
        "id": 10_000_000_000 + n,
        "number": n,
        "title": f"issue {n}",
        "state": "open",
        "updated_at": f"2024-03-0{n}T12:00:00Z",
    }
    for n in range(1, 6)
]
GITHUB_COMMENTS = [
    {
        "id": 900 + 10 * n + k,
        "issue": n,
        "body": f"comment {k} on {n}",
        "updated_at": f"2024-03-0{n}T13:00:0{k}Z",
    }
    for n in range(1, 6)
    for k in range(n % 4)
]


def _handler(api: Api, routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one write (flushed after each request)
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            h = {k.lower(): v for k, v in self.headers.items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            entry = Logged(
                time.monotonic(), self.command, parts.path, q, h, body=raw, raw_query=parts.query
            )
            with api.lock:
                api.log.append(entry)
            segs = parts.path.strip("/").split("/")
            reply: Reply
            if parts.path == "/oauth/token":
                form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                reply = routes.token(q, h, form)
            elif segs[0] in ("stripe", "github"):
                reply = getattr(routes, segs[0])(segs[1:], q, h)
            elif len(segs) == 3 and segs[0] == "orders" and segs[2] == "items":
                reply = routes.items(segs[1])
            else:
                fn: Callable[..., Reply] | None = (
                    getattr(routes, segs[0], None) if len(segs) == 1 else None
                )
                reply = fn(q, h) if fn else _json({"error": "no route"}, 404)
            status, headers, body = reply
            entry.status = status
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

    return Handler


class RestServer:
    """`with RestServer() as srv:` srv.url is the base URL, srv.api the data and the log."""

    def __init__(self) -> None:
        self.api = Api()
        self.routes = Routes(self.api)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.api, self.routes))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.routes.base = self.url  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class TapRun:
    code: int
    messages: list[dict[str, Any]]
    stderr: str

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


def run_tap(
    config: dict[str, Any],
    tmp: Any,
    *args: str,
    state: dict[str, Any] | None = None,
    timeout: float = 120,
) -> TapRun:
    """Run the installed `tap-rest` with this config (and state) as a user would."""
    import subprocess
    import sys
    from pathlib import Path

    def loads(raw: bytes) -> Any:  # exact: a 0.1 stays Decimal("0.1"), 20 digits stay an int
        return json.loads(raw, parse_float=Decimal)

    cfg_path = Path(tmp) / "config.json"
    cfg_path.write_text(json.dumps(config))
    cmd = [str(Path(sys.executable).parent / "tap-rest"), "--config", str(cfg_path), *args]
    if state is not None:
        state_path = Path(tmp) / "state.json"
        state_path.write_bytes(dumps(state) if not isinstance(state, str) else state.encode())
        cmd += ["--state", str(state_path)]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    messages = []
    if not args or "--discover" not in args:
        messages = [loads(line) for line in proc.stdout.splitlines() if line.startswith(b"{")]
    else:
        messages = [loads(proc.stdout)] if proc.returncode == 0 else []
    return TapRun(proc.returncode, messages, proc.stderr.decode())


if __name__ == "__main__":  # `python -m helpers.rest_server [N]`: serve N orders until killed
    import sys

    server = RestServer()
    if len(sys.argv) > 1:
        server.api.orders = make_orders(int(sys.argv[1]))
    print(server.url, flush=True)
    server.httpd.serve_forever()
