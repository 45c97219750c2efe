"""Cases the other side decides advance through the operator endpoint, the CLI or the sandbox's auto-advance:
a transfer-in letter (funds received -> completed, or failed) and a loan pre-application (approved / refused with
a reason). Each step is recorded and visible to the terminal through /progress/{serial} and
/persons/{id}/transfers. Runs on SQLite and PostgreSQL, each with a center of its own (the shared one's demo
cases belong to other tests)."""
from __future__ import annotations

import itertools
import uuid

import pytest
import requests

from center.testing import run_center
from tests.center.conftest import tx

ZHANG = "330802198503151230"    # normal account, no loan
LI = "330802197807201247"       # normal account, HPF loan being repaid
WU = "330802199002141311"       # seeded with a transfer-in in progress
_n = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def center(request, tmp_path_factory):
    db_url = None
    if request.param == "postgres":
        db_url = request.getfixturevalue("pg_cluster").create_database(f"center_cases_{next(_n)}")
    c = run_center(tmp_path_factory.mktemp(f"cases-{request.param}"), db_url=db_url)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def kiosk(center):
    return center.client("KIOSK-CASE1")


def send(kiosk, kind, payload):
    item = tx(kind, payload)
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert r.status_code == 200, r.text
    return r.json()["result"]


def advance(center, serial, action, key=None, token=None, **body):
    return requests.post(f"{center.url}/v1/admin/cases/{serial}/advance", json={"action": action, **body},
                         headers={"Authorization": f"Bearer {token or center.operator_token}",
                                  "Idempotency-Key": key or str(uuid.uuid4())}, timeout=30)


def balance(kiosk, id_number):
    return kiosk.get(f"/v1/persons/{id_number}").json()["account"]["balance_fen"]


def test_transfer_in_funds_received_then_completed_books_the_amount(center, kiosk):
    letter = send(kiosk, "transfer_in", {"id_number": ZHANG, "from_center": "C33010"})["letter_no"]
    before = balance(kiosk, ZHANG)
    early = advance(center, letter, "complete")
    assert early.status_code == 409 and early.json()["code"] == "CASE_STATE_CONFLICT"   # no funds yet

    r = advance(center, letter, "funds_received", amount_fen=1_234_500)
    assert r.status_code == 200 and r.json()["state"] == "2"
    prog = kiosk.get(f"/v1/progress/{letter}").json()
    assert prog["state_zh"] == "处理中" and prog["amount_fen"] == 1_234_500
    assert [h["action"] for h in prog["history"]] == ["submitted", "funds_received"]
    assert balance(kiosk, ZHANG) == before                       # not booked before the case is completed

    key = str(uuid.uuid4())
    done = advance(center, letter, "complete", key=key)
    assert done.status_code == 200 and done.json()["state"] == "0" and done.json()["state_zh"] == "完成"
    again = advance(center, letter, "complete", key=key)          # a retry of the same request is replayed
    assert again.json() == done.json() and again.headers.get("Idempotent-Replayed") == "true"
    twice = advance(center, letter, "complete")                   # a new request on a finished case is refused
    assert twice.status_code == 409 and twice.json()["code"] == "CASE_STATE_CONFLICT"

    assert balance(kiosk, ZHANG) == before + 1_234_500            # booked exactly once
    prog = kiosk.get(f"/v1/progress/{letter}").json()
    assert (prog["state"], prog["state_zh"]) == ("0", "完成")
    assert [h["action"] for h in prog["history"]] == ["submitted", "funds_received", "complete"]
    mine = [t for t in kiosk.get(f"/v1/persons/{ZHANG}/transfers").json()["transfers"] if t["letter_no"] == letter]
    assert mine[0]["status"] == "0" and mine[0]["amount_fen"] == 1_234_500
    assert [h["actor"] for h in mine[0]["history"]] == ["terminal", "operator", "operator"]
    # the case is closed, so a new transfer-in may be applied for
    assert send(kiosk, "transfer_in", {"id_number": ZHANG, "from_center": "C33020"})["letter_no"] != letter


def test_a_failed_transfer_needs_a_reason_and_shows_it(center, kiosk):
    letter = send(kiosk, "transfer_in", {"id_number": LI, "from_center": "C33010"})["letter_no"]
    no_reason = advance(center, letter, "fail")
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "CASE_REASON_REQUIRED"
    wrong = advance(center, letter, "approve")
    assert wrong.status_code == 422 and wrong.json()["code"] == "CASE_ACTION_INVALID"
    r = advance(center, letter, "fail", reason="转出地账户已冻结")
    assert r.status_code == 200
    prog = kiosk.get(f"/v1/progress/{letter}").json()
    assert (prog["state"], prog["state_zh"]) == ("1", "失败")
    assert prog["history"][-1]["reason"] == "转出地账户已冻结"


def test_loan_pre_applications_are_approved_or_refused_with_a_reason(center, kiosk):
    def preapply():
        return send(kiosk, "loan_preapply", {"id_number": ZHANG, "house_price_fen": 100_000_000, "months": 240,
                                             "amount_fen": 10_000_000})["serial"]
    first, second = preapply(), preapply()
    assert kiosk.get(f"/v1/progress/{first}").json()["state_zh"] == "已受理，待审批"
    assert advance(center, first, "refuse").json()["code"] == "CASE_REASON_REQUIRED"
    assert advance(center, first, "refuse", reason="收入证明不足").status_code == 200
    prog = kiosk.get(f"/v1/progress/{first}").json()
    assert (prog["state"], prog["state_zh"]) == ("refused", "审批未通过")
    assert prog["history"][-1]["reason"] == "收入证明不足" and prog["history"][-1]["action"] == "refuse"
    assert advance(center, first, "approve").status_code == 409   # a decision is final
    assert advance(center, second, "approve").status_code == 200
    assert kiosk.get(f"/v1/progress/{second}").json()["state_zh"] == "审批通过"


