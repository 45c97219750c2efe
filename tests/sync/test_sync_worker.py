"""The worker depends only on CenterPort: a province whose platform speaks another dialect plugs in there."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from sync.client import CenterRefused, CenterUnavailable
from sync.journal import Journal, State
from sync.protocol import ItemOutcome, ItemResult, TransactionIn
from sync.worker import SyncWorker

SYNC = SimpleNamespace(batch_size=10, idle_poll_s=0.05, backoff_base_s=0.01, backoff_cap_s=0.05,
                       stagger_window_s=0, heartbeat_interval_s=3600, catalog_interval_s=3600)


class ProvinceAdapter:
    """A CenterPort for a platform with `spt_*` envelopes and its own field names (here kept in memory)."""

    def __init__(self):
        self.platform: dict[str, dict] = {}            # what the province platform holds, by its key
        self.envelopes: list[dict] = []
        self.busy_once: set[str] = set()
        self.refuse_batches = 0

    def upload_batch(self, items: list[TransactionIn]) -> list[ItemResult]:
        if self.refuse_batches:
            self.refuse_batches -= 1
            raise CenterRefused("SPT_BATCH_TOO_LARGE", "批量过大", "gateway refuses batches")
        return [self.submit(i) for i in items]

    def submit(self, item: TransactionIn) -> ItemResult:
        env = {"spt_head": {"ywlx": item.kind, "lsh": item.client_id}, "spt_body": item.payload}
        self.envelopes.append(env)
        if item.client_id in self.busy_once:
            self.busy_once.discard(item.client_id)
            return ItemResult(client_id=item.client_id, outcome=ItemOutcome.IN_FLIGHT, http_status=409,
                              code="IDEMPOTENCY_IN_FLIGHT")
        replayed = item.client_id in self.platform
        self.platform.setdefault(item.client_id, env)
        return ItemResult(client_id=item.client_id, outcome=ItemOutcome.ACCEPTED, http_status=200,
                          replayed=replayed)

    def transaction_status(self, client_id):
        return None

    def reconcile(self, day):
        raise CenterUnavailable("NOT_SUPPORTED", "不支持", "province platform has no reconcile")

    def fetch_catalog(self, etag):
        raise CenterUnavailable("NOT_SUPPORTED", "不支持", "no catalog")

    def heartbeat(self, beat):
        return {}


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    yield j
    j.close()


def worker_for(journal, port, tmp_path):
    return SyncWorker(journal, port, terminal_id="QZ-KIOSK-0001", sync_settings=SYNC, lock_path=tmp_path / "sync.lock")


def test_a_province_adapter_plugs_in_behind_the_same_port(journal, tmp_path):
    port = ProvinceAdapter()
    ids = [journal.create("withdrawal", {"n": n}, person_key=f"P{n % 2}").client_id for n in range(25)]
    report = worker_for(journal, port, tmp_path).drain()
    assert report.ok and report.accepted == 25
    assert set(port.platform) == set(ids)
    assert port.envelopes[0]["spt_head"] == {"ywlx": "withdrawal", "lsh": ids[0]}


def test_an_item_still_in_flight_at_the_center_is_retried_later_under_the_same_key(journal, tmp_path):
    port = ProvinceAdapter()
    busy = journal.create("withdrawal", {"n": 1}, person_key="A").client_id
    port.busy_once.add(busy)
    worker = worker_for(journal, port, tmp_path)
    done = threading.Event()
    worker.subscribe(lambda ev: ev.name == "queue" and ev.data["depth"] == 0 and done.set())
    worker.start(initial_delay_s=0)
    try:
        assert done.wait(30)
    finally:
        worker.stop()
    assert [e["spt_head"]["lsh"] for e in port.envelopes] == [busy, busy]      # same key both times
    assert journal.get(busy).state == State.ACCEPTED


def test_a_gateway_that_refuses_batches_gets_the_items_one_by_one(journal, tmp_path):
    port = ProvinceAdapter()
    port.refuse_batches = 1
    ids = [journal.create("evaluation", {"n": n}).client_id for n in range(3)]
    report = worker_for(journal, port, tmp_path).drain()
    assert report.ok and report.accepted == 3 and set(port.platform) == set(ids)


def test_the_worker_beats_on_schedule_with_queue_figures_and_passes_on_center_commands(journal, tmp_path):
    class Beating(ProvinceAdapter):
        def __init__(self):
            super().__init__()
            self.beats = []
            self.three = threading.Event()

        def upload_batch(self, items):
            raise CenterUnavailable("CENTER_UNREACHABLE", "暂时无法连接", "link down for uploads")

        def heartbeat(self, beat):
            self.beats.append(beat)
            if len(self.beats) >= 3:
                self.three.set()
            return {"ok": True, "commands": [{"kind": "upload_logs"}]}

    port = Beating()
    journal.create("withdrawal", {"n": 1}, amount_fen=100)
    settings = SimpleNamespace(**{**vars(SYNC), "heartbeat_interval_s": 0.05})
    worker = SyncWorker(journal, port, terminal_id="QZ-KIOSK-0001", sync_settings=settings,
                        lock_path=tmp_path / "sync.lock", devices=lambda: {"idcard": "online"},
                        audit_head=lambda: (42, "ab" * 32), version="1.2.3")
    commands = []
    worker.subscribe(lambda ev: ev.name == "commands" and commands.append(ev.data["commands"]))
    worker.start(initial_delay_s=0)
    try:
        assert port.three.wait(30)
    finally:
        worker.stop()
    beat = port.beats[-1]
    assert (beat.terminal_id, beat.software_version, beat.queue_depth) == ("QZ-KIOSK-0001", "1.2.3", 1)
    assert beat.devices == {"idcard": "online"} and beat.audit_head.seq == 42
    assert commands and commands[0] == [{"kind": "upload_logs"}]


def test_a_center_answering_5xx_is_busy_not_offline_so_the_link_does_not_flap(journal, tmp_path):
    class Overloaded(ProvinceAdapter):
        def upload_batch(self, items):
            raise CenterUnavailable("HTTP_503", "系统繁忙", "POST /transactions/batch -> 503", status=503)

    journal.create("evaluation", {"n": 1})
    worker = worker_for(journal, Overloaded(), tmp_path)
    links = []
    worker.subscribe(lambda ev: ev.name == "link" and links.append(ev.data["online"]))
    for _ in range(3):
        worker.heartbeat_now()
        assert worker.drain().error.code == "HTTP_503"
    assert links == [True] and journal.figures().depth == 1
