"""Transfer-in (转移接续·转入): the resident's open cases and their status, and a new application."""
from __future__ import annotations

import logging
import re

from kiosk.flows.services.base import M, ServiceFlow, Svc
from kiosk.flows.services.desk import TxOutcome

log = logging.getLogger(__name__)
CENTER_CODE = re.compile(r"^[A-Z0-9]{6}$")
# Origin centers offered on screen: code = "C" + the first 5 digits of the city's administrative division code,
# the reference center's own convention (its code is C33080, 衢州). The national platform's BDC909 center-code
# list replaces this table when the center publishes it.
ORIGIN_CENTERS = [
    ("C33010", "杭州住房公积金管理中心"), ("C33020", "宁波市住房公积金管理中心"),
    ("C33030", "温州市住房公积金管理中心"), ("C33070", "金华市住房公积金管理中心"),
    ("C31000", "上海市公积金管理中心"), ("C11000", "北京住房公积金管理中心"),
    ("C32010", "南京住房公积金管理中心"), ("C44030", "深圳市住房公积金管理中心"),
    ("C36010", "南昌住房公积金管理中心"), ("C34010", "合肥住房公积金管理中心"),
]


class TransferInFlow(ServiceFlow):
    name = "transfer_in"
    code = "transfer_in"
    title_zh = "转移接续（转入）"
    title_en = "Transfer-in"
    level = 2

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.cases: list[dict] = []
        self.origin = ("", "")

    def _begin(self) -> None:
        idn = self.id_number
        self._show(Svc.LOADING, "status", M("LOADING", "正在查询转移接续业务，请稍候", "Loading"))
        self._run("transfers", lambda t: self.ctx.center.transfers(idn, t), self._loaded)

    def _loaded(self, cases: list[dict]) -> None:
        self.cases = cases
        self.table = {"columns": ["联系函编号", "转出地中心", "状态", "申请时间"],
                      "rows": [[c["letter_no"], c.get("from_center_name") or c["from_center"], c["status_zh"],
                                c["applied_at"][:10]] for c in cases], "page": 1, "pages": 1, "total": len(cases)}
        open_case = any(c["status"] == "2" for c in cases)
        self.notes = ["您有正在办理的转移接续业务，办结前不能再次申请"] if open_case else \
            ([] if cases else ["您没有转移接续业务记录"])
        self._show(Svc.SHOW, "status", actions=(["finish"] if open_case else ["apply", "finish"]))

    def apply(self) -> None:
        """The origin center is chosen from a list (big buttons: nothing to type on a kiosk); a center not listed
        is handled at the counter."""
        if self.state is not Svc.SHOW or any(c["status"] == "2" for c in self.cases):
            return
        self.table = None
        self.fields = []
        self.notes = ["转出地不在列表中的，请到服务大厅柜台办理"]
        self.choices = [{"id": code, "label": name} for code, name in ORIGIN_CENTERS]
        self._show(Svc.INPUT, "origin", M("PROMPT_ORIGIN", "请选择转出地公积金中心（您原来缴存公积金的城市）",
                                          "Please choose the origin center"), actions=["choose_origin", "back"])

    def choose_origin(self, code: str) -> None:
        """One of the offered origin centers (its code and name go into the 联系函)."""
        if self.state is not Svc.INPUT or self.step != "origin":
            return
        name = dict(ORIGIN_CENTERS).get(str(code))
        if name is None:
            return self._go(Svc.INPUT, M("TRANSFER_CENTER_CODE", "请选择列表中的转出地中心", f"origin {code!r} not offered"))
        self.submit_origin(code, name)

    def back(self) -> None:
        """From the origin list or the confirmation back to the resident's transfer cases."""
        if self.state in (Svc.INPUT, Svc.CONFIRM) and self.step in ("origin", "confirm"):
            self.choices, self.notes, self.fields = [], [], []
            self._loaded(self.cases)

    def submit_origin(self, code: str, name: str = "") -> None:
        """The origin by its 6-character center code (staff / API callers; the screen offers choose_origin)."""
        if self.state is not Svc.INPUT:
            return
        code = (code if isinstance(code, str) else "").strip().upper()
        if not CENTER_CODE.match(code):
            return self._go(Svc.INPUT, M("TRANSFER_CENTER_CODE", "转出地中心代码应为6位字母或数字", f"bad code {code!r}"))
        self.origin = (code, (name if isinstance(name, str) else "").strip()[:64])
        self.inputs, self.choices, self.notes = [], [], []
        self.fields = [("转出地中心", self.origin[1] or "—"), ("转出地中心代码", code)]
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对转出地信息，确认后提交申请",
                                             "Please check, then submit"), actions=["confirm", "back"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        self._submit("transfer_in", {"id_number": self.id_number, "from_center": self.origin[0],
                                     "from_center_name": self.origin[1]}, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        r = outcome.result
        serial = r.get("letter_no") or outcome.client_id
        status = r.get("status_zh") or outcome.status_line
        receipt = self._receipt("转移接续（转入）申请", serial=serial, status_line=f"已受理，{status}",
                                fields=list(self.fields), notes=["可凭联系函编号查询办理进度"],
                                client_id=outcome.client_id, qr=f"progress:{serial}")
        self.fields = self.fields + [("联系函编号", serial), ("状态", status)]
        self._print_receipt(receipt)
