"""The technician's commands: devices test-print, print sample-certificate, print jobs / reprint."""
import json
import shutil
import subprocess

import pytest

from kiosk.cli.main import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp_path / "log"))
    return tmp_path / "data"


def test_technician_test_prints_on_a_network_printer_and_sees_its_status(sim, capsys):
    rc = main(["devices", "test-print", "--transport", f"tcp://127.0.0.1:{sim.port}", "--width", "58", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["result"] == "success" and out["status"] == "online" and out["paper"] == "full"
    assert out["width_mm"] == 58 and out["status_known"] is True
    (job,) = sim.wait_for_jobs(1)
    assert job.complete and any("¥12,500.00" in t for t in job.texts)
    assert job.qr_payloads and job.decoded.widest() <= 32


def test_test_print_with_no_paper_says_so_in_chinese_and_fails(sim, capsys):
    sim.take_paper_out()
    rc = main(["devices", "test-print", "--transport", f"tcp://127.0.0.1:{sim.port}"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "PAPER_OUT" in out and "打印纸已用完" in out and "paper out" in out


def test_test_print_on_the_demo_simulated_printer_shows_the_receipt(capsys):
    rc = main(["devices", "test-print", "--width", "80"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "住房公积金业务回单" in out and "[QR] https://" in out and "已受理，待联网确认" in out


def test_a_mistyped_transport_is_a_clear_error(capsys):
    rc = main(["devices", "test-print", "--transport", "lpt://1"])
    out = capsys.readouterr().out
    assert rc == 2 and "TRANSPORT_URI" in out and "小票打印机连接配置有误" in out


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_sample_certificate_is_written_as_a_pdf(tmp_path, capsys):
    out = tmp_path / "certs" / "sample.pdf"
    assert main(["print", "sample-certificate", "--out", str(out)]) == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, timeout=30).stdout.decode()
    assert "住房公积金缴存使用证明" in text and "330802********1234" in text


def test_failed_receipts_are_listed_and_reprinted_from_the_journal(sim, capsys, data_dir):
    sim.take_paper_out()
    assert main(["devices", "test-print", "--transport", f"tcp://127.0.0.1:{sim.port}"]) == 1
    capsys.readouterr()
    assert main(["print", "jobs", "--failed", "--json"]) == 0
    (failed,) = json.loads(capsys.readouterr().out)
    assert failed["error_code"] == "PAPER_OUT" and failed["state"] == "failed"

    # the demo profile's receipt printer is simulated; the reprint goes there, marked as a copy
    assert main(["print", "reprint", failed["id"]]) == 0
    assert "reprinted as" in capsys.readouterr().out
    assert main(["print", "jobs", "--failed"]) == 0
    assert "no failed print jobs" in capsys.readouterr().out


def test_reprinting_an_unknown_job_is_a_clear_error(capsys):
    assert main(["print", "reprint", "no-such-job"]) == 1
    assert "PRINT_JOB_NOT_FOUND" in capsys.readouterr().err


def test_an_unsafe_key_file_is_a_clear_error_not_a_traceback(data_dir, capsys):
    data_dir.mkdir(parents=True, exist_ok=True)
    key = data_dir / "terminal.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    assert main(["print", "jobs"]) == 1
    err = capsys.readouterr().err
    assert "JOURNAL_KEY_INVALID" in err and "chmod 600" in err
