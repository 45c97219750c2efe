"""The resident service screens: one ServicePage renders any kiosk.flows.services flow from its plain-data view()
(title, masked fields, amounts in figures and in Chinese capital numerals, choices as big buttons, a paged table,
inputs through the on-screen keypad, confirm/cancel, the refusal in plain words, the receipt text, 好差评).

The page never calls devices or the network: every button calls one flow method; the flow runs device and
center work on its Tasks workers and the result comes back on the Qt thread through the bridge's post hook,
when the flow's change listener re-renders the page. wipe() removes every dynamic widget (names, masked IDs,
cards, amounts): nothing personal is left in the widget tree after the session.

Texts of this page are bilingual pairs (TEXTS) chosen by the terminal's language; the flows' own labels are
Chinese (the fund's documents are)."""
from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Optional

from screens import theme
from screens.qt import (QFrame, QGridLayout, QHBoxLayout, QProgressBar, QPushButton, QScrollArea,
                        QSizePolicy, Qt, QTimer, QVBoxLayout, QWidget)
from screens.pages import Page
from screens.widgets import CardGuide, KeyPad, button, label

log = logging.getLogger(__name__)

TEXTS = {
    "confirm": ("确认提交", "Confirm"), "back": ("上一步", "Back"), "finish": ("完成", "Done"),
    "cancel": ("取消办理", "Cancel"), "reprint": ("补打", "Reprint"), "skip_receipt": ("不要凭条", "No receipt"),
    "deposits": ("缴存明细", "Deposit details"), "loans": ("贷款信息", "Loans"), "menu": ("返回目录", "Menu"),
    "show_guides": ("办事指南", "Guides"), "apply": ("申请转入", "Apply"), "resend": ("重新发送", "Resend code"),
    "calculate": ("开始试算", "Calculate"), "submit": ("确定", "OK"), "prev_page": ("上一页", "Previous"),
    "next_page": ("下一页", "Next"), "more": ("更多选项", "More options"), "end": ("结束服务", "End"),
    "yes": ("是", "Yes"), "no": ("否", "No"), "dot": ("．小数点", ". Decimal point"), "clear": ("清空", "Clear"),
    "rate": ("请对本次服务评价", "Please rate this service"), "thanks": ("感谢您的评价", "Thank you for rating"),
    "receipt": ("回单内容", "Receipt"), "busy": ("正在办理，请稍候…", "Working, please wait…"),
    "refused": ("未能办理", "Not accepted"), "failed": ("暂时无法办理", "Cannot be done now"),
    "done": ("办理完成", "Done"), "canceled": ("已取消", "Canceled"),
    "refused_en": ("", "The fund center did not accept this item. The reason, in Chinese:"),
    "failed_en": ("", "This item cannot be completed now. The reason, in Chinese:"),
    "scan": ("扫描回单二维码", "Scan the receipt's QR code"),
    "page": ("第 {p} / {n} 页", "Page {p} of {n}"), "empty": ("（请用右侧数字键输入）", "(use the keypad on the right)"),
}

ACTION_METHODS = {"deposits": "show_deposits", "loans": "show_loans"}
CHOICE_ACTIONS = ("choose_loan", "choose_year", "choose_mode", "choose_months", "show_method", "open",
                  "show_guide", "rate", "choose_kind", "choose_origin")
SUBMIT_ACTIONS = ("submit_evidence", "enter_amount", "calculate", "submit_phone", "submit_code",
                  "submit_password", "submit_terms", "submit_serial", "submit_origin")
HIDDEN_ACTIONS = ("evaluate",) + CHOICE_ACTIONS + ("prev_page", "next_page")
INFO_CODES = ("PROMPT", "LOADING", "CHECKING", "SUBMITTING", "PRINTING", "DONE", "SMS_SENT", "EVAL_THANKS")
MAX_LEN = {"amount": 12, "int": 3, "digits6": 6, "pin6": 6, "phone": 11, "date": 8, "percent": 5, "text": 20}
DOT_KINDS = ("amount", "percent")
CHOICES_PER_PAGE = {False: 9, True: 4}
CHOICE_COLS = {False: 3, True: 2}
SECTIONS = ("outcome", "card", "fields", "amounts", "table", "choices", "inputs", "notes", "receipt", "evaluation")


def _clear(layout) -> None:
    """Remove and delete every widget and sub-layout (detached at once, so no text stays findable)."""
    while layout.count():
        item = layout.takeAt(0)
        w = item.widget()
        if w is not None:
            w.hide()
            w.setParent(None)
            w.deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())


