"""The receipt printer as the kiosk uses it: a real EscposPrinter talking TCP to the simulated printer.

Every trouble (paper out before or during the job, cover open, cutter, printer gone, a status read that
hangs) ends in a clear result, and the job stays in the print journal so it can be printed again as a copy."""
import os
import threading

import pytest

from devices.base import CompletionCode, DeviceStatus, PaperState
from printing.escpos.decode import decode
from printing.escpos.device import EscposPrinter
from printing.escpos.transport import TransportError, parse_transport
from printing.jobs import JobState, PrintJournal
from printing.samples import sample_end_of_day, sample_receipt
from printing.sim import SimPrinter


def test_customer_gets_a_full_receipt_with_qr_and_cut_and_the_printer_reports_ready(sim, make_printer):
    printer = make_printer(width_mm=58)
    seen = []
    printer.status.subscribe(lambda role, state: seen.append(state))

    c = printer.print_receipt(sample_receipt()).result()

    assert c.ok and c.value.status_known and c.value.paper is PaperState.FULL
    (job,) = sim.wait_for_jobs(1)
    assert job.complete and "已受理，待联网确认" in job.texts
    assert job.qr_payloads[0].startswith("https://gjj.example.gov.cn/progress")
    assert printer.journal.get(c.value.job_id).state is JobState.PRINTED
    assert seen[-1].device is DeviceStatus.ONLINE and seen[-1].paper is PaperState.FULL
    assert sim.status_requests == 8   # DLE EOT 1..4 before and after the job
    assert sim.paper_in_slot and sim.take_receipt() is job and not sim.paper_in_slot


def test_paper_out_before_the_job_prints_nothing_and_the_receipt_is_reprinted_as_a_copy_once_paper_is_back(sim, make_printer):
    printer = make_printer()
    sim.take_paper_out()

    c = printer.print_receipt(sample_receipt()).result()

    assert c.code is CompletionCode.USER_ERROR and c.error_code == "PAPER_OUT"
    assert c.message == "打印纸已用完，请联系工作人员补充纸张"
    assert printer.status.state.device is DeviceStatus.USER_ERROR and printer.status.state.paper is PaperState.OUT
    assert sim.jobs == []
    (failed,) = printer.journal.outstanding()
    assert failed.error_code == "PAPER_OUT" and failed.reprintable

    sim.load_paper()
    again = printer.reprint(failed.id).result()

    assert again.ok
    (job,) = sim.wait_for_jobs(1)
    assert job.complete and "** 补打/COPY **" in job.texts
    assert printer.journal.outstanding() == []
    assert printer.journal.get(failed.id).resolved_by == again.value.job_id
    assert printer.status.state.device is DeviceStatus.ONLINE


def test_paper_running_out_in_the_middle_of_a_receipt_fails_the_job_and_a_copy_completes_it(sim, make_printer):
    printer = make_printer(width_mm=80)
    sim.run_out_after(6)

    c = printer.print_receipt(sample_receipt()).result()

    assert c.code is CompletionCode.USER_ERROR and c.error_code == "PAPER_OUT"
    assert "未打印完整" in c.message and "补打" in c.message
    (partial,) = sim.wait_for_jobs(1)
    assert not partial.complete and len(partial.texts) == 6 and partial.dropped > 0
    (failed,) = printer.journal.outstanding()
    assert "during the job" in failed.error_text

    sim.load_paper()
    assert printer.reprint(failed.id).result().ok
    jobs = sim.wait_for_jobs(2)
    assert jobs[1].complete and "补打/COPY" in jobs[1].texts[-1]
    assert printer.journal.outstanding() == []


