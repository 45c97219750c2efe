"""Read endpoints the kiosk flows need (signed): account overview, deposit details by year, loans and
schedules, withdrawal eligibility, loan trial calculation and limit, transfer-in status, progress query."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from center import business as B
from center.api.common import db
from center.errors import ApiError
from center.models import (AcceptedTransaction, Certificate, DepositRecord, Employer, FlexibleAgreement, Loan,
                           LoanApplication, LoanInstallment, PersonalAccount, TransferIn, Withdrawal)
from center.security import TerminalCtx, signed_terminal
from center.transactions import Refusal
from kiosk.domain.codes import PersonAccountState, RepaymentMethod
from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_card, mask_id_number, mask_name, mask_phone
from sync import protocol as P

router = APIRouter(prefix=P.API_PREFIX, tags=["query"])
ID = Path(..., pattern=r"^[0-9]{17}[0-9Xx]$", description="resident ID number (18 characters)")


def _read(request: Request, fn):
    """Runs fn(session) in a read transaction; a Refusal is a 404/422 ErrorBody, an unfinished rule 503."""
    def run():
        try:
            with db(request)() as s:
                return fn(s)
        except Refusal as r:
            status = 404 if r.code in ("PERSON_NOT_FOUND", "ACCOUNT_NOT_FOUND", "LOAN_NOT_FOUND") else 422
            raise ApiError(status, r.code, r.message, r.detail)
        except NotImplementedError as e:
            raise ApiError(503, "SERVICE_NOT_READY", "该业务暂未开通，请到柜台办理", f"rule not implemented: {e}")
    return run_in_threadpool(run)


def _loan_summary(l: Loan) -> dict:
    return {"contract_no": l.jkhtbh, "state": l.state, "amount_fen": l.htdkje_fen, "balance_fen": l.dkye_fen,
            "months": l.dkqs, "annual_rate": l.dkll, "method": l.dkhkfs,
            "method_zh": RepaymentMethod.from_code(l.dkhkfs).label_zh, "granted_on": l.dkffrq.isoformat(),
            "paid_off_on": l.dkjqrq.isoformat() if l.dkjqrq else None, "overdue_periods": l.ljyqqs,
            "overdue_principal_fen": l.yqbjze_fen, "overdue_interest_fen": l.yqlxze_fen,
            "repayment_day": l.ydhkr, "bank_name": l.bank_name}


@router.get("/persons/{id_number}")
async def person_overview(request: Request, id_number: str = ID, ctx: TerminalCtx = Depends(signed_terminal)):
    """个人缴存贷款信息: masked identity, account (state code GRZHZT, balance, base, ratios, opened, JZNY),
    employer, flexible agreement, loans."""
    def q(s):
        p = B.find_person(s, id_number)
        acct = s.scalar(select(PersonalAccount).where(PersonalAccount.person_id == p.id))
        out: dict[str, Any] = {"name_masked": mask_name(p.xingming), "id_masked": mask_id_number(p.zjhm),
                               "phone_masked": mask_phone(p.sjhm), "account": None, "loans": []}
        if acct is not None:
            emp = s.get(Employer, acct.dwzh) if acct.dwzh else None
            ag = s.scalar(select(FlexibleAgreement).where(FlexibleAgreement.grzh == acct.grzh,
                                                          FlexibleAgreement.state == "normal"))
            monthly = (acct.grjcjs_fen * acct.dwjcbl_bp + 5000) // 10000 + (acct.grjcjs_fen * acct.grjcbl_bp + 5000) // 10000
            out["account"] = {
                "grzh": acct.grzh, "state": acct.grzhzt,
                "state_zh": PersonAccountState.from_code(acct.grzhzt).label_zh,
                "balance_fen": acct.grzhye_fen, "base_fen": acct.grjcjs_fen,
                "unit_ratio_bp": acct.dwjcbl_bp, "personal_ratio_bp": acct.grjcbl_bp,
                "monthly_deposit_fen": ag.monthly_fen if ag else monthly,
                "opened_on": acct.khrq.isoformat(), "paid_up_to": acct.jzny,
                "continuous_months": B.continuous_months(s, acct.grzh, acct.jzny),
                "employer": emp.dwmc if emp else None, "flexible": acct.flexible,
                "bank_card_masked": mask_card(acct.bank_card), "bank_name": acct.bank_name,
                "flexible_agreement": None if ag is None else {
                    "agreement_no": ag.agreement_no, "base_fen": ag.base_fen, "ratio_bp": ag.ratio_bp,
                    "monthly_fen": ag.monthly_fen, "debit_card_masked": mask_card(ag.debit_card)},
            }
        out["loans"] = [_loan_summary(l) for l in s.scalars(select(Loan).where(Loan.person_id == p.id)
                                                             .order_by(Loan.dkffrq))]
        return out
    return await _read(request, q)


@router.get("/persons/{id_number}/deposits")
async def deposit_details(request: Request, id_number: str = ID,
                          year: int = Query(..., ge=1990, le=2100), page: int = Query(1, ge=1, le=10_000),
                          page_size: int = Query(20, ge=1, le=100), ctx: TerminalCtx = Depends(signed_terminal)):
    """缴存明细 of one calendar year, newest first, paged."""
    from datetime import date

    def q(s):
        p = B.find_person(s, id_number)
        acct = B.find_account(s, p)
        where = (DepositRecord.grzh == acct.grzh, DepositRecord.jzrq >= date(year, 1, 1),
                 DepositRecord.jzrq <= date(year, 12, 31))
        total = s.scalar(select(func.count()).select_from(DepositRecord).where(*where))
        rows = s.scalars(select(DepositRecord).where(*where).order_by(DepositRecord.jzrq.desc(), DepositRecord.id.desc())
                         .offset((page - 1) * page_size).limit(page_size))
        return {"year": year, "page": page, "page_size": page_size, "total": total,
                "items": [{"serial": r.ywlsh, "date": r.jzrq.isoformat(), "business_type": r.gjhtqywlx,
                           "month": r.ssny, "amount_fen": r.fse_fen, "interest_fen": r.fslxe_fen,
                           "balance_after_fen": r.balance_after_fen, "summary": r.summary} for r in rows]}
    return await _read(request, q)


@router.get("/persons/{id_number}/loans")
async def loans_overview(request: Request, id_number: str = ID, ctx: TerminalCtx = Depends(signed_terminal)):
    def q(s):
        p = B.find_person(s, id_number)
        return {"loans": [_loan_summary(l) for l in s.scalars(select(Loan).where(Loan.person_id == p.id)
                                                               .order_by(Loan.dkffrq))]}
    return await _read(request, q)


@router.get("/persons/{id_number}/loans/{contract_no}/schedule")
async def loan_schedule(request: Request, id_number: str = ID,
                        contract_no: str = Path(..., min_length=1, max_length=32),
                        ctx: TerminalCtx = Depends(signed_terminal)):
    """还款计划: every period with due date, principal, interest, balance after, and state (paid/due/overdue)."""
    def q(s):
        p = B.find_person(s, id_number)
        loan = s.get(Loan, contract_no)
        if loan is None or loan.person_id != p.id:
            raise Refusal("LOAN_NOT_FOUND", "未查询到该笔贷款", "no such loan for this person")
        rows = s.scalars(select(LoanInstallment).where(LoanInstallment.jkhtbh == contract_no)
                         .order_by(LoanInstallment.period))
        return {**_loan_summary(loan), "installments": [
            {"period": r.period, "due_date": r.due_date.isoformat() if r.due_date else None,
             "payment_fen": r.principal_fen + r.interest_fen, "principal_fen": r.principal_fen,
             "interest_fen": r.interest_fen, "balance_after_fen": r.balance_after_fen, "state": r.state}
            for r in rows]}
    return await _read(request, q)


class EligibilityIn(BaseModel):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")
    reason: str = Field(pattern=r"^\d{2}$", description="提取原因 TQYY code, e.g. 07 rent")
    amount_fen: Optional[int] = Field(None, ge=1, le=10**13)
    evidence: Optional[dict[str, Any]] = None


@router.post("/withdrawals/eligibility")
async def withdrawal_eligibility(body: EligibilityIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """Whether a withdrawal for `reason` is allowed now and its maximum (no effect; no Idempotency-Key)."""
    def q(s):
        _, _, _, d = B.withdrawal_decision(s, body.id_number, body.reason, body.amount_fen, body.evidence)
        return B.decision_dict(d)
    return await _read(request, q)


class LoanTrialIn(BaseModel):
    amount_fen: int = Field(ge=100_000, le=10**11, description="principal in fen")
    months: int = Field(ge=1, le=360)
    first_home: bool = True
    method: Literal["01", "02"] = "01"
    annual_rate: Optional[str] = Field(None, pattern=r"^0\.\d{1,6}$", description="default: PBOC table today")


@router.post("/loans/trial")
async def loan_trial(body: LoanTrialIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """贷款试算: payment, total interest and the full schedule for an amount and term (no person needed)."""
    from kiosk.domain.loan import build_schedule
    from kiosk.domain.rates import rate_for

    def q(_s):
        try:
            rate = Decimal(body.annual_rate) if body.annual_rate else rate_for(B.today(), body.first_home, body.months)
            sch = build_schedule(body.amount_fen, rate, body.months, RepaymentMethod.from_code(body.method))
        except DomainError as e:
            raise Refusal(e.code, e.message_zh, str(e))
        return {"amount_fen": body.amount_fen, "months": body.months, "annual_rate": str(rate),
                "method": body.method, "first_payment_fen": sch.first_payment_fen,
                "last_payment_fen": sch.last_payment_fen, "total_interest_fen": sch.total_interest_fen,
                "total_payment_fen": sch.total_payment_fen,
                "installments": [{"period": x.period, "payment_fen": x.payment_fen, "principal_fen": x.principal_fen,
                                  "interest_fen": x.interest_fen, "remaining_fen": x.remaining_fen}
                                 for x in sch.installments]}
    return await _read(request, q)


class LoanLimitIn(BaseModel):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")
    house_price_fen: int = Field(ge=1, le=10**12)
    months: int = Field(ge=1, le=360)
    first_home: bool = True
    method: Literal["01", "02"] = "01"
    amount_fen: Optional[int] = Field(None, ge=1, le=10**12)
    co_borrowers: int = Field(0, ge=0, le=3)
    co_borrower_balance_fen: int = Field(0, ge=0, le=10**12)
    co_borrower_income_fen: int = Field(0, ge=0, le=10**12)


@router.post("/loans/limit")
async def loan_limit(body: LoanLimitIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """可贷额度: min(city cap, balance × multiple, price × (1 − down payment), repayment capacity) by the rules."""
    def q(s):
        _, _, d = B.loan_decision(s, body.id_number, body.model_dump())
        return B.loan_decision_dict(d)
    return await _read(request, q)


@router.get("/persons/{id_number}/transfers")
async def transfer_status(request: Request, id_number: str = ID, ctx: TerminalCtx = Depends(signed_terminal)):
    """转移接续 (转入) cases with their feedback code (0 完成 / 1 失败 / 2 处理中)."""
    names = {"0": "完成", "1": "失败", "2": "处理中"}
    from center.api.admin import case_history

    def q(s):
        p = B.find_person(s, id_number)
        return {"transfers": [{"letter_no": t.letter_no, "from_center": t.from_center,
                               "from_center_name": t.from_center_name, "amount_fen": t.amount_fen,
                               "status": t.feedback, "status_zh": names.get(t.feedback, ""),
                               "applied_at": t.created_at.isoformat(), "history": case_history(s, t.letter_no)}
                              for t in s.scalars(select(TransferIn).where(TransferIn.person_id == p.id)
                                                 .order_by(TransferIn.created_at))]}
    return await _read(request, q)


CLIENT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _by_client_id(s, client_id: str) -> "dict | str":
    """A receipt printed while the terminal was offline carries the transaction's client id (the center had not
    given a serial yet). Accepted with a serial: that serial (the caller looks the case up); otherwise the
    transaction's own state. Not received yet: 404 that says it may still wait on the terminal."""
    row = s.get(AcceptedTransaction, client_id.lower())
    if row is None:
        raise ApiError(404, "SERIAL_NOT_RECEIVED", "中心尚未收到该业务，可能仍在受理终端等待联网上传，请稍后再查",
                       f"no transaction with client id {client_id.lower()!r} received yet")
    serial = (row.result or {}).get("serial") or (row.result or {}).get("letter_no")
    if row.outcome == "accepted" and serial:
        return str(serial)
    amount = (row.result or {}).get("amount_fen") or (row.payload or {}).get("amount_fen") or 0
    state_zh = "已受理" if row.outcome == "accepted" else f"未受理：{row.message}"
    return {"serial": client_id.lower(), "kind": row.kind, "state": row.outcome, "state_zh": state_zh,
            "amount_fen": int(amount), "at": row.received_at.isoformat()}


