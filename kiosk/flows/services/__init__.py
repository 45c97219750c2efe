"""Resident service flows (Qt-free): one state machine per item on kiosk.flows.base.Flow.

    registry.py         items: code -> flow, identity level, offline policy; flow_for(), build_context()
    base.py             ServiceFlow: shared states (Svc), identification, card reads, submit, printing, view()
    ports.py            ServicesPort (the center as the flows see it) + HttpServicesCenter over sync's signed
                        client; receipt / A4 printer ports over the printing devices (reprint after a failure)
    desk.py             TransactionDesk: every transaction through sync's journal (online, store-and-forward)
    account.py          overview, deposit details by year (paged), loans, A4 account statement
    withdrawal.py       withdrawal by reason
    flexible.py         flexible employment: open + sign with a card, one-off deposit from the signed card
    loan.py             calculator (offline), schedule, prepayment (partial/full), pre-application
    certificates.py     deposit-use and payoff certificates (A4 + slip with the verification code)
    transfer.py         transfer-in (转移接续) and its status
    account_services.py phone change (SMS to the new number), query password, repayment account
    info.py             guides / notices / FAQ / hotline (offline), progress query, evaluation

Tests: tests/flows (real reference center over loopback, simulated devices)."""
