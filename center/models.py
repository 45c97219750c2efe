"""The center's data model. Column names follow the national data standard's codes where one exists
(GRZHZT account state, JZNY paid-up month, GJHTQYWLX business type, TQYY withdrawal reason ...).

Money is integer fen everywhere. Times are aware UTC; a "day" for reconciliation is the Asia/Shanghai day."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """Stores aware UTC datetimes; SQLite gives naive values back, so they are re-tagged as UTC."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: store aware UTC")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


# --- organisation ------------------------------------------------------------------------------------

class Branch(Base):
    __tablename__ = "branches"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    bank_name: Mapped[str] = mapped_column(String(128), default="")


class Terminal(Base):
    __tablename__ = "terminals"
    terminal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    branch_code: Mapped[Optional[str]] = mapped_column(ForeignKey("branches.code"), nullable=True)
    channel: Mapped[str] = mapped_column(String(32), default="self_service")
    secret: Mapped[Optional[bytes]] = mapped_column(LargeBinary, nullable=True)       # HMAC key, set at enrollment
    enroll_code_hash: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    enroll_code_expires: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    enrolled_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    log_upload_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class Teller(Base):
    __tablename__ = "tellers"
    teller_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    branch_code: Mapped[Optional[str]] = mapped_column(ForeignKey("branches.code"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="teller")     # teller | supervisor
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)


class TellerToken(Base):
    __tablename__ = "teller_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    teller_id: Mapped[str] = mapped_column(ForeignKey("tellers.teller_id"))
    terminal_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Employer(Base):
    __tablename__ = "employers"
    dwzh: Mapped[str] = mapped_column(String(20), primary_key=True)             # 单位账号
    uscc: Mapped[str] = mapped_column(String(18), unique=True)                  # 统一社会信用代码
    dwmc: Mapped[str] = mapped_column(String(128))                              # 单位名称
    dwzhzt: Mapped[str] = mapped_column(String(2), default="01")                # 单位账户状态
    dwjcbl_bp: Mapped[int] = mapped_column(Integer, default=700)                # 单位缴存比例, basis points
    grjcbl_bp: Mapped[int] = mapped_column(Integer, default=700)                # 个人缴存比例
    jzny: Mapped[str] = mapped_column(String(6), default="")                    # 缴至年月 YYYYMM
    dwfxr: Mapped[int] = mapped_column(Integer, default=10)                     # 发薪日


# --- persons and accounts ----------------------------------------------------------------------------

class Person(Base):
    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    zjlx: Mapped[str] = mapped_column(String(2), default="01")                  # 证件类型
    zjhm: Mapped[str] = mapped_column(String(32), unique=True)                  # 证件号码
    xingming: Mapped[str] = mapped_column(String(64))
    xingbie: Mapped[str] = mapped_column(String(1))                             # 1 男 2 女
    csny: Mapped[date] = mapped_column(Date)                                    # 出生日期
    sjhm: Mapped[str] = mapped_column(String(16), default="")                   # 手机号码
    hyzk: Mapped[str] = mapped_column(String(2), default="10")                  # 婚姻状况
    jtysr_fen: Mapped[int] = mapped_column(BigInteger, default=0)               # 家庭月收入
    owns_home_in_city: Mapped[bool] = mapped_column(Boolean, default=False)
    fraud_ban_until: Mapped[Optional[date]] = mapped_column(Date, nullable=True)
    account: Mapped[Optional["PersonalAccount"]] = relationship(back_populates="person", uselist=False)


class PersonalAccount(Base):
    __tablename__ = "personal_accounts"
    grzh: Mapped[str] = mapped_column(String(20), primary_key=True)             # 个人账号
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    dwzh: Mapped[Optional[str]] = mapped_column(ForeignKey("employers.dwzh"), nullable=True)
    grzhzt: Mapped[str] = mapped_column(String(2), default="01")                # 个人账户状态
    grzhye_fen: Mapped[int] = mapped_column(BigInteger, default=0)              # 余额
    grjcjs_fen: Mapped[int] = mapped_column(BigInteger, default=0)              # 缴存基数
    dwjcbl_bp: Mapped[int] = mapped_column(Integer, default=700)
    grjcbl_bp: Mapped[int] = mapped_column(Integer, default=700)
    khrq: Mapped[date] = mapped_column(Date)                                    # 开户日期
    jzny: Mapped[str] = mapped_column(String(6), default="")                    # 缴至年月
    flexible: Mapped[bool] = mapped_column(Boolean, default=False)              # 灵活就业
    next_withdrawal_date: Mapped[Optional[date]] = mapped_column(Date, nullable=True)   # 下次提取日期
    bank_card: Mapped[str] = mapped_column(String(32), default="")              # GRCKZHHM
    bank_name: Mapped[str] = mapped_column(String(64), default="")              # GRCKZHKHYHMC
    person: Mapped[Person] = relationship(back_populates="account")


