"""The kiosk shell: header (center name, clock, online state, queued count), the screen stack, the footer
(back, home, 呼叫人工, 中文/English, 关爱模式) and in-window notices (idle warning with countdown, staff
acknowledgement, take-your-card reminders, offline banner). No pop-up windows, no advertising.

Full screen and frameless unless settings.ui.fullscreen is false (demo: a window). A customer has no way
out to the desktop: no window frame, Alt+F4/close is ignored in kiosk mode."""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.flows.home import HOME_PROMPT, OFFLINE_NOTICE, Tile
from kiosk.flows.identification import IdStep
from kiosk.session import MSG_CARD_REMOVED, MSG_TIMEOUT, Terminal
from screens import theme
from screens.bridge import Bridge
from screens.i18n import Translations, _
from screens.pages import HomePage, IdentifyPage
from screens.services import ServicePage
from screens.qt import (QApplication, QEvent, QFrame, QHBoxLayout, QMainWindow, QScrollArea, QStackedWidget, Qt, QTimer,
                        QVBoxLayout, QWidget)
from screens.widgets import button, label

log = logging.getLogger(__name__)
SESSION_END_NOTICES = {"timeout": MSG_TIMEOUT, "card_removed": MSG_CARD_REMOVED}
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Shell(QMainWindow):
    def __init__(self, terminal: Terminal, app: QApplication, kiosk_mode: bool | None = None):
        super().__init__()
        self.terminal = terminal
        self.app = app
        self.kiosk_mode = terminal.settings.ui.fullscreen if kiosk_mode is None else kiosk_mode
        self.translations = Translations(app)
        self.bridge = Bridge(terminal, self)
        self.bridge.add_target(self)
        self.setWindowTitle(terminal.settings.terminal.center_name)
        if self.kiosk_mode:
            self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.resize(terminal.settings.ui.screen_width, terminal.settings.ui.screen_height)

        root = QWidget()
        root.setObjectName("shell")
        self.setCentralWidget(root)
        v = QVBoxLayout(root)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self._header())
        self.offline_bar = QFrame()
        self.offline_bar.setObjectName("offline")
        ob = QHBoxLayout(self.offline_bar)
        ob.setContentsMargins(16, 2, 16, 2)
        self.offline_label = label()
        ob.addWidget(self.offline_label)
        v.addWidget(self.offline_bar)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(16, 4, 16, 4)
        self.banner_label = label()
        bl.addWidget(self.banner_label)
        v.addWidget(self.banner)
        self.stack = QStackedWidget()
        # The pages scroll inside the screen: care mode, the offline bar and a notice together can need more
        # height than a fixed kiosk screen has, and the footer (返回/首页/呼叫人工) must never be pushed off it.
        self.stack_scroll = QScrollArea()
        self.stack_scroll.setObjectName("stack_scroll")
        self.stack_scroll.setWidgetResizable(True)
        self.stack_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.stack_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack_scroll.setWidget(self.stack)
        v.addWidget(self.stack_scroll, 1)
        v.addWidget(self._footer())

        self.home = HomePage(self)
        self.identify = IdentifyPage(self)
        self.service = ServicePage(self)
        self.pages = [self.home, self.identify, self.service]
        for p in self.pages:
            self.stack.addWidget(p)

        self._overlay()
        self._banner_timer = QTimer(self)
        self._banner_timer.setSingleShot(True)
        self._banner_timer.timeout.connect(self._hide_staff_notice)
        self._staff_notice = ""
        self._reminders: list = []
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(1000)
        self.tick_timer.timeout.connect(self._tick)
        self.tick_timer.start()

        app.setStyleSheet(theme.stylesheet(terminal.care_mode))
        self.translations.set(terminal.language)
        self.retranslate()
        self.on_event_network(terminal.online, terminal.queued)
        self._update_clock()
        self._refresh_banner()
        self.show_page(self.home)
        app.installEventFilter(self)

    # --- layout pieces -----------------------------------------------------------------------------------
    def _header(self) -> QFrame:
        h = QFrame()
        h.setObjectName("header")
        row = QHBoxLayout(h)
        row.setContentsMargins(24, 4, 24, 4)
        self.center_label = label(self.terminal.settings.terminal.center_name, "title", wrap=False,
                                  align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.net_label = label(wrap=False)
        self.queue_label = label(wrap=False)
        self.clock_label = label(wrap=False)
        row.addWidget(self.center_label, 1)
        for w in (self.net_label, self.queue_label, self.clock_label):
            row.addWidget(w)
            row.addSpacing(16)
        return h

    def _footer(self) -> QFrame:
        f = QFrame()
        f.setObjectName("footer")
        row = QHBoxLayout(f)
        row.setContentsMargins(16, 4, 16, 4)
        row.setSpacing(12)
        self.back_btn = button("", "secondary", self.go_back, name="back")
        self.home_btn = button("", "secondary", self.go_home, name="home")
        self.help_btn = button("", "danger", lambda: self.terminal.call_staff(self.current_screen), name="help")
        self.lang_btn = button("", "secondary", self.toggle_language, name="language")
        self.care_btn = button("", "secondary", self.toggle_care, name="care")
        for b in (self.back_btn, self.home_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.help_btn)
        row.addStretch(1)
        for b in (self.lang_btn, self.care_btn):
            row.addWidget(b)
        return f

    def _overlay(self) -> None:
        self.overlay = QFrame(self.centralWidget())
        self.overlay.setObjectName("overlay")
        ov = QVBoxLayout(self.overlay)
        box = QFrame()
        box.setObjectName("dialog")
        box.setMaximumWidth(820)
        bv = QVBoxLayout(box)
        bv.setContentsMargins(32, 28, 32, 28)
        bv.setSpacing(18)
        self.idle_title = label(role="title")
        self.idle_count = label(role="ok")
        self.idle_text = label()
        self.extend_btn = button("", "", self.terminal.extend, name="extend")
        self.leave_btn = button("", "secondary", self.go_home, name="leave")
        for w in (self.idle_title, self.idle_count, self.idle_text, self.extend_btn, self.leave_btn):
            bv.addWidget(w)
        ov.addStretch(1)
        ov.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        ov.addStretch(1)
        self.overlay.hide()

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self.overlay.setGeometry(self.centralWidget().rect())

    # --- navigation ---------------------------------------------------------------------------------------
    @property
    def current_screen(self) -> str:
        return self.stack.currentWidget().screen_name

    def show_page(self, page) -> None:
        self.stack.setCurrentWidget(page)
        self.back_btn.setVisible(page is not self.home)
        self.home_btn.setVisible(page is not self.home)

    def open_item(self, tile: Tile) -> None:
        if not tile.available:
            return
        spec = self._service_spec(tile)
        if spec is not None:                 # identify at the stricter of the catalog's and the flow's level
            tile = replace(tile, identity_level=max(tile.identity_level, spec.identity_level),
                           moves_money=tile.moves_money or spec.moves_money)
        self.terminal.start_session(tile)
        if spec is not None and tile.identity_level == 0:
            return self._open_service(spec.code)
        flow = self.terminal.identify()
        if not self.terminal.session:        # the flow could end the session at once (never today)
            return
        self.identify.bind(flow)
        if spec is not None:
            flow.subscribe(lambda f, old, new: new is IdStep.VERIFIED and old is not IdStep.VERIFIED
                           and self._open_service(spec.code))
        self.show_page(self.identify)

    def _service_spec(self, tile: Tile):
        """The registry's item behind a tile, when the terminal has the service flows (else: identify only)."""
        if getattr(self.terminal, "services", None) is None:
            return None
        from kiosk.flows.services.registry import spec
        try:
            return spec(tile.code)
        except KeyError:
            return None

    def _open_service(self, code: str) -> None:
        if not self.terminal.session:
            return
        flow = self.terminal.open_service(code)
        if self.terminal.session:
            self.service.bind(flow)
            self.show_page(self.service)

    def go_back(self) -> None:
        flow = self.identify.flow
        if self.stack.currentWidget() is self.identify and flow and flow.back():
            return
        if self.stack.currentWidget() is self.service and self.service.back():
            return
        self.go_home()

    def go_home(self) -> None:
        if self.terminal.session:
            self.terminal.cancel_session()      # -> on_event_session_ended
        else:
            self._to_home()

    def finish_session(self) -> None:
        self.terminal.finish_session()

    def _to_home(self) -> None:
        self.overlay.hide()
        self.identify.wipe()
        self.service.wipe()
        self.home.page_index = 0
        self.home.rebuild()
        self.show_page(self.home)
        self.terminal.say(HOME_PROMPT)

    # --- footer switches --------------------------------------------------------------------------------------
    def toggle_language(self) -> None:
        self.terminal.set_language("en" if self.terminal.language == "zh_CN" else "zh_CN")

    def toggle_care(self) -> None:
        self.terminal.set_care_mode(not self.terminal.care_mode)

    def retranslate(self) -> None:
        self.back_btn.setText(_("返回"))
        self.home_btn.setText(_("首页"))
        self.help_btn.setText(_("呼叫人工"))
        self.lang_btn.setText(_("English"))
        self.care_btn.setText(_("标准模式") if self.terminal.care_mode else _("关爱模式"))
        self.idle_title.setText(_("您还在吗？"))
        self.extend_btn.setText(_("继续办理"))
        self.leave_btn.setText(_("退出"))
        self.offline_label.setText(OFFLINE_NOTICE.text(self.terminal.language))
        for p in self.pages:
            p.retranslate()
        self.on_event_network(self.terminal.online, self.terminal.queued)
        self._refresh_banner()

    # --- core events (delivered on the Qt thread by the bridge) --------------------------------------------
    def on_event_language(self, language: str) -> None:
        self.translations.set(language)
        self.retranslate()

    def on_event_care_mode(self, on: bool) -> None:
        self.app.setStyleSheet(theme.stylesheet(on))
        self.retranslate()

    def on_event_network(self, online: bool, queued: int) -> None:
        self.net_label.setText(("● " + _("在线")) if online else ("● " + _("离线")))
        self.queue_label.setText(_("待上传 %n 笔", "", queued) if queued else "")
        self.offline_bar.setVisible(not online)
        if self.stack.currentWidget() is self.home:
            self.home.rebuild()

    def on_event_catalog(self, catalog) -> None:
        self.home.rebuild()

    def on_event_ready(self) -> None:
        self.home.rebuild()

    def on_event_session_ended(self, reason: str) -> None:
        self._to_home()
        notice = SESSION_END_NOTICES.get(reason)
        if notice is not None:                  # why the visit ended, on screen as well as spoken
            self.on_event_staff_called(notice)

    def on_event_idle_warning(self, remaining: int, can_extend: bool) -> None:
        self.extend_btn.setEnabled(can_extend)
        self.on_event_idle_countdown(remaining)
        self.overlay.setGeometry(self.centralWidget().rect())
        self.overlay.show()
        self.overlay.raise_()

    def on_event_idle_countdown(self, remaining: int) -> None:
        self.idle_count.setText(_("%n 秒后自动退出", "", remaining))
        self.idle_text.setText(_("为保护您的信息，长时间未操作将自动退出。如需继续，请点击“继续办理”。"))

    def on_event_idle_extended(self) -> None:
        self.overlay.hide()

    def on_event_idle_extend_refused(self, message) -> None:
        self.extend_btn.setEnabled(False)
        self.idle_text.setText(message.text(self.terminal.language))

    def on_event_staff_called(self, message) -> None:
        self._staff_notice = message
        self._refresh_banner()
        self._banner_timer.start(15000)

    def on_event_remote_notice(self, message) -> None:
        """The center's remote commands were applied on the last sync (kiosk.staff.remote): say so."""
        self._staff_notice = message
        self._refresh_banner()
        self._banner_timer.start(60000)

    def on_event_print_failed(self, message) -> None:
        self._staff_notice = message
        self._refresh_banner()

    def on_event_reminders(self, messages) -> None:
        self._reminders = list(messages)
        self._refresh_banner()

    def _hide_staff_notice(self) -> None:
        self._staff_notice = ""
        self._refresh_banner()

    def _refresh_banner(self) -> None:
        lang = self.terminal.language
        parts = [m.text(lang) for m in self._reminders]
        if self._staff_notice:
            parts.insert(0, self._staff_notice.text(lang))
        self.banner_label.setText("　".join(parts))
        self.banner.setVisible(bool(parts))

    # --- time and activity ----------------------------------------------------------------------------------
    def _tick(self) -> None:
        self._update_clock()
        self.terminal.tick()

    def _update_clock(self) -> None:
        self.clock_label.setText(datetime.now(LOCAL_TZ).strftime("%H:%M"))

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress):
            self.terminal.touch()
        return False

    def closeEvent(self, event) -> None:
        if self.kiosk_mode and not getattr(self, "allow_close", False):
            event.ignore()          # a customer cannot close the kiosk; technicians stop the service
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Detach from the application and the core (the window may be gone long before the process)."""
        self.tick_timer.stop()
        self._banner_timer.stop()
        self.app.removeEventFilter(self)
        self.translations.set("zh_CN")          # the translator belongs to the app; leave it as found
        self.bridge.close()
