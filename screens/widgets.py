"""Reusable widgets: labels with a style role, big buttons, the numeric pad, the face preview with its
guide oval, the animated card guide."""
from __future__ import annotations

from typing import Callable, Optional

from screens.qt import (QBrush, QColor, QGridLayout, QImage, QLabel, QPainter, QPainterPath, QPen, QPixmap,
                        QPushButton, QRect, QSizePolicy, Qt, QTimer, QVBoxLayout, QWidget, Signal)
from screens import theme


def label(text: str = "", role: str = "", wrap: bool = True, align=Qt.AlignmentFlag.AlignCenter) -> QLabel:
    w = QLabel(text)
    if role:
        w.setProperty("role", role)
    w.setWordWrap(wrap)
    w.setAlignment(align)
    return w


def button(text: str = "", role: str = "", on_click: Optional[Callable[[], None]] = None,
           name: str = "") -> QPushButton:
    b = QPushButton(text)
    if role:
        b.setProperty("role", role)
    if name:
        b.setObjectName(name)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    if on_click:
        b.clicked.connect(lambda *_: on_click())
    return b


class TileButton(QPushButton):
    """A big home-screen tile: the item's name and, under it, a note (needs network, queued offline...).
    Labels inside the button wrap; the button itself stays the touch target."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setProperty("role", "tile")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)   # grow into free room
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        self.name_label = label(role="tile_name")
        self.note_label = label(role="tile_note")
        lay.addStretch(1)
        for w in (self.name_label, self.note_label):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            lay.addWidget(w)
        lay.addStretch(1)
        self.tile = None

    def set_tile(self, tile, lang: str) -> None:
        self.tile = tile
        self.name_label.setText(tile.name(lang))
        self.note_label.setText(tile.note(lang))
        self.note_label.setVisible(bool(tile.note(lang)))
        self.setAccessibleName(tile.name(lang))
        self.setEnabled(tile.available)


class KeyPad(QWidget):
    """Digits 0-9 + 删除 + 清空 in a 4x3 grid. layout() order can be scrambled (query password)."""
    digit = Signal(str)
    backspace = Signal()
    clear = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setSpacing(10)
        self.keys: list[QPushButton] = []
        self.back_key = button("⌫", "key", self.backspace.emit, name="key_back")
        self.clear_key = button("", "key", self.clear.emit, name="key_clear")
        self.set_layout(list("1234567890"))

    def set_layout(self, digits: list[str]) -> None:
        """Digits in reading order (scrambled for the password). The ten keys are made once and relabelled:
        a key sends whatever digit it shows when pressed."""
        if not self.keys:
            positions = [(r, c) for r in range(3) for c in range(3)] + [(3, 1)]
            for r, c in positions:
                k = button("", "key")
                k.clicked.connect(lambda *_, k=k: self.digit.emit(k.text()))
                self._grid.addWidget(k, r, c)
                self.keys.append(k)
            self._grid.addWidget(self.clear_key, 3, 0)
            self._grid.addWidget(self.back_key, 3, 2)
        for k, d in zip(self.keys, digits):
            k.setText(d)
            k.setObjectName(f"key_{d}")

    def key(self, d: str) -> QPushButton:
        return next(k for k in self.keys if k.text() == d)


class FaceView(QWidget):
    """Live preview (mirrored, like a mirror) with the guide oval; green when the gates pass."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pix: Optional[QPixmap] = None
        self.passed = False
        self.setMinimumSize(360, 270)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, frame, passed: bool) -> None:
        """frame: HxWx3 uint8 BGR (OpenCV), or None (a quality report without a new picture)."""
        self.passed = passed
        if frame is None:
            self.update()
            return
        h, w = frame.shape[:2]
        img = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_BGR888)
        img = img.flipped(Qt.Orientation.Horizontal) if hasattr(img, "flipped") else img.mirrored(True, False)
        self._pix = QPixmap.fromImage(img)
        self.passed = passed
        self.update()

    def clear(self) -> None:
        self._pix = None
        self.passed = False
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect()
        p.fillRect(r, QColor("#1A1F24"))
        if self._pix:
            scaled = self._pix.scaled(r.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
            x, y = (r.width() - scaled.width()) // 2, (r.height() - scaled.height()) // 2
            p.drawPixmap(x, y, scaled)
        ow, oh = int(r.height() * 0.55), int(r.height() * 0.75)
        oval = QRect((r.width() - ow) // 2, (r.height() - oh) // 2, ow, oh)
        shade = QPainterPath()
        shade.addRect(r)
        hole = QPainterPath()
        hole.addEllipse(oval)
        p.fillPath(shade.subtracted(hole), QBrush(QColor(0, 0, 0, 140)))
        p.setPen(QPen(QColor("#2EA043" if self.passed else "#FFFFFF"), 6))
        p.drawEllipse(oval)
        p.end()


class CardGuide(QWidget):
    """Animated guide: a card moving down onto the reader area (or into the slot), repeating."""

    def __init__(self, kind: str = "id", parent=None):
        super().__init__(parent)
        self.kind = kind
        self.phase = 0.0
        self.setMinimumSize(300, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._step)

    def showEvent(self, e) -> None:
        self._timer.start()
        super().showEvent(e)

    def hideEvent(self, e) -> None:
        self._timer.stop()
        super().hideEvent(e)

    def _step(self) -> None:
        self.phase = (self.phase + 0.02) % 1.0
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect()
        cw, ch = int(min(r.width() * 0.45, 260)), int(min(r.width() * 0.45, 260) * 0.63)
        cx = (r.width() - cw) // 2
        base_y = r.height() - ch - 20
        reader = QRect(cx - 30, base_y - 10, cw + 60, ch + 30)
        p.setPen(QPen(QColor(theme.COLORS["muted"]), 3, Qt.PenStyle.DashLine))
        p.setBrush(QColor(theme.COLORS["disabled_bg"]))
        p.drawRoundedRect(reader, 14, 14)
        t = min(1.0, self.phase * 1.6)
        y = int(10 + (base_y - 10) * (t * t * (3 - 2 * t)))
        card = QRect(cx, y, cw, ch)
        p.setPen(QPen(QColor(theme.COLORS["primary"]), 3))
        p.setBrush(QColor("#DCEBFA" if self.kind == "id" else "#FCE8C8"))
        p.drawRoundedRect(card, 12, 12)
        p.setBrush(QColor(theme.COLORS["primary"]))
        if self.kind == "id":
            p.drawRect(card.x() + 14, card.y() + 14, cw // 4, ch // 2)        # photo area
        else:
            p.drawRoundedRect(card.x() + 18, card.y() + ch // 3, cw // 6, ch // 4, 4, 4)   # chip
        p.end()
