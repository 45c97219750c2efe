"""What the resident service flows need from the center and the printers, and the adapters over the real pieces.

`ServicesPort` is the center as the flows see it: reads (overview, deposits, loans, schedule, eligibility,
trial, limit, transfers, progress), certificate issue, SMS proof of a new phone number, and one transaction
submit. `HttpServicesCenter` implements it over sync's signed HTTP client (sync.client.HttpCenterClient), so
every request is signed as sync.protocol says and every error arrives typed:
    CenterOffline  (kiosk.flows.ports)  the link is down / timed out / 5xx: try later
    PortError      the center's final answer: code + plain Chinese (its own message) + English detail
Blocking methods take a CancelToken and run only on Tasks workers.

Printers: `ReceiptPrinterPort` prints a printing.documents.Receipt, `A4PrinterPort` a certificate or statement
(PDF); both journal the job so a failed one can be printed again (`reprint`). A failed print raises
PrintFailed, which carries the print-journal job id for the reprint."""
from __future__ import annotations

import json
import logging
from typing import Any, Optional, Protocol, runtime_checkable
from urllib.parse import quote

from devices.base import CancelToken, CompletionCode, DeviceError, Usability
from kiosk.flows.ports import CenterOffline, PortError
from sync.protocol import ItemResult, TransactionIn

log = logging.getLogger(__name__)


class PrintFailed(PortError):
    """A print job failed (paper out, cover open, printer gone); `job_id` reprints it once fixed."""

    def __init__(self, code: str, message_zh: str, message_en: str, job_id: str = "",
                 completion: CompletionCode = CompletionCode.DEVICE_NOT_READY):
        super().__init__(code, message_zh, message_en)
        self.job_id = job_id
        self.completion = completion


@runtime_checkable
class ServicesPort(Protocol):
    def person(self, id_number: str, token: CancelToken) -> dict: ...
    def deposits(self, id_number: str, year: int, page: int, page_size: int, token: CancelToken) -> dict: ...
    def loans(self, id_number: str, token: CancelToken) -> list[dict]: ...
    def schedule(self, id_number: str, contract_no: str, token: CancelToken) -> dict: ...
    def eligibility(self, id_number: str, reason: str, amount_fen: Optional[int], token: CancelToken,
                    evidence: Optional[dict] = None) -> dict: ...
    def loan_trial(self, amount_fen: int, months: int, first_home: bool, method: str, token: CancelToken) -> dict: ...
    def loan_limit(self, id_number: str, request: dict, token: CancelToken) -> dict: ...
    def transfers(self, id_number: str, token: CancelToken) -> list[dict]: ...
    def progress(self, serial: str, token: CancelToken) -> dict: ...
    def issue_certificate(self, id_number: str, kind: str, contract_no: Optional[str], key: str,
                          token: CancelToken) -> dict: ...
    def send_sms(self, id_number: str, purpose: str, phone: Optional[str], key: str, token: CancelToken) -> dict: ...
    def verify_sms(self, id_number: str, purpose: str, phone: Optional[str], code: str, key: str,
                   token: CancelToken) -> bool: ...
    def verify_query_password(self, id_number: str, digest: str, key: str, token: CancelToken) -> dict: ...
    def issue_statement(self, id_number: str, year: int, key: str, token: CancelToken, kind: str = "account",
                        contract_no: Optional[str] = None) -> dict: ...
    def submit(self, item: TransactionIn, token: CancelToken) -> ItemResult: ...


@runtime_checkable
class ReceiptPrinterPort(Protocol):
    def usable(self) -> Usability: ...
    def print_receipt(self, receipt, token: CancelToken) -> str: ...        # returns the print-journal job id
    def reprint(self, job_id: str, token: CancelToken) -> str: ...


@runtime_checkable
class A4PrinterPort(Protocol):
    def usable(self) -> Usability: ...
    def print_document(self, document, token: CancelToken) -> str: ...
    def reprint(self, job_id: str, token: CancelToken) -> str: ...


