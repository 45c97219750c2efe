"""Adapters from the real pieces to the kiosk ports: device classes (devices/*, printing/) and the center
(HTTP /v1 identity endpoints, signed as sync.protocol says). Plus the demo's network switch.

Every blocking method runs on a Tasks worker, never on the Qt thread, and honours the CancelToken: a device
command is canceled through its CommandHandle when the customer presses cancel."""
from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import re
import secrets
import threading
from datetime import date, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

import requests

from devices.base import (CancelToken, CommandHandle, Completion, DeviceError,
                          DeviceStatus, MediaState, Usability)
from kiosk.domain.masking import mask_id_number
from kiosk.flows.ports import (BankCard, CenterOffline, FaceCapture, FaceVerdict, IdentityDocument, PortError,
                               QualityReport, Slip, SmsTicket)
from sync import protocol as P

log = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_UNUSABLE = (DeviceStatus.NO_DEVICE, DeviceStatus.POWER_OFF, DeviceStatus.HARDWARE_ERROR)


def await_handle(handle: CommandHandle, token: CancelToken) -> Any:
    """Wait for a device command; cancel it if our token stops; raise DeviceError unless it succeeded."""
    while True:
        try:
            completion: Completion = handle.future.result(timeout=0.1)
            break
        except concurrent.futures.TimeoutError:
            if token.stopped:
                handle.cancel()
                try:
                    handle.future.result(timeout=2.0)
                except concurrent.futures.TimeoutError:
                    pass
                token.check()
    if not completion.ok:
        raise DeviceError(completion.code, completion.error_code, completion.description, completion.message_zh)
    return completion.value


def _device_usable(device) -> Usability:
    try:
        u = device.is_usable()
    except TypeError:
        u = type(device).is_usable()
    if not u.ok:
        return u
    state = device.status.state
    if state.device in _UNUSABLE:
        return Usability(False, f"{device.role} is {state.device.value}: {state.detail}")
    return Usability(True)


class IdCardAdapter:
    """devices.idcard.reader.IdCardReader -> IdCardPort."""

    def __init__(self, device):
        self.device = device
        sim = getattr(device, "simulator", None)
        self.simulator = IdCardSimControls(sim) if sim is not None else None

    def usable(self) -> Usability:
        return _device_usable(self.device)

    def card_present(self) -> bool:
        return self.device.status.state.media is MediaState.PRESENT

    def read(self, token: CancelToken) -> IdentityDocument:
        data = await_handle(self.device.read_card(timeout=0), token)
        return IdentityDocument(name=data.name, id_number=data.id_number, gender=data.gender_code,
                                birth=data.birth, address=data.address,
                                valid_to=data.valid_to.strftime("%Y%m%d") if data.valid_to else "长期",
                                photo=data.photo_bmp or b"")


class CardReaderAdapter:
    """devices.pcsc SmartCardReader -> CardReaderPort. Each read needs a fresh insertion: after a read the
    card must leave the reader before the next one counts (else a refused card would be re-read at once)."""

    def __init__(self, device):
        self.device = device
        self._need_removal = False
        self._lock = threading.Lock()
        device.status.subscribe(self._status)
        sim = getattr(device, "simulator", None)
        self.simulator = CardSimControls(sim) if sim is not None else None

    def _status(self, role, state) -> None:
        if state.media is MediaState.NOT_PRESENT:
            with self._lock:
                self._need_removal = False

    def usable(self) -> Usability:
        return _device_usable(self.device)

    def card_present(self) -> bool:
        return self.device.status.state.media is MediaState.PRESENT

    def read(self, token: CancelToken) -> BankCard:
        while True:
            with self._lock:
                if not self._need_removal or not self.card_present():
                    self._need_removal = False
                    break
            token.wait(0.05)
        data = await_handle(self.device.start_read_bank_card(timeout=0), token)
        with self._lock:
            self._need_removal = True
        return BankCard(pan=data.pan, expiry=data.expiry.strftime("%y%m") if data.expiry else "",
                        holder_name=data.cardholder_name, holder_id=data.id_number)