class ServicePage(Page):
    screen_name = "service"

    def __init__(self, shell):
        super().__init__(shell)
        self.flow = None
        self._unsub: Optional[Callable[[], None]] = None
        self.guard: Optional[Callable[..., bool]] = None     # teller mode: guard(flow, method) False holds it
        self.values: dict[str, Any] = {}
        self.active = ""
        self._inputs_key: tuple = ()
        self.choice_page = 0
        self._choices_key: tuple = ()
        v = QVBoxLayout(self)
        v.setContentsMargins(32, 10, 32, 10)
        v.setSpacing(8)
        self.title = label(role="title")
        self.title.setObjectName("service_title")
        self.prompt = label()
        self.prompt.setObjectName("service_prompt")
        self.message = label(role="message")
        self.message.setObjectName("service_message")
        for w in (self.title, self.prompt, self.message):
            v.addWidget(w)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body_host = QWidget()
        self.body_host.setObjectName("page")
        self.body = QVBoxLayout(self.body_host)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(12)
        self.scroll.setWidget(self.body_host)
        # The body is a fixed column of sections; a section is rebuilt only when what it shows changed (a page
        # turn relabels the table's cells and leaves the rest alone: screen changes stay cheap).
        self._sections: dict[str, QWidget] = {}
        self._keys: dict[str, Any] = {}
        for name in SECTIONS:
            if name == "table":
                self._build_table_host()
                continue
            sec = QWidget()
            lay = QVBoxLayout(sec)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(12)
            sec.hide()
            self._sections[name] = sec
            self.body.addWidget(sec)
        self.body.addStretch(1)
        self._root_body = self.body
        main = QHBoxLayout()
        main.setSpacing(24)
        main.addWidget(self.scroll, 1)
        # The on-screen keypad stays beside the scrolling body (never scrolled away); made once, relabelled.
        self._kinds: dict[str, str] = {}
        self.pad = KeyPad()
        self.pad.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.pad.digit.connect(lambda d: self._type(d, self._kinds))
        self.pad.backspace.connect(lambda: self._edit(lambda s: s[:-1]))
        self.pad.clear.connect(lambda: self._edit(lambda s: ""))
        self.pad.hide()
        main.addWidget(self.pad, 0, Qt.AlignmentFlag.AlignTop)
        v.addLayout(main, 1)
        v.addWidget(self.table_nav)                    # 上一页/下一页 always in view, care mode too (never scrolled away)
        busy = QHBoxLayout()
        self.busy_label = label(role="muted", wrap=False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        busy.addWidget(self.busy_label)
        busy.addWidget(self.progress, 1)
        v.addLayout(busy)
        self.actions = QHBoxLayout()
        self.actions.setSpacing(12)
        v.addLayout(self.actions)

    # --- helpers ----------------------------------------------------------------------------------------------
    def t(self, key: str) -> str:
        zh, en = TEXTS[key]
        return en if self.lang == "en" else zh

    @property
    def care(self) -> bool:
        return self.terminal.care_mode

    def call(self, method: str, *args, **kw) -> None:
        """One resident action: the flow method of that name (the flow ignores it in a state it does not fit)."""
        flow = self.flow
        if flow is None:
            return
        self.terminal.touch()
        if self.guard is not None and self.guard(flow, method) is False:
            return
        fn = getattr(flow, ACTION_METHODS.get(method, method), None)
        if fn is None:
            log.warning("service %s has no action %s", flow.code, method)
            return
        fn(*args, **kw)

    # --- binding ---------------------------------------------------------------------------------------------
    def bind(self, flow) -> None:
        self.wipe()
        self.flow = flow
        self._unsub = flow.subscribe(lambda f, old, new: self.render())
        self.render()

    def retranslate(self) -> None:
        self._inputs_key = self._inputs_key     # keep what was typed
        self.render()

    def back(self) -> bool:
        """The footer's 返回: one step back inside the item when the flow offers it."""
        flow = self.flow
        if flow is not None and "back" in flow.view()["actions"]:
            self.call("back")
            return True
        return False

    # --- rendering -------------------------------------------------------------------------------------------
    def render(self) -> None:
        flow = self.flow
        if flow is None:
            return
        view = flow.view()
        lang, state = self.lang, view["state"]
        self.title.setText(view["title_en"] if lang == "en" else view["title"])
        msg = view["message"]
        info = msg is not None and msg["code"].startswith(INFO_CODES)
        final_bad = state in ("refused", "failed")
        self.prompt.setText((msg["en"] if lang == "en" else msg["zh"]) if info else "")
        self.prompt.setVisible(bool(self.prompt.text()))
        self.message.setText(msg["zh"] if msg is not None and not info and not final_bad else "")
        self.message.setVisible(bool(self.message.text()))
        working = bool(view["busy"]) or state in ("loading", "submitting", "printing")
        self.progress.setVisible(working)
        self.busy_label.setText(self.t("busy") if working else "")
        _clear(self.actions)
        self.pad.hide()
        if state == "canceled":
            return self._clear_sections()
        ctx = (lang, self.care)
        self._section("outcome", (state, msg, ctx) if final_bad else None, lambda: self._outcome_panel(state, msg))
        self._section("card", state == "read_card" or None, self._card_guide)
        self._section("fields", (view["fields"], ctx), lambda: self._fields(view["fields"]))
        self._section("amounts", (view["amounts"], ctx), lambda: self._amounts(view["amounts"]))
        self._table(view["table"], view["actions"])
        self._section("choices", (view["item"], view["step"], view["choices"], view["actions"], self.choice_page,
                                  ctx), lambda: self._choices(view))
        self._section("inputs", (view["item"], view["step"], view["inputs"], view["actions"], view["busy"],
                                 dict(self.values), self.active, ctx), lambda: self._inputs(view))
        self._section("notes", (view["notes"], ctx), lambda: [
            self.body.addWidget(label(n, "muted", align=Qt.AlignmentFlag.AlignLeft)) for n in view["notes"]])
        self._section("receipt", (view["receipt"], ctx), lambda: self._receipt(view["receipt"]))
        self._section("evaluation", (view["evaluation"], view["state"], ctx), lambda: self._evaluation(view))
        self.pad.set_layout(view.get("pad_layout") or list("1234567890"))     # scrambled for a password
        if self.active and view["inputs"] and self._submit_method(view):
            self.pad.clear_key.setText(self.t("clear"))
            self.pad.show()
        self._action_bar(view)

    def _section(self, name: str, key: Any, build: Callable[[], Any]) -> None:
        """(Re)build one body section when its key changed; a None key empties it."""
        key = None if key is None else repr(key)
        if self._keys.get(name, "?") == key:
            return
        self._keys[name] = key
        sec = self._sections[name]
        _clear(sec.layout())
        if key is not None:
            saved, self.body = self.body, sec.layout()
            try:
                build()
            finally:
                self.body = saved
        sec.setVisible(sec.layout().count() > 0)

    def _clear_sections(self) -> None:
        for name, sec in self._sections.items():
            _clear(sec.layout())
            sec.hide()
        self._keys = {}
        self._table(None, [])

    def _card_guide(self) -> None:
        guide = CardGuide("bank")
        guide.setMinimumHeight(220)
        self.body.addWidget(guide)

    def _outcome_panel(self, state: str, msg: Optional[dict]) -> None:
        box = QFrame()
        box.setObjectName("dialog")
        bv = QVBoxLayout(box)
        bv.addWidget(label(self.t(state), "title"))
        if self.lang == "en":
            bv.addWidget(label(self.t(f"{state}_en"), "muted"))
        reason = label(msg["zh"] if msg else "", "message")
        reason.setObjectName("refusal")
        bv.addWidget(reason)
        if msg and msg.get("code"):
            bv.addWidget(label(f"({msg['code']})", "muted"))
        self.body.addWidget(box)

    def _fields(self, fields: list[dict]) -> None:
        if not fields:
            return
        host = QWidget()
        grid = QGridLayout(host)
        grid.setHorizontalSpacing(24)
        grid.setContentsMargins(0, 0, 0, 0)
        cols = 1 if self.care or len(fields) < 4 else 2
        for i, f in enumerate(fields):
            r, c = divmod(i, cols)
            grid.addWidget(label(f"{f['label']}：", "muted", wrap=False,
                                 align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), r, 2 * c)
            val = label(str(f["value"]), align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            val.setObjectName("field_value")
            grid.addWidget(val, r, 2 * c + 1)
            grid.setColumnStretch(2 * c + 1, 1)
        self.body.addWidget(host)

    def _amounts(self, amounts: list[dict]) -> None:
        """Each amount in figures and in Chinese capital numerals; several side by side in normal mode."""
        if not amounts:
            return
        host = QWidget()
        grid = QGridLayout(host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(10)
        cols = 1 if self.care or len(amounts) <= 2 else 3
        for i, a in enumerate(amounts):
            box = QFrame()
            box.setObjectName("dialog")
            h = QVBoxLayout(box)
            h.setContentsMargins(16, 6, 16, 6)
            h.setSpacing(2)
            if cols == 1:
                fig = label(f"{a['label']}：{a['figures']}", "ok", align=Qt.AlignmentFlag.AlignLeft)
            else:
                h.addWidget(label(a["label"], "muted", align=Qt.AlignmentFlag.AlignLeft))
                fig = label(a["figures"], "ok", align=Qt.AlignmentFlag.AlignLeft)
            fig.setObjectName("amount_figures")
            words = label(a["words"], align=Qt.AlignmentFlag.AlignLeft)
            words.setObjectName("amount_words")
            h.addWidget(fig)
            h.addWidget(words)
            grid.addWidget(box, i // cols, i % cols)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        self.body.addWidget(host)

    def _build_table_host(self) -> None:
        self.table_box = QFrame()
        self.table_box.setObjectName("dialog")
        self.table_grid = QGridLayout(self.table_box)
        self.table_grid.setHorizontalSpacing(18)
        self.table_grid.setVerticalSpacing(4)
        self._cells: dict[tuple[int, int], Any] = {}
        self.table_nav = QWidget()
        nav = QHBoxLayout(self.table_nav)
        nav.setContentsMargins(0, 0, 0, 0)
        self.prev_btn = button("", "secondary", lambda: self.call("prev_page"), name="prev_page")
        self.next_btn = button("", "secondary", lambda: self.call("next_page"), name="next_page")
        self.page_label = label(role="muted")
        nav.addWidget(self.prev_btn)
        nav.addWidget(self.page_label, 1)
        nav.addWidget(self.next_btn)
        for w in (self.table_box, self.table_nav):
            w.hide()
        self.body.addWidget(self.table_box)            # the page turns sit under the scroll area (see __init__)

    def _table(self, table: Optional[dict], actions: list[str]) -> None:
        """A paged table: a pool of cell labels, relabelled on every page (never re-created)."""
        rows = [list(table["columns"])] + [list(r) for r in table["rows"]] if table else []
        for (r, c), cell in self._cells.items():
            if r >= len(rows) or c >= len(rows[r]):
                cell.clear()
                cell.hide()
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                cell = self._cells.get((r, c))
                if cell is None:
                    cell = self._cells[(r, c)] = label(role="muted" if r == 0 else "", wrap=False)
                    self.table_grid.addWidget(cell, r, c)
                cell.setText(str(text))
                cell.show()
        self.table_box.setVisible(bool(table))
        pages = (table.get("pages") or 1) if table else 1
        show_nav = bool(table) and (pages > 1 or "prev_page" in actions)
        self.table_nav.setVisible(show_nav)
        page = (table.get("page") or 1) if table else 1
        self.prev_btn.setText(self.t("prev_page"))
        self.next_btn.setText(self.t("next_page"))
        self.prev_btn.setEnabled(page > 1)
        self.next_btn.setEnabled(page < pages)
        self.page_label.setText(self.t("page").format(p=page, n=pages) if show_nav else "")
        turned = (id(table), page, self.care) if show_nav else None
        if turned and turned != getattr(self, "_turned", None):   # a page turn: bring the rows into view
            QTimer.singleShot(0, lambda: self.table_box.isVisible()
                              and self.scroll.verticalScrollBar().setValue(self.table_box.y()))
        self._turned = turned

    def _choice_method(self, view: dict) -> Optional[str]:
        for a in CHOICE_ACTIONS:
            if a in view["actions"]:
                return a
        if hasattr(self.flow, "choose_reason") and view["step"] == "reason":
            return "choose_reason"
        return None

    def _choices(self, view: dict) -> None:
        choices, method = view["choices"], self._choice_method(view)
        if not choices or method is None:
            return
        key = (view["item"], view["step"], tuple(str(c["id"]) for c in choices))
        if key != self._choices_key:
            self._choices_key, self.choice_page = key, 0
        per = CHOICES_PER_PAGE[self.care]
        pages = max(1, -(-len(choices) // per))
        self.choice_page = min(self.choice_page, pages - 1)
        shown = choices[self.choice_page * per:(self.choice_page + 1) * per]
        host = QWidget()
        grid = QGridLayout(host)
        grid.setSpacing(14)
        grid.setContentsMargins(0, 0, 0, 0)
        cols = CHOICE_COLS[self.care]
        for i, c in enumerate(shown):
            b = button(str(c["label"]), "", lambda cid=c["id"]: self.call(method, cid), name=f"choice_{c['id']}")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(theme.metrics(self.care).target_px + 10)
            grid.addWidget(b, i // cols, i % cols)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        self.body.addWidget(host)
        if pages > 1:
            more = button(f"{self.t('more')}（{self.choice_page + 1}/{pages}）", "secondary",
                          self._next_choice_page, name="more_choices")
            self.body.addWidget(more)

    def _next_choice_page(self) -> None:
        self.choice_page += 1
        per = CHOICES_PER_PAGE[self.care]
        if self.choice_page * per >= len(self.flow.view()["choices"]):
            self.choice_page = 0
        self.render()

    # --- inputs through the on-screen keypad ------------------------------------------------------------------
    def _submit_method(self, view: dict) -> Optional[str]:
        return next((a for a in SUBMIT_ACTIONS if a in view["actions"]), None)

    def _inputs(self, view: dict) -> None:
        inputs, method = view["inputs"], self._submit_method(view)
        if not inputs or method is None:
            return
        key = (view["item"], view["step"], tuple(i["name"] for i in inputs))
        if key != self._inputs_key:
            self._inputs_key = key
            self.values = {i["name"]: (i["value"] if isinstance(i["value"], bool) else str(i["value"] or ""))
                           for i in inputs}
            self.active = next((i["name"] for i in inputs if i["kind"] not in ("bool", "choice")), "")
        row = QHBoxLayout()
        left = QVBoxLayout()
        form = QGridLayout()                  # label beside its field: every field in view, care mode too
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        for i, spec in enumerate(inputs):
            form.addWidget(label(spec["label"], "muted", align=Qt.AlignmentFlag.AlignRight
                                 | Qt.AlignmentFlag.AlignVCenter), i, 0)
            form.addWidget(self._input_button(spec), i, 1)
        form.setColumnStretch(1, 2)
        form.setColumnStretch(0, 1)
        left.addLayout(form)
        left.addStretch(1)
        row.addLayout(left, 1)
        self._kinds = kinds = {i["name"]: i["kind"] for i in inputs}
        if self.active:
            if kinds.get(self.active) in DOT_KINDS:
                left.insertWidget(left.count() - 1, button(self.t("dot"), "secondary",
                                                           lambda: self._type(".", kinds), name="key_dot"))
            self.pad.clear_key.setText(self.t("clear"))
            self.pad.show()
        self.body.addLayout(row)

    def _input_button(self, spec: dict) -> QPushButton:
        name, kind = spec["name"], spec["kind"]
        value = self.values.get(name, "")
        if kind == "bool":
            on = value is True or str(value).lower() in ("1", "true", "yes", "是")
            yes, no = self.t("yes"), self.t("no")
            b = button(f"● {yes}　○ {no}" if on else f"○ {yes}　● {no}", "secondary",
                       lambda: self._set(name, not on), name=f"input_{name}")
        elif kind == "choice":
            opts = spec.get("choices") or []
            cur = next((o for o in opts if str(o["id"]) == str(value)), opts[0] if opts else None)
            nxt = opts[(opts.index(cur) + 1) % len(opts)] if cur else None
            b = button(cur["label"] if cur else "", "secondary",
                       lambda: nxt and self._set(name, str(nxt["id"])), name=f"input_{name}")
        else:
            shown = "●" * len(value) if kind == "pin6" else (self._date_text(value) if kind == "date" else value)
            b = button(("▶ " if name == self.active else "") + (shown or self.t("empty")),
                       "" if name == self.active else "secondary", lambda: self._activate(name),
                       name=f"input_{name}")
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return b

    @staticmethod
    def _date_text(v: str) -> str:
        return "-".join(p for p in (v[:4], v[4:6], v[6:8]) if p)

    def _activate(self, name: str) -> None:
        self.active = name
        self.render()

    def _set(self, name: str, value: Any) -> None:
        self.values[name] = value
        self.terminal.touch()
        self.render()

    def _type(self, ch: str, kinds: dict) -> None:
        kind = kinds.get(self.active, "text")
        cur = str(self.values.get(self.active, ""))
        if ch == "." and (kind not in DOT_KINDS or "." in cur):
            return
        if len(cur) >= MAX_LEN.get(kind, 20):
            return
        self._edit(lambda s: s + ch)

    def _edit(self, change: Callable[[str], str]) -> None:
        if self.active:
            self._set(self.active, change(str(self.values.get(self.active, ""))))

    def type_text(self, name: str, text: str) -> None:
        """What pressing the keypad keys for `text` in field `name` does (tests, the demo panel)."""
        self.active = name
        self.values[name] = ""
        for ch in text:
            self._type(ch, {i["name"]: i["kind"] for i in self.flow.view()["inputs"]})

    def _submit(self, method: str) -> None:
        view = self.flow.view()
        vals = []
        for spec in view["inputs"]:
            v = self.values.get(spec["name"], "")
            if spec["kind"] == "date" and isinstance(v, str) and len(v) == 8:
                v = self._date_text(v)
            vals.append(v)
        fn = getattr(self.flow, method)
        params = list(inspect.signature(fn).parameters)
        if params and params[0] == "values":
            self.call(method, {s["name"]: v for s, v in zip(view["inputs"], vals)})
        else:
            self.call(method, *vals[:len(params)])

    # --- end of the item ---------------------------------------------------------------------------------------
    def _receipt(self, lines: list[str]) -> None:
        if not lines:
            return
        box = QFrame()
        box.setObjectName("dialog")
        bv = QVBoxLayout(box)
        bv.addWidget(label(self.t("receipt"), "muted", align=Qt.AlignmentFlag.AlignLeft))
        for line in lines:
            w = label(line, align=Qt.AlignmentFlag.AlignLeft)
            w.setObjectName("receipt_line")
            bv.addWidget(w)
        self.body.addWidget(box)

    def _evaluation(self, view: dict) -> None:
        ev = view["evaluation"]
        if ev["status"]:
            self.body.addWidget(label(self.t("thanks"), "muted"))
            return
        if not ev["offered"]:
            return
        self.body.addWidget(label(self.t("rate"), "muted"))
        host = QWidget()
        grid = QGridLayout(host)
        grid.setContentsMargins(0, 0, 0, 0)
        choices = ev["choices"] if not self.care else [c for c in ev["choices"] if c["id"] in (5, 3, 1)]
        for i, c in enumerate(choices):
            grid.addWidget(button(c["label"], "secondary", lambda s=c["id"]: self.call("evaluate", s),
                                  name=f"evaluate_{c['id']}"), 0, i)
        self.body.addWidget(host)

    def _action_bar(self, view: dict) -> None:
        """The item's actions, always in view under the scrolling body (the keypad's 确定 first)."""
        state = view["state"]
        method = self._submit_method(view)
        if view["inputs"] and method is not None:
            submit = button(self.t("calculate") if method == "calculate" else self.t("submit"), "",
                            lambda: self._submit(method), name="submit")
            submit.setEnabled(not view["busy"])
            self.actions.addWidget(submit)
        for a in view["actions"]:
            if a in HIDDEN_ACTIONS or a in SUBMIT_ACTIONS and view["inputs"] or a not in TEXTS:
                continue
            if a == "calculate":
                continue
            role = "secondary" if a in ("cancel", "back", "skip_receipt") else ""
            self.actions.addWidget(button(self.t(a), role, lambda a=a: self._action(a), name=f"action_{a}"))
        follow = view.get("follow_up") if state == "done" else None     # the next item, same visit, same identity
        if follow:
            self.actions.addWidget(button(follow["label"], "", lambda c=follow["code"]: self.shell._open_service(c),
                                          name="action_follow_up"))
        if state in ("done", "refused", "failed"):
            self.actions.addStretch(1)
            self.actions.addWidget(button(self.t("end"), "", self.shell.finish_session, name="action_end"))

    def _action(self, name: str) -> None:
        if name == "cancel":
            return self.shell.go_home()
        self.call(name)

    def wipe(self) -> None:
        if self._unsub:
            self._unsub()
            self._unsub = None
        self.flow = None
        self.values, self.active, self._inputs_key, self._choices_key = {}, "", (), ()
        self._clear_sections()
        _clear(self.actions)
        self.pad.hide()
        for w in (self.title, self.prompt, self.message, self.busy_label):
            w.clear()
        self.progress.hide()
