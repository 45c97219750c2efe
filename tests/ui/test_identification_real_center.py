"""Identification against the real pieces: the reference center (embedded, over loopback HTTP, signed),
the GA/T 467 ID-reader simulator on a pty read by the real reader, the simulated PC/SC card reader running
the real EMV code, the simulated camera behind the real quality gates (devices/camera)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from config import load_settings
from kiosk.app import build_app
from kiosk.flows.identification import Fallback, IdStep

S = IdStep
ZHANG, LI, ZHENG = 0, 1, 3          # center/README.md demo persons (郑浩: the sandbox refuses his face)


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("kiosk")
    mp.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp / "data"))
    mp.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp / "log"))
    app = build_app(load_settings(profile="demo"), start_sync=False)
    assert app.sync_worker.refresh_catalog()
    from sync.downward import CatalogCache
    app.terminal.set_catalog(CatalogCache.for_settings(app.terminal.settings).load().catalog)
    app.terminal.set_network(True, 0)
    yield app
    app.terminal.close()
    mp.undo()


def start(kiosk, code, person):
    t = kiosk.terminal
    tile = next(x for x in t.tiles() if x.code == code)
    t.start_session(tile)
    flow = t.identify()
    t.devices.idcard.simulator.lift()
    t.devices.idcard.simulator.place(index=person)
    return flow


def settle(kiosk, flow, *states):
    assert kiosk.terminal.tasks.run_until(lambda: flow.state in states and flow.waiting_for_customer
                                          or flow.finished, 30), f"stuck in {flow.state} {flow.busy}"
    return flow.state


def test_a_resident_is_identified_by_the_id_card_and_a_face_the_center_accepts(kiosk):
    flow = start(kiosk, "query", ZHANG)
    assert settle(kiosk, flow, S.VERIFIED) is S.VERIFIED
    assert flow.summary()["id_number"] == "330802********1230" and flow.used == {"id", "face"}
    kiosk.terminal.end_session("finished")


def test_when_the_center_refuses_the_face_twice_the_sms_route_works_with_the_center_s_code(kiosk):
    flow = start(kiosk, "query", ZHENG)
    assert settle(kiosk, flow, S.FALLBACK) is S.FALLBACK and flow.face_failures == 2
    flow.choose_fallback(Fallback.ID_SMS)
    assert settle(kiosk, flow, S.SMS) is S.SMS
    assert kiosk.terminal.tasks.run_until(lambda: flow.sms_ticket is not None and not flow.busy, 10)
    code = kiosk.terminal.center.sandbox_last_sms_code()
    assert len(code) == 6
    flow.submit_sms(f"{(int(code) + 1) % 10**6:06d}")
    assert kiosk.terminal.tasks.run_until(lambda: flow.message and flow.message.code == "SMS_WRONG", 10)
    flow.submit_sms(code)
    assert settle(kiosk, flow, S.VERIFIED) is S.VERIFIED and flow.used == {"id", "sms"}
    kiosk.terminal.end_session("finished")


def test_a_person_without_a_query_password_is_sent_back_to_the_other_routes(kiosk):
    flow = start(kiosk, "query", ZHENG)
    assert settle(kiosk, flow, S.FALLBACK) is S.FALLBACK
    flow.choose_fallback(Fallback.ID_PASSWORD)
    flow.submit_password("246810")
    assert kiosk.terminal.tasks.run_until(lambda: flow.state is S.FALLBACK and not flow.busy, 10)
    assert flow.message.code == "PASSWORD_NOT_SET" and "查询密码" in flow.message.zh
    kiosk.terminal.end_session("canceled")


def test_a_withdrawal_takes_the_bank_card_whose_chip_names_the_same_person(kiosk):
    flow = start(kiosk, "withdrawal", LI)
    assert settle(kiosk, flow, S.BANK_CARD) is S.BANK_CARD
    cards = kiosk.terminal.devices.cardreader.simulator
    cards.insert()                                            # someone else's card (the simulator's default holder)
    assert kiosk.terminal.tasks.run_until(lambda: flow.message and flow.message.code == "CARD_MISMATCH", 15)
    cards.remove()
    cards.insert(holder=flow.document)                        # her own card
    assert settle(kiosk, flow, S.VERIFIED) is S.VERIFIED and "bank_card" in flow.used
    cards.remove()
    kiosk.terminal.end_session("finished")


@pytest.mark.ui
def test_the_demo_panel_drives_the_real_simulators_through_a_withdrawal(qtbot, kiosk):
    from screens.app import create_shell
    from screens.simpanel import SimulatorPanel
    t = kiosk.terminal
    _, shell, _ = create_shell(t, kiosk_mode=False)
    qtbot.addWidget(shell)
    panel = SimulatorPanel(t, shell)
    qtbot.addWidget(panel)
    try:
        t.devices.idcard.simulator.lift()
        qtbot.mouseClick(shell.home.show_tile("withdrawal"), Qt.MouseButton.LeftButton)
        flow = shell.identify.flow
        panel.toggle_id()                                   # F1: 张建国's card on the pty reader
        qtbot.waitUntil(lambda: flow.state is S.BANK_CARD and flow.busy == "read_card", timeout=30000)
        panel.toggle_card()                                 # F3: his own card into the PC/SC simulator
        qtbot.waitUntil(lambda: flow.state is S.VERIFIED, timeout=30000)
        qtbot.mouseClick(shell.identify.done_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: t.devices.printer.paper_present(), timeout=10000)
        panel.take_paper()                                  # F4: the slip leaves the simulated printer's slot
        assert not t.devices.printer.paper_present()
        panel.toggle_card()
        panel.toggle_id()
        panel.show_sms()                                    # F7: the sandbox outbox, read off the Qt thread
        qtbot.waitUntil(lambda: panel.sms.text().startswith("短信验证码"), timeout=10000)
    finally:
        shell.allow_close = True
        shell.shutdown()
        if t.session:
            t.end_session("canceled")
