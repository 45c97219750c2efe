"""Certificates, statement and teller report as PDF; through a real private cupsd with a cups-pdf queue; and the
demo's file backend. Text is checked with pdftotext in reportlab's own PDF; the CUPS output keeps the look."""
import dataclasses
import datetime as dt
import shutil
import subprocess
import uuid

import pytest

from devices.base import CompletionCode
from printing.cups import CupsPrinter, FilePrinter
from printing.documents import DocumentError, document_from_dict
from printing.jobs import JobState
from printing.pdf import PdfError, register_cjk_font, render_pdf
from printing.samples import (sample_deposit_certificate, sample_end_of_day, sample_payoff_certificate,
                              sample_statement)

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode("utf-8")


@needs_poppler
def test_deposit_use_certificate_carries_every_field_of_the_national_form_masked():
    text = pdf_text(render_pdf(sample_deposit_certificate()))
    for expected in ("异地贷款职工住房公积金缴存使用证明", "编号：ZM-C33080-20261121-0042", "张**", "330802********1234",
                     "衢州市智造科技有限公司", "3308020123456789", "正常", "2015-07-01", "¥8,500.00", "12%",
                     "¥2,040.00", "2020-01 至 2026-10", "¥123,456.78", "壹拾贰万叁仟肆佰伍拾陆元柒角捌分",
                     "无贷款记录", "自开具之日起2个月内有效", "有效期至2027-01-21", "单位公章（或业务专用章）：",
                     "验证码：8K3F-Q7PD-2M9X", "电子签名（SM2-with-SM3）", "2026年11月21日"):
        assert expected in text, expected
    assert "330802199001011234" not in text


@needs_poppler
def test_the_cjk_font_is_embedded_so_cups_cannot_garble_it():
    pdf = render_pdf(sample_deposit_certificate())
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, timeout=30).stdout.decode()
    rows = [line for line in fonts.splitlines() if "HPF-CJK" in line or "WenQuanYi" in line]
    assert rows and all(" yes " in row for row in rows)   # emb column
    assert b"STSong" not in pdf


@needs_poppler
def test_payoff_certificate_statement_and_teller_report_read_back():
    payoff = pdf_text(render_pdf(sample_payoff_certificate()))
    assert "个人住房公积金贷款全部还清证明" in payoff and "陆拾万元整" in payoff and "GJJDK-2016-001234" in payoff
    statement = pdf_text(render_pdf(sample_statement()))
    assert "期初余额" in statement and "¥100,000.00" in statement and "租房提取" in statement
    assert "¥107,900.00" in statement   # 100,000 + 10 x 2,040 - 12,500
    report = pdf_text(render_pdf(sample_end_of_day()))
    assert "柜面日终报表" in report and "合计" in report and "¥210,000.00" in report


@needs_poppler
def test_pdf_metadata_holds_no_personal_data():
    pdf = render_pdf(sample_deposit_certificate())
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, timeout=30).stdout.decode()
    meta = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())}
    assert meta["Title"] == "住房公积金缴存使用证明 ZM-C33080-20261121-0042"
    assert meta["Author"] == "衢州市住房公积金中心"
    for personal in ("张", "330802", "3308020123456789", "智造"):
        assert personal not in info


def test_a_copy_of_a_certificate_is_marked():
    pytest.importorskip("reportlab")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext missing")
    assert "补打/COPY" in pdf_text(render_pdf(sample_deposit_certificate(copy=True)))


def test_certificate_documents_round_trip_through_the_journal_format():
    for doc in (sample_deposit_certificate(), sample_payoff_certificate(), sample_statement(), sample_end_of_day()):
        assert document_from_dict(doc.to_dict()) == doc


def test_validity_is_two_months_clamped_to_month_end():
    cert = dataclasses.replace(sample_deposit_certificate(),
                               issued_at=dt.datetime(2026, 12, 31, 2, 0, tzinfo=dt.timezone.utc))
    assert cert.valid_until == dt.date(2027, 2, 28)