# --- the center over sync's signed HTTP client ----------------------------------------------------------

class HttpServicesCenter:
    """ServicesPort over sync.client.HttpCenterClient (or anything with its `_request`, e.g. the demo's
    SwitchableCenterPort wrapper). Never retries: a flow decides what a failure means for the customer."""

    def __init__(self, client, switch=None):
        self.client = client
        self.switch = switch          # kiosk.flows.adapters.NetworkSwitch (the demo's "cut the network")

    # plumbing
    def _call(self, method: str, path: str, token: CancelToken, body: Any = None, *, query: Optional[dict] = None,
              key: Optional[str] = None, ok: tuple[int, ...] = (200,)):
        from sync.client import CenterAuthError, CenterRefused, CenterUnavailable
        token.check()
        if self.switch is not None and not self.switch.online:
            raise CenterOffline("network switched off")
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            resp = self._request(method, path, raw, query=query, idempotency_key=key, ok=ok)
        except CenterAuthError as exc:
            log.error("center refused the terminal on %s %s: %s", method, path, exc.detail)
            raise PortError("TERMINAL_NOT_TRUSTED", "本终端暂时无法办理业务，请联系工作人员", exc.detail) from None
        except CenterRefused as exc:
            raise PortError(exc.code, exc.message_zh or "公积金中心未受理该请求", exc.detail) from None
        except CenterUnavailable as exc:
            if exc.status == 429:     # a rate limit (SMS 1/min, 10/day): the center's own words, not "offline"
                raise PortError(exc.code, exc.message_zh or "操作过于频繁，请稍后再试", exc.detail) from None
            raise CenterOffline(exc.detail or exc.code) from None
        token.check()
        try:
            data = resp.json() if resp.content else {}
        except ValueError:
            raise CenterOffline(f"{method} {path}: reply is not JSON") from None
        return data

    def _request(self, method: str, path: str, raw: bytes, **kw):
        """One request; a read whose pooled keep-alive connection the center had just closed (idle timeout: the
        reset comes before anything was sent back) is asked once more, freshly signed, on a new connection."""
        from sync.client import CenterUnavailable
        try:
            return self.client._request(method, path, raw, **kw)
        except CenterUnavailable as exc:
            stale = exc.code == "CENTER_UNREACHABLE" and "Connection aborted" in (exc.detail or "")
            if method != "GET" or not stale:
                raise
            log.info("%s %s: the center had closed the idle connection; asking once more", method, path)
            return self.client._request(method, path, raw, **kw)

    # reads
    def person(self, id_number, token):
        return self._call("GET", f"/persons/{quote(id_number)}", token)

    def deposits(self, id_number, year, page, page_size, token):
        return self._call("GET", f"/persons/{quote(id_number)}/deposits", token,
                          query={"year": int(year), "page": int(page), "page_size": int(page_size)})

    def loans(self, id_number, token):
        return list(self._call("GET", f"/persons/{quote(id_number)}/loans", token).get("loans", []))

    def schedule(self, id_number, contract_no, token):
        return self._call("GET", f"/persons/{quote(id_number)}/loans/{quote(contract_no, safe='')}/schedule", token)

    def eligibility(self, id_number, reason, amount_fen, token, evidence=None):
        body = {"id_number": id_number, "reason": reason}
        if amount_fen:
            body["amount_fen"] = amount_fen
        if evidence:
            body["evidence"] = evidence
        return self._call("POST", "/withdrawals/eligibility", token, body)

    def loan_trial(self, amount_fen, months, first_home, method, token):
        return self._call("POST", "/loans/trial", token, {"amount_fen": amount_fen, "months": months,
                                                          "first_home": first_home, "method": method})

    def loan_limit(self, id_number, request, token):
        return self._call("POST", "/loans/limit", token, {"id_number": id_number, **request})

    def transfers(self, id_number, token):
        return list(self._call("GET", f"/persons/{quote(id_number)}/transfers", token).get("transfers", []))

    def progress(self, serial, token):
        return self._call("GET", f"/progress/{quote(serial, safe='')}", token)

    # effects with an idempotency key
    def issue_certificate(self, id_number, kind, contract_no, key, token):
        body = {"id_number": id_number, "kind": kind}
        if contract_no:
            body["contract_no"] = contract_no
        return self._call("POST", "/certificates", token, body, key=key)

    def send_sms(self, id_number, purpose, phone, key, token):
        body = {"id_number": id_number, "purpose": purpose}
        if phone:
            body["phone"] = phone
        return self._call("POST", "/identity/sms/send", token, body, key=key)

    def verify_sms(self, id_number, purpose, phone, code, key, token):
        body = {"id_number": id_number, "purpose": purpose, "code": code}
        if phone:
            body["phone"] = phone
        try:
            self._call("POST", "/identity/sms/verify", token, body, key=key)
        except PortError as exc:
            if exc.code == "SMS_CODE_WRONG":
                return False
            raise
        return True

    def verify_query_password(self, id_number, digest, key, token):
        """{verified, attempts_left}; PortError PASSWORD_NOT_SET / PASSWORD_LOCKED (center/api/services_extra.py)."""
        return self._call("POST", "/identity/query-password/verify", token,
                          {"id_number": id_number, "digest": digest}, key=key)

    def issue_statement(self, id_number, year, key, token, kind="account", contract_no=None):
        """The center's signed statement for one year (center/api/services_extra.py): kind account (个人账户明细),
        annual (年度对账单) or loan (贷款明细 of contract_no)."""
        body = {"id_number": id_number, "year": int(year), "kind": kind}
        if contract_no:
            body["contract_no"] = contract_no
        return self._call("POST", "/statements", token, body, key=key)

    def submit(self, item, token):
        """One transaction (Idempotency-Key = client id). CenterOffline when the answer is unknown."""
        from sync.client import CenterAuthError, CenterUnavailable
        token.check()
        if self.switch is not None and not self.switch.online:
            raise CenterOffline("network switched off")
        try:
            return self.client.submit(item)
        except CenterAuthError as exc:
            raise PortError("TERMINAL_NOT_TRUSTED", "本终端暂时无法办理业务，请联系工作人员", exc.detail) from None
        except CenterUnavailable as exc:
            raise CenterOffline(exc.detail or exc.code) from None


