"""A depositor asks to withdraw; the center's rule answers yes (with the most they can take) or no (with why)."""
from dataclasses import replace
from datetime import date

import pytest

from center.rules.facts import WithdrawalEvidence as Ev
from center.rules.withdrawal import check_withdrawal
from kiosk.domain.codes import PersonAccountState as S, WithdrawalBusinessType, WithdrawalReason as R

ON = date(2025, 6, 2)   # the day the requests are decided (2025-05-08 rates, Quzhou baseline policy)
with_ = replace         # the same person with some facts changed

RETIRED = dict(birth_date=date(1960, 1, 1))            # man, retired 2020
SEALED_LONG = dict(account_state=S.SEALED, sealed_since=date(2024, 6, 1))

ACCEPT = {
    R.PURCHASE: ({}, Ev(dwelling_id="330802-001", house_price_fen=100_000_000, house_loans_fen=97_000_000,
                         contract_date=date(2024, 12, 1)), 3_000_000),
    R.BUILD_REPAIR: ({}, Ev(house_price_fen=5_000_000, contract_date=date(2025, 3, 1)), 5_000_000),
    R.RETIREMENT: (RETIRED, Ev(), None),
    R.INCAPACITY: ({}, Ev(incapacity_certified=True), None),
    R.EMIGRATION: ({}, Ev(emigration_proven=True), None),
    R.LOAN_REPAYMENT: (dict(outstanding_loan_fen=30_000_000), Ev(loan_repaid_periods=12,
                                                                  loan_due_last_12m_fen=2_400_000), 2_400_000),
    R.RENT: ({}, Ev(monthly_rent_fen=150_000, rent_months=3), 450_000),
    R.DEATH: ({}, Ev(death_certified=True), None),
    R.SERIOUS_ILLNESS: ({}, Ev(out_of_pocket_fen=2_000_000, event_date=date(2025, 1, 10)), 2_000_000),
    R.LIFT_INSTALLATION: ({}, Ev(out_of_pocket_fen=3_000_000, event_date=date(2024, 10, 1)), 3_000_000),
    R.RENOVATION: ({}, Ev(out_of_pocket_fen=1_000_000, event_date=date(2025, 5, 1)), 1_000_000),
    R.UNEMPLOYMENT: (SEALED_LONG, Ev(), None),
}

REFUSE = {
    R.PURCHASE: [({}, Ev(dwelling_id="330802-001", house_price_fen=100_000_000, contract_date=date(2022, 1, 1)),
                  "WD_PURCHASE_EXPIRED"),
                 ({}, Ev(dwelling_id="D1", house_price_fen=1, contract_date=ON,
                         dwellings_already_withdrawn=frozenset({"D1"})), "WD_PURCHASE_REPEAT"),
                 ({}, Ev(), "WD_EVIDENCE_MISSING")],
    R.BUILD_REPAIR: [({}, Ev(house_price_fen=5_000_000, contract_date=date(2020, 1, 1)), "WD_BUILD_EXPIRED")],
    R.RETIREMENT: [({}, Ev(), "WD_NOT_RETIRED")],
    R.INCAPACITY: [({}, Ev(), "WD_EVIDENCE_MISSING")],
    R.EMIGRATION: [({}, Ev(), "WD_EVIDENCE_MISSING")],
    R.LOAN_REPAYMENT: [(dict(outstanding_loan_fen=1, loan_in_arrears=True), Ev(loan_due_last_12m_fen=1,
                                                                                 loan_repaid_periods=3),
                        "WD_LOAN_ARREARS"),
                       ({}, Ev(loan_due_last_12m_fen=100, loan_repaid_periods=0), "WD_LOAN_TOO_EARLY")],
    R.RENT: [(dict(owns_home_in_city=True), Ev(monthly_rent_fen=100_000), "WD_RENT_OWNS_HOME"),
             (dict(continuous_months=2), Ev(monthly_rent_fen=100_000), "WD_RENT_CONTINUOUS"),
             ({}, Ev(monthly_rent_fen=100_000, rent_withdrawn_last_12m_fen=2_400_000), "WD_RENT_YEAR_CAP")],
    R.DEATH: [({}, Ev(), "WD_EVIDENCE_MISSING")],
    R.SERIOUS_ILLNESS: [({}, Ev(out_of_pocket_fen=100, event_date=date(2023, 1, 1)), "WD_EVENT_EXPIRED")],
    R.LIFT_INSTALLATION: [({}, Ev(), "WD_EVIDENCE_MISSING")],
    R.RENOVATION: [({}, Ev(out_of_pocket_fen=100, event_date=date(2022, 1, 1)), "WD_EVENT_EXPIRED")],
    R.UNEMPLOYMENT: [({}, Ev(), "WD_NOT_SEALED"),
                     (dict(account_state=S.SEALED, sealed_since=date(2025, 3, 1)), Ev(), "WD_SEALED_TOO_SHORT"),
                     (SEALED_LONG, Ev(reemployed=True), "WD_REEMPLOYED")],
    R.OTHER: [({}, Ev(), "WD_COUNTER_ONLY")],
}


