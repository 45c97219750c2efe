"""Helpers shared by the routers."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from center import idempotency as idem
from sync import protocol as P


def db(request: Request):
    return request.app.state.db


def cfg(request: Request):
    return request.app.state.config


async def idempotent_json(request: Request, principal: str, work) -> JSONResponse:
    """Runs work(session) -> (status, body) once per Idempotency-Key and replays the stored answer."""
    from starlette.concurrency import run_in_threadpool
    key = request.headers.get(P.HEADER_IDEMPOTENCY)
    body = request.scope.get("hpf.body")
    if body is None:
        body = await request.body()
    fp = idem.fingerprint(request.method, request.url.path, body)
    status, data, replayed = await run_in_threadpool(idem.run_idempotent, db(request), principal, key, fp, work)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(data, status_code=status, headers=headers)