class CameraAdapter:
    """devices.camera.camera.Camera -> CameraPort: the camera's quality gates drive the guidance; its preview
    frames feed the screen. The portrait JPEG is copied out and the camera's own buffer wiped at once."""

    CAPTURE_TIMEOUT_S = 30.0
    HINTS = {"FACE_NOT_FOUND": "no_face", "FACE_MULTIPLE": "multiple_faces", "FACE_TOO_FAR": "too_far",
             "FACE_TOO_CLOSE": "too_close", "FACE_OFF_CENTRE": "off_center", "FACE_TOO_DARK": "too_dark",
             "FACE_TOO_BRIGHT": "too_bright", "FACE_LOW_CONTRAST": "too_dark", "FACE_BLURRY": "blurry"}

    def __init__(self, device):
        self.device = device
        sim = getattr(device, "simulator", None)
        self.simulator = CameraSimControls(sim) if sim is not None else None

    def usable(self) -> Usability:
        return _device_usable(self.device)

    def _report(self, report) -> QualityReport:
        if report is None:
            return QualityReport(False, "no_face")
        code = getattr(report.code, "value", str(report.code))
        box = tuple(int(v) for v in report.face_box) if report.face_box is not None else None
        return QualityReport(code == "OK", "" if code == "OK" else self.HINTS.get(code, "hold_still"), box)

    def capture(self, token: CancelToken, on_frame) -> FaceCapture:
        latest: list = [None]

        def progress(report) -> None:          # camera worker thread
            latest[0] = report
            on_frame(None, self._report(report))

        unsubscribe = self.device.add_preview_listener(lambda frame: on_frame(frame, self._report(latest[0])),
                                                       fps=12)
        try:
            face = await_handle(self.device.capture_face(timeout=self.CAPTURE_TIMEOUT_S, on_progress=progress), token)
        finally:
            unsubscribe()
        try:
            return FaceCapture(bytes(face.jpeg), face.width, face.height)
        finally:
            face.wipe()


class CameraSimControls:
    SCENES = {"good": "good_face", "none": "no_face"}

    def __init__(self, sim):
        self.sim = sim

    @property
    def face(self) -> str:
        return "good" if self.sim.scene == "good_face" else "none"

    def show_face(self, kind: str = "good") -> None:
        self.sim.show(self.SCENES.get(kind, kind))


class EscposPrinterAdapter:
    """printing.escpos.device.EscposPrinter -> PrinterPort (the slip as a printing.documents.Receipt).

    A real ESC/POS printer cannot tell whether the paper was taken; only the simulator's exit slot can."""

    def __init__(self, device):
        self.device = device
        sim = getattr(device, "simulator", None)
        self.simulator = PrinterSimControls(sim) if sim is not None else None

    def usable(self) -> Usability:
        return _device_usable(self.device)

    def paper_present(self) -> bool:
        return bool(self.simulator and self.simulator.paper_present())

    def print_slip(self, slip: Slip, token: CancelToken) -> str:
        from printing.documents import Receipt
        now = datetime.now(LOCAL_TZ)
        receipt = Receipt(center_name=slip.center_name, terminal_id=slip.terminal_id, issued_at=now,
                          serial_no=slip.serial_no, client_id=slip.serial_no, item=slip.item_zh,
                          masked_name=slip.masked_name, masked_id=slip.masked_id, status_line=slip.status_line,
                          title=slip.title)
        sim = self.simulator.sim if self.simulator else None
        before = len(sim.jobs) if sim is not None else 0
        await_handle(self.device.print_receipt(receipt), token)
        if sim is not None:                      # what the (simulated) paper really shows, decoded
            jobs = sim.wait_for_jobs(before + 1, timeout=2.0)
            if len(jobs) > before:
                return jobs[-1].text
        return "\n".join(slip.lines(f"{now:%Y-%m-%d %H:%M}")) + "\n"


class PrinterSimControls:
    def __init__(self, sim):
        self.sim = sim

    def paper_present(self) -> bool:
        return bool(self.sim.paper_in_slot)

    def take(self) -> None:
        self.sim.take_receipt()


# --- simulator controls with one shape for the demo panel, whatever the simulator -------------------------

