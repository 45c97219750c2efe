"""Center additions the kiosk's resident service flows need (kiosk/flows/services), kept apart from the center
engineer's files:

  transaction kind `query_password`            设置/修改公积金查询密码: {id_number, digest}
  transaction kind `loan_repayment_account`    变更贷款还款账户:       {id_number, contract_no, bank_card}
  POST /v1/identity/query-password/verify      signed: {id_number, digest} -> {verified, attempts_left}
  POST /v1/statements                          signed, idempotent: {id_number, year} -> the center's account
                                               statement for that year, signed (Ed25519) with a verification code
  GET  /v1/statements/verify/{code}            public: is this statement the center's, and unaltered

Both kinds are ordinary transactions: signed, idempotent by client_id through center.transactions (claimed,
stored and replayed exactly as every other kind), refusals final with a code and a plain Chinese message.

The password never travels or rests in clear: the terminal sends `digest` = hex PBKDF2-HMAC-SHA256(password,
salt = "hpf-query-password:" + ID number, 100 000 rounds) (kiosk.flows.services.account_services.password_digest);
the center stores scrypt(digest) with its own random salt. 5 wrong answers lock the password for 30 minutes.

Storage: tables of their own (own MetaData), created by the center's Alembic revision 0002 (which adopts tables
an older center had created at start-up, rows and all)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import (JSON, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, insert, select,
                        update)

from center import business as B
from center.api.common import idempotent_json
from center.errors import ApiError
from center.models import Loan
from center.security import TerminalCtx, signed_terminal
from center.transactions import Refusal, handler
from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_card, mask_id_number
from sync import protocol as P
from sync.protocol import TransactionIn

log = logging.getLogger(__name__)
router = APIRouter(prefix=P.API_PREFIX, tags=["services-extra"])

META = MetaData()
passwords = Table("svc_query_passwords", META,
                  Column("person_id", Integer, primary_key=True),
                  Column("salt", LargeBinary(16), nullable=False),
                  Column("hash", LargeBinary(64), nullable=False),
                  Column("failures", Integer, nullable=False, default=0),
                  Column("locked_until", DateTime(timezone=True), nullable=True),
                  Column("updated_at", DateTime(timezone=True), nullable=False))
statements = Table("svc_statements", META,
                   Column("verification_code", String(14), primary_key=True),
                   Column("serial", String(40), nullable=False, unique=True),
                   Column("person_id", Integer, nullable=False),
                   Column("payload", JSON, nullable=False),
                   Column("signature", String(200), nullable=False),
                   Column("issued_at", DateTime(timezone=True), nullable=False))
repayment_accounts = Table("svc_loan_repayment_accounts", META,
                           Column("contract_no", String(32), primary_key=True),
                           Column("bank_card", String(19), nullable=False),
                           Column("changed_at", DateTime(timezone=True), nullable=False),
                           Column("client_id", String(64), nullable=False))
DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_FAILURES = 5
LOCK_MINUTES = 30


def install(app, engine) -> None:
    """Called by center.app.create_app: the router. The tables are created by the center's Alembic migrations
    (revision 0002); a table of META that no migration created yet is named in the log and created here."""
    from sqlalchemy import inspect
    missing = [t for t in META.sorted_tables if t.name not in set(inspect(engine).get_table_names())]
    if missing:
        log.warning("services_extra tables %s are not created by any center migration; creating them at start-up "
                    "(add an Alembic revision under center/migrations/versions)", ", ".join(t.name for t in missing))
        META.create_all(engine, tables=missing, checkfirst=True)
    app.include_router(router)


def _hash(digest: str, salt: bytes) -> bytes:
    return hashlib.scrypt(digest.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=64)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt):
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@handler("query_password")
def _query_password(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    p = item.payload
    person = B.find_person(session, p.get("id_number"), lock=True)
    digest = str(p.get("digest", ""))
    if not DIGEST.match(digest):
        raise Refusal("VALIDATION_FAILED", "查询密码格式不正确", "digest must be 64 lowercase hex characters")
    salt = secrets.token_bytes(16)
    row = {"salt": salt, "hash": _hash(digest, salt), "failures": 0, "locked_until": None, "updated_at": _now()}
    had = session.execute(select(passwords.c.person_id).where(passwords.c.person_id == person.id)).first()
    if had:
        session.execute(update(passwords).where(passwords.c.person_id == person.id).values(**row))
    else:
        session.execute(insert(passwords).values(person_id=person.id, **row))
    log.info("query password %s for %s", "changed" if had else "set", mask_id_number(person.zjhm))
    return {"changed": bool(had), "set": True}


@handler("loan_repayment_account")
def _loan_repayment_account(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    from kiosk.domain.numbers import BankCard
    p = item.payload
    person = B.find_person(session, p.get("id_number"))
    loan = session.get(Loan, str(p.get("contract_no", "")))
    if loan is None or loan.person_id != person.id:
        raise Refusal("LOAN_NOT_FOUND", "未查询到该笔贷款", "no such loan for this person")
    if loan.state == "paid_off":
        raise Refusal("LOAN_PAID_OFF", "该笔贷款已结清，无需变更还款账户", "loan already paid off")
    try:
        card = BankCard.parse(str(p.get("bank_card", ""))).number
    except DomainError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    row = {"bank_card": card, "changed_at": _now(), "client_id": item.client_id}
    had = session.execute(select(repayment_accounts.c.bank_card)
                          .where(repayment_accounts.c.contract_no == loan.jkhtbh)).first()
    if had and had.bank_card == card:
        raise Refusal("REPAYMENT_ACCOUNT_SAME", "新还款账户与当前还款账户相同", "same card as now")
    if had:
        session.execute(update(repayment_accounts).where(repayment_accounts.c.contract_no == loan.jkhtbh).values(**row))
    else:
        session.execute(insert(repayment_accounts).values(contract_no=loan.jkhtbh, **row))
    log.info("repayment account of loan %s changed to %s", loan.jkhtbh, mask_card(card))
    return {"contract_no": loan.jkhtbh, "bank_card_masked": mask_card(card)}


class VerifyIn(BaseModel):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")


def _verify(session, body: VerifyIn):
    try:
        person = B.find_person(session, body.id_number, lock=True)
    except Refusal as r:
        raise ApiError(404, r.code, r.message, r.detail)
    row = session.execute(select(passwords).where(passwords.c.person_id == person.id)).first()
    if row is None:
        raise ApiError(422, "PASSWORD_NOT_SET", "您尚未设置公积金查询密码，请选择其他核验方式", "no query password set")
    now = _now()
    if row.locked_until and _aware(row.locked_until) > now:
        raise ApiError(422, "PASSWORD_LOCKED", "查询密码错误次数过多，请30分钟后再试或选择其他核验方式",
                       "query password locked")
    if hmac.compare_digest(row.hash, _hash(body.digest, row.salt)):
        session.execute(update(passwords).where(passwords.c.person_id == person.id).values(failures=0,
                                                                                          locked_until=None))
        return 200, {"verified": True}
    failures = row.failures + 1
    locked = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
    session.execute(update(passwords).where(passwords.c.person_id == person.id).values(
        failures=0 if locked else failures, locked_until=locked))
    # returned, not raised: the failure count must be committed with this answer
    return 200, {"verified": False, "attempts_left": 0 if locked else MAX_FAILURES - failures}


@router.post("/identity/query-password/verify")
async def verify_query_password(body: VerifyIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """公积金查询密码核验 (the identification fallback 'ID card + query password'). Idempotent by key."""
    return await idempotent_json(request, ctx.terminal_id, lambda s: _verify(s, body))


# --- account statements (个人账户明细), issued and signed by the center -----------------------------------------

class StatementIn(BaseModel):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")
    year: int = Field(ge=1990, le=2100)
    # account: 个人账户明细 (every booking); annual: 年度对账单 (a finished year: totals by kind + bookings);
    # loan: 贷款明细 (the repayments of one of the person's loans in that year)
    kind: Literal["account", "annual", "loan"] = "account"
    contract_no: Optional[str] = Field(None, max_length=32)


STATEMENT_TITLES = {"account": "住房公积金个人账户明细", "annual": "住房公积金年度对账单", "loan": "住房公积金个人贷款明细"}
REPAYMENT_KINDS = {"02": "正常还款", "03": "提前还款", "04": "逾期还款", "05": "公积金提取还款", "06": "结清"}


def _annual_summary(rows) -> dict:
    """Totals of a finished year by kind of booking (01/02 deposits, 09 interest, 11/12 withdrawals)."""
    deposited = sum(r.fse_fen for r in rows if r.gjhtqywlx in ("01", "02", "08") and r.fse_fen > 0)
    interest = sum(r.fse_fen for r in rows if r.gjhtqywlx == "09")
    withdrawn = -sum(r.fse_fen for r in rows if r.fse_fen < 0)
    months = len({r.ssny for r in rows if r.gjhtqywlx in ("01", "02") and r.ssny})
    return {"deposited_fen": deposited, "interest_fen": interest, "withdrawn_fen": withdrawn,
            "other_fen": sum(r.fse_fen for r in rows) - deposited - interest + withdrawn, "months_paid": months}


def _loan_lines(session, person, contract_no, start, end):
    """The repayments of one loan of this person within [start, end], with the balance after each (counted back
    from today's balance, so the statement agrees with the loan account)."""
    from center.models import LoanRepayment
    loan = session.get(Loan, str(contract_no or ""))
    if loan is None or loan.person_id != person.id:
        raise ApiError(404, "LOAN_NOT_FOUND", "未查询到该笔贷款", "no such loan for this person")
    every = list(session.scalars(select(LoanRepayment).where(LoanRepayment.jkhtbh == loan.jkhtbh)
                                 .order_by(LoanRepayment.paid_on, LoanRepayment.id)))
    balance, after = loan.dkye_fen, {}
    for r in reversed(every):
        after[r.id] = balance
        balance += r.principal_fen
    inside = [r for r in every if start <= r.paid_on <= end]
    later = [r for r in every if r.paid_on > end]
    closing = after[inside[-1].id] if inside else (after[later[0].id] + later[0].principal_fen if later
                                                   else loan.dkye_fen)
    opening = closing + sum(r.principal_fen for r in inside)
    lines = [{"date": r.paid_on.isoformat(), "summary": REPAYMENT_KINDS.get(r.kind, r.kind),
              "principal_fen": r.principal_fen, "interest_fen": r.interest_fen + r.penalty_fen,
              "amount_fen": -(r.principal_fen + r.interest_fen + r.penalty_fen), "balance_fen": after[r.id]}
             for r in inside]
    return loan, opening, closing, lines


def _statement(session, request: Request, body: StatementIn):
    from datetime import date

    from center.api.certificates import signing_key
    from center.api.common import cfg
    from center.models import DepositRecord
    from center.rules import certificates as C
    from kiosk.domain.masking import mask_name
    from kiosk.domain.money import chinese_uppercase
    try:
        person = B.find_person(session, body.id_number)
        acct = B.find_account(session, person)
    except Refusal as r:
        raise ApiError(404 if r.code in ("PERSON_NOT_FOUND", "ACCOUNT_NOT_FOUND") else 422, r.code, r.message, r.detail)
    today = B.today()
    if body.year > today.year:
        raise ApiError(422, "STATEMENT_YEAR", "不能打印未来年度的账户明细", f"year {body.year} is in the future")
    if body.kind == "annual" and body.year >= today.year:
        raise ApiError(422, "STATEMENT_YEAR_OPEN", f"{body.year}年度尚未结束，请选择已结束的年度打印年度对账单",
                       f"annual statement for the running year {body.year}")
    start, end = date(body.year, 1, 1), min(date(body.year, 12, 31), today)
    extra: dict = {}
    if body.kind == "loan":
        loan, opening, closing, lines = _loan_lines(session, person, body.contract_no, start, end)
        extra = {"contract_no": loan.jkhtbh, "loan_amount_fen": loan.htdkje_fen}
        count = len(lines)
    else:
        rows = list(session.scalars(select(DepositRecord).where(
            DepositRecord.grzh == acct.grzh, DepositRecord.jzrq >= start, DepositRecord.jzrq <= end)
            .order_by(DepositRecord.jzrq, DepositRecord.id)))
        if rows:
            opening = rows[0].balance_after_fen - rows[0].fse_fen
            closing = rows[-1].balance_after_fen
        else:
            later = session.scalar(select(DepositRecord).where(DepositRecord.grzh == acct.grzh,
                                                               DepositRecord.jzrq > end)
                                   .order_by(DepositRecord.jzrq, DepositRecord.id).limit(1))
            opening = closing = (later.balance_after_fen - later.fse_fen) if later else acct.grzhye_fen
        lines = [{"date": r.jzrq.isoformat(), "summary": (r.summary or r.gjhtqywlx or "")[:32],
                  "amount_fen": r.fse_fen, "balance_fen": r.balance_after_fen} for r in rows]
        if body.kind == "annual":
            extra = {"summary": _annual_summary(rows)}
        count = len(rows)
    code = C.verification_code()
    prefix = {"account": "MX", "annual": "DZ", "loan": "DM"}[body.kind]
    serial = f"{prefix}{cfg(request).center_code}{today:%Y%m%d}{secrets.randbelow(10**8):08d}"
    content = {
        "type": "account_statement" if body.kind == "account" else f"{body.kind}_statement", "version": 1,
        "title": STATEMENT_TITLES[body.kind], "kind": body.kind,
        "serial": serial, "verification_code": code,
        "issuer": {"center_code": cfg(request).center_code, "center_name": cfg(request).center_name},
        "issued_on": today.isoformat(), "name_masked": mask_name(person.xingming),
        "id_number_masked": mask_id_number(person.zjhm), "id_digest": C.id_digest(serial, person.zjhm),
        "account_no": acct.grzh, "period_from": start.isoformat(), "period_to": end.isoformat(),
        "opening_fen": opening, "closing_fen": closing, "closing_uppercase": chinese_uppercase(closing),
        "lines": lines, **extra,
    }
    signature = C.sign(content, signing_key(request))
    session.execute(insert(statements).values(verification_code=code, serial=serial, person_id=person.id,
                                              payload=content, signature=signature, issued_at=_now()))
    log.info("%s statement %s (%d lines) issued for %s", body.kind, serial, count, mask_id_number(person.zjhm))
    return 200, {"serial": serial, "verification_code": code, "content": content, "signature": signature,
                 "algorithm": "Ed25519"}


@router.post("/statements")
async def issue_statement(body: StatementIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """个人账户明细 of one calendar year, from the center's books, signed; a retry with the same key replays it."""
    return await idempotent_json(request, ctx.terminal_id, lambda s: _statement(s, request, body))


@router.get("/statements/verify/{code}")
async def verify_statement(request: Request, code: str):
    """Public (no terminal signature): the printed verification code -> is the statement the center's."""
    from starlette.concurrency import run_in_threadpool

    from center.api.certificates import signing_key
    from center.api.common import db
    from center.rules import certificates as C
    norm = code.strip().upper()
    if len(norm) == 12 and "-" not in norm:
        norm = f"{norm[:4]}-{norm[4:8]}-{norm[8:]}"
    if not re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", norm):
        return {"valid": False, "code": "STATEMENT_NOT_FOUND", "message": "未查询到该账户明细，请核对验证码"}
    key = signing_key(request)

    def run():
        with db(request)() as s:
            row = s.execute(select(statements).where(statements.c.verification_code == norm)).first()
        if row is None:
            return {"valid": False, "code": "STATEMENT_NOT_FOUND", "message": "未查询到该账户明细，请核对验证码"}
        if not C.verify(row.payload, row.signature, key.public_key()):
            log.error("statement %s fails its signature check: stored content was altered", row.serial)
            return {"valid": False, "code": "STATEMENT_TAMPERED", "message": "账户明细内容与中心签名不符"}
        return {"valid": True, "code": "OK", "message": "账户明细真实有效", "serial": row.serial,
                "content": row.payload, "signature": row.signature}
    return await run_in_threadpool(run)


# --- what the printed QR codes open: <verify url>?code=XXXX-XXXX-XXXX (printing.documents.Verification) ----------

@router.get("/statements/verify")
async def verify_statement_qr(request: Request, code: str = ""):
    """Public: the QR code printed on a statement (…/statements/verify?code=…), same answer as the path form."""
    return await verify_statement(request, code)


@router.get("/certificates/verify")
async def verify_certificate_qr(request: Request, code: str = ""):
    """Public: the QR code printed on a certificate (…/certificates/verify?code=…), same answer as
    GET /certificates/verify/{code}."""
    from starlette.concurrency import run_in_threadpool

    from center import certs
    from center.api.certificates import signing_key
    from center.api.common import db
    if not re.fullmatch(r"[0-9A-Za-z-]{12,14}", code.strip()):
        return {"valid": False, "code": "CERT_NOT_FOUND", "message": "未查询到该证明，请核对验证码"}
    key = signing_key(request)

    def run():
        with db(request)() as s:
            return certs.verify_by_code(s, key, code)
    return await run_in_threadpool(run)
