"""Withdrawal rules (提取), reference/hpf-rules.md §2, with the city's values from the policy file.

Checks, in the order a refusal is reported:
1. account state: closed (03/04/05) and 其他 refused; 冻结 refused; 封存 only for the reasons the policy lists;
2. fraud ban (骗提), an unfinished (在途) withdrawal;
3. an outstanding HPF loan allows only 偿还贷款 (06);
4. the stored next eligible date (下次提取日期) for this reason;
5. the reason's own conditions and cap (below);
6. the amount: closing withdrawals pay the whole balance and close the account (销户提取, business type 12);
   a partial withdrawal (11) is at most min(cap, balance − min_remaining_fen), so it never zeroes the account.

Caps per reason: 01 purchase ≤ price − loans − what relatives already withdrew for the dwelling, once per
dwelling, contract within purchase_window_months; 02 build/repair ≤ budget − loans within build_window_months;
06 loan repayment ≤ the past 12 months' P+I, loan current, ≥ loan_repayment_min_periods repaid; 07 rent: no
home in the city, rent_min_continuous_months paid, min(rent, monthly cap) × months and ≤ the 12-month cap
(public rental housing: actual rent); 09 serious illness ≤ out-of-pocket cost within illness_window_months;
81 lift / 82 renovation ≤ own cost share within the window; 03/04/05/08 and local 83 (sealed ≥ N months, not
re-employed) close the account; 99 is decided at the counter."""
from __future__ import annotations

from datetime import date

from center.rules.facts import Decision, PersonFacts, WithdrawalEvidence
from center.rules.policy import Policy
from kiosk.domain.codes import Gender, PersonAccountState, WithdrawalBusinessType, WithdrawalReason
from kiosk.domain.loan import add_months
from kiosk.domain.money import format_yuan
from kiosk.domain.retirement import retirement_date

R = WithdrawalReason


def _refuse(reason: WithdrawalReason, code: str, message_zh: str, *, next_date: date | None = None,
            max_fen: int = 0) -> Decision:
    return Decision(False, reason, max_amount_fen=max_fen, closes_account=reason.closes_account,
                    business_type=_btype(reason), next_eligible_date=next_date, code=code, message_zh=message_zh)


def _btype(reason: WithdrawalReason) -> WithdrawalBusinessType:
    return WithdrawalBusinessType.CLOSING if reason.closes_account else WithdrawalBusinessType.PARTIAL


def _within(event: date | None, on: date, months: int) -> bool:
    return event is not None and event <= on <= add_months(event, months)


def check_withdrawal(facts: PersonFacts, reason: WithdrawalReason, amount_fen: int | None, on: date,
                     policy: Policy, evidence: WithdrawalEvidence | None = None) -> Decision:
    """Decide a withdrawal request. amount_fen None -> report the maximum (closing: the whole balance).

    Returns Decision(allowed, max_amount_fen, closes_account, business_type, next_eligible_date, code,
    message_zh). Business refusals are Decisions with allowed=False, never exceptions."""
    ev = evidence or WithdrawalEvidence()
    wp = policy.withdrawal
    state = facts.account_state

    # 1. account state
    if state.is_closed:
        return _refuse(reason, "WD_ACCOUNT_CLOSED", "您的公积金账户已销户，不能办理提取")
    if state is PersonAccountState.FROZEN:
        return _refuse(reason, "WD_ACCOUNT_FROZEN", "您的公积金账户已冻结，暂不能办理提取，请到柜台咨询")
    if state is PersonAccountState.OTHER:
        return _refuse(reason, "WD_ACCOUNT_STATE", "您的账户状态异常，请到柜台咨询")
    if state is PersonAccountState.SEALED and reason.code not in wp.sealed_allowed:
        return _refuse(reason, "WD_ACCOUNT_SEALED", f"账户封存期间不能办理“{reason.label_zh}”提取")
    if reason is R.UNEMPLOYMENT and state is not PersonAccountState.SEALED:
        return _refuse(reason, "WD_NOT_SEALED", "离职失业提取要求账户已封存")
    # 2. bans and work in progress
    if facts.fraud_ban_until and on < facts.fraud_ban_until:
        return _refuse(reason, "WD_FRAUD_BAN", f"因存在违规提取记录，{facts.fraud_ban_until:%Y年%m月%d日}前不能办理提取")
    if facts.withdrawal_in_progress:
        return _refuse(reason, "WD_IN_PROGRESS", "您有一笔提取正在办理中，请办结后再申请")
    # 3. outstanding loan
    if facts.has_outstanding_loan and reason is not R.LOAN_REPAYMENT:
        return _refuse(reason, "WD_LOAN_OUTSTANDING", "您有未还清的公积金贷款，只能办理偿还贷款提取")
    # 4. next eligible date
    nxt = facts.next_eligible.get(reason)
    if nxt and on < nxt:
        return _refuse(reason, "WD_TOO_SOON", f"该类提取下次可办理日期为{nxt:%Y年%m月%d日}", next_date=nxt)
    if facts.balance_fen <= 0:
        return _refuse(reason, "WD_NO_BALANCE", "账户余额为零，无可提取金额")

    # 5. the reason's own conditions
    checked = _REASON_RULES[reason](facts, ev, on, policy)
    if isinstance(checked, Decision):
        return checked
    cap, next_date = checked

    # 6. amount
    if reason.closes_account:
        if amount_fen is not None and amount_fen != facts.balance_fen:
            return _refuse(reason, "WD_CLOSING_FULL_AMOUNT",
                           f"销户提取须一次提取全部余额{format_yuan(facts.balance_fen)}", max_fen=facts.balance_fen)
        return Decision(True, reason, facts.balance_fen, True, WithdrawalBusinessType.CLOSING, None,
                        "OK", f"符合{reason.label_zh}提取条件，将提取全部余额并销户")
    room = facts.balance_fen - wp.min_remaining_fen
    max_fen = max(0, min(cap, room))
    if max_fen <= 0:
        if cap <= 0:
            return _refuse(reason, "WD_NOTHING_TO_WITHDRAW", "按规定本次可提取金额为零")
        return _refuse(reason, "WD_NO_BALANCE", "账户余额不足，部分提取后余额不能为零")
    if amount_fen is not None:
        if amount_fen <= 0:
            return _refuse(reason, "WD_AMOUNT_INVALID", "提取金额必须大于零", max_fen=max_fen)
        if amount_fen > facts.balance_fen:
            return _refuse(reason, "WD_OVER_BALANCE", f"提取金额超过账户余额{format_yuan(facts.balance_fen)}",
                           max_fen=max_fen)
        if amount_fen > room and amount_fen <= cap:
            return _refuse(reason, "WD_PARTIAL_WOULD_ZERO", "部分提取后账户余额不能为零，请减少提取金额",
                           max_fen=max_fen)
        if amount_fen > max_fen:
            return _refuse(reason, "WD_OVER_LIMIT", f"本次最多可提取{format_yuan(max_fen)}", max_fen=max_fen)
    return Decision(True, reason, max_fen, False, WithdrawalBusinessType.PARTIAL, next_date, "OK",
                    f"符合{reason.label_zh}提取条件，本次最多可提取{format_yuan(max_fen)}")