def test_every_reason_code_has_an_accept_and_a_refuse_story():
    assert set(ACCEPT) | {R.OTHER} == set(R) and set(REFUSE) == set(R)


@pytest.mark.parametrize("reason", list(ACCEPT), ids=lambda r: r.name)
def test_accepted_withdrawal(person, policy, reason):
    overrides, evidence, amount = ACCEPT[reason]
    facts = with_(person, **overrides)
    d = check_withdrawal(facts, reason, amount, ON, policy, evidence)
    assert d.allowed, (d.code, d.message_zh)
    assert d.code == "OK" and d.message_zh
    if reason.closes_account:
        assert d.closes_account and d.max_amount_fen == facts.balance_fen
        assert d.business_type is WithdrawalBusinessType.CLOSING
    else:
        assert not d.closes_account and d.business_type is WithdrawalBusinessType.PARTIAL
        assert amount <= d.max_amount_fen < facts.balance_fen
        assert d.next_eligible_date is not None and d.next_eligible_date > ON


@pytest.mark.parametrize("reason, overrides, evidence, code",
                         [(r, o, e, c) for r, cases in REFUSE.items() for o, e, c in cases],
                         ids=lambda x: x.name if isinstance(x, R) else (x if isinstance(x, str) else ""))
def test_refused_withdrawal_says_why(person, policy, reason, overrides, evidence, code):
    d = check_withdrawal(with_(person, **overrides), reason, None, ON, policy, evidence)
    assert not d.allowed and d.code == code and d.refusal_code == code
    assert d.message_zh and not d.message_zh.isascii()


def test_frozen_account_cannot_withdraw(person, policy):
    d = check_withdrawal(with_(person, account_state=S.FROZEN), R.RENT, None, ON, policy, Ev(monthly_rent_fen=1000))
    assert d.code == "WD_ACCOUNT_FROZEN"


@pytest.mark.parametrize("state", [S.MERGED_CLOSED, S.TRANSFERRED_OUT, S.WITHDRAWN_CLOSED])
def test_closed_account_cannot_withdraw(person, policy, state):
    assert check_withdrawal(with_(person, account_state=state), R.RETIREMENT, None, ON, policy).code == \
        "WD_ACCOUNT_CLOSED"


def test_withdrawal_in_progress_blocks_another(person, policy):
    d = check_withdrawal(with_(person, withdrawal_in_progress=True), R.RENT, None, ON, policy,
                         Ev(monthly_rent_fen=100_000))
    assert d.code == "WD_IN_PROGRESS"


def test_outstanding_loan_allows_only_loan_repayment(person, policy):
    borrower = with_(person, outstanding_loan_fen=10_000_000)
    for reason in (R.RENT, R.RETIREMENT, R.SERIOUS_ILLNESS, R.PURCHASE):
        assert check_withdrawal(borrower, reason, None, ON, policy, Ev(monthly_rent_fen=1)).code == \
            "WD_LOAN_OUTSTANDING"
    d = check_withdrawal(borrower, R.LOAN_REPAYMENT, None, ON, policy,
                         Ev(loan_repaid_periods=6, loan_due_last_12m_fen=50_000_000))
    assert d.allowed and d.max_amount_fen == person.balance_fen - 1   # capped by the balance, never zero


def test_sealed_account_rent_allowed_but_not_other(person, policy):
    sealed = with_(person, account_state=S.SEALED)
    assert check_withdrawal(sealed, R.OTHER, None, ON, policy).code == "WD_ACCOUNT_SEALED"
    assert check_withdrawal(sealed, R.RENT, None, ON, policy, Ev(monthly_rent_fen=100_000)).allowed


