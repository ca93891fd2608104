"""serve's HTTP API (Starlette): every response JSON, every error `{"error": "..."}` with a fitting
status; `/api` needs `Authorization: Bearer TOKEN` when serve has a token; names in paths are
checked against the project and run ids against their shape before anything else uses them.

    GET  /api/integrations                  GET  /api/runs?integration=&status=&limit=&before=
    GET  /api/integrations/{name}           GET  /api/runs/{id}
    POST /api/integrations/{name}/runs      GET  /api/runs/{id}/log   (text, or SSE)
    POST /api/runs/{id}/relaunch            POST /api/runs/{id}/cancel
    GET  /api/schedule?hours=24             (the scheduled runs ahead, the after: chains)
    GET  /metrics   GET /healthz            (no token needed)
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tapwell.runner.history import FINISHED
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
from tapwell.runner.serve.views import run_detail
from tapwell.singer.errors import TapwellError

if TYPE_CHECKING:
    from tapwell.runner.serve.service import Service


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error(status: int, message: str) -> Json:
    return Json({"error": message}, status_code=status)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _name(request: Request) -> str:
    return check_name(_service(request), str(request.path_params["name"]))


def _run_id(request: Request) -> str:
    return check_run_id(str(request.path_params["run_id"]))


async def _body(request: Request, allowed: set[str]) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object, e.g. {"full_refresh": true}')
    unknown = set(body) - allowed
    if unknown:
        raise ApiError(400, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "full_refresh" in body and not isinstance(body["full_refresh"], bool):
        raise ApiError(400, "full_refresh must be true or false")
    return body


# ---------------------------------------------------------------------- integrations


async def integrations(request: Request) -> Response:
    return Json(await run_in_threadpool(integrations_data, _service(request)))


async def integration(request: Request) -> Response:
    service, name = _service(request), _name(request)
    return Json(await run_in_threadpool(integration_data, service, name))


async def start_run(request: Request) -> Response:
    service, name = _service(request), _name(request)
    body = await _body(request, {"full_refresh"})
    try:
        job = await run_in_threadpool(
            service.manager.submit,
            name,
            "manual",
            full_refresh=bool(body.get("full_refresh", False)),
        )
    except Busy as busy:
        return Json({"error": str(busy), "run_id": busy.run_id}, status_code=409)
    except RuntimeError as exc:
        return error(503, str(exc))
    return Json({"run_id": job.run_id, "integration": name}, status_code=202)


# ---------------------------------------------------------------------- runs


async def runs(request: Request) -> Response:
    service = _service(request)
    query = dict(request.query_params)
    return Json(await run_in_threadpool(runs_data, service, query))


async def _record(request: Request) -> Any:
    run_id = _run_id(request)
    record = await run_in_threadpool(_service(request).store.run, run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id!r}")
    return record


async def run(request: Request) -> Response:
    return Json(run_detail(await _record(request)))


async def run_log(request: Request) -> Response:
    record = await _record(request)
    store = _service(request).store
    if "text/event-stream" in request.headers.get("accept", ""):
        start = request.headers.get("last-event-id", "")
        first = int(start) + 1 if start.isdigit() else 0
        return StreamingResponse(
            _log_events(request, record.id, first),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    lines = await run_in_threadpool(store.read_log, record.id)
    text = "\n".join(lines) if lines else record.log
    return PlainTextResponse(text + ("\n" if text else ""))


async def _log_events(request: Request, run_id: str, seen: int) -> AsyncIterator[bytes]:
    """The lines so far, then each new one as it is written (event `line`, id = its index),
    then `end` with the final status. A run recorded before live logs has one final log."""
    import anyio

    service = _service(request)
    store = service.store
    while True:
        lines = await run_in_threadpool(store.read_log, run_id, seen)
        for line in lines:
            yield _event("line", line, seen)
            seen += 1
        record = await run_in_threadpool(store.run, run_id)
        if record is None or record.outcome in FINISHED:
            rest = await run_in_threadpool(store.read_log, run_id, seen)
            for line in rest:
                yield _event("line", line, seen)
                seen += 1
            if seen == 0 and record is not None:
                for line in record.log.splitlines():
                    yield _event("line", line, seen)
                    seen += 1
            status = record.outcome if record else "lost"
            yield _event("end", orjson.dumps({"status": status, "run_id": run_id}).decode())
            return
        if service.stopping or await request.is_disconnected():
            return
        await anyio.sleep(service.poll_seconds)


def _event(kind: str, data: str, index: int | None = None) -> bytes:
    head = f"event: {kind}\n" + (f"id: {index}\n" if index is not None else "")
    body = "".join(f"data: {part}\n" for part in data.split("\n"))
    return (head + body + "\n").encode()


async def relaunch(request: Request) -> Response:
    service = _service(request)
    old = await _record(request)
    if old.integration not in service.scheduler.project.names:
        return error(404, f"integration {old.integration!r} is no longer in the project")
    try:
        job = await run_in_threadpool(
            service.manager.submit,
            old.integration,
            "relaunch",
            full_refresh=old.full_refresh,
            relaunch_of=old.id,
        )
    except Busy as busy:
        return Json({"error": str(busy), "run_id": busy.run_id}, status_code=409)
    except RuntimeError as exc:
        return error(503, str(exc))
    return Json({"run_id": job.run_id, "relaunch_of": old.id}, status_code=202)


async def cancel(request: Request) -> Response:
    service = _service(request)
    record = await _record(request)
    if record.outcome in FINISHED:
        return error(409, f"run {record.id} has already ended ({record.outcome})")
    try:
        done = await run_in_threadpool(
            service.manager.cancel, record.id, "cancelled through the API (POST .../cancel)"
        )
    except LookupError as exc:
        return error(409, str(exc))
    return Json({"run_id": record.id, "status": done}, status_code=202)


async def schedule(request: Request) -> Response:
    """The scheduled runs ahead and the `after:` chains: the page's time line."""
    hours = request.query_params.get("hours")
    return Json(await run_in_threadpool(schedule_data, _service(request), hours))


