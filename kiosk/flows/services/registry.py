"""The registry of resident service items: code -> flow, identity level, offline policy, money or not.

The home screen offers the center's catalog (kiosk.flows.home); `flow_for(code, ctx)` builds the flow behind a
tile; `hpf-kiosk selftest` can walk `ITEMS` to check every flow imports. Items the center's catalog does not
list yet (statement, information, loan overview ...) carry their own default ServiceItem (`fallback_items`)
so the offline policy still decides how they run."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

from sync.protocol import OfflinePolicy, ServiceItem

ON, SF, LOC = OfflinePolicy.ONLINE_ONLY, OfflinePolicy.STORE_AND_FORWARD, OfflinePolicy.LOCAL


@dataclass(frozen=True)
class ItemSpec:
    code: str
    flow: str                     # "module:Class" under kiosk.flows.services
    name_zh: str
    name_en: str
    identity_level: int
    offline_policy: OfflinePolicy
    moves_money: bool = False
    kwargs: tuple = ()            # extra keyword arguments for the flow (e.g. the certificate kind)

    def service_item(self) -> ServiceItem:
        return ServiceItem(code=self.code, name_zh=self.name_zh, name_en=self.name_en,
                           identity_level=self.identity_level, offline_policy=self.offline_policy)

    def load(self) -> type:
        module, cls = self.flow.split(":")
        return getattr(importlib.import_module(f"kiosk.flows.services.{module}"), cls)


ITEMS: dict[str, ItemSpec] = {s.code: s for s in [
    ItemSpec("query", "account:AccountOverviewFlow", "个人缴存贷款信息查询", "Deposit and loan records", 2, ON),
    ItemSpec("deposit_details", "account:AccountOverviewFlow", "缴存明细查询", "Deposit details", 2, ON,
             kwargs=(("start_with", "deposits"),)),
    ItemSpec("loan_overview", "account:AccountOverviewFlow", "贷款信息查询", "Loan overview", 2, ON,
             kwargs=(("start_with", "loans"),)),
    ItemSpec("statement", "account:StatementFlow", "个人账户明细打印", "Account statement", 2, ON),
    ItemSpec("flexible_open", "flexible:FlexibleOpenFlow", "灵活就业人员开户", "Flexible employment: open account", 2, ON),
    ItemSpec("flexible_sign", "flexible:FlexibleSignFlow", "灵活就业缴存协议签订", "Flexible employment: deposit agreement",
             3, ON, True),
    ItemSpec("deposit", "flexible:FlexibleDepositFlow", "灵活就业缴存", "Flexible employment: deposit", 2, SF, True),
    ItemSpec("withdrawal", "withdrawal:WithdrawalFlow", "提取", "Withdrawal", 3, SF, True),
    ItemSpec("loan_calc", "loan:LoanCalculatorFlow", "贷款试算", "Loan calculator", 0, LOC),
    ItemSpec("loan_limit", "loan_limit:LoanLimitFlow", "可贷额度测算", "Loan limit", 2, ON),
    ItemSpec("loan_preapply", "loan:LoanPreapplyFlow", "贷款预申请", "Loan pre-application", 3, ON),
    ItemSpec("loan_schedule", "loan:LoanScheduleFlow", "还款计划查询", "Repayment schedule", 2, ON),
    ItemSpec("loan_prepayment", "loan:PrepaymentFlow", "提前还款", "Loan prepayment", 3, ON, True),
    ItemSpec("payoff_certificate", "certificates:CertificateFlow", "开具个人住房贷款全部还清证明",
             "Loan payoff certificate", 2, ON, kwargs=(("kind", "payoff"),)),
    ItemSpec("deposit_use_certificate", "certificates:CertificateFlow", "出具贷款职工缴存使用证明",
             "Deposit-use certificate", 2, ON, kwargs=(("kind", "deposit_use"),)),
    ItemSpec("transfer_in", "transfer:TransferInFlow", "转移接续（转入）", "Transfer-in", 2, ON),
    ItemSpec("progress_query", "info:ProgressFlow", "办理进度查询", "Progress query", 1, ON),
    ItemSpec("phone_change", "account_services:PhoneChangeFlow", "手机号码变更", "Change phone number", 2, ON),
    ItemSpec("query_password", "account_services:QueryPasswordFlow", "设置/修改查询密码", "Set the query password",
             2, ON),
    ItemSpec("repayment_account", "account_services:RepaymentAccountFlow", "变更贷款还款账户",
             "Change the repayment account", 3, ON, True),
    ItemSpec("guide", "info:InfoFlow", "办事指南", "Service guides", 0, LOC),
    ItemSpec("evaluation", "info:EvaluationFlow", "好差评", "Service evaluation", 0, SF),
]}
# Aliases used by the home screen's local catalog.
ALIASES = {"loan_calculator": "loan_calc", "account_query": "query", "deposit_certificate": "deposit_use_certificate"}


def spec(code: str) -> ItemSpec:
    code = ALIASES.get(code, code)
    try:
        return ITEMS[code]
    except KeyError:
        raise KeyError(f"no service flow for item {code!r}") from None


def fallback_items() -> dict[str, ServiceItem]:
    return {c: s.service_item() for c, s in ITEMS.items()}


def flow_for(code: str, ctx, identity=None):
    """The flow behind a home-screen tile (not started: the caller subscribes, then calls start())."""
    s = spec(code)
    flow = s.load()(ctx, identity, **dict(s.kwargs))
    flow.code = s.code
    flow.title_zh, flow.title_en = s.name_zh, s.name_en
    flow.level = s.identity_level
    flow.moves_money = s.moves_money
    return flow


def check_all() -> list[str]:
    """For selftest: every item's flow class imports (returns the problems, empty when fine)."""
    problems = []
    for c, s in ITEMS.items():
        try:
            s.load()
        except Exception as exc:       # noqa: BLE001 - reported, not raised
            problems.append(f"{c}: {type(exc).__name__}: {exc}")
    return problems