class DepositRecord(Base):
    __tablename__ = "deposit_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ywlsh: Mapped[str] = mapped_column(String(32), unique=True)                 # 业务流水号
    grzh: Mapped[str] = mapped_column(ForeignKey("personal_accounts.grzh"), index=True)
    jzrq: Mapped[date] = mapped_column(Date, index=True)                        # 记账日期
    gjhtqywlx: Mapped[str] = mapped_column(String(2))                           # 01 汇缴 02 补缴 ... 11 12
    ssny: Mapped[str] = mapped_column(String(6), default="")                    # 所属年月 (month paid for)
    fse_fen: Mapped[int] = mapped_column(BigInteger)                            # 发生额 (+ in, - out)
    fslxe_fen: Mapped[int] = mapped_column(BigInteger, default=0)               # 发生利息额
    balance_after_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    tqyy: Mapped[Optional[str]] = mapped_column(String(2), nullable=True)       # 提取原因 (withdrawals)
    czbz: Mapped[bool] = mapped_column(Boolean, default=False)                  # 冲账标识
    summary: Mapped[str] = mapped_column(String(64), default="")


class FlexibleAgreement(Base):
    __tablename__ = "flexible_agreements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agreement_no: Mapped[str] = mapped_column(String(32), unique=True)
    grzh: Mapped[str] = mapped_column(ForeignKey("personal_accounts.grzh"), index=True)
    base_fen: Mapped[int] = mapped_column(BigInteger)
    ratio_bp: Mapped[int] = mapped_column(Integer)
    monthly_fen: Mapped[int] = mapped_column(BigInteger)
    debit_card: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default="normal")            # normal | paused | terminated
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Withdrawal(Base):
    __tablename__ = "withdrawals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    grzh: Mapped[str] = mapped_column(ForeignKey("personal_accounts.grzh"), index=True)
    tqyy: Mapped[str] = mapped_column(String(2))
    business_type: Mapped[str] = mapped_column(String(2))                       # 11 部分 / 12 销户
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    tqfs: Mapped[str] = mapped_column(String(2), default="02")                  # 转账
    bank_card: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default="done")              # in_progress | done
    next_eligible_date: Mapped[Optional[date]] = mapped_column(Date, nullable=True)   # 下次提取日期 (this reason)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Loan(Base):
    __tablename__ = "loans"
    jkhtbh: Mapped[str] = mapped_column(String(32), primary_key=True)           # 借款合同编号
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    dkhkfs: Mapped[str] = mapped_column(String(2), default="01")                # 还款方式
    htdkje_fen: Mapped[int] = mapped_column(BigInteger)                         # 合同贷款金额
    dkqs: Mapped[int] = mapped_column(Integer)                                  # 期数
    dkll: Mapped[str] = mapped_column(String(16))                               # 年利率, Decimal fraction text "0.026"
    dkffrq: Mapped[date] = mapped_column(Date)                                  # 发放日期
    dkye_fen: Mapped[int] = mapped_column(BigInteger)                           # 贷款余额
    ydhkr: Mapped[int] = mapped_column(Integer, default=20)                     # 约定还款日
    state: Mapped[str] = mapped_column(String(16), default="repaying")          # repaying | overdue | paid_off | applied
    fwzj_fen: Mapped[int] = mapped_column(BigInteger, default=0)                # 房屋总价
    property_address: Mapped[str] = mapped_column(String(128), default="")
    bank_name: Mapped[str] = mapped_column(String(64), default="")
    dkjqrq: Mapped[Optional[date]] = mapped_column(Date, nullable=True)         # 结清日期
    ljyqqs: Mapped[int] = mapped_column(Integer, default=0)                     # 累计逾期期数
    yqbjze_fen: Mapped[int] = mapped_column(BigInteger, default=0)              # 逾期本金
    yqlxze_fen: Mapped[int] = mapped_column(BigInteger, default=0)              # 逾期利息


