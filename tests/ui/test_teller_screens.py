"""A bank teller at the counter, in the running terminal: the bank-teller profile built by the composition root
(kiosk.app.build_app) with the embedded reference center (signed HTTP over loopback) and the simulated devices;
teller mode installed the way `hpf-kiosk run` installs it (screens.app.TellerInstaller). The teller signs in
with the keyboard, opens the same service items for a customer (ID card and face), a withdrawal above the
branch's limit waits for the supervisor who signs in for that one action, a combined loan is applied for, and the
end-of-day report is reconciled with the center and written as a PDF. Each leaves its audit record and the
center's stored transaction names the teller and the branch. Screens: tests/artifacts/screens/teller/."""
from __future__ import annotations

import subprocess
from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kiosk.flows.services.base import Svc
from tests.ui.conftest import ARTIFACTS, clipped_texts, texts_on_screen
from tests.ui.servicehelpers import shell  # noqa: F401  (pytest fixture, uses this module's `kiosk`)
from tests.ui.servicehelpers import LIU, WAIT, ZHANG, choose, click, identify_as, online, settle

pytestmark = pytest.mark.ui
TELLER = ("T0001", "teller-pass-1")
SUPERVISOR = ("S0001", "super-pass-1")
BRANCH = "QZ-B001"
LIMIT_FEN = 100_000                      # this branch's per-transaction limit in the test profile: ¥1,000.00


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    """`hpf-kiosk run --profile bank-teller`, with the demo's simulated devices and embedded center."""
    from config import load_settings
    from kiosk.app import build_app
    from sync.downward import CatalogCache
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("kiosk-teller")
    for key, value in {"PATHS__DATA_DIR": str(tmp / "data"), "PATHS__LOG_DIR": str(tmp / "log"),
                       "CENTER__EMBEDDED": "true", "UI__FULLSCREEN": "false", "UI__VOICE": "mute",
                       "DEVICES__IDCARD__BACKEND": "sim", "DEVICES__CARDREADER__BACKEND": "sim",
                       "DEVICES__CAMERA__BACKEND": "sim", "DEVICES__RECEIPT_PRINTER__BACKEND": "sim",
                       "DEVICES__A4_PRINTER__BACKEND": "file",
                       "TELLER__SUPERVISOR_OVER_FEN": str(LIMIT_FEN)}.items():
        mp.setenv(f"HPF_KIOSK__{key}", value)
    settings = load_settings(profile="bank-teller")
    app = build_app(settings, start_sync=False, services=True)
    assert app.services is not None and app.teller is not None, app.notes
    assert app.sync_worker.refresh_catalog()
    app.terminal.set_catalog(CatalogCache.for_settings(settings).load().catalog)
    app.terminal.set_network(True, 0)
    yield app
    app.close()
    mp.undo()


@pytest.fixture
def counter(shell, kiosk):  # noqa: F811
    """Teller mode installed as screens.app.run() installs it on a bank-teller terminal."""
    from screens.app import TellerInstaller
    inst = TellerInstaller(shell, lambda: kiosk.teller)
    assert inst.staff is not None
    yield inst.staff.teller
    inst.staff.close()
    kiosk.teller.sign_out("test-end")


def shot(qtbot, shell, name: str) -> None:  # noqa: F811
    """Save the screen to tests/artifacts/screens/teller/NAME.png; no text may be clipped."""
    qtbot.wait(40)
    out = ARTIFACTS / "teller"
    out.mkdir(parents=True, exist_ok=True)
    assert shell.grab().save(str(out / f"{name}.png"))
    assert not clipped_texts(shell), f"{name}: {clipped_texts(shell)}"
    ui = shell.terminal.settings.ui
    assert shell.height() <= ui.screen_height and shell.width() <= ui.screen_width, (name, shell.size())


def sign_in(qtbot, shell, page, teller_id: str, password: str) -> None:  # noqa: F811
    shell.activateWindow()
    page.teller_id.clear()
    page.teller_id.setFocus()
    qtbot.keyClicks(page.teller_id, teller_id)
    qtbot.keyClick(page.teller_id, Qt.Key.Key_Return)               # Enter moves on to the password
    qtbot.keyClicks(page.password, password)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)                # Enter signs in


def signed_in(qtbot, shell, tel) -> None:  # noqa: F811
    sign_in(qtbot, shell, tel.sign_in_page, *TELLER)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=WAIT)
    shell.activateWindow()
    qtbot.waitUntil(lambda: shell.isActiveWindow(), timeout=5000)


