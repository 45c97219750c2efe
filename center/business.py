"""Business transaction kinds (withdrawal, flexible employment, deposit, loans, transfer-in, phone change).

The decisions are the domain engineer's rules (center.rules, kiosk.domain): this module loads the facts from
the database, calls the rule, and applies the effect. A refusal from a rule becomes a final `rejected` item
with the rule's code and Chinese message."""
from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from center.models import (Certificate, DepositRecord, FlexibleAgreement, Loan, LoanApplication, LoanInstallment,
                           LoanRepayment, Person, PersonalAccount, SmsCode, TransferIn, Withdrawal, utcnow)
from center.security import TerminalCtx
from center.transactions import Refusal, handler, require
from kiosk.domain.codes import Gender, PersonAccountState, RepaymentMethod, WithdrawalReason
from kiosk.domain.errors import DomainError
from kiosk.domain.ids import ResidentId
from kiosk.domain.masking import mask_id_number
from sync.protocol import TransactionIn

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CITY = "quzhou"


def today() -> date:
    return datetime.now(SHANGHAI).date()


def policy(on: date | None = None):
    from center.rules.policy import PolicyError, policy_for
    try:
        return policy_for(CITY, on or today())
    except PolicyError as e:
        raise Refusal(e.code, e.message_zh, str(e))


def new_serial(prefix: str) -> str:
    return f"{prefix}{today():%Y%m%d}{secrets.randbelow(10**8):08d}"


# --- loading facts --------------------------------------------------------------------------------------

def find_person(session, id_number: Any, *, lock: bool = False) -> Person:
    if not isinstance(id_number, str) or not id_number.strip():
        raise Refusal("VALIDATION_FAILED", "缺少证件号码", "payload has no id_number")
    try:
        rid = ResidentId.parse(id_number)
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    q = select(Person).where(Person.zjhm == rid.number)
    if lock:
        q = q.with_for_update()
    p = session.scalar(q)
    if p is None:
        raise Refusal("PERSON_NOT_FOUND", "未查询到您的公积金账户信息，请到柜台咨询",
                      f"no person with ID {mask_id_number(rid.number)}")
    return p


def find_account(session, person: Person, *, lock: bool = False) -> PersonalAccount:
    q = select(PersonalAccount).where(PersonalAccount.person_id == person.id)
    if lock:
        q = q.with_for_update()
    acct = session.scalar(q)
    if acct is None:
        raise Refusal("ACCOUNT_NOT_FOUND", "您还没有公积金个人账户", "person has no personal account")
    return acct


def _month_start(yyyymm: str) -> Optional[date]:
    if not yyyymm or len(yyyymm) != 6:
        return None
    return date(int(yyyymm[:4]), int(yyyymm[4:]), 1)


def _prev_month(yyyymm: str) -> str:
    y, m = int(yyyymm[:4]), int(yyyymm[4:])
    y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return f"{y:04d}{m:02d}"


def continuous_months(session, grzh: str, jzny: str) -> int:
    """Consecutive months actually paid (汇缴 01 / 补缴 02) ending at the paid-up month."""
    if not jzny:
        return 0
    paid = set(session.scalars(select(DepositRecord.ssny).where(
        DepositRecord.grzh == grzh, DepositRecord.gjhtqywlx.in_(["01", "02"]), DepositRecord.czbz.is_(False))))
    n, m = 0, jzny
    while m in paid:
        n += 1
        m = _prev_month(m)
    return n


def active_loan(session, person: Person) -> Optional[Loan]:
    return session.scalar(select(Loan).where(Loan.person_id == person.id, Loan.state.in_(["repaying", "overdue"]))
                          .order_by(Loan.dkffrq.desc()).limit(1))


