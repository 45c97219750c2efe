"""Headless self-test: every resident service item (kiosk.flows.services.registry.ITEMS), one case each, driven
through the real screens (offscreen Qt) against the center, with a "customer bot" that plays the resident: it
places the demo person's ID card, looks at the camera, inserts their own bank card, keys SMS codes read off the
center's sandbox outbox, and answers each service step generically from flow.view() (inputs through the
on-screen keypad, choices, confirm). What was printed (receipts decoded from the simulated printer, A4 PDFs) and
a screenshot of each case's last screen go to the output directory; summary.json says what passed and why not.

A case names the item, the demo person (center/README.md) and the outcome the item should reach for that
person: "done" (accepted / shown) or "refused" (the center's refusal is the expected result). Values the bot
cannot guess (a rent, a withdrawal amount, a serial from an earlier case) are in the case; every other step is
answered from what the screen shows, so a flow that changes its steps needs no new driving code."""
from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

from kiosk.domain.masking import mask_id_number
from kiosk.flows.identification import IdStep
from kiosk.flows.ports import IdentityDocument
from screens.qt import QApplication, QPushButton

log = logging.getLogger(__name__)

# Demo persons of the reference center (center/README.md)
PEOPLE = {
    "张建国": "330802198503151230",      # normal, no loan: rent withdrawal, loan limit, certificates
    "李秀英": "330802197807201247",      # HPF loan being repaid: prepayment, repayment account
    "王强": "330802197011021259",        # loan paid off: payoff certificate
    "赵敏": "330802198805091261",        # loan overdue: prepayment refused
    "陈伟": "330802199201301277",        # account sealed
    "刘芳": "330802198309121281",        # account frozen: every withdrawal refused
    "孙国庆": "33080219601001129X",      # retired
    "周婷": "330802199506181309",        # no account: flexible-employment opening and signing
    "吴磊": "330802199002141311",        # transfer-in in progress
}
FINAL_STATES = ("done", "refused", "failed", "canceled")
WORKING = ("loading", "submitting", "printing")
STUCK_S = 8.0                            # the same settled screen this long after the bot answered it: stuck
KIND_DEFAULTS = {"amount": "1000", "int": "12", "phone": "13905700099", "pin6": "258036", "percent": "12"}


@dataclass
class Case:
    item: str
    person: Optional[str] = None             # name in PEOPLE (None: an L0 item, nobody identifies)
    expect: str = "done"                     # final service state the item must reach: done | refused
    expect_code: str = ""                    # for refused: the refusal code (prefix) expected
    values: dict = field(default_factory=dict)   # input name -> text, or fn(memo) -> text; "" leaves it empty
    choose: dict = field(default_factory=dict)   # step -> choice id (INPUT steps without one take the first)
    follow: dict = field(default_factory=dict)   # SHOW step -> action pressed once (e.g. "apply")
    story: str = ""

    @property
    def document(self) -> Optional[IdentityDocument]:
        return IdentityDocument(name=self.person, id_number=PEOPLE[self.person]) if self.person else None


def _serial(memo: dict, item: str) -> tuple[str, str]:
    """An earlier case's serial split as the progress screen asks for it: (kind letters, digits)."""
    serial = str(memo.get(item, {}).get("serial", ""))
    letters = serial.rstrip("0123456789")
    return letters, serial[len(letters):]


CASES: list[Case] = [
    Case("loan_calc", values={"amount": "300000", "months": "240"}, story="L0 calculator, both methods"),
    Case("guide", choose={"menu": "guides", "guides": "withdrawal"}, story="L0 guides, one item's guide"),
    Case("evaluation", choose={"score": 5}, story="L0 好差评 on its own"),
    Case("query", "张建国", story="account overview"),
    Case("deposit_details", "张建国", story="deposit details of this year"),
    Case("loan_overview", "李秀英", story="loans of a resident repaying one"),
    Case("statement", "张建国", story="A4 account statement + slip"),
    Case("flexible_open", "周婷", values={"base": "5000", "ratio": "12"}, story="no account: open a flexible one"),
    Case("flexible_sign", "周婷", values={"base": "6000", "ratio": "10"}, story="new deposit agreement"),
    Case("deposit", "周婷", choose={"months": 1}, story="one month's flexible deposit"),
    Case("withdrawal", "张建国", choose={"reason": "07"},
         values={"monthly_rent_fen": "2000", "rent_months": "3", "amount": "1200.50"}, story="rent withdrawal"),
    Case("loan_limit", "张建国", values={"house_price": "1000000", "months": "240"}, story="own loan limit"),
    Case("loan_preapply", "张建国", values={"house_price": "1000000", "amount": "100000", "months": "240"},
         story="loan pre-application"),
    Case("loan_schedule", "李秀英", story="repayment schedule"),
    Case("loan_prepayment", "李秀英", choose={"mode": "shorten"}, values={"amount": "10000"},
         story="partial prepayment, shorter term"),
    Case("payoff_certificate", "王强", story="paid-off loan: A4 certificate + slip"),
    Case("deposit_use_certificate", "张建国", story="A4 certificate + slip"),
    Case("transfer_in", "陈伟", follow={"status": "apply"}, values={"from_center": "330100", "from_center_name": ""},
         story="sealed account elsewhere: apply for transfer-in"),
    Case("progress_query", "张建国", values={"prefix": lambda memo: _serial(memo, "withdrawal")[0],
                                            "number": lambda memo: _serial(memo, "withdrawal")[1]},
         story="the rent withdrawal's serial, typed on the keypad"),
    Case("phone_change", "孙国庆", values={"phone": "13905700017"}, story="new mobile, SMS code to it"),
    Case("query_password", "张建国", values={"password": "258036"}, story="set the query password"),
    Case("repayment_account", "李秀英", story="new repayment card"),
]


