"""Loan rules (贷款), reference/hpf-rules.md §3. See check_loan and split_combined."""
from __future__ import annotations

from datetime import date

from center.rules.facts import LoanApplication, LoanDecision, PersonFacts
from center.rules.policy import Policy


def check_loan(facts: PersonFacts, application: LoanApplication, on: date, policy: Policy) -> LoanDecision:
    """Eligibility, maximum amount = min(city cap, balance × multiple, price × (1 − down payment), capacity)
    rounded down to policy.loan.round_down_fen, term limit, rate, and a trial schedule."""
    raise NotImplementedError


def split_combined(facts: PersonFacts, application: LoanApplication, on: date, policy: Policy):
    """Combined loan (组合贷款): HPF part first (its own limit), commercial part = need − HPF part at LPR."""
    raise NotImplementedError
