"""Stand-ins for pieces other teams are still building, implementing the kiosk ports exactly.

Used by tests and, behind the composition root (kiosk/app.py), only when the real piece (devices/*/sim,
center.embedded) is not importable yet. Each has a `simulator` with the controls the demo panel offers.
Nothing here pretends to decode or compare faces: the center stand-in refuses faces on request."""
from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Optional

from devices.base import CancelToken, CompletionCode, DeviceError, Usability
from kiosk.domain.masking import mask_phone
from kiosk.flows.ports import (BankCard, CenterOffline, FaceCapture, FaceVerdict, IdentityDocument, PortError,
                               QualityReport, SmsTicket)

log = logging.getLogger(__name__)

# Demo people (valid check digits; not real persons).
DEMO_PEOPLE = [
    {"name": "张三", "id_number": "11010519491231002X", "phone": "13800138000", "password": "123456",
     "pan": "6222021234567890123", "gender": "2", "birth": date(1949, 12, 31), "address": "北京市朝阳区演示路1号"},
    {"name": "李四", "id_number": "440524188001010014", "phone": "13912345678", "password": "654321",
     "pan": "6217001234567890", "gender": "1", "birth": date(1880, 1, 1), "address": "广东省汕头市演示街2号"},
]


def demo_document(i: int = 0) -> IdentityDocument:
    p = DEMO_PEOPLE[i]
    return IdentityDocument(name=p["name"], id_number=p["id_number"], gender=p["gender"], birth=p["birth"],
                            address=p["address"], valid_to="20401231")


class _Gate:
    """A blocking spot a simulator can hold shut (to test that the UI never freezes)."""

    def __init__(self):
        self.release_at: float = 0.0

    def hold(self, seconds: float) -> None:
        import time
        self.release_at = time.monotonic() + seconds

    def wait(self, token: CancelToken) -> None:
        import time
        while time.monotonic() < self.release_at:
            token.wait(0.05)


class SimIdCard:
    """ID card reader stand-in: place()/lift() a card; the read waits for a freshly placed card."""

    def __init__(self):
        self._cond = threading.Condition()
        self.document: Optional[IdentityDocument] = None
        self._fresh = False
        self.missing = False
        self.fail_next: Optional[DeviceError] = None
        self.gate = _Gate()
        self.reads = 0

    @property
    def simulator(self):
        return self

    # controls
    def place(self, doc: Optional[IdentityDocument] = None) -> None:
        with self._cond:
            self.document = doc or demo_document()
            self._fresh = True
            self._cond.notify_all()

    def lift(self) -> None:
        with self._cond:
            self.document = None
            self._fresh = False

    # port
    def usable(self) -> Usability:
        return Usability(False, "ID card reader not connected") if self.missing else Usability(True)

    def card_present(self) -> bool:
        return self.document is not None

    def read(self, token: CancelToken) -> IdentityDocument:
        self.gate.wait(token)
        while True:
            with self._cond:
                if self.fail_next:
                    err, self.fail_next = self.fail_next, None
                    raise err
                if self.document is not None and self._fresh:
                    self._fresh = False
                    self.reads += 1
                    return replace(self.document)
                self._cond.wait(0.05)
            token.check()


class SimCamera:
    """Camera stand-in: draws a face (or none) and reports the quality gates frame by frame.

    face: 'good' walks through too_far -> off_center -> ok; 'none' never shows a face."""

    def __init__(self, frame_interval_s: float = 0.05):
        self.face = "good"
        self.missing = False
        self.frame_interval_s = frame_interval_s
        self.gate = _Gate()
        self.captures = 0

    @property
    def simulator(self):
        return self

    def show_face(self, kind: str = "good") -> None:
        self.face = kind
        self.picture = None

    def show_qr(self, payload: str) -> None:
        """A receipt with this QR code held up to the camera (kiosk.flows.services.qrscan reads it)."""
        from devices.camera.sim import receipt_picture
        self.picture = receipt_picture(payload)

    def frame(self):
        """One picture of what the camera sees now (the held-up receipt, or the face scene)."""
        if getattr(self, "picture", None) is not None:
            return self.picture.copy()
        return _scene("ok" if self.face == "good" else "no_face")[0]

    def usable(self) -> Usability:
        return Usability(False, "camera not connected") if self.missing else Usability(True)

    def capture(self, token: CancelToken, on_frame) -> FaceCapture:
        import cv2
        self.gate.wait(token)
        script = ["too_far", "off_center", "hold_still", "ok"]
        i = 0
        while True:
            token.check()
            step = script[min(i, len(script) - 1)] if self.face == "good" else "no_face"
            frame, box = _scene(step)
            report = QualityReport(step == "ok", "" if step == "ok" else step, box)
            on_frame(frame, report)
            if report.passed:
                self.captures += 1
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
                return FaceCapture(buf.tobytes(), frame.shape[1], frame.shape[0])
            i += 1
            token.wait(self.frame_interval_s)


_FACE = None


def _face_image():
    """A real frontal face (scikit-image's astronaut photograph) when available, else a drawn oval."""
    global _FACE
    if _FACE is None:
        import cv2
        import numpy as np
        try:
            from skimage import data
            _FACE = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (480, 480))
        except Exception:
            _FACE = np.full((480, 480, 3), (200, 190, 180), np.uint8)
            cv2.ellipse(_FACE, (240, 220), (90, 120), 0, 0, 360, (150, 170, 210), -1)
    return _FACE


