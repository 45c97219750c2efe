"""Teller mode on screen (bank-teller terminals): sign-in with teller id and password (the teller has a
keyboard: Tab order, Enter submits), the signed-in teller's name and branch in the shell header, sign-out
(also after settings.session.idle_timeout_s without a key or a click), the supervisor's authorization for one
action, and the end-of-day report (PDF written to a folder, its path shown).

Keyboard first: F2 主管授权, F5 组合贷款, F9 日终报表, F12 退出登录, Esc 取消 (Ctrl+A / Ctrl+G / Ctrl+E /
Ctrl+L work too); on the workbench the service items carry a key (1-9, then letters) that opens them, and the
arrow keys/Tab with Enter do the same.

The teller runs the resident service items on behalf of a customer through the same shell pages and flows
(shell.open_item: identification by ID card and face, then the item's ServicePage); the TransactionDesk stamps
every transaction with the teller (TellerMode.stamp). Before 确认 of an action above the limits or marked
sensitive the service page's guard holds the flow and the supervisor signs in on TellerAuthorizePage for that one
action. The combined loan (组合贷款) has its own keyboard page after the same identification.

Every action is a kiosk.staff call (teller.TellerMode, combined_loan, eod.end_of_day), run on a worker; each is
audited there."""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Optional

from kiosk.staff.errors import StaffError
from screens.qt import (QApplication, QEvent, QFrame, QGridLayout, QHBoxLayout, QKeySequence, QLineEdit,
                        QObject, QPushButton, QShortcut, Qt, QTimer, QVBoxLayout, QWidget)
from screens.staff.common import StaffPage, error_text, readonly_text, set_role
from screens.widgets import label

log = logging.getLogger(__name__)

KIND_NAMES = {"withdrawal": "提取", "deposit": "缴存", "loan_prepayment": "提前还款", "phone_change": "手机号码变更",
              "transfer_in": "转移接续", "loan_preapply": "贷款预申请"}
ITEM_KEYS = "123456789BCDFHKMNPRSTUVWXYZ"        # the workbench's item keys (no I/J/O/Q: read as 1/0; A/E/G/L Ctrl)
ITEM_COLUMNS = 4
ITEM_STYLE = ("QPushButton { font-size: 18px; min-height: 40px; padding: 2px 8px; text-align: left; }"
              "QPushButton:focus { border: 3px solid #c77700; }")