def test_on_a_buffered_printer_paper_running_out_is_caught_by_waiting_for_the_job_to_be_worked_through(journal):
    """Real printers answer DLE EOT at once, while the receipt is still in their buffer: asking right after
    sending would see 'paper ok'. The printer waits for its GS r reply (answered in turn) before asking."""
    sim = SimPrinter(line_time_s=0.01).start()
    printer = EscposPrinter(f"tcp://127.0.0.1:{sim.port}", status_timeout_s=0.3, journal=journal)
    try:
        sim.run_out_after(10)
        c = printer.print_receipt(sample_receipt()).result()
        assert c.error_code == "PAPER_OUT" and "未打印完整" in c.message
        (partial,) = sim.wait_for_jobs(1)
        assert len(partial.texts) == 10 and not partial.complete

        sim.load_paper()
        ok = printer.reprint(printer.journal.outstanding()[0].id).result()
        assert ok.ok and ok.value.status_known
        assert printer.journal.get(ok.value.job_id).note == ""
        assert sim.wait_for_jobs(2)[1].complete
    finally:
        printer.close()
        sim.stop()


def test_cover_open_is_a_user_error_and_nothing_is_printed(sim, make_printer):
    printer = make_printer()
    sim.open_cover()

    c = printer.print_receipt(sample_receipt()).result()

    assert c.code is CompletionCode.USER_ERROR and c.error_code == "COVER_OPEN"
    assert "打印机盖" in c.message
    assert sim.jobs == [] and len(printer.journal.outstanding()) == 1
    sim.close_cover()
    assert printer.reprint(printer.journal.outstanding()[0].id).result().ok


def test_cutter_error_is_a_hardware_error(sim, make_printer):
    printer = make_printer()
    sim.set_cutter_error()

    c = printer.print_receipt(sample_receipt()).result()

    assert c.code is CompletionCode.HARDWARE_ERROR and c.error_code == "CUTTER_ERROR"
    assert printer.status.state.device is DeviceStatus.HARDWARE_ERROR


def test_offline_printer_is_not_ready(sim, make_printer):
    printer = make_printer()
    sim.set_offline()
    c = printer.print_receipt(sample_receipt()).result()
    assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "PRINTER_OFFLINE"


def test_paper_near_end_still_prints_and_warns_the_technician(sim, make_printer):
    printer = make_printer()
    sim.paper_near_end()
    c = printer.print_receipt(sample_receipt()).result()
    assert c.ok and c.value.paper is PaperState.LOW
    assert printer.status.state.paper is PaperState.LOW
    assert printer.selftest().description.endswith("ready, paper near end")


def test_printer_gone_gives_a_clear_error_and_the_receipt_prints_when_it_is_back(sim, make_printer):
    printer = make_printer()
    sim.stop()

    c = printer.print_receipt(sample_receipt()).result()

    assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "PRINTER_GONE"
    assert c.message == "无法连接小票打印机，请联系工作人员"
    assert printer.status.state.device is DeviceStatus.NO_DEVICE
    (failed,) = printer.journal.outstanding()

    sim.start()   # plugged in again, same port
    assert printer.reprint(failed.id).result().ok
    assert sim.wait_for_jobs(1)[0].complete
    assert printer.status.state.device is DeviceStatus.ONLINE


def test_a_status_read_that_hangs_does_not_block_printing_and_is_reported_as_unknown(sim, make_printer):
    printer = make_printer(status_timeout_s=0.2)
    sim.set_hang_status()

    c = printer.print_receipt(sample_receipt()).result()

    assert c.ok and not c.value.status_known and c.value.paper is PaperState.UNKNOWN
    assert sim.wait_for_jobs(1)[0].complete
    job = printer.journal.get(c.value.job_id)
    assert job.state is JobState.PRINTED and "status unknown" in job.note
    assert "status unknown" in printer.status.state.detail
    assert printer.selftest().error_code == "STATUS_UNKNOWN"
    sim.set_hang_status(False)
    assert printer.reprint(job.id).result().ok   # still reprintable, as a copy
    assert "** 补打/COPY **" in sim.wait_for_jobs(2)[1].texts