def center_demo_people() -> list[dict]:
    """The reference center's seeded demo persons (center/README.md), as ID cards to place."""
    rows = [("330802198503151230", "张建国"), ("330802197807201247", "李秀英"), ("330802197011021259", "王强"),
            ("330802199311111335", "郑浩")]
    return [{"id_number": n, "name": name} for n, name in rows]


def _demo_card(person: dict):
    from devices.idcard.card import CardType, IdCardData
    n = person["id_number"]
    birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    wlt = b"".join(hashlib.sha256(f"{n}{i}".encode()).digest() for i in range(32))
    return IdCardData(card_type=CardType.RESIDENT, name=person["name"], gender_code="1" if int(n[16]) % 2 else "2",
                      birth=birth, id_number=n, valid_from=date(2020, 1, 1), valid_to=date(2040, 1, 1),
                      nation_code="01", address="浙江省衢州市柯城区演示路1号", authority="衢州市公安局柯城分局",
                      photo_wlt=wlt)


class IdCardSimControls:
    def __init__(self, sim):
        self.sim = sim
        self.people = center_demo_people()

    def place(self, doc: Optional[IdentityDocument] = None, index: int = 0) -> None:
        person = {"id_number": doc.id_number, "name": doc.name} if doc else self.people[index]
        self.sim.place(_demo_card(person))

    def lift(self) -> None:
        self.sim.lift()

    def card_present(self) -> bool:
        return self.sim.card is not None


class CardSimControls:
    def __init__(self, sim):
        self.sim = sim
        self.pull_during_read = False

    def insert(self, pan: Optional[str] = None, holder: Optional[IdentityDocument] = None) -> None:
        fields = {}
        if pan:
            fields["pan"] = pan
        if holder:
            fields.update(name=holder.name, id_number=holder.id_number)
        pull = 2 if self.pull_during_read else None
        self.pull_during_read = False
        self.sim.insert("unionpay", pull_after=pull, **fields)

    def remove(self) -> None:
        self.sim.remove()

    def card_present(self) -> bool:
        return self.sim.present


# --- the center's identity services over HTTP -------------------------------------------------------------

class NetworkSwitch:
    """The demo's "cut the network": when off, every center call fails as if the cable were pulled."""

    def __init__(self):
        self.online = True