def press_item(qtbot, shell, tel, code: str) -> None:  # noqa: F811
    """The item's key on the workbench (what the teller types)."""
    key = next(k for k, t in tel.page.item_keys.items() if t.code == code)
    tel.page.setFocus()
    qtbot.keyClick(shell, key)


def audit_rows(kiosk) -> list:
    return kiosk.audit_log.tail(2000)


def center_row(kiosk, client_id: str):
    """The center's stored transaction (its own database, read after the fact)."""
    import sqlalchemy as sa
    eng = sa.create_engine(kiosk.embedded_center.db_url)
    try:
        with eng.connect() as c:
            return c.execute(sa.text("SELECT teller_id, payload, outcome, kind FROM accepted_transactions "
                                     "WHERE client_id = :c"), {"c": client_id}).one()
    finally:
        eng.dispose()


def payload_of(row) -> dict:
    import json
    return row.payload if isinstance(row.payload, dict) else json.loads(row.payload)


def test_the_bank_teller_terminal_opens_on_the_sign_in_page_and_lists_the_items_by_key(qtbot, shell, kiosk,
                                                                                      counter):
    tel = counter
    page = tel.sign_in_page
    assert shell.stack.currentWidget() is page and BRANCH in page.where.text()
    shot(qtbot, shell, "01-sign-in")
    sign_in(qtbot, shell, page, "T0001", "wrong-password")
    qtbot.waitUntil(lambda: "TELLER_LOGIN_FAILED" in page.message.text(), timeout=WAIT)
    assert shell.stack.currentWidget() is page and page.password.text() == ""
    shot(qtbot, shell, "02-sign-in-refused")
    signed_in(qtbot, shell, tel)
    assert "T0001" in tel.header_label.text() and BRANCH in tel.header_label.text()
    keys = tel.page.item_keys
    assert {"withdrawal", "query", "loan_prepayment"} <= {t.code for t in keys.values()}
    assert tel.page.item_buttons[0].text().startswith("1  ")
    shot(qtbot, shell, "03-workbench")
    # the home button of a teller terminal leads back to the workbench, never to a resident home
    qtbot.mouseClick(shell.home_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=5000)
    # a customer at the counter, then the teller walks away: signed out, and the customer's session goes too
    press_item(qtbot, shell, tel, "query")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.identify, timeout=WAIT)
    assert kiosk.terminal.session is not None
    mode = kiosk.teller
    import time
    mode.clock = lambda: time.time() + mode.idle_s + 1               # nobody touched the counter since
    try:
        tel.check_idle()
        qtbot.waitUntil(lambda: shell.stack.currentWidget() is page, timeout=WAIT)
    finally:
        mode.clock = time.time
    assert "TELLER_IDLE_SIGNED_OUT" in page.message.text() and kiosk.terminal.session is None
    assert not tel.header_label.isVisible()
    shot(qtbot, shell, "03b-signed-out-when-idle")
    acts = [(r.actor, r.action, r.result) for r in audit_rows(kiosk)]
    assert ("teller:T0001", "teller.sign_in", "refused:TELLER_LOGIN_FAILED") in acts
    assert ("teller:T0001", "teller.sign_in", "ok") in acts
    outs = [r for r in audit_rows(kiosk) if r.action == "teller.sign_out"]
    assert outs and outs[-1].details.get("reason") == "idle"


def key(qtbot, shell, k, text: str = "") -> None:  # noqa: F811
    """A key as the teller types it, to the window (the window's shortcut map sends it on)."""
    target = shell
    if text:
        qtbot.keyClicks(target, text)
    else:
        qtbot.keyClick(target, k)
    QApplication.processEvents()


