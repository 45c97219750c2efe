"""Terminals deliver transactions exactly once: the client id is the idempotency key for every retry, on
SQLite and on PostgreSQL, also when many copies arrive at the same moment."""
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text

from center.models import Evaluation
from tests.center.conftest import tx
from kiosk.domain.clientid import new_client_id

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kiosk(any_center):
    return any_center.client("KIOSK-TX01")


def _count_evaluations(center, client_id: str) -> int:
    from center.db import make_engine
    eng = make_engine(center.db_url)
    try:
        with eng.connect() as c:
            return c.execute(select(func.count()).select_from(Evaluation)
                             .where(Evaluation.client_id == client_id)).scalar_one()
    finally:
        eng.dispose()


def test_a_mutating_request_without_idempotency_key_is_refused(kiosk):
    item = tx("evaluation", {"score": 4})
    r = kiosk.post("/v1/transactions", item)
    assert r.status_code == 400 and r.json()["code"] == "IDEMPOTENCY_KEY_MISSING"
    r = kiosk.post("/v1/transactions/batch", {"items": [item]})
    assert r.status_code == 400 and r.json()["code"] == "IDEMPOTENCY_KEY_MISSING"
    r = kiosk.post("/v1/heartbeat", {"terminal_id": "KIOSK-TX01", "sent_at": datetime.now(timezone.utc).isoformat(),
                                     "software_version": "1.0"})
    assert r.status_code == 400


def test_a_retried_evaluation_is_stored_once_and_the_retry_is_marked_replayed(any_center, kiosk):
    item = tx("evaluation", {"item_code": "withdrawal", "score": 5, "comment": "很方便"})
    first = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    retry = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert first.status_code == retry.status_code == 200
    assert first.json()["outcome"] == "accepted" and first.json()["replayed"] is False
    assert retry.json()["replayed"] is True
    assert {k: v for k, v in retry.json().items() if k != "replayed"} == \
        {k: v for k, v in first.json().items() if k != "replayed"}
    assert _count_evaluations(any_center, item["client_id"]) == 1


def test_the_same_key_with_another_payload_is_refused_with_422(kiosk):
    item = tx("evaluation", {"score": 5})
    assert kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"]).status_code == 200
    changed = dict(item, payload={"score": 1})
    r = kiosk.post("/v1/transactions", changed, idempotency_key=item["client_id"])
    assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_rejected_item_is_final_and_replayed_as_rejected(kiosk):
    item = tx("evaluation", {"score": 9})
    first = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    again = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert first.status_code == again.status_code == 422
    assert first.json()["outcome"] == again.json()["outcome"] == "rejected"
    assert first.json()["code"] == "VALIDATION_FAILED" and again.json()["replayed"] is True


def test_an_unknown_kind_is_rejected_with_a_code(kiosk):
    item = tx("lottery_ticket", {"x": 1})
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert r.status_code == 422
    assert r.json()["outcome"] == "rejected" and r.json()["code"] == "UNKNOWN_KIND"


def test_a_request_while_the_first_is_still_in_flight_gets_409(any_center, kiosk):
    """The key row is the lock: while it is held (the first request still working), a retry gets 409."""
    item = tx("evaluation", {"score": 3})
    from center.db import make_engine
    eng = make_engine(any_center.db_url)
    from center.idempotency import fingerprint  # noqa: F401  (the real fingerprint is not needed: in flight wins)
    from center.transactions import item_fingerprint
    from sync.protocol import TransactionIn
    fp = item_fingerprint(TransactionIn.model_validate(item))
    with eng.begin() as c:
        c.execute(text("INSERT INTO idempotency_records (principal, key, fingerprint, state, lock_token, created_at)"
                       " VALUES (:p, :k, :f, 'in_flight', 'held-by-test', :t)"),
                  {"p": "KIOSK-TX01", "k": item["client_id"], "f": fp, "t": datetime.now(timezone.utc)})
    eng.dispose()
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_IN_FLIGHT"
    b = kiosk.post("/v1/transactions/batch", {"items": [item]}, idempotency_key=new_client_id())
    assert b.json()["results"][0]["outcome"] == "in_flight"
    assert kiosk.get(f"/v1/transactions/{item['client_id']}").json()["outcome"] == "in_flight"


def test_twenty_simultaneous_copies_of_one_transaction_are_processed_exactly_once(any_center):
    """Real uvicorn, 20 threads released together: one does the work, the others get 409 or the replay."""
    clients = [any_center.client(f"KIOSK-CONC{i:02d}") for i in range(1)]
    c = clients[0]
    for round_ in range(3):
        item = tx("evaluation", {"score": 5, "comment": f"round {round_}"})
        barrier = threading.Barrier(20)
        results = []

        def send():
            barrier.wait()
            r = c.post("/v1/transactions", item, idempotency_key=item["client_id"])
            results.append((r.status_code, r.json()))

        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = Counter(s for s, _ in results)
        assert set(statuses) <= {200, 409}, statuses
        fresh = [b for s, b in results if s == 200 and not b["replayed"]]
        assert len(fresh) == 1
        assert _count_evaluations(any_center, item["client_id"]) == 1