def test_rent_is_capped_per_month_and_per_twelve_months(person, policy):
    d = check_withdrawal(person, R.RENT, None, ON, policy, Ev(monthly_rent_fen=350_000, rent_months=3))
    assert d.max_amount_fen == 3 * 200_000                       # 2,000 yuan a month
    d = check_withdrawal(person, R.RENT, None, ON, policy,
                         Ev(monthly_rent_fen=350_000, rent_months=12, rent_withdrawn_last_12m_fen=2_000_000))
    assert d.max_amount_fen == 400_000                           # 24,000 a year, 20,000 already taken
    d = check_withdrawal(person, R.RENT, 600_001, ON, policy, Ev(monthly_rent_fen=350_000, rent_months=3))
    assert d.code == "WD_OVER_LIMIT" and d.max_amount_fen == 600_000 and "6,000.00" in d.message_zh
    d = check_withdrawal(person, R.RENT, None, ON, policy,
                         Ev(monthly_rent_fen=350_000, rent_months=2, public_rental_housing=True))
    assert d.max_amount_fen == 700_000                           # public rental housing: actual rent
    assert d.next_eligible_date == date(2025, 8, 2)


def test_too_soon_after_the_last_withdrawal(person, policy):
    facts = with_(person, next_eligible={R.RENT: date(2025, 7, 1)})
    d = check_withdrawal(facts, R.RENT, None, ON, policy, Ev(monthly_rent_fen=100_000))
    assert d.code == "WD_TOO_SOON" and d.next_eligible_date == date(2025, 7, 1) and "2025年07月01日" in d.message_zh
    assert check_withdrawal(facts, R.RENT, None, date(2025, 7, 1), policy, Ev(monthly_rent_fen=100_000)).allowed


def test_purchase_is_limited_by_price_minus_loans_and_relatives(person, policy):
    ev = Ev(dwelling_id="D9", house_price_fen=100_000_000, house_loans_fen=98_000_000,
            already_withdrawn_for_dwelling_fen=1_500_000, contract_date=date(2025, 1, 1))
    assert check_withdrawal(person, R.PURCHASE, None, ON, policy, ev).max_amount_fen == 500_000


def test_partial_withdrawal_never_zeroes_the_balance(person, policy):
    ev = Ev(dwelling_id="D9", house_price_fen=500_000_000, contract_date=date(2025, 1, 1))
    d = check_withdrawal(person, R.PURCHASE, person.balance_fen, ON, policy, ev)
    assert not d.allowed and d.code == "WD_PARTIAL_WOULD_ZERO"
    assert d.max_amount_fen == person.balance_fen - 1
    assert check_withdrawal(person, R.PURCHASE, person.balance_fen + 1, ON, policy, ev).code == "WD_OVER_BALANCE"
    assert check_withdrawal(person, R.PURCHASE, 0, ON, policy, ev).code == "WD_AMOUNT_INVALID"


def test_closing_withdrawal_pays_everything(person, policy):
    retired = with_(person, **RETIRED)
    d = check_withdrawal(retired, R.RETIREMENT, retired.balance_fen, ON, policy)
    assert d.allowed and d.closes_account and d.max_amount_fen == retired.balance_fen
    d = check_withdrawal(retired, R.RETIREMENT, 100, ON, policy)
    assert d.code == "WD_CLOSING_FULL_AMOUNT"


def test_women_retire_by_their_category(person, policy):
    from kiosk.domain.codes import Gender
    worker = with_(person, gender=Gender.FEMALE, birth_date=date(1974, 12, 1), female_original_retirement_age=50)
    assert check_withdrawal(worker, R.RETIREMENT, None, ON, policy).allowed       # 50 on 2024-12-01
    cadre = with_(worker, female_original_retirement_age=55)
    assert check_withdrawal(cadre, R.RETIREMENT, None, ON, policy).code == "WD_NOT_RETIRED"


def test_fraud_ban(person, policy):
    d = check_withdrawal(with_(person, fraud_ban_until=date(2027, 1, 1)), R.RETIREMENT, None, ON, policy)
    assert d.code == "WD_FRAUD_BAN"