# --- per-reason rules: return (cap_fen, next_eligible_date) or a refusal Decision -------------------------

def _purchase(f: PersonFacts, ev: WithdrawalEvidence, on: date, p: Policy):
    wp = p.withdrawal
    if not ev.dwelling_id or ev.house_price_fen <= 0:
        return _refuse(R.PURCHASE, "WD_EVIDENCE_MISSING", "请提供购房合同或不动产权证及购房金额")
    if ev.dwelling_id in ev.dwellings_already_withdrawn:
        return _refuse(R.PURCHASE, "WD_PURCHASE_REPEAT", "该套住房已办理过购房提取，不能重复提取")
    if not _within(ev.contract_date, on, wp.purchase_window_months):
        return _refuse(R.PURCHASE, "WD_PURCHASE_EXPIRED",
                       f"购房提取须在购房合同签订或取得权证后{wp.purchase_window_months}个月内办理")
    cap = ev.house_price_fen - ev.house_loans_fen - ev.already_withdrawn_for_dwelling_fen
    return cap, add_months(on, wp.repeat_interval_months)


def _build(f, ev, on, p):
    wp = p.withdrawal
    if ev.house_price_fen <= 0:
        return _refuse(R.BUILD_REPAIR, "WD_EVIDENCE_MISSING", "请提供建房或大修审批文件及预算金额")
    if ev.dwelling_id and ev.dwelling_id in ev.dwellings_already_withdrawn:
        return _refuse(R.BUILD_REPAIR, "WD_BUILD_REPEAT", "该住房已办理过建造、翻建或大修提取")
    if not _within(ev.contract_date, on, wp.build_window_months):
        return _refuse(R.BUILD_REPAIR, "WD_BUILD_EXPIRED", f"须在审批后{wp.build_window_months}个月内办理")
    return ev.house_price_fen - ev.house_loans_fen - ev.already_withdrawn_for_dwelling_fen, \
        add_months(on, wp.repeat_interval_months)


def _retirement(f: PersonFacts, ev, on, p):
    category = f.female_original_retirement_age if f.gender is Gender.FEMALE else None
    when = retirement_date(f.birth_date, f.gender, category)
    if on < when:
        return _refuse(R.RETIREMENT, "WD_NOT_RETIRED", f"您的法定退休日期为{when:%Y年%m月%d日}，届时可办理退休提取")
    return f.balance_fen, None


def _needs(flag_name: str, reason: WithdrawalReason, message_zh: str):
    def rule(f, ev, on, p):
        if not getattr(ev, flag_name):
            return _refuse(reason, "WD_EVIDENCE_MISSING", message_zh)
        return f.balance_fen, None
    return rule