@dataclass
class Outcome:
    item: str
    level: int = -1
    person: str = ""
    expect: str = "done"
    state: str = ""
    code: str = ""
    message: str = ""
    passed: bool = False
    steps: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)       # files written to the output directory
    error: str = ""
    seconds: float = 0.0


def wait_until(app: QApplication, predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


class CustomerBot:
    """Plays the customer at the kiosk through the real widgets: cards, face, keypad, buttons."""

    def __init__(self, app: QApplication, shell, sms_code: Callable[[], str]):
        self.app, self.shell, self.terminal = app, shell, shell.terminal
        self.sms_code = sms_code
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="selftest-bot")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def off_thread(self, fn: Callable[[], Any], timeout: float = 10.0, default: Any = None) -> Any:
        """Network or device waits run on the bot's worker; the Qt loop keeps turning meanwhile."""
        future = self._pool.submit(fn)
        wait_until(self.app, future.done, timeout)
        return future.result() if future.done() else default

    def click(self, button) -> None:
        button.click()
        self.app.processEvents()

    def key_in(self, pad, digits: str) -> None:
        for d in digits:
            self.click(pad.key(d))

    # --- identification ---------------------------------------------------------------------------------
    def identify(self, flow, doc: Optional[IdentityDocument], outcome: Outcome) -> None:
        step, page = flow.state, self.shell.identify
        outcome.steps.append(step.value)
        devices = self.terminal.devices
        if step is IdStep.READ_ID:
            devices.idcard.simulator.place(doc)
        elif step is IdStep.FACE:
            cam = getattr(devices.camera, "simulator", None)
            if cam is not None and hasattr(cam, "show_face"):
                cam.show_face("good")
        elif step is IdStep.FALLBACK:
            self.click(page.fb_sms)
        elif step is IdStep.SMS:
            self.key_in(page.sms_pad, self.off_thread(self.sms_code, default="") or "")
            self.click(page.sms_ok)
        elif step is IdStep.BANK_CARD:
            self.insert_card(doc or flow.document)

    def insert_card(self, doc: Optional[IdentityDocument]) -> None:
        cards = self.terminal.devices.cardreader.simulator
        if cards.card_present():
            cards.remove()
        try:
            cards.insert(holder=doc)
        except TypeError:
            cards.insert()

    # --- service screens ----------------------------------------------------------------------------------
    def find(self, name: str) -> Optional[QPushButton]:
        self.app.processEvents()
        b = self.shell.service.findChild(QPushButton, name)
        return b if b is not None and b.isVisible() and b.isEnabled() else None

    def press(self, name: str) -> bool:
        b = self.find(name)
        if b is None:
            return False
        self.click(b)
        return True

    def choose(self, cid) -> bool:
        """Tap a choice, turning the choice pages (更多选项) until it shows."""
        for _ in range(8):
            if self.press(f"choice_{cid}"):
                return True
            if not self.press("more_choices"):
                return False
        return False

    def fill(self, spec: dict, text: Any) -> None:
        page, name, kind = self.shell.service, spec["name"], spec["kind"]
        if kind == "bool":
            want = _truthy(text)
            if _truthy(page.values.get(name)) != want:
                self.press(f"input_{name}")
            return
        if kind == "choice":
            for _ in range(len(spec.get("choices") or []) + 1):
                if str(page.values.get(name, "")) == str(text):
                    return
                self.press(f"input_{name}")
            return
        text = str(text)
        if page.active != name:
            self.press(f"input_{name}")             # make it the active field
        if page.active != name or not all(ch.isdigit() or ch == "." for ch in text):
            page.type_text(name, text)              # letters: what the keypad does, without a key for them
            page.render()
            return
        if page.values.get(name) and page.pad.isVisible():
            self.click(page.pad.clear_key)
        for ch in text:
            if ch == ".":
                self.press("key_dot")
            else:
                self.click(page.pad.key(ch))

    def serve(self, flow, case: Case, outcome: Outcome, memo: dict, done_once: set) -> None:
        """Answer the step the service page shows now."""
        v = flow.view()
        state, step, actions = v["state"], v["step"], v["actions"]
        outcome.steps.append(f"{state}/{step}")
        if state == "read_card":
            return self.insert_card(case.document)
        if state == "confirm":
            self.press("action_confirm")
            return
        if state == "print_failed":
            raise SelfTestFailure(f"print failed: {v['message']['en'] if v['message'] else ''}")
        if v["inputs"] and state == "input" and self.find("submit") is not None:
            for spec in v["inputs"]:
                want = case.values.get(spec["name"])
                if callable(want):
                    want = want(memo)
                if want is None:
                    if spec["kind"] == "digits6":
                        want = self.off_thread(self.sms_code, default="")
                    elif spec["value"] not in ("", None):
                        continue                     # the screen's default (term, ratio, first home ...)
                    elif spec["kind"] == "date":
                        want = date.today().strftime("%Y%m%d")
                    else:
                        want = KIND_DEFAULTS.get(spec["kind"], "")
                if want == "" and spec["kind"] not in ("bool", "choice"):
                    continue
                self.fill(spec, want)
            self.press("submit")
            return
        if v["choices"] and (state == "input" or step in case.choose) and (state, step) not in done_once:
            if state == "show":
                done_once.add((state, step))
            cid = case.choose.get(step, v["choices"][0]["id"])
            if not self.choose(cid):
                raise SelfTestFailure(f"choice {cid!r} not offered at {state}/{step}")
            return
        want = case.follow.get(step)
        if state == "show" and want and (state, step, want) not in done_once and want in actions:
            done_once.add((state, step, want))
            self.press(f"action_{want}")
            return
        if "finish" in actions:
            self.press("action_finish")
            return
        raise SelfTestFailure(f"nothing to press at {state}/{step} (actions {actions})")


