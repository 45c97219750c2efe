"""Offline policy per service item, and the floor limits that keep the terminal's risk bounded."""
from __future__ import annotations

import threading

import pytest

from config.schema import OfflineSettings
from sync.journal import Journal, State
from sync.policy import OfflineGate, OfflineRefused
from sync.protocol import Catalog, OfflinePolicy, ServiceItem

CATALOG = Catalog(version="t1", items=[
    ServiceItem(code="withdrawal", name_zh="提取", name_en="Withdrawal", identity_level=3,
                offline_policy=OfflinePolicy.STORE_AND_FORWARD),
    ServiceItem(code="query", name_zh="个人缴存贷款信息查询", name_en="Query", identity_level=2,
                offline_policy=OfflinePolicy.ONLINE_ONLY),
    ServiceItem(code="loan_calc", name_zh="贷款试算", name_en="Loan calculator", offline_policy=OfflinePolicy.LOCAL),
    ServiceItem(code="deposit", name_zh="灵活就业缴存", name_en="Deposit", enabled=False,
                offline_policy=OfflinePolicy.STORE_AND_FORWARD),
])
LIMITS = OfflineSettings(per_transaction_limit_fen=500_000, total_queued_limit_fen=1_000_000, max_queued_count=3,
                         max_age_hours=72)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gate(tmp_path, clock):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key", clock=clock)
    yield OfflineGate(LIMITS, j, CATALOG)
    j.close()


def withdraw(gate, fen, who="330802199001011234"):
    return gate.journal_offline("withdrawal", {"reason": "02", "amount_fen": fen}, amount_fen=fen, person_key=who)


def refusal(fn) -> OfflineRefused:
    with pytest.raises(OfflineRefused) as exc:
        fn()
    assert exc.value.message_zh and exc.value.detail
    return exc.value


def test_an_offline_withdrawal_within_limits_is_queued_with_the_pending_receipt_text(gate):
    entry = withdraw(gate, 300_000)
    assert entry.state == State.QUEUED and entry.offline
    assert entry.status_text_zh == "已受理，待联网确认"


def test_an_amount_over_the_per_transaction_floor_limit_is_refused_politely(gate):
    err = refusal(lambda: withdraw(gate, 500_001))
    assert err.code == "OFFLINE_AMOUNT_OVER_LIMIT" and "5,000.00元" in err.message_zh
    assert gate.journal.figures().depth == 0                 # nothing journaled


def test_the_total_queued_amount_is_capped(gate):
    withdraw(gate, 500_000)
    withdraw(gate, 400_000, "110105194912310029")
    err = refusal(lambda: withdraw(gate, 100_001, "11010519491231002X"))
    assert err.code == "OFFLINE_TOTAL_OVER_LIMIT"
    withdraw(gate, 100_000, "11010519491231002X")            # exactly at the cap is still fine


def test_the_number_of_queued_items_is_capped(gate):
    for _ in range(3):
        withdraw(gate, 100)
    assert refusal(lambda: withdraw(gate, 100)).code == "OFFLINE_QUEUE_FULL"


def test_new_offline_items_stop_when_the_oldest_queued_item_is_too_old(gate, clock):
    withdraw(gate, 100)
    clock.t += 72 * 3600                                       # exactly at the limit: still taken
    withdraw(gate, 100)
    clock.t += 1
    err = refusal(lambda: withdraw(gate, 100))
    assert err.code == "OFFLINE_QUEUE_TOO_OLD" and "柜台" in err.message_zh


def test_online_only_items_are_refused_offline_and_local_items_always_run(gate):
    assert refusal(lambda: gate.decide("query", online=False)).code == "OFFLINE_NOT_ALLOWED"
    assert gate.decide("query", online=True).mode == "online"
    assert gate.decide("loan_calc", online=False).mode == "local"
    assert gate.decide("withdrawal", online=False).mode == "queue"
    assert refusal(lambda: gate.decide("deposit", online=True)).code == "ITEM_DISABLED"
    assert refusal(lambda: gate.decide("no_such", online=True)).code == "ITEM_UNKNOWN"


def test_without_any_catalog_nothing_is_taken(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    try:
        assert refusal(lambda: OfflineGate(LIMITS, j, None).decide("withdrawal", online=False)).code == \
            "CATALOG_MISSING"
    finally:
        j.close()


def test_two_tellers_at_once_cannot_both_take_the_last_queue_slot(tmp_path):
    limits = OfflineSettings(max_queued_count=1)
    journals = [Journal(tmp_path / "j.sqlite3", tmp_path / "j.key") for _ in range(2)]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def teller(j):
        start.wait()
        try:
            OfflineGate(limits, j, CATALOG).journal_offline("withdrawal", {"n": 1}, amount_fen=100)
            outcomes.append("queued")
        except OfflineRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=teller, args=(j,)) for j in journals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["OFFLINE_QUEUE_FULL", "queued"]
    for j in journals:
        j.close()
