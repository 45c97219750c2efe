"""The service catalog sent to terminals: items with identity level, offline policy and roles, switched
per channel and per terminal; rates (kiosk.domain.rates); announcements; remote commands."""
from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy import select

from center.models import AnnouncementRow, CatalogState, ServiceSwitch, Terminal
from sync.protocol import Announcement, Catalog, OfflinePolicy, RateEntry, ServiceItem

log = logging.getLogger(__name__)
ON, SF, LOC = OfflinePolicy.ONLINE_ONLY, OfflinePolicy.STORE_AND_FORWARD, OfflinePolicy.LOCAL

# code, 中文名, English, identity level, offline policy, roles
DEFAULT_ITEMS: list[tuple[str, str, str, int, OfflinePolicy, list[str]]] = [
    ("query", "个人缴存贷款信息查询", "Deposit and loan records", 2, ON, ["kiosk", "teller"]),
    ("deposit_details", "缴存明细查询", "Deposit details", 2, ON, ["kiosk", "teller"]),
    ("loan_overview", "贷款信息查询", "Loan overview", 2, ON, ["kiosk", "teller"]),
    ("statement", "个人账户明细打印", "Account statement", 2, ON, ["kiosk", "teller"]),
    ("flexible_open", "灵活就业人员开户", "Flexible employment: open account", 2, ON, ["kiosk", "teller"]),
    ("flexible_sign", "灵活就业缴存协议签订", "Flexible employment: deposit agreement", 3, ON, ["kiosk", "teller"]),
    ("deposit", "灵活就业缴存", "Flexible employment: deposit", 2, SF, ["kiosk", "teller"]),
    ("withdrawal", "提取", "Withdrawal", 3, SF, ["kiosk", "teller"]),
    ("loan_calc", "贷款试算", "Loan calculator", 0, LOC, ["kiosk", "teller"]),
    ("loan_limit", "可贷额度测算", "Loan limit", 2, ON, ["kiosk", "teller"]),
    ("loan_preapply", "贷款预申请", "Loan pre-application", 3, ON, ["kiosk", "teller"]),
    ("loan_schedule", "还款计划查询", "Repayment schedule", 2, ON, ["kiosk", "teller"]),
    ("loan_prepayment", "提前还款", "Loan prepayment", 3, ON, ["kiosk", "teller"]),
    ("payoff_certificate", "开具个人住房贷款全部还清证明", "Loan payoff certificate", 2, ON, ["kiosk", "teller"]),
    ("deposit_use_certificate", "出具贷款职工缴存使用证明", "Deposit-use certificate", 2, ON, ["kiosk", "teller"]),
    ("transfer_in", "转移接续（转入）", "Transfer-in", 2, ON, ["kiosk", "teller"]),
    ("progress_query", "办理进度查询", "Progress query", 1, ON, ["kiosk", "teller"]),
    ("phone_change", "手机号码变更", "Change phone number", 2, ON, ["kiosk", "teller"]),
    ("query_password", "设置/修改查询密码", "Set the query password", 2, ON, ["kiosk", "teller"]),
    ("repayment_account", "变更贷款还款账户", "Change the repayment account", 3, ON, ["kiosk", "teller"]),
    ("evaluation", "好差评", "Service evaluation", 0, SF, ["kiosk", "teller"]),
    ("guide", "办事指南", "Service guides", 0, LOC, ["kiosk", "teller"]),
]
ITEM_CODES = {c[0] for c in DEFAULT_ITEMS}

