"""Simulator panel (demo profile only): a side window that plays the customer's hands and the network.

Keys work too, on the kiosk window: F1 place/lift ID card, F2 face good/none, F3 insert/remove bank card,
F4 take the paper, F5 cut/restore the network, F6 refuse the next face check."""
from __future__ import annotations

import logging

from screens.qt import QKeySequence, QShortcut, QVBoxLayout, QWidget, Qt
from screens.widgets import button, label

log = logging.getLogger(__name__)


def _sim(port):
    return getattr(port, "simulator", None) if port is not None else None


class SimulatorPanel(QWidget):
    def __init__(self, terminal, shell):
        super().__init__(None, Qt.WindowType.Tool)
        self.terminal = terminal
        self.shell = shell
        self.setWindowTitle("模拟器 Simulator")
        v = QVBoxLayout(self)
        self.status = label(role="muted")
        actions = [
            ("F1", "放置/拿走身份证 ID card", self.toggle_id),
            ("F2", "人脸：正常/无人 Face", self.toggle_face),
            ("F6", "下次人脸比对失败 Refuse face", self.refuse_face),
            ("F3", "插入/拔出银行卡 Bank card", self.toggle_card),
            ("F4", "取走凭条 Take paper", self.take_paper),
            ("F5", "断网/恢复 Network", self.toggle_network),
            ("F7", "查看短信 Show SMS", self.show_sms),
        ]
        for key, text, fn in actions:
            v.addWidget(button(f"{key}  {text}", "secondary", fn))
            QShortcut(QKeySequence(key), shell, activated=fn)
        self.sms = label(role="muted")
        v.addWidget(self.sms)
        v.addWidget(self.status)
        self.refresh()

    def _say(self, text: str) -> None:
        log.info("simulator: %s", text)
        self.status.setText(text)
        self.refresh()

    def refresh(self) -> None:
        center = _sim(self.terminal.center)
        code = getattr(center, "last_sms_code", "") if center else ""
        if code:
            self.sms.setText(f"短信验证码 SMS code: {code}")

    def show_sms(self) -> None:
        """The sandbox SMS outbox, read off the Qt thread (it is an HTTP call to the center)."""
        center = _sim(self.terminal.center)
        fetch = getattr(center, "fetch_sms_code", None)
        if fetch is None:
            return self.refresh()
        self.terminal.tasks.run("sandbox_sms", lambda _t: fetch(),
                                lambda code: self.sms.setText(f"短信验证码 SMS code: {code or '-'}"),
                                lambda exc: self._say(f"SMS outbox unreadable: {exc}"))

    def toggle_id(self) -> None:
        sim = _sim(self.terminal.devices.idcard)
        if not sim:
            return self._say("no simulated ID reader")
        if sim.card_present():
            sim.lift()
            self._say("ID card lifted")
        else:
            sim.place()
            self._say("ID card placed")

    def toggle_face(self) -> None:
        sim = _sim(self.terminal.devices.camera)
        if not sim:
            return self._say("no simulated camera")
        sim.show_face("none" if sim.face == "good" else "good")
        self._say(f"face: {sim.face}")

    def refuse_face(self) -> None:
        center = _sim(self.terminal.center)
        if center is not None and hasattr(center, "reject_faces"):
            center.reject_faces += 1
            return self._say(f"next {center.reject_faces} face check(s) refused")
        sim = _sim(self.terminal.devices.idcard)
        people = getattr(sim, "people", [])
        index = next((i for i, p in enumerate(people) if p["name"] == "郑浩"), None)
        if index is None:
            return self._say("this center cannot be told to refuse faces")
        sim.lift()
        sim.place(index=index)        # the reference center's sandbox never matches this person's face
        self._say("placed the ID card of 郑浩 (the sandbox refuses his face)")

    def toggle_card(self) -> None:
        sim = _sim(self.terminal.devices.cardreader)
        if not sim:
            return self._say("no simulated card reader")
        if sim.card_present():
            sim.remove()
            self._say("bank card removed")
            return
        session = self.terminal.session
        flow = session.identification if session else None
        holder = flow.document if flow else None      # the customer's own card (chip holder = ID card)
        try:
            sim.insert(holder=holder)
        except TypeError:
            sim.insert()
        self._say("bank card inserted")

    def take_paper(self) -> None:
        sim = _sim(self.terminal.devices.printer)
        if sim is not None and hasattr(sim, "take"):
            sim.take()
            self._say("paper taken")

    def toggle_network(self) -> None:
        center = _sim(self.terminal.center)
        online = not self.terminal.online
        if center is not None and hasattr(center, "online"):
            center.online = online
        self.terminal.set_network(online)
        self._say("network restored" if online else "network cut")

    def keyPressEvent(self, e) -> None:
        super().keyPressEvent(e)
        self.refresh()