def person_facts(session, person: Person, acct: Optional[PersonalAccount]):
    from center.rules.facts import PersonFacts
    loans = list(session.scalars(select(Loan).where(Loan.person_id == person.id)))
    live = [l for l in loans if l.state in ("repaying", "overdue")]
    next_eligible: dict[WithdrawalReason, date] = {}
    sealed_since = None
    in_progress = False
    if acct is not None:
        for reason, nxt in session.execute(select(Withdrawal.tqyy, func.max(Withdrawal.next_eligible_date)).where(
                Withdrawal.grzh == acct.grzh, Withdrawal.next_eligible_date.is_not(None)).group_by(Withdrawal.tqyy)):
            try:
                next_eligible[WithdrawalReason.from_code(reason)] = nxt
            except DomainError:
                pass
        in_progress = session.scalar(select(func.count()).select_from(Withdrawal).where(
            Withdrawal.grzh == acct.grzh, Withdrawal.state == "in_progress")) > 0
        if acct.grzhzt == "02" and acct.jzny:
            from kiosk.domain.loan import add_months
            sealed_since = add_months(_month_start(acct.jzny), 1)
    return PersonFacts(
        birth_date=person.csny,
        gender=Gender.MALE if person.xingbie == "1" else Gender.FEMALE,
        account_state=PersonAccountState.from_code(acct.grzhzt) if acct else PersonAccountState.OTHER,
        balance_fen=acct.grzhye_fen if acct else 0,
        deposit_base_fen=acct.grjcjs_fen if acct else 0,
        unit_ratio=Decimal(acct.dwjcbl_bp) / 10000 if acct else Decimal(0),
        personal_ratio=Decimal(acct.grjcbl_bp) / 10000 if acct else Decimal(0),
        opened_on=acct.khrq if acct else None,
        paid_up_to=_month_start(acct.jzny) if acct else None,
        continuous_months=continuous_months(session, acct.grzh, acct.jzny) if acct else 0,
        next_eligible=next_eligible,
        withdrawal_in_progress=in_progress,
        outstanding_loan_fen=sum(l.dkye_fen for l in live),
        loan_in_arrears=any(l.state == "overdue" or l.ljyqqs > 0 for l in live),
        loans_used=len(loans),
        owns_home_in_city=person.owns_home_in_city,
        sealed_since=sealed_since,
        flexible_depositor=bool(acct and acct.flexible),
        household_monthly_income_fen=person.jtysr_fen or None,
        fraud_ban_until=person.fraud_ban_until,
    )


# --- payload helpers ------------------------------------------------------------------------------------

def money(payload: dict, key: str, zh: str, *, required: bool = True, positive: bool = True) -> Optional[int]:
    v = payload.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or (positive and v <= 0) or v < 0 or v > 10**13:
        raise Refusal("AMOUNT_INVALID", f"{zh}不正确", f"payload {key!r} must be a positive integer of fen")
    return v


def ratio(payload: dict) -> Decimal:
    """Ratio as a Decimal fraction: payload `ratio` ("0.12") or `ratio_bp` (1200)."""
    try:
        if "ratio_bp" in payload and not isinstance(payload["ratio_bp"], bool):
            return Decimal(int(payload["ratio_bp"])) / 10000
        r = Decimal(str(payload["ratio"]))
        if not r.is_finite():
            raise InvalidOperation
        return r
    except (KeyError, InvalidOperation, ValueError, TypeError):
        raise Refusal("VALIDATION_FAILED", "缴存比例不正确", "payload needs ratio (\"0.12\") or ratio_bp (1200)")


def _parse_date(v) -> Optional[date]:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def withdrawal_evidence(raw: Any):
    from center.rules.facts import WithdrawalEvidence
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Refusal("VALIDATION_FAILED", "提取材料信息格式不正确", "evidence must be an object")
    fields = {f.name: f for f in dataclasses.fields(WithdrawalEvidence)}
    kw = {}
    try:
        for k, v in raw.items():
            if k not in fields:
                raise ValueError(f"unknown evidence field {k!r}")
            if k in ("contract_date", "event_date"):
                kw[k] = _parse_date(v)
            elif k == "dwellings_already_withdrawn":
                kw[k] = frozenset(str(x) for x in v)
            elif isinstance(fields[k].default, bool):
                if not isinstance(v, bool):
                    raise ValueError(f"{k} must be true/false")
                kw[k] = v
            elif isinstance(fields[k].default, int):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError(f"{k} must be a non-negative integer")
                kw[k] = v
            else:
                kw[k] = str(v)[:64]
        return WithdrawalEvidence(**kw)
    except (ValueError, TypeError) as e:
        raise Refusal("VALIDATION_FAILED", "提取材料信息格式不正确", str(e))