def to_withdrawal_confirm(qtbot, shell, kiosk, tel, person, amount: str, offline_after_identify=False,  # noqa: F811
                          keyboard=False):
    press_item(qtbot, shell, tel, "withdrawal")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.identify, timeout=WAIT)
    flow = identify_as(qtbot, shell, person, card=True)               # the customer's ID card, face, bank card
    settle(qtbot, flow, Svc.INPUT)
    if offline_after_identify:
        online(kiosk, False)                                          # no eligibility check: the center decides later
    if not keyboard:
        choose(qtbot, shell, "choice_07")                             # rent
        shell.service.type_text("monthly_rent_fen", "2000")
        shell.service.type_text("rent_months", "3")
        click(qtbot, shell, "submit")
        settle(qtbot, flow, Svc.INPUT)
        shell.service.type_text("amount", amount)
        click(qtbot, shell, "submit")
        settle(qtbot, flow, Svc.CONFIRM)
        return flow
    shell.activateWindow()
    qtbot.waitUntil(lambda: shell.isActiveWindow(), timeout=5000)
    for _ in range(5):                                                # the rent reason by its number on screen
        shown = [b.objectName() for b in tel.flow_keys.visible("choice_")]
        if "choice_07" in shown:
            key(qtbot, shell, None, str(shown.index("choice_07") + 1))
            break
        key(qtbot, shell, Qt.Key.Key_PageDown)
    assert flow.step == "evidence", flow.step
    assert shell.service.active == "monthly_rent_fen"                 # the first field is ready for typing
    key(qtbot, shell, None, "2000")
    key(qtbot, shell, Qt.Key.Key_Tab)
    key(qtbot, shell, None, "3")
    vals = shell.service.values
    assert (vals["monthly_rent_fen"], vals["rent_months"]) == ("2000", "3"), vals
    key(qtbot, shell, Qt.Key.Key_Return)                              # 确定
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "amount"
    if shell.service.active != "amount":
        key(qtbot, shell, Qt.Key.Key_Tab)
    key(qtbot, shell, None, amount + "9")
    key(qtbot, shell, Qt.Key.Key_Backspace)                           # a typo, taken back
    key(qtbot, shell, Qt.Key.Key_Return)
    settle(qtbot, flow, Svc.CONFIRM)
    return flow


def test_a_delegated_withdrawal_above_the_limit_waits_for_the_supervisor_and_records_both(qtbot, shell, kiosk,
                                                                                          counter):
    tel, mode = counter, kiosk.teller
    assert mode.limits.supervisor_over_fen == LIMIT_FEN                 # from settings.teller (the profile + env)
    signed_in(qtbot, shell, tel)
    flow = to_withdrawal_confirm(qtbot, shell, kiosk, tel, ZHANG, "1200.50")
    shot(qtbot, shell, "04-withdrawal-confirm")
    click(qtbot, shell, "action_confirm")                             # above ¥1,000.00: held for the supervisor
    auth = tel.authorize_page
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is auth, timeout=5000)
    assert flow.state is Svc.CONFIRM and flow.outcome is None
    what = auth.what.text()
    assert "¥1,200.50" in what and "壹仟贰佰元伍角整" in what and "330802********1230" in what
    assert ZHANG.id_number not in what and ZHANG.name not in what
    shot(qtbot, shell, "05-supervisor-authorize")
    qtbot.keyClick(auth.sup_id, Qt.Key.Key_Escape)                   # not now: back to the confirmation
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.service, timeout=5000)
    assert flow.state is Svc.CONFIRM
    click(qtbot, shell, "action_confirm")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is auth, timeout=5000)
    qtbot.keyClicks(auth.sup_id, "T0001")                            # the teller cannot authorize herself
    qtbot.keyClick(auth.sup_id, Qt.Key.Key_Return)
    qtbot.keyClicks(auth.sup_password, TELLER[1])
    qtbot.keyClick(auth.sup_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "SUPERVISOR_SAME_PERSON" in auth.message.text(), timeout=WAIT)
    auth.sup_id.clear()
    qtbot.keyClicks(auth.sup_id, SUPERVISOR[0])
    qtbot.keyClick(auth.sup_id, Qt.Key.Key_Return)
    qtbot.keyClicks(auth.sup_password, "wrong")
    qtbot.keyClick(auth.sup_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "TELLER_LOGIN_FAILED" in auth.message.text(), timeout=WAIT)
    assert flow.outcome is None and shell.stack.currentWidget() is auth
    shot(qtbot, shell, "06-supervisor-refused")
    qtbot.keyClicks(auth.sup_password, SUPERVISOR[1])
    qtbot.keyClick(auth.sup_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.service, timeout=WAIT)
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted
    cid = flow.outcome.client_id
    shot(qtbot, shell, "07-withdrawal-done")
    click(qtbot, shell, "action_end")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=WAIT)
    assert kiosk.terminal.session is None and "已授权" in tel.page.message.text()
    everything = " ".join(texts_on_screen(shell))
    assert ZHANG.id_number not in everything and "330802********1230" not in everything

    row = center_row(kiosk, cid)                                     # what the center stored
    staff = payload_of(row)["staff"]
    assert (row.teller_id, row.outcome, row.kind) == ("T0001", "accepted", "withdrawal")
    assert staff["branch"] == BRANCH and staff["supervisor_id"] == "S0001" and staff["teller_id"] == "T0001"
    entry = kiosk.services.desk.journal.get(cid)
    assert entry.teller_id == "T0001" and entry.amount_fen == 120_050
    rows = audit_rows(kiosk)
    acts = [(r.actor, r.action, r.result) for r in rows]
    assert ("supervisor:S0001", "supervisor.authorize", "refused:TELLER_LOGIN_FAILED") in acts
    assert ("supervisor:T0001", "supervisor.authorize", "refused:SUPERVISOR_SAME_PERSON") in acts
    ok = [r for r in rows if r.action == "supervisor.authorize" and r.result == "ok"]
    assert ok and ok[-1].actor == "supervisor:S0001" and ok[-1].target == "teller:T0001"
    tx = [r for r in rows if r.action == "teller.transaction" and r.target == "item:withdrawal"]
    assert tx and tx[-1].actor == "teller:T0001"
    assert tx[-1].details["supervisor_id"] == "S0001" and tx[-1].details["branch"] == BRANCH
    assert tx[-1].details["amount_fen"] == 120_050
    assert mode.pending is None                                       # the approval was for that one action


