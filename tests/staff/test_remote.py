"""The center's operator asks a terminal for its logs and switches an item off; on its next sync the terminal
applies the catalog, uploads its logs masked, and says so in the audit log."""
from __future__ import annotations

import json
import secrets

import requests

from kiosk.staff.center import StaffCenterClient
from kiosk.staff.remote import RemoteCommands
from tests.staff.staffhelpers import ZHANG
from sync.downward import CatalogCache


def operator(center, path, body=None):
    r = requests.post(center.url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {center.operator_token}",
                               "Idempotency-Key": secrets.token_hex(16)})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_log_upload_request_is_performed_on_the_next_sync_with_masked_logs(counter, tmp_path):
    logdir = counter.settings.paths.log_dir
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "hpf-kiosk.jsonl").write_text(json.dumps({"msg": f"served {ZHANG[1]} tel 13800138000"}) + "\n")
    tid = counter.settings.terminal.id
    operator(counter.center, f"/v1/admin/terminals/{tid}/log-upload")
    cache = CatalogCache.for_settings(counter.settings)
    cached, _changed = cache.refresh(counter.client)             # the next sync
    assert {"kind": "upload_logs"} in cached.catalog.commands

    rep = RemoteCommands(counter.settings, counter.client, counter.audit).apply(cached.catalog)
    assert rep.logs_uploaded and rep.logs_uploaded["bytes"] > 0 and not rep.errors
    stored = list((counter.center.config.data_dir / "uploaded-logs").rglob("*.log"))
    assert len(stored) == 1
    text = stored[0].read_text()
    assert "served" in text and ZHANG[1] not in text and "13800138000" not in text
    acts = [(a, act, r) for a, act, r, _d in counter.actions()]
    assert ("center", "remote.upload_logs", "ok") in acts and ("center", "remote.catalog_applied", "ok") in acts

    again, _ = cache.refresh(counter.client)                      # the request is cleared at the center
    assert not again.catalog.commands
    assert RemoteCommands(counter.settings, counter.client, counter.audit).apply(again.catalog).logs_uploaded is None


def test_an_item_switched_off_is_recorded_once_per_catalog(counter):
    operator(counter.center, "/v1/admin/switches", {"item_code": "withdrawal", "enabled": False,
                                                    "channel": "bank_counter"})
    cache = CatalogCache.for_settings(counter.settings)
    cached, _ = cache.refresh(counter.client)
    remote = RemoteCommands(counter.settings, counter.client, counter.audit)
    first = remote.apply(cached.catalog)
    assert "withdrawal" in first.disabled_items and first.new_version
    assert not remote.apply(cached.catalog).new_version
    applied = [d for _a, act, _r, d in counter.actions() if act == "remote.catalog_applied"]
    assert len(applied) == 1 and "withdrawal" in applied[0]["disabled_items"]


def test_a_failed_upload_is_reported_and_tried_again_next_time(counter):
    from sync.protocol import Catalog
    cat = Catalog(version="v-test", items=[], commands=[{"kind": "upload_logs"}])
    down = StaffCenterClient("http://127.0.0.1:9", counter.client.credentials, connect_timeout_s=1)   # link down
    rep = RemoteCommands(counter.settings, down, counter.audit).apply(cat)
    assert rep.logs_uploaded is None and rep.errors[0]["code"] == "CENTER_UNREACHABLE"
    assert any(act == "remote.upload_logs" and r == "failed:CENTER_UNREACHABLE"
               for _a, act, r, _d in counter.actions())


def test_the_sync_worker_applies_the_request_after_its_next_heartbeat_and_catalog_refresh(counter):
    from sync.worker import SyncWorker
    logdir = counter.settings.paths.log_dir
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "hpf-kiosk.jsonl").write_text("a line\n")
    worker = SyncWorker.from_settings(counter.settings, counter.journal, counter.client)
    remote = RemoteCommands(counter.settings, counter.client, counter.audit)
    remote.attach(worker)
    worker.refresh_catalog()                                      # first sync: nothing asked yet
    operator(counter.center, f"/v1/admin/terminals/{counter.settings.terminal.id}/log-upload")
    worker.heartbeat_now()                                        # the heartbeat reply carries the request
    worker.refresh_catalog()
    uploads = [r for _a, act, r, _d in counter.actions() if act == "remote.upload_logs"]
    assert uploads == ["ok"]                                      # once, not once per channel
    assert len(list((counter.center.config.data_dir / "uploaded-logs").rglob("*.log"))) == 1


def test_the_terminal_says_what_the_center_changed_and_nothing_when_nothing_did():
    from kiosk.staff.remote import RemoteReport, notice, notice_parts
    assert notice(RemoteReport(catalog_version="v1")) is None
    logs = RemoteReport(catalog_version="v1", logs_uploaded={"bytes": 10, "stored": "x"})
    msg = notice(logs)
    assert msg.code == "REMOTE_APPLIED" and "上传日志" in msg.zh and "Logs uploaded" in msg.en
    cat = RemoteReport(catalog_version="v2", disabled_items=["withdrawal"], announcements=["A1"], new_version=True)
    both = notice(cat, notice_parts(logs))                       # the same sync: heartbeat reply, then catalog
    assert "暂停1项业务" in both.zh and "公告1条" in both.zh and "上传日志" in both.zh
    first = RemoteReport(catalog_version="v1", disabled_items=["withdrawal"], new_version=True, first_version=True)
    assert notice(first) is None                                 # the first catalog after install: nothing changed
    failed = RemoteReport(catalog_version="v2", errors=[{"code": "CENTER_UNREACHABLE"}])
    assert "下次同步时重试" in notice(failed).zh