def reason_of(code: Any) -> WithdrawalReason:
    try:
        return WithdrawalReason.from_code(str(code))
    except DomainError as e:
        raise Refusal("WITHDRAWAL_REASON_UNKNOWN", "提取原因不正确", str(e))


# --- decisions (also used by the read endpoints) --------------------------------------------------------

def withdrawal_decision(session, id_number: str, reason_code: Any, amount_fen: Optional[int], evidence=None,
                        *, lock: bool = False):
    from center.rules.withdrawal import check_withdrawal
    person = find_person(session, id_number, lock=lock)
    acct = find_account(session, person, lock=lock)
    reason = reason_of(reason_code)
    ev = withdrawal_evidence(evidence)
    if reason is WithdrawalReason.LOAN_REPAYMENT:
        ev = _loan_repayment_evidence(session, person, ev)
    d = check_withdrawal(person_facts(session, person, acct), reason, amount_fen, today(), policy(), ev)
    return person, acct, reason, d


def _loan_repayment_evidence(session, person: Person, ev):
    """For a loan this center holds, the repayment facts come from its own books, not from paper."""
    from center.rules.facts import WithdrawalEvidence
    loan = active_loan(session, person)
    if loan is None:
        return ev
    ev = ev or WithdrawalEvidence()
    rows = list(session.scalars(select(LoanInstallment).where(LoanInstallment.jkhtbh == loan.jkhtbh)))
    paid = sum(1 for r in rows if r.state == "paid")
    year_ago = today() - timedelta(days=365)
    due_12m = sum(r.principal_fen + r.interest_fen for r in rows
                  if r.due_date and year_ago < r.due_date <= today())
    return dataclasses.replace(ev, loan_repaid_periods=ev.loan_repaid_periods or paid,
                               loan_due_last_12m_fen=ev.loan_due_last_12m_fen or due_12m)


def decision_dict(d) -> dict:
    return {"allowed": d.allowed, "reason": d.reason.code, "reason_zh": d.reason.label_zh,
            "max_amount_fen": d.max_amount_fen, "closes_account": d.closes_account,
            "business_type": d.business_type.code, "code": d.code, "message": d.message_zh,
            "next_eligible_date": d.next_eligible_date.isoformat() if d.next_eligible_date else None}


def loan_application(payload: dict):
    from center.rules.facts import LoanApplication as LoanApp
    months = payload.get("months")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 360:
        raise Refusal("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months must be an integer 1..360")
    method = payload.get("method", "01")
    try:
        method = RepaymentMethod.from_code(str(method))
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    co = payload.get("co_borrowers", 0)
    if isinstance(co, bool) or not isinstance(co, int) or not 0 <= co <= 3:
        raise Refusal("VALIDATION_FAILED", "共同借款人数不正确", "co_borrowers must be 0..3")
    first_home = payload.get("first_home", True)
    if not isinstance(first_home, bool):
        raise Refusal("VALIDATION_FAILED", "是否首套房填写不正确", "first_home must be true/false")
    return LoanApp(house_price_fen=money(payload, "house_price_fen", "房屋总价"), months=months,
                   first_home=first_home, method=method,
                   requested_fen=money(payload, "amount_fen", "申请金额", required=False),
                   co_borrowers=co,
                   co_borrower_balance_fen=money(payload, "co_borrower_balance_fen", "共同借款人余额",
                                                 required=False, positive=False) or 0,
                   co_borrower_income_fen=money(payload, "co_borrower_income_fen", "共同借款人收入",
                                                required=False, positive=False) or 0)


def loan_decision(session, id_number: str, payload: dict):
    from center.rules.loan import check_loan
    person = find_person(session, id_number)
    acct = session.scalar(select(PersonalAccount).where(PersonalAccount.person_id == person.id))
    if acct is None:
        raise Refusal("ACCOUNT_NOT_FOUND", "您还没有公积金个人账户", "person has no personal account")
    app = loan_application(payload)
    return person, app, check_loan(person_facts(session, person, acct), app, today(), policy())


