"""End of day (日终轧账) for one teller: the teller's journal for the day (counts and totals by item: queued,
accepted, refused) reconciled with the center (/v1/transactions/reconcile) and rendered as a PDF
(printing.EndOfDayReport)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Optional

from kiosk.staff.errors import StaffError, from_center
from printing.documents import EndOfDayReport, EodItemLine
from sync.client import CenterError
from sync.journal import LOCAL_TZ, Journal, State

log = logging.getLogger(__name__)

ITEM_NAMES_ZH = {"withdrawal": "提取", "deposit": "灵活就业缴存", "loan_preapply": "贷款预申请（含组合贷款）",
                 "loan_prepayment": "提前还款", "flexible_open": "灵活就业开户", "flexible_sign": "缴存协议签订",
                 "transfer_in": "转移接续", "phone_change": "手机号码变更", "evaluation": "好差评"}

_ACCEPTED = {State.ACCEPTED}
_REFUSED = {State.REJECTED}
_PENDING = {State.QUEUED, State.SENDING, State.NEEDS_REVIEW}      # 待确认 (needs_review also listed apart)


@dataclass
class EndOfDay:
    report: EndOfDayReport
    reconcile: dict
    needs_review: list[str] = field(default_factory=list)
    pdf: bytes = b""

    @property
    def balanced(self) -> bool:
        return not self.reconcile.get("differences")

    def view(self) -> dict:
        r = self.report
        return {"business_date": r.business_date.isoformat(), "teller_id": r.teller_id, "branch": r.branch,
                "terminal_id": r.terminal_id,
                "lines": [{"item": l.item, "accepted_count": l.accepted_count, "accepted_fen": l.accepted_fen,
                           "queued_count": l.queued_count, "queued_fen": l.queued_fen,
                           "refused_count": l.refused_count, "refused_fen": l.refused_fen} for l in r.lines],
                "totals": {k: r.total(k) for k in ("accepted_count", "accepted_fen", "queued_count", "queued_fen",
                                                   "refused_count", "refused_fen")},
                "reconcile": {"terminal": self.reconcile.get("terminal"), "center": self.reconcile.get("center"),
                              "matching": self.reconcile.get("matching"),
                              "differences": [list(d) for d in self.reconcile.get("differences", [])]},
                "needs_review": list(self.needs_review), "balanced": self.balanced}


def teller_lines(journal: Journal, teller_id: str, day: date, catalog=None) -> tuple[list[EodItemLine], list[str]]:
    names = dict(ITEM_NAMES_ZH)
    if catalog is not None:
        names |= {i.code: i.name_zh for i in catalog.items}
    acc: dict[str, dict] = {}
    review: list[str] = []
    for e in journal.iter_all():
        if e.teller_id != teller_id or e.created_at.astimezone(LOCAL_TZ).date() != day:
            continue
        if e.state in _ACCEPTED:
            bucket = "accepted"
        elif e.state in _REFUSED:
            bucket = "refused"
        elif e.state in _PENDING:
            bucket = "queued"
            if e.state is State.NEEDS_REVIEW:
                review.append(e.client_id)
        else:
            continue                      # drafts and canceled items never reached anyone
        a = acc.setdefault(e.kind, {})
        a[f"{bucket}_count"] = a.get(f"{bucket}_count", 0) + 1
        a[f"{bucket}_fen"] = a.get(f"{bucket}_fen", 0) + (e.amount_fen or 0)
    lines = [EodItemLine(item=names.get(k, k), **v) for k, v in sorted(acc.items())]
    return lines, review


def end_of_day(settings, journal: Journal, port, teller_id: str, day: date, *, audit=None, catalog=None,
               render: bool = True) -> EndOfDay:
    """Journal figures for `teller_id` on `day` (Asia/Shanghai), the reconciliation with the center, the PDF."""
    from kiosk.cli.sync_cmd import reconcile
    lines, review = teller_lines(journal, teller_id, day, catalog)
    try:
        rec = reconcile(journal, port, day)
    except CenterError as exc:
        raise from_center(exc) from None
    report = EndOfDayReport(center_name=settings.terminal.center_name, branch=settings.terminal.branch,
                            terminal_id=settings.terminal.id, teller_id=teller_id, business_date=day,
                            issued_at=datetime.now(timezone.utc), lines=tuple(lines))
    out = EndOfDay(report, rec, review)
    if render:
        try:
            from printing.pdf import render_pdf
            out.pdf = render_pdf(report)
        except Exception as exc:   # printing.pdf.PdfError and font problems: a clear error, no traceback
            raise StaffError(getattr(exc, "code", "EOD_PDF_FAILED"), "日终报表生成失败，请联系技术人员",
                             f"end-of-day PDF: {exc}") from None
    if audit is not None:
        audit.append(f"teller:{teller_id}", "teller.end_of_day", target=f"day:{day.isoformat()}",
                     result="ok" if out.balanced else "differences",
                     details={"branch": settings.terminal.branch, "totals": out.view()["totals"],
                              "center_accepted": rec.get("center"), "differences": len(rec.get("differences", []))})
    log.info("end of day %s teller %s: %d lines, %d differences", day, teller_id, len(lines),
             len(rec.get("differences", [])))
    return out
