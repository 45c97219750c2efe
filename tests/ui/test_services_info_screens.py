"""A resident looks up their records, prints what the center certifies, reads the guides, follows a case by its
serial number (typed or scanned from the receipt's QR code) and rates the service, at the real screens: the real
embedded reference center (signed HTTP over loopback), the simulated ID reader, bank card reader and camera behind
the real adapters, the real ESC/POS class on the simulated receipt printer, the file A4 printer of the demo profile
(PDFs in the data directory, read back with pdftotext). Screens saved in normal and care mode
(tests/artifacts/screens/services-*/2x-*.png)."""
from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

import pytest
import requests
from PySide6.QtWidgets import QApplication

from kiosk.flows.services.base import Svc
from tests.ui.conftest import texts_on_screen
from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
from tests.ui.servicehelpers import (LEFT, LI, SUN, WAIT, WANG, ZHANG, choose, click, find, grab, identify_as,
                                     online, open_tile, settle)

pytestmark = pytest.mark.ui


def open_item(qtbot, shell, code: str) -> None:
    """The item's home tile; an item the center's catalog does not list yet is opened as the shell would."""
    t = shell.terminal
    if any(x.code == code for x in t.tiles()):
        return open_tile(qtbot, shell, code)
    t.start_session(next(x for x in t.tiles() if x.code == "guide"))
    from kiosk.flows.services.registry import spec
    if spec(code).identity_level == 0:
        flow = t.open_service(code)
        shell.service.bind(flow)
        shell.show_page(shell.service)
        return
    raise AssertionError(f"no tile for {code}")


@pytest.fixture(autouse=True)
def _no_sync_notice(shell):
    quiet_banner(shell)
    yield


def look(qtbot, shell, name: str) -> None:
    """grab() (both modes, nothing clipped), and nothing pushed out sideways either: a long text must wrap, not
    make the page scroll horizontally."""
    grab(qtbot, shell, name)
    t = shell.terminal
    for care in (True, False):
        t.set_care_mode(care)
        qtbot.wait(40)
        assert not shell.service.scroll.horizontalScrollBar().isVisible(), f"{name}: sideways scroll, care={care}"


def screen_text(shell) -> str:
    QApplication.processEvents()
    return " ".join(texts_on_screen(shell.service))


def refusal_text(shell) -> str:
    QApplication.processEvents()
    refusal = shell.service.findChild(type(shell.service.title), "refusal")
    assert refusal is not None and refusal.isVisible()
    return refusal.text()


def pdf_text(kiosk, before: set) -> tuple[Path, str]:
    """The one new PDF the A4 printer wrote since `before`, and its text (poppler's pdftotext)."""
    out = Path(kiosk.terminal.settings.paths.data_dir) / "pdf"
    new = [p for p in out.glob("*.pdf") if p not in before]
    assert len(new) == 1, new
    assert new[0].read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(new[0]), "-"], capture_output=True, text=True, timeout=30,
                          check=True).stdout
    return new[0], text


def pdfs(kiosk) -> set:
    return set((Path(kiosk.terminal.settings.paths.data_dir) / "pdf").glob("*.pdf"))


def receipts(kiosk):
    return kiosk.terminal.devices.printer.simulator.sim


def last_slip(kiosk, count_before: int, needle: str):
    """The slip printed after `count_before` jobs that carries `needle` (its code or serial). The simulator may
    register a job a moment after the flow is done, so the slip is found by what it says, not by position."""
    sim = receipts(kiosk)
    n = count_before + 1
    for _ in range(40):
        jobs = sim.wait_for_jobs(n, timeout=0.5)
        hit = [j for j in jobs[count_before:] if needle in j.text]
        if hit:
            return hit[-1]
        n = max(n, len(jobs) + 1)
    raise AssertionError(f"no slip with {needle!r} among {len(sim.jobs) - count_before} new jobs")


def end(qtbot, shell, kiosk) -> None:
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None and shell.stack.currentWidget() is shell.home


