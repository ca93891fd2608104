"""The web page of `tapwell serve` (issue 14): server-rendered HTML (Jinja2, autoescaped) over
the same functions the JSON API serves (tapwell.runner.serve.queries and .views), so the page and
the API never disagree. Every page works without JavaScript; only the live log of a running run
uses a few lines of it (an EventSource on the API's SSE log stream).

    GET /                          integrations       (JSON twin: /api/integrations)
    GET /integrations/{name}       one integration    (/api/integrations/{name})
    GET /runs?integration=&status=&before=  runs      (/api/runs)
    GET /runs/{id}                 one run            (/api/runs/{id})
    GET /schedule                  the next 24 hours  (/api/schedule)
    POST /integrations/{name}/run, /runs/{id}/relaunch, /runs/{id}/cancel   (forms, CSRF token)
    SameOrigin: no POST from another web site, to the forms or to the API
    GET/POST /login                the serve token, asked once, kept in an HttpOnly cookie
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tapwell.runner.history import FINISHED, OUTCOMES, utcnow
from tapwell.runner.serve import charts, words
from tapwell.runner.serve.manager import Busy
from tapwell.runner.serve.queries import (
    ApiError,
    check_name,
    check_run_id,
    integration_data,
    integrations_data,
    runs_data,
    schedule_data,
)
from tapwell.runner.serve.scheduler import UPCOMING_MAX
from tapwell.runner.serve.views import run_detail
from tapwell.singer.errors import TapwellError

if TYPE_CHECKING:
    from tapwell.runner.serve.service import Service

TOKEN_COOKIE = "tapwell_token"  # the same cookie the API's TokenAuth accepts
CSRF_COOKIE = "tapwell_csrf"
STATIC = {
    "style.css": "text/css",
    "log.js": "text/javascript",
    "refresh.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
REFRESH_SECONDS = 30  # the integrations, runs and schedule pages reload themselves (refresh.js)
SYMBOL = {
    "succeeded": "✓",
    "failed": "✕",
    "running": "▶",
    "queued": "…",
    "skipped": "↷",
    "interrupted": "■",
    "lost": "?",
}

LOG_HEAD, LOG_TAIL = 50, 450  # a run page shows at most these first and last log lines

Handler = Callable[[Request], Awaitable[Response]]


def _text(value: object) -> Markup:
    """`value` escaped for an element's content (not an attribute): & < > only. A log line's
    JSON quotes stay quotes, a third lighter than `&#34;` (the log is most of a run page)."""
    return Markup(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("tapwell.runner.serve", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        clock=words.clock,
        span=words.span,
        size=words.size,
        count=words.count,
        cron=words.cron_words,
        text=_text,
    )
    env.globals.update(symbol=SYMBOL, outcomes=OUTCOMES, between=words.between)
    return env


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def render(request: Request, template: str, code: int = 200, **context: Any) -> Response:
    """A page, with the CSRF cookie set when the browser has none yet."""
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    now = utcnow()
    html = (
        _env()
        .get_template(template)
        .render(
            request=request,
            csrf=csrf,
            now=now,
            ago=lambda when: words.relative(when, now),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=code)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status, status=status, message=message)


def _signed_in(request: Request) -> bool:
    token = _service(request).token
    if not token:
        return True
    given = request.cookies.get(TOKEN_COOKIE, "")
    return hmac.compare_digest(given.encode(), token.encode())


def page(handler: Handler) -> Handler:
    """A page handler behind the token (when serve has one), answering bad input and a store
    failure with an HTML error page of the API's status and words."""

    async def wrapped(request: Request) -> Response:
        if not _signed_in(request):
            where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": where}), status_code=303)
        try:
            return await handler(request)
        except ApiError as exc:
            return error_page(request, exc.status, exc.message)
        except TapwellError as exc:
            return error_page(request, 503 if exc.retriable else 500, str(exc))

    return wrapped


async def _form(request: Request) -> dict[str, str]:
    """The posted form, after its CSRF field matched the browser's CSRF cookie."""
    body = await request.body()
    if len(body) > 65_536:
        raise ApiError(413, "the form is too large")
    # the page's forms are urlencoded: parsed here, so serve needs no multipart parser
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(form.get("csrf", "").encode(), cookie.encode()):
        raise ApiError(
            403, "the form's CSRF token is missing or stale: reload the page, then retry"
        )
    return form