# ---------------------------------------------------------------------- the rest


async def healthz(request: Request) -> Response:
    service = _service(request)
    return Json(
        {
            "status": "stopping" if service.stopping else "ok",
            "project_error": service.scheduler.error,
        },
        status_code=503 if service.stopping else 200,
    )


async def metrics(request: Request) -> Response:
    from tapwell.runner.serve.metrics import render

    service = _service(request)
    body, content_type = await run_in_threadpool(render, service)
    return Response(body, media_type=content_type)


class TokenAuth(BaseHTTPMiddleware):
    """`/api` needs `Authorization: Bearer TOKEN` (or the page's `tapwell_token` cookie) when
    serve has a token, compared in constant time."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        token: str | None = request.app.state.service.token
        if token and request.url.path.startswith("/api"):
            given = request.headers.get("authorization", "")
            bearer = given[7:].strip() if given.lower().startswith("bearer ") else ""
            bearer = bearer or request.cookies.get("tapwell_token", "")
            if not hmac.compare_digest(bearer.encode(), token.encode()):
                why = "wrong token" if bearer else "missing token"
                return error(
                    401, f"{why}: send the header Authorization: Bearer $TAPWELL_SERVE_TOKEN"
                )
        return await call_next(request)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith(("/api/", "/metrics", "/healthz")):
        from tapwell.runner.serve.web import error_page

        what = {404: "no such page", 405: "method not allowed here"}.get(exc.status_code)
        return error_page(request, exc.status_code, f"{what or exc.detail}: {request.url.path}")
    what = {404: "no such page", 405: "method not allowed here"}.get(exc.status_code, exc.detail)
    return error(exc.status_code, f"{what}: {request.method} {request.url.path}")


async def _crash(request: Request, exc: Exception) -> Response:
    if isinstance(exc, TapwellError):  # e.g. the state store is unreachable: said, masked
        return error(503 if exc.retriable else 500, str(exc))
    return error(500, f"internal error ({type(exc).__name__}); see the serve log")


class NoTrailingSlash:
    """`/api/integrations/` answers as `/api/integrations` (Starlette's own answer is a 307 with
    an empty body, and only where the slash-less route exists): every path but `/` is routed
    without its trailing slashes, API and pages alike, before the token check and the routing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and len(path) > 1 and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def routes() -> list[Route]:
    return [
        Route("/api/integrations", integrations),
        Route("/api/integrations/{name}", integration),
        Route("/api/integrations/{name}/runs", start_run, methods=["POST"]),
        Route("/api/runs", runs),
        Route("/api/runs/{run_id}", run),
        Route("/api/runs/{run_id}/log", run_log),
        Route("/api/runs/{run_id}/relaunch", relaunch, methods=["POST"]),
        Route("/api/runs/{run_id}/cancel", cancel, methods=["POST"]),
        Route("/api/schedule", schedule),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
    ]


def make_app(service: Service) -> Starlette:
    """The JSON API and the web page (tapwell.runner.serve.web) over the same queries."""
    from tapwell.runner.serve.web import SameOrigin
    from tapwell.runner.serve.web import routes as web_routes

    app = Starlette(
        routes=routes() + web_routes(),
        middleware=[Middleware(NoTrailingSlash), Middleware(SameOrigin), Middleware(TokenAuth)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
        lifespan=service.lifespan,
    )
    app.state.service = service
    return app