LEFT = Qt.AlignmentFlag.AlignLeft


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
    """The teller's workbench: who is signed in, the service items for a customer (one key each), the combined
    loan, supervisor authorization, end of day, sign-out."""
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
        row.addWidget(self.action("组合贷款 F5", self.c.open_combined, "secondary", "combined_btn"))
        row.addWidget(self.action("日终报表 F9", self.open_eod, "secondary", "eod_btn"))
        row.addWidget(self.action("退出登录 F12", self.sign_out, "danger", "sign_out_btn"))
        v.addLayout(row)
        self.message = readonly_text()
        self.message.setObjectName("teller_message")
        v.addWidget(self.message)
        self.items_title = label("代客户办理：按编号键打开（或用方向键/Tab 选择后按回车）", "muted", align=LEFT)
        v.addWidget(self.items_title)
        self.items_host = QWidget()
        self.items_grid = QGridLayout(self.items_host)
        self.items_grid.setContentsMargins(0, 0, 0, 0)
        self.items_grid.setSpacing(8)
        self.items_host.setStyleSheet(ITEM_STYLE)     # a keyboard and a mouse at the counter: denser than tiles
        v.addWidget(self.items_host)
        self.item_keys: dict[str, object] = {}
        self.item_buttons: list[QPushButton] = []
        v.addWidget(self._authorize_panel())
        v.addWidget(self._eod_panel())
        v.addStretch(1)
        self.shortcuts = (_shortcut(self, ("F2", "Ctrl+A"), self.open_authorize)
                          + _shortcut(self, ("F5", "Ctrl+G"), self.c.open_combined)
                          + _shortcut(self, ("F9", "Ctrl+E"), self.open_eod)
                          + _shortcut(self, ("F12", "Ctrl+L"), self.sign_out)
                          + _shortcut(self, ("Esc",), self.close_panels))
        for k in ITEM_KEYS:
            self.shortcuts += _shortcut(self, (k,), lambda k=k: self.key_item(k))

    # --- the service items, for a customer -------------------------------------------------------------
    def rebuild_items(self) -> None:
        """The teller terminal's items (the catalog, role teller), each with its key; unavailable ones greyed."""
        while self.items_grid.count():
            w = self.items_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.item_keys, self.item_buttons = {}, []
        for i, (key, tile) in enumerate(zip(ITEM_KEYS, self.terminal.tiles())):
            b = QPushButton(f"{key}  {tile.name_zh}")
            b.setObjectName(f"item_{tile.code}")
            b.setProperty("role", "secondary")
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            b.setEnabled(tile.available)
            b.clicked.connect(lambda *_a, code=tile.code: self.c.open_item(code))
            b.installEventFilter(self)
            self.items_grid.addWidget(b, i // ITEM_COLUMNS, i % ITEM_COLUMNS)
            self.item_keys[key] = tile
            self.item_buttons.append(b)

    def key_item(self, key: str) -> None:
        """An item's key on the workbench (not while typing in a field or with a panel open)."""
        if isinstance(QApplication.focusWidget(), QLineEdit) or self.auth_panel.isVisible() \
                or self.eod_panel.isVisible() or self.busy:
            return
        tile = self.item_keys.get(key)
        if tile is not None:
            self.c.open_item(tile.code)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or obj not in self.item_buttons:
            return False
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            obj.click()
            return True
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -ITEM_COLUMNS,
                Qt.Key.Key_Down: ITEM_COLUMNS}.get(event.key())
        if step is None:
            return False
        i = self.item_buttons.index(obj) + step
        if 0 <= i < len(self.item_buttons):
            self.item_buttons[i].setFocus(Qt.FocusReason.OtherFocusReason)
        return True

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

    def _panel_open(self) -> None:
        """A panel takes the items' place (the workbench fits the screen)."""
        self.items_title.hide()
        self.items_host.hide()

    def show_error(self, exc: BaseException) -> None:
        super().show_error(exc)
        self.message.setVisible(True)

    def open_authorize(self) -> None:
        self._panel_open()
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
            self.c.mode.approve_next(ok)      # also for the next service item of that kind and amount
            amount = f"，金额 {format_yuan(ok.amount_fen)}" if ok.amount_fen is not None else ""
            self.close_panels()
            set_role(self.message, "")
            self.message.setVisible(True)
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
        self.eod_lines_host = QWidget()
        self.eod_lines_host.setStyleSheet("QLabel { font-size: 17px; }")
        self.eod_lines = QGridLayout(self.eod_lines_host)
        self.eod_lines.setContentsMargins(0, 0, 0, 0)
        self.eod_lines.setHorizontalSpacing(24)
        self.eod_lines.setVerticalSpacing(2)
        v.addWidget(self.eod_lines_host)
        self.eod_panel = f
        f.hide()
        return f

    def open_eod(self) -> None:
        from sync.journal import LOCAL_TZ
        self._panel_open()
        self.auth_panel.hide()
        self.eod_panel.show()
        if not self.eod_date.text():
            self.eod_date.setText(datetime.now(LOCAL_TZ).date().isoformat())
        self.eod_result.setText("按回车生成当日报表（与中心对账）")
        self.show_eod_lines(None)
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
            self.show_eod_lines(eod.view())

        def refused(exc: BaseException) -> None:
            set_role(self.eod_result, "message")
            self.eod_result.setText(error_text(exc))
        self.run("teller_end_of_day", lambda: c.end_of_day(day), done, refused)

    def show_eod_lines(self, view: Optional[dict]) -> None:
        """By item: accepted, queued (待确认) and refused (未受理), count and amount, then the totals."""
        from kiosk.domain.money import format_yuan
        while self.eod_lines.count():
            w = self.eod_lines.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        if not view:
            return
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        heads = ["业务", "成功笔数", "成功金额", "待确认笔数", "待确认金额", "未受理笔数", "未受理金额"]
        rows = [[l["item"], str(l["accepted_count"]), format_yuan(l["accepted_fen"]), str(l["queued_count"]),
                 format_yuan(l["queued_fen"]), str(l["refused_count"]), format_yuan(l["refused_fen"])]
                for l in view["lines"]]
        t = view["totals"]
        rows.append(["合计", str(t["accepted_count"]), format_yuan(t["accepted_fen"]), str(t["queued_count"]),
                     format_yuan(t["queued_fen"]), str(t["refused_count"]), format_yuan(t["refused_fen"])])
        for j, h in enumerate(heads):
            self.eod_lines.addWidget(label(h, "muted", wrap=False, align=LEFT if j == 0 else right), 0, j)
        for i, r in enumerate(rows, start=1):
            for j, text in enumerate(r):
                w = label(text, wrap=False, align=LEFT if j == 0 else right)
                w.setObjectName("eod_cell")
                self.eod_lines.addWidget(w, i, j)

    # --- the rest ----------------------------------------------------------------------------------------
    def close_panels(self) -> None:
        self.auth_panel.hide()
        self.eod_panel.hide()
        self.items_title.show()
        self.items_host.show()

    def sign_out(self) -> None:
        self.run("teller_sign_out", lambda: self.c.mode.sign_out("logout"), lambda _r: self.c.signed_out())

    def open(self) -> None:
        s = self.c.mode.session
        self.who.setText(f"柜员 {s.name}（{s.teller_id}）　网点 {s.branch}　终端 {s.terminal_id}" if s else "")
        set_role(self.message, "")
        self.message.setText(self.c.last_result)
        self.message.setVisible(bool(self.c.last_result))
        self.close_panels()
        self.rebuild_items()

    def wipe(self) -> None:
        self.approval = None
        for e in (self.sup_password, self.sup_id, self.auth_amount):
            e.clear()
        self.eod_result.setText("")
        self.show_eod_lines(None)