def test_a_certificate_with_an_unknown_loan_record_is_refused():
    with pytest.raises(DocumentError) as exc:
        dataclasses.replace(sample_deposit_certificate(), loan_record="不详")
    assert exc.value.code == "DOC_FIELD"


def test_a_missing_font_is_a_clear_error_not_tofu(tmp_path):
    with pytest.raises(PdfError) as exc:
        register_cjk_font(tmp_path / "nope.ttc")
    assert exc.value.code == "PDF_FONT_MISSING" and "fonts-wqy-microhei" in str(exc.value)
    register_cjk_font()   # back to the default for the other tests


def test_demo_file_backend_writes_the_certificate_pdf(tmp_path, journal):
    printer = FilePrinter(tmp_path / "out", journal=journal)
    try:
        c = printer.print_document(sample_deposit_certificate()).result()
    finally:
        printer.close()
    assert c.ok and c.value.path.exists() and c.value.path.read_bytes().startswith(b"%PDF")
    assert c.value.path.name.startswith("deposit_use_certificate-ZM-C33080-20261121-0042")
    assert journal.get(c.value.job_id).state is JobState.PRINTED


def test_demo_file_backend_reports_an_unwritable_directory(tmp_path, journal):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    printer = FilePrinter(blocker / "sub", journal=journal)
    try:
        c = printer.print_document(sample_deposit_certificate()).result()
    finally:
        printer.close()
    assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "PDF_WRITE_FAILED"
    assert journal.outstanding()[0].error_code == "PDF_WRITE_FAILED"


# --------------------------------------------------------------------------- real CUPS

@pytest.mark.cups
def test_a_certificate_printed_through_cups_comes_out_of_the_pdf_queue(cupsd, journal, artifacts):
    serial = f"ZM-TEST-{uuid.uuid4().hex[:8]}"
    cert = dataclasses.replace(sample_deposit_certificate(), serial_no=serial)
    printer = CupsPrinter(cupsd.queue, server=cupsd.server, user=cupsd.user, journal=journal, job_timeout_s=60)
    try:
        assert printer.is_usable().ok
        assert printer.selftest().ok
        c = printer.print_document(cert).result()
        assert c.ok, c.description
        assert c.value.cups_job.startswith(f"{cupsd.queue}-")
        assert journal.get(c.value.job_id).state is JobState.PRINTED
        outputs = cupsd.outputs(f"deposit_use_certificate-{serial}")
        assert len(outputs) == 1, f"no cups-pdf output in {cupsd.out_dir}"
        out = outputs[0]
        assert out.read_bytes().startswith(b"%PDF")
        png = artifacts / "cups-certificate"
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", "-singlefile", str(out), str(png)],
                       check=True, timeout=60)
        assert png.with_suffix(".png").stat().st_size > 10_000
        shutil.copy(out, artifacts / "cups-certificate.pdf")
    finally:
        printer.close()
        for p in cupsd.outputs(f"deposit_use_certificate-{serial}"):
            p.unlink()


@pytest.mark.cups
def test_a_stopped_cups_queue_fails_the_job_clearly_and_it_reprints_once_the_queue_is_back(cupsd, journal):
    serial = f"ZM-TEST-{uuid.uuid4().hex[:8]}"
    cert = dataclasses.replace(sample_deposit_certificate(), serial_no=serial)
    printer = CupsPrinter(cupsd.queue, server=cupsd.server, user=cupsd.user, journal=journal, job_timeout_s=30)
    assert cupsd.run("cupsdisable", cupsd.queue).returncode == 0
    try:
        c = printer.print_document(cert).result()
        assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "CUPS_PRINTER_STOPPED"
        assert c.message == "A4打印机已暂停或故障，请联系工作人员"
        assert "queued" not in cupsd.run("lpstat", "-o", cupsd.queue).stdout   # our job was canceled
        (failed,) = journal.outstanding()

        assert cupsd.run("cupsenable", cupsd.queue).returncode == 0
        again = printer.reprint(failed.id).result()
        assert again.ok, again.description
        assert journal.outstanding() == []
        assert len(cupsd.outputs(f"deposit_use_certificate-{serial}")) == 1
    finally:
        cupsd.run("cupsenable", cupsd.queue)
        printer.close()
        for p in cupsd.outputs(f"deposit_use_certificate-{serial}"):
            p.unlink()


