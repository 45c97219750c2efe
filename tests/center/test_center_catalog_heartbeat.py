"""Operators switch service items per channel and per terminal and push announcements; terminals fetch the
catalog with ETag/304, and report heartbeats whose audit head must never go backwards."""
from datetime import datetime, timezone

import requests

from kiosk.domain.clientid import new_client_id


def _catalog(client, etag=None):
    return client.get("/v1/catalog", headers={"If-None-Match": etag} if etag else None)


def _items(resp):
    return {i["code"]: i for i in resp.json()["items"]}


def test_the_catalog_carries_items_rates_and_is_cached_by_etag(center_process):
    k = center_process.client("KIOSK-CAT1")
    r = _catalog(k)
    assert r.status_code == 200 and r.headers["ETag"]
    items = _items(r)
    assert items["withdrawal"]["identity_level"] == 3 and items["withdrawal"]["offline_policy"] == "store_and_forward"
    assert items["loan_calc"]["offline_policy"] == "local" and items["evaluation"]["enabled"] is True
    rates = r.json()["rates"]
    assert {"effective_from": "2025-05-08", "first_home_le5_bp": 210, "first_home_gt5_bp": 260} .items() <= rates[-1].items()
    assert r.json()["hotline"] == "12329"
    same = _catalog(k, r.headers["ETag"])
    assert same.status_code == 304 and same.content == b""


def test_switching_an_item_off_for_one_terminal_leaves_the_others_on(center_process):
    a, b = center_process.client("KIOSK-CAT2"), center_process.client("KIOSK-CAT3")
    etag_a = _catalog(a).headers["ETag"]
    r = center_process.admin("POST", "/v1/admin/switches",
                             {"item_code": "withdrawal", "enabled": False, "terminal_id": "KIOSK-CAT2"})
    assert r.status_code == 200
    changed = _catalog(a, etag_a)
    assert changed.status_code == 200 and _items(changed)["withdrawal"]["enabled"] is False
    assert _items(_catalog(b))["withdrawal"]["enabled"] is True


def test_a_channel_switch_applies_to_bank_counters_and_a_terminal_switch_overrides_it(center_process):
    bank = center_process.client("BANK-CAT1", channel="bank_counter")
    kiosk = center_process.client("KIOSK-CAT4")
    assert center_process.admin("POST", "/v1/admin/switches",
                                {"item_code": "loan_preapply", "enabled": False,
                                 "channel": "self_service"}).status_code == 200
    assert _items(_catalog(kiosk))["loan_preapply"]["enabled"] is False
    assert _items(_catalog(center_process.client("KIOSK-CAT6")))["loan_preapply"]["enabled"] is False
    assert center_process.admin("POST", "/v1/admin/switches",
                                {"item_code": "loan_preapply", "enabled": True,
                                 "terminal_id": "KIOSK-CAT4"}).status_code == 200
    assert _items(_catalog(kiosk))["loan_preapply"]["enabled"] is True
    assert _items(_catalog(bank))["loan_preapply"]["enabled"] is True


