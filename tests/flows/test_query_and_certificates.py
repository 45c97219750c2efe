"""A resident looks at their account and prints what the center certifies."""
from __future__ import annotations

from tests.flows.flowhelpers import LI, WANG, ZHANG, ZHOU, identity
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for


def start(kiosk, person, code, level=2):
    flow = flow_for(code, kiosk.ctx, identity(person, level=level))
    flow.start()
    kiosk.settle(flow)
    return flow


def fields(flow):
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def test_overview_shows_the_masked_account_and_deposit_details_page_by_year(kiosk):
    flow = start(kiosk, ZHANG, "query")
    assert flow.state is Svc.SHOW and flow.step == "overview"
    f = fields(flow)
    assert f["姓名"] == "张**" and f["证件号码"].count("*") >= 8 and f["账户状态"] == "正常"
    assert f["账户余额"].startswith("¥") and ZHANG[1] not in str(flow.view())
    flow.show_deposits()
    kiosk.settle(flow)
    table = flow.view()["table"]
    assert flow.step == "deposits" and table["columns"][0] == "记账日期"
    assert table["total"] > 0 and len(table["rows"]) <= 10
    if table["pages"] > 1:
        first = table["rows"]
        flow.next_page()
        kiosk.settle(flow)
        assert flow.view()["table"]["page"] == 2 and flow.view()["table"]["rows"] != first
    flow.choose_year(kiosk.ctx.today().year - 1)
    kiosk.settle(flow)
    assert flow.view()["table"]["page"] == 1 and flow.year == kiosk.ctx.today().year - 1
    flow.back()
    flow.show_loans()
    assert flow.step == "loans" and "没有住房公积金贷款" in flow.view()["notes"][0]
    flow.finish()
    assert flow.state is Svc.DONE


def test_loan_overview_lists_the_loan_being_repaid(kiosk):
    flow = start(kiosk, LI, "loan_overview")
    assert flow.step == "loans"
    rows = flow.view()["table"]["rows"]
    assert len(rows) == 1 and rows[0][5] == "还款中"


def test_a_person_without_an_account_is_told_so_plainly(kiosk):
    flow = start(kiosk, ZHOU, "query")
    assert flow.state is Svc.SHOW and "您还没有公积金个人账户" in flow.view()["notes"]