class LoanInstallment(Base):
    __tablename__ = "loan_installments"
    __table_args__ = (UniqueConstraint("jkhtbh", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    jkhtbh: Mapped[str] = mapped_column(ForeignKey("loans.jkhtbh"), index=True)
    period: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    interest_fen: Mapped[int] = mapped_column(BigInteger)
    balance_after_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="due")               # due | paid | overdue


class LoanRepayment(Base):
    __tablename__ = "loan_repayments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    jkhtbh: Mapped[str] = mapped_column(ForeignKey("loans.jkhtbh"), index=True)
    kind: Mapped[str] = mapped_column(String(2))                                # 02 正常 03 提前 04 逾期 05 提取还款 06 结清
    paid_on: Mapped[date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    interest_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    client_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    mode: Mapped[str] = mapped_column(String(16), default="")                   # shorten | reduce (prepayments)


class LoanApplication(Base):
    __tablename__ = "loan_applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    months: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(Base):
    __tablename__ = "certificates"
    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))                               # deposit_use | payoff
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    valid_until: Mapped[Optional[date]] = mapped_column(Date, nullable=True)


class TransferIn(Base):
    __tablename__ = "transfer_ins"
    letter_no: Mapped[str] = mapped_column(String(32), primary_key=True)        # 联系函编号
    client_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True, nullable=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    from_center: Mapped[str] = mapped_column(String(16))
    from_center_name: Mapped[str] = mapped_column(String(64), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    feedback: Mapped[str] = mapped_column(String(1), default="2")               # 0 完成 1 失败 2 处理中
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ServiceSwitch(Base):
    """Per-channel or per-terminal on/off of a service item. scope 'all', 'channel:<c>' or 'terminal:<id>'."""
    __tablename__ = "service_switches"
    __table_args__ = (UniqueConstraint("item_code", "scope"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_code: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AnnouncementRow(Base):
    __tablename__ = "announcements"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(128))
    body_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(128), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[Optional[str]] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CatalogState(Base):
    """One row: bumped on every catalog change so the ETag changes."""
    __tablename__ = "catalog_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


# --- terminal traffic ---------------------------------------------------------------------------------

class UsedNonce(Base):
    __tablename__ = "used_nonces"
    terminal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class IdempotencyRecord(Base):
    """The lock and the memory of a mutating request. Inserting the row IS taking the lock: the primary key
    makes a second concurrent insert fail on every database."""
    __tablename__ = "idempotency_records"
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)      # terminal id (or operator)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))                            # in_flight | done
    lock_token: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    response: Mapped[Optional[str]] = mapped_column(Text, nullable=True)       # JSON text
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    completed_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)


class AcceptedTransaction(Base):
    __tablename__ = "accepted_transactions"
    __table_args__ = (Index("ix_accepted_terminal_day", "terminal_id", "local_day"),)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))                          # accepted | rejected
    code: Mapped[str] = mapped_column(String(64), default="OK")
    message: Mapped[str] = mapped_column(String(256), default="")
    payload: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    teller_id: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)                 # terminal's creation time
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    local_day: Mapped[str] = mapped_column(String(10))                        # Asia/Shanghai YYYY-MM-DD received


class Evaluation(Base):
    __tablename__ = "evaluations"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(32), index=True)
    item_code: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[int] = mapped_column(Integer)                               # 1..5 (非常不满意..非常满意)
    comment: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Heartbeat(Base):
    __tablename__ = "heartbeats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_id: Mapped[str] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    software_version: Mapped[str] = mapped_column(String(32))
    queue_depth: Mapped[int] = mapped_column(Integer, default=0)
    oldest_queued_age_s: Mapped[int] = mapped_column(Integer, default=0)
    devices: Mapped[dict] = mapped_column(JSON, default=dict)
    audit_seq: Mapped[Optional[int]] = mapped_column(BigInteger, nullable=True)
    audit_hash: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    audit_flag: Mapped[str] = mapped_column(String(32), default="")           # "" | seq_backwards | hash_changed


class AuditHeadRow(Base):
    """The last audit head each terminal reported (the anchor its next head must continue)."""
    __tablename__ = "audit_heads"
    terminal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class SmsCode(Base):
    __tablename__ = "sms_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)                # verified
    consumed: Mapped[bool] = mapped_column(Boolean, default=False)            # used up by the change it proved
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class SmsOutbox(Base):
    """Sandbox SMS gateway: messages are kept here instead of being sent."""
    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseEvent(Base):
    """History of a case the other side decides (a transfer-in letter: the sending center; a loan
    pre-application: the loan officer): each step, who took it (operator | cli | sandbox) and why."""
    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(32), index=True)                 # letter_no / DK... serial
    kind: Mapped[str] = mapped_column(String(32))                               # transfer_in | loan_preapply
    action: Mapped[str] = mapped_column(String(32))                             # funds_received | complete | ...
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[Optional[int]] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    actor: Mapped[str] = mapped_column(String(32), default="operator")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