def _loan_repayment(f: PersonFacts, ev, on, p):
    wp = p.withdrawal
    if f.loan_in_arrears:
        return _refuse(R.LOAN_REPAYMENT, "WD_LOAN_ARREARS", "您的贷款有逾期未还款项，请先归还逾期款项")
    if ev.loan_due_last_12m_fen <= 0:
        return _refuse(R.LOAN_REPAYMENT, "WD_EVIDENCE_MISSING", "请提供贷款合同及近12个月还款记录")
    if ev.loan_repaid_periods < wp.loan_repayment_min_periods:
        return _refuse(R.LOAN_REPAYMENT, "WD_LOAN_TOO_EARLY",
                       f"贷款须正常还款满{wp.loan_repayment_min_periods}期后才能提取还贷")
    cap = ev.loan_due_last_12m_fen
    if f.has_outstanding_loan:
        cap = min(cap, f.outstanding_loan_fen)
    return cap, add_months(on, wp.loan_repayment_interval_months)


def _rent(f: PersonFacts, ev: WithdrawalEvidence, on, p):
    wp = p.withdrawal
    if f.owns_home_in_city:
        return _refuse(R.RENT, "WD_RENT_OWNS_HOME", "本人及配偶在本市有自有住房的，不能办理租房提取")
    if f.continuous_months < wp.rent_min_continuous_months:
        return _refuse(R.RENT, "WD_RENT_CONTINUOUS", f"须连续足额缴存满{wp.rent_min_continuous_months}个月")
    if ev.monthly_rent_fen <= 0:
        return _refuse(R.RENT, "WD_EVIDENCE_MISSING", "请提供租房合同及月租金")
    if not 1 <= ev.rent_months <= 12:
        return _refuse(R.RENT, "WD_RENT_MONTHS", "一次最多提取12个月的房租")
    if ev.public_rental_housing:
        cap = ev.monthly_rent_fen * ev.rent_months
    else:
        cap = min(ev.monthly_rent_fen, wp.rent_cap_month_fen) * ev.rent_months
        year_room = wp.rent_cap_12m_fen - ev.rent_withdrawn_last_12m_fen
        if year_room <= 0:
            return _refuse(R.RENT, "WD_RENT_YEAR_CAP",
                           f"12个月内租房提取已达上限{format_yuan(wp.rent_cap_12m_fen)}")
        cap = min(cap, year_room)
    return cap, add_months(on, wp.rent_interval_months * ev.rent_months)


def _cost_share(reason: WithdrawalReason, window_attr: str, what_zh: str):
    def rule(f, ev: WithdrawalEvidence, on, p):
        wp = p.withdrawal
        months = getattr(wp, window_attr)
        if ev.out_of_pocket_fen <= 0:
            return _refuse(reason, "WD_EVIDENCE_MISSING", f"请提供{what_zh}")
        if not _within(ev.event_date, on, months):
            return _refuse(reason, "WD_EVENT_EXPIRED", f"须在{months}个月内办理")
        return ev.out_of_pocket_fen, add_months(on, wp.repeat_interval_months)
    return rule


def _unemployment(f: PersonFacts, ev, on, p):
    months = p.withdrawal.unemployment_sealed_months
    if f.sealed_since is None or on < add_months(f.sealed_since, months):
        return _refuse(R.UNEMPLOYMENT, "WD_SEALED_TOO_SHORT", f"账户封存满{months}个月后才能办理离职失业提取")
    if ev.reemployed:
        return _refuse(R.UNEMPLOYMENT, "WD_REEMPLOYED", "您已重新就业，不能办理离职失业提取")
    return f.balance_fen, None


def _counter(f, ev, on, p):
    return _refuse(R.OTHER, "WD_COUNTER_ONLY", "该提取原因需到服务大厅柜台办理")


_REASON_RULES = {
    R.PURCHASE: _purchase,
    R.BUILD_REPAIR: _build,
    R.RETIREMENT: _retirement,
    R.INCAPACITY: _needs("incapacity_certified", R.INCAPACITY, "请提供劳动能力鉴定结论和终止劳动关系证明"),
    R.EMIGRATION: _needs("emigration_proven", R.EMIGRATION, "请提供户口注销或出境定居证明"),
    R.LOAN_REPAYMENT: _loan_repayment,
    R.RENT: _rent,
    R.DEATH: _needs("death_certified", R.DEATH, "请提供死亡证明及继承权公证或法院文书"),
    R.SERIOUS_ILLNESS: _cost_share(R.SERIOUS_ILLNESS, "illness_window_months", "病历及医疗费用票据"),
    R.LIFT_INSTALLATION: _cost_share(R.LIFT_INSTALLATION, "lift_window_months", "加装电梯费用分摊协议及票据"),
    R.RENOVATION: _cost_share(R.RENOVATION, "build_window_months", "改造或装修费用票据"),
    R.UNEMPLOYMENT: _unemployment,
    R.OTHER: _counter,
}
assert set(_REASON_RULES) == set(WithdrawalReason), "every reason code needs a rule"
