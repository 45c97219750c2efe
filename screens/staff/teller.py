"""Teller mode on screen (bank-teller terminals): sign-in with teller id and password (the teller has a
keyboard: Tab order, Enter submits), the signed-in teller's name and branch in the shell header, sign-out
(also after settings.session.idle_timeout_s without a key or a click), the supervisor's authorization for one
action, and the end-of-day report (PDF written to a folder, its path shown).

Keyboard first: F2 主管授权, F9 日终报表, F12 退出登录, Esc 取消 (Ctrl+A / Ctrl+E / Ctrl+L work too).
Every action is a kiosk.staff call (teller.TellerMode, eod.end_of_day), run on a worker; each is audited there."""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Optional

from kiosk.staff.errors import StaffError
from screens.qt import QEvent, QFrame, QHBoxLayout, QKeySequence, QLineEdit, QObject, QShortcut, Qt, QTimer, QVBoxLayout
from screens.staff.common import StaffPage, error_text, readonly_text, set_role
from screens.widgets import label

log = logging.getLogger(__name__)

KIND_NAMES = {"withdrawal": "提取", "deposit": "缴存", "loan_prepayment": "提前还款", "phone_change": "手机号码变更",
              "transfer_in": "转移接续"}


def _line(name: str, placeholder: str, password: bool = False) -> QLineEdit:
    e = QLineEdit()
    e.setObjectName(name)
    e.setPlaceholderText(placeholder)
    e.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    e.setMinimumHeight(48)
    if password:
        e.setEchoMode(QLineEdit.EchoMode.Password)
    return e


def _shortcut(widget, keys: tuple[str, ...], fn) -> list[QShortcut]:
    out = []
    for k in keys:
        sc = QShortcut(QKeySequence(k), widget)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(lambda fn=fn, w=widget: fn() if w.isVisible() else None)
        out.append(sc)
    return out


class TellerSignInPage(StaffPage):
    screen_name = "teller_sign_in"

    def __init__(self, shell, controller: "TellerScreens"):
        super().__init__(shell)
        self.c = controller
        v = QVBoxLayout(self)
        v.setContentsMargins(200, 40, 200, 40)
        v.setSpacing(16)
        v.addWidget(label("柜员登录", "title"))
        self.where = label("", "muted")
        v.addWidget(self.where)
        self.teller_id = _line("teller_id", "柜员号")
        self.password = _line("teller_password", "密码", password=True)
        v.addWidget(self.teller_id)
        v.addWidget(self.password)
        self.setTabOrder(self.teller_id, self.password)
        self.teller_id.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.submit)
        self.message = label("", "muted")
        self.message.setObjectName("sign_in_message")
        v.addWidget(self.message)
        self.ok_btn = self.action("登录（Enter）", self.submit, "", "sign_in_btn")
        v.addWidget(self.ok_btn)
        v.addStretch(1)

    def open(self, message: str = "") -> None:
        view = self.c.mode.view()
        self.where.setText(f"网点 {view['branch'] or '未设置'}　终端 {view['terminal_id']}")
        self.password.clear()
        set_role(self.message, "message" if message else "muted")
        self.message.setText(message or "请输入柜员号和密码，按回车登录")
        self.teller_id.setFocus()

    def submit(self) -> None:
        tid, pw = self.teller_id.text().strip(), self.password.text()
        self.password.clear()
        self.run("teller_sign_in", lambda: self.c.mode.sign_in(tid, pw), lambda _s: self.c.signed_in(),
                 self._refused)

    def _refused(self, exc: BaseException) -> None:
        set_role(self.message, "message")
        self.message.setText(error_text(exc))
        self.password.setFocus()

    def wipe(self) -> None:
        self.password.clear()


