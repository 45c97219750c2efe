"""Technician mode on screen: the hidden entry (press and hold the top-left corner for 3 s), the PIN on the
on-screen keypad, then the technician page — devices, configuration, enrollment, network, queue, logs, version.

Every action is a kiosk.staff.technician.TechnicianMode call (so it is audited), run on a worker thread; the
page only renders the returned dictionaries. Leaving the page (exit, 首页, 返回) locks technician mode again,
cancels a pending card read and stops the camera preview.

The camera preview: the camera's preview thread grabs and analyses each frame (kiosk.staff.technician.
CameraPreview); a frame and its figures reach the Qt thread through the terminal's task bridge, where only the
QImage is made and painted. While one frame waits to be painted, newer ones are dropped."""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

from kiosk.domain.money import format_yuan
from kiosk.staff.errors import StaffError
from kiosk.staff.hidden_entry import CornerLongPress
from screens.qt import (QColor, QEvent, QGridLayout, QHBoxLayout, QImage, QLineEdit, QObject, QPainter, QPen, QPixmap,
                        QScrollArea, QSizePolicy, QStackedWidget, Qt, QTimer, QVBoxLayout, QWidget)
from screens.staff.common import CodePad, StaffPage, error_text, readonly_text, set_role
from screens.widgets import KeyPad, button, label

log = logging.getLogger(__name__)

ROLE_NAMES = {"idcard": "身份证阅读器", "cardreader": "银行卡/社保卡读卡器", "camera": "摄像头",
              "receipt_printer": "凭条打印机", "a4_printer": "A4打印机"}
DEVICE_ZH = {"online": "在线", "offline": "离线", "powerOff": "未通电", "noDevice": "未连接", "hardwareError": "硬件故障",
             "userError": "操作错误", "busy": "忙"}
PAPER_ZH = {"full": "充足", "low": "将尽", "out": "缺纸", "jammed": "卡纸", "unknown": "未知"}
STATE_ZH = {"draft": "草稿", "queued": "待上传", "sending": "发送中", "accepted": "已受理", "rejected": "未受理",
            "needs_review": "待核查", "canceled": "已取消"}
HOLD_S = 3.0
CORNER_PX = 80


class HiddenEntry(QObject):
    """Application event filter: a press held >= 3 s in the shell's top-left corner calls on_fire().
    The timing and corner logic is kiosk.staff.hidden_entry.CornerLongPress; this only feeds it events."""

    def __init__(self, shell, on_fire: Callable[[], None], clock: Callable[[], float] = time.monotonic,
                 hold_s: float = HOLD_S, region_px: int = CORNER_PX):
        super().__init__(shell)
        self.shell = shell
        self.on_fire = on_fire
        self.clock = clock
        self.detector = CornerLongPress(shell.width(), shell.height(), corner="top-left", region_px=region_px,
                                        hold_s=hold_s)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.poll)
        shell.app.installEventFilter(self)

    def _ours(self, obj) -> bool:
        return isinstance(obj, QWidget) and obj.window() is self.shell

    def eventFilter(self, obj, event) -> bool:
        t = event.type()
        if t in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease) \
                and self._ours(obj):
            p = self.shell.mapFromGlobal(event.globalPosition().toPoint())
            now = self.clock()
            if t == QEvent.Type.MouseButtonPress:
                if not self.timer.isActive():        # a press reaches each parent in turn: count it once
                    self.detector.width, self.detector.height = self.shell.width(), self.shell.height()
                    self.detector.press(p.x(), p.y(), now)
                    if self.detector._since is not None:
                        self.timer.start()
            elif t == QEvent.Type.MouseMove:
                self.detector.move(p.x(), p.y(), now)
            else:
                if self.detector.release(now):
                    self._fire()
                self.timer.stop()
        return False

    def poll(self) -> None:
        if self.detector.poll(self.clock()):
            self.timer.stop()
            self._fire()

    def _fire(self) -> None:
        log.info("technician hidden entry: corner held for %.0f s", self.detector.hold_s)
        self.on_fire()

    def close(self) -> None:
        self.timer.stop()
        self.shell.app.removeEventFilter(self)