# 办事指南 sent with each item (ServiceItem.guide_zh): one "label：text" per line, so a terminal can show it as
# fields and read it offline from its cached catalog. Time limits follow the regulation (Arts. 25, 26).
GUIDES = {
    "query": "所需材料：本人身份证\n办理条件：已开立住房公积金个人账户\n办理时限：即时办结",
    "deposit_details": "所需材料：本人身份证\n办理条件：已开立住房公积金个人账户\n办理时限：即时办结",
    "withdrawal": "所需材料：本人身份证、本人银行卡；按提取原因提供购房合同、租赁合同、医疗费用票据等\n"
                  "办理条件：账户正常，无冻结、无在途提取；有未结清公积金贷款时只能办理偿还贷款提取\n"
                  "办理时限：受理之日起3个工作日内作出决定",
    "loan_calc": "所需材料：无\n办理条件：无需身份核验，结果仅供参考\n办理时限：即时",
    "loan_preapply": "所需材料：本人身份证、本人银行卡、购房合同\n办理条件：连续足额缴存满6个月，无未结清公积金贷款\n"
                     "办理时限：受理之日起15日内作出准予贷款或不准予贷款的决定",
    "payoff_certificate": "所需材料：本人身份证\n办理条件：住房公积金贷款已全部还清\n办理时限：即时出具，可凭验证码核验真伪",
    "deposit_use_certificate": "所需材料：本人身份证\n办理条件：已开立住房公积金个人账户，用于异地贷款\n"
                               "办理时限：即时出具，自开具之日起2个月内有效",
    "transfer_in": "所需材料：本人身份证\n办理条件：在本市已开立账户，原账户已封存\n办理时限：转出地中心确认后办结",
    "progress_query": "所需材料：业务回单（流水号或二维码）\n办理条件：无\n办理时限：即时",
}


def rate_entries() -> list[RateEntry]:
    """Rates from kiosk.domain.rates (the domain engineer's table); empty until it is there."""
    try:
        from kiosk.domain import rates
    except ImportError:
        return []
    try:
        return [RateEntry(**e) if isinstance(e, dict) else e for e in rates.catalog_entries()]
    except AttributeError:
        pass
    out = []
    for r in getattr(rates, "HPF_RATE_TABLE", getattr(rates, "RATE_TABLE", [])):
        try:
            out.append(RateEntry(effective_from=str(r.effective_from),
                                 first_home_le5_bp=int(r.first_home_le5_bp), first_home_gt5_bp=int(r.first_home_gt5_bp),
                                 second_home_le5_bp=int(r.second_home_le5_bp),
                                 second_home_gt5_bp=int(r.second_home_gt5_bp)))
        except (AttributeError, TypeError, ValueError):
            log.warning("rate table entry not understood; catalog sent without it")
    return out


def item_enabled(switches: list[ServiceSwitch], code: str, channel: str, terminal_id: str) -> bool:
    """Most specific switch wins: terminal, then channel, then 'all'; default on."""
    by_scope = {s.scope: s.enabled for s in switches if s.item_code == code}
    for scope in (f"terminal:{terminal_id}", f"channel:{channel}", "all"):
        if scope in by_scope:
            return by_scope[scope]
    return True


def build_catalog(session, terminal_id: str, channel: str) -> Catalog:
    switches = list(session.scalars(select(ServiceSwitch)))
    items = [ServiceItem(code=c, name_zh=zh, name_en=en, identity_level=lvl, offline_policy=pol, roles=roles,
                         enabled=item_enabled(switches, c, channel, terminal_id), guide_zh=GUIDES.get(c, ""))
             for c, zh, en, lvl, pol, roles in DEFAULT_ITEMS]
    anns = [Announcement(id=a.id, title_zh=a.title_zh, body_zh=a.body_zh, title_en=a.title_en, body_en=a.body_en,
                         valid_until=a.valid_until)
            for a in session.scalars(select(AnnouncementRow).order_by(AnnouncementRow.created_at))]
    term = session.get(Terminal, terminal_id)
    commands = [{"kind": "upload_logs"}] if term is not None and term.log_upload_requested else []
    cat = Catalog(version="", items=items, rates=rate_entries(), announcements=anns, commands=commands)
    digest = hashlib.sha256(json.dumps(cat.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    rev = session.get(CatalogState, 1)
    cat.version = f"{rev.revision if rev else 1}-{digest}"
    return cat


def bump(session) -> None:
    st = session.get(CatalogState, 1)
    if st is None:
        session.add(CatalogState(id=1, revision=2))
    else:
        st.revision += 1
