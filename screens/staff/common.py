"""What the staff screens share: a page base that runs kiosk.staff calls on the terminal's task pool (results
come back on the Qt thread through the bridge), the error line every staff action can end in, and an
on-screen pad for the center's letter-and-digit enrollment code."""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from kiosk.staff.errors import StaffError
from screens.qt import QGridLayout, QLabel, QPushButton, Qt, QTimer, QWidget, Signal
from screens.widgets import button, label

log = logging.getLogger(__name__)


def error_text(exc: BaseException) -> str:
    """The line a person reads: the Chinese message and its code (an English log line is written too)."""
    if isinstance(exc, StaffError):
        log.warning("staff action refused: %s %s", exc.code, exc.detail)
        return f"{exc.message_zh}（{exc.code}）"
    log.error("staff action failed: %s: %s", type(exc).__name__, exc)
    return "操作失败，请重试或联系技术支持（INTERNAL_ERROR）"


class StaffPage(QWidget):
    """A page in the shell's stack. run() sends one kiosk.staff call to a worker; while it runs the page's
    action buttons are disabled, so a second tap cannot start a second call."""
    screen_name = "staff"

    def __init__(self, shell):
        super().__init__()
        self.setObjectName("page")
        self.shell = shell
        self.terminal = shell.terminal
        self.busy = False
        self._actions: list[QPushButton] = []

    def retranslate(self) -> None:      # staff screens are Chinese only (staff UI, not the resident's)
        pass

    def wipe(self) -> None:
        pass

    def action(self, text: str, on_click: Callable[[], None], role: str = "", name: str = "") -> QPushButton:
        b = button(text, role, on_click, name=name)
        self._actions.append(b)
        return b

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for b in self._actions:
            b.setEnabled(not busy)

    def run(self, name: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Optional[Callable[[BaseException], None]] = None) -> None:
        if self.busy:        # action buttons are disabled meanwhile; a section opened now loads right after
            QTimer.singleShot(200, self, lambda: self.run(name, fn, on_done, on_error))
            return
        self._set_busy(True)

        def done(result: Any) -> None:
            self._set_busy(False)
            on_done(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            (on_error or self.show_error)(exc)

        self.terminal.tasks.run(name, lambda _token: fn(), done, failed)

    def show_error(self, exc: BaseException) -> None:
        msg = getattr(self, "message", None)
        if isinstance(msg, QLabel):
            msg.setProperty("role", "message")
            msg.setText(error_text(exc))
            msg.style().unpolish(msg)
            msg.style().polish(msg)


def set_role(w: QWidget, role: str) -> None:
    w.setProperty("role", role)
    w.style().unpolish(w)
    w.style().polish(w)


ENROLL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"      # the center's code alphabet (no 0/O, 1/I/L)


class CodePad(QWidget):
    """The center's one-time code on screen keys (a technician may have no keyboard): the code's alphabet,
    a dash every four characters added by itself, 删除 and 清空."""
    changed = Signal(str)

    def __init__(self, parent=None, columns: int = 8):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setSpacing(6)
        self.code = ""
        self.keys: dict[str, QPushButton] = {}
        for i, ch in enumerate(ENROLL_ALPHABET):
            k = button(ch, "", lambda ch=ch: self.press(ch), name=f"code_{ch}")
            k.setMinimumWidth(56)
            self.keys[ch] = k
            grid.addWidget(k, i // columns, i % columns)
        n = len(ENROLL_ALPHABET)
        grid.addWidget(button("删除", "secondary", self.backspace, name="code_back"), n // columns, n % columns)
        grid.addWidget(button("清空", "secondary", self.clear, name="code_clear"), n // columns, n % columns + 1,
                       1, 2)

    def press(self, ch: str) -> None:
        raw = self.code.replace("-", "")
        if len(raw) >= 12:
            return
        raw += ch
        self.code = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
        self.changed.emit(self.code)

    def type_code(self, code: str) -> None:
        for ch in code:
            if ch in self.keys:
                self.keys[ch].click()

    def backspace(self) -> None:
        raw = self.code.replace("-", "")[:-1]
        self.code = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
        self.changed.emit(self.code)

    def clear(self) -> None:
        self.code = ""
        self.changed.emit(self.code)


def readonly_text(text: str = "") -> QLabel:
    w = label(text, wrap=True, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return w
