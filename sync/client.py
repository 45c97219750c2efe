"""The terminal's link to the fund center: one port (CenterPort), one HTTP implementation (HttpCenterClient).

Everything above this module (flows, the sync worker, the CLI) talks to CenterPort only. A province whose
platform speaks another dialect (other field names, RSA-signed headers, `spt_*` envelopes) gets its own
class implementing CenterPort; nothing above the port changes.

Errors are typed so callers decide without looking at HTTP:
    CenterUnavailable  network down, timeout, 5xx, 429, garbled reply     -> retry later (same key)
    CenterBusy         409: the same key is still being processed          -> retry later (same key)
    CenterRefused      any other 4xx: the center's final answer            -> rejected, with its code/message
    CenterAuthError    401/403: signature, clock, unknown/disabled terminal -> alarm for a technician
Retries happen at ONE layer (the worker); this client never retries by itself.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Optional, Protocol
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from sync import protocol as P
from sync.protocol import BatchRequest, BatchResponse, Catalog, Heartbeat, ItemOutcome, ItemResult, TransactionIn

log = logging.getLogger(__name__)


# --- errors ------------------------------------------------------------------------------------------

class CenterError(Exception):
    retryable = False

    def __init__(self, code: str, message_zh: str, detail: str = "", *, status: int = 0,
                 retry_after_s: float | None = None):
        super().__init__(f"{code}: {detail or message_zh}")
        self.code, self.message_zh, self.detail = code, message_zh, detail
        self.status, self.retry_after_s = status, retry_after_s


class CenterUnavailable(CenterError):
    retryable = True


class CenterBusy(CenterUnavailable):
    """409 IDEMPOTENCY_IN_FLIGHT: the center is still working on this key."""


class CenterRefused(CenterError):
    """A final 4xx answer (business or validation refusal)."""


class CenterAuthError(CenterError):
    """401/403: the terminal is not trusted (signature, clock skew, unknown or disabled terminal)."""


class NotEnrolled(CenterError):
    def __init__(self, detail: str = "no terminal credentials; run `hpf-kiosk enroll --code CODE`"):
        super().__init__("TERMINAL_NOT_ENROLLED", "本终端尚未在公积金中心登记，请联系技术人员。", detail)


# --- credentials -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TerminalCredentials:
    terminal_id: str
    secret: bytes

    def save(self, path: Path) -> None:
        """Written atomically, mode 0600 from the first byte."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, json.dumps({"terminal_id": self.terminal_id, "secret": self.secret.hex()}).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "TerminalCredentials":
        try:
            data = json.loads(Path(path).read_text())
            return cls(terminal_id=data["terminal_id"], secret=bytes.fromhex(data["secret"]))
        except FileNotFoundError:
            raise NotEnrolled() from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NotEnrolled(f"terminal credentials file {path} is unreadable: {exc}") from None


def credentials_file(settings) -> Path:
    return Path(settings.paths.data_dir) / "terminal.secret"


# --- the port ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReconcileReport:
    day: str
    accepted: frozenset[str]
    rejected: frozenset[str]


class CenterPort(Protocol):
    """What the flows and the sync worker need from a fund center."""

    def upload_batch(self, items: list[TransactionIn]) -> list[ItemResult]: ...

    def submit(self, item: TransactionIn) -> ItemResult: ...

    def transaction_status(self, client_id: str) -> Optional[ItemResult]: ...

    def reconcile(self, day: date) -> ReconcileReport: ...

    def fetch_catalog(self, etag: str | None) -> tuple[Optional[Catalog], Optional[str]]: ...

    def heartbeat(self, beat: Heartbeat) -> dict: ...


# --- HTTP implementation -----------------------------------------------------------------------------

_UNREACHABLE_ZH = "暂时无法连接公积金中心，请稍后再试。"
_TIMEOUT_ZH = "公积金中心响应超时，请稍后再试。"
_BUSY_ZH = "公积金中心繁忙，请稍后再试。"