def flow_amount(flow) -> Optional[int]:
    """The amount a service flow will submit (fen): its amount_fen, else the last amount it shows."""
    a = getattr(flow, "amount_fen", None)
    if isinstance(a, int) and not isinstance(a, bool) and a > 0:
        return a
    amounts = flow.view()["amounts"]
    return amounts[-1]["fen"] if amounts else None


class TellerAuthorizePage(StaffPage):
    """A supervisor signs in at this counter for the one action the service flow is about to submit."""
    screen_name = "teller_authorize"

    def __init__(self, shell, controller: "TellerScreens"):
        super().__init__(shell)
        self.c = controller
        self.kind, self.amount_fen, self.on_ok = "", None, None
        v = QVBoxLayout(self)
        v.setContentsMargins(160, 32, 160, 32)
        v.setSpacing(14)
        v.addWidget(label("主管授权（本笔业务一次有效）", "title"))
        self.what = label("", align=LEFT)
        self.what.setObjectName("authorize_what")
        v.addWidget(self.what)
        self.sup_id = _line("flow_supervisor_id", "主管柜员号")
        self.sup_password = _line("flow_supervisor_password", "主管密码", password=True)
        v.addWidget(self.sup_id)
        v.addWidget(self.sup_password)
        self.setTabOrder(self.sup_id, self.sup_password)
        self.sup_id.returnPressed.connect(self.sup_password.setFocus)
        self.sup_password.returnPressed.connect(self.submit)
        self.message = label("", "muted")
        self.message.setObjectName("flow_auth_message")
        v.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(self.action("授权并提交（Enter）", self.submit, "", "flow_auth_ok"))
        row.addWidget(self.action("取消（Esc）", self.cancel, "secondary", "flow_auth_cancel"))
        v.addLayout(row)
        v.addStretch(1)
        self.shortcuts = _shortcut(self, ("Esc",), self.cancel)

    def ask(self, flow, kind: str, amount_fen: Optional[int], reason: str, on_ok) -> None:
        from kiosk.domain.money import chinese_uppercase, format_yuan
        self.kind, self.amount_fen, self.on_ok = kind, amount_fen, on_ok
        who = flow.view().get("identity") or {}
        amount = f"\n金额：{format_yuan(amount_fen)}（{chinese_uppercase(amount_fen)}）" if amount_fen else ""
        self.what.setText(f"业务：{getattr(flow, 'title_zh', kind)}　客户：{who.get('name', '')} "
                          f"{who.get('id_number', '')}{amount}\n原因：{reason}")
        self.sup_id.clear()
        self.sup_password.clear()
        set_role(self.message, "muted")
        self.message.setText("请主管输入柜员号和密码，按回车授权；按 Esc 回到确认页面")
        self.shell.show_page(self)
        for b in (self.shell.back_btn, self.shell.home_btn):    # Esc goes back to the flow; 首页 would end it
            b.hide()
        self.sup_id.setFocus()

    def submit(self) -> None:
        sid, pw = self.sup_id.text().strip(), self.sup_password.text()
        self.sup_password.clear()
        mode, kind, amount = self.c.mode, self.kind, self.amount_fen

        def work():
            ok = mode.authorize(sid, pw, kind=kind, amount_fen=amount)
            mode.approve_next(ok)
            return ok

        def refused(exc: BaseException) -> None:
            set_role(self.message, "message")
            self.message.setText(error_text(exc))
            self.sup_password.setFocus()
        self.run("supervisor_authorize_flow", work, lambda ok: self._done(ok), refused)

    def _done(self, ok) -> None:
        on_ok, self.on_ok = self.on_ok, None
        self.c.last_result = f"主管 {ok.name}（{ok.supervisor_id}）已授权：{ok.reason}"
        if on_ok:
            on_ok()

    def cancel(self) -> None:
        self.on_ok = None
        self.c.mode.approve_next(None)
        self.shell.show_page(self.shell.service)

    def wipe(self) -> None:
        self.sup_id.clear()
        self.sup_password.clear()
        self.what.clear()
        self.on_ok = None


