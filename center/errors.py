"""Errors the center answers with: an HTTP status, a stable code, a plain Chinese message, an English detail
(sync.protocol.ErrorBody). Raise ApiError anywhere in a request; the app turns it into the body."""
from __future__ import annotations

from sync.protocol import ErrorBody


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, detail: str = "", headers: dict | None = None):
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict:
        return ErrorBody(code=self.code, message=self.message, detail=self.detail).model_dump()


# Common refusals (code, Chinese message); details are per call.
NOT_FOUND = ("NOT_FOUND", "未找到相关信息")
PERSON_NOT_FOUND = ("PERSON_NOT_FOUND", "未查询到您的公积金账户信息，请到柜台咨询")
BAD_REQUEST = ("BAD_REQUEST", "请求内容不正确")
VALIDATION = ("VALIDATION_FAILED", "提交的信息不完整或格式不正确")
INTERNAL = ("INTERNAL_ERROR", "系统繁忙，请稍后再试")
NOT_READY = ("SERVICE_NOT_READY", "该业务暂未开通，请到柜台办理")
