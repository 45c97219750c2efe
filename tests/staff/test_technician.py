"""A field technician on site: unlocks technician mode with the PIN (locked out after too many wrong tries,
even across a restart), runs every device's self-test, edits the configuration (a bad value is refused and
the file is untouched; a good one is saved atomically and can be rolled back), enrolls the terminal with the
center's one-time code, checks the network, and exports the logs masked. Every action is audited."""
from __future__ import annotations

import json

import pytest

from kiosk.staff.errors import StaffError
from kiosk.staff.hidden_entry import CornerLongPress
from kiosk.staff.pin import hash_pin, verify_pin
from tests.staff.staffhelpers import ZHANG

PIN = "246810"


def test_the_pin_is_stored_as_a_slow_salted_hash():
    h = hash_pin(PIN)
    assert h.startswith("scrypt$") and PIN not in h and h != hash_pin(PIN)
    assert verify_pin(PIN, h) and not verify_pin("246811", h)
    with pytest.raises(StaffError) as e:
        hash_pin("12ab")
    assert e.value.code == "PIN_FORMAT"


def test_wrong_pins_lock_technician_mode_and_the_lock_survives_a_restart(site):
    tech = site.technician()
    for left in (2, 1):
        with pytest.raises(StaffError) as e:
            tech.unlock("000000")
        assert e.value.code == "PIN_WRONG" and str(left) in e.value.message_zh
    with pytest.raises(StaffError) as e:
        tech.unlock("000000")
    assert e.value.code == "PIN_LOCKED"
    with pytest.raises(StaffError) as e:
        tech.unlock(PIN)                                   # the right PIN does not help while locked
    assert e.value.code == "PIN_LOCKED"

    restarted = site.technician()                          # power cycle: a new process, same data dir
    with pytest.raises(StaffError) as e:
        restarted.unlock(PIN)
    assert e.value.code == "PIN_LOCKED" and not restarted.unlocked
    with pytest.raises(StaffError) as e:
        restarted.selftest()
    assert e.value.code == "TECH_LOCKED"

    site.clock.advance(site.settings.security.lockout_s + 1)
    restarted.unlock(PIN)
    assert restarted.unlocked
    results = [r for _a, act, _t, r, _d in site.actions() if act == "technician.unlock"]
    assert results == ["refused:PIN_WRONG", "refused:PIN_WRONG", "refused:PIN_LOCKED", "refused:PIN_LOCKED",
                       "refused:PIN_LOCKED", "ok"]


def test_a_long_press_in_the_corner_opens_the_pin_pad_and_a_tap_does_not():
    d = CornerLongPress(width=1280, height=800, corner="top-right", region_px=80, hold_s=5)
    d.press(1270, 10, now=100.0)
    assert not d.poll(104.9) and d.progress(104.5) == pytest.approx(0.9)
    assert d.poll(105.0) and not d.poll(106.0)            # once per hold
    d.press(1270, 10, now=200.0)
    assert not d.release(201.0)                            # a tap
    d.press(640, 400, now=300.0)                           # middle of the screen
    assert not d.poll(310.0)
    d.press(1270, 10, now=400.0)
    d.move(600, 10, now=402.0)                             # slid out of the corner
    assert not d.poll(410.0)


def test_every_device_reports_its_self_test(site):
    tech = site.technician()
    tech.unlock(PIN)
    rows = {r["role"]: r for r in tech.selftest()}
    assert set(rows) == {"idcard", "cardreader", "camera", "receipt_printer", "a4_printer"}
    for role in ("idcard", "cardreader", "receipt_printer", "a4_printer"):
        assert rows[role]["ok"] and rows[role]["code"] == "success", rows[role]
    for r in rows.values():                   # a device that cannot run says what is missing, in a word and a code
        assert r["ok"] or (r["code"] and r["description"] and r["message_zh"])
    rec = [x for x in site.actions() if x[1] == "technician.selftest"]
    assert rec and "idcard=ok" in rec[-1][2]