class TellerPage(StaffPage):
    """The teller's workbench: who is signed in, supervisor authorization, end of day, sign-out."""
    screen_name = "teller"

    def __init__(self, shell, controller: "TellerScreens"):
        super().__init__(shell)
        self.c = controller
        self.approval = None
        v = QVBoxLayout(self)
        v.setContentsMargins(32, 16, 32, 16)
        v.setSpacing(12)
        v.addWidget(label("柜员工作台", "title"))
        self.who = label("", "muted")
        self.who.setObjectName("teller_who")
        v.addWidget(self.who)
        row = QHBoxLayout()
        row.addWidget(self.action("主管授权 F2", self.open_authorize, "secondary", "authorize_btn"))
        row.addWidget(self.action("日终报表 F9", self.open_eod, "secondary", "eod_btn"))
        row.addWidget(self.action("退出登录 F12", self.sign_out, "danger", "sign_out_btn"))
        v.addLayout(row)
        self.message = readonly_text()
        self.message.setObjectName("teller_message")
        v.addWidget(self.message)
        v.addWidget(self._authorize_panel())
        v.addWidget(self._eod_panel())
        v.addStretch(1)
        self.shortcuts = (_shortcut(self, ("F2", "Ctrl+A"), self.open_authorize)
                          + _shortcut(self, ("F9", "Ctrl+E"), self.open_eod)
                          + _shortcut(self, ("F12", "Ctrl+L"), self.sign_out)
                          + _shortcut(self, ("Esc",), self.close_panels))

    # --- supervisor authorization ----------------------------------------------------------------------
    def _authorize_panel(self) -> QFrame:
        f = QFrame()
        f.setObjectName("dialog")
        v = QVBoxLayout(f)
        v.setContentsMargins(24, 16, 24, 16)
        v.addWidget(label("主管授权（本次业务一次有效）", "title", align=Qt.AlignmentFlag.AlignLeft))
        row = QHBoxLayout()
        self.auth_kind = _line("auth_kind", "业务类型，如 withdrawal")
        self.auth_kind.setText("withdrawal")
        self.auth_amount = _line("auth_amount", "金额（元）")
        row.addWidget(self.auth_kind)
        row.addWidget(self.auth_amount)
        v.addLayout(row)
        row2 = QHBoxLayout()
        self.sup_id = _line("supervisor_id", "主管柜员号")
        self.sup_password = _line("supervisor_password", "主管密码", password=True)
        row2.addWidget(self.sup_id)
        row2.addWidget(self.sup_password)
        v.addLayout(row2)
        for a, b in ((self.auth_kind, self.auth_amount), (self.auth_amount, self.sup_id),
                     (self.sup_id, self.sup_password)):
            self.setTabOrder(a, b)
            a.returnPressed.connect(b.setFocus)
        self.sup_password.returnPressed.connect(self.authorize)
        self.auth_message = label("", "muted", align=Qt.AlignmentFlag.AlignLeft)
        self.auth_message.setObjectName("auth_message")
        v.addWidget(self.auth_message)
        row3 = QHBoxLayout()
        row3.addWidget(self.action("授权（Enter）", self.authorize, "", "auth_ok"))
        row3.addWidget(self.action("取消（Esc）", self.close_panels, "secondary", "auth_cancel"))
        v.addLayout(row3)
        self.auth_panel = f
        f.hide()
        return f

    def open_authorize(self) -> None:
        self.eod_panel.hide()
        self.auth_panel.show()
        set_role(self.auth_message, "muted")
        self.auth_message.setText("请主管输入柜员号和密码")
        self.auth_amount.setFocus()

    def authorize(self) -> None:
        from kiosk.domain.money import InvalidAmount, parse_yuan
        kind = self.auth_kind.text().strip()
        text = self.auth_amount.text().strip()
        try:
            amount_fen = parse_yuan(text) if text else None
        except InvalidAmount as exc:
            set_role(self.auth_message, "message")
            self.auth_message.setText(f"{exc.message_zh}（{exc.code}）")
            return
        sid, pw = self.sup_id.text().strip(), self.sup_password.text()
        self.sup_password.clear()

        def done(ok) -> None:
            from kiosk.domain.money import format_yuan
            self.approval = ok
            amount = f"，金额 {format_yuan(ok.amount_fen)}" if ok.amount_fen is not None else ""
            self.auth_panel.hide()
            set_role(self.message, "")
            self.message.setText(f"主管 {ok.name}（{ok.supervisor_id}）已授权：{KIND_NAMES.get(ok.kind, ok.kind)}"
                                 f"{amount}。{ok.reason}")

        def refused(exc: BaseException) -> None:
            set_role(self.auth_message, "message")
            self.auth_message.setText(error_text(exc))
            self.sup_password.setFocus()
        self.run("supervisor_authorize",
                 lambda: self.c.mode.authorize(sid, pw, kind=kind, amount_fen=amount_fen), done, refused)

    # --- end of day --------------------------------------------------------------------------------------
    def _eod_panel(self) -> QFrame:
        f = QFrame()
        f.setObjectName("dialog")
        v = QVBoxLayout(f)
        v.setContentsMargins(24, 16, 24, 16)
        v.addWidget(label("日终报表", "title", align=Qt.AlignmentFlag.AlignLeft))
        row = QHBoxLayout()
        self.eod_date = _line("eod_date", "营业日期 YYYY-MM-DD")
        self.eod_date.returnPressed.connect(self.end_of_day)
        row.addWidget(self.eod_date, 1)
        row.addWidget(self.action("生成报表（Enter）", self.end_of_day, "", "eod_make"))
        v.addLayout(row)
        self.eod_result = readonly_text()
        self.eod_result.setObjectName("eod_result")
        v.addWidget(self.eod_result)
        self.eod_panel = f
        f.hide()
        return f

    def open_eod(self) -> None:
        from sync.journal import LOCAL_TZ
        self.auth_panel.hide()
        self.eod_panel.show()
        if not self.eod_date.text():
            self.eod_date.setText(datetime.now(LOCAL_TZ).date().isoformat())
        self.eod_result.setText("按回车生成当日报表（与中心对账）")
        self.eod_date.setFocus()

    def end_of_day(self) -> None:
        from datetime import date
        try:
            day = date.fromisoformat(self.eod_date.text().strip())
        except ValueError:
            set_role(self.eod_result, "message")
            self.eod_result.setText("日期格式应为 YYYY-MM-DD（EOD_DATE_FORMAT）")
            return
        c = self.c

        def done(res) -> None:
            eod, path = res
            from kiosk.domain.money import format_yuan
            t = eod.view()["totals"]
            set_role(self.eod_result, "" if eod.balanced else "message")
            self.eod_result.setText(
                f"报表已生成：{path}\n成功 {t['accepted_count']} 笔 {format_yuan(t['accepted_fen'])}；"
                f"待确认 {t['queued_count']} 笔；未受理 {t['refused_count']} 笔\n"
                + ("与中心对账一致" if eod.balanced else
                   f"与中心对账有 {len(eod.reconcile.get('differences', []))} 处差异，请核查"))
            self.last_report = path

        def refused(exc: BaseException) -> None:
            set_role(self.eod_result, "message")
            self.eod_result.setText(error_text(exc))
        self.run("teller_end_of_day", lambda: c.end_of_day(day), done, refused)

    # --- the rest ----------------------------------------------------------------------------------------
    def close_panels(self) -> None:
        self.auth_panel.hide()
        self.eod_panel.hide()

    def sign_out(self) -> None:
        self.run("teller_sign_out", lambda: self.c.mode.sign_out("logout"), lambda _r: self.c.signed_out())

    def open(self) -> None:
        s = self.c.mode.session
        self.who.setText(f"柜员 {s.name}（{s.teller_id}）　网点 {s.branch}　终端 {s.terminal_id}" if s else "")
        self.message.setText("F2 主管授权　F9 日终报表　F12 退出登录")
        self.close_panels()

    def wipe(self) -> None:
        self.approval = None
        for e in (self.sup_password, self.sup_id, self.auth_amount):
            e.clear()
        self.eod_result.setText("")