class SelfTestFailure(Exception):
    pass


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "是")


def _printer_sim(terminal):
    return getattr(getattr(terminal.devices.printer, "simulator", None), "sim", None)


def _pdf_dir(terminal) -> Path:
    s = terminal.settings
    return Path(s.devices.a4_printer.out_dir or Path(s.paths.data_dir) / "pdf")


def _install_qt_filter() -> None:
    """Keep the offscreen plugin's "propagateSizeHints" chatter out of the report."""
    try:
        from PySide6.QtCore import qInstallMessageHandler
    except ImportError:
        return

    def handler(_mode, _ctx, message):
        if "propagateSizeHints" not in message:
            log.warning("Qt: %s", message)
    qInstallMessageHandler(handler)


def run_selftest(kiosk_app, out_dir: Path, cases: Optional[list[Case]] = None, timeout_s: float = 30.0,
                 echo: Callable[[str], None] = print) -> int:
    """Drive each case through the screens; write screenshots, printouts and summary.json to out_dir.
    Returns 0 when every case passed, 1 otherwise."""
    from kiosk.flows.services import registry
    from screens.app import create_shell
    default = cases is None
    cases = list(CASES if default else cases)
    out_dir.mkdir(parents=True, exist_ok=True)
    _install_qt_filter()
    terminal = kiosk_app.terminal
    app, shell, _ = create_shell(terminal, kiosk_mode=False)
    shell.show()
    center_sim = getattr(terminal.center, "simulator", None)

    def sms_code() -> str:
        fetch = getattr(center_sim, "fetch_sms_code", None)
        return fetch() if fetch else getattr(center_sim, "last_sms_code", "")

    bot = CustomerBot(app, shell, sms_code)
    started = time.monotonic()
    wait_until(app, lambda: terminal.online and any(t.identity_level >= 2 for t in terminal.tiles()), 15)
    problems = registry.check_all()
    memo: dict[str, dict] = {}
    outcomes: list[Outcome] = []
    covered = {c.item for c in cases}
    missing = [Case(code, story="no self-test case") for code in registry.ITEMS if code not in covered] \
        if default else []
    try:
        for n, case in enumerate(cases + missing, 1):
            t0 = time.monotonic()
            outcome = Outcome(case.item, person=mask_id_number(PEOPLE[case.person]) if case.person else "",
                              expect=case.expect)
            outcomes.append(outcome)
            try:
                if case.story == "no self-test case":
                    raise SelfTestFailure("registry item without a self-test case")
                _run_case(app, shell, bot, case, outcome, memo, out_dir, n, timeout_s, problems)
            except SelfTestFailure as exc:
                outcome.error = str(exc)
            except Exception as exc:             # noqa: BLE001 - a broken case is reported, the rest still run
                log.exception("selftest case %s crashed", case.item)
                outcome.error = f"{type(exc).__name__}: {exc}"
            finally:
                _reset(app, shell, terminal)
            outcome.passed = outcome.passed and not outcome.error
            outcome.seconds = round(time.monotonic() - t0, 2)
            paper = "+".join(sorted({"A4" if f.endswith(".pdf") else "receipt" for f in outcome.printed}))
            said = outcome.code if outcome.state not in ("", "done") else (f"printed {paper}" if paper else "")
            echo(f"{n:>2} L{outcome.level if outcome.level >= 0 else '?'} {case.item:<24} "
                 f"{'PASS' if outcome.passed else 'FAIL'}  {outcome.state or '-':<8} {said:<22} "
                 f"{outcome.seconds:5.1f}s{'  ' + outcome.error if outcome.error else ''}")
    finally:
        bot.close()
        shell.allow_close = True
        shell.close()
    passed = all(o.passed for o in outcomes)
    summary = {"passed": passed, "total": len(outcomes), "failed": [o.item for o in outcomes if not o.passed],
               "seconds": round(time.monotonic() - started, 1), "notes": kiosk_app.notes,
               "import_problems": problems, "cases": [o.__dict__ for o in outcomes]}
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    echo(f"{len(outcomes) - len(summary['failed'])}/{len(outcomes)} passed in {summary['seconds']} s"
         + (f"; FAILED: {', '.join(summary['failed'])}" if summary["failed"] else ""))
    return 0 if passed else 1