class CombinedLoanPage(StaffPage):
    """组合贷款 for the identified customer: the keyboard form, the split (the HPF maximum from the center), one
    schedule with both parts and the total per month (paged: PgUp/PgDn), then the application (F8)."""
    screen_name = "teller_combined"
    ROWS = 12

    def __init__(self, shell, controller: "TellerScreens"):
        super().__init__(shell)
        self.c = controller
        self.id_number = ""
        self.quote = None
        self.page_no = 0
        v = QVBoxLayout(self)
        v.setContentsMargins(24, 8, 24, 8)
        v.setSpacing(8)
        v.addWidget(label("组合贷款（公积金 + 商业贷款，一次申请）", "title"))
        self.customer = label("", "muted", align=LEFT)
        self.customer.setObjectName("combined_customer")
        v.addWidget(self.customer)
        form = QGridLayout()
        form.setSpacing(8)
        self.price = _line("combined_price", "房屋总价（元）")
        self.need = _line("combined_need", "贷款总额（元）")
        self.months = _line("combined_months", "期限（月）")
        self.first = _line("combined_first_home", "首套房 Y/N")
        self.method = _line("combined_method", "还款方式 1 等额本息 / 2 等额本金")
        self.first.setText("Y")
        self.method.setText("1")
        fields = [("房屋总价（元）", self.price), ("贷款总额（元）", self.need), ("期限（月）", self.months),
                  ("首套房 Y/N", self.first), ("1 等额本息 / 2 等额本金", self.method)]
        for i, (text, w) in enumerate(fields):
            form.addWidget(label(text, "muted", align=LEFT), 0, i)
            form.addWidget(w, 1, i)
        for i, stretch in enumerate((3, 3, 2, 2, 3)):
            form.setColumnStretch(i, stretch)
        v.addLayout(form)
        chain = [w for _t, w in fields]
        for a, b in zip(chain, chain[1:]):
            self.setTabOrder(a, b)
            a.returnPressed.connect(b.setFocus)
        self.method.returnPressed.connect(self.calculate)
        self.message = label("", "muted", align=LEFT)
        self.message.setObjectName("combined_message")
        v.addWidget(self.message)
        self.summary = label("", align=LEFT)
        self.summary.setObjectName("combined_summary")
        v.addWidget(self.summary)
        self.table_host = QWidget()
        self.table_host.setStyleSheet("QLabel { font-size: 16px; }")
        self.table = QGridLayout(self.table_host)
        self.table.setContentsMargins(0, 0, 0, 0)
        self.table.setHorizontalSpacing(16)
        self.table.setVerticalSpacing(2)
        v.addWidget(self.table_host)
        self.page_label = label("", "muted")
        self.page_label.setObjectName("combined_page")
        v.addWidget(self.page_label)
        v.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.action("试算（Enter）", self.calculate, "secondary", "combined_calc"))
        self.apply_btn = self.action("提交申请（F8）", self.apply, "", "combined_apply")
        self.apply_btn.setEnabled(False)
        row.addWidget(self.apply_btn)
        row.addWidget(self.action("结束（Esc）", self.finish, "secondary", "combined_end"))
        v.addLayout(row)
        self.shortcuts = (_shortcut(self, ("F8", "Ctrl+Return"), self.apply)
                          + _shortcut(self, ("PgDown",), lambda: self.turn(1))
                          + _shortcut(self, ("PgUp",), lambda: self.turn(-1))
                          + _shortcut(self, ("Esc",), self.finish))

    def open(self, id_number: str, masked: str) -> None:
        self.wipe()
        self.id_number = id_number
        self.customer.setText(f"客户：{masked}（已核验身份证和人脸）")
        set_role(self.message, "muted")
        self.message.setText("输入各项后按回车试算；公积金部分以中心核定的最高额度为限，其余为商业贷款")
        self.shell.show_page(self)
        self.price.setFocus()

    def _request(self):
        from kiosk.domain.money import parse_yuan
        from kiosk.staff.combined_loan import CombinedRequest
        try:
            months = int(self.months.text().strip())
        except ValueError:
            raise StaffError("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months not a number") from None
        first = self.first.text().strip().upper()
        if first not in ("Y", "N", "是", "否"):
            raise StaffError("LOAN_FIRST_HOME", "首套房请输入 Y 或 N", f"first home {first!r}")
        method = {"1": "01", "2": "02", "01": "01", "02": "02"}.get(self.method.text().strip())
        if method is None:
            raise StaffError("LOAN_METHOD", "还款方式请输入 1（等额本息）或 2（等额本金）", "method not 1/2")
        try:
            price, need = parse_yuan(self.price.text().strip()), parse_yuan(self.need.text().strip())
        except Exception as exc:
            raise StaffError(getattr(exc, "code", "AMOUNT_FORMAT"), "请输入正确的金额（元）", str(exc)) from None
        return CombinedRequest(self.id_number, price, need, months, first in ("Y", "是"), method)

    def calculate(self) -> None:
        from kiosk.staff.combined_loan import quote
        try:
            req = self._request()
        except StaffError as exc:
            return self._error(exc)
        mode = self.c.mode
        self.quote = None
        self.apply_btn.setEnabled(False)
        self.run("combined_quote", lambda: (mode.touch(), quote(mode.port, req, mode.limits))[1], self._quoted,
                 self._error)

    def _quoted(self, q) -> None:
        self.quote, self.page_no = q, 0
        self.apply_btn.setEnabled(True)
        view = q.view()
        h, c = view["parts"]
        from kiosk.domain.money import format_yuan
        top = q.hpf_decision.get("max_amount_fen")
        set_role(self.message, "")
        self.message.setText(f"公积金可贷最高额度 {format_yuan(int(top or 0))}（中心核定）　F8 提交申请　"
                             "PgUp/PgDn 翻页")
        self.summary.setText(f"{h['label']} {h['amount']}（{h['annual_rate']}）＋ {c['label']} {c['amount']}"
                             f"（{c['annual_rate']}）＝ {view['total']}　首月合计月供 {view['first_month_payment']}")
        self._render_page()

    def _render_page(self) -> None:
        from kiosk.domain.money import format_yuan
        while self.table.count():
            w = self.table.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        if self.quote is None:
            self.page_label.setText("")
            return
        rows = self.quote.rows()
        pages = max(1, (len(rows) + self.ROWS - 1) // self.ROWS)
        self.page_no = max(0, min(self.page_no, pages - 1))
        dates = any(r["due_date"] for r in rows)
        heads = ["期次"] + (["还款日"] if dates else []) + ["公积金月供", "商贷月供", "合计月供", "剩余本金合计"]
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for j, h in enumerate(heads):
            self.table.addWidget(label(h, "muted", wrap=False, align=right), 0, j)
        for i, r in enumerate(rows[self.page_no * self.ROWS:(self.page_no + 1) * self.ROWS], start=1):
            cells = [str(r["period"])] + ([r["due_date"] or ""] if dates else []) + [
                format_yuan(r["hpf_payment_fen"]), format_yuan(r["commercial_payment_fen"]),
                format_yuan(r["payment_fen"]), format_yuan(r["remaining_fen"])]
            for j, text in enumerate(cells):
                w = label(text, wrap=False, align=right)
                w.setObjectName("schedule_cell")
                self.table.addWidget(w, i, j)
        self.page_label.setText(f"第 {self.page_no + 1} / {pages} 页（共 {len(rows)} 期）")

    def turn(self, step: int) -> None:
        if self.quote is not None:
            self.page_no += step
            self._render_page()

    def apply(self) -> None:
        from kiosk.staff.combined_loan import apply
        if self.quote is None or self.busy:
            return self._error(StaffError("LOAN_NOT_QUOTED", "请先按回车试算，再提交申请", "apply before quote"))
        q, mode = self.quote, self.c.mode
        self.run("combined_apply", lambda: apply(mode, q), self._applied, self._error)

    def _applied(self, out) -> None:
        state = {"accepted": "中心已受理", "queued": "已受理，待联网确认", "rejected": "中心未受理",
                 "needs_review": "待工作人员核对"}.get(out.state, out.state)
        ok = out.state in ("accepted", "queued")
        set_role(self.message, "" if ok else "message")
        serial = out.result.get("serial") or out.client_id
        self.message.setText(f"组合贷款申请：{state}（{out.code}）　流水号 {serial}　经办柜员 {out.teller_id}"
                             f"　网点 {out.branch}" + ("" if ok else f"\n{out.message_zh}"))
        self.c.last_result = f"上一笔：组合贷款申请 {state}，流水号 {serial}"
        self.last_outcome = out
        if ok:
            self.quote = None
            self.apply_btn.setEnabled(False)

    def _error(self, exc: BaseException) -> None:
        set_role(self.message, "message")
        self.message.setText(error_text(exc))

    def finish(self) -> None:
        """The customer is done: the session ends (wiped) and the workbench comes back."""
        if self.busy:
            return
        t = self.terminal
        if t.session:
            t.end_session("finished")
        else:
            self.c.back_to_teller()

    def wipe(self) -> None:
        self.id_number, self.quote, self.page_no, self.last_outcome = "", None, 0, None
        for e in (self.price, self.need, self.months):
            e.clear()
        self.first.setText("Y")
        self.method.setText("1")
        for w in (self.customer, self.summary, self.message, self.page_label):
            w.clear()
        self._render_page()
        self.apply_btn.setEnabled(False)              # nothing to submit until 试算 gave a quote


class FlowKeys(QObject):
    """The teller's keyboard on the resident service pages (same pages, same flows): digits, '.', Backspace
    type into the active field (the on-screen pad's own signals); with no field active a digit picks the n-th
    choice shown; Tab moves to the next field; Enter presses the primary button (确定, 确认提交, 结束服务);
    PgDn/PgUp turn choice and table pages; Esc is the footer's 返回."""

    PRIMARY = ("submit", "action_confirm", "action_finish", "action_end")

    def __init__(self, shell, controller: "TellerScreens"):
        super().__init__(shell)
        self.shell, self.c = shell, controller
        page = shell.service
        keys = [(str(d), lambda d=str(d): self.digit(d)) for d in range(10)] + [
            (".", lambda: self.digit(".")), ("Backspace", self.backspace), ("Tab", self.next_field),
            ("Return", self.primary), ("Enter", self.primary), ("Esc", shell.go_back),
            ("PgDown", lambda: self.press("more_choices") or self.press("next_page")),
            ("PgUp", lambda: self.press("prev_page"))]
        self.shortcuts = []
        for k, fn in keys:
            self.shortcuts += _shortcut(page, (k,), lambda fn=fn: fn() if self.active() else None)

    def active(self) -> bool:
        return self.c.mode.session is not None and self.shell.stack.currentWidget() is self.shell.service

    def visible(self, prefix: str) -> list:
        QApplication.sendPostedEvents()       # buttons the page just re-rendered show at the next turn otherwise
        return [b for b in self.shell.service.findChildren(QPushButton)
                if b.objectName().startswith(prefix) and b.isVisible() and b.isEnabled()]

    def press(self, name: str) -> bool:
        b = next((b for b in self.visible(name) if b.objectName() == name), None)
        if b is None:
            return False
        b.click()
        return True

    def digit(self, d: str) -> None:
        page = self.shell.service
        if page.pad.isVisible():
            page.pad.digit.emit(d)
            return
        choices = self.visible("choice_")
        if d.isdigit() and 1 <= int(d) <= len(choices):
            choices[int(d) - 1].click()

    def backspace(self) -> None:
        if self.shell.service.pad.isVisible():
            self.shell.service.pad.backspace.emit()

    def next_field(self) -> None:
        fields = self.visible("input_")
        if not fields:
            return
        names = [b.objectName() for b in fields]
        cur = f"input_{self.shell.service.active}"
        i = (names.index(cur) + 1) % len(fields) if cur in names else 0
        fields[i].click()

    def primary(self) -> None:
        for name in self.PRIMARY:
            if self.press(name):
                return


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
        self.last_result = ""
        self.sign_in_page = TellerSignInPage(shell, self)
        self.page = TellerPage(shell, self)
        self.authorize_page = TellerAuthorizePage(shell, self)
        self.combined_page = CombinedLoanPage(shell, self)
        shell.service.guard = self.guard
        shell.bridge.add_target(self)
        self.flow_keys = FlowKeys(shell, self)
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
        self.authorize_page.wipe()
        self.combined_page.wipe()
        self.mode.approve_next(None)          # an approval never outlives the customer it was given for
        if self.mode.session is not None:
            self.page.open()
            self.shell.show_page(self.page)
        else:
            self.show_sign_in(self.sign_in_page.message.text() if self.sign_in_page.message.property("role")
                              == "message" else "")

    def pages(self) -> list:
        return [self.sign_in_page, self.page, self.authorize_page, self.combined_page]

    def on_event_network(self, online: bool, queued: int) -> None:
        if self.shell.stack.currentWidget() is self.page:
            self.page.rebuild_items()

    def on_event_catalog(self, catalog) -> None:
        self.on_event_network(True, 0)

    def back_to_teller(self) -> None:
        self.shell.show_page(self.shell.home)         # -> _page_changed -> the workbench (or the sign-in page)

    # --- for a customer: the same items and flows as the resident kiosk --------------------------------------
    def open_item(self, code: str) -> None:
        """A service item for the customer at the counter: the shell's own path (ID card and face, then the
        item's flow on the ServicePage); the desk stamps the transaction with the signed-in teller."""
        tile = next((t for t in self.shell.terminal.tiles() if t.code == code), None)   # available now?
        if self.mode.session is None or self.page.busy or tile is None or not tile.available:
            return
        self.last_result = ""
        self.mode.touch()
        log.info("teller %s opens %s for a customer", self.mode.session.teller_id, tile.code)
        self.shell.open_item(tile)

    def open_combined(self) -> None:
        """组合贷款: the customer is identified (ID card and face, L2) like for any item, then the loan page."""
        from kiosk.flows.home import Tile
        from kiosk.flows.identification import IdStep
        if self.mode.session is None or self.shell.stack.currentWidget() is not self.page or self.page.busy:
            return
        t = self.shell.terminal
        if t.starting or t.services is None:
            set_role(self.page.message, "message")
            self.page.message.setText("终端正在连接公积金中心，请稍候再办理（TERMINAL_STARTING）")
            self.page.message.setVisible(True)
            return
        self.mode.touch()
        t.start_session(Tile("loan_combined", "组合贷款", "Combined loan", 2, True, moves_money=False))
        flow = t.identify()
        self.shell.identify.bind(flow)

        def changed(f, old, new) -> None:
            if new is IdStep.VERIFIED and old is not IdStep.VERIFIED and t.session is not None:
                from kiosk.domain.masking import mask_id_number, mask_name
                doc = f.document
                self.combined_page.open(doc.id_number, f"{mask_name(doc.name)} {mask_id_number(doc.id_number)}")
        flow.subscribe(lambda f, old, new: QTimer.singleShot(0, lambda: changed(f, old, new)))
        self.shell.show_page(self.shell.identify)

    def guard(self, flow, method: str) -> bool:
        """ServicePage.guard: before 确认 of an action above the limit or marked sensitive, hold it until a
        supervisor signs in for it (then the flow goes on with the approval waiting in TellerMode)."""
        if method != "confirm" or self.mode.session is None:
            return True
        kind, amount = flow.code, flow_amount(flow)
        need = self.mode.authorization_needed(kind, amount)
        if not need:
            return True
        p = self.mode.pending
        if p is not None and not p.used and p.kind == kind and p.amount_fen == amount:
            return True

        def approved() -> None:
            self.shell.show_page(self.shell.service)
            if self.shell.service.flow is flow:
                self.shell.service.call("confirm")
        self.authorize_page.ask(flow, kind, amount, need, approved)
        return False

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
        if self.shell.terminal.session:             # the customer's data never stays behind the sign-in page
            self.shell.terminal.cancel_session()
        self.authorize_page.wipe()
        self.combined_page.wipe()
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
        if self.shell.service.guard == self.guard:
            self.shell.service.guard = None
        self.shell.bridge.remove_target(self)
        self.shell.stack.currentChanged.disconnect(self._page_changed)
        self.shell.app.removeEventFilter(self)