def test_a_bad_config_value_is_refused_and_the_file_is_untouched(site):
    tech = site.technician()
    tech.unlock(PIN)
    before = site.config_file.read_bytes()
    with pytest.raises(StaffError) as e:
        tech.config_set("session.idle_timeout_s", "5")          # below the schema's minimum of 20
    assert e.value.code == "CONFIG_INVALID" and "20" in e.value.message_zh
    with pytest.raises(StaffError) as e:
        tech.config_set("session.idle_timeuot_s", "120")        # a typo
    assert e.value.code == "CONFIG_UNKNOWN_KEY"
    assert site.config_file.read_bytes() == before
    assert not site.config_file.with_name("kiosk.toml.prev").exists()
    assert not [p for p in site.config_file.parent.iterdir() if "candidate" in p.name]
    assert any(act == "technician.config_set" and r == "refused:CONFIG_INVALID" for _a, act, _t, r, _d in site.actions())


def test_a_good_config_value_is_saved_atomically_and_can_be_rolled_back(site):
    tech = site.technician()
    tech.unlock(PIN)
    site.config_file.chmod(0o600)                          # it holds the PIN hash
    before = site.config_file.read_text()
    change = tech.config_set("session.idle_timeout_s", "120")
    assert change == {"key": "session.idle_timeout_s", "old": None, "new": 120}
    assert site.config_file.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in site.config_file.parent.glob("*kiosk.toml*")) == ["kiosk.toml", "kiosk.toml.prev"]
    assert site.reload().session.idle_timeout_s == 120
    assert site.settings.security.technician_pin_hash.get_secret_value().startswith("scrypt$")   # kept
    assert site.config_file.with_name("kiosk.toml.prev").read_text() == before
    view = tech.config_view()
    assert view["session"]["idle_timeout_s"] == 120 and "scrypt$" not in json.dumps(view)
    tech.config_rollback()
    assert site.config_file.read_text() == before
    assert site.reload().session.idle_timeout_s == 90
    acts = [(act, t, d) for _a, act, t, _r, d in site.actions()]
    assert ("technician.config_set", "session.idle_timeout_s", {"old": "None", "new": "120"}) in acts
    assert any(a == "technician.config_rollback" for a, _t, _d in acts)


def test_a_secret_setting_is_masked_in_the_audit_log(site):
    tech = site.technician()
    tech.unlock(PIN)
    new_hash = hash_pin("135790")
    change = tech.config_set("security.technician_pin_hash", new_hash)
    assert change["new"] == "********" and new_hash not in str(site.actions())
    assert verify_pin("135790", site.reload().security.technician_pin_hash.get_secret_value())


def test_enrollment_with_the_centers_one_time_code_then_the_network_check_passes(site, center):
    tech = site.technician()
    tech.unlock(PIN)
    tech.config_set("center.url", json.dumps(center.url))
    site.reload()                                          # the terminal restarts with the new setting
    tech = site.technician()
    tech.unlock(PIN)
    before = tech.netcheck()
    assert before["reachable"] and not before["signed_ok"]
    assert "TERMINAL_NOT_ENROLLED" in [p["code"] for p in before["problems"]]
    with pytest.raises(StaffError) as e:
        tech.enroll("WRONG-CODE")
    assert e.value.code and e.value.message_zh
    code = center.enroll_code(site.settings.terminal.id)
    assert tech.enroll(code) == site.settings.terminal.id
    with pytest.raises(StaffError) as e:
        tech.enroll(code)
    assert e.value.code == "ALREADY_ENROLLED"
    net = tech.netcheck()
    assert net["ok"] and net["reachable"] and net["signed_ok"] and net["clock_ok"], net
    assert abs(net["clock_skew_s"]) < 5
    info = tech.info()
    assert info["enrolled"] and info["terminal_id"] == site.settings.terminal.id and info["software_version"]
    acts = [(act, r) for _a, act, _t, r, _d in site.actions()]
    assert ("technician.enroll", "ok") in acts and ("technician.netcheck", "ok") in acts
    assert any(act == "technician.enroll" and r.startswith("refused:") for act, r in acts)


