"""A4 documents as PDF (reportlab): certificates, account statement, teller end-of-day report.

Chinese text uses an embedded TrueType font (WenQuanYi Micro Hei, subfontIndex=0 of the .ttc; path
configurable with HPF_KIOSK_CJK_FONT or register_cjk_font(path)). A CID font such as STSong-Light is not
embedded and comes out of CUPS garbled, so it is never used. The certificate carries its verification code,
a QR code to the center's verification page, the signature data as text, the validity line and the center's
e-seal, drawn here in vector form and placed at the anchor "单位公章（或业务专用章）：".
PDF metadata holds no personal data (title = document type + serial number)."""
from __future__ import annotations

import io
import math
import os
import threading
from pathlib import Path
from typing import Optional

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from printing.documents import (CERTIFICATE_VALIDITY, COPY_MARK, AccountStatement, DepositUseCertificate,
                                EndOfDayReport, LoanPayoffCertificate, format_local, format_ratio, local_time)

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "HPF-CJK"
SEAL_RED = colors.Color(0.86, 0.08, 0.12)
_font_lock = threading.Lock()
_font_path: Optional[str] = None


class PdfError(Exception):
    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


def register_cjk_font(path: "str | Path | None" = None) -> str:
    """Register the embedded CJK TrueType font once (the .ttc parse takes a while); returns its name."""
    global _font_path
    wanted = str(path or os.environ.get("HPF_KIOSK_CJK_FONT") or DEFAULT_FONT)
    with _font_lock:
        if _font_path == wanted:
            return FONT
        if not Path(wanted).is_file():
            raise PdfError("PDF_FONT_MISSING", "证明打印字体缺失，请联系工作人员",
                           f"CJK font {wanted} not found (apt-get install fonts-wqy-microhei or set HPF_KIOSK_CJK_FONT)")
        try:
            font = TTFont(FONT, wanted, subfontIndex=0) if wanted.endswith(".ttc") else TTFont(FONT, wanted)
        except Exception as exc:
            raise PdfError("PDF_FONT_BAD", "证明打印字体无法使用，请联系工作人员",
                           f"CJK font {wanted} cannot be used: {exc}") from exc
        pdfmetrics.registerFont(font)
        _font_path = wanted
    return FONT


def _styles():
    base = dict(fontName=FONT, wordWrap="CJK", leading=18, fontSize=12)
    return {
        "title": ParagraphStyle("title", **{**base, "fontSize": 20, "leading": 28}, alignment=TA_CENTER),
        "body": ParagraphStyle("body", **base),
        "cell": ParagraphStyle("cell", **{**base, "fontSize": 11, "leading": 15}),
        "small": ParagraphStyle("small", **{**base, "fontSize": 8, "leading": 11}),
        "right": ParagraphStyle("right", **base, alignment=TA_RIGHT),
        "copy": ParagraphStyle("copy", **{**base, "fontSize": 14}, alignment=TA_RIGHT, textColor=colors.red),
    }


