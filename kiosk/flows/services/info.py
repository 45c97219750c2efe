"""Information without identification (guides, notices, FAQ, the 12329 hotline — from the cached catalog,
readable offline), the progress query by serial number, and a stand-alone service evaluation (好差评)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from kiosk.domain.money import format_yuan
from kiosk.flows.ports import PortError
from kiosk.flows.services.base import EVALUATION_CHOICES, M, ServiceFlow, Svc, as_int
from kiosk.flows.services.desk import TxOutcome

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing_time(iso: str) -> str:
    """The center's UTC timestamp as the resident reads a time: Beijing time, to the minute."""
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso or "")[:16]
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

# Used when the center's catalog carries no guide text for an item (what to bring, who may apply).
GUIDES = {
    "withdrawal": "本人身份证、本人银行卡；按提取原因提供购房合同、租房合同、医疗费用票据等材料。账户冻结或贷款逾期时不能提取。",
    "flexible_open": "年满16周岁且未达法定退休年龄；本人身份证、本人银行卡；缴存比例和基数在本市规定范围内自选。",
    "deposit": "已签订灵活就业缴存协议；按协议月缴存额从签约银行卡扣款。",
    "loan_calc": "输入贷款金额和期限，可比较等额本息和等额本金两种还款方式，结果仅供参考。",
    "loan_preapply": "连续足额缴存满规定月数；本人身份证；可贷额度按余额倍数、房价和还款能力测算。",
    "loan_prepayment": "至少正常还款一期，贷款无逾期；可选择缩短期限或减少月供，也可全部结清。",
    "payoff_certificate": "贷款已全部结清；本人身份证。证明可凭验证码核验真伪。",
    "deposit_use_certificate": "用于异地贷款；本人身份证。证明自开具之日起2个月内有效。",
    "transfer_in": "在新就业地已开立公积金账户；原账户已封存；提供转出地中心名称。",
    "phone_change": "本人身份证并通过人脸核验；新手机号码接收验证码。",
    "progress_query": "输入回单上的业务流水号或联系函编号。",
}
FAQ = [
    ("忘记公积金查询密码怎么办？", "请携带本人身份证到服务大厅柜台重置。"),
    ("离线时办理的业务何时生效？", "回单注明“已受理，待联网确认”的业务，将在网络恢复后自动上传公积金中心审核，可凭流水号查询结果。"),
    ("凭条没有打印出来怎么办？", "可在本机点击“补打”，或到柜台凭流水号补打。"),
    ("如何核验证明真伪？", "使用证明上的验证码或扫描二维码，在公积金中心网站核验。"),
]

# Nearby service points. The catalog (sync.protocol.Catalog) has no field for them yet, so they ship with the
# terminal's software; they belong in the catalog once the wire contract carries them.
SERVICE_POINTS = [
    ("衢州市住房公积金中心服务大厅", "柯城区荷花中路（演示地址）", "工作日 8:30-17:00"),
    ("柯城区便民服务中心公积金窗口", "柯城区府山街道（演示地址）", "工作日 9:00-17:00"),
    ("航埠镇丰收驿站自助服务点", "航埠镇（演示地址）", "每天 8:00-20:00"),
]