def fields(flow) -> dict:
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def test_deposit_details_by_year_with_page_turns_and_the_loan_overview_masked(qtbot, shell, kiosk):
    open_item(qtbot, shell, "deposit_details")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.SHOW)
    assert flow.step == "deposits" and flow.year == kiosk.terminal.services.today().year
    text = screen_text(shell)
    assert "330802********1230" in text and ZHANG.id_number not in text and ZHANG.name not in text
    table = flow.view()["table"]
    assert table["columns"][0] == "记账日期" and 0 < len(table["rows"]) <= 10
    grab(qtbot, shell, "20-deposit-details")
    if table["pages"] > 1:                                # turn the page, then back
        first = table["rows"]
        click(qtbot, shell, "next_page")
        settle(qtbot, flow, Svc.SHOW)
        assert flow.view()["table"]["page"] == 2 and flow.view()["table"]["rows"] != first
        assert f"第 2 / {table['pages']} 页" in screen_text(shell)
        grab(qtbot, shell, "21-deposit-details-page-2")
        click(qtbot, shell, "prev_page")
        settle(qtbot, flow, Svc.SHOW)
        assert flow.view()["table"]["rows"] == first
    last_year = flow.year - 1
    choose(qtbot, shell, f"choice_{last_year}")           # the year buttons under the table
    settle(qtbot, flow, Svc.SHOW)
    assert flow.year == last_year and flow.view()["table"]["page"] == 1
    assert f"{last_year}年" in screen_text(shell)
    rows = flow.view()["table"]["rows"]
    assert rows and all(r[0].startswith(str(last_year)) for r in rows)
    grab(qtbot, shell, "22-deposit-details-last-year")
    shell.go_back()                                       # 返回: to the overview
    assert flow.step == "overview"
    click(qtbot, shell, "action_loans")
    assert flow.step == "loans" and "您没有住房公积金贷款记录" in screen_text(shell)
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)

    # 李秀英's loan being repaid, straight from the loan overview item
    t = kiosk.terminal
    if any(x.code == "loan_overview" for x in t.tiles()):
        open_tile(qtbot, shell, "loan_overview")
    else:
        open_tile(qtbot, shell, "query")
    flow = identify_as(qtbot, shell, LI)
    settle(qtbot, flow, Svc.SHOW)
    if flow.step != "loans":
        click(qtbot, shell, "action_loans")
    rows = flow.view()["table"]["rows"]
    assert len(rows) == 1 and rows[0][5] == "还款中"
    text = screen_text(shell)
    assert "还款中" in text and rows[0][0] in text and LI.name not in text and LI.id_number not in text
    grab(qtbot, shell, "23-loan-overview")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)


