"""center.rules — the center's authoritative business rules as pure functions (no DB, no HTTP).

Public API (stable; the HTTP layer calls these):
    facts.PersonFacts, facts.WithdrawalEvidence, facts.LoanApplication, facts.Decision, facts.LoanDecision
    policy.policy_for(city, on_date) -> Policy;  policy.load_policy(path) -> PolicyBook
    withdrawal.check_withdrawal(facts, reason, amount_fen, on, policy, evidence=None) -> Decision
    loan.check_loan(facts, application, on, policy) -> LoanDecision;  loan.split_combined(...)
    flexible.check_flexible_opening(...) -> FlexibleDecision;  flexible.monthly_amount_fen(base_fen, ratio)
    transfer.letter_number(center_code, on, seq) / parse_letter_number / TransferCase (state machine)
    certificates.deposit_use_certificate(...), payoff_certificate(...), sign(...), verify(...)
Refusals carry `code` (stable, upper snake case) and `message_zh` (plain Chinese for the screen)."""
