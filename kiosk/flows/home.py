"""The home screen's model, built from the synced catalog (sync.protocol.Catalog). No Qt.

Items the center switched off, or that are not for this terminal's role, are not offered. Items that need
the network say so while the terminal is offline and cannot be started. Care mode shows fewer tiles per page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from kiosk.flows.base import FlowMessage
from sync.protocol import Catalog, OfflinePolicy, ServiceItem

HOME_PROMPT = FlowMessage("PROMPT_HOME", "您好，请选择要办理的业务", "Welcome. Please choose a service")
OFFLINE_NOTICE = FlowMessage("OFFLINE", "网络中断：需联网的业务暂不可用，已受理的业务将在联网后上传",
                             "Offline: online services are unavailable; accepted items upload when back online")

# Items where money moves: their L3 second factor is the bank card (the account the money goes to).
MONEY_ITEMS = frozenset({"withdrawal", "deposit", "prepayment", "partial_prepayment", "full_prepayment",
                         "flexible_deposit", "repayment"})

TILES_PER_PAGE = 8
TILES_PER_PAGE_CARE = 4


@dataclass(frozen=True)
class Tile:
    code: str
    name_zh: str
    name_en: str
    identity_level: int
    available: bool
    note_zh: str = ""
    note_en: str = ""
    moves_money: bool = False

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh

    def note(self, lang: str) -> str:
        return self.note_en if lang == "en" else self.note_zh


NEEDS_NETWORK = ("需联网办理，网络恢复后可用", "Needs the network; available when back online")
QUEUED_OFFLINE = ("离线受理，联网后确认", "Accepted offline, confirmed when back online")


def tiles(catalog: Optional[Catalog], role: str, online: bool) -> list[Tile]:
    out = []
    for item in (catalog.items if catalog else []):
        if not item.enabled or role not in item.roles:
            continue
        out.append(_tile(item, online))
    return out


def _tile(item: ServiceItem, online: bool) -> Tile:
    available, note = True, ("", "")
    if not online:
        if item.offline_policy is OfflinePolicy.ONLINE_ONLY or item.identity_level >= 2:
            # L2+ needs the center's real-person check, whatever the item's own policy
            available, note = False, NEEDS_NETWORK
        elif item.offline_policy is OfflinePolicy.STORE_AND_FORWARD:
            note = QUEUED_OFFLINE
    return Tile(item.code, item.name_zh, item.name_en, item.identity_level, available, note[0], note[1],
                item.code in MONEY_ITEMS)


def pages(items: list[Tile], care_mode: bool) -> list[list[Tile]]:
    n = TILES_PER_PAGE_CARE if care_mode else TILES_PER_PAGE
    return [items[i:i + n] for i in range(0, len(items), n)] or [[]]


# Offered when the terminal has never received a catalog: only what works with no center at all.
LOCAL_CATALOG = Catalog(version="local-0", items=[
    ServiceItem(code="loan_calculator", name_zh="贷款试算", name_en="Loan calculator", identity_level=0,
                offline_policy=OfflinePolicy.LOCAL),
    ServiceItem(code="guide", name_zh="办事指南", name_en="Service guide", identity_level=0,
                offline_policy=OfflinePolicy.LOCAL),
])