def test_a_printer_that_accepts_but_never_reads_makes_the_write_time_out_instead_of_hanging():
    """A peer that accepts the connection but never reads (jammed firmware): the write gives up at its deadline."""
    import socket
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    transport = parse_transport(f"tcp://127.0.0.1:{srv.getsockname()[1]}")
    transport.open(1.0)
    try:
        with pytest.raises(TransportError) as exc:
            transport.write(b"\x1b@" + b"x" * 64_000_000, timeout=0.5)
        assert exc.value.code == "PRINTER_WRITE_TIMEOUT"
        assert exc.value.message_zh == "小票打印机无响应，请联系工作人员"
    finally:
        transport.close()
        srv.close()


def test_failed_receipts_survive_a_terminal_restart_and_can_be_reprinted(sim, tmp_path):
    db = tmp_path / "jobs.sqlite3"
    first = EscposPrinter(f"tcp://127.0.0.1:{sim.port}", status_timeout_s=0.3, journal=PrintJournal(db))
    sim.take_paper_out()
    assert first.print_receipt(sample_receipt()).result().error_code == "PAPER_OUT"
    first.close()
    first.journal.close()

    sim.load_paper()
    second = EscposPrinter(f"tcp://127.0.0.1:{sim.port}", status_timeout_s=0.3, journal=PrintJournal(db))
    try:
        (failed,) = second.journal.outstanding()
        assert failed.document.masked_id == "330802********1234"
        assert second.reprint(failed.id).result().ok
        assert "** 补打/COPY **" in sim.wait_for_jobs(1)[0].texts
        assert second.journal.outstanding() == []
    finally:
        second.close()
        second.journal.close()
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b"")
    assert b"330802199001011234" not in raw and "张三丰".encode() not in raw


def test_teller_end_of_day_report_prints_on_the_receipt_printer(sim, make_printer):
    printer = make_printer()
    assert printer.print_document(sample_end_of_day()).result().ok
    assert "柜面日终报表" in sim.wait_for_jobs(1)[0].text


def test_a_file_transport_captures_the_bytes_and_reports_status_unknown(tmp_path, journal):
    out = tmp_path / "capture.bin"
    printer = EscposPrinter(f"file://{out}", width_mm=58, journal=journal)
    try:
        c = printer.print_receipt(sample_receipt()).result()
    finally:
        printer.close()
    assert c.ok and not c.value.status_known
    assert "已受理，待联网确认" in decode(out.read_bytes()).texts


def test_serial_printer_on_a_pty_prints_and_answers_status(journal):
    """The serial transport against a printer on the other end of a pseudo-terminal (pyserial)."""
    from printing.escpos.decode import EscposDecoder, StatusRequest, TransmitStatus
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)
    received, stop = bytearray(), threading.Event()

    def printer_side():
        decoder = EscposDecoder(strict=False, kanji=True)
        import select
        while not stop.is_set():
            if not select.select([master], [], [], 0.05)[0]:
                continue
            chunk = os.read(master, 4096)
            received.extend(chunk)
            for event in decoder.feed(chunk):
                if isinstance(event, StatusRequest):
                    os.write(master, b"\x12")
                elif isinstance(event, TransmitStatus):
                    os.write(master, b"\x00")

    t = threading.Thread(target=printer_side, daemon=True)
    t.start()
    printer = EscposPrinter(f"serial://{os.ttyname(slave)}?baud=115200&flow=xonxoff", width_mm=58, status_timeout_s=0.5,
                            journal=journal)
    try:
        c = printer.print_receipt(sample_receipt()).result()
    finally:
        printer.close()
        stop.set()
        t.join(2)
        os.close(master)
        os.close(slave)
    assert c.ok and c.value.status_known
    assert journal.get(c.value.job_id).note == ""   # status before/after and print completion all answered
    assert "已受理，待联网确认" in decode(bytes(received).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x02", b"")
                                     .replace(b"\x10\x04\x03", b"").replace(b"\x10\x04\x04", b""), strict=False).texts