def test_account_statement_printed_on_a4_with_the_centers_code_and_a_slip(qtbot, shell, kiosk):
    t = kiosk.terminal
    assert any(x.code == "statement" for x in t.tiles())
    if any(x.code == "statement" for x in t.tiles()):
        open_tile(qtbot, shell, "statement")
        flow = identify_as(qtbot, shell, ZHANG)
    else:                                                 # identify through the query tile, then the item
        open_tile(qtbot, shell, "query")
        first = identify_as(qtbot, shell, ZHANG)
        settle(qtbot, first, Svc.SHOW)
        flow = t.open_service("statement")
        shell.service.bind(flow)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step in ("kind", "year")
    if flow.step == "kind":
        grab(qtbot, shell, "24-statement-kind")
        choose(qtbot, shell, "choice_account")
        settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "year"
    grab(qtbot, shell, "25-statement-year")
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    choose(qtbot, shell, f"choice_{t.services.today().year}")
    settle(qtbot, flow, Svc.DONE)
    code = fields(flow)["验证码"]
    path, text = pdf_text(kiosk, before)
    assert code in text and "330802********1230" in text and ZHANG.id_number not in text
    slip = last_slip(kiosk, slips, code)
    qr = next(q for q in slip.qr_payloads if code in q)   # the slip's QR opens the center's check
    assert requests.get(qr, timeout=10).json()["valid"] is True
    assert code in screen_text(shell)
    grab(qtbot, shell, "26-statement-done")
    check = requests.get(t.services.center.client.base_url + f"/v1/statements/verify/{code}", timeout=10).json()
    assert check["valid"] is True
    end(qtbot, shell, kiosk)

    # the annual statement (年度对账单) of last year: totals above the bookings, the seal, its own code
    open_tile(qtbot, shell, "statement")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_annual")
    assert flow.step == "year" and f"choice_{t.services.today().year}" not in [
        f"choice_{c['id']}" for c in flow.view()["choices"]]
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    choose(qtbot, shell, f"choice_{t.services.today().year - 1}")
    settle(qtbot, flow, Svc.DONE)
    code = fields(flow)["验证码"]
    path, text = pdf_text(kiosk, before)
    flat = text.replace(" ", "")
    assert "年度对账单" in flat and "本年缴存" in flat and "业务专用章" in flat and code in text
    assert ZHANG.id_number not in text and ZHANG.name not in text
    assert code in last_slip(kiosk, slips, code).text
    grab(qtbot, shell, "26b-annual-statement-done")
    end(qtbot, shell, kiosk)

    # 李秀英's loan details (贷款明细): her one loan is taken at once, then the year
    open_tile(qtbot, shell, "statement")
    flow = identify_as(qtbot, shell, LI)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_loan")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "year" and "借款合同号" in fields(flow)
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    choose(qtbot, shell, f"choice_{t.services.today().year}")
    settle(qtbot, flow, Svc.DONE)
    path, text = pdf_text(kiosk, before)
    flat = text.replace(" ", "")
    assert "个人贷款明细" in flat and "还款本金" in flat and "正常还款" in flat and fields(flow)["验证码"] in text
    assert LI.id_number not in text and LI.name not in text
    assert fields(flow)["验证码"] in last_slip(kiosk, slips, fields(flow)["验证码"]).text
    grab(qtbot, shell, "26c-loan-details-done")
    end(qtbot, shell, kiosk)


def test_certificates_on_a4_with_verification_codes_and_a_plain_refusal_without_a_paid_off_loan(qtbot, shell,
                                                                                                 kiosk):
    t = kiosk.terminal
    base = t.services.center.client.base_url
    # 张建国: deposit-use certificate (缴存使用证明)
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    open_tile(qtbot, shell, "deposit_use_certificate")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.DONE)
    code, serial = fields(flow)["验证码"], fields(flow)["证明编号"]
    path, text = pdf_text(kiosk, before)
    assert code in text and serial in text and "缴存使用证明" in text.replace(" ", "")
    assert ZHANG.id_number not in text and ZHANG.name not in text and "330802********1230" in text
    slip = last_slip(kiosk, slips, code)
    assert code in slip.text and "已出具" in slip.text and ZHANG.id_number not in slip.text
    qr = next(q for q in slip.qr_payloads if code in q)   # what a phone opens from the slip's QR code
    assert requests.get(qr, timeout=10).json()["valid"] is True
    assert requests.get(f"{base}/v1/certificates/verify/{code}", timeout=10).json()["valid"] is True
    assert code in screen_text(shell)
    grab(qtbot, shell, "27-deposit-use-certificate")
    online(kiosk, False)                                  # the link drops before the resident rates: queued
    click(qtbot, shell, "evaluate_5")                     # 好差评 at the end of the item
    qtbot.waitUntil(lambda: flow.evaluation == "queued", timeout=WAIT)
    end(qtbot, shell, kiosk)
    online(kiosk, True)
    journal = t.services.desk.journal
    assert kiosk.sync_worker.drain().accepted >= 1        # delivered once the link is back
    assert not [e for e in journal.list("queued") if e.kind == "evaluation"]

    # 王强: loan payoff certificate (贷款全部还清证明)
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    open_tile(qtbot, shell, "payoff_certificate")
    flow = identify_as(qtbot, shell, WANG)
    settle(qtbot, flow, Svc.DONE)
    f = fields(flow)
    path, text = pdf_text(kiosk, before)
    assert f["验证码"] in text and f["借款合同号"] in text and WANG.id_number not in text
    slip = last_slip(kiosk, slips, f["验证码"])
    assert f["验证码"] in slip.text
    assert requests.get(f"{base}/v1/certificates/verify/{f['验证码']}", timeout=10).json()["valid"] is True
    grab(qtbot, shell, "28-payoff-certificate")
    end(qtbot, shell, kiosk)

    # 张建国 has no paid-off loan: the center's refusal, in plain Chinese, and nothing printed
    before, slips = pdfs(kiosk), len(receipts(kiosk).jobs)
    open_tile(qtbot, shell, "payoff_certificate")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.REFUSED)
    reason = refusal_text(shell)
    assert reason == flow.message.zh and "没有已结清" in reason and "CERT_" not in reason
    assert pdfs(kiosk) == before and len(receipts(kiosk).jobs) == slips
    grab(qtbot, shell, "29-payoff-refused")
    end(qtbot, shell, kiosk)


