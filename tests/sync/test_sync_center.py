"""The kiosk against the real center over loopback: refusals, auth alarms, catalog, heartbeat, one worker."""
from __future__ import annotations

import sqlite3

import pytest

from kiosk.audit import AuditLog
from sync.client import CenterAuthError, CenterUnavailable
from sync.downward import CatalogCache
from sync.journal import Journal, State
from sync.policy import OfflineGate
from sync.protocol import ItemOutcome, OfflinePolicy, TransactionIn
from sync.worker import WorkerBusy

from tests.sync.synchelpers import evaluation


def events_of(worker):
    seen = []
    worker.subscribe(seen.append)
    return seen


def test_a_queued_withdrawal_refused_by_the_center_is_recorded_for_staff(kiosk):
    # Taken offline; on arrival the center re-validates and finds no such account.
    gate = OfflineGate(kiosk.settings.offline, kiosk.journal, _catalog(kiosk))
    entry = gate.journal_offline("withdrawal", {"id_number": "11010519491231002X", "reason": "02",
                                                "amount_fen": 100_000}, amount_fen=100_000,
                                 person_key="11010519491231002X")
    ok = kiosk.journal.create("evaluation", evaluation(1))
    worker = kiosk.worker()
    seen = events_of(worker)
    report = worker.drain()
    assert report.ok and report.accepted == 1 and report.rejected == 1
    refused = kiosk.journal.get(entry.client_id)
    assert refused.state == State.REJECTED and refused.last_code == "PERSON_NOT_FOUND"
    assert refused.last_message == "未查询到您的公积金账户信息，请到柜台咨询"
    assert [e.client_id for e in kiosk.journal.list(state="rejected")] == [entry.client_id]   # staff see it
    assert ("rejected", entry.client_id) in [(e.name, e.data.get("client_id")) for e in seen]
    assert kiosk.journal.get(ok.client_id).state == State.ACCEPTED


def _catalog(kiosk):
    cached, _ = CatalogCache.for_settings(kiosk.settings).refresh(kiosk.port())
    return cached.catalog


def test_a_wrong_terminal_secret_raises_the_auth_alarm_and_keeps_items_queued(kiosk):
    ids = {kiosk.journal.create("evaluation", evaluation(n)).client_id for n in range(3)}
    worker = kiosk.worker(port=kiosk.port(secret=b"not-the-enrolled-secret-000000000"))
    seen = events_of(worker)
    report = worker.drain()
    assert isinstance(report.error, CenterAuthError) and report.error.code == "AUTH_BAD_SIGNATURE"
    alarms = [e for e in seen if e.name == "auth_alarm"]
    assert len(alarms) == 1 and alarms[0].data["message_zh"] == "终端签名校验失败，请联系管理员"
    assert worker.auth_alarm is not None and worker.online is False
    assert {e.client_id for e in kiosk.journal.list(state="queued")} == ids
    assert kiosk.journal.get(sorted(ids)[0]).last_code == "AUTH_BAD_SIGNATURE"
    fixed = kiosk.worker()                                   # after re-enrollment / clock fix
    assert fixed.drain().accepted == 3 and kiosk.center_accepted() == ids


def test_the_catalog_is_cached_with_its_etag_and_serves_offline(kiosk, tmp_path):
    cache = CatalogCache.for_settings(kiosk.settings)
    worker = kiosk.worker()
    seen = events_of(worker)
    assert worker.refresh_catalog() and worker.refresh_catalog()
    assert [e.name for e in seen].count("catalog") == 1          # the second answer was 304 Not Modified
    cached = cache.load()
    assert cached.etag and any(i.code == "withdrawal" and i.offline_policy == OfflinePolicy.STORE_AND_FORWARD
                               for i in cached.catalog.items)
    # Later, offline: the gate decides from the disk copy alone.
    gate = OfflineGate(kiosk.settings.offline, kiosk.journal, CatalogCache.for_settings(kiosk.settings).load().catalog)
    assert gate.decide("withdrawal", online=False).mode == "queue"
    assert gate.decide("loan_calc", online=False).mode == "local"


def test_the_heartbeat_reports_queue_depth_oldest_age_version_devices_and_audit_head(kiosk, tmp_path):
    audit = AuditLog(tmp_path / "audit.sqlite3", b"k" * 32)
    kiosk.journal.audit = audit.sink("sync")
    kiosk.journal.create("evaluation", evaluation(1))
    kiosk.journal.create("evaluation", evaluation(2))
    worker = kiosk.worker(devices=lambda: {"idcard": "online", "receipt_printer": "noDevice"},
                          audit_head=audit.head, version="9.8.7")
    assert worker.heartbeat_now() == {"ok": True, "audit_flag": "", "commands": []}
    db = kiosk.center.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT queue_depth, software_version, devices, audit_seq FROM heartbeats "
                           "WHERE terminal_id = ? ORDER BY id DESC", (kiosk.terminal_id,)).fetchone()
    assert row[0] == 2 and row[1] == "9.8.7" and "noDevice" in row[2]
    assert row[3] == audit.head()[0] >= 2                   # the journal's creates were audited
    audit.close()


def test_only_one_sync_worker_runs_at_a_time(kiosk):
    first, second = kiosk.worker(), kiosk.worker()
    first.start(initial_delay_s=0)
    try:
        with pytest.raises(WorkerBusy):
            second.start(initial_delay_s=0)
    finally:
        first.stop()
    second.start(initial_delay_s=0)
    second.stop()


def test_losing_and_regaining_the_center_is_announced_once_each(kiosk, center):
    worker = kiosk.worker(port=kiosk.port())
    seen = events_of(worker)
    kiosk.journal.create("evaluation", evaluation(1))
    real = worker.port.base_url
    worker.port.base_url = "http://127.0.0.1:9"                 # discard port: nothing listens
    assert isinstance(worker.drain().error, CenterUnavailable)
    assert isinstance(worker.drain().error, CenterUnavailable)
    worker.port.base_url = real
    assert worker.drain().accepted == 1
    links = [(e.data["online"], e.data["code"]) for e in seen if e.name == "link"]
    assert links == [(False, "CENTER_UNREACHABLE"), (True, "OK")]


def test_one_post_per_transaction_is_idempotent_too(kiosk):
    entry = kiosk.journal.create("evaluation", evaluation(7))
    item = kiosk.journal.next_batch(1)[0]
    port = kiosk.port()
    first, again = port.submit(item), port.submit(item)
    assert first.outcome == again.outcome == ItemOutcome.ACCEPTED
    assert not first.replayed and again.replayed
    assert port.transaction_status(entry.client_id).outcome == ItemOutcome.ACCEPTED
    assert kiosk.center_evaluation_comments() == ["n=7"]


def test_an_audit_head_going_backwards_is_flagged_back_to_the_terminal(kiosk):
    heads = iter([(10, "a" * 64), (3, "b" * 64)])            # e.g. the audit log was truncated
    worker = kiosk.worker(audit_head=lambda: next(heads))
    seen = events_of(worker)
    assert worker.heartbeat_now()["audit_flag"] == ""
    assert worker.heartbeat_now()["audit_flag"] == "seq_backwards"
    assert [e.data["flag"] for e in seen if e.name == "audit_flag"] == ["seq_backwards"]