class TellerScreens(QObject):
    """Wires TellerMode into the shell: pages, the header line, activity and the idle sign-out check."""

    def __init__(self, shell, mode, *, journal=None, port=None, audit=None, reports_dir: "str | Path | None" = None):
        super().__init__(shell)
        self.shell = shell
        self.mode = mode
        self.journal = journal if journal is not None else mode.journal
        self.port = port if port is not None else mode.port
        self.audit = audit if audit is not None else mode.audit
        self.reports_dir = Path(reports_dir) if reports_dir else Path(mode.settings.paths.data_dir) / "reports"
        self.sign_in_page = TellerSignInPage(shell, self)
        self.page = TellerPage(shell, self)
        self.header_label = label("", wrap=False)
        self.header_label.setObjectName("teller_header")
        shell.center_label.parentWidget().layout().insertWidget(1, self.header_label)
        self.header_label.hide()
        self._checking = False
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(1000)
        self.idle_timer.timeout.connect(self.check_idle)
        self.idle_timer.start()
        shell.app.installEventFilter(self)
        shell.stack.currentChanged.connect(self._page_changed)

    def _page_changed(self, _index: int) -> None:
        """A teller terminal has no resident home: 首页/返回 (and a session's end) come back to teller mode."""
        if self.shell.stack.currentWidget() is self.shell.home:
            QTimer.singleShot(0, self._back_to_teller)

    def _back_to_teller(self) -> None:
        if self.shell.stack.currentWidget() is not self.shell.home:
            return
        if self.mode.session is not None:
            self.page.open()
            self.shell.show_page(self.page)
        else:
            self.show_sign_in(self.sign_in_page.message.text() if self.sign_in_page.message.property("role")
                              == "message" else "")

    def pages(self) -> list:
        return [self.sign_in_page, self.page]

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self.mode.touch()
        return False

    def show_sign_in(self, message: str = "") -> None:
        self.page.wipe()
        self.header_label.hide()
        self.sign_in_page.open(message)
        self.shell.show_page(self.sign_in_page)

    def signed_in(self) -> None:
        s = self.mode.session
        self.header_label.setText(f"柜员 {s.name}（{s.teller_id}）· 网点 {s.branch}")
        self.header_label.show()
        self.sign_in_page.teller_id.clear()
        self.page.open()
        self.shell.show_page(self.page)

    def signed_out(self, message: str = "") -> None:
        self.show_sign_in(message)

    def check_idle(self) -> None:
        """Sign-out on idle: TellerMode.check_idle writes the audit record, so it runs on a worker."""
        if self.mode.session is None or self._checking:
            return
        self._checking = True

        def done(out: bool) -> None:
            self._checking = False
            if out:
                msg = self.mode.message
                self.signed_out(f"{msg.message_zh}（{msg.code}）" if msg else "")

        def failed(exc: BaseException) -> None:
            self._checking = False
            log.error("teller idle check failed: %s", exc)
        self.shell.terminal.tasks.run("teller_idle", lambda _t: self.mode.check_idle(), done, failed)

    def end_of_day(self, day) -> tuple:
        """On a worker: the reconciled report for the signed-in teller, written as a PDF; (EndOfDay, path)."""
        from kiosk.staff.eod import end_of_day
        s = self.mode.current()
        eod = end_of_day(self.mode.settings, self.journal, self.port, s.teller_id, day, audit=self.audit,
                         catalog=self.mode.catalog())
        path = self.reports_dir / f"eod-{s.teller_id}-{day.isoformat()}.pdf"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(eod.pdf)
            tmp.replace(path)
        except OSError as exc:
            raise StaffError("EOD_WRITE_FAILED", "日终报表无法保存", f"{path}: {exc.strerror}") from None
        self.mode.touch()
        return eod, str(path)

    def close(self) -> None:
        self.idle_timer.stop()
        self.shell.stack.currentChanged.disconnect(self._page_changed)
        self.shell.app.removeEventFilter(self)