def quiet_banner(shell) -> None:
    """The '已按公积金中心通知更新服务' notice after a catalog sync goes after 60 s; take it down now. (With the
    offline banner beside it, it wraps to a second line and care mode no longer fits 800 px: reported.)"""
    QApplication.processEvents()
    shell._hide_staff_notice()
    QApplication.processEvents()
    s = shell.terminal.settings.ui
    shell.resize(s.screen_width, s.screen_height)
    QApplication.processEvents()


def _announce(kiosk, title: str, body: str) -> None:
    c = kiosk.embedded_center
    r = requests.post(c.url + "/v1/admin/announcements", json={"title_zh": title, "body_zh": body},
                      headers={"Authorization": f"Bearer {c.operator_token}",
                               "Idempotency-Key": secrets.token_hex(8)}, timeout=10)
    assert r.status_code == 200, r.text
    assert kiosk.sync_worker.refresh_catalog()
    from sync.downward import CatalogCache
    kiosk.terminal.set_catalog(CatalogCache.for_settings(kiosk.terminal.settings).load().catalog)


@pytest.fixture
def announced(kiosk):
    """An operator's announcement synced to the kiosk for one test; the catalog without it afterwards (the home
    page shows announcements, and care mode has no room to spare for the other tests' screenshots)."""
    before = kiosk.terminal.catalog
    _announce(kiosk, "系统升级通知", "本周六8:00-12:00系统升级，期间自助终端仅受理查询以外的离线业务。")
    yield
    kiosk.terminal.set_catalog(before)


def test_guides_notices_faq_hotline_and_service_points_read_offline_from_the_synced_catalog(qtbot, shell, kiosk,
                                                                                            announced):
    online(kiosk, False)                                  # the link is down: everything below is local
    quiet_banner(shell)
    open_item(qtbot, shell, "guide")
    flow = shell.service.flow
    assert flow.state is Svc.SHOW and flow.step == "menu" and kiosk.terminal.session.identification is None
    grab(qtbot, shell, "30-info-menu-offline")
    click(qtbot, shell, "choice_guides")
    choose(qtbot, shell, "choice_withdrawal")
    f = fields(flow)
    assert "身份证" in f["所需材料"] and "3个工作日" in f["办理时限"] and f["办理渠道"] == "网络中断时可离线受理"
    assert "3个工作日" in screen_text(shell)
    look(qtbot, shell, "31-guide-withdrawal")
    click(qtbot, shell, "action_menu")
    click(qtbot, shell, "choice_notices")
    assert "系统升级通知" in screen_text(shell)
    look(qtbot, shell, "32-notices")
    click(qtbot, shell, "action_menu")
    click(qtbot, shell, "choice_faq")
    assert "忘记公积金查询密码怎么办？" in screen_text(shell)
    look(qtbot, shell, "33-faq")
    click(qtbot, shell, "action_menu")
    click(qtbot, shell, "choice_hotline")
    assert "12329" in screen_text(shell)
    click(qtbot, shell, "action_menu")
    click(qtbot, shell, "choice_points")
    assert "服务大厅" in screen_text(shell)
    look(qtbot, shell, "34-service-points")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)


