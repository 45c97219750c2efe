"""The staff side's calls to the center, on sync's signed HTTP client (one port, same signing, same errors).

HttpCenterClient covers what the sync worker needs; teller login, the HPF loan limit, the log upload and the
network probe are added here so sync/ stays the worker's business."""
from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Optional

import requests

from sync import protocol as P
from sync.client import CenterError, CenterRefused, CenterUnavailable, HttpCenterClient, _short


class StaffCenterClient(HttpCenterClient):
    """HttpCenterClient plus the teller/technician calls. Every call is signed unless stated."""

    def teller_login(self, teller_id: str, password: str) -> dict:
        """{token, teller_id, name, role, expires_at}; CenterRefused TELLER_LOGIN_FAILED (401) or TELLER_LOCKED
        (403); CenterAuthError when the center does not trust the terminal itself."""
        body = json.dumps({"teller_id": teller_id, "password": password}).encode("utf-8")
        resp = self._request("POST", "/tellers/login", body)
        return self._json(resp)

    def _error_for(self, method: str, path: str, resp: requests.Response) -> CenterError:
        """A wrong teller password (401) or a locked teller (403) is the teller's problem, not the terminal's:
        answer CenterRefused and do not raise the terminal-credentials alarm the base class logs."""
        if path == "/tellers/login" and resp.status_code in (401, 403):
            try:
                err = P.ErrorBody.model_validate_json(resp.content)
            except Exception:
                err = None
            if err is not None and err.code.startswith("TELLER_"):
                return CenterRefused(err.code, err.message, f"{method} {path} -> {resp.status_code} {err.code}: "
                                     f"{err.detail}", status=resp.status_code)
        return super()._error_for(method, path, resp)

    def loan_limit(self, body: dict) -> dict:
        resp = self._request("POST", "/loans/limit", json.dumps(body).encode("utf-8"))
        return self._json(resp)

    def upload_logs(self, data: bytes) -> dict:
        resp = self._request("POST", "/terminals/logs", data, headers={"Content-Type": "application/octet-stream"})
        return self._json(resp)

    def healthz(self) -> float:
        """Unsigned GET /healthz; returns the round trip in ms. CenterUnavailable when it does not answer."""
        url = self.base_url + "/healthz"
        t0 = time.monotonic()
        try:
            resp = self.session.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise CenterUnavailable("CENTER_UNREACHABLE", "暂时无法连接公积金中心，请稍后再试。",
                                    f"GET /healthz: {exc.__class__.__name__}: {_short(exc)}") from None
        if resp.status_code >= 500:
            raise CenterUnavailable(f"HTTP_{resp.status_code}", "公积金中心繁忙，请稍后再试。",
                                    f"GET /healthz -> {resp.status_code}")
        return (time.monotonic() - t0) * 1000

    def signed_probe(self) -> tuple[int, Optional[float]]:
        """A signed GET /catalog: (HTTP status, center clock − local clock in seconds from its Date header)."""
        before = time.time()
        resp = self._request("GET", "/catalog", ok=(200, 304))
        after = time.time()
        return resp.status_code, _skew(resp.headers.get("Date"), (before + after) / 2)


def _skew(date_header: Optional[str], local: float) -> Optional[float]:
    if not date_header:
        return None
    try:
        return parsedate_to_datetime(date_header).timestamp() - local
    except (TypeError, ValueError):
        return None
