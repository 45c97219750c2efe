"""Withdrawal rules (提取), reference/hpf-rules.md §2. See check_withdrawal."""
from __future__ import annotations

from datetime import date

from center.rules.facts import Decision, PersonFacts, WithdrawalEvidence
from center.rules.policy import Policy
from kiosk.domain.codes import WithdrawalReason


def check_withdrawal(facts: PersonFacts, reason: WithdrawalReason, amount_fen: int | None, on: date,
                     policy: Policy, evidence: WithdrawalEvidence | None = None) -> Decision:
    """Decide a withdrawal request. amount_fen None -> just report the maximum.

    Returns Decision(allowed, max_amount_fen, closes_account, business_type, next_eligible_date, code,
    message_zh). Never raises for business refusals; raises only for programming errors."""
    raise NotImplementedError
