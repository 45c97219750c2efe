"""Every journaled transaction reaches the center exactly once, whatever the network does in between.

A fault-injecting proxy sits between the kiosk and the real center (`hpf-center serve` over loopback)."""
from __future__ import annotations

import threading

import pytest

from center.testing import run_center
from sync.journal import State
from sync.testing.faultproxy import Fault, FaultProxy

from tests.sync.synchelpers import evaluation


def wait_until_drained(kiosk, worker, deadline_s: float = 90.0) -> None:
    """Run the worker thread until the outbox is empty (the deadline only guards against a hang)."""
    done = threading.Event()

    def on_event(ev):
        if ev.name == "queue" and ev.data["depth"] == 0:
            done.set()

    worker.subscribe(on_event)
    worker.start(initial_delay_s=0)
    try:
        if kiosk.journal.figures().depth == 0:
            done.set()
        assert done.wait(deadline_s), f"outbox not drained: {kiosk.journal.figures()}"
    finally:
        worker.stop()


def assert_center_holds_exactly(kiosk, expected_ids: set[str], n_items: int) -> None:
    states = kiosk.journal.states_of(expected_ids)
    assert set(states.values()) == {State.ACCEPTED}, f"not all accepted: {states}"
    assert kiosk.center_accepted() == expected_ids                      # nothing lost, nothing extra
    comments = kiosk.center_evaluation_comments()
    assert len(comments) == n_items == len(set(comments))               # no duplicate at the center


@pytest.mark.parametrize("fault", [Fault.RESET_BEFORE, Fault.RESET_AFTER_COMMIT, Fault.BLACK_HOLE,
                                   Fault.ERROR_5XX, Fault.ERROR_5XX_AFTER_COMMIT])
def test_queued_transactions_are_delivered_once_through_a_faulty_link(make_kiosk, proxy, fault):
    kiosk = make_kiosk(url=proxy.url)
    ids = {kiosk.journal.create("evaluation", evaluation(n), person_key=f"P{n % 7}").client_id
           for n in range(80)}
    proxy.script(*[fault] * 4)           # the first four requests all meet the fault
    wait_until_drained(kiosk, kiosk.worker())
    assert proxy.counts[fault] == 4
    assert_center_holds_exactly(kiosk, ids, 80)


def test_reply_lost_after_commit_is_replayed_not_duplicated(make_kiosk, proxy):
    kiosk = make_kiosk(url=proxy.url)
    ids = {kiosk.journal.create("evaluation", evaluation(n)).client_id for n in range(10)}
    proxy.script(Fault.RESET_AFTER_COMMIT)
    worker = kiosk.worker()
    first = worker.drain()
    assert first.error is not None and first.error.code == "CENTER_UNREACHABLE"
    assert kiosk.center_accepted() == ids                 # the center did commit them ...
    assert kiosk.journal.figures().depth == 10            # ... but the kiosk never heard: still queued
    second = worker.drain()
    assert second.ok and second.accepted == 10
    history = kiosk.journal.history(sorted(ids)[0])
    assert history[-1].to_state == "accepted" and history[-1].note == "replayed"
    assert_center_holds_exactly(kiosk, ids, 10)


def test_enqueue_while_link_is_chaotic_and_center_restarts(make_kiosk, tmp_path):
    work = tmp_path / "center-restart"
    center = run_center(work, seed=None)
    proxy = FaultProxy("127.0.0.1", center.port, seed=7).start()
    try:
        kiosk = make_kiosk(url=proxy.url)
        # This test's kiosk is enrolled at the module's center; enroll it at this one too.
        kiosk.center = center
        kiosk.secret = center.enroll(kiosk.terminal_id)
        proxy.latency_s = 0.005
        proxy.set_rates(reset_before=0.1, reset_after_commit=0.1, black_hole=0.02, error_5xx=0.1,
                        error_5xx_after_commit=0.1)
        worker = kiosk.worker()
        worker.start(initial_delay_s=0)
        ids: set[str] = set()
        try:
            for n in range(200):
                ids.add(kiosk.journal.create("evaluation", evaluation(n), person_key=f"P{n % 13}").client_id)
                worker.wake()
                if n == 100:                                  # the center restarts mid-stream
                    center.stop()
                    center = run_center(work, db_url=center.db_url, seed=None)
                    kiosk.center = center
                    proxy.upstream = ("127.0.0.1", center.port)
        finally:
            worker.stop()
        wait_until_drained(kiosk, kiosk.worker())                 # still through the faulty link
        assert sum(proxy.counts[f] for f in Fault if f != Fault.PASS) >= 5      # the faults really happened
        assert_center_holds_exactly(kiosk, ids, 200)
    finally:
        proxy.stop()
        center.stop()