def test_a_combined_loan_for_an_identified_customer_is_split_scheduled_and_applied(qtbot, shell, kiosk, counter):
    tel = counter
    signed_in(qtbot, shell, tel)
    qtbot.keyClick(shell, Qt.Key.Key_F5)                             # 组合贷款
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.identify, timeout=WAIT)
    kiosk.terminal.devices.idcard.simulator.place(ZHANG)             # the customer's ID card, then the face
    page = tel.combined_page
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is page, timeout=WAIT)
    assert "330802********1230" in page.customer.text() and ZHANG.id_number not in page.customer.text()
    for field, text in ((page.price, "1000000"), (page.need, "700000"), (page.months, "240")):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.keyClick(page.first, Qt.Key.Key_Return)                    # Y (first home)
    assert not page.apply_btn.isEnabled()                            # nothing to submit before 试算
    shot(qtbot, shell, "08-combined-form")
    qtbot.keyClick(page.method, Qt.Key.Key_Return)                   # 1 (等额本息): calculate
    qtbot.waitUntil(lambda: page.quote is not None, timeout=WAIT)
    assert page.apply_btn.isEnabled()
    q = page.quote
    top = int(q.hpf_decision["max_amount_fen"])
    assert q.hpf_fen == min(70_000_000, top) and q.hpf_fen + q.commercial_fen == 70_000_000
    assert q.commercial_fen > 0, "the demo person's HPF maximum should leave a commercial part"
    rows = q.rows()
    assert len(rows) == 240 and all(r["payment_fen"] == r["hpf_payment_fen"] + r["commercial_payment_fen"]
                                    for r in rows)
    assert sum(r["hpf_principal_fen"] + r["commercial_principal_fen"] for r in rows) == 70_000_000
    assert "第 1 / 20 页" in page.page_label.text() and "合计" in page.summary.text()
    from kiosk.domain.money import format_yuan
    cells = [w.text() for w in page.table_host.findChildren(type(page.page_label)) if w.isVisible()]
    assert format_yuan(rows[0]["payment_fen"]) in cells and format_yuan(rows[11]["payment_fen"]) in cells
    shot(qtbot, shell, "09-combined-schedule")
    qtbot.keyClick(shell.app.focusWidget() or shell, Qt.Key.Key_PageDown)
    assert "第 2 / 20 页" in page.page_label.text()
    QApplication.processEvents()
    cells = [w.text() for w in page.table_host.findChildren(type(page.page_label)) if w.isVisible()]
    assert "13" in cells and format_yuan(rows[12]["payment_fen"]) in cells
    qtbot.keyClick(shell.app.focusWidget() or shell, Qt.Key.Key_F8)  # apply
    qtbot.waitUntil(lambda: getattr(page, "last_outcome", None) is not None, timeout=WAIT)
    out = page.last_outcome
    assert out.state == "accepted", (out.code, out.message_zh)
    assert "中心已受理" in page.message.text() and "T0001" in page.message.text()
    shot(qtbot, shell, "10-combined-applied")
    row = center_row(kiosk, out.client_id)
    p = payload_of(row)
    assert (row.teller_id, row.kind) == ("T0001", "loan_preapply")
    assert p["amount_fen"] == q.hpf_fen and p["combined"]["commercial_fen"] == q.commercial_fen
    assert p["staff"]["branch"] == BRANCH
    qtbot.keyClick(shell.app.focusWidget() or shell, Qt.Key.Key_Escape)   # the customer is done
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=WAIT)
    assert kiosk.terminal.session is None and page.quote is None and page.id_number == ""
    tx = [r for r in audit_rows(kiosk) if r.action == "teller.transaction" and r.target == f"client:{out.client_id}"]
    assert tx and tx[-1].actor == "teller:T0001" and tx[-1].details["branch"] == BRANCH


