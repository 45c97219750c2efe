"""Whatever the facts, the rules keep their promises: partial withdrawals never empty the account, closing
withdrawals pay everything, loan limits are whole thousands and never exceed any of the four limits."""
from datetime import date

from hypothesis import given, settings, strategies as st

from center.rules.facts import LoanApplication, PersonFacts, WithdrawalEvidence
from center.rules.loan import check_loan
from center.rules.policy import policy_for
from center.rules.withdrawal import check_withdrawal
from kiosk.domain.codes import Gender, PersonAccountState, RepaymentMethod, WithdrawalReason

ON = date(2025, 6, 2)
POLICY = policy_for("quzhou", ON)

facts_st = st.builds(
    PersonFacts,
    birth_date=st.dates(date(1955, 1, 1), date(2007, 1, 1)), gender=st.sampled_from(list(Gender)),
    account_state=st.sampled_from(list(PersonAccountState)), balance_fen=st.integers(0, 50_000_000),
    deposit_base_fen=st.integers(0, 5_000_000), continuous_months=st.integers(0, 240),
    outstanding_loan_fen=st.sampled_from([0, 0, 0, 10_000_000]), owns_home_in_city=st.booleans(),
    withdrawal_in_progress=st.sampled_from([False, False, True]),
    sealed_since=st.one_of(st.none(), st.dates(date(2023, 1, 1), ON)),
    loans_used=st.integers(0, 3), other_monthly_debt_fen=st.integers(0, 300_000))

evidence_st = st.builds(
    WithdrawalEvidence, dwelling_id=st.sampled_from(["", "D1"]), house_price_fen=st.integers(0, 300_000_000),
    house_loans_fen=st.integers(0, 200_000_000), contract_date=st.one_of(st.none(), st.dates(date(2022, 1, 1), ON)),
    monthly_rent_fen=st.integers(0, 1_000_000), rent_months=st.integers(1, 12),
    rent_withdrawn_last_12m_fen=st.integers(0, 3_000_000), loan_repaid_periods=st.integers(0, 24),
    loan_due_last_12m_fen=st.integers(0, 10_000_000), out_of_pocket_fen=st.integers(0, 10_000_000),
    event_date=st.one_of(st.none(), st.dates(date(2022, 1, 1), ON)), incapacity_certified=st.booleans(),
    emigration_proven=st.booleans(), death_certified=st.booleans(), reemployed=st.booleans())


@settings(max_examples=300, deadline=None)
@given(facts_st, st.sampled_from(list(WithdrawalReason)), evidence_st,
       st.one_of(st.none(), st.integers(-5, 60_000_000)))
def test_withdrawal_decisions_keep_their_promises(facts, reason, evidence, amount):
    d = check_withdrawal(facts, reason, amount, ON, POLICY, evidence)
    assert d.code and d.message_zh and d.reason is reason
    if not d.allowed:
        return
    assert facts.account_state in (PersonAccountState.NORMAL, PersonAccountState.SEALED)
    assert not facts.withdrawal_in_progress
    assert not facts.has_outstanding_loan or reason is WithdrawalReason.LOAN_REPAYMENT
    if d.closes_account:
        assert d.max_amount_fen == facts.balance_fen and amount in (None, facts.balance_fen)
    else:
        assert 0 < d.max_amount_fen < facts.balance_fen
        assert amount is None or 0 < amount <= d.max_amount_fen
        if reason is WithdrawalReason.RENT and not evidence.public_rental_housing:
            assert d.max_amount_fen <= POLICY.withdrawal.rent_cap_month_fen * evidence.rent_months
            assert d.max_amount_fen + evidence.rent_withdrawn_last_12m_fen <= POLICY.withdrawal.rent_cap_12m_fen


@settings(max_examples=200, deadline=None)
@given(facts_st, st.integers(1, 500_000_000), st.integers(1, 360), st.booleans(), st.integers(0, 2),
       st.sampled_from([RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL]))
def test_loan_limits_are_whole_thousands_within_every_limit(facts, price, months, first_home, co, method):
    app = LoanApplication(house_price_fen=price, months=months, first_home=first_home, co_borrowers=co, method=method)
    d = check_loan(facts, app, ON, POLICY)
    assert d.code and d.message_zh
    if d.allowed:
        assert d.max_amount_fen > 0 and d.max_amount_fen % POLICY.loan.round_down_fen == 0
        assert all(d.max_amount_fen <= v for v in d.limits_fen.values())
        assert months <= d.max_months <= POLICY.loan.max_term_months
        assert d.monthly_payment_fen > 0
        assert facts.account_state is PersonAccountState.NORMAL and not facts.has_outstanding_loan