def test_a_batch_answers_each_item_in_order_and_replays_accepted_ones(any_center, kiosk):
    done = tx("evaluation", {"score": 4})
    assert kiosk.post("/v1/transactions", done, idempotency_key=done["client_id"]).status_code == 200
    fresh = [tx("evaluation", {"score": 1 + i % 5}) for i in range(5)]
    bad = tx("evaluation", {"score": 0})
    unknown = tx("teleport", {})
    items = [fresh[0], done, fresh[1], bad, fresh[2], unknown, fresh[3], fresh[4], fresh[0]]
    r = kiosk.post("/v1/transactions/batch", {"items": items}, idempotency_key=new_client_id())
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["client_id"] for x in res] == [i["client_id"] for i in items]
    outcomes = [(x["outcome"], x["replayed"]) for x in res]
    assert outcomes == [("accepted", False), ("accepted", True), ("accepted", False), ("rejected", False),
                        ("accepted", False), ("rejected", False), ("accepted", False), ("accepted", False),
                        ("accepted", True)]
    assert res[5]["code"] == "UNKNOWN_KIND"
    # the whole batch again (a retry after a lost answer): everything replayed, nothing stored twice
    again = kiosk.post("/v1/transactions/batch", {"items": items}, idempotency_key=new_client_id()).json()["results"]
    assert all(x["replayed"] for x in again)
    assert [x["outcome"] for x in again] == [x["outcome"] for x in res]
    assert _count_evaluations(any_center, fresh[0]["client_id"]) == 1


def test_a_batch_of_500_is_accepted_and_501_is_refused(kiosk):
    items = [tx("evaluation", {"score": 5}) for _ in range(500)]
    r = kiosk.post("/v1/transactions/batch", {"items": items}, idempotency_key=new_client_id())
    assert r.status_code == 200 and len(r.json()["results"]) == 500
    assert all(x["outcome"] == "accepted" for x in r.json()["results"])
    r = kiosk.post("/v1/transactions/batch", {"items": items + [tx("evaluation", {"score": 5})]},
                   idempotency_key=new_client_id())
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED"


def test_reconcile_lists_what_this_terminal_got_accepted_today_only(any_center):
    mine, other = any_center.client("KIOSK-REC1"), any_center.client("KIOSK-REC2")
    a, b = tx("evaluation", {"score": 5}), tx("evaluation", {"score": 0})
    c = tx("evaluation", {"score": 5})
    mine.post("/v1/transactions/batch", {"items": [a, b]}, idempotency_key=new_client_id())
    other.post("/v1/transactions", c, idempotency_key=c["client_id"])
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    r = mine.get(f"/v1/transactions/reconcile?date={today.isoformat()}").json()
    assert r["client_ids"] == [a["client_id"]] and r["rejected"] == [b["client_id"]]
    yesterday = (today - timedelta(days=1)).isoformat()
    assert mine.get(f"/v1/transactions/reconcile?date={yesterday}").json()["client_ids"] == []
    assert mine.get("/v1/transactions/reconcile?date=2026-02-30").status_code == 422


def test_looking_up_a_transaction_the_center_never_got_says_so(kiosk):
    r = kiosk.get(f"/v1/transactions/{new_client_id()}")
    assert r.status_code == 404 and r.json()["code"] == "TRANSACTION_NOT_FOUND"


def test_one_terminal_cannot_read_another_terminals_transaction(any_center):
    a, b = any_center.client("KIOSK-OWN1"), any_center.client("KIOSK-OWN2")
    item = tx("evaluation", {"score": 5})
    a.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert b.get(f"/v1/transactions/{item['client_id']}").status_code == 404


def test_a_key_left_in_flight_by_a_crashed_worker_is_taken_over_after_two_minutes(any_center, kiosk):
    item = tx("evaluation", {"score": 4})
    from center.db import make_engine
    from center.transactions import item_fingerprint
    from sync.protocol import TransactionIn
    eng = make_engine(any_center.db_url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO idempotency_records (principal, key, fingerprint, state, lock_token, created_at)"
                       " VALUES (:p, :k, :f, 'in_flight', 'crashed-worker', :t)"),
                  {"p": "KIOSK-TX01", "k": item["client_id"], "f": item_fingerprint(TransactionIn.model_validate(item)),
                   "t": datetime.now(timezone.utc) - timedelta(minutes=10)})
    eng.dispose()
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert r.status_code == 200 and r.json()["outcome"] == "accepted" and r.json()["replayed"] is False
    assert _count_evaluations(any_center, item["client_id"]) == 1


def test_overlapping_batches_sent_at_once_in_opposite_orders_each_item_is_stored_once(any_center):
    """Two terminals' uploads never share ids, but one terminal retrying a batch while the first attempt still
    runs does; in opposite orders that must not deadlock the database."""
    c = any_center.client("KIOSK-OVERLAP")
    items = [tx("evaluation", {"score": 5}) for _ in range(60)]
    barrier = threading.Barrier(4)
    answers = []

    def send(order):
        barrier.wait()
        r = c.post("/v1/transactions/batch", {"items": order}, idempotency_key=new_client_id())
        answers.append(r.status_code)

    orders = [items, list(reversed(items)), items[30:] + items[:30], items]
    threads = [threading.Thread(target=send, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    for it in items[::7]:
        assert _count_evaluations(any_center, it["client_id"]) == 1
    final = c.post("/v1/transactions/batch", {"items": items}, idempotency_key=new_client_id()).json()["results"]
    assert all(r["outcome"] == "accepted" and r["replayed"] for r in final)