def loan_decision_dict(d) -> dict:
    return {"allowed": d.allowed, "max_amount_fen": d.max_amount_fen, "max_months": d.max_months,
            "annual_rate": str(d.annual_rate), "limits_fen": dict(d.limits_fen),
            "monthly_payment_fen": d.monthly_payment_fen, "total_interest_fen": d.total_interest_fen,
            "code": d.code, "message": d.message_zh}


# --- transaction kinds ------------------------------------------------------------------------------------

@handler("withdrawal")
def _withdrawal(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    p = item.payload
    amount = money(p, "amount_fen", "提取金额", required=False)
    person, acct, reason, d = withdrawal_decision(session, p.get("id_number"), p.get("reason"), amount,
                                                  p.get("evidence"), lock=True)
    if not d.allowed:
        raise Refusal(d.code, d.message_zh, f"withdrawal {reason.code} refused by rule: {d.code}")
    if amount is None:
        if not d.closes_account:
            raise Refusal("AMOUNT_INVALID", "请输入提取金额", "partial withdrawal needs amount_fen")
        amount = d.max_amount_fen
    if amount > acct.grzhye_fen:
        raise Refusal("WITHDRAWAL_OVER_BALANCE", "提取金额超过账户余额", "amount above balance")
    card = str(p.get("bank_card") or acct.bank_card)
    serial = new_serial("TQ")
    acct.grzhye_fen -= amount
    session.add(Withdrawal(serial=serial, client_id=item.client_id, grzh=acct.grzh, tqyy=reason.code,
                           business_type=d.business_type.code, amount_fen=amount, bank_card=card, state="done",
                           next_eligible_date=d.next_eligible_date, created_at=utcnow()))
    session.add(DepositRecord(ywlsh=serial, grzh=acct.grzh, jzrq=today(), gjhtqywlx=d.business_type.code,
                              fse_fen=-amount, balance_after_fen=acct.grzhye_fen, tqyy=reason.code,
                              summary=f"{d.business_type.label_zh}·{reason.label_zh}"[:64]))
    if d.closes_account:
        acct.grzhzt = PersonAccountState.WITHDRAWN_CLOSED.code
    return {"serial": serial, "amount_fen": amount, "balance_after_fen": acct.grzhye_fen,
            "business_type": d.business_type.code, "closes_account": d.closes_account,
            "next_eligible_date": d.next_eligible_date.isoformat() if d.next_eligible_date else None}


def _flexible_check(person: Person, base_fen: int, r: Decimal, existing: Optional[PersonAccountState]):
    from center.rules.flexible import check_flexible_opening
    d = check_flexible_opening(person.csny, Gender.MALE if person.xingbie == "1" else Gender.FEMALE, base_fen, r,
                               today(), policy(), existing_account=existing)
    if not d.allowed:
        raise Refusal(d.code, d.message_zh, f"flexible deposit refused by rule: {d.code}")
    return d


def _card(p: dict) -> str:
    from kiosk.domain.numbers import BankCard
    try:
        return BankCard.parse(str(p.get("debit_card", ""))).number
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))


def _agreement(session, acct: PersonalAccount, base: int, r: Decimal, monthly: int, card: str) -> FlexibleAgreement:
    for old in session.scalars(select(FlexibleAgreement).where(FlexibleAgreement.grzh == acct.grzh,
                                                               FlexibleAgreement.state == "normal")):
        old.state = "terminated"
    ag = FlexibleAgreement(agreement_no=new_serial("XY"), grzh=acct.grzh, base_fen=base,
                           ratio_bp=int(r * 10000), monthly_fen=monthly, debit_card=card, state="normal",
                           signed_at=utcnow())
    session.add(ag)
    acct.grjcjs_fen, acct.dwjcbl_bp, acct.grjcbl_bp, acct.bank_card = base, 0, int(r * 10000), card
    return ag