def test_deposit_use_certificate_is_signed_by_the_center_printed_on_a4_and_verifiable(kiosk, tmp_path):
    flow = start(kiosk, ZHANG, "deposit_use_certificate")
    assert flow.state is Svc.DONE, flow.message
    pdfs = list((tmp_path / "pdf").glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    code = fields(flow)["验证码"]
    slip = kiosk.printer_sim.wait_for_jobs(1)[-1].text
    assert code in slip and "已出具" in slip
    import requests
    check = requests.get(kiosk.ctx.center.client.base_url + f"/v1/certificates/verify/{code}", timeout=10).json()
    assert check["valid"] is True and check["kind"] == "deposit_use"


def test_payoff_certificate_for_a_paid_off_loan_and_a_clear_refusal_while_a_loan_runs(kiosk):
    flow = start(kiosk, WANG, "payoff_certificate")
    assert flow.state is Svc.DONE, flow.message
    assert fields(flow)["借款合同号"] and len(flow.printed) == 2        # the A4 certificate and the slip
    other = start(kiosk, LI, "payoff_certificate")
    assert other.state is Svc.REFUSED and other.message.code == "CERT_NO_PAID_OFF_LOAN"


def test_account_statement_is_compiled_and_signed_by_the_center_and_printed_with_its_code(kiosk, tmp_path):
    flow = start(kiosk, ZHANG, "statement")
    assert flow.state is Svc.INPUT and flow.step == "kind"
    flow.choose_kind("account")
    assert flow.state is Svc.INPUT and flow.step == "year"
    flow.choose_year("1800")
    assert flow.message.code == "YEAR_OUT_OF_RANGE"
    flow.choose_year(kiosk.ctx.today().year)
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    doc = flow.document
    assert doc.lines and doc.closing_fen == doc.opening_fen + sum(l.credit_fen - l.debit_fen for l in doc.lines)
    pdfs = list((tmp_path / "pdf").glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    code = fields(flow)["验证码"]
    assert code in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    import requests
    check = requests.get(kiosk.ctx.center.client.base_url + f"/v1/statements/verify/{code}", timeout=10).json()
    assert check["valid"] is True and check["content"]["closing_fen"] == doc.closing_fen
    assert requests.get(kiosk.ctx.center.client.base_url + "/v1/statements/verify/AAAA-BBBB-CCCC",
                        timeout=10).json()["valid"] is False


def test_the_center_going_away_during_a_query_ends_with_the_offline_message(kiosk):
    flow = flow_for("query", kiosk.ctx, identity(ZHANG, level=2))
    flow.start()
    kiosk.offline()
    kiosk.settle(flow)
    # the request may have left before the switch: either the overview or the offline message, never a hang
    assert flow.state in (Svc.SHOW, Svc.FAILED)
    again = flow_for("query", kiosk.ctx, identity(ZHANG, level=2))
    again.start()
    kiosk.settle(again)
    assert again.state is Svc.FAILED and again.message.code == "OFFLINE_NOT_ALLOWED"
    assert "需联网办理" in again.message.zh


def _pdf_text(path) -> str:
    import subprocess
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def test_annual_statement_of_last_year_has_the_years_totals_the_seal_and_its_code(kiosk, tmp_path):
    flow = start(kiosk, ZHANG, "statement")
    flow.choose_kind("annual")
    this = kiosk.ctx.today().year
    assert [c["id"] for c in flow.view()["choices"]][0] == this - 1      # only finished years
    flow.choose_year(this)
    assert flow.message.code == "YEAR_OUT_OF_RANGE"
    flow.choose_year(this - 1)
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    c = flow.issued["content"]
    t = c["summary"]
    assert c["kind"] == "annual" and c["title"] == "住房公积金年度对账单"
    # the totals account for the whole year's movement, in fen
    assert c["opening_fen"] + t["deposited_fen"] + t["interest_fen"] - t["withdrawn_fen"] + t["other_fen"] \
        == c["closing_fen"]
    assert t["deposited_fen"] > 0 and t["months_paid"] >= 1
    pdf = next((tmp_path / "pdf").glob("*.pdf"))
    text = _pdf_text(pdf).replace(" ", "")
    code = fields(flow)["验证码"]
    assert "年度对账单" in text and code in text and "业务专用章" in text and "本年缴存" in text
    assert ZHANG[1] not in text and ZHANG[0] not in text
    assert code in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    import requests
    check = requests.get(kiosk.ctx.center.client.base_url + f"/v1/statements/verify/{code}", timeout=10).json()
    assert check["valid"] is True and check["content"]["summary"] == t
    # the running year is refused by the center too, in plain Chinese (a terminal cannot be talked into it)
    from devices.base import CancelToken
    from kiosk.flows.ports import PortError
    try:
        kiosk.ctx.center.issue_statement(ZHANG[1], this, "k-" + code, CancelToken(10), "annual")
    except PortError as exc:
        assert exc.code == "STATEMENT_YEAR_OPEN" and "尚未结束" in exc.message_zh
    else:
        raise AssertionError("annual statement for the running year was issued")


def test_loan_details_list_the_repayments_with_the_balance_and_replay_on_retry(kiosk, tmp_path):
    flow = start(kiosk, LI, "statement")
    flow.choose_kind("loan")
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.step == "year", flow.message      # one loan: straight to the year
    year = flow.view()["choices"][0]["id"]
    flow.choose_year(year)
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    c = flow.issued["content"]
    assert c["kind"] == "loan" and c["lines"] and c["contract_no"]
    assert c["opening_fen"] - sum(l["principal_fen"] for l in c["lines"]) == c["closing_fen"]
    assert c["lines"][-1]["balance_fen"] == c["closing_fen"]
    from devices.base import CancelToken
    person_loan = kiosk.ctx.center.loans(LI[1], CancelToken(10))[0]
    if year == kiosk.ctx.today().year:
        assert c["closing_fen"] == person_loan["balance_fen"]
    text = _pdf_text(next((tmp_path / "pdf").glob("*.pdf"))).replace(" ", "")
    assert "个人贷款明细" in text and "还款本金" in text and c["verification_code"] in text
    # the same request again (a retry after a lost answer) gets the same statement, not a second one
    key = flow._keys[("loan", c["contract_no"], year)]
    again = kiosk.ctx.center.issue_statement(LI[1], year, key, CancelToken(10), "loan", c["contract_no"])
    assert again["serial"] == c["serial"] and again["verification_code"] == c["verification_code"]
    # someone without a loan is told so plainly
    none = start(kiosk, ZHANG, "statement")
    none.choose_kind("loan")
    kiosk.settle(none)
    assert none.state is Svc.REFUSED and "没有住房公积金贷款" in none.message.zh


SUN = ("孙国庆", "33080219601001129X")       # past retirement age: the retirement withdrawal closes the account


def test_progress_by_the_receipts_qr_code_on_the_camera_and_by_serial(kiosk):
    import re
    import threading
    flow = start(kiosk, SUN, "withdrawal", level=3)
    kiosk.devices.cardreader.insert(SUN)
    flow.choose_reason("03")
    kiosk.settle(flow)
    if flow.state is Svc.READ_CARD:
        kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM, (flow.state, flow.message)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.accepted
    slip = kiosk.printer_sim.wait_for_jobs(1)[-1]
    serial = re.search(r"TQ\d{16}", slip.text).group(0)
    qr = next(q for q in slip.qr_payloads if q.startswith("progress:"))

    camera = kiosk.devices.camera                    # the stand-in camera of these tests
    prog = start(kiosk, ZHANG, "progress_query", level=1)
    assert "scan" in prog.view()["actions"]
    camera.show_face("none")                         # nothing held up: a deadline, then a plain message
    prog.scan_timeout_s = 0.3
    prog.scan()
    kiosk.settle(prog)
    assert prog.state is Svc.INPUT and prog.message.code == "QR_NOT_SEEN" and "二维码" in prog.message.zh
    camera.show_qr("https://gjj.example.gov.cn/verify?code=ABCD-EFGH-JKLM")     # a certificate's QR instead
    prog.scan_timeout_s = 10
    prog.scan()
    kiosk.settle(prog)
    assert prog.state is Svc.INPUT and prog.message.code == "QR_IS_CERTIFICATE"
    seen = []
    frame = camera.frame
    camera.frame = lambda: (seen.append(threading.current_thread().name), frame())[1]
    camera.show_qr(qr)
    prog.scan()
    kiosk.settle(prog)
    assert prog.state is Svc.SHOW, prog.message
    assert fields(prog)["业务编号"] == serial and fields(prog)["业务类型"] == "提取"
    assert seen and threading.main_thread().name not in seen          # the camera was read on a worker
    # the same case typed: the kind (prefix) and the digits
    typed = start(kiosk, ZHANG, "progress_query", level=1)
    typed.submit_serial("TQ", serial[2:])
    kiosk.settle(typed)
    assert typed.state is Svc.SHOW and fields(typed)["业务编号"] == serial
    # the time a resident reads is Beijing time to the minute, not the center's UTC stamp
    from datetime import datetime, timedelta, timezone
    shown = datetime.strptime(fields(typed)["受理时间"], "%Y-%m-%d %H:%M").replace(tzinfo=timezone(timedelta(hours=8)))
    assert abs(datetime.now(timezone.utc) - shown) < timedelta(minutes=10)
