"""The reference center's HTTP service (FastAPI). `create_app(config)` builds it; `hpf-center serve` runs it.

Every terminal endpoint is signed (sync.protocol); every mutating endpoint needs an Idempotency-Key.
Every error answers sync.protocol.ErrorBody: a stable code, a plain Chinese message, an English detail."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from center.config import CenterConfig
from center.db import make_engine, make_sessionmaker, migrate
from center.errors import ApiError
from sync.protocol import ErrorBody

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024


class BufferedBody:
    """ASGI middleware: reads the request body once (≤ 25 MB), keeps the exact bytes in scope['hpf.body'] for the
    signature check, and replays them to the app (form parsing would otherwise consume the stream first)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                body = ErrorBody(code="BODY_TOO_LARGE", message="提交的内容过大",
                                 detail=f"request body larger than {MAX_BODY_BYTES} bytes").model_dump_json().encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        data = b"".join(chunks)
        scope["hpf.body"] = data
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _purge_nonces_forever(app) -> None:
    import asyncio

    from starlette.concurrency import run_in_threadpool

    from center.security import purge_nonces
    while True:
        await asyncio.sleep(600)
        try:
            n = await run_in_threadpool(purge_nonces, app.state.db)
            log.info("purged %d expired nonces", n)
        except Exception as e:  # noqa: BLE001 - housekeeping must not stop the service
            log.warning("nonce purge failed: %s", e)


AUTO_ADVANCE_POLL_S: float | None = None     # None: every min(60 s, half the configured minutes)


async def _auto_advance_forever(app, minutes: int) -> None:
    """Sandbox only (HPF_CENTER_CASE_AUTO_ADVANCE_MIN): open transfer-ins and loan pre-applications take their
    next step once untouched for `minutes` (center.api.admin.auto_advance)."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    from center.api.admin import auto_advance
    from center.db import session_scope

    def one_pass() -> int:
        with session_scope(app.state.db) as s:
            return len(auto_advance(s, minutes))
    while True:
        await asyncio.sleep(AUTO_ADVANCE_POLL_S or min(60.0, minutes * 30.0))
        try:
            n = await run_in_threadpool(one_pass)
            if n:
                log.info("sandbox auto-advance moved %d case(s)", n)
        except Exception as e:  # noqa: BLE001 - housekeeping must not stop the service
            log.warning("sandbox auto-advance failed: %s", e)


@asynccontextmanager
async def _lifespan(app):
    """Housekeeping while serving (expired nonces every 10 minutes; the sandbox's case auto-advance when
    configured); the engine is closed on shutdown."""
    import asyncio
    tasks = [asyncio.get_running_loop().create_task(_purge_nonces_forever(app))]
    cfg = app.state.config
    if cfg.sandbox and cfg.case_auto_advance_minutes > 0:
        tasks.append(asyncio.get_running_loop().create_task(_auto_advance_forever(app, cfg.case_auto_advance_minutes)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        app.state.engine.dispose()


ERROR_RESPONSES = {s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 422, 500)}


def create_app(config: CenterConfig | None = None, *, run_migrations: bool = True) -> FastAPI:
    config = config or CenterConfig.from_env()
    if run_migrations:
        migrate(config.db_url)
    engine = make_engine(config.db_url)
    app = FastAPI(title="HPF reference center", version="1.0.0", lifespan=_lifespan,
                  description="住房公积金中心参考平台 — the wire contract for hpf-kiosk terminals (sync.protocol).",
                  responses=ERROR_RESPONSES)
    app.state.config = config
    app.state.engine = engine
    app.state.db = make_sessionmaker(engine)
    from center.certs import load_or_create_key
    app.state.signing_key = load_or_create_key(config.data_dir)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        level = logging.WARNING if exc.status < 500 else logging.ERROR
        log.log(level, "%s %s -> %d %s: %s", request.method, request.url.path, exc.status, exc.code, exc.detail)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errs = exc.errors()
        where = "; ".join(".".join(str(x) for x in e.get("loc", ())) + ": " + str(e.get("msg", ""))
                          for e in errs[:5])
        log.warning("%s %s -> 422 validation: %s", request.method, request.url.path, where)
        return JSONResponse(ErrorBody(code="VALIDATION_FAILED", message="提交的信息不完整或格式不正确",
                                      detail=where[:1000]).model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        zh = {404: "未找到该服务", 405: "不支持的请求方式"}.get(exc.status_code, "请求无法处理")
        return JSONResponse(ErrorBody(code=f"HTTP_{exc.status_code}", message=zh, detail=str(exc.detail)).model_dump(),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("%s %s -> 500 %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return JSONResponse(ErrorBody(code="INTERNAL_ERROR", message="系统繁忙，请稍后再试",
                                      detail=type(exc).__name__).model_dump(), status_code=500)

    from center.api import admin, certificates, identity, query, terminal
    for mod in (terminal, query, identity, certificates, admin):
        app.include_router(mod.router)
    from center.api import services_extra          # kiosk resident services: query password, repayment account
    services_extra.install(app, engine)

    app.add_middleware(BufferedBody)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        return {"status": "ok"}

    return app