class HttpCenterClient:
    """CenterPort over HTTP/JSON (/v1) with the sync.protocol signature on every request."""

    def __init__(self, base_url: str, credentials: TerminalCredentials | None, *, connect_timeout_s: float = 3.0,
                 read_timeout_s: float = 10.0, verify_tls: bool = True, software_version: str = ""):
        self.base_url = str(base_url).rstrip("/")
        self._prefix = urlsplit(self.base_url).path.rstrip("/")
        self.credentials = credentials
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = requests.Session()
        self.session.verify = verify_tls
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"hpf-kiosk/{software_version or '0'}"

    @classmethod
    def from_settings(cls, settings, credentials: TerminalCredentials | None = None) -> "HttpCenterClient":
        if credentials is None:
            credentials = TerminalCredentials.load(credentials_file(settings))
        return cls(str(settings.center.url), credentials, connect_timeout_s=settings.center.connect_timeout_s,
                   read_timeout_s=settings.center.read_timeout_s, verify_tls=settings.center.verify_tls,
                   software_version=software_version())

    def close(self) -> None:
        self.session.close()

    # --- the port ---

    def upload_batch(self, items: list[TransactionIn]) -> list[ItemResult]:
        body = BatchRequest(items=items).model_dump_json().encode("utf-8")
        resp = self._request("POST", "/transactions/batch", body,
                             idempotency_key=_batch_key(items))
        parsed = self._parse(resp, BatchResponse)
        by_id = {r.client_id: r for r in parsed.results}
        out = []
        for it in items:
            r = by_id.get(it.client_id)
            if r is None:   # the center skipped an item: treat as a retryable error for that item
                r = ItemResult(client_id=it.client_id, outcome=ItemOutcome.ERROR, http_status=502,
                               code="CENTER_ITEM_MISSING", message=_BUSY_ZH)
            out.append(r)
        return out

    def submit(self, item: TransactionIn) -> ItemResult:
        """One transaction, one POST (Idempotency-Key = client id). Accepted or refused -> ItemResult."""
        body = item.model_dump_json().encode("utf-8")
        resp = self._request("POST", "/transactions", body, idempotency_key=item.client_id, ok=(200, 201, 422))
        return self._item_result(item.client_id, resp)

    def transaction_status(self, client_id: str) -> Optional[ItemResult]:
        """The center's stored answer for a client id, or None if it never received it."""
        try:
            resp = self._request("GET", f"/transactions/{client_id}", ok=(200, 422))
        except CenterRefused as exc:
            if exc.status == 404:
                return None
            raise
        return self._item_result(client_id, resp)

    def reconcile(self, day: date) -> ReconcileReport:
        resp = self._request("GET", "/transactions/reconcile", query={"date": day.isoformat()})
        data = self._json(resp)
        return ReconcileReport(day=data.get("date", day.isoformat()),
                               accepted=frozenset(data.get("client_ids", [])),
                               rejected=frozenset(data.get("rejected", [])))

    def fetch_catalog(self, etag: str | None) -> tuple[Optional[Catalog], Optional[str]]:
        headers = {"If-None-Match": etag} if etag else {}
        resp = self._request("GET", "/catalog", headers=headers, ok=(200, 304))
        if resp.status_code == 304:
            return None, etag
        return self._parse(resp, Catalog), resp.headers.get("ETag")

    def heartbeat(self, beat: Heartbeat) -> dict:
        resp = self._request("POST", "/heartbeat", beat.model_dump_json().encode("utf-8"),
                             idempotency_key=f"hb-{beat.terminal_id}-{beat.sent_at.timestamp():.3f}")
        return self._json(resp) if resp.content else {}

    def enroll(self, terminal_id: str, code: str, extra: dict | None = None) -> TerminalCredentials:
        """Unsigned: exchanges a one-time enrollment code for the terminal secret."""
        body = json.dumps({"terminal_id": terminal_id, "code": code, **(extra or {})}).encode("utf-8")
        resp = self._request("POST", "/terminals/enroll", body, signed=False,
                             idempotency_key=f"enroll-{terminal_id}-{code}")
        data = self._json(resp)
        secret = data.get("secret_hex")
        if not secret:
            raise CenterUnavailable("CENTER_BAD_REPLY", _BUSY_ZH, "enrollment reply has no secret")
        try:
            raw = bytes.fromhex(secret)
        except ValueError:
            raw = secret.encode("utf-8")
        return TerminalCredentials(terminal_id=data.get("terminal_id", terminal_id), secret=raw)

    # --- HTTP plumbing ---

    def _request(self, method: str, path: str, body: bytes = b"", *, query: dict | None = None,
                 headers: dict | None = None, idempotency_key: str | None = None, signed: bool = True,
                 ok: tuple[int, ...] = (200, 201)) -> requests.Response:
        wire_path = self._prefix + P.API_PREFIX + path + ("?" + urlencode(query) if query else "")
        url = self.base_url[: len(self.base_url) - len(self._prefix)] + wire_path
        h = {"Accept": "application/json"}
        if body:
            h["Content-Type"] = "application/json"
        if idempotency_key:
            h[P.HEADER_IDEMPOTENCY] = idempotency_key
        if signed:
            if self.credentials is None:
                raise NotEnrolled()
            h.update(P.signed_headers(self.credentials.terminal_id, self.credentials.secret, method, wire_path, body))
        h.update(headers or {})
        try:
            resp = self.session.request(method, url, data=body or None, headers=h, timeout=self.timeout,
                                        allow_redirects=False)
        except requests.Timeout as exc:
            raise CenterUnavailable("CENTER_TIMEOUT", _TIMEOUT_ZH, f"{method} {path}: timeout ({exc.__class__.__name__})") from None
        except requests.RequestException as exc:
            raise CenterUnavailable("CENTER_UNREACHABLE", _UNREACHABLE_ZH,
                                    f"{method} {path}: {exc.__class__.__name__}: {_short(exc)}") from None
        if resp.status_code in ok:
            return resp
        raise self._error_for(method, path, resp)

    def _error_for(self, method: str, path: str, resp: requests.Response) -> CenterError:
        status = resp.status_code
        code, message, detail = f"HTTP_{status}", "", ""
        try:
            err = P.ErrorBody.model_validate_json(resp.content)
            code, message, detail = err.code, err.message, err.detail
        except Exception:   # not our error body (a proxy, a gateway page): keep the status
            detail = resp.text[:200]
        retry_after = _retry_after(resp)
        where = f"{method} {path} -> {status} {code}: {detail}"
        if status in (401, 403):
            log.error("center refused the terminal's credentials: %s", where)
            return CenterAuthError(code, message or "终端认证失败，请联系技术人员。", where, status=status)
        if status == 409:
            return CenterBusy(code, message or _BUSY_ZH, where, status=status, retry_after_s=retry_after)
        if status == 429 or status >= 500:
            return CenterUnavailable(code, message or _BUSY_ZH, where, status=status, retry_after_s=retry_after)
        return CenterRefused(code, message or "公积金中心未受理该请求。", where, status=status)

    def _json(self, resp: requests.Response) -> dict:
        try:
            data = resp.json()
        except ValueError:
            raise CenterUnavailable("CENTER_BAD_REPLY", _BUSY_ZH, f"reply is not JSON: {resp.text[:100]!r}") from None
        if not isinstance(data, dict):
            raise CenterUnavailable("CENTER_BAD_REPLY", _BUSY_ZH, "reply is not a JSON object")
        return data

    def _parse(self, resp: requests.Response, model):
        try:
            return model.model_validate_json(resp.content)
        except Exception as exc:
            raise CenterUnavailable("CENTER_BAD_REPLY", _BUSY_ZH,
                                    f"reply does not match {model.__name__}: {_short(exc)}") from None

    def _item_result(self, client_id: str, resp: requests.Response) -> ItemResult:
        """200/422 with an ItemResult body; a 422 ErrorBody (e.g. key reused, validation) is a refusal."""
        data = self._json(resp)
        try:
            return ItemResult.model_validate(data)
        except Exception:
            pass
        if resp.status_code == 422:
            try:
                err = P.ErrorBody.model_validate(data)
            except Exception:
                err = P.ErrorBody(code="HTTP_422", message="公积金中心未受理该请求。", detail=str(data)[:200])
            return ItemResult(client_id=client_id, outcome=ItemOutcome.REJECTED, http_status=422, code=err.code,
                              message=err.message)
        raise CenterUnavailable("CENTER_BAD_REPLY", _BUSY_ZH, f"reply is not an ItemResult: {str(data)[:100]}")


def _batch_key(items: list[TransactionIn]) -> str:
    """Same set of items -> same key; the real keys are the per-item client ids inside the body."""
    return "batch-" + hashlib.sha256("\n".join(sorted(i.client_id for i in items)).encode()).hexdigest()[:48]


def _retry_after(resp: requests.Response) -> float | None:
    v = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(v)) if v else None
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:200]


def software_version() -> str:
    try:
        from importlib.metadata import version
        return version("hpf-kiosk")
    except Exception:
        return "0.0.0"