def build_context(settings, *, client, journal, tasks, devices, identity_center=None, receipt_printer=None,
                  a4_printer=None, catalog: Callable = lambda: None, online: Callable[[], bool] = lambda: True,
                  switch=None, wake: Optional[Callable[[], None]] = None, **kw):
    """A ServiceContext over the real pieces: sync's HTTP client (signed), the journal, the printers."""
    from kiosk.flows.services.base import ServiceContext
    from kiosk.flows.services.desk import TransactionDesk
    from kiosk.flows.services.ports import HttpServicesCenter
    center = HttpServicesCenter(client, switch)
    desk = TransactionDesk(journal, center, settings.offline, catalog, online, wake, fallback_items())
    return ServiceContext(center=center, desk=desk, tasks=tasks, devices=devices, identity_center=identity_center,
                          receipt_printer=receipt_printer, a4_printer=a4_printer,
                          center_name=settings.terminal.center_name, terminal_id=settings.terminal.id,
                          catalog=catalog, **kw)


def context_for_terminal(settings, terminal, *, base_url: str, credentials, switch=None, wake=None,
                         a4_device=None, closers: Optional[list] = None):
    """The one call the composition root (kiosk/app.py) needs to offer the service flows on a running Terminal.

    Opens its own signed HTTP client (flows never share the sync worker's connection pool) and the journal
    (SQLite WAL: several handles are safe); uses the terminal's receipt printer device when it is the real
    ESC/POS class, and builds the A4 printer from the settings unless one is handed in. `closers` collects what
    must be closed at shutdown. Sample:

        ctx = context_for_terminal(settings, terminal, base_url=url, credentials=creds, switch=app.switch,
                                   wake=app.sync_worker.wake if app.sync_worker else None,
                                   closers=terminal.closers)
        flow = flow_for(tile.code, ctx); flow.subscribe(...); flow.start()
    """
    from kiosk.flows.services.ports import A4PrinterAdapter, ReceiptPrinterAdapter
    from sync.client import HttpCenterClient
    from sync.journal import Journal
    closers = closers if closers is not None else []
    client = HttpCenterClient(base_url, credentials, connect_timeout_s=settings.center.connect_timeout_s,
                              read_timeout_s=settings.center.read_timeout_s, verify_tls=settings.center.verify_tls)
    journal = Journal.open(settings)
    closers += [client.close, journal.close]
    receipt = None
    raw = getattr(terminal.devices, "raw", {}).get("receipt_printer")
    if raw is not None and hasattr(raw, "print_document"):
        receipt = ReceiptPrinterAdapter(raw)
    if a4_device is None:
        from devices import registry as devreg
        built = devreg.build(settings, "a4_printer")
        a4_device = built.device
        if a4_device is not None:
            closers.append(a4_device.close)
    a4 = A4PrinterAdapter(a4_device) if a4_device is not None else None
    base = str(base_url).rstrip("/")
    return build_context(settings, client=client, journal=journal, tasks=terminal.tasks, devices=terminal.devices,
                         identity_center=terminal.center, receipt_printer=receipt, a4_printer=a4,
                         catalog=lambda: terminal.catalog,
                         online=lambda: bool(terminal.online) and (switch is None or switch.online),
                         switch=switch, wake=wake, verify_url=base + "/v1/certificates/verify",
                         on_staff=lambda why: terminal.call_staff("service"))