def test_the_network_check_names_an_unreachable_center(site):
    tech = site.technician()
    tech.unlock(PIN)
    net = tech.netcheck()
    assert not net["ok"] and not net["reachable"]
    assert "CENTER_UNREACHABLE" in [p["code"] for p in net["problems"]]


def test_logs_are_exported_masked_line_by_line(site, tmp_path):
    logdir = site.settings.paths.log_dir
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "hpf-kiosk.jsonl").write_text(
        json.dumps({"msg": f"old line before masking: {ZHANG[1]} phone 13800138000"}, ensure_ascii=False) + "\n"
        + json.dumps({"msg": "card 6222021234567890123 read"}) + "\n", encoding="utf-8")
    (logdir / "hpf-kiosk.jsonl.1").write_text("rotated 330802197807201247\n", encoding="utf-8")
    usb = tmp_path / "usb"
    usb.mkdir()
    tech = site.technician()
    tech.unlock(PIN)
    res = tech.export_logs(usb)
    assert res["lines"] == 3 and sorted(res["files"]) == ["hpf-kiosk.jsonl", "hpf-kiosk.jsonl.1"]
    exported = "".join(p.read_text() for p in (usb.iterdir().__next__()).iterdir())
    for secret in (ZHANG[1], "13800138000", "6222021234567890123", "330802197807201247"):
        assert secret not in exported
    assert "old line before masking" in exported and "138****8000" in exported
    with pytest.raises(StaffError) as e:
        tech.export_logs(tmp_path / "no-such-stick")
    assert e.value.code == "LOG_EXPORT_DEST"
    assert any(act == "technician.export_logs" and r == "ok" for _a, act, _t, r, _d in site.actions())


def test_the_queue_view_shows_what_waits_and_a_retry_is_audited(site):
    from sync.journal import Journal
    tech = site.technician()
    tech.unlock(PIN)
    with Journal.open(site.settings) as j:
        e = j.create("evaluation", {"score": 5}, offline=True)
        j.create("withdrawal", {"id_number": ZHANG[1]}, amount_fen=12_345, offline=True)
        q = tech.queue(j)
        assert q["depth"] == 2 and q["queued_amount_fen"] == 12_345 and q["oldest"] == e.client_id
        assert q["needs_review"] == [] and ZHANG[1] not in str(q)
        tech.retry(j, e.client_id[:20])
        assert j.history(e.client_id)[-1].code == "RETRY_NOW"
        j.cancel_draft(j.create("evaluation", {"score": 1}, draft=True).client_id)
        with pytest.raises(StaffError) as err:
            tech.retry(j, j.list(state="canceled")[0].client_id)
        assert err.value.code == "QUEUE_RETRY_NOT_ALLOWED"
    acts = [(act, r) for _a, act, _t, r, _d in site.actions()]
    assert ("technician.queue_view", "ok") in acts and ("technician.queue_retry", "ok") in acts
    assert ("technician.queue_retry", "refused:QUEUE_RETRY_NOT_ALLOWED") in acts


def test_each_device_self_test_is_its_own_audit_record(site):
    tech = site.technician()
    tech.unlock(PIN)
    for role in ("idcard", "cardreader", "camera", "receipt_printer", "a4_printer"):
        row = tech.selftest(role)
        assert row["role"] == role and row["ok"] and row["code"] == "success", row
    with pytest.raises(StaffError) as e:
        tech.selftest("scanner")
    assert e.value.code == "DEVICE_UNKNOWN"
    recs = [(t, r) for _a, act, t, r, _d in site.actions() if act == "technician.selftest"]
    assert recs == [(role, "ok") for role in ("idcard", "cardreader", "camera", "receipt_printer", "a4_printer")]


