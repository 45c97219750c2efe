"""Headless self-test: one identification session per level, driven through the real screens (offscreen
Qt) against the center, with a "customer bot" playing the simulated devices. What was printed and a
screenshot of each verified screen go to the output directory; summary.json says what passed.

To add a case, append a Case (item code, expected identity level); the bot answers whatever step the flow
asks for, so new items need no new driving code."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from kiosk.flows.identification import IdStep
from kiosk.flows.ports import IdentityDocument
from screens.qt import QApplication

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    level: int
    items: tuple[str, ...]           # first catalog item found (and offered) is used
    refuse_faces: int = 0            # ask the (stand-in) center to refuse the face this many times


CASES = [
    Case(0, ("loan_calc", "loan_calculator", "guide")),
    Case(1, ("progress_query", "account_query", "evaluation")),
    Case(2, ("query", "deposit_use_certificate", "deposit_certificate")),
    Case(3, ("loan_preapply", "phone_change", "payoff_certificate")),
]


@dataclass
class Outcome:
    level: int
    item: str = ""
    passed: bool = False
    steps: list[str] = field(default_factory=list)
    printed: str = ""
    error: str = ""


def wait_until(app: QApplication, predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


class CustomerBot:
    """Plays the customer at the kiosk: presents the card, looks at the camera, keys the SMS code."""

    def __init__(self, app: QApplication, shell, sms_code: Callable[[], str]):
        self.app, self.shell, self.terminal = app, shell, shell.terminal
        self.sms_code = sms_code

    def click(self, button) -> None:
        button.click()
        self.app.processEvents()

    def key_in(self, pad, digits: str) -> None:
        for d in digits:
            self.click(pad.key(d))

    def act(self, flow, outcome: Outcome) -> None:
        step, page = flow.state, self.shell.identify
        outcome.steps.append(step.value)
        devices = self.terminal.devices
        if step is IdStep.READ_ID:
            devices.idcard.simulator.place()
        elif step is IdStep.FACE:
            cam = getattr(devices.camera, "simulator", None)
            if cam is not None and hasattr(cam, "show_face"):
                cam.show_face("good")
        elif step is IdStep.FALLBACK:
            self.click(page.fb_sms)
        elif step is IdStep.SMS:
            # the customer reads the code off their phone: the sandbox outbox, fetched off the Qt thread
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=1) as pool:
                future = pool.submit(self.sms_code)
                wait_until(self.app, future.done, 10)
                code = future.result() if future.done() else ""
            self.key_in(page.sms_pad, code)
            self.click(page.sms_ok)
        elif step is IdStep.BANK_CARD:
            cards = devices.cardreader.simulator
            doc: Optional[IdentityDocument] = flow.document
            try:
                cards.insert(holder=doc)
            except TypeError:
                cards.insert()


def run_selftest(kiosk_app, out_dir: Path, cases=CASES, timeout_s: float = 60.0) -> int:
    from screens.app import create_shell
    out_dir.mkdir(parents=True, exist_ok=True)
    terminal = kiosk_app.terminal
    app, shell, _ = create_shell(terminal, kiosk_mode=False)
    shell.show()
    printed: list[str] = []
    terminal.events.subscribe(lambda name, kw: printed.append(kw["text"]) if name == "printed" else None)
    center_sim = getattr(terminal.center, "simulator", None)

    def sms_code() -> str:
        fetch = getattr(center_sim, "fetch_sms_code", None)
        return fetch() if fetch else getattr(center_sim, "last_sms_code", "")

    bot = CustomerBot(app, shell, sms_code)
    wait_until(app, lambda: terminal.online and any(t.identity_level >= 2 for t in terminal.tiles()), 15)
    outcomes = []
    for n, case in enumerate(cases, 1):
        outcome = Outcome(case.level)
        outcomes.append(outcome)
        tiles = {t.code: t for t in terminal.tiles() if t.available}
        code = next((c for c in case.items if c in tiles and tiles[c].identity_level == case.level), None)
        if code is None:
            outcome.error = f"no available item of level L{case.level} among {case.items}"
            continue
        outcome.item = code
        before = len(printed)
        bot.click(shell.home.show_tile(code))
        flow = shell.identify.flow
        deadline = time.monotonic() + timeout_s
        last = None
        while not flow.finished and time.monotonic() < deadline:
            key = (flow.state, flow.message.code if flow.message else "")
            if flow.waiting_for_customer and key != last:
                last = key
                bot.act(flow, outcome)
            app.processEvents()
            time.sleep(0.01)
        outcome.steps.append(flow.state.value)
        settle_until = time.monotonic() + 0.1           # let pending layout requests run before the picture
        wait_until(app, lambda: time.monotonic() > settle_until, 1)
        shell.grab().save(str(out_dir / f"{n}-L{case.level}-{code}.png"))
        if flow.state is not IdStep.VERIFIED:
            outcome.error = (flow.message.en if flow.message else f"stopped in {flow.state.value}")
            shell.go_home()
            continue
        expect_slip = bool(flow.summary())       # L0 items identify nobody: nothing to print
        bot.click(shell.identify.done_btn)
        got = expect_slip and wait_until(app, lambda: len(printed) > before, 10)
        outcome.printed = printed[-1] if got else ""
        if outcome.printed:
            (out_dir / f"{n}-L{case.level}-{code}.txt").write_text(outcome.printed, encoding="utf-8")
        take = getattr(getattr(terminal.devices.printer, "simulator", None), "take", None)
        if take:
            take()
        lift = getattr(getattr(terminal.devices.idcard, "simulator", None), "lift", None)
        if lift:
            lift()
        card = getattr(terminal.devices.cardreader, "simulator", None)
        if card is not None and card.card_present():
            card.remove()
        outcome.passed = (case.level == 0 or bool(outcome.printed))
        if not outcome.passed:
            outcome.error = "nothing was printed"
    summary = {"passed": all(o.passed for o in outcomes), "notes": kiosk_app.notes,
               "cases": [o.__dict__ for o in outcomes]}
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    for o in outcomes:
        print(f"L{o.level} {o.item or '-':<24} {'PASS' if o.passed else 'FAIL'}  {' > '.join(o.steps)}"
              f"{'  ' + o.error if o.error else ''}")
    shell.allow_close = True
    shell.close()
    return 0 if summary["passed"] else 1
