"""The teller and the technician at the command line (`hpf-kiosk teller ...`, `hpf-kiosk technician ...`):
clear messages and exit codes, no tracebacks."""
from __future__ import annotations

import io
import subprocess

from kiosk.cli.main import main
from tests.staff.staffhelpers import RENT, TELLER, ZHANG

PIN = "246810"


def run(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_teller_logs_in_closes_the_day_to_a_pdf_and_logs_out(counter, monkeypatch, capsys, tmp_path):
    for k, v in counter.env.items():
        monkeypatch.setenv(k, v)
    base = ["--profile", "bank-teller", "teller"]
    code, out, err = run(monkeypatch, capsys, base + ["login", "T0001"], "wrong\n")
    assert code == 4 and "TELLER_LOGIN_FAILED" in err and "柜员号或密码错误" in err and "Traceback" not in err
    code, out, err = run(monkeypatch, capsys, base + ["login", "T0001"], TELLER[1] + "\n")
    assert code == 0 and "T0001" in out and "QZ-B001" in out, err

    counter.mode.sign_in(*TELLER)        # the counter's screen does one withdrawal in the same journal
    assert counter.mode.submit("withdrawal", {"id_number": ZHANG[1], "reason": "07", "amount_fen": 30_000,
                                              "evidence": RENT}, amount_fen=30_000).accepted
    pdf = tmp_path / "eod.pdf"
    code, out, err = run(monkeypatch, capsys, base + ["eod", "--out", str(pdf)])
    assert code == 0, err
    assert "accepted 1" in out and "¥300.00" in out and "matching 1" in out
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "T0001" in text and "300.00" in text

    code, out, err = run(monkeypatch, capsys, base + ["eod", "--date", "2026-13-01"])
    assert code == 1 and "DATE_INVALID" in err
    code, out, err = run(monkeypatch, capsys, base + ["logout"])
    assert code == 0 and "signed out" in out
    code, out, err = run(monkeypatch, capsys, base + ["eod"])
    assert code == 4 and "TELLER_NOT_SIGNED_IN" in err and "请先登录" in err


def test_technician_sets_a_pin_edits_settings_and_exports_logs(site, monkeypatch, capsys, tmp_path):
    cfg = ["--config", str(site.config_file), "technician"]
    code, out, err = run(monkeypatch, capsys, cfg + ["check"], "111111\n")
    assert code == 4 and "PIN_WRONG" in err
    code, out, err = run(monkeypatch, capsys, cfg + ["set-pin"], f"{PIN}\n135790\n135790\n")
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, cfg + ["check"], "135790\n")
    assert code == 0 and "PIN OK" in out

    before = site.config_file.read_bytes()
    code, out, err = run(monkeypatch, capsys, cfg + ["config-set", "ui.language", "klingon"], "135790\n")
    assert code == 1 and "CONFIG_INVALID" in err and site.config_file.read_bytes() == before
    code, out, err = run(monkeypatch, capsys, cfg + ["config-set", "ui.care_mode", "true"], "135790\n")
    assert code == 0 and "care_mode" in out
    assert site.reload().ui.care_mode is True
    code, out, err = run(monkeypatch, capsys, cfg + ["config-rollback"], "135790\n")
    assert code == 0 and site.reload().ui.care_mode is False

    logdir = site.settings.paths.log_dir
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "hpf-kiosk.jsonl").write_text(f"id {ZHANG[1]}\n")
    usb = tmp_path / "usb"
    usb.mkdir()
    code, out, err = run(monkeypatch, capsys, cfg + ["export-logs", str(usb)], "135790\n")
    assert code == 0 and "1 lines" in out
    assert ZHANG[1] not in "".join(p.read_text() for p in usb.rglob("*.jsonl"))

    code, out, err = run(monkeypatch, capsys, cfg + ["netcheck"], "135790\n")
    assert code == 6 and "NOT reachable" in out
    code, out, err = run(monkeypatch, capsys, cfg + ["info", "--json"])
    assert code == 0 and site.settings.terminal.id in out and "software_version" in out
    actions = [r.action for r in site.audit.tail(200)]
    for a in ("technician.set_pin", "technician.config_set", "technician.config_rollback",
              "technician.export_logs", "technician.netcheck"):
        assert a in actions