def P(text: str, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


class Seal(Flowable):
    """A red round seal (电子印章): outer ring, five-pointed star, center name on an arc, purpose below."""

    def __init__(self, org: str, purpose: str, diameter: float = 42 * mm):
        super().__init__()
        self.org, self.purpose, self.d = org, purpose, diameter
        self.width = self.height = diameter

    def draw(self) -> None:
        c = self.canv
        r = self.d / 2
        c.saveState()
        c.translate(r, r)
        c.setStrokeColor(SEAL_RED)
        c.setFillColor(SEAL_RED)
        c.setLineWidth(1.2 * mm)
        c.circle(0, 0, r - 0.8 * mm, stroke=1, fill=0)
        star_r = r * 0.26
        points = [(star_r * (1 if i % 2 == 0 else 0.382) * math.cos(math.radians(90 + i * 36)),
                   star_r * (1 if i % 2 == 0 else 0.382) * math.sin(math.radians(90 + i * 36))) for i in range(10)]
        path = c.beginPath()
        path.moveTo(*points[0])
        for p in points[1:]:
            path.lineTo(*p)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
        size = min(4.8 * mm, (r * 1.5 * math.pi * 0.7) / max(1, len(self.org)))
        c.setFont(FONT, size)
        text_r = r - 2.2 * mm - size
        span = min(240.0, len(self.org) * math.degrees(size * 1.1 / text_r))
        for i, ch in enumerate(self.org):
            angle = 90 + span / 2 - (span * (i + 0.5) / len(self.org))
            c.saveState()
            c.rotate(angle)
            c.translate(text_r, 0)
            c.rotate(-90)
            c.drawCentredString(0, 0, ch)
            c.restoreState()
        c.setFont(FONT, min(3.6 * mm, r * 1.3 / max(1, len(self.purpose))))
        c.drawCentredString(0, -r * 0.55, self.purpose)
        c.restoreState()


class QrFlowable(Flowable):
    """The QR code drawn straight on the canvas, one rectangle per run of dark modules (reportlab's QR widget
    builds a shape object per module, which alone took most of the certificate's render time)."""

    def __init__(self, payload: str, size: float = 30 * mm, ecc: str = "M"):
        super().__init__()
        from printing.escpos.render import RenderError, qr_matrix
        try:
            self.matrix = qr_matrix(payload, ecc)
        except RenderError as exc:
            raise PdfError(exc.code, exc.message_zh, str(exc)) from exc
        self.width = self.height = size

    def draw(self) -> None:
        c = self.canv
        n = len(self.matrix)
        m = self.width / n
        c.saveState()
        c.setFillColor(colors.black)
        path = c.beginPath()
        for y, row in enumerate(self.matrix):
            x = 0
            while x < n:
                if row[x]:
                    start = x
                    while x < n and row[x]:
                        x += 1
                    path.rect(start * m, self.height - (y + 1) * m, (x - start) * m, m)
                else:
                    x += 1
        c.drawPath(path, stroke=0, fill=1)
        c.restoreState()


def qr_drawing(payload: str, size: float = 30 * mm) -> QrFlowable:
    return QrFlowable(payload, size)


def _grid(rows, col_widths, spans=()) -> Table:
    table = Table(rows, colWidths=col_widths)
    style = [("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.94, 0.94, 0.94)),
             ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]
    style += [("SPAN", a, b) for a, b in spans]
    table.setStyle(TableStyle(style))
    return table


def _build(story, *, title: str, author: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=title, author=author, creator="hpf-kiosk", subject=title)
    doc.build(story)
    return buf.getvalue()


def _verification_block(v, s) -> Table:
    text = [P(f"验证码：{v.verification_code}", s["body"]),
            P("扫描左侧二维码，或登录住房公积金中心网站输入验证码，核验本证明真伪。", s["cell"]),
            P(v.verify_url, s["small"])]
    block = Table([[qr_drawing(v.qr_payload), text]], colWidths=[34 * mm, 136 * mm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOX", (0, 0), (-1, -1), 0.6, colors.grey)]))
    return block


def _seal_block(center_name: str, seal_text: str, issued_at, s) -> Table:
    day = local_time(issued_at).date()
    words = [P("单位公章（或业务专用章）：", s["body"]), Spacer(1, 6 * mm), P(center_name, s["body"]),
             P(f"{day.year}年{day.month}月{day.day}日", s["body"])]
    block = Table([[words, Seal(center_name, seal_text)]], colWidths=[110 * mm, 60 * mm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "CENTER")]))
    return block


def _signature(v, s) -> list:
    return [P(f"电子签名（{v.signature_alg}）：{v.signature_b64}", s["small"]),
            P(f"签名者：{v.signer}", s["small"])]


def deposit_use_certificate_pdf(cert: DepositUseCertificate) -> bytes:
    from kiosk.domain.money import chinese_uppercase, format_yuan
    register_cjk_font()
    s = _styles()
    c = lambda t: P(t, s["cell"])  # noqa: E731
    story = []
    if cert.copy:
        story.append(P(COPY_MARK, s["copy"]))
    story += [P("异地贷款职工住房公积金缴存使用证明", s["title"]), Spacer(1, 3 * mm),
              P(f"编号：{cert.serial_no}", s["right"]), Spacer(1, 3 * mm),
              P("兹证明以下职工在我中心缴存住房公积金，具体情况如下：", s["body"]), Spacer(1, 3 * mm)]
    rows = [
        [c("姓名"), c(cert.masked_name), c("证件号码"), c(cert.masked_id)],
        [c("工作单位"), c(cert.employer), "", ""],
        [c("个人账号"), c(cert.account_no), c("账户状态"), c(cert.account_state)],
        [c("开户日期"), c(cert.opened_on.isoformat()), c("缴存基数"), c(format_yuan(cert.base_fen))],
        [c("单位缴存比例"), c(format_ratio(cert.unit_ratio_bp)), c("个人缴存比例"), c(format_ratio(cert.personal_ratio_bp))],
        [c("月缴存额"), c(format_yuan(cert.monthly_fen)), c("连续缴存时间"), c(f"{cert.continuous_from} 至 {cert.continuous_to}")],
        [c("账户余额"), c(f"{format_yuan(cert.balance_fen)}（大写：{chinese_uppercase(cert.balance_fen)}）"), "", ""],
        [c("贷款记录"), c(cert.loan_record), "", ""],
    ]
    story.append(_grid(rows, [30 * mm, 55 * mm, 30 * mm, 55 * mm],
                       spans=[((1, 1), (3, 1)), ((1, 6), (3, 6)), ((1, 7), (3, 7))]))
    story += [Spacer(1, 4 * mm),
              P(f"本证明{CERTIFICATE_VALIDITY}（有效期至{cert.valid_until.isoformat()}）。", s["body"]),
              P(f"开具时间：{format_local(cert.issued_at)}", s["body"])]
    if cert.contact or cert.contact_phone:
        story.append(P(f"联系人：{cert.contact}　联系电话：{cert.contact_phone}", s["body"]))
    story += [Spacer(1, 5 * mm), _seal_block(cert.center_name, cert.seal_text, cert.issued_at, s),
              Spacer(1, 5 * mm), _verification_block(cert.verification, s), Spacer(1, 3 * mm)]
    story += _signature(cert.verification, s)
    return _build(story, title=f"住房公积金缴存使用证明 {cert.serial_no}", author=cert.center_name)


def loan_payoff_certificate_pdf(cert: LoanPayoffCertificate) -> bytes:
    from kiosk.domain.money import chinese_uppercase, format_yuan
    register_cjk_font()
    s = _styles()
    c = lambda t: P(t, s["cell"])  # noqa: E731
    story = []
    if cert.copy:
        story.append(P(COPY_MARK, s["copy"]))
    story += [P("个人住房公积金贷款全部还清证明", s["title"]), Spacer(1, 3 * mm),
              P(f"编号：{cert.serial_no}", s["right"]), Spacer(1, 4 * mm)]
    rows = [
        [c("借款人"), c(cert.masked_name), c("证件号码"), c(cert.masked_id)],
        [c("借款合同号"), c(cert.contract_no), c("贷款银行"), c(cert.lending_bank)],
        [c("贷款金额"), c(f"{format_yuan(cert.loan_fen)}（大写：{chinese_uppercase(cert.loan_fen)}）"), "", ""],
        [c("贷款期限"), c(f"{cert.term_months}个月"), c("发放日期"), c(cert.loan_start.isoformat())],
        [c("结清日期"), c(cert.paid_off_on.isoformat()), c("房屋坐落"), c(cert.property_address or "—")],
    ]
    story.append(_grid(rows, [30 * mm, 55 * mm, 30 * mm, 55 * mm], spans=[((1, 2), (3, 2))]))
    story += [Spacer(1, 5 * mm),
              P(f"经核实，上述借款人的住房公积金贷款本息已于{cert.paid_off_on.year}年{cert.paid_off_on.month}月"
                f"{cert.paid_off_on.day}日全部还清，特此证明。", s["body"]),
              P(f"开具时间：{format_local(cert.issued_at)}", s["body"]), Spacer(1, 5 * mm),
              _seal_block(cert.center_name, cert.seal_text, cert.issued_at, s), Spacer(1, 5 * mm),
              _verification_block(cert.verification, s), Spacer(1, 3 * mm)]
    story += _signature(cert.verification, s)
    return _build(story, title=f"住房公积金贷款还清证明 {cert.serial_no}", author=cert.center_name)


def account_statement_pdf(st: AccountStatement) -> bytes:
    from kiosk.domain.money import format_yuan
    register_cjk_font()
    s = _styles()
    c = lambda t: P(t, s["cell"])  # noqa: E731
    story = []
    if st.copy:
        story.append(P(COPY_MARK, s["copy"]))
    title = getattr(st, "title", "") or "住房公积金个人账户明细"
    credit_label, debit_label = getattr(st, "columns", ("收入", "支出"))
    story += [P(title, s["title"]), Spacer(1, 4 * mm),
              P(f"姓名：{st.masked_name}　证件号码：{st.masked_id}　个人账号：{st.account_no}", s["body"]),
              P(f"查询期间：{st.period_from.isoformat()} 至 {st.period_to.isoformat()}　打印时间：{format_local(st.issued_at)}",
                s["body"]), Spacer(1, 3 * mm)]
    for label, value in getattr(st, "summary", ()):
        story.append(P(f"{label}：{value}", s["body"]))
    rows = [[c("日期"), c("摘要"), c(credit_label), c(debit_label), c("余额")],
            [c(st.period_from.isoformat()), c("期初余额"), "", "", c(format_yuan(st.opening_fen))]]
    for line in st.lines:
        rows.append([c(line.on.isoformat()), c(line.summary), c(format_yuan(line.credit_fen) if line.credit_fen else ""),
                     c(format_yuan(line.debit_fen) if line.debit_fen else ""), c(format_yuan(line.balance_fen))])
    rows.append([c(st.period_to.isoformat()), c("期末余额"), "", "", c(format_yuan(st.closing_fen))])
    table = Table(rows, colWidths=[30 * mm, 40 * mm, 33 * mm, 33 * mm, 34 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.94, 0.94, 0.94))]))
    story.append(table)
    if getattr(st, "verification", None) is not None:      # center-signed statement (kiosk.flows.services)
        story += [Spacer(1, 4 * mm), _seal_block(st.center_name, st.seal_text, st.issued_at, s),
                  Spacer(1, 4 * mm), _verification_block(st.verification, s), Spacer(1, 2 * mm)]
        story += _signature(st.verification, s)
    return _build(story, title=title, author=st.center_name)