class InfoFlow(ServiceFlow):
    name = "info"
    code = "guide"
    title_zh = "办事指南"
    title_en = "Service guides"
    level = 0

    def _catalog(self):
        return self.ctx.catalog()

    def _begin(self) -> None:
        self.menu()

    def menu(self) -> None:
        self.fields, self.table, self.notes = [], None, []
        cat = self._catalog()
        self.choices = [{"id": "guides", "label": "办事指南"}, {"id": "notices", "label": "通知公告"},
                        {"id": "faq", "label": "常见问题"}, {"id": "hotline", "label": "服务热线"},
                        {"id": "points", "label": "附近服务网点"}]
        if cat is None:
            self.notes = ["尚未从公积金中心获取业务目录，仅显示本机内容"]
        self._show(Svc.SHOW, "menu", actions=["open", "finish"])

    def open(self, what: str) -> None:
        if self.state is not Svc.SHOW:
            return
        {"guides": self.show_guides, "notices": self.show_notices, "faq": self.show_faq,
         "hotline": self.show_hotline, "points": self.show_points}.get(what, lambda: None)()

    def show_guides(self) -> None:
        cat = self._catalog()
        items = [i for i in (cat.items if cat else []) if i.enabled]
        self.choices = [{"id": i.code, "label": i.name_zh} for i in items] or \
            [{"id": c, "label": c} for c in GUIDES]
        self.table, self.fields, self.notes = None, [], []
        self._show(Svc.SHOW, "guides", actions=["show_guide", "menu", "finish"])

    def show_guide(self, code: str) -> None:
        cat = self._catalog()
        item = next((i for i in (cat.items if cat else []) if i.code == code), None)
        text = (item.guide_zh if item else "") or GUIDES.get(code, "请咨询服务大厅工作人员或拨打12329服务热线。")
        name = item.name_zh if item else code
        levels = {0: "无需身份核验", 1: "身份证", 2: "身份证+人脸识别", 3: "身份证+人脸识别+银行卡或短信验证码"}
        self.fields = [("业务", name)]
        # the center's guide is one "所需材料：…" line per heading; older catalogs send plain text
        parts = [line.split("：", 1) for line in text.splitlines() if line.strip()]
        if parts and all(len(p) == 2 and 0 < len(p[0]) <= 6 for p in parts):
            self.fields += [(k.strip(), v.strip()) for k, v in parts]
        else:
            self.fields.append(("办理须知", text))
        if item is not None:
            self.fields.append(("身份核验", levels.get(item.identity_level, "")))
            self.fields.append(("办理渠道", "需联网办理" if item.offline_policy.value == "online_only"
                                else "网络中断时可离线受理" if item.offline_policy.value == "store_and_forward"
                                else "本机即可办理"))
        self._show(Svc.SHOW, "guide", actions=["show_guides", "menu", "finish"])

    def show_notices(self) -> None:
        cat = self._catalog()
        today = self.ctx.today().isoformat()
        anns = [a for a in (cat.announcements if cat else []) if not a.valid_until or a.valid_until >= today]
        # title beside its text (the text wraps): long notices stay readable in care mode, never scrolled sideways
        self.table = None
        self.fields = [(a.title_zh, a.body_zh) for a in anns]
        self.notes = [] if anns else ["暂无通知公告"]
        self._show(Svc.SHOW, "notices", actions=["menu", "finish"])

    def show_faq(self) -> None:
        self.table = None
        self.fields = [(q, a) for q, a in FAQ]
        self.notes = []
        self._show(Svc.SHOW, "faq", actions=["menu", "finish"])

    def show_hotline(self) -> None:
        cat = self._catalog()
        self.table = None
        self.fields = [("服务热线", cat.hotline if cat else "12329"), ("服务时间", "工作日 8:30-17:00")]
        self._show(Svc.SHOW, "hotline", actions=["menu", "finish"])

    def show_points(self) -> None:
        self.fields, self.notes = [], []
        self.table = {"columns": ["服务网点", "地址", "办公时间"], "rows": [list(p) for p in SERVICE_POINTS],
                      "page": 1, "pages": 1, "total": len(SERVICE_POINTS)}
        self._show(Svc.SHOW, "points", actions=["menu", "finish"])


# Serial numbers start with letters the keypad has not got: the resident picks the kind (its prefix), then types
# the digits. TQ/DK + YYYYMMDD + 8 digits; JC/JQ + center code (C + 5 digits) + YYYYMMDD + 6; letters: center
# code + YYMMDD + 4 (center.business, center.rules.certificates).
SERIAL_PREFIXES = [("TQ", "TQ 提取"), ("DK", "DK 贷款预申请"), ("JCC", "JCC 缴存使用证明"), ("JQC", "JQC 结清证明"),
                   ("C", "C 转移联系函")]