def _retirement_withdrawal(qtbot, shell, kiosk):
    """孙国庆's retirement withdrawal through the screens; returns the printed receipt."""
    slips = len(receipts(kiosk).jobs)
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, SUN, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_03")
    settle(qtbot, flow, Svc.CONFIRM)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted
    serial = next(line.split("：", 1)[1] for line in flow.receipt_text if line.startswith("流水号"))
    slip = last_slip(kiosk, slips, serial)
    end(qtbot, shell, kiosk)
    return slip


def test_progress_by_a_serial_typed_on_the_keypad_and_by_the_receipts_qr_code_on_the_camera(qtbot, shell, kiosk):
    t = kiosk.terminal
    slip = _retirement_withdrawal(qtbot, shell, kiosk)    # a real case the center knows, and its receipt
    tq = re.search(r"TQ\d{16}", slip.text).group(0)
    qr = next(q for q in slip.qr_payloads if q.startswith("progress:"))
    assert qr == f"progress:{tq}"

    # typed: the kind of case on the cycling button (the keypad has no letters), then the digits
    open_tile(qtbot, shell, "progress_query")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.INPUT)
    shown = []
    for _ in range(len(flow.inputs[0]["choices"])):       # once round every kind, back to 提取
        click(qtbot, shell, "input_prefix")
        shown.append(find(shell, "input_prefix").text())
    assert shown[-1] == "TQ 提取" and "JCC 缴存使用证明" in shown and "C 转移联系函" in shown
    assert shell.service.values["prefix"] == "TQ"
    click(qtbot, shell, "input_number")
    for d in tq[2:]:
        qtbot.mouseClick(shell.service.pad.key(d), LEFT)
    assert tq[2:] in find(shell, "input_number").text()
    grab(qtbot, shell, "35-progress-keypad")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.SHOW)
    f = fields(flow)
    assert f["业务编号"] == tq and f["业务类型"] == "提取" and f["办理状态"] in ("已办结", "办理中")
    assert SUN.name not in screen_text(shell) and "¥" in f["金额"]
    grab(qtbot, shell, "36-progress-result")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)

    # scanned: the receipt held up to the camera (the real Camera class on its simulator)
    camera = t.devices.camera.device.simulator
    open_tile(qtbot, shell, "progress_query")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.INPUT)
    camera.show("no_face")                                # nothing held up: a clear message, back to the input
    flow.scan_timeout_s = 4.0
    click(qtbot, shell, "action_scan")
    assert flow.busy == "scan" and "请将回单上的二维码对准摄像头" in screen_text(shell)
    grab(qtbot, shell, "37a-progress-scanning")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.message.code == "QR_NOT_SEEN" and "没有识别到二维码" in screen_text(shell)
    grab(qtbot, shell, "37-progress-no-qr")
    camera.show_qr(qr)
    flow.scan_timeout_s = 15.0
    click(qtbot, shell, "action_scan")
    settle(qtbot, flow, Svc.SHOW)
    f = fields(flow)
    assert f["业务编号"] == tq and f["业务类型"] == "提取"
    grab(qtbot, shell, "38-progress-by-qr")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)
    camera.show("good_face")


def test_a_rating_given_offline_is_queued_and_delivered_once_the_link_is_back(qtbot, shell, kiosk):
    t = kiosk.terminal
    online(kiosk, False)
    quiet_banner(shell)
    open_item(qtbot, shell, "evaluation")
    flow = shell.service.flow
    assert flow.code == "evaluation" and flow.state is Svc.INPUT
    grab(qtbot, shell, "39-evaluation")
    choose(qtbot, shell, "choice_4")
    settle(qtbot, flow, Svc.DONE)
    assert flow.evaluation == "queued" and flow.outcome.queued
    cid = flow.outcome.client_id
    journal = t.services.desk.journal
    assert journal.get(cid).state.value == "queued"
    grab(qtbot, shell, "40-evaluation-queued")
    end(qtbot, shell, kiosk)
    online(kiosk, True)
    report = kiosk.sync_worker.drain()
    assert report.accepted >= 1 and journal.get(cid).state.value == "accepted"
    status = t.services.center.client.transaction_status(cid)       # the center has it, once
    assert status.outcome.value == "accepted" and status.result.get("recorded")
    assert kiosk.sync_worker.drain().sent == 0
