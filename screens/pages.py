"""The screens: home (from the catalog) and identification (one sub-page per step of the flow).

Every page has retranslate() (static texts through _()) and wipe() (clears every text that could hold
personal data). Pages render from the core's state; they never call devices or the network."""
from __future__ import annotations

import logging
from typing import Optional

from kiosk.flows.home import pages as tile_pages
from kiosk.flows.identification import Fallback, IdStep, IdentificationFlow
from screens.i18n import _
from screens.qt import (QGridLayout, QHBoxLayout, QLineEdit, QProgressBar, QStackedWidget, Qt, QVBoxLayout,
                        QWidget)
from screens.widgets import CardGuide, FaceView, KeyPad, TileButton, button, label

log = logging.getLogger(__name__)


class Page(QWidget):
    screen_name = "page"

    def __init__(self, shell):
        super().__init__()
        self.setObjectName("page")
        self.shell = shell
        self.terminal = shell.terminal

    @property
    def lang(self) -> str:
        return self.terminal.language

    def retranslate(self) -> None:
        pass

    def wipe(self) -> None:
        pass


class HomePage(Page):
    screen_name = "home"

    def __init__(self, shell):
        super().__init__(shell)
        self.page_index = 0
        self.tile_buttons: dict[str, object] = {}
        self._shown = None
        self._layout_care: bool | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(32, 20, 32, 20)
        self.title = label(role="title")
        v.addWidget(self.title)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(20)
        v.addWidget(self.grid_host, 1)
        nav = QHBoxLayout()
        self.prev_btn = button("", "secondary", self.prev_page, name="prev_page")
        self.page_label = label(role="muted")
        self.next_btn = button("", "secondary", self.next_page, name="next_page")
        self.announcement = label(role="muted", align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.announcement.setObjectName("announcement")     # the center's announcements (catalog), beside the
        self.announcement.hide()                            # page buttons: the tiles keep their height
        nav.addWidget(self.prev_btn)
        nav.addWidget(self.announcement, 3)
        nav.addWidget(self.page_label, 1)
        nav.addWidget(self.next_btn)
        v.addLayout(nav)
        from kiosk.flows.home import TILES_PER_PAGE
        self._pool = []
        for _ in range(TILES_PER_PAGE):
            b = TileButton()
            b.clicked.connect(lambda *_, b=b: self.shell.open_item(b.tile))
            b.hide()
            self._pool.append(b)
        self.rebuild()

    def retranslate(self) -> None:
        self.title.setText(_("您好，请选择要办理的业务"))
        self.prev_btn.setText(_("上一页"))
        self.next_btn.setText(_("下一页"))
        self.rebuild(force=True)

    def prev_page(self) -> None:
        self.page_index = max(0, self.page_index - 1)
        self.rebuild()

    def next_page(self) -> None:
        self.page_index += 1
        self.rebuild()

    def show_tile(self, code: str):
        """Turn to the page that holds item `code`; its button (None if the item is not offered)."""
        for i, page in enumerate(tile_pages(self.terminal.tiles(), self.terminal.care_mode)):
            if any(t.code == code for t in page):
                self.page_index = i
                self.rebuild()
                return self.tile_buttons.get(code)
        return None

    def rebuild(self, force: bool = False) -> None:
        """Show the current page of tiles. A fixed pool of buttons is relabelled, never re-created, so a
        screen change costs a few setText calls, not widget construction and style polishing."""
        care, lang = self.terminal.care_mode, self.lang
        self.show_announcements(lang)
        all_pages = tile_pages(self.terminal.tiles(), care)
        self.page_index = min(self.page_index, len(all_pages) - 1)
        tiles = all_pages[self.page_index]
        key = (tuple(tiles), care, lang, self.page_index, len(all_pages))
        if key == self._shown and not force:
            return
        self._shown = key
        cols = 2 if care else 4
        if care != self._layout_care:
            self._layout_care = care
            for i, b in enumerate(self._pool):
                self.grid.removeWidget(b)
                self.grid.addWidget(b, i // cols, i % cols)
            for c in range(4):                         # equal columns, whatever the text in them
                self.grid.setColumnStretch(c, 1 if c < cols else 0)
        self.tile_buttons = {}
        for i, b in enumerate(self._pool):
            tile = tiles[i] if i < len(tiles) else None
            b.setVisible(tile is not None)
            if tile is None:
                continue
            b.set_tile(tile, lang)
            b.setObjectName(f"tile_{tile.code}")
            self.tile_buttons[tile.code] = b
        multi = len(all_pages) > 1
        self.prev_btn.setVisible(multi)
        self.next_btn.setVisible(multi)
        self.prev_btn.setEnabled(self.page_index > 0)
        self.next_btn.setEnabled(self.page_index < len(all_pages) - 1)
        self.page_label.setText(f"{self.page_index + 1} / {len(all_pages)}" if multi else "")


    def show_announcements(self, lang: str) -> None:
        """The center's current announcements (catalog), one line each, above the tiles."""
        from datetime import date
        cat = self.terminal.catalog
        today = date.today().isoformat()
        anns = [a for a in (cat.announcements if cat else []) if not a.valid_until or a.valid_until >= today]
        lines = [(f"[Notice] {a.title_en}: {a.body_en}" if lang == "en" and a.title_en else
                  f"【公告】{a.title_zh}：{a.body_zh}") for a in anns[-2:]]
        self.announcement.setText("\n".join(lines))
        self.announcement.setVisible(bool(lines))


class IdentifyPage(Page):
    """Renders an IdentificationFlow: one sub-page per step, plus the busy row and the message line."""
    screen_name = "identify"

    def __init__(self, shell):
        super().__init__(shell)
        self.flow: Optional[IdentificationFlow] = None
        self._unsub = None
        v = QVBoxLayout(self)
        v.setContentsMargins(32, 16, 32, 16)
        self.item_label = label(role="muted")
        self.title = label(role="title")
        self.message = label(role="message")
        v.addWidget(self.item_label)
        v.addWidget(self.title)
        v.addWidget(self.message)
        self.steps = QStackedWidget()
        v.addWidget(self.steps, 1)
        busy = QHBoxLayout()
        self.busy_label = label(role="muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)          # indeterminate: we never know how long a device takes
        self.progress.setTextVisible(False)
        self.cancel_btn = button("", "secondary", self.cancel, name="cancel")
        self.cancel_btn.setMinimumWidth(200)
        busy.addWidget(self.busy_label)
        busy.addWidget(self.progress, 1)
        busy.addStretch(0)
        busy.addWidget(self.cancel_btn, 0, Qt.AlignmentFlag.AlignRight)
        v.addLayout(busy)
        self._build_steps()

    # --- sub-pages -------------------------------------------------------------------------------------
    def _build_steps(self) -> None:
        self.sub: dict[IdStep, QWidget] = {}

        def add(step, widget):
            self.sub[step] = widget
            self.steps.addWidget(widget)

        self.id_guide = CardGuide("id")
        add(IdStep.READ_ID, self.id_guide)

        face = QWidget()
        fv = QVBoxLayout(face)
        self.face_view = FaceView()
        self.guidance = label(role="title")
        fv.addWidget(self.face_view, 1)
        fv.addWidget(self.guidance)
        add(IdStep.FACE, face)

        fb = QWidget()
        fbv = QVBoxLayout(fb)
        fbv.setSpacing(20)
        self.fb_sms = button("", "", lambda: self.flow and self.flow.choose_fallback(Fallback.ID_SMS), name="fb_sms")
        self.fb_password = button("", "", lambda: self.flow and self.flow.choose_fallback(Fallback.ID_PASSWORD),
                                  name="fb_password")
        self.fb_staff = button("", "secondary", lambda: self.flow and self.flow.choose_fallback(Fallback.STAFF),
                               name="fb_staff")
        for b in (self.fb_sms, self.fb_password, self.fb_staff):
            fbv.addWidget(b)
        fbv.addStretch(1)
        add(IdStep.FALLBACK, fb)

        sms = QWidget()
        sv = QHBoxLayout(sms)         # pad beside the code: fits the screen in care mode too
        sv.setSpacing(32)
        self.sms_info = label(role="muted")
        self.sms_input = QLineEdit()
        self.sms_input.setReadOnly(True)
        self.sms_input.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sms_input.setProperty("role", "code")
        self.sms_input.setMaxLength(6)
        self.sms_pad = KeyPad()
        self._wire_pad(self.sms_pad, self.sms_input)
        row = QHBoxLayout()
        self.sms_resend = button("", "secondary", lambda: self.flow and self.flow.resend_sms(), name="sms_resend")
        self.sms_ok = button("", "", lambda: self.flow and self.flow.submit_sms(self._take(self.sms_input)),
                             name="sms_ok")
        row.addWidget(self.sms_resend)
        row.addWidget(self.sms_ok)
        left = QVBoxLayout()
        left.addStretch(1)
        left.addWidget(self.sms_info)
        left.addWidget(self.sms_input)
        left.addLayout(row)
        left.addStretch(1)
        sv.addLayout(left, 1)
        sv.addWidget(self.sms_pad, 0, Qt.AlignmentFlag.AlignVCenter)
        add(IdStep.SMS, sms)

        pw = QWidget()
        pv = QHBoxLayout(pw)
        pv.setSpacing(32)
        self.pw_info = label(role="muted")
        self.pw_input = QLineEdit()
        self.pw_input.setReadOnly(True)
        self.pw_input.setEchoMode(QLineEdit.EchoMode.Password)
        self.pw_input.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pw_input.setProperty("role", "code")
        self.pw_input.setMaxLength(6)
        self.pw_pad = KeyPad()
        self._wire_pad(self.pw_pad, self.pw_input)
        self.pw_ok = button("", "", lambda: self.flow and self.flow.submit_password(self._take(self.pw_input)),
                            name="pw_ok")
        left = QVBoxLayout()
        left.addStretch(1)
        left.addWidget(self.pw_info)
        left.addWidget(self.pw_input)
        left.addWidget(self.pw_ok)
        left.addStretch(1)
        pv.addLayout(left, 1)
        pv.addWidget(self.pw_pad, 0, Qt.AlignmentFlag.AlignVCenter)
        add(IdStep.PASSWORD, pw)

        self.bank_guide = CardGuide("bank")
        add(IdStep.BANK_CARD, self.bank_guide)

        staff = QWidget()
        stv = QVBoxLayout(staff)
        self.staff_info = label(role="muted")
        self.staff_back = button("", "secondary", lambda: self.flow and self.flow.back(), name="staff_back")
        stv.addStretch(1)
        stv.addWidget(self.staff_info)
        stv.addWidget(self.staff_back)
        stv.addStretch(1)
        add(IdStep.STAFF, staff)

        done = QWidget()
        dv = QVBoxLayout(done)
        self.done_person = label(role="title")
        self.done_note = label(role="muted")
        self.done_btn = button("", "", self.shell.finish_session, name="finish")
        dv.addStretch(1)
        dv.addWidget(self.done_person)
        dv.addWidget(self.done_note)
        dv.addWidget(self.done_btn)
        dv.addStretch(1)
        add(IdStep.VERIFIED, done)

        failed = QWidget()
        fv2 = QVBoxLayout(failed)
        self.failed_staff = button("", "", lambda: self.terminal.call_staff("identify/failed"), name="failed_staff")
        self.failed_home = button("", "secondary", self.shell.go_home, name="failed_home")
        fv2.addStretch(1)
        fv2.addWidget(self.failed_staff)
        fv2.addWidget(self.failed_home)
        fv2.addStretch(1)
        add(IdStep.FAILED, failed)

    def _wire_pad(self, pad: KeyPad, field: QLineEdit) -> None:
        pad.digit.connect(lambda d: (field.setText((field.text() + d)[:6]), self.terminal.touch()))
        pad.backspace.connect(lambda: field.setText(field.text()[:-1]))
        pad.clear.connect(field.clear)

    @staticmethod
    def _take(field: QLineEdit) -> str:
        text = field.text()
        field.clear()
        return text

    # --- binding ---------------------------------------------------------------------------------------
    def bind(self, flow: IdentificationFlow) -> None:
        self.wipe()
        self.flow = flow
        self._unsub = flow.subscribe(lambda f, old, new: self.render())
        flow.on_frame(lambda frame, report: self.face_view.set_frame(frame, report.passed))
        flow.on_guidance(lambda msg: self.guidance.setText(msg.text(self.lang)))
        self.render()

    def cancel(self) -> None:
        self.shell.go_home()

    def retranslate(self) -> None:
        self.cancel_btn.setText(_("取消"))
        self.fb_sms.setText(_("身份证 + 短信验证码"))
        self.fb_password.setText(_("身份证 + 公积金查询密码"))
        self.fb_staff.setText(_("呼叫工作人员协助"))
        self.sms_resend.setText(_("重新发送"))
        self.sms_ok.setText(_("确认"))
        self.pw_info.setText(_("为保护您的密码，数字键位置每次随机排列"))
        self.pw_ok.setText(_("确认"))
        self.staff_info.setText(_("工作人员将尽快到达，请在此稍候"))
        self.staff_back.setText(_("返回选择其他方式"))
        self.done_note.setText(_("该业务的办理功能即将开放，请点击“完成”结束本次服务"))
        self.done_btn.setText(_("完成"))
        self.failed_staff.setText(_("呼叫人工"))
        self.failed_home.setText(_("返回首页"))
        for pad in (self.sms_pad, self.pw_pad):
            pad.clear_key.setText(_("清空"))
        self.render()

    def render(self) -> None:
        flow = self.flow
        if flow is None:
            return
        lang = self.lang
        step = flow.state
        tile = self.terminal.session.item if self.terminal.session else None
        self.item_label.setText(tile.name(lang) if tile else "")
        prompt = flow.prompt()
        self.title.setText(prompt.text(lang) if prompt else "")
        msg = flow.message
        is_error = bool(msg) and not msg.code.startswith(("SMS_SENT",))
        self.message.setText(msg.text(lang) if is_error else "")
        self.message.setVisible(is_error)        # no empty line taking room when all is well
        if step in self.sub:
            self.steps.setCurrentWidget(self.sub[step])
        busy = flow.busy and not flow.waiting_for_customer
        waiting = flow.busy in ("read_id", "read_card", "face_capture")
        self.progress.setVisible(bool(flow.busy))
        self.busy_label.setText(_("正在核验，请稍候…") if busy else _("等待中…") if waiting else "")
        self.cancel_btn.setVisible(not flow.finished)
        if step is IdStep.SMS:
            self.sms_info.setText(msg.text(lang) if msg and msg.code == "SMS_SENT" else
                                  (_("请输入短信中的6位验证码") if not msg else ""))
            self.sms_ok.setEnabled(not flow.busy)
        if step is IdStep.PASSWORD and flow.pad_layout and [k.text() for k in self.pw_pad.keys] != flow.pad_layout:
            self.pw_pad.set_layout(flow.pad_layout)
        if step is IdStep.VERIFIED:
            s = flow.summary()
            self.done_person.setText(f"{s['name']}  {s['id_number']}" if s else _("无需身份核验"))
        if step is IdStep.FACE and not flow.busy:
            self.face_view.clear()
        if step is IdStep.CANCELED:
            self.shell.go_home()

    def wipe(self) -> None:
        if self._unsub:
            self._unsub()
            self._unsub = None
        self.flow = None
        for w in (self.item_label, self.title, self.message, self.guidance, self.sms_info, self.done_person,
                  self.busy_label):
            w.clear()
        self.sms_input.clear()
        self.pw_input.clear()
        self.face_view.clear()
        self.pw_pad.set_layout(list("1234567890"))