class ProgressFlow(ServiceFlow):
    """办理进度查询 by the serial number on a receipt: typed on the keypad (kind + digits), or read from the
    receipt's QR code with the camera (kiosk.flows.services.qrscan, on a worker)."""

    name = "progress"
    code = "progress_query"
    title_zh = "办理进度查询"
    title_en = "Progress query"
    level = 1
    scan_timeout_s = 15.0

    def _begin(self) -> None:
        self._ask()

    def _ask(self, message=None) -> None:
        self.fields, self.table = [], None
        self.inputs = [{"name": "prefix", "label": "业务类型", "kind": "choice", "value": SERIAL_PREFIXES[0][0],
                        "choices": [{"id": p, "label": l} for p, l in SERIAL_PREFIXES]},
                       {"name": "number", "label": "流水号数字", "kind": "digits", "value": ""}]
        self.notes = ["可点击“扫描回单二维码”，将回单上的二维码对准摄像头"] \
            if self.ctx.devices.camera is not None else []
        self._show(Svc.INPUT, "serial", message or M("PROMPT_SERIAL", "请选择业务类型并输入回单上流水号的数字",
                                                     "Please enter the serial number"),
                   actions=["submit_serial", "scan"] if self.ctx.devices.camera is not None else ["submit_serial"])

    def submit_serial(self, prefix: str, number: str = "") -> None:
        """prefix + digits from the keypad; a whole serial in `prefix` alone also works (scanner, tests)."""
        if self.state is not Svc.INPUT or self.busy:
            return
        serial = (str(prefix or "") + str(number or "")).strip().upper()
        if not 4 <= len(serial) <= 32 or not serial.replace("-", "").isalnum() or serial.isalpha():
            return self._go(Svc.INPUT, M("SERIAL_FORMAT", "请输入正确的业务流水号", f"bad serial {serial!r}"))
        self._lookup(serial)

    def scan(self) -> None:
        """Read the receipt's QR code with the camera (on a worker, with a deadline)."""
        if self.state is not Svc.INPUT or self.busy:
            return
        from kiosk.flows.services.qrscan import scan_qr
        camera, limit = self.ctx.devices.camera, self.scan_timeout_s
        self.notes = [f"二维码离摄像头约20厘米，保持不动；{int(limit)}秒内没有识别到将返回输入"]
        self._show(Svc.LOADING, "scan", M("PROMPT_SCAN", "请将回单上的二维码对准摄像头", "Show the receipt's QR code"))

        def unseen(exc: BaseException) -> bool:
            if isinstance(exc, PortError) and exc.code in ("QR_NOT_SEEN", "CAMERA_UNAVAILABLE"):
                log.info("progress: QR scan ended without a code: %s", exc)
                self._ask(M(exc.code, exc.message_zh, str(exc)))
                return True
            return False
        self._run("scan", lambda t: scan_qr(camera, t, limit), self._scanned, unseen, timeout=limit + 10)

    def _scanned(self, payload: str) -> None:
        from kiosk.flows.services.qrscan import is_certificate_qr, serial_from_qr
        serial = serial_from_qr(payload)
        if serial is None:
            why = M("QR_IS_CERTIFICATE", "这是证明的防伪核验二维码，请扫描业务回单上的二维码", "certificate QR shown") \
                if is_certificate_qr(payload) else M("QR_NOT_A_RECEIPT", "该二维码不是公积金业务回单，请扫描回单上的二维码",
                                                     "QR code is not a receipt's")
            return self._ask(why)
        self._lookup(serial)

    def _lookup(self, serial: str) -> None:
        def not_found(exc: BaseException) -> bool:
            if isinstance(exc, PortError) and exc.code in ("SERIAL_NOT_FOUND", "SERIAL_NOT_RECEIVED", "HTTP_404"):
                self._ask(M(exc.code, exc.message_zh, str(exc)))
                return True
            return False
        self.serial = serial
        self._show(Svc.LOADING, "lookup", M("LOADING", "正在查询，请稍候", "Loading"))
        self._run("progress", lambda t: self.ctx.center.progress(serial, t), self._found, not_found)

    def _found(self, d: dict) -> None:
        kinds = {"withdrawal": "提取", "loan_preapply": "贷款预申请", "transfer_in": "转移接续",
                 "deposit_use": "缴存使用证明", "payoff": "贷款结清证明"}
        self.inputs, self.notes = [], []
        self.fields = [("业务编号", d["serial"]), ("业务类型", kinds.get(d["kind"], d["kind"])),
                       ("办理状态", d.get("state_zh") or d.get("state", "")), ("受理时间", beijing_time(d.get("at", "")))]
        if d.get("amount_fen"):
            self.fields.append(("金额", format_yuan(d["amount_fen"])))
        self._show(Svc.SHOW, "result", actions=["finish"])


class EvaluationFlow(ServiceFlow):
    """好差评 on its own (the home screen's tile); every other item offers `evaluate()` at its end."""

    name = "evaluation"
    code = "evaluation"
    title_zh = "好差评"
    title_en = "Service evaluation"
    level = 0

    def _begin(self) -> None:
        self.choices = [{"id": s, "label": l} for s, l in EVALUATION_CHOICES]
        self._show(Svc.INPUT, "score", M("PROMPT_SCORE", "请对本次服务进行评价", "Please rate our service"),
                   actions=["rate"])

    def rate(self, score: int, comment: str = "") -> None:
        score = as_int(score)
        if self.state is not Svc.INPUT or score is None or not 1 <= score <= 5:
            return
        self.choices = []
        payload = {"item_code": "terminal", "score": score, "comment": str(comment)[:200]}
        self._submit("evaluation", payload, self._rated)

    def _rated(self, outcome: TxOutcome) -> None:
        self.evaluation = "queued" if outcome.queued else "sent"
        self._go(Svc.DONE, M("EVAL_THANKS", "感谢您的评价", "Thank you for your feedback"))
