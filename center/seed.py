"""Synthetic data: the documented demo persons (center/README.md) and N random persons with valid ID numbers,
accounts, deposit histories and loans in every state. Deterministic for a given --seed."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from center.models import (Branch, CatalogState, DepositRecord, Employer, Loan, LoanInstallment, LoanRepayment,
                           Person, PersonalAccount, Teller, TransferIn, utcnow)
from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.ids import check_char
from kiosk.domain.loan import add_months, build_schedule
from kiosk.domain.rates import rate_for

log = logging.getLogger(__name__)

EMPLOYERS = [  # (dwzh, uscc, name)
    ("980101000001", "9144030071526726XG", "衢州示范科技有限公司"),
]
DEMO_TELLERS = [("T0001", "钱柜员", "teller", "teller-pass-1"), ("S0001", "孙主管", "supervisor", "super-pass-1")]


@dataclass(frozen=True)
class DemoPerson:
    id_number: str
    name: str
    phone: str
    story: str


DEMO_PERSONS = [
    DemoPerson("330802198503151230", "张建国", "13805700001", "正常缴存，无贷款，无房：租房提取、贷款额度、证明"),
    DemoPerson("330802197807201247", "李秀英", "13805700002", "正常缴存，公积金贷款还款中：偿还贷款提取、提前还款"),
    DemoPerson("330802197011021259", "王强", "13805700003", "贷款已结清：结清证明"),
    DemoPerson("330802198805091261", "赵敏", "13805700004", "贷款逾期：提取与提前还款被拒"),
    DemoPerson("330802199201301277", "陈伟", "13805700005", "账户封存8个月（离职）"),
    DemoPerson("330802198309121281", "刘芳", "13805700006", "账户冻结：一切提取被拒"),
    DemoPerson("33080219601001129X", "孙国庆", "13805700007", "已到退休年龄：退休销户提取"),
    DemoPerson("330802199506181309", "周婷", "13805700008", "无账户：灵活就业开户与签约"),
    DemoPerson("330802199002141311", "吴磊", "13805700009", "转移接续（转入）办理中"),
    DemoPerson("330802199311111335", "郑浩", "13805700010", "人脸比对总是失败（沙箱）"),
]


def id_number(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def _month(d: date) -> str:
    return f"{d:%Y%m}"


class _Seeder:
    def __init__(self, session, rng: random.Random, today: date):
        self.s, self.rng, self.today = session, rng, today
        self.serial = 0
        self.account_seq = session.scalar(select(func.count()).select_from(PersonalAccount)) or 0

    def next_serial(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.today:%y%m%d}{self.rng.randrange(10**6):06d}{self.serial:06d}"

    def person(self, zjhm: str, name: str, phone: str, *, owns_home=False) -> Person:
        born = date(int(zjhm[6:10]), int(zjhm[10:12]), int(zjhm[12:14]))
        p = Person(zjhm=zjhm, xingming=name, xingbie="1" if int(zjhm[16]) % 2 else "2", csny=born, sjhm=phone,
                   owns_home_in_city=owns_home)
        self.s.add(p)
        self.s.flush()
        return p

    def account(self, p: Person, *, months: int, base_yuan: int, ratio_bp: int = 1200, state: str = "01",
                paid_until: date | None = None, extra_fen: int = 0, flexible: bool = False) -> PersonalAccount:
        self.account_seq += 1
        paid_until = paid_until or add_months(self.today.replace(day=1), -1)
        opened = add_months(paid_until, -months + 1)
        acct = PersonalAccount(grzh=f"99{opened:%y%m%d}{self.account_seq:05d}", person_id=p.id,
                               dwzh=None if flexible else EMPLOYERS[0][0], grzhzt=state, grjcjs_fen=base_yuan * 100,
                               dwjcbl_bp=ratio_bp, grjcbl_bp=ratio_bp, khrq=opened, jzny=_month(paid_until),
                               flexible=flexible, bank_card=f"6217{self.rng.randrange(10**15):015d}",
                               bank_name="中国建设银行衢州分行")
        self.s.add(acct)
        self.s.flush()
        monthly = 2 * (base_yuan * 100 * ratio_bp // 10000)
        bal = extra_fen
        rows = []
        for k in range(months):
            m = add_months(opened, k)
            bal += monthly
            rows.append(DepositRecord(ywlsh=self.next_serial("HJ"), grzh=acct.grzh, jzrq=m.replace(day=10),
                                      gjhtqywlx="01", ssny=_month(m), fse_fen=monthly, balance_after_fen=bal,
                                      summary="汇缴"))
            if m.month == 6:
                interest = bal * 15 // 1000 // 2       # rough half-year interest at 1.5 %/yr (synthetic)
                bal += interest
                rows.append(DepositRecord(ywlsh=self.next_serial("JX"), grzh=acct.grzh, jzrq=m.replace(day=30),
                                          gjhtqywlx="09", ssny=_month(m), fse_fen=interest, fslxe_fen=interest,
                                          balance_after_fen=bal, summary="年终结息"))
        self.s.add_all(rows)
        acct.grzhye_fen = bal
        return acct

    def loan(self, p: Person, *, amount_yuan: int, months: int, granted: date, state: str) -> Loan:
        rate = rate_for(granted, True, months)
        first_due = add_months(granted, 1).replace(day=20)
        sched = build_schedule(amount_yuan * 100, rate, months, RepaymentMethod.EQUAL_INSTALLMENT, first_due)
        no = f"JK{granted:%Y%m%d}{self.rng.randrange(10**5):05d}{p.id:04d}"
        loan = Loan(jkhtbh=no, person_id=p.id, dkhkfs="01", htdkje_fen=amount_yuan * 100, dkqs=months, dkll=str(rate),
                    dkffrq=granted, dkye_fen=amount_yuan * 100, ydhkr=20, state=state,
                    fwzj_fen=amount_yuan * 100 * 10 // 7, property_address="衢州市柯城区示范路1号",
                    bank_name="中国建设银行衢州分行")
        self.s.add(loan)
        self.s.flush()
        bal = amount_yuan * 100
        overdue = 0
        for inst in sched.installments:
            if state == "paid_off":
                st = "paid"
            elif inst.due_date and inst.due_date < self.today:
                st = "paid"
                if state == "overdue" and inst.due_date >= add_months(self.today, -3):
                    st, overdue = "overdue", overdue + 1
            else:
                st = "due"
            self.s.add(LoanInstallment(jkhtbh=no, period=inst.period, due_date=inst.due_date,
                                       principal_fen=inst.principal_fen, interest_fen=inst.interest_fen,
                                       balance_after_fen=inst.remaining_fen, state=st))
            if st == "paid":
                bal = inst.remaining_fen
                self.s.add(LoanRepayment(jkhtbh=no, kind="02", paid_on=inst.due_date,
                                         principal_fen=inst.principal_fen, interest_fen=inst.interest_fen))
            elif st == "overdue":
                loan.yqbjze_fen += inst.principal_fen
                loan.yqlxze_fen += inst.interest_fen
        loan.ljyqqs = overdue
        loan.dkye_fen = 0 if state == "paid_off" else bal
        if state == "paid_off":
            loan.dkjqrq = sched.installments[-1].due_date
        return loan


def seed(session_factory, persons: int = 0, seed_value: int = 20250508, today: date | None = None) -> dict:
    """Adds the demo persons (once) and `persons` random ones. Returns counts."""
    from center.security import hash_password
    today = today or date.today()
    rng = random.Random(seed_value)
    added = 0
    with session_factory() as s, s.begin():
        if s.get(CatalogState, 1) is None:
            s.add(CatalogState(id=1, revision=1))
        if s.get(Branch, "B001") is None:
            s.add(Branch(code="B001", name="建行衢州柯城支行", bank_name="中国建设银行"))
        for dwzh, uscc, name in EMPLOYERS:
            if s.get(Employer, dwzh) is None:
                s.add(Employer(dwzh=dwzh, uscc=uscc, dwmc=name, dwjcbl_bp=1200, grjcbl_bp=1200,
                               jzny=_month(add_months(today.replace(day=1), -1))))
        for tid, name, role, pw in DEMO_TELLERS:
            if s.get(Teller, tid) is None:
                s.add(Teller(teller_id=tid, name=name, branch_code="B001", role=role, password_hash=hash_password(pw)))
        s.flush()
        sd = _Seeder(s, rng, today)
        have_demo = s.scalar(select(Person).where(Person.zjhm == DEMO_PERSONS[0].id_number)) is not None
        if not have_demo:
            d = {p.name: p for p in DEMO_PERSONS}
            mk = lambda name, **kw: sd.person(d[name].id_number, name, d[name].phone, **kw)
            sd.account(mk("张建国"), months=48, base_yuan=8000)
            p = mk("李秀英", owns_home=True)
            sd.account(p, months=96, base_yuan=9000)
            sd.loan(p, amount_yuan=600_000, months=240, granted=add_months(today, -30), state="repaying")
            p = mk("王强", owns_home=True)
            sd.account(p, months=120, base_yuan=7000)
            sd.loan(p, amount_yuan=200_000, months=60, granted=add_months(today, -72), state="paid_off")
            p = mk("赵敏", owns_home=True)
            sd.account(p, months=60, base_yuan=6000)
            sd.loan(p, amount_yuan=400_000, months=360, granted=add_months(today, -24), state="overdue")
            sd.account(mk("陈伟"), months=30, base_yuan=6500, state="02",
                       paid_until=add_months(today.replace(day=1), -9))
            sd.account(mk("刘芳"), months=40, base_yuan=7000, state="06")
            sd.account(mk("孙国庆"), months=200, base_yuan=6000, ratio_bp=800)
            mk("周婷")
            p = mk("吴磊")
            sd.account(p, months=3, base_yuan=7500)
            s.add(TransferIn(letter_no=f"{'C33080'}{today:%y%m%d}0001", person_id=p.id, from_center="C33010",
                             from_center_name="杭州住房公积金管理中心", amount_fen=4_523_100, feedback="2",
                             created_at=utcnow()))
            sd.account(mk("郑浩"), months=24, base_yuan=7000)
            added += len(DEMO_PERSONS)
        states = ["repaying", "repaying", "paid_off", "overdue"]
        regions = ["330802", "330803", "330822", "330881", "330824", "110105", "440305"]
        surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
        given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
        for i in range(persons):
            born = date(rng.randint(1962, 2004), rng.randint(1, 12), rng.randint(1, 28))
            for _ in range(50):
                zjhm = id_number(rng.choice(regions), born, rng.randint(0, 999))
                if s.scalar(select(Person.id).where(Person.zjhm == zjhm)) is None:
                    break
            name = rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.randint(1, 2)))
            phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            p = sd.person(zjhm, name, phone, owns_home=rng.random() < 0.4)
            state = rng.choices(["01", "02", "06"], [90, 8, 2])[0]
            sd.account(p, months=rng.randint(4, 120), base_yuan=rng.randrange(3000, 20000, 100),
                       ratio_bp=rng.choice([500, 800, 1000, 1200]), state=state,
                       paid_until=None if state != "02" else add_months(today.replace(day=1), -rng.randint(2, 14)))
            if rng.random() < 0.35:
                st = states[i % len(states)]
                granted = add_months(today, -rng.randint(13, 100)) if st == "paid_off" else add_months(today, -rng.randint(6, 60))
                sd.loan(p, amount_yuan=rng.randrange(100_000, 800_000, 10_000),
                        months=60 if st == "paid_off" else rng.choice([120, 240, 360]), granted=granted, state=st)
            added += 1
    log.info("seeded %d persons", added)
    return {"persons_added": added}


def seed_if_empty(session_factory, persons: int = 20, **kw) -> dict:
    with session_factory() as s, s.begin():
        have = s.scalar(select(func.count()).select_from(Person))
        if have and s.get(CatalogState, 1) is None:
            s.add(CatalogState(id=1, revision=1))
    if have:
        return {"persons_added": 0}
    return seed(session_factory, persons=persons, **kw)