class TechPinPage(StaffPage):
    """维护密码 on the keypad. Wrong PINs say how many tries are left; a lockout says how long it lasts."""
    screen_name = "technician_pin"

    def __init__(self, shell, tech, on_unlocked: Callable[[], None]):
        super().__init__(shell)
        self.tech = tech
        self.on_unlocked = on_unlocked
        self.pin = ""
        v = QVBoxLayout(self)
        v.setContentsMargins(32, 20, 32, 20)
        v.setSpacing(12)
        v.addWidget(label("维护模式：请输入维护密码", "title"))
        self.display = label("", "code", wrap=False)
        self.display.setObjectName("pin_display")
        self.display.setMinimumHeight(72)
        v.addWidget(self.display)
        self.message = label("", "muted")
        self.message.setObjectName("pin_message")
        v.addWidget(self.message)
        self.pad = KeyPad()
        self.pad.clear_key.setText("清空")
        self.pad.digit.connect(self._digit)
        self.pad.backspace.connect(lambda: self._set(self.pin[:-1]))
        self.pad.clear.connect(lambda: self._set(""))
        v.addWidget(self.pad, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        self.cancel_btn = self.action("取消", self.cancel, "secondary", "pin_cancel")
        self.ok_btn = self.action("确定", self.submit, "", "pin_ok")
        row.addWidget(self.cancel_btn)
        row.addWidget(self.ok_btn)
        v.addLayout(row)
        v.addStretch(1)

    def _digit(self, d: str) -> None:
        if len(self.pin) < 12:
            self._set(self.pin + d)

    def _set(self, pin: str) -> None:
        self.pin = pin
        self.display.setText("●" * len(pin))

    def enter(self, pin: str) -> None:
        for d in pin:
            self.pad.key(d).click()

    def open(self) -> None:
        self._set("")
        set_role(self.message, "muted")
        self.message.setText("请输入6至12位数字维护密码")

    def cancel(self) -> None:
        self._set("")
        self.shell.go_home()

    def submit(self) -> None:
        pin, tech = self.pin, self.tech
        self._set("")

        def work():
            try:
                tech.unlock(pin)
            except StaffError as exc:
                if exc.code == "PIN_LOCKED":
                    exc.locked_for = tech.guard.locked_for()
                raise
        self.run("technician_unlock", work, lambda _r: self.on_unlocked(), self._refused)

    def _refused(self, exc: BaseException) -> None:
        text = error_text(exc)
        left = getattr(exc, "locked_for", None)
        if left:
            text += f"\n剩余锁定时间：{left // 60}分{left % 60:02d}秒"
        set_role(self.message, "message")
        self.message.setText(text)

    def wipe(self) -> None:
        self._set("")


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.extend(_flatten(v, key))
        else:
            out.append((key, v))
    return out


def _scroll(inner: QWidget) -> QScrollArea:
    s = QScrollArea()
    s.setWidgetResizable(True)
    s.setWidget(inner)
    s.setFrameShape(QScrollArea.Shape.NoFrame)
    return s


class Section(QWidget):
    """One part of the technician page; `page.run` does its calls."""
    title = ""

    def __init__(self, page: "TechnicianPage"):
        super().__init__()
        self.setObjectName("page")
        self.page = page
        self.tech = page.tech
        self.v = QVBoxLayout(self)
        self.v.setContentsMargins(16, 8, 16, 8)
        self.v.setSpacing(10)
        self.v.addWidget(label(self.title, "title", align=Qt.AlignmentFlag.AlignLeft))
        self.message = readonly_text()
        self.message.setObjectName(f"{type(self).__name__}_message")

    def say(self, text: str, ok: bool = True) -> None:
        set_role(self.message, "" if ok else "message")
        self.message.setText(text)

    def fail(self, exc: BaseException) -> None:
        self.say(error_text(exc), ok=False)

    def entered(self) -> None:
        pass

    def left(self) -> None:
        """The technician opened another section or left the page."""


class DevicesSection(Section):
    title = "设备状态与自检"
    READS = {"idcard": ("读身份证", "请在阅读器上放置身份证…"), "cardreader": ("读银行卡", "请插入银行卡…")}

    def __init__(self, page):
        super().__init__(page)
        from devices.registry import ROLES
        self.rows: dict[str, dict] = {}
        self._read_task = None
        grid_host = QWidget()
        grid = QVBoxLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        for role in ROLES:
            row = QHBoxLayout()
            name = label(ROLE_NAMES.get(role, role), wrap=False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            name.setMinimumWidth(250)
            status = label("—", "muted", wrap=True, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            status.setObjectName(f"status_{role}")
            result = label("", wrap=True, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            result.setObjectName(f"selftest_{role}")
            b = page.action("自检", lambda role=role: self.selftest(role), "secondary", f"selftest_btn_{role}")
            row.addWidget(name)
            row.addWidget(status, 2)
            row.addWidget(result, 3)
            row.addWidget(b)
            grid.addLayout(row)
            self.rows[role] = {"status": status, "result": result}
        self.v.addWidget(grid_host)
        tools = QHBoxLayout()
        tools.addWidget(page.action("全部自检", self.selftest_all, "secondary", "selftest_all"))
        tools.addWidget(page.action("打印测试页", self.test_print, "", "test_print_btn"))
        for role, (text, _prompt) in self.READS.items():
            tools.addWidget(page.action(text, lambda role=role: self.read_card(role), "", f"read_{role}_btn"))
        self.cancel_read_btn = button("取消读卡", "secondary", self.cancel_read, name="read_cancel")
        self.cancel_read_btn.hide()
        tools.addWidget(self.cancel_read_btn)
        tools.addStretch(1)
        self.v.addLayout(tools)
        self.v.addWidget(self.message)
        self.output = readonly_text()
        self.output.setObjectName("device_output")
        self.output.setProperty("role", "muted")
        self.v.addWidget(_scroll(self.output), 1)

    def entered(self) -> None:
        self.refresh()

    def left(self) -> None:
        self.cancel_read()

    def refresh(self) -> None:
        self.page.run("technician_devices", self.tech.devices, self._show_status, self.fail)

    def _status_of(self, r: dict) -> None:
        w = self.rows.get(r["role"])
        if w is not None:
            st = r["status"]
            st = f"{DEVICE_ZH.get(st, st)}（{st}）" if st else ("不可用：" + (r["missing"] or "") if not r["usable"] else "—")
            w["status"].setText(f"{r['backend']}｜{st}")

    def _show_status(self, rows: list[dict]) -> None:
        for r in rows:
            self._status_of(r)
        self.say("设备状态已刷新")

    def _result(self, r: dict) -> None:
        w = self.rows[r["role"]]["result"]
        set_role(w, "" if r.get("ok") else "message")
        w.setText(f"{'通过' if r.get('ok') else '未通过'}：{r.get('code')} {r.get('message_zh') or ''}".strip())

    def selftest(self, role: str) -> None:
        """One device's self-test (its own audit record)."""
        self.rows[role]["result"].setText("自检中…")

        def done(r: dict) -> None:
            self._status_of(r)
            self._result(r)
            self.say(f"{ROLE_NAMES.get(role, role)}自检完成", ok=bool(r.get("ok")))
            self.output.setText(str(r.get("description") or ""))
        self.page.run("technician_selftest", lambda: self.tech.selftest(role), done, self.fail)

    def selftest_all(self) -> None:
        for w in self.rows.values():
            w["result"].setText("自检中…")

        def done(rows: list[dict]) -> None:
            for r in rows:
                self._status_of(r)
                self._result(r)
            bad = [ROLE_NAMES.get(r["role"], r["role"]) for r in rows if not r.get("ok")]
            self.say("全部设备自检通过" if not bad else "未通过：" + "、".join(bad), ok=not bad)
        self.page.run("technician_selftest_all", lambda: self.tech.selftest(), done, self.fail)

    def test_print(self) -> None:
        self.say("正在打印测试页…")

        def done(r: dict) -> None:
            if r["ok"]:
                self.say(f"测试页已打印（纸张：{PAPER_ZH.get(r['paper'], r['paper'])}）")
            else:
                self.say(f"{r['message_zh']}（{r['error_code'] or r['code']}）", ok=False)
            self.output.setText(r.get("text") or "")
        self.page.run("technician_test_print", self.tech.test_print, done, self.fail)

    def read_card(self, role: str) -> None:
        if self.page.busy:
            return
        self.page._set_busy(True)
        self.cancel_read_btn.show()
        self.output.setText("")
        self.say(self.READS[role][1])
        tech = self.tech

        def finish() -> None:
            self._read_task = None
            self.cancel_read_btn.hide()
            self.page._set_busy(False)

        def done(r: dict) -> None:
            finish()
            if role == "idcard":
                self.say(f"身份证读取成功：{r['masked_name']}　{r['masked_id']}")
                self.output.setText(f"姓名：{r['masked_name']}\n证件号码：{r['masked_id']}\n有效期至：{r['valid_to']}")
            else:
                self.say(f"银行卡读取成功：{r['masked_pan']}")
                self.output.setText(f"卡号：{r['masked_pan']}\n卡种：{r['kind_zh']}\n有效期：{r['expiry'] or '—'}")

        def failed(exc: BaseException) -> None:
            finish()
            self.fail(exc)
        self._read_task = self.page.terminal.tasks.run(f"technician_read_{role}",
                                                       lambda token: tech.read_card(role, token), done, failed)

    def cancel_read(self) -> None:
        task, self._read_task = self._read_task, None
        if task is None:
            return
        task.cancel()                                  # the device command is canceled; nothing is delivered
        self.cancel_read_btn.hide()
        self.page._set_busy(False)
        self.say("已取消读卡", ok=False)


class CameraView(QWidget):
    """The camera frame as the camera sees it (not mirrored, so the box matches the figures), with the detected
    face rectangle: green when the gates pass, amber otherwise."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pix: Optional[QPixmap] = None
        self.box = None
        self.ok = False
        self.frame_size = (0, 0)
        self.painted = 0
        self.setMinimumSize(480, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, frame, figures: dict) -> None:
        h, w = frame.shape[:2]
        img = QImage(frame.data, w, h, int(frame.strides[0]), QImage.Format.Format_BGR888)
        self._pix = QPixmap.fromImage(img)              # copies: the frame can go
        self.frame_size = (w, h)
        self.box = figures.get("face_box")
        self.ok = bool(figures.get("ok"))
        self.painted += 1
        self.update()

    def clear(self) -> None:
        self._pix, self.box = None, None
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        r = self.rect()
        p.fillRect(r, QColor("#1A1F24"))
        if self._pix is not None:
            scaled = self._pix.scaled(r.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
            x0, y0 = (r.width() - scaled.width()) // 2, (r.height() - scaled.height()) // 2
            p.drawPixmap(x0, y0, scaled)
            if self.box and self.frame_size[0]:
                k = scaled.width() / self.frame_size[0]
                bx, by, bw, bh = self.box
                p.setPen(QPen(QColor("#2EA043" if self.ok else "#F0A020"), 4))
                p.drawRect(int(x0 + bx * k), int(y0 + by * k), int(bw * k), int(bh * k))
        p.end()


class CameraSection(Section):
    title = "摄像头预览与人脸质量"
    GATE_ZH = {"OK": "通过"}

    def __init__(self, page):
        super().__init__(page)
        body = QHBoxLayout()
        self.view = CameraView()
        self.view.setObjectName("camera_view")
        body.addWidget(self.view, 3)
        side = QVBoxLayout()
        self.figures = readonly_text()
        self.figures.setObjectName("camera_figures")
        side.addWidget(self.figures)
        side.addStretch(1)
        self.start_btn = page.action("开始预览", self.start, "", "camera_start")
        self.stop_btn = button("停止预览", "secondary", self.stop, name="camera_stop")
        side.addWidget(self.start_btn)
        side.addWidget(self.stop_btn)
        body.addLayout(side, 2)
        self.v.addLayout(body, 1)
        self.v.addWidget(self.message)
        self.preview = None
        self._pending = False
        self.last: Optional[dict] = None

    def entered(self) -> None:
        self.start()

    def left(self) -> None:
        self.stop()

    def start(self) -> None:
        if self.preview is not None:
            return
        self.say("正在打开摄像头…")

        def started(preview) -> None:
            if not self.isVisible() or self.page.sections.get(self.page.current) is not self:    # left meanwhile
                self._stop_core(preview)
                return
            self.preview = preview
            self.say("预览中：方框为检测到的人脸（绿色＝质量合格）")
        self.page.run("technician_camera", lambda: self.tech.camera_preview(self._frame), started, self.fail)

    def _frame(self, frame, figures: dict) -> None:       # the camera's preview thread
        if self._pending:
            return                                       # the last frame is not painted yet: drop this one
        self._pending = True
        self.page.terminal.tasks.post(lambda: self._paint(frame, figures))

    def _paint(self, frame, figures: dict) -> None:      # Qt thread
        self._pending = False
        if self.preview is None:
            return
        self.view.set_frame(frame, figures)
        self.last = figures
        size = f"{figures['face_size'] * 100:.0f}%（人脸宽占画面宽）" if figures.get("face_size") else "—"
        verdict = "通过" if figures["ok"] else f"未通过：{figures['guidance_zh']}"
        self.figures.setText(f"分辨率：{figures['width']}×{figures['height']}\n人脸数：{figures['faces']}\n"
                             f"亮度：{figures['brightness']:.0f}\n清晰度：{figures['sharpness']:.0f}\n"
                             f"人脸大小：{size}\n判定：{verdict}\n代码：{figures['code']}")

    def _stop_core(self, preview) -> None:
        self.page.terminal.tasks.run("technician_camera_stop", lambda _t: preview.stop(), lambda _r: None,
                                     lambda exc: log.error("camera preview stop failed: %s", exc))

    def stop(self) -> None:
        preview, self.preview = self.preview, None
        if preview is None:
            return
        self._stop_core(preview)
        self.view.clear()
        self.say("预览已停止")


class ConfigSection(Section):
    title = "终端设置"

    def __init__(self, page):
        super().__init__(page)
        form = QHBoxLayout()
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("config_key")
        self.key_edit.setPlaceholderText("设置项，如 session.idle_timeout_s")
        self.value_edit = QLineEdit()
        self.value_edit.setObjectName("config_value")
        self.value_edit.setPlaceholderText("新值")
        form.addWidget(self.key_edit, 3)
        form.addWidget(self.value_edit, 2)
        form.addWidget(page.action("保存", self.save, "", "config_save"))
        form.addWidget(page.action("回退上一版", self.rollback, "secondary", "config_rollback"))
        self.v.addLayout(form)
        self.v.addWidget(self.message)
        self.view_text = readonly_text()
        self.view_text.setObjectName("config_view")
        self.view_text.setProperty("role", "muted")
        self.v.addWidget(_scroll(self.view_text), 1)

    def entered(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        def show(data: dict) -> None:
            self.view_text.setText("\n".join(f"{k} = {v}" for k, v in _flatten(data)))
        self.page.run("technician_config_view", self.tech.config_view, show, self.fail)

    def save(self) -> None:
        key, value = self.key_edit.text().strip(), self.value_edit.text().strip()
        if not key or not value:
            self.say("请填写设置项和新值", ok=False)
            return

        def done(change: dict) -> None:
            note = f"（已被环境变量 {change['overridden_by']} 覆盖）" if change.get("overridden_by") else ""
            self.say(f"已保存：{change['key']} 由 {change['old']} 改为 {change['new']}，重启后生效{note}")
            self.refresh()
        self.page.run("technician_config_set", lambda: self.tech.config_set(key, value), done, self.fail)

    def rollback(self) -> None:
        def done(_r) -> None:
            self.say("已回退到上一版设置，重启后生效")
            self.refresh()
        self.page.run("technician_config_rollback", self.tech.config_rollback, done, self.fail)


class EnrollSection(Section):
    title = "向公积金中心登记"

    def __init__(self, page):
        super().__init__(page)
        self.v.addWidget(label("请输入中心提供的一次性登记码", align=Qt.AlignmentFlag.AlignLeft))
        self.code_label = label("", "code", wrap=False)
        self.code_label.setObjectName("enroll_code")
        self.code_label.setMinimumHeight(64)
        self.v.addWidget(self.code_label)
        self.pad = CodePad()
        self.pad.changed.connect(self.code_label.setText)
        self.v.addWidget(self.pad)
        row = QHBoxLayout()
        row.addWidget(page.action("登记", lambda: self.enroll(False), "", "enroll_btn"))
        row.addWidget(page.action("替换原登记", lambda: self.enroll(True), "secondary", "enroll_force_btn"))
        self.v.addLayout(row)
        self.v.addWidget(self.message)
        self.v.addStretch(1)

    def enroll(self, force: bool) -> None:
        code = self.pad.code

        def done(tid: str) -> None:
            self.pad.clear()
            self.say(f"登记成功，终端号 {tid}")
        self.page.run("technician_enroll", lambda: self.tech.enroll(code, force=force), done, self.fail)


class NetworkSection(Section):
    title = "网络检查"

    def __init__(self, page):
        super().__init__(page)
        self.v.addWidget(page.action("开始检查", self.check, "", "netcheck_btn"), 0, Qt.AlignmentFlag.AlignLeft)
        self.v.addWidget(self.message)
        self.v.addStretch(1)

    def check(self) -> None:
        def done(r: dict) -> None:
            yes = lambda b: "是" if b else "否"
            lines = [f"中心地址：{r['center']}", f"可以连通：{yes(r['reachable'])}"
                     + (f"（往返 {r['rtt_ms']} 毫秒）" if r["rtt_ms"] is not None else ""),
                     f"签名请求：{'通过' if r['signed_ok'] else '未通过'}",
                     f"时钟偏差：{r['clock_skew_s']} 秒" if r["clock_skew_s"] is not None else "时钟偏差：未知"]
            lines += [f"问题：{p['message_zh']}（{p['code']}）" for p in r["problems"]]
            lines.insert(0, "网络正常" if r["ok"] else "网络有问题")
            self.say("\n".join(lines), ok=r["ok"])
        self.page.run("technician_netcheck", self.tech.netcheck, done, self.fail)


class QueueSection(Section):
    title = "待上传队列"

    def __init__(self, page):
        super().__init__(page)
        self.summary = readonly_text()
        self.summary.setObjectName("queue_summary")
        self.v.addWidget(self.summary)
        self.items_host = QWidget()
        self.items = QVBoxLayout(self.items_host)
        self.v.addWidget(self.items_host)
        row = QHBoxLayout()
        row.addWidget(page.action("刷新", self.refresh, "secondary", "queue_refresh"))
        self.retry_oldest_btn = page.action("重试最早一笔", self.retry_oldest, "", "queue_retry_oldest")
        row.addWidget(self.retry_oldest_btn)
        row.addStretch(1)
        self.v.addLayout(row)
        self.v.addWidget(self.message)
        self.v.addStretch(1)
        self.oldest: Optional[str] = None
        self._retry_buttons: list = []

    def entered(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        journal = self.page.the_journal()
        if journal is None:
            self.say("本终端没有本地队列", ok=False)
            return
        self.page.run("technician_queue", lambda: self.tech.queue(journal), self._show, self.fail)

    def _show(self, q: dict) -> None:
        self.oldest = q["oldest"]
        age = q["oldest_age_s"]
        states = "，".join(f"{STATE_ZH.get(k, k)} {v}" for k, v in sorted(q["by_state"].items())) or "无"
        self.summary.setText(f"待上传：{q['depth']} 笔，金额 {format_yuan(q['queued_amount_fen'])}\n"
                             f"最早一笔：{q['oldest'] or '无'}" + (f"（已等 {int(age)} 秒）" if age else "")
                             + f"\n各状态：{states}\n需人工核查：{len(q['needs_review'])} 笔")
        for b in self._retry_buttons:                       # about to be deleted: no longer the page's actions
            if b in self.page._actions:
                self.page._actions.remove(b)
        self._retry_buttons = []
        while self.items.count():
            w = self.items.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        if q["needs_review"]:
            self.items.addWidget(label("需人工核查的业务：", align=Qt.AlignmentFlag.AlignLeft))
        for it in q["needs_review"]:
            host = QWidget()
            row = QHBoxLayout(host)
            row.setContentsMargins(0, 0, 0, 0)
            amount = f"｜{format_yuan(it['amount_fen'])}" if it.get("amount_fen") else ""
            text = label(f"{it['client_id']}｜{it['kind']}{amount}｜{it['code'] or ''} {it['message_zh'] or ''}",
                         wrap=True, align=Qt.AlignmentFlag.AlignLeft)
            text.setObjectName(f"review_{it['client_id']}")
            row.addWidget(text, 1)
            retry = self.page.action("重试", lambda cid=it["client_id"]: self.retry(cid), "secondary",
                                     f"retry_{it['client_id']}")
            self._retry_buttons.append(retry)
            row.addWidget(retry)
            self.items.addWidget(host)

    def retry_oldest(self) -> None:
        if self.oldest:
            self.retry(self.oldest)
        else:
            self.say("队列中没有待上传的业务", ok=False)

    def retry(self, client_id: str) -> None:
        journal = self.page.the_journal()

        def done(_r) -> None:
            self.say(f"已安排立即重试：{client_id}")
            self.refresh()
        self.page.run("technician_retry", lambda: self.tech.retry(journal, client_id), done, self.fail)


class LogsSection(Section):
    title = "导出日志（已脱敏）"

    def __init__(self, page):
        super().__init__(page)
        row = QHBoxLayout()
        self.folder = QLineEdit(page.export_dir or "")
        self.folder.setObjectName("export_folder")
        self.folder.setPlaceholderText("目标文件夹，如U盘 /media/usb")
        row.addWidget(self.folder, 1)
        row.addWidget(page.action("导出", self.export, "", "export_btn"))
        self.v.addLayout(row)
        self.v.addWidget(label("或点选目标文件夹（已插入的U盘）：", "muted", align=Qt.AlignmentFlag.AlignLeft))
        self.choices_host = QWidget()
        self.choices = QVBoxLayout(self.choices_host)
        self.choices.setContentsMargins(0, 0, 0, 0)
        self.v.addWidget(self.choices_host)
        self.v.addWidget(self.message)
        self.v.addStretch(1)
        self._choice_buttons: list = []

    def entered(self) -> None:
        """List the mounted USB sticks (a disk read: on a worker)."""
        from kiosk.staff.logexport import candidate_folders
        extra = [self.page.export_dir] if self.page.export_dir else []
        roots = self.page.mount_roots
        self.page.run("technician_export_folders", lambda: candidate_folders(extra, roots), self._show_choices,
                      self.fail)

    def _show_choices(self, folders: list) -> None:
        for b in self._choice_buttons:
            if b in self.page._actions:
                self.page._actions.remove(b)
            b.deleteLater()
        self._choice_buttons = []
        for i, f in enumerate(folders):
            b = self.page.action(f, lambda f=f: self.folder.setText(f), "secondary", f"export_choice_{i}")
            self._choice_buttons.append(b)
            self.choices.addWidget(b)
        if not folders:
            self.say("未发现U盘，请插入U盘或在上方填写文件夹", ok=False)

    def export(self) -> None:
        dest = self.folder.text().strip()

        def done(r: dict) -> None:
            self.say(f"已导出 {len(r['files'])} 个文件、{r['lines']} 行到 {r.get('folder', dest)}")
        self.page.run("technician_export_logs", lambda: self.tech.export_logs(dest), done, self.fail)


class InfoSection(Section):
    title = "版本信息"
    NAMES = {"software_version": "软件版本", "build": "构建（git）", "python": "Python", "qt": "PySide6",
             "qt_runtime": "Qt 运行库", "config_file": "设置文件", "platform": "系统",
             "terminal_id": "终端号", "profile": "配置档", "role": "终端类型", "branch": "网点",
             "center": "中心地址", "enrolled": "已登记", "data_dir": "数据目录", "log_dir": "日志目录",
             "audit_head_seq": "审计记录数"}

    def __init__(self, page):
        super().__init__(page)
        self.text = readonly_text()
        self.text.setObjectName("info_text")
        self.v.addWidget(self.text)
        self.v.addWidget(self.message)
        self.v.addStretch(1)

    def entered(self) -> None:
        def show(info: dict) -> None:
            from PySide6.QtCore import qVersion
            info = dict(info, qt_runtime=qVersion())
            info["build"] = info.get("build") or "（非源码检出，无 git 提交号）"
            self.text.setText("\n".join(f"{self.NAMES.get(k, k)}：{'是' if v is True else '否' if v is False else v}"
                                        for k, v in info.items()))
        self.page.run("technician_info", self.tech.info, show, self.fail)


class TechnicianPage(StaffPage):
    screen_name = "technician"
    SECTIONS = (("devices", "设备", DevicesSection), ("camera", "摄像头", CameraSection),
                ("config", "设置", ConfigSection),
                ("enroll", "登记", EnrollSection), ("network", "网络", NetworkSection),
                ("queue", "队列", QueueSection), ("logs", "日志", LogsSection), ("info", "版本", InfoSection))

    def __init__(self, shell, tech, journal=None, export_dir: str = "",
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(shell)
        self.tech = tech
        self.journal = journal
        self.export_dir = export_dir
        from kiosk.staff.logexport import MOUNT_ROOTS
        self.mount_roots = MOUNT_ROOTS          # where USB sticks are mounted (the log export lists them)
        self.clock = clock
        self.idle_s = tech.settings.session.idle_timeout_s
        self.last_activity = clock()
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(1000)
        self.idle_timer.timeout.connect(self.check_idle)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 8)
        nav = QVBoxLayout()             # two columns of section buttons: the page fits the screen's height
        nav.setSpacing(8)
        nav.addWidget(label("维护模式", "title"))
        grid = QGridLayout()
        grid.setSpacing(8)
        nav.addLayout(grid)
        self.body = QStackedWidget()
        self.sections: dict[str, Section] = {}
        self._holders: dict[str, QScrollArea] = {}
        self.current: Optional[str] = None
        self.nav_buttons = {}
        for key, name, cls in self.SECTIONS:
            sec = cls(self)
            self.sections[key] = sec
            holder = _scroll(sec)       # a section taller than the screen scrolls; it never stretches the window
            self._holders[key] = holder
            self.body.addWidget(holder)
            b = button(name, "secondary", lambda key=key: self.open_section(key), name=f"nav_{key}")
            self.nav_buttons[key] = b
            i = len(self.nav_buttons) - 1
            grid.addWidget(b, i // 2, i % 2)
        nav.addStretch(1)
        nav.addWidget(button("退出维护", "danger", self.exit, name="tech_exit"))
        outer.addLayout(nav)
        outer.addWidget(self.body, 1)

    def the_journal(self):
        """The journal handed in, else the running kiosk's (its service flows' transaction desk)."""
        if self.journal is not None:
            return self.journal
        desk = getattr(getattr(self.terminal, "services", None), "desk", None)
        return getattr(desk, "journal", None)

    def open_section(self, key: str) -> None:
        sec = self.sections[key]
        if self.current is not None and self.current != key:
            self.sections[self.current].left()
        self.current = key
        self.body.setCurrentWidget(self._holders[key])
        for k, b in self.nav_buttons.items():
            set_role(b, "" if k == key else "secondary")
        sec.entered()

    def exit(self) -> None:
        self.shell.go_home()            # hideEvent locks

    # a technician who walks away does not leave the terminal open: idle -> home (which locks)
    def showEvent(self, e) -> None:
        self.last_activity = self.clock()
        self.shell.app.installEventFilter(self)
        self.idle_timer.start()
        super().showEvent(e)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress):
            self.last_activity = self.clock()
        return False

    def check_idle(self) -> None:
        if self.isVisible() and not self.busy and self.clock() - self.last_activity >= self.idle_s:
            log.info("technician mode idle for %d s: locking", self.idle_s)
            self.shell.go_home()

    def hideEvent(self, e) -> None:
        self.idle_timer.stop()
        self.shell.app.removeEventFilter(self)
        for sec in self.sections.values():
            sec.left()
        if self.tech.unlocked:
            self.terminal.tasks.run("technician_lock", lambda _t: self.tech.lock(), lambda _r: None,
                                    lambda exc: log.error("technician lock failed: %s", exc))
        super().hideEvent(e)
