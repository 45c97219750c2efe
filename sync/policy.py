"""Offline policy: may this service item go ahead now, and how?

Per service item (from the center's catalog): `online_only` needs the center now; `store_and_forward` may be
journaled while offline within floor limits (settings.offline); `local` never needs the center (calculators).
The terminal carries the risk of a queued item until the center confirms it, so the limits are checked inside
the journal's write transaction (two writers cannot both squeeze under the limit).

A queued item's receipt says "已受理，待联网确认" (sync.journal.STATUS_TEXT_ZH); the center re-validates it on
arrival, and a refusal then is recorded (state rejected, with the center's code and message) for staff."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sync.journal import Journal, JournalEntry, QueueFigures
from sync.protocol import Catalog, OfflinePolicy, ServiceItem

log = logging.getLogger(__name__)

QUEUED_RECEIPT_TEXT_ZH = "已受理，待联网确认"


class OfflineRefused(Exception):
    """The item cannot be taken now. `code` is stable, `message_zh` is for the screen, str(exc) for logs."""

    def __init__(self, code: str, message_zh: str, detail: str):
        super().__init__(detail)
        self.code, self.message_zh, self.detail = code, message_zh, detail


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


@dataclass(frozen=True)
class Decision:
    mode: str                         # "online" | "queue" | "local"
    item: ServiceItem


class OfflineGate:
    """Decides per service item and journals store-and-forward items within the floor limits."""

    def __init__(self, limits, journal: Journal, catalog: Catalog | None):
        self.limits = limits          # config.schema.OfflineSettings
        self.journal = journal
        self.catalog = catalog

    def item(self, code: str) -> ServiceItem:
        if self.catalog is None:
            raise OfflineRefused("CATALOG_MISSING", "暂时无法办理业务，请稍后再试或到柜台办理。",
                                 "no service catalog cached yet (never reached the center)")
        for it in self.catalog.items:
            if it.code == code:
                if not it.enabled:
                    raise OfflineRefused("ITEM_DISABLED", f"“{it.name_zh}”暂停办理，请到柜台咨询。",
                                         f"service item {code} is switched off by the center")
                return it
        raise OfflineRefused("ITEM_UNKNOWN", "本终端暂不提供该业务，请到柜台办理。", f"unknown service item {code}")

    def decide(self, code: str, *, online: bool) -> Decision:
        """How item `code` can run given the link state (no journal write)."""
        it = self.item(code)
        if it.offline_policy == OfflinePolicy.LOCAL:
            return Decision("local", it)
        if online:
            return Decision("online", it)
        if it.offline_policy == OfflinePolicy.ONLINE_ONLY:
            raise OfflineRefused("OFFLINE_NOT_ALLOWED",
                                 f"网络暂时中断，“{it.name_zh}”需联网办理，请稍后再试或到柜台办理。",
                                 f"service item {code} is online_only and the center is unreachable")
        return Decision("queue", it)

    def check_limits(self, amount_fen: int | None, figures: QueueFigures) -> None:
        """Raises OfflineRefused if one more queued item of `amount_fen` would break a floor limit."""
        lim = self.limits
        amount = amount_fen or 0
        if amount > lim.per_transaction_limit_fen:
            raise OfflineRefused("OFFLINE_AMOUNT_OVER_LIMIT",
                                 f"网络暂时中断，单笔金额超过离线受理上限（{_yuan(lim.per_transaction_limit_fen)}元），"
                                 f"请联网后再办理或到柜台办理。",
                                 f"amount {amount} fen over the offline per-transaction limit "
                                 f"{lim.per_transaction_limit_fen} fen")
        if figures.depth + 1 > lim.max_queued_count:
            raise OfflineRefused("OFFLINE_QUEUE_FULL", "网络暂时中断，本机待上传业务已满，请稍后再试或到柜台办理。",
                                 f"{figures.depth} items queued, limit {lim.max_queued_count}")
        if figures.queued_amount_fen + amount > lim.total_queued_limit_fen:
            raise OfflineRefused("OFFLINE_TOTAL_OVER_LIMIT",
                                 "网络暂时中断，本机待确认金额已达上限，请稍后再试或到柜台办理。",
                                 f"queued {figures.queued_amount_fen} + {amount} fen over the total limit "
                                 f"{lim.total_queued_limit_fen} fen")
        if figures.depth and figures.oldest_age_s > lim.max_age_hours * 3600:
            raise OfflineRefused("OFFLINE_QUEUE_TOO_OLD",
                                 "本机已较长时间未能与公积金中心联网，暂停离线受理，请到柜台办理。",
                                 f"oldest queued item is {figures.oldest_age_s} s old, limit "
                                 f"{lim.max_age_hours} h")

    def journal_offline(self, code: str, payload: dict, *, amount_fen: int | None = None,
                        person_key: str | None = None, teller_id: str | None = None) -> JournalEntry:
        """Store-and-forward while the center is unreachable: checked, then journaled durably (queued)."""
        decision = self.decide(code, online=False)
        if decision.mode != "queue":
            raise OfflineRefused("OFFLINE_NOT_QUEUEABLE", "该业务无需排队上传。", f"{code} is {decision.mode}")
        try:
            entry = self.journal.create(code, payload, amount_fen=amount_fen, person_key=person_key,
                                        teller_id=teller_id, offline=True,
                                        guard=lambda fig: self.check_limits(amount_fen, fig))
        except OfflineRefused as exc:
            log.warning("offline item %s refused: %s %s", code, exc.code, exc.detail)
            raise
        log.info("offline item %s journaled as %s (queued)", code, entry.client_id)
        return entry


def receipt_status_line(entry: JournalEntry) -> str:
    """The line a receipt prints about the transaction's standing with the center."""
    return entry.status_text_zh


def find_item(catalog: Optional[Catalog], code: str) -> Optional[ServiceItem]:
    if catalog is None:
        return None
    return next((i for i in catalog.items if i.code == code), None)