def end_of_day_pdf(report: EndOfDayReport) -> bytes:
    from kiosk.domain.money import format_yuan
    register_cjk_font()
    s = _styles()
    c = lambda t: P(t, s["cell"])  # noqa: E731
    story = []
    if report.copy:
        story.append(P(COPY_MARK, s["copy"]))
    story += [P("住房公积金委托代办柜面日终报表", s["title"]), Spacer(1, 4 * mm),
              P(f"网点：{report.branch}　终端：{report.terminal_id}　柜员：{report.teller_id}", s["body"]),
              P(f"业务日期：{report.business_date.isoformat()}　打印时间：{format_local(report.issued_at)}", s["body"]),
              Spacer(1, 3 * mm)]
    rows = [[c("事项"), c("已受理"), "", c("待确认"), "", c("已退回"), ""],
            [""] + [c(t) for t in ("笔数", "金额") * 3]]
    for line in report.lines:
        rows.append([c(line.item), c(str(line.accepted_count)), c(format_yuan(line.accepted_fen)),
                     c(str(line.queued_count)), c(format_yuan(line.queued_fen)), c(str(line.refused_count)),
                     c(format_yuan(line.refused_fen))])
    rows.append([c("合计")] + [c(str(report.total(k)) if k.endswith("count") else format_yuan(report.total(k)))
                              for k in ("accepted_count", "accepted_fen", "queued_count", "queued_fen",
                                        "refused_count", "refused_fen")])
    table = Table(rows, colWidths=[32 * mm] + [14 * mm, 32 * mm] * 3, repeatRows=2)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("SPAN", (0, 0), (0, 1)), ("SPAN", (1, 0), (2, 0)), ("SPAN", (3, 0), (4, 0)),
                               ("SPAN", (5, 0), (6, 0)), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 1), colors.Color(0.94, 0.94, 0.94)),
                               ("BACKGROUND", (0, -1), (-1, -1), colors.Color(0.97, 0.97, 0.9))]))
    story += [table, Spacer(1, 12 * mm), P("柜员签章：　　　　　　　　　　复核（主管）签章：", s["body"])]
    return _build(story, title=f"柜面日终报表 {report.business_date.isoformat()}", author=report.center_name)


RENDERERS = {
    DepositUseCertificate: deposit_use_certificate_pdf,
    LoanPayoffCertificate: loan_payoff_certificate_pdf,
    AccountStatement: account_statement_pdf,
    EndOfDayReport: end_of_day_pdf,
}


def render_pdf(document) -> bytes:
    try:
        renderer = RENDERERS[type(document)]
    except KeyError:
        raise PdfError("DOC_NOT_FOR_A4", "该单据不能以A4格式打印",
                       f"{type(document).__name__} has no A4 layout") from None
    return renderer(document)