def _run_case(app, shell, bot: CustomerBot, case: Case, outcome: Outcome, memo: dict, out_dir: Path, n: int,
              timeout_s: float, problems: list[str]) -> None:
    from kiosk.flows.services import registry
    terminal = shell.terminal
    try:
        spec = registry.spec(case.item)
    except KeyError:
        raise SelfTestFailure(f"no service flow for item {case.item!r}") from None
    bad = [p for p in problems if p.startswith(f"{spec.code}:")]
    if bad:
        raise SelfTestFailure(bad[0])
    tiles = {t.code: t for t in terminal.tiles()}
    tile = tiles.get(case.item)
    if tile is None:
        raise SelfTestFailure("not offered on the home screen (not in the center's catalog for this terminal)")
    if not tile.available:
        raise SelfTestFailure(f"tile greyed out: {tile.note_en}")
    outcome.level = max(tile.identity_level, spec.identity_level)
    if outcome.level > 0 and case.document is None:
        raise SelfTestFailure(f"L{outcome.level} item needs a demo person")
    sim = _printer_sim(terminal)
    jobs_before = len(sim.jobs) if sim is not None else 0
    pdf_dir = _pdf_dir(terminal)
    pdfs_before = set(pdf_dir.glob("*.pdf")) if pdf_dir.is_dir() else set()

    button = shell.home.show_tile(case.item)
    if button is None:
        raise SelfTestFailure("tile not shown on any home page")
    bot.click(button)
    deadline = time.monotonic() + timeout_s
    last_id, last_svc, done_once, acts, settled_at = None, None, set(), 0, time.monotonic()
    flow = None
    while time.monotonic() < deadline:
        app.processEvents()
        page = shell.stack.currentWidget()
        if page is shell.identify and shell.identify.flow is not None:
            idf = shell.identify.flow
            if idf.state in (IdStep.FAILED, IdStep.CANCELED):
                outcome.steps.append(idf.state.value)
                msg = idf.message
                raise SelfTestFailure(f"identification {idf.state.value}: {msg.code + ' ' + msg.en if msg else ''}")
            key = (idf.state, idf.message.code if idf.message else "")
            if idf.waiting_for_customer and key != last_id:
                last_id = key
                bot.identify(idf, case.document, outcome)
        elif page is shell.service and shell.service.flow is not None:
            flow = shell.service.flow
            v = flow.view()
            if v["state"] in FINAL_STATES:
                break
            if v["busy"] in ("", "read_card") and v["state"] not in WORKING:    # settled, or waiting for a card
                key = (v["state"], v["step"], (v["message"] or {}).get("code"), tuple(v["actions"]),
                       len(v["choices"]), tuple(i["name"] for i in v["inputs"]), len(done_once))
                if key != last_svc:
                    last_svc, settled_at = key, time.monotonic()
                    acts += 1
                    if acts > 40:
                        raise SelfTestFailure("more than 40 steps: going round in circles")
                    bot.serve(flow, case, outcome, memo, done_once)
                elif time.monotonic() - settled_at > STUCK_S:
                    m = v["message"] or {}
                    raise SelfTestFailure(f"no progress for {STUCK_S:.0f} s at {v['state']}/{v['step']}"
                                          + (f": {m.get('code')} {m.get('en')}" if m else ""))
        elif page is shell.home and acts:
            raise SelfTestFailure("back on the home screen before the item ended")
        time.sleep(0.005)
    if flow is None:
        where = shell.identify.flow.state.value if shell.identify.flow else shell.current_screen
        raise SelfTestFailure(f"the service screen never opened (stopped in {where})")
    v = flow.view()
    msg = v["message"] or {}
    outcome.state, outcome.code, outcome.message = v["state"], msg.get("code", ""), msg.get("zh", "")
    outcome.steps.append(v["state"])
    wait_until(app, lambda: False, 0.05)                 # let pending layout requests run before the picture
    shot = out_dir / f"{n:02d}-{case.item}.png"
    shell.grab().save(str(shot))
    if flow.outcome is not None and flow.outcome.result:
        memo[case.item] = dict(flow.outcome.result)
    # what the item printed: the decoded receipts and the A4 PDFs
    receipts: list[str] = []
    if sim is not None and flow.printed:
        jobs = bot.off_thread(lambda: sim.wait_for_jobs(jobs_before + 1, timeout=3.0), default=[]) or []
        receipts = [j.text for j in jobs[jobs_before:]]
    for i, text in enumerate(receipts, 1):
        name = f"{n:02d}-{case.item}-receipt{'' if i == 1 else i}.txt"
        (out_dir / name).write_text(text, encoding="utf-8")
        outcome.printed.append(name)
    pdfs = sorted(set(pdf_dir.glob("*.pdf")) - pdfs_before) if pdf_dir.is_dir() else []
    for i, pdf in enumerate(pdfs, 1):
        name = f"{n:02d}-{case.item}-a4{'' if i == 1 else i}.pdf"
        shutil.copyfile(pdf, out_dir / name)
        outcome.printed.append(name)
    # the verdict
    if v["state"] not in FINAL_STATES:
        last = outcome.steps[-2] if len(outcome.steps) > 1 else v["state"]
        raise SelfTestFailure(f"timed out after {timeout_s:.0f} s at {last}"
                              + (f": {msg.get('code')} {msg.get('en')}" if msg else ""))
    if v["state"] != case.expect:
        why = f"{msg.get('code', '')} {msg.get('en', '')} ({msg.get('zh', '')})".strip() if msg else ""
        raise SelfTestFailure(f"expected {case.expect}, got {v['state']}" + (f": {why}" if why else ""))
    if case.expect_code and not outcome.code.startswith(case.expect_code):
        raise SelfTestFailure(f"expected refusal {case.expect_code}, got {outcome.code}")
    if len(receipts) + len(pdfs) < len(flow.printed):
        raise SelfTestFailure(f"{len(flow.printed)} print job(s) reported, {len(receipts)} receipt(s) and "
                              f"{len(pdfs)} PDF(s) found")
    if v["receipt"] and not receipts:
        raise SelfTestFailure("a receipt was due but nothing came out of the receipt printer")
    if case.person and any(PEOPLE[case.person] in r or case.person in r for r in receipts):
        raise SelfTestFailure("unmasked name or ID number on the receipt")
    outcome.passed = True


def _reset(app, shell, terminal) -> None:
    """End the visit (结束服务 when offered, else 首页) and take the paper and the cards back."""
    b = shell.service.findChild(QPushButton, "action_end")
    if terminal.session is not None and shell.stack.currentWidget() is shell.service and b is not None \
            and b.isVisible():
        b.click()
    if terminal.session is not None:
        shell.go_home()
    app.processEvents()
    devices = terminal.devices
    take = getattr(getattr(devices.printer, "simulator", None), "take", None)
    if take:
        take()
    idc = getattr(devices.idcard, "simulator", None)
    if idc is not None and idc.card_present():
        idc.lift()
    card = getattr(devices.cardreader, "simulator", None)
    if card is not None and card.card_present():
        card.remove()
    wait_until(app, lambda: shell.stack.currentWidget() is shell.home, 2)
