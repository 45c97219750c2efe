"""The transaction desk: every business transaction a service flow makes goes through sync's journal.

    online   -> journaled (client id = Idempotency-Key), sent at once, the center's answer recorded
    offline  -> a store-and-forward item is journaled within the floor limits (sync.policy.OfflineGate) and
                the sync worker delivers it later, exactly once; an online-only item is refused up front
    link lost while sending -> the journaled item stays queued under the same key: the worker finishes it
                (the center replays if it had already done it), so the customer is never charged twice

Runs on a Tasks worker (journal writes are disk I/O, the submit is network I/O)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

from devices.base import CancelToken
from kiosk.flows.ports import CenterOffline, PortError
from kiosk.flows.services.ports import ServicesPort
from sync.journal import Journal, State
from sync.policy import OfflineGate, OfflineRefused
from sync.protocol import Catalog, OfflinePolicy, ServiceItem, TransactionIn

log = logging.getLogger(__name__)

QUEUED_TEXT = "已受理，待联网确认"


@dataclass
class TxOutcome:
    """What became of one transaction, for the screen and the receipt."""
    client_id: str
    state: str                        # accepted | rejected | queued | needs_review
    code: str = "OK"
    message_zh: str = ""
    result: dict = field(default_factory=dict)
    offline: bool = False

    @property
    def accepted(self) -> bool:
        return self.state == "accepted"

    @property
    def queued(self) -> bool:
        return self.state == "queued"

    @property
    def status_line(self) -> str:
        return {"accepted": "已受理", "queued": QUEUED_TEXT, "rejected": "中心未受理",
                "needs_review": "待工作人员核对"}.get(self.state, self.state)


class TransactionDesk:
    def __init__(self, journal: Journal, center: ServicesPort, limits, catalog: Callable[[], Optional[Catalog]],
                 online: Callable[[], bool], wake: Optional[Callable[[], None]] = None,
                 fallback_items: Optional[dict[str, ServiceItem]] = None):
        self.journal = journal
        self.center = center
        self.limits = limits
        self.catalog = catalog
        self.online = online
        self.wake = wake or (lambda: None)
        self.fallback_items = fallback_items or {}
        self.staff = None       # bank counter: kiosk.staff.teller.TellerMode (stamp: teller, branch, supervisor)

    def _gate(self) -> OfflineGate:
        cat = self.catalog()
        if self.fallback_items:
            have = {i.code for i in cat.items} if cat else set()
            extra = [i for c, i in self.fallback_items.items() if c not in have]
            if extra:
                cat = Catalog(version=cat.version if cat else "local", items=[*(cat.items if cat else []), *extra],
                              rates=cat.rates if cat else [], announcements=cat.announcements if cat else [],
                              hotline=cat.hotline if cat else "12329")
        return OfflineGate(self.limits, self.journal, cat)

    def policy(self, item_code: str) -> OfflinePolicy:
        return self._gate().item(item_code).offline_policy

    def check(self, item_code: str) -> str:
        """'online' | 'queue' | 'local' now; raises OfflineRefused (code + Chinese) when it cannot run."""
        return self._gate().decide(item_code, online=self.online()).mode

    def check_amount(self, item_code: str, amount_fen: int) -> None:
        """While the resident is still choosing the amount: raises OfflineRefused at once when the item would
        have to queue (offline, store-and-forward) and the amount is over the per-transaction floor limit. No
        disk I/O (safe on the screen's thread); the queue totals are checked again when the item is journaled."""
        if self.check(item_code) != "queue":
            return
        from sync.journal import QueueFigures
        self._gate().check_limits(amount_fen, QueueFigures(depth=0, queued_amount_fen=0, oldest_enqueued_at=None,
                                                           now=0.0))

    def submit(self, item_code: str, kind: str, payload: dict, token: CancelToken, *,
               amount_fen: Optional[int] = None, person_key: Optional[str] = None) -> TxOutcome:
        staff = self.staff.stamp(item_code, kind, amount_fen) if self.staff is not None else None   # PortError
        teller_id = staff.get("teller_id") if staff else None
        if staff:
            payload = {**payload, "staff": staff}
        gate = self._gate()
        mode = gate.decide(item_code, online=self.online()).mode      # OfflineRefused: online-only, offline
        if mode == "queue":
            entry = gate.journal_offline(item_code, payload, amount_fen=amount_fen, person_key=person_key,
                                         teller_id=teller_id)
            self.wake()
            log.info("%s queued offline as %s", kind, entry.client_id)
            return TxOutcome(entry.client_id, "queued", "QUEUED_OFFLINE", QUEUED_TEXT, offline=True)
        entry = self.journal.create(kind, payload, amount_fen=amount_fen, person_key=person_key, teller_id=teller_id)
        cid = entry.client_id
        self.journal.mark_sending([cid])
        item = TransactionIn(client_id=cid, kind=kind, created_at=entry.created_at, payload=payload,
                             teller_id=teller_id)
        try:
            result = self.center.submit(item, token)
        except CenterOffline as exc:
            # the answer is unknown: the item stays journaled under its key and the worker finishes it
            self.journal.requeue([cid], 0.0, "CENTER_UNREACHABLE", "网络中断")
            self.wake()
            log.warning("%s %s: link lost while sending (%s); left queued for the sync worker", kind, cid, exc)
            return TxOutcome(cid, "queued", "SENT_UNCONFIRMED", QUEUED_TEXT, offline=True)
        except PortError as exc:
            # the terminal itself was not trusted (signature, clock, disabled): the center did nothing; the
            # item stays journaled and the sync worker raises the technician alarm and delivers it once fixed
            self.journal.requeue([cid], 5.0, exc.code, exc.message_zh)
            self.wake()
            log.error("%s %s: center refused the terminal (%s); left queued", kind, cid, exc.code)
            return TxOutcome(cid, "queued", exc.code, QUEUED_TEXT, offline=False)
        grouped = self.journal.apply_results([result])
        state = next((s for s, rs in grouped.items() if rs), None)
        if state is None:                     # the worker got there first: read what the journal holds
            e = self.journal.get(cid)
            state = e.state.value
            return TxOutcome(cid, "queued" if e.state in (State.QUEUED, State.SENDING) else state,
                             e.last_code or "OK", e.last_message or "", e.result or {})
        if state == State.QUEUED.value:       # in flight / server error: the worker retries with the same key
            self.wake()
            return TxOutcome(cid, "queued", result.code, QUEUED_TEXT, offline=False)
        log.info("%s %s: %s %s", kind, cid, state, result.code)
        return TxOutcome(cid, state, result.code, result.message, dict(result.result or {}))


def refusal_of(exc: OfflineRefused) -> PortError:
    return PortError(exc.code, exc.message_zh, exc.detail)