@pytest.mark.parametrize("uri, fragment", [
    ("ftp://printer", "transport must start with"),
    ("tcp://:9100", "needs a host"),
    ("tcp://host:99999", "port must be a number"),
    ("serial://", "needs a port"),
    ("serial:///dev/ttyS0?baud=fast", "baud must be a number"),
    ("usb://zz:yy", "hex ids"),
    ("serial:///dev/ttyS0?flow=magic", "flow must be one of"),
])
def test_a_mistyped_printer_uri_is_refused_with_what_is_wrong(uri, fragment):
    with pytest.raises(TransportError) as exc:
        parse_transport(uri)
    assert exc.value.code == "TRANSPORT_URI" and fragment in str(exc.value)
    assert exc.value.message_zh == "小票打印机连接配置有误，请联系工作人员"


def test_a_missing_usb_device_node_is_printer_gone(journal):
    printer = EscposPrinter("usb:///dev/usb/lp9-does-not-exist", journal=journal)
    try:
        c = printer.print_receipt(sample_receipt()).result()
    finally:
        printer.close()
    assert c.error_code == "PRINTER_GONE" and printer.journal.outstanding()


def test_the_registry_builds_a_simulated_printer_whose_paper_the_demo_can_take_out(tmp_path, monkeypatch):
    from config import load_settings
    from devices import registry
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp_path))
    settings = load_settings(profile="demo")
    built = registry.build(settings, "receipt_printer")
    try:
        assert built.usability.ok and built.backend == "sim"
        printer = built.device
        printer.simulator.take_paper_out()
        assert printer.print_receipt(sample_receipt()).result().error_code == "PAPER_OUT"
        assert (tmp_path / "print_jobs.sqlite3").exists()
    finally:
        built.device.close()


def test_the_caller_knows_the_job_id_at_once_even_when_the_job_fails(sim, make_printer):
    printer = make_printer()
    sim.take_paper_out()
    handle = printer.print_receipt(sample_receipt())
    assert handle.result().error_code == "PAPER_OUT"
    assert printer.journal.get(handle.job_id).state is JobState.FAILED


def test_reprinting_a_job_that_does_not_exist_is_a_clear_error(make_printer):
    c = make_printer().reprint("no-such-job").result()
    assert c.code is CompletionCode.INVALID_DATA and c.error_code == "PRINT_JOB_NOT_FOUND"
    assert c.message == "找不到该打印记录"


def test_old_printed_jobs_are_pruned_but_unresolved_failures_are_kept(sim, make_printer):
    printer = make_printer()
    ok = printer.print_receipt(sample_receipt()).result().value.job_id
    sim.take_paper_out()
    failed = printer.print_receipt(sample_receipt())
    failed.result()
    assert printer.journal.prune(keep_days=-1) == 1      # everything counts as old
    assert [j.id for j in printer.journal.outstanding()] == [failed.job_id]
    with pytest.raises(KeyError):
        printer.journal.get(ok)


def test_an_idle_printer_reports_paper_out_before_the_next_customer_starts(sim, make_printer):
    printer = make_printer()
    paper_out = threading.Event()
    printer.status.subscribe(lambda role, state: state.paper is PaperState.OUT and paper_out.set())
    printer.start_status_polling(0.05)
    sim.take_paper_out()
    assert paper_out.wait(10)
    assert printer.status.state.device is DeviceStatus.USER_ERROR
    assert printer.journal.recent() == []     # polling prints nothing and journals nothing


def test_the_technician_sees_which_printer_device_node_is_missing(journal):
    printer = EscposPrinter("usb:///dev/usb/lp9-does-not-exist", journal=journal)
    try:
        usable = printer.is_usable()
    finally:
        printer.close()
    assert not usable.ok and "/dev/usb/lp9-does-not-exist not found" in usable.missing
