"""The technician's commands: enroll, queue status/list/show/retry/export (masked), sync run --once, reconcile."""
from __future__ import annotations

import json
import stat
from datetime import datetime

import pytest

from kiosk.cli.main import main
from sync.client import credentials_file
from sync.journal import LOCAL_TZ
from sync.protocol import ItemOutcome, ItemResult

from tests.sync.synchelpers import evaluation

PERSON = {"name": "张三丰", "id_number": "330802199001011234", "bank_card": "6222021234567890123",
          "phone": "13800138000"}


@pytest.fixture
def as_kiosk(monkeypatch):
    def use(kiosk):
        for k, v in kiosk.env.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("HPF_KIOSK_CONFIG", raising=False)
        return kiosk
    return use


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_technician_enrolls_the_terminal_with_a_one_time_code(make_kiosk, center, as_kiosk, capsys):
    kiosk = as_kiosk(make_kiosk(enroll=False))
    code = center.enroll_code(kiosk.terminal_id)
    rc, out, _ = run(capsys, "enroll", "--code", code)
    assert rc == 0 and "enrolled" in out
    path = credentials_file(kiosk.settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rc, _, err = run(capsys, "enroll", "--code", code)
    assert rc == 1 and err.startswith("ALREADY_ENROLLED")
    rc, _, err = run(capsys, "enroll", "--code", code, "--force")            # one-time: used up
    assert rc == 4 and err.startswith("ENROLL_CODE_INVALID: 登记码无效或已过期")
    rc, out, _ = run(capsys, "sync", "run", "--once")                          # the stored secret works
    assert rc == 0


def test_queue_commands_show_only_masked_personal_data(make_kiosk, as_kiosk, capsys, tmp_path):
    kiosk = as_kiosk(make_kiosk())
    e = kiosk.journal.create("withdrawal", {"reason": "02", **PERSON}, amount_fen=1_234_56, offline=True,
                             person_key=PERSON["id_number"])
    rc, out, _ = run(capsys, "queue", "status")
    assert rc == 0 and "1,234.56 元" in out and "queued" in out
    rc, out, _ = run(capsys, "queue", "list")
    assert rc == 0 and e.client_id in out and "offline" in out
    rc, out, _ = run(capsys, "queue", "show", e.client_id[:20])
    assert rc == 0 and "330802********1234" in out and "138****8000" in out and "张**" in out
    exports = [tmp_path / "q.jsonl", tmp_path / "q.csv"]
    for f in exports:
        assert run(capsys, "queue", "export", str(f))[0] == 0
    for text in [out] + [f.read_text(encoding="utf-8-sig") for f in exports]:
        for secret in PERSON.values():
            assert secret not in text
    assert json.loads(exports[0].read_text().splitlines()[0])["payload"]["bank_card"] == "622202*********0123"
    rc, _, err = run(capsys, "queue", "show", "ffffffff")
    assert rc == 1 and err.startswith("QUEUE_ITEM_NOT_FOUND")


def test_sync_once_delivers_and_staff_see_the_refusal_then_retry_is_explained(make_kiosk, as_kiosk, capsys):
    kiosk = as_kiosk(make_kiosk())
    ok = kiosk.journal.create("evaluation", evaluation(1))
    bad = kiosk.journal.create("evaluation", {"score": 9})
    rc, out, _ = run(capsys, "sync", "run", "--once")
    assert rc == 0 and "accepted 1, rejected 1" in out
    rc, out, _ = run(capsys, "queue", "list", "--state", "rejected")
    assert bad.client_id in out and "VALIDATION_FAILED: 评价等级应为1至5" in out and ok.client_id not in out
    rc, _, err = run(capsys, "queue", "retry", bad.client_id)
    assert rc == 1 and err.startswith("QUEUE_RETRY_NOT_ALLOWED")


def test_reconcile_finds_no_difference_after_a_clean_sync_and_names_a_real_one(make_kiosk, as_kiosk, capsys):
    kiosk = as_kiosk(make_kiosk())
    for n in range(5):
        kiosk.journal.create("evaluation", evaluation(n))
    assert run(capsys, "sync", "run", "--once")[0] == 0
    today = datetime.now(LOCAL_TZ).date().isoformat()
    rc, out, _ = run(capsys, "sync", "reconcile", "--date", today)
    assert rc == 0 and "matching 5" in out and "no differences" in out
    # A row the terminal believes accepted but the center never received (e.g. a restored old backup).
    ghost = kiosk.journal.create("evaluation", evaluation(99)).client_id
    kiosk.journal.mark_sending([ghost])
    kiosk.journal.apply_results([ItemResult(client_id=ghost, outcome=ItemOutcome.ACCEPTED, http_status=200)])
    rc, out, _ = run(capsys, "sync", "reconcile", "--date", today)
    assert rc == 5 and f"DIFF {ghost}: accepted on this terminal, unknown to the center" in out
    rc, _, err = run(capsys, "sync", "reconcile", "--date", "2026-13-01")
    assert rc == 2 and err.startswith("DATE_INVALID")


def test_sync_once_with_the_center_unreachable_says_so_and_keeps_the_queue(make_kiosk, as_kiosk, capsys):
    kiosk = as_kiosk(make_kiosk(url="http://127.0.0.1:9"))
    kiosk.journal.create("evaluation", evaluation(1))
    rc, out, err = run(capsys, "sync", "run", "--once")
    assert rc == 3 and "still queued 1" in out and err.startswith("CENTER_UNREACHABLE: 暂时无法连接公积金中心")


def test_the_sync_process_delivers_in_the_background_alone_and_stops_on_sigterm(make_kiosk):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    kiosk = make_kiosk()
    env = {**os.environ, **kiosk.env}
    cmd = [sys.executable, "-m", "kiosk.cli.main", "sync", "run"]
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(cmd + ["--no-stagger"], env=env, cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert "sync worker running" in proc.stdout.readline()
        ids = {kiosk.journal.create("evaluation", evaluation(n)).client_id for n in range(20)}
        deadline = time.monotonic() + 60                 # guards against a hang only
        while kiosk.journal.figures().depth and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kiosk.center_accepted() == ids
        second = subprocess.run(cmd + ["--once"], env=env, cwd=repo, capture_output=True, text=True, timeout=60)
        assert second.returncode == 6 and second.stderr.startswith("SYNC_WORKER_BUSY")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