def test_end_of_day_counts_this_runs_transactions_by_outcome_and_writes_the_pdf(qtbot, shell, kiosk, counter,
                                                                                tmp_path):
    from kiosk.staff.eod import end_of_day
    from sync.journal import LOCAL_TZ
    tel, mode = counter, kiosk.teller
    journal = kiosk.services.desk.journal
    day = datetime.now(LOCAL_TZ).date()

    def figures() -> dict:
        v = end_of_day(kiosk.terminal.settings, journal, mode.port, "T0001", day, render=False).view()
        return {line["item"]: line for line in v["lines"]}
    before = figures()
    tel.reports_dir = tmp_path / "reports"
    signed_in(qtbot, shell, tel)

    def customer_leaves() -> None:
        click(qtbot, shell, "action_end")
        qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=WAIT)
        kiosk.terminal.devices.idcard.simulator.lift()
        kiosk.terminal.devices.cardreader.simulator.remove()
        online(kiosk, True)

    # a frozen account, the link down after identification: queued now, refused by the center later
    flow = to_withdrawal_confirm(qtbot, shell, kiosk, tel, LIU, "500", offline_after_identify=True, keyboard=True)
    assert flow.amount_fen == 50_000
    key(qtbot, shell, Qt.Key.Key_Return)                            # 确认提交: ¥500.00, below the limit
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.queued
    refused_cid = flow.outcome.client_id
    online(kiosk, True)
    click(qtbot, shell, "evaluate_5")                                # the customer's 好差评: accepted at once
    qtbot.waitUntil(lambda: flow.evaluation in ("sent", "queued", "failed"), timeout=WAIT)
    assert flow.evaluation == "sent"
    customer_leaves()
    assert journal.get(refused_cid).teller_id == "T0001"

    qtbot.keyClick(shell, Qt.Key.Key_F9)
    page = tel.page
    assert page.eod_panel.isVisible() and page.eod_date.hasFocus()
    qtbot.keyClick(page.eod_date, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "报表已生成" in page.eod_result.text(), timeout=WAIT)
    shot(qtbot, shell, "11-end-of-day")
    cells = [w.text() for w in page.eod_lines_host.findChildren(type(page.eod_result)) if w.isVisible()]
    assert {"提取", "好差评", "合计", "待确认笔数"} <= set(cells)
    after = figures()
    w0, w1 = before.get("提取", {}), after["提取"]
    assert w1.get("queued_count", 0) - w0.get("queued_count", 0) == 1
    assert w1.get("queued_fen", 0) - w0.get("queued_fen", 0) == 50_000
    assert (w1.get("accepted_count", 0), w1.get("refused_count", 0)) == (w0.get("accepted_count", 0),
                                                                       w0.get("refused_count", 0))
    e0, e1 = before.get("好差评", {}), after["好差评"]
    assert e1.get("accepted_count", 0) - e0.get("accepted_count", 0) == 1
    assert "待确认" in page.eod_result.text()
    path = page.last_report
    assert path.endswith(".pdf") and path in page.eod_result.text() and "与中心对账一致" in page.eod_result.text()
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout
    assert "T0001" in text and "提取" in text and "好差评" in text and LIU.id_number not in text

    kiosk.sync_worker.drain()                                        # back online: the queued one is delivered
    assert journal.get(refused_cid).state.value == "rejected"        # the frozen account, decided by the center
    row = center_row(kiosk, refused_cid)
    assert (row.teller_id, row.outcome) == ("T0001", "rejected") and payload_of(row)["staff"]["branch"] == BRANCH
    qtbot.keyClick(page.eod_date, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "报表已生成" in page.eod_result.text() and page.last_report == path
                    and not page.busy, timeout=WAIT)
    shot(qtbot, shell, "12-end-of-day-after-sync")
    final = figures()["提取"]
    assert final.get("accepted_count", 0) == w0.get("accepted_count", 0)
    assert final.get("refused_count", 0) - w0.get("refused_count", 0) == 1
    assert final.get("refused_fen", 0) - w0.get("refused_fen", 0) == 50_000
    assert final.get("queued_count", 0) == w0.get("queued_count", 0)
    acts = [(r.actor, r.action) for r in audit_rows(kiosk)]
    assert ("teller:T0001", "teller.end_of_day") in acts


