"""Every screen, in normal and care mode, in Chinese and English, saved as PNG for a person to look at
(tests/artifacts/screens/, gitignored). The test also checks each screen shows the step it claims to."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kiosk.flows.identification import IdStep

from tests.ui.conftest import ARTIFACTS, clipped_texts

pytestmark = pytest.mark.ui
S = IdStep
LEFT = Qt.MouseButton.LeftButton


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("care", [False, True], ids=["normal", "care"])
def test_screenshots_of_every_screen(qtbot, shell, terminal, sims, clock, language, care):
    terminal.set_language(language)
    terminal.set_care_mode(care)
    out = ARTIFACTS / f"{'care' if care else 'normal'}-{language}"
    out.mkdir(parents=True, exist_ok=True)
    saved = []

    def grab(name):
        qtbot.wait(30)                      # let layouts settle and the guide animate a frame
        path = out / f"{len(saved) + 1:02d}-{name}.png"
        assert shell.grab().save(str(path))
        size = shell.size()
        assert size.height() <= terminal.settings.ui.screen_height, f"{name} does not fit: {size}"
        assert size.width() <= terminal.settings.ui.screen_width, f"{name} does not fit: {size}"
        assert not clipped_texts(shell), f"{name}: {clipped_texts(shell)}"
        saved.append(path)

    def start(code):
        qtbot.mouseClick(shell.home.show_tile(code), LEFT)
        return shell.identify.flow

    def settle(flow, *states):
        qtbot.waitUntil(lambda: flow.state in states and flow.waiting_for_customer or flow.finished, timeout=10000)
        assert flow.state in states

    grab("home")
    terminal.set_network(False, 3)
    grab("home-offline")
    terminal.set_network(True, 0)

    flow = start("account_query")
    grab("place-id-card")
    shell.go_home()

    sims.camera.frame_interval_s = 30        # hold the first guidance frame on screen
    flow = start("deposit_certificate")
    sims.idcard.place()
    qtbot.waitUntil(lambda: shell.identify.guidance.text() != "", timeout=10000)
    grab("face-guidance")
    shell.go_home()
    sims.idcard.lift()

    sims.camera.missing = True
    flow = start("deposit_certificate")
    sims.idcard.place()
    settle(flow, S.FALLBACK)
    grab("fallback")
    qtbot.mouseClick(shell.identify.fb_sms, LEFT)
    qtbot.waitUntil(lambda: flow.sms_ticket is not None and not flow.busy, timeout=5000)
    for d in "123":
        qtbot.mouseClick(shell.identify.sms_pad.key(d), LEFT)
    grab("sms-code")
    assert flow.back() and flow.state is S.FALLBACK
    qtbot.mouseClick(shell.identify.fb_password, LEFT)
    qtbot.mouseClick(shell.identify.pw_pad.key("7"), LEFT)
    grab("password-scrambled")
    assert flow.back()
    qtbot.mouseClick(shell.identify.fb_staff, LEFT)
    grab("staff-called")
    shell.go_home()
    sims.idcard.lift()
    sims.camera.missing = False

    flow = start("withdrawal")
    sims.idcard.place()
    sims.camera.frame_interval_s = 0.005
    settle(flow, S.BANK_CARD)
    grab("insert-bank-card")
    shell.go_home()
    sims.idcard.lift()

    flow = start("account_query")
    sims.idcard.place()
    settle(flow, S.VERIFIED)
    grab("verified")
    clock.advance(61)
    terminal.tick()
    assert shell.overlay.isVisible()
    grab("idle-warning")
    shell.go_home()
    sims.idcard.lift()

    sims.idcard.missing = True
    flow = start("account_query")
    assert flow.state is S.FAILED
    grab("failed-reader-missing")
    shell.go_home()

    assert len(saved) == 12 and all(p.stat().st_size > 5000 for p in saved)