class HttpIdentityCenter:
    """IdentityCenterPort over the center's /v1/identity endpoints, each request signed (sync.protocol).

    The reference center has no bank four-element endpoint yet: the bank card is checked against the ID card
    by the holder data on its chip; a card without holder data leads to the SMS code instead."""

    def __init__(self, base_url: str, terminal_id: str, secret: bytes, timeouts=(3.0, 10.0),
                 switch: Optional[NetworkSwitch] = None):
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.secret = secret
        self.timeouts = timeouts
        self.switch = switch or NetworkSwitch()
        self.http = requests.Session()
        self.simulator = _CenterControls(self)

    def _post(self, path: str, token: CancelToken, *, json_body: Optional[dict] = None,
              files: Optional[dict] = None, data: Optional[dict] = None, idempotent: bool = True) -> dict:
        token.check()
        if not self.switch.online:
            raise CenterOffline("network switched off (demo)")
        wire = P.API_PREFIX + path
        if files is not None:
            req = requests.Request("POST", self.base_url + wire, files=files, data=data).prepare()
            body, ctype = req.body, req.headers["Content-Type"]
        else:
            import json
            body, ctype = json.dumps(json_body, ensure_ascii=False).encode("utf-8"), "application/json"
        headers = {"Content-Type": ctype, "Accept": "application/json"}
        headers.update(P.signed_headers(self.terminal_id, self.secret, "POST", wire, body))
        if idempotent:
            headers[P.HEADER_IDEMPOTENCY] = secrets.token_hex(16)
        try:
            resp = self.http.post(self.base_url + wire, data=body, headers=headers, timeout=self.timeouts)
        except requests.RequestException as exc:
            raise CenterOffline(f"POST {path}: {type(exc).__name__}") from None
        token.check()
        try:
            doc = resp.json()
        except ValueError:
            doc = {}
        if resp.status_code == 200:
            return doc
        if resp.status_code >= 500 or resp.status_code in (408, 502, 503, 504):
            raise CenterOffline(f"POST {path}: HTTP {resp.status_code}")
        raise PortError(doc.get("code", f"HTTP_{resp.status_code}"),
                        doc.get("message") or "公积金中心未受理该请求，请联系工作人员",
                        f"POST {path} -> {resp.status_code} {doc.get('code', '')}: {doc.get('detail', '')}")

    def verify_face(self, doc: IdentityDocument, capture: FaceCapture, token: CancelToken) -> FaceVerdict:
        out = self._post("/identity/face-verify", token, files={"image": ("face.jpg", capture.jpeg, "image/jpeg")},
                         data={"id_number": doc.id_number}, idempotent=False)
        return FaceVerdict(bool(out.get("verified")), float(out.get("score", 0)), out.get("code", "OK"),
                           out.get("message", ""))

    def send_sms_code(self, doc: IdentityDocument, token: CancelToken) -> SmsTicket:
        out = self._post("/identity/sms/send", token, json_body={"id_number": doc.id_number, "purpose": "identity"})
        return SmsTicket(ticket=secrets.token_hex(8), masked_phone=out.get("phone_masked", ""))

    def verify_sms_code(self, doc: IdentityDocument, ticket: SmsTicket, code: str, token: CancelToken) -> bool:
        try:
            self._post("/identity/sms/verify", token,
                       json_body={"id_number": doc.id_number, "purpose": "identity", "code": code})
        except PortError as exc:
            if exc.code == "SMS_CODE_WRONG":
                return False
            raise
        return True

    def verify_query_password(self, doc: IdentityDocument, password: str, token: CancelToken) -> bool:
        """The password never leaves the kiosk: only its PBKDF2 digest does (center/api/services_extra.py)."""
        from kiosk.flows.services.account_services import password_digest
        try:
            out = self._post("/identity/query-password/verify", token,
                             json_body={"id_number": doc.id_number, "digest": password_digest(doc.id_number, password)})
        except PortError as exc:
            if exc.code in ("HTTP_404", "HTTP_405"):
                raise PortError("METHOD_UNAVAILABLE", "查询密码核验暂不可用，请选择其他核验方式",
                                "the center offers no query-password check") from None
            raise
        return bool(out.get("verified"))

    def verify_bank_card(self, doc: IdentityDocument, card: BankCard, token: CancelToken) -> bool:
        token.check()
        if card.holder_id:
            same = card.holder_id.upper() == doc.id_number.upper()
            log.info("bank card holder check on chip data: %s (card holder %s)", "match" if same else "mismatch",
                     mask_id_number(card.holder_id))
            return same
        raise PortError("METHOD_UNAVAILABLE", "该银行卡无法核验持卡人，请改用短信验证码",
                        "card carries no holder ID and the center offers no four-element check")

    # sandbox helpers (demo panel, selftest): what the sandbox SMS gateway "sent"
    def sandbox_last_sms_code(self) -> str:
        try:
            resp = self.http.get(self.base_url + P.API_PREFIX + "/sandbox/sms", params={"limit": 1},
                                 timeout=self.timeouts)
            rows = resp.json() if resp.status_code == 200 else []
        except (requests.RequestException, ValueError):
            return ""
        m = re.search(r"验证码\s*(\d{6})", rows[0].get("text", "")) if rows else None
        return m.group(1) if m else ""


class _CenterControls:
    """Demo panel controls for the real center: the network switch and the sandbox SMS outbox."""

    def __init__(self, center: HttpIdentityCenter):
        self._center = center

    @property
    def online(self) -> bool:
        return self._center.switch.online

    @online.setter
    def online(self, value: bool) -> None:
        self._center.switch.online = value

    def fetch_sms_code(self) -> str:
        return self._center.sandbox_last_sms_code()


class SwitchableCenterPort:
    """Wraps sync's CenterPort so the demo's network switch cuts the sync worker's link too."""

    def __init__(self, port, switch: NetworkSwitch):
        self._port = port
        self._switch = switch

    def __getattr__(self, name):
        target = getattr(self._port, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            if not self._switch.online:
                from sync.client import CenterUnavailable
                raise CenterUnavailable("CENTER_UNREACHABLE", "暂时无法连接公积金中心，请稍后再试。",
                                        "network switched off (demo)")
            return target(*args, **kwargs)
        return call