@router.get("/progress/{serial}")
async def progress(request: Request, serial: str = Path(..., min_length=4, max_length=40),
                   ctx: TerminalCtx = Depends(signed_terminal)):
    """办理进度 by serial number: a withdrawal, a loan pre-application, a transfer-in letter or a certificate;
    or by the client id a receipt printed offline carries (the case it became, once the center has it)."""
    def q(s):
        nonlocal serial
        if CLIENT_ID.match(serial):
            found = _by_client_id(s, serial)
            if isinstance(found, dict):
                return found
            serial = found
        w = s.scalar(select(Withdrawal).where(Withdrawal.serial == serial))
        if w is not None:
            return {"serial": serial, "kind": "withdrawal", "state": w.state,
                    "state_zh": {"done": "已办结", "in_progress": "办理中"}.get(w.state, w.state),
                    "amount_fen": w.amount_fen, "at": w.created_at.isoformat()}
        a = s.scalar(select(LoanApplication).where(LoanApplication.serial == serial))
        if a is not None:
            from center.api.admin import LOAN_STATE_ZH, case_history
            return {"serial": serial, "kind": "loan_preapply", "state": a.state,
                    "state_zh": LOAN_STATE_ZH.get(a.state, a.state),
                    "amount_fen": a.amount_fen, "at": a.created_at.isoformat(), "history": case_history(s, serial)}
        t = s.get(TransferIn, serial)
        if t is not None:
            from center.api.admin import case_history
            return {"serial": serial, "kind": "transfer_in", "state": t.feedback,
                    "state_zh": {"0": "完成", "1": "失败", "2": "处理中"}.get(t.feedback, ""),
                    "amount_fen": t.amount_fen, "at": t.created_at.isoformat(), "history": case_history(s, serial)}
        c = s.get(Certificate, serial)
        if c is not None:
            return {"serial": serial, "kind": c.kind, "state": "issued", "state_zh": "已出具", "amount_fen": 0,
                    "at": c.issued_at.isoformat()}
        raise ApiError(404, "SERIAL_NOT_FOUND", "未查询到该业务编号", f"no case with serial {serial!r}")
    return await _read(request, q)