def _scene(step: str):
    """A 640x480 frame for one step of the guidance script, and where the face is in it."""
    import cv2
    import numpy as np
    frame = np.full((480, 640, 3), (200, 190, 180), np.uint8)
    if step == "no_face":
        return frame, None
    face = _face_image()
    scale = 0.5 if step == "too_far" else 1.0
    size = int(480 * scale)
    img = cv2.resize(face, (size, size)) if scale != 1.0 else face
    x = (640 - size) // 2 + (110 if step == "off_center" else 0)
    y = (480 - size) // 2
    x0, x1 = max(0, x), min(640, x + size)
    frame[y:y + size, x0:x1] = img[:, x0 - x:x1 - x]
    return frame, (x + size // 3, y + size // 8, size // 4, size // 3)


class SimCardReader:
    """Bank card reader stand-in: insert()/remove(); pull_during_read makes the next read fail CARD_REMOVED."""

    def __init__(self):
        self.pan: Optional[str] = None
        self._fresh = False
        self.missing = False
        self.pull_during_read = False
        self.gate = _Gate()

    @property
    def simulator(self):
        return self

    def insert(self, pan: Optional[str] = None, holder: Optional[IdentityDocument] = None) -> None:
        """Insert a card: a given PAN, else the card of `holder` (a demo person), else the first person's."""
        if pan is None and holder is not None:
            pan = next((p["pan"] for p in DEMO_PEOPLE if p["id_number"] == holder.id_number), None)
        self.pan = pan or DEMO_PEOPLE[0]["pan"]
        self._fresh = True

    def remove(self) -> None:
        self.pan = None
        self._fresh = False

    def usable(self) -> Usability:
        return Usability(False, "card reader not connected") if self.missing else Usability(True)

    def card_present(self) -> bool:
        return self.pan is not None

    def read(self, token: CancelToken) -> BankCard:
        self.gate.wait(token)
        while not (self.pan and self._fresh):
            token.wait(0.05)
        if self.pull_during_read:
            self.pull_during_read = False
            self.remove()
            raise DeviceError(CompletionCode.USER_ERROR, "CARD_REMOVED", "card removed during read",
                              "银行卡被拔出，请重新插入")
        self._fresh = False
        return BankCard(self.pan, "2912")


class SimPrinter:
    """Receipt printer stand-in: keeps what was printed; the paper waits in the slot until taken."""

    def __init__(self):
        self.printed: list[bytes] = []
        self.in_slot = False
        self.missing = False

    @property
    def simulator(self):
        return self

    def usable(self) -> Usability:
        return Usability(False, "printer not connected") if self.missing else Usability(True)

    def print_slip(self, slip, token: CancelToken) -> str:
        from datetime import datetime
        from zoneinfo import ZoneInfo
        text = "\n".join(slip.lines(f"{datetime.now(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M}")) + "\n"
        self.printed.append(text.encode("gb18030"))
        self.in_slot = True
        return text

    def paper_present(self) -> bool:
        return self.in_slot

    def take(self) -> None:
        self.in_slot = False


@dataclass
class _CenterSim:
    online: bool = True
    reject_faces: int = 0
    last_sms_code: str = ""
    sms_sent: list[str] = field(default_factory=list)
    gate: _Gate = field(default_factory=_Gate)


class StandInCenter:
    """The center's identity services, in process, over the DEMO_PEOPLE records."""

    def __init__(self, people=DEMO_PEOPLE):
        self.people = {p["id_number"]: p for p in people}
        self.simulator = _CenterSim()
        self._tickets: dict[str, tuple[str, str]] = {}

    def _person(self, doc: IdentityDocument, token: CancelToken) -> dict:
        self.simulator.gate.wait(token)
        if not self.simulator.online:
            raise CenterOffline("stand-in center switched off")
        person = self.people.get(doc.id_number)
        if not person or person["name"] != doc.name:
            raise PortError("PERSON_NOT_FOUND", "未查询到您的公积金账户，请咨询工作人员", "no account for this person")
        return person

    def verify_face(self, doc, capture: FaceCapture, token) -> FaceVerdict:
        self._person(doc, token)
        if not capture.jpeg.startswith(b"\xff\xd8"):
            raise PortError("FACE_IMAGE_INVALID", "人脸图像无效，请重试", "face image is not a JPEG")
        if self.simulator.reject_faces > 0:
            self.simulator.reject_faces -= 1
            return FaceVerdict(False, 41.0, "FACE_MISMATCH", "人脸比对未通过")
        return FaceVerdict(True, 92.0)

    def send_sms_code(self, doc, token) -> SmsTicket:
        person = self._person(doc, token)
        code = f"{secrets.randbelow(10**6):06d}"
        ticket = secrets.token_hex(8)
        self._tickets[ticket] = (doc.id_number, code)
        self.simulator.last_sms_code = code
        self.simulator.sms_sent.append(mask_phone(person["phone"]))
        return SmsTicket(ticket, mask_phone(person["phone"]))

    def verify_sms_code(self, doc, ticket: SmsTicket, code: str, token) -> bool:
        self._person(doc, token)
        expected = self._tickets.get(ticket.ticket)
        return bool(expected) and expected == (doc.id_number, code)

    def verify_query_password(self, doc, password: str, token) -> bool:
        return secrets.compare_digest(self._person(doc, token)["password"], password)

    def verify_bank_card(self, doc, card: BankCard, token) -> bool:
        return self._person(doc, token)["pan"] == card.pan