def test_an_unenrolled_bank_teller_terminal_still_opens_on_the_sign_in_page_and_says_why(qtbot, tmp_path):
    """No credentials and no center: teller mode is there all the same; signing in says the center is out of
    reach (a code and plain Chinese), and nothing else opens."""
    from config import load_settings
    from kiosk.app import build_app
    from screens.app import TellerInstaller, create_shell
    env = {"HPF_KIOSK__PATHS__DATA_DIR": str(tmp_path / "data"), "HPF_KIOSK__PATHS__LOG_DIR": str(tmp_path / "log"),
           "HPF_KIOSK__CENTER__URL": "http://127.0.0.1:9", "HPF_KIOSK__CENTER__CONNECT_TIMEOUT_S": "1",
           "HPF_KIOSK__UI__FULLSCREEN": "false", "HPF_KIOSK__UI__VOICE": "mute",
           **{f"HPF_KIOSK__DEVICES__{r}__BACKEND": "sim" for r in ("IDCARD", "CARDREADER", "CAMERA",
                                                                     "RECEIPT_PRINTER")},
           "HPF_KIOSK__DEVICES__A4_PRINTER__BACKEND": "file"}
    app = build_app(load_settings(profile="bank-teller", env=env), start_sync=False, services=True)
    try:
        assert app.teller is not None and any("not enrolled" in n for n in app.notes)
        _qapp, sh, _ = create_shell(app.terminal, kiosk_mode=False)
        qtbot.addWidget(sh)
        sh.show()
        qtbot.waitExposed(sh)
        inst = TellerInstaller(sh, lambda: app.teller)
        tel = inst.staff.teller
        assert sh.stack.currentWidget() is tel.sign_in_page
        sign_in(qtbot, sh, tel.sign_in_page, *TELLER)
        qtbot.waitUntil(lambda: "CENTER_UNREACHABLE" in tel.sign_in_page.message.text(), timeout=WAIT)
        assert "无法连接公积金中心" in tel.sign_in_page.message.text() and app.teller.session is None
        assert sh.stack.currentWidget() is tel.sign_in_page
        shot(qtbot, sh, "13-sign-in-center-unreachable")
        inst.close()
        sh.allow_close = True
        sh.shutdown()
    finally:
        app.close()


def test_a_sensitive_item_needs_the_supervisor_whatever_the_amount(qtbot, shell, kiosk, counter):
    """提前还款 is marked sensitive for this branch (settings.teller.sensitive_items)."""
    from tests.ui.servicehelpers import LI
    tel = counter
    assert "loan_prepayment" in kiosk.terminal.settings.teller.sensitive_items
    signed_in(qtbot, shell, tel)
    press_item(qtbot, shell, tel, "loan_prepayment")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.identify, timeout=WAIT)
    flow = identify_as(qtbot, shell, LI, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_shorten")
    shell.service.type_text("amount", "20000")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    key(qtbot, shell, Qt.Key.Key_Return)                             # 确认提交 by keyboard: held
    auth = tel.authorize_page
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is auth, timeout=5000)
    assert "敏感业务须主管授权" in auth.what.text() and not shell.home_btn.isVisible()
    qtbot.keyClicks(auth.sup_id, SUPERVISOR[0])
    qtbot.keyClick(auth.sup_id, Qt.Key.Key_Return)
    qtbot.keyClicks(auth.sup_password, SUPERVISOR[1])
    qtbot.keyClick(auth.sup_password, Qt.Key.Key_Return)
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted
    row = center_row(kiosk, flow.outcome.client_id)
    staff = payload_of(row)["staff"]
    assert (row.teller_id, row.kind) == ("T0001", "loan_prepayment")
    assert staff["supervisor_id"] == "S0001" and staff["authorization"] == "敏感业务须主管授权"
    click(qtbot, shell, "action_end")
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=WAIT)