@handler("flexible_open")
def _flexible_open(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """灵活就业开户 + 缴存协议: {id_number, name?, phone?, base_fen, ratio|ratio_bp, debit_card}."""
    p = item.payload
    base, r, card = money(p, "base_fen", "缴存基数"), ratio(p), _card(p)
    try:
        rid = ResidentId.parse(str(p.get("id_number", "")))
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    person = session.scalar(select(Person).where(Person.zjhm == rid.number))
    if person is None:
        name = str(p.get("name") or "").strip()
        if not name or len(name) > 64:
            raise Refusal("VALIDATION_FAILED", "缺少姓名", "new person needs a name")
        person = Person(zjhm=rid.number, xingming=name, xingbie="1" if rid.gender is Gender.MALE else "2",
                        csny=rid.birth_date, sjhm=str(p.get("phone") or "")[:16])
        session.add(person)
        session.flush()
    acct = session.scalar(select(PersonalAccount).where(PersonalAccount.person_id == person.id))
    existing = PersonAccountState.from_code(acct.grzhzt) if acct else None
    if acct is not None and acct.flexible and existing is PersonAccountState.NORMAL:
        raise Refusal("FLEX_ACCOUNT_EXISTS", "您已开立灵活就业缴存账户", "flexible account already open")
    d = _flexible_check(person, base, r, existing)
    if acct is None:
        n = session.scalar(select(func.count()).select_from(PersonalAccount)) + 1
        acct = PersonalAccount(grzh=f"99{today():%y%m%d}{n % 100000:05d}", person_id=person.id, grzhzt="01",
                               khrq=today(), jzny="", flexible=True, grzhye_fen=0)
        session.add(acct)
    else:                      # a sealed account is re-opened (启封) as a flexible one
        acct.grzhzt, acct.flexible, acct.dwzh = "01", True, None
    session.flush()
    ag = _agreement(session, acct, base, r, d.monthly_amount_fen, card)
    return {"grzh": acct.grzh, "agreement_no": ag.agreement_no, "monthly_amount_fen": d.monthly_amount_fen}


@handler("flexible_sign")
def _flexible_sign(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """Signs a new deposit agreement (base, ratio, debit card) for an existing flexible account."""
    p = item.payload
    person = find_person(session, p.get("id_number"))
    acct = find_account(session, person, lock=True)
    if not acct.flexible:
        raise Refusal("FLEX_NOT_FLEXIBLE", "您的账户由单位缴存，不能签订灵活就业缴存协议", "account is employer-paid")
    base, r, card = money(p, "base_fen", "缴存基数"), ratio(p), _card(p)
    d = _flexible_check(person, base, r, None)
    ag = _agreement(session, acct, base, r, d.monthly_amount_fen, card)
    return {"grzh": acct.grzh, "agreement_no": ag.agreement_no, "monthly_amount_fen": d.monthly_amount_fen}


@handler("deposit")
def _deposit(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """灵活就业缴存: {id_number, months (1..12), amount_fen = months × monthly amount of the agreement}."""
    from kiosk.domain.loan import add_months
    p = item.payload
    person = find_person(session, p.get("id_number"))
    acct = find_account(session, person, lock=True)
    if not acct.flexible:
        raise Refusal("FLEX_NOT_FLEXIBLE", "单位缴存账户请由单位办理汇缴", "deposit kind is for flexible depositors")
    if acct.grzhzt != "01":
        raise Refusal("ACCOUNT_STATE", f"账户状态为“{PersonAccountState.from_code(acct.grzhzt).label_zh}”，不能缴存",
                      f"account state {acct.grzhzt}")
    ag = session.scalar(select(FlexibleAgreement).where(FlexibleAgreement.grzh == acct.grzh,
                                                        FlexibleAgreement.state == "normal"))
    if ag is None:
        raise Refusal("FLEX_NO_AGREEMENT", "请先签订缴存协议", "no active flexible agreement")
    months = p.get("months", 1)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise Refusal("VALIDATION_FAILED", "缴存月数应为1至12个月", "months must be 1..12")
    amount = money(p, "amount_fen", "缴存金额")
    if amount != months * ag.monthly_fen:
        raise Refusal("DEPOSIT_AMOUNT_MISMATCH", "缴存金额与协议约定不符",
                      f"amount {amount} != {months} × {ag.monthly_fen}")
    start = add_months(_month_start(acct.jzny), 1) if acct.jzny else today().replace(day=1)
    for k in range(months):
        m = add_months(start, k)
        acct.grzhye_fen += ag.monthly_fen
        session.add(DepositRecord(ywlsh=new_serial("HJ") + f"{k:02d}", grzh=acct.grzh, jzrq=today(),
                                  gjhtqywlx="01", ssny=f"{m:%Y%m}", fse_fen=ag.monthly_fen,
                                  balance_after_fen=acct.grzhye_fen, summary="灵活就业汇缴"))
        acct.jzny = f"{m:%Y%m}"
    return {"grzh": acct.grzh, "paid_up_to": acct.jzny, "balance_after_fen": acct.grzhye_fen}


@handler("loan_preapply")
def _loan_preapply(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    p = item.payload
    if money(p, "amount_fen", "申请金额") is None:
        raise Refusal("AMOUNT_INVALID", "请输入申请金额", "amount_fen required")
    person, app, d = loan_decision(session, p.get("id_number"), p)
    if not d.allowed:
        raise Refusal(d.code, d.message_zh, f"loan pre-application refused by rule: {d.code}")
    serial = new_serial("DK")
    session.add(LoanApplication(serial=serial, client_id=item.client_id, person_id=person.id,
                                amount_fen=app.requested_fen, months=app.months, created_at=utcnow()))
    return {"serial": serial, **loan_decision_dict(d)}


def loan_schedule(session, loan: Loan):
    from kiosk.domain.loan import Installment, LoanSchedule
    rows = list(session.scalars(select(LoanInstallment).where(LoanInstallment.jkhtbh == loan.jkhtbh)
                                .order_by(LoanInstallment.period)))
    inst = tuple(Installment(r.period, r.due_date, r.principal_fen + r.interest_fen, r.principal_fen, r.interest_fen,
                             r.balance_after_fen) for r in rows)
    return rows, LoanSchedule(loan.htdkje_fen, Decimal(loan.dkll), RepaymentMethod.from_code(loan.dkhkfs), inst)


def _with_balance(sched, after: int, balance_fen: int):
    """The schedule with the principal owed after period `after` set to the loan's real balance (DKYE): stored rows
    keep the balance of their day, and an earlier partial prepayment has lowered it since."""
    from dataclasses import replace

    from kiosk.domain.loan import LoanSchedule
    inst = tuple(replace(x, remaining_fen=balance_fen) if x.period == after else x for x in sched.installments)
    return LoanSchedule(sched.principal_fen, sched.annual_rate, sched.method, inst)


@handler("loan_prepayment")
def _loan_prepayment(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """提前还款: {id_number, contract_no, amount_fen, mode: shorten | reduce | full}."""
    from kiosk.domain.loan import PrepayMode, full_payoff_amount, prepay
    p = item.payload
    person = find_person(session, p.get("id_number"))
    loan = session.get(Loan, str(p.get("contract_no", "")), with_for_update=True)
    if loan is None or loan.person_id != person.id:
        raise Refusal("LOAN_NOT_FOUND", "未查询到该笔贷款", "no such loan for this person")
    if loan.state == "paid_off":
        raise Refusal("LOAN_PAID_OFF", "该笔贷款已结清", "loan already paid off")
    if loan.state == "overdue" or loan.ljyqqs > 0:
        raise Refusal("LOAN_IN_ARREARS", "贷款有逾期未还款项，请先归还逾期款项", "loan in arrears")
    rows, sched = loan_schedule(session, loan)
    paid = [r for r in rows if r.state == "paid"]
    if not paid:
        raise Refusal("PREPAY_TOO_EARLY", "至少正常还款一期后才能提前还款", "no installment repaid yet")
    after = paid[-1].period
    sched = _with_balance(sched, after, loan.dkye_fen)
    mode = str(p.get("mode", "shorten"))
    amount = money(p, "amount_fen", "还款金额")
    try:
        if mode == "full":
            due = full_payoff_amount(sched, after, today())
            if amount < due:
                raise Refusal("PREPAY_AMOUNT_SHORT", "还款金额不足以结清贷款", f"full payoff needs {due} fen")
            for r in rows:
                if r.state != "paid":
                    r.state = "settled"
            session.add(LoanRepayment(jkhtbh=loan.jkhtbh, kind="06", paid_on=today(), principal_fen=loan.dkye_fen,
                                      interest_fen=due - loan.dkye_fen, client_id=item.client_id, mode="full"))
            loan.dkye_fen, loan.state, loan.dkjqrq = 0, "paid_off", today()
            return {"contract_no": loan.jkhtbh, "paid_fen": due, "balance_after_fen": 0, "paid_off": True}
        pm = {"shorten": PrepayMode.SHORTEN_TERM, "reduce": PrepayMode.REDUCE_PAYMENT}.get(mode)
        if pm is None:
            raise Refusal("VALIDATION_FAILED", "提前还款方式应为缩期或减额", "mode must be shorten, reduce or full")
        if amount >= loan.dkye_fen:
            raise Refusal("PREPAY_USE_FULL", "还款金额已达贷款余额，请选择全部结清", "amount covers the balance")
        new = prepay(sched, after, amount, pm)
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    for r in rows:
        if r.state != "paid":
            session.delete(r)
    session.flush()
    for x in new.installments:
        session.add(LoanInstallment(jkhtbh=loan.jkhtbh, period=x.period, due_date=x.due_date,
                                    principal_fen=x.principal_fen, interest_fen=x.interest_fen,
                                    balance_after_fen=x.remaining_fen, state="due"))
    session.add(LoanRepayment(jkhtbh=loan.jkhtbh, kind="03", paid_on=today(), principal_fen=amount,
                              client_id=item.client_id, mode=mode))
    loan.dkye_fen -= amount
    return {"contract_no": loan.jkhtbh, "paid_fen": amount, "balance_after_fen": loan.dkye_fen,
            "remaining_periods": new.months, "next_payment_fen": new.first_payment_fen, "mode": mode}


@handler("transfer_in")
def _transfer_in(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """转移接续 (转入) application: {id_number, from_center (6-char code), from_center_name?}."""
    from center.rules.transfer import TransferError, letter_number
    p = item.payload
    person = find_person(session, p.get("id_number"))
    acct = find_account(session, person)
    if acct.grzhzt not in ("01", "02"):
        raise Refusal("ACCOUNT_STATE", "账户状态不允许办理转入", f"account state {acct.grzhzt}")
    open_case = session.scalar(select(TransferIn).where(TransferIn.person_id == person.id,
                                                        TransferIn.feedback == "2"))
    if open_case is not None:
        raise Refusal("TRANSFER_IN_PROGRESS", "您已有正在办理的转移接续业务", f"open case {open_case.letter_no}")
    from_center = str(p.get("from_center", "")).upper()
    from center.config import CenterConfig
    own = getattr(ctx, "center_code", None) or CenterConfig().center_code
    if from_center == own:
        raise Refusal("TRANSFER_SAME_CENTER", "转出地与转入地不能是同一中心", "origin equals this center")
    day = today()
    seq = session.scalar(select(func.count()).select_from(TransferIn).where(
        TransferIn.letter_no.like(f"{own}{day:%y%m%d}%"))) + 1
    try:
        letter = letter_number(own, day, seq)
        letter_number(from_center, day, 1)          # validates the origin's center code
    except TransferError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    session.add(TransferIn(letter_no=letter, client_id=item.client_id, person_id=person.id, from_center=from_center,
                           from_center_name=str(p.get("from_center_name", ""))[:64], feedback="2",
                           created_at=utcnow()))
    return {"letter_no": letter, "status": "2", "status_zh": "处理中"}


@handler("phone_change")
def _phone_change(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """手机号码变更: {id_number, new_phone}; the new number must have passed /v1/identity/sms/verify
    (purpose phone_change) within the code's validity. The proof is used up."""
    from kiosk.domain.masking import mask_phone
    from kiosk.domain.numbers import parse_mobile
    p = item.payload
    person = find_person(session, p.get("id_number"), lock=True)
    try:
        phone = parse_mobile(str(p.get("new_phone", "")))
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    proof = session.scalar(select(SmsCode).where(
        SmsCode.phone == phone, SmsCode.purpose == "phone_change", SmsCode.used.is_(True),
        SmsCode.consumed.is_(False), SmsCode.created_at > utcnow() - timedelta(minutes=15))
        .order_by(SmsCode.id.desc()).limit(1))
    if proof is None:
        raise Refusal("SMS_NOT_VERIFIED", "新手机号码未通过短信验证", "no verified phone_change SMS for that number")
    proof.consumed = True
    person.sjhm = phone
    return {"phone_masked": mask_phone(phone)}