# --- printers over the printing devices -----------------------------------------------------------------

def _await_job(handle, token: CancelToken) -> str:
    from kiosk.flows.adapters import await_handle
    job_id = getattr(handle, "job_id", "")
    try:
        await_handle(handle, token)
    except DeviceError as exc:
        c = exc.completion
        if c.code is CompletionCode.CANCELED:
            raise
        raise PrintFailed(c.error_code or c.code.value, c.message or "打印失败，请联系工作人员",
                          f"print job {job_id} failed: {c.error_code} {c.description}", job_id, c.code) from None
    return job_id


class _PrinterAdapter:
    def __init__(self, device):
        self.device = device
        self.simulator = getattr(device, "simulator", None)

    def usable(self) -> Usability:
        from kiosk.flows.adapters import _device_usable
        return _device_usable(self.device)

    def reprint(self, job_id: str, token: CancelToken) -> str:
        return _await_job(self.device.reprint(job_id), token)


class ReceiptPrinterAdapter(_PrinterAdapter):
    """printing.escpos.device.EscposPrinter -> ReceiptPrinterPort."""

    def print_receipt(self, receipt, token: CancelToken) -> str:
        return _await_job(self.device.print_document(receipt), token)

    def paper_present(self) -> bool:
        sim = self.simulator
        taken = getattr(sim, "paper_in_slot", None) if sim is not None else None
        return bool(taken() if callable(taken) else taken) if taken is not None else False


class A4PrinterAdapter(_PrinterAdapter):
    """printing.cups.CupsPrinter / FilePrinter -> A4PrinterPort."""

    def print_document(self, document, token: CancelToken) -> str:
        return _await_job(self.device.print_document(document), token)