def test_unknown_items_and_missing_operator_token_are_refused(center_process):
    r = center_process.admin("POST", "/v1/admin/switches", {"item_code": "casino", "enabled": True})
    assert r.status_code == 422 and r.json()["code"] == "UNKNOWN_ITEM"
    r = requests.post(center_process.url + "/v1/admin/switches", json={"item_code": "query", "enabled": False},
                      headers={"Idempotency-Key": "x"}, timeout=30)
    assert r.status_code == 401 and r.json()["code"] == "OPERATOR_TOKEN_INVALID"
    r = requests.post(center_process.url + "/v1/admin/switches", json={"item_code": "query", "enabled": False},
                      headers={"Authorization": f"Bearer {center_process.operator_token}"}, timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "IDEMPOTENCY_KEY_MISSING"


def test_an_announcement_reaches_every_terminal_through_the_catalog(center_process):
    k = center_process.client("KIOSK-CAT5")
    etag = _catalog(k).headers["ETag"]
    r = center_process.admin("POST", "/v1/admin/announcements",
                             {"title_zh": "系统升级通知", "body_zh": "本周六22:00至24:00暂停服务。",
                              "valid_until": "2030-01-01"})
    assert r.status_code == 200
    cat = _catalog(k, etag)
    assert cat.status_code == 200
    assert any(a["title_zh"] == "系统升级通知" for a in cat.json()["announcements"])


def _hb(terminal_id, seq=None, h="a" * 64, queue=0):
    body = {"terminal_id": terminal_id, "sent_at": datetime.now(timezone.utc).isoformat(),
            "software_version": "1.2.3", "queue_depth": queue, "oldest_queued_age_s": 12 if queue else 0,
            "devices": {"idcard": "online", "receipt_printer": "userError"}}
    if seq is not None:
        body["audit_head"] = {"seq": seq, "hash": h}
    return body


def test_heartbeats_are_listed_for_the_operator_and_a_backwards_audit_head_is_flagged(center_process):
    k = center_process.client("KIOSK-HB1")
    for seq, h in ((10, "a" * 64), (25, "b" * 64)):
        r = k.post("/v1/heartbeat", _hb("KIOSK-HB1", seq, h, queue=3), idempotency_key=new_client_id())
        assert r.status_code == 200 and r.json()["audit_flag"] == ""
    row = next(t for t in center_process.admin("GET", "/v1/admin/terminals").json() if t["terminal_id"] == "KIOSK-HB1")
    assert row["heartbeat"]["queue_depth"] == 3 and row["heartbeat"]["devices"]["receipt_printer"] == "userError"
    assert row["audit_head"] == {"seq": 25, "flagged": False}
    # the terminal's log was truncated: the head goes back
    r = k.post("/v1/heartbeat", _hb("KIOSK-HB1", 7, "c" * 64), idempotency_key=new_client_id())
    assert r.status_code == 200 and r.json()["audit_flag"] == "seq_backwards"
    # same seq, different hash: rewritten
    r = k.post("/v1/heartbeat", _hb("KIOSK-HB1", 25, "d" * 64), idempotency_key=new_client_id())
    assert r.json()["audit_flag"] == "hash_changed"
    row = next(t for t in center_process.admin("GET", "/v1/admin/terminals").json() if t["terminal_id"] == "KIOSK-HB1")
    assert row["audit_head"]["flagged"] is True


def test_a_heartbeat_for_another_terminal_is_refused(center_process):
    k = center_process.client("KIOSK-HB2")
    r = k.post("/v1/heartbeat", _hb("KIOSK-OTHER"), idempotency_key=new_client_id())
    assert r.status_code == 422 and r.json()["code"] == "TERMINAL_MISMATCH"


def test_the_operator_requests_logs_and_the_terminal_uploads_them(center_process):
    k = center_process.client("KIOSK-LOG1")
    assert center_process.admin("POST", "/v1/admin/terminals/KIOSK-LOG1/log-upload").status_code == 200
    assert {"kind": "upload_logs"} in k.get("/v1/catalog").json()["commands"]
    hb = k.post("/v1/heartbeat", _hb("KIOSK-LOG1"), idempotency_key=new_client_id()).json()
    assert hb["commands"] == [{"kind": "upload_logs"}]
    r = k.post("/v1/terminals/logs", raw=b'{"msg": "boot"}\n', content_type="application/x-ndjson")
    assert r.status_code == 200 and r.json()["bytes"] == 16
    assert k.get("/v1/catalog").json()["commands"] == []
    assert list((center_process.data_dir / "uploaded-logs" / "KIOSK-LOG1").iterdir())


def test_a_switched_off_item_refuses_new_transactions_from_that_terminal_only(center_process):
    from tests.center.conftest import tx
    off, on = center_process.client("KIOSK-SW1"), center_process.client("KIOSK-SW2")
    assert center_process.admin("POST", "/v1/admin/switches",
                                {"item_code": "evaluation", "enabled": False, "terminal_id": "KIOSK-SW1"}).status_code == 200
    a, b = tx("evaluation", {"score": 5}), tx("evaluation", {"score": 5})
    r = off.post("/v1/transactions", a, idempotency_key=a["client_id"])
    assert r.status_code == 422 and r.json()["code"] == "ITEM_DISABLED"
    assert on.post("/v1/transactions", b, idempotency_key=b["client_id"]).json()["outcome"] == "accepted"