def test_the_test_slip_carries_no_personal_data_and_is_audited(site):
    from kiosk.domain.masking import mask_text
    tech = site.technician()
    tech.unlock(PIN)
    r = tech.test_print()                    # no terminal devices handed in: a printer built for the call
    assert r["ok"] and r["code"] == "success" and r["job_id"], r
    assert "打印测试凭条" in r["text"] and site.settings.terminal.id in r["text"]
    assert mask_text(r["text"]) == r["text"]
    assert ("technician.test_print", "receipt_printer", "ok") in [(a, t, x) for _u, a, t, x, _d in site.actions()]


def test_cards_are_read_from_the_terminals_own_readers_and_returned_masked(site):
    from devices import registry
    from kiosk.flows.adapters import CardReaderAdapter, IdCardAdapter
    from kiosk.flows.ports import IdentityDocument
    zhang = IdentityDocument(name=ZHANG[0], id_number=ZHANG[1])
    built = {role: registry.build(site.settings, role).device for role in ("idcard", "cardreader")}
    try:
        tech = site.technician(devices=lambda: built)
        tech.unlock(PIN)
        assert tech.terminal_device("idcard") is built["idcard"]
        IdCardAdapter(built["idcard"]).simulator.place(zhang)
        r = tech.read_card("idcard", timeout_s=10)
        assert r["masked_id"] == "330802********1230" and r["masked_name"] == "张**" and ZHANG[1] not in str(r)
        CardReaderAdapter(built["cardreader"]).simulator.insert(holder=zhang)
        r = tech.read_card("cardreader", timeout_s=10)
        digits = [c for c in r["masked_pan"] if c.isdigit()]
        assert "*" in r["masked_pan"] and len(digits) <= 10, r
    finally:
        for d in built.values():
            d.close()
    recs = [(t, x, d) for _u, a, t, x, d in site.actions() if a == "technician.read_card"]
    assert [(t, x) for t, x, _d in recs] == [("idcard", "ok"), ("cardreader", "ok")]
    assert ZHANG[1] not in str(recs) and ZHANG[0] not in str(recs)


def test_the_camera_preview_reports_the_face_box_and_quality_figures_then_stops(site):
    import threading
    tech = site.technician()
    tech.unlock(PIN)
    seen, enough = [], threading.Event()

    def on_frame(frame, figures):            # the camera's preview thread
        seen.append((frame.shape, figures))
        if sum(1 for _s, f in seen if f["ok"]) >= 2:
            enough.set()
    preview = tech.camera_preview(on_frame)
    try:
        assert enough.wait(20), seen[-1:] if seen else "no frame"
    finally:
        preview.stop()
    shape, fig = next((s, f) for s, f in seen if f["ok"])
    assert fig["code"] == "OK" and fig["face_box"] and fig["faces"] == 1
    assert fig["brightness"] > 0 and fig["sharpness"] > 0 and 0 < fig["face_size"] < 1
    assert (fig["height"], fig["width"]) == shape[:2]
    assert preview.stopped and preview.frames >= 2
    recs = [(x, d) for _u, a, _t, x, d in site.actions() if a == "technician.camera_preview"]
    assert recs[0][0] == "started" and recs[-1][0] == "ok" and recs[-1][1]["last_verdict"]


def test_export_folders_to_pick_without_a_keyboard_are_the_mounted_sticks(tmp_path):
    from kiosk.staff.logexport import candidate_folders
    media = tmp_path / "media"
    (media / "tech" / "KINGSTON").mkdir(parents=True)
    (media / "tech" / "SANDISK").mkdir()
    usb = tmp_path / "usb"
    usb.mkdir()
    found = candidate_folders([usb, tmp_path / "missing"], roots=(str(media), str(tmp_path / "no-mnt")))
    assert found == [str(usb), str(media / "tech" / "KINGSTON"), str(media / "tech" / "SANDISK")]