class SameOrigin(BaseHTTPMiddleware):
    """Refuse a request that changes something (any method but GET, HEAD, OPTIONS) when a
    browser sent it from another site or origin. Without a token, serve's API takes a plain POST
    (`curl -X POST .../runs`), and any web page the user opens can send one: a form posted to
    127.0.0.1:8765 needs no CORS preflight. Another port of the same host is the same *site*,
    so SameSite=Strict does not stop it. Browsers say where a request comes from in
    `Sec-Fetch-Site` (else in `Origin`); curl and scripts send neither and pass."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_origin(request):
            message = "refused: a request from another web site cannot change anything here"
            if request.url.path.startswith("/api/"):
                return JSONResponse({"error": message}, status_code=403)
            return error_page(request, 403, message)
        return await call_next(request)


def _cross_origin(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")  # none: typed in, or a bookmark
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# ---------------------------------------------------------------------- pages


@page
async def home(request: Request) -> Response:
    data = await run_in_threadpool(integrations_data, _service(request))
    return render(
        request,
        "integrations.html",
        data=data,
        json_url="/api/integrations",
        refresh=REFRESH_SECONDS,
    )


@page
async def integration(request: Request) -> Response:
    service = _service(request)
    name = check_name(service, str(request.path_params["name"]))
    data = await run_in_threadpool(integration_data, service, name)
    json_url = "/api/integrations/" + name
    return render(request, "integration.html", i=data, json_url=json_url, refresh=REFRESH_SECONDS)


@page
async def runs(request: Request) -> Response:
    service = _service(request)
    query = {k: v for k, v in request.query_params.items() if v}
    data = await run_in_threadpool(runs_data, service, query)
    filters = {k: v for k, v in query.items() if k in ("integration", "status", "limit")}
    newer = "/runs?" + urlencode(filters) if "before" in query else None
    older = (
        "/runs?" + urlencode({**filters, "before": data["next_before"]})
        if data["next_before"]
        else None
    )
    return render(
        request,
        "runs.html",
        data=data,
        names=service.scheduler.project.names,
        filters=filters,
        newer=newer,
        older=older,
        json_url="/api/runs" + (f"?{urlencode(query)}" if query else ""),
        refresh=None if "before" in query else REFRESH_SECONDS,  # an older page stays put
    )


@page
async def run(request: Request) -> Response:
    service = _service(request)
    run_id = check_run_id(str(request.path_params["run_id"]))
    record = await run_in_threadpool(service.store.run, run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id!r}")
    lines = await run_in_threadpool(service.store.read_log, run_id)
    if not lines and record.log:
        lines = record.log.splitlines()
    detail = run_detail(record)
    head, tail = (lines, []) if len(lines) <= LOG_HEAD + LOG_TAIL else _cut(lines)
    return render(
        request,
        "run.html",
        r=detail,
        charts=charts.run_charts(detail["stages"]),
        lines=head,
        tail=tail,
        total=len(lines),
        live=record.outcome not in FINISHED,
        known=record.integration in service.scheduler.project.names,
        json_url="/api/runs/" + run_id,
    )


def _cut(lines: list[str]) -> tuple[list[str], list[str]]:
    """The first and the last lines of a long log: the page stays light (an hour of METRIC
    lines is megabytes); the whole log is one link away."""
    return lines[:LOG_HEAD], lines[-LOG_TAIL:]


@page
async def schedule(request: Request) -> Response:
    service = _service(request)
    hours = request.query_params.get("hours")
    data = await run_in_threadpool(schedule_data, service, hours)
    return render(
        request,
        "schedule.html",
        data=data,
        lanes=_lanes(data, service.scheduler.project.names),
        most=UPCOMING_MAX,  # a lane of that many times has more: "500+ runs"
        json_url="/api/schedule",
        refresh=REFRESH_SECONDS * 2,
    )


def _lanes(data: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """One lane of the time line per integration: its scheduled times as % of the window, and
    the integrations whose success it waits for."""
    import datetime as dt

    start = dt.datetime.fromisoformat(data["from"])
    width = (dt.datetime.fromisoformat(data["until"]) - start).total_seconds()
    lanes: dict[str, dict[str, Any]] = {
        n: {"name": n, "times": [], "after": data["after"].get(n, [])} for n in names
    }
    for item in data["runs"]:
        at = dt.datetime.fromisoformat(item["at"])
        pct = (at - start).total_seconds() / width * 100
        lanes[item["integration"]]["times"].append({"at": item["at"], "pct": round(pct, 2)})
    for n, lane in lanes.items():
        lane["then"] = [m for m, needs in data["after"].items() if n in needs]
        lane["expected"] = []
    _expected_after(lanes)
    return [lane for lane in lanes.values() if lane["times"] or lane["after"] or lane["then"]]


def _expected_after(lanes: dict[str, dict[str, Any]]) -> None:
    """An `after:` integration with no schedule of its own is drawn where it is expected: after
    each run of the integration it waits for (of several, the one that runs least often: each
    must have succeeded since), through chains (a -> b -> c), as hollow ticks."""
    for _ in range(len(lanes)):  # a chain of n integrations settles in at most n passes
        changed = False
        for lane in lanes.values():
            if lane["times"] or not lane["after"] or lane["expected"]:
                continue
            needs = [lanes[n] for n in lane["after"] if n in lanes]
            ticks = [need["times"] or need["expected"] for need in needs]
            if needs and all(ticks):
                lane["expected"] = min(ticks, key=len)
                changed = True
        if not changed:
            return


# ---------------------------------------------------------------------- forms that change something


@page
async def run_now(request: Request) -> Response:
    service = _service(request)
    name = check_name(service, str(request.path_params["name"]))
    form = await _form(request)
    full = form.get("full_refresh") == "1"
    if full and form.get("confirm") != "yes":
        raise ApiError(400, "a full refresh needs its confirmation box ticked")
    return await _submit(request, name, "manual", full_refresh=full)


async def _submit(request: Request, name: str, trigger: str, **options: Any) -> Response:
    try:
        job = await run_in_threadpool(_service(request).manager.submit, name, trigger, **options)
    except Busy as busy:
        message = f"{busy} (run {busy.run_id})"
        return render(request, "error.html", 409, status=409, message=message, run_id=busy.run_id)
    except RuntimeError as exc:
        raise ApiError(503, str(exc)) from None
    return _see(f"/runs/{job.run_id}")


@page
async def relaunch(request: Request) -> Response:
    service = _service(request)
    run_id = check_run_id(str(request.path_params["run_id"]))
    await _form(request)
    old = await run_in_threadpool(service.store.run, run_id)
    if old is None:
        raise ApiError(404, f"no run {run_id!r}")
    check_name(service, old.integration)
    return await _submit(
        request, old.integration, "relaunch", full_refresh=old.full_refresh, relaunch_of=old.id
    )


@page
async def cancel(request: Request) -> Response:
    service = _service(request)
    run_id = check_run_id(str(request.path_params["run_id"]))
    await _form(request)
    record = await run_in_threadpool(service.store.run, run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id!r}")
    if record.outcome not in FINISHED:
        try:
            await run_in_threadpool(
                service.manager.cancel, record.id, "cancelled with the Cancel button of its page"
            )
        except LookupError as exc:
            raise ApiError(409, str(exc)) from None
    return _see(f"/runs/{run_id}")


# ---------------------------------------------------------------------- sign-in, static files


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


async def login(request: Request) -> Response:
    service = _service(request)
    if request.method == "GET":
        return render(request, "login.html", next=_next(request.query_params.get("next")))
    form = await _form(request)
    given = form.get("token", "")
    where = _next(form.get("next"))
    if not service.token or hmac.compare_digest(given.encode(), service.token.encode()):
        response = _see(where)
        if service.token:
            response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict", path="/")
        return response
    return render(request, "login.html", 401, next=where, wrong=True)


@cache
def _static_file(name: str) -> bytes:
    from importlib.resources import files

    return (files("tapwell.runner.serve") / "templates" / name).read_bytes()


async def static(request: Request) -> Response:
    name = str(request.path_params["name"])
    if name not in STATIC:
        return error_page(request, 404, "no such file")
    return Response(
        _static_file(name),
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=3600"},
    )


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/integrations/{name}", integration),
        Route("/integrations/{name}/run", run_now, methods=["POST"]),
        Route("/runs", runs),
        Route("/runs/{run_id}", run),
        Route("/runs/{run_id}/relaunch", relaunch, methods=["POST"]),
        Route("/runs/{run_id}/cancel", cancel, methods=["POST"]),
        Route("/schedule", schedule),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/static/{name}", static),
    ]