def test_the_operator_endpoint_needs_the_token_and_a_known_serial(center):
    bad = advance(center, "DK2026000000000000", "approve", token="wrong")
    assert bad.status_code == 401 and bad.json()["code"] == "OPERATOR_TOKEN_INVALID"
    missing = advance(center, "DK2026000000000000", "approve")
    assert missing.status_code == 404 and missing.json()["code"] == "CASE_NOT_FOUND"
    no_key = requests.post(f"{center.url}/v1/admin/cases/DK2026000000000000/advance", json={"action": "approve"},
                           headers={"Authorization": f"Bearer {center.operator_token}"}, timeout=30)
    assert no_key.status_code == 400


def test_cli_advances_shows_and_auto_advances(center, kiosk, capsys):
    from center.cli import main
    db = ["--db", center.db_url, "--data-dir", str(center.data_dir)]
    serial = send(kiosk, "loan_preapply", {"id_number": ZHANG, "house_price_fen": 100_000_000, "months": 240,
                                           "amount_fen": 10_000_000})["serial"]
    assert main(["cases", "advance", serial, "refuse", *db]) == 1
    assert "CASE_REASON_REQUIRED" in capsys.readouterr().err
    assert main(["cases", "advance", serial, "refuse", "--reason", "房屋未备案", *db]) == 0
    assert "submitted -> refused" in capsys.readouterr().out
    assert main(["cases", "show", serial, *db]) == 0
    assert "房屋未备案" in capsys.readouterr().out
    prog = kiosk.get(f"/v1/progress/{serial}").json()
    assert prog["state"] == "refused" and prog["history"][-1]["actor"] == "cli"

    # the sandbox's auto-advance, one pass at a time: 吴磊's seeded transfer-in gets its funds, then completes
    letter = kiosk.get(f"/v1/persons/{WU}/transfers").json()["transfers"][0]["letter_no"]
    before = balance(kiosk, WU)
    assert main(["cases", "auto-advance", "--minutes", "0", *db]) == 0
    capsys.readouterr()
    t = kiosk.get(f"/v1/progress/{letter}").json()
    assert t["state"] == "2" and t["history"][-1]["action"] == "funds_received" and t["amount_fen"] > 0
    assert main(["cases", "auto-advance", "--minutes", "0", *db]) == 0
    t = kiosk.get(f"/v1/progress/{letter}").json()
    assert t["state"] == "0" and [h["actor"] for h in t["history"][1:]] == ["sandbox", "sandbox"]
    assert balance(kiosk, WU) == before + t["amount_fen"]
    assert main(["cases", "auto-advance", "--minutes", "60", *db]) == 0   # nothing untouched for an hour now
    assert "0 case(s) advanced" in capsys.readouterr().out


def test_auto_advance_is_off_by_default_and_configurable():
    from center.config import CenterConfig
    assert CenterConfig.from_env(env={}).case_auto_advance_minutes == 0
    assert CenterConfig.from_env(env={"HPF_CENTER_CASE_AUTO_ADVANCE_MIN": "5"}).case_auto_advance_minutes == 5


def test_a_sandbox_center_configured_for_it_advances_cases_by_itself(tmp_path, monkeypatch):
    """The running service's timer (HPF_CENTER_CASE_AUTO_ADVANCE_MIN), in-process: a transfer-in untouched for
    longer than the configured minutes gets its funds; one applied for just now is left alone."""
    import time
    from datetime import timedelta

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    import center.app as app_mod
    from center.api.admin import case_history
    from center.config import CenterConfig
    from center.models import TransferIn, utcnow
    from center.seed import seed_if_empty
    monkeypatch.setattr(app_mod, "AUTO_ADVANCE_POLL_S", 0.05)
    cfg = CenterConfig.from_env(env={"HPF_CENTER_CASE_AUTO_ADVANCE_MIN": "10"},
                                db_url=f"sqlite:///{tmp_path / 'c.sqlite3'}", data_dir=tmp_path)
    app = app_mod.create_app(cfg)
    seed_if_empty(app.state.db, persons=0)
    fresh = "C330802601010099"
    with app.state.db() as s, s.begin():
        old = s.scalar(sa.select(TransferIn))                               # 吴磊's seeded case, made stale
        old.created_at = utcnow() - timedelta(minutes=11)
        letter = old.letter_no
        s.add(TransferIn(letter_no=fresh, person_id=old.person_id, from_center="C33020", feedback="2",
                         created_at=utcnow()))
    with TestClient(app):                                                   # runs the lifespan (the timer)
        deadline = time.monotonic() + 60                                    # waits for the outcome, not timed
        history = []
        while time.monotonic() < deadline and len(history) < 2:
            with app.state.db() as s:
                history = case_history(s, letter)
            time.sleep(0.05)
        time.sleep(0.3)                                                     # a few more passes of the timer
        with app.state.db() as s:
            history, untouched = case_history(s, letter), case_history(s, fresh)
            state, amount = s.get(TransferIn, letter).feedback, s.get(TransferIn, letter).amount_fen
    assert [h["action"] for h in history] == ["submitted", "funds_received"]   # completion waits 10 more minutes
    assert history[1]["actor"] == "sandbox" and state == "2" and amount > 0
    assert [h["action"] for h in untouched] == ["submitted"]