@pytest.mark.cups
def test_a_queue_that_does_not_exist_is_a_clear_configuration_error(cupsd, journal):
    printer = CupsPrinter("NoSuchQueue", server=cupsd.server, journal=journal)
    try:
        assert not printer.is_usable().ok
        c = printer.print_document(sample_deposit_certificate()).result()
    finally:
        printer.close()
    assert c.error_code == "CUPS_QUEUE_MISSING" and c.message == "A4打印机未配置，请联系工作人员"


def test_cupsd_not_running_is_reported_not_hung(journal):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # nothing listens here once closed
    printer = CupsPrinter("KioskPDF", server=f"127.0.0.1:{port}", journal=journal, command_timeout_s=10)
    try:
        if not shutil.which("lp"):
            pytest.skip("CUPS client not installed")
        c = printer.print_document(sample_deposit_certificate()).result()
    finally:
        printer.close()
    assert c.error_code == "CUPS_UNREACHABLE", c.description
    assert journal.outstanding()


def test_certificates_in_the_print_journal_are_sealed_at_rest_with_the_terminal_key(tmp_path):
    from sync.crypto import FieldCipher
    from printing.jobs import JournalLocked, PrintJournal
    db = tmp_path / "print_jobs.sqlite3"
    cipher = FieldCipher.from_key_file(tmp_path / "terminal.key")
    journal = PrintJournal(db, cipher)
    job = journal.add(sample_deposit_certificate(), "a4_printer")
    assert journal.get(job.id).document == sample_deposit_certificate()
    journal.close()

    raw = b"".join(p.read_bytes() for p in tmp_path.glob("print_jobs.sqlite3*"))
    for secret in ("3308020123456789", "衢州市智造科技有限公司", "330802********1234"):
        assert secret.encode() not in raw

    locked = PrintJournal(db)   # no key: a clear error, not garbage
    with pytest.raises(JournalLocked) as exc:
        locked.get(job.id)
    assert exc.value.code == "PRINT_JOURNAL_LOCKED"
    locked.close()


@pytest.mark.parametrize("change", [{"continuous_from": "2020-13"}, {"continuous_to": "2019-12"},
                                    {"unit_ratio_bp": -5}, {"personal_ratio_bp": 20_000}])
def test_a_certificate_with_impossible_deposit_figures_is_refused(change):
    with pytest.raises(DocumentError) as exc:
        dataclasses.replace(sample_deposit_certificate(), **change)
    assert exc.value.code == "DOC_FIELD"


@pytest.mark.cups
def test_a_network_printer_that_never_answers_times_out_and_the_job_is_canceled_not_left_to_print_later(cupsd, journal):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    queue = "HpfTestDead"
    r = cupsd.run("/usr/sbin/lpadmin", "-p", queue, "-E", "-v", f"socket://127.0.0.1:{dead_port}", "-m", "raw")
    assert r.returncode == 0, r.stderr
    printer = CupsPrinter(queue, server=cupsd.server, user=cupsd.user, journal=journal, job_timeout_s=3)
    try:
        handle = printer.print_document(sample_deposit_certificate())
        c = handle.result()
        assert c.code is CompletionCode.TIMEOUT and c.error_code == "CUPS_TIMEOUT"
        assert c.message == "证明打印超时，请联系工作人员"
        assert "job canceled" in c.description
        assert cupsd.run("lpstat", "-o", queue).stdout.strip() == ""   # nothing left in the queue
        assert journal.get(handle.job_id).reprintable
    finally:
        printer.close()
        cupsd.run("/usr/sbin/lpadmin", "-x", queue)


@needs_poppler
def test_the_certificate_qr_scans_to_the_verification_page(tmp_path):
    cv2 = pytest.importorskip("cv2")
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(render_pdf(sample_deposit_certificate()))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    payload, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.imread(str(tmp_path / "page.png")))
    assert payload == "https://gjj.example.gov.cn/verify?code=8K3F-Q7PD-2M9X"
