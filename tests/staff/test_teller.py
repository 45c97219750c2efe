"""A bank teller at a cooperating branch: signs in against the center, processes a delegated withdrawal that
a supervisor authorizes, takes a combined-loan application, and closes the day with a reconciled report."""
from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import datetime

import pytest

from config.schema import Role

from kiosk.staff import combined_loan
from kiosk.staff.combined_loan import CombinedRequest
from kiosk.staff.eod import end_of_day
from kiosk.staff.errors import StaffError
from kiosk.staff.teller import TellerLimits
from tests.staff.staffhelpers import RENT, SUPERVISOR, TELLER, ZHANG
from sync.journal import LOCAL_TZ


def test_teller_signs_in_bound_to_the_terminals_branch_and_out_again(counter):
    s = counter.mode.sign_in(*TELLER)
    assert s.teller_id == "T0001" and s.branch == "QZ-B001" and s.role == "teller"
    view = counter.mode.view()
    assert view["signed_in"] and view["teller"]["branch"] == "QZ-B001"
    assert "token" not in str(view) and s.token not in str(view)
    counter.mode.sign_out()
    assert not counter.mode.view()["signed_in"]
    acts = [(a, act, res) for a, act, res, _ in counter.actions()]
    assert ("teller:T0001", "teller.sign_in", "ok") in acts
    assert ("teller:T0001", "teller.sign_out", "ok") in acts


def test_wrong_passwords_lock_the_teller_at_the_center(counter):
    for _ in range(4):
        with pytest.raises(StaffError) as e:
            counter.mode.sign_in("T0001", "wrong")
        assert e.value.code == "TELLER_LOGIN_FAILED" and "密码" in e.value.message_zh
    with pytest.raises(StaffError):
        counter.mode.sign_in("T0001", "wrong")                  # the fifth failure locks
    with pytest.raises(StaffError) as e:
        counter.mode.sign_in(*TELLER)                           # even the right password now
    assert e.value.code == "TELLER_LOCKED" and "锁定" in e.value.message_zh
    assert not counter.mode.view()["signed_in"]
    results = [res for _a, act, res, _d in counter.actions() if act == "teller.sign_in"]
    assert results.count("refused:TELLER_LOGIN_FAILED") == 5 and results[-1] == "refused:TELLER_LOCKED"


def test_an_idle_teller_is_signed_out_locally(counter):
    counter.mode.sign_in(*TELLER)
    assert counter.mode.idle_s == counter.settings.teller.idle_signout_s == 300     # config/profiles/bank-teller
    counter.clock.advance(counter.mode.idle_s - 1)
    assert not counter.mode.check_idle()
    counter.mode.touch()
    counter.clock.advance(counter.mode.idle_s)
    with pytest.raises(StaffError) as e:
        counter.mode.submit("evaluation", {"score": 5})
    assert e.value.code == "TELLER_IDLE_SIGNED_OUT"
    assert not counter.mode.view()["signed_in"]
    assert any(act == "teller.sign_out" and d.get("reason") == "idle" for _a, act, _r, d in counter.actions())


def test_a_kiosk_terminal_cannot_enter_teller_mode(counter):
    counter.mode.settings = counter.settings.model_copy(
        update={"terminal": counter.settings.terminal.model_copy(update={"role": Role.KIOSK})})
    with pytest.raises(StaffError) as e:
        counter.mode.sign_in(*TELLER)
    assert e.value.code == "TELLER_MODE_OFF"


def test_delegated_withdrawal_above_the_limit_needs_a_supervisor_and_carries_both_ids(counter):
    counter.mode.limits = replace(TellerLimits(), supervisor_over_fen=100_000)        # ¥1,000.00 at this branch
    counter.mode.sign_in(*TELLER)
    payload = {"id_number": ZHANG[1], "reason": "07", "amount_fen": 120_050, "evidence": RENT}
    assert counter.mode.authorization_needed("withdrawal", 120_050)
    with pytest.raises(StaffError) as e:
        counter.mode.submit("withdrawal", payload, amount_fen=120_050, person_key=ZHANG[1])
    assert e.value.code == "SUPERVISOR_REQUIRED"
    with pytest.raises(StaffError) as e:
        counter.mode.authorize("T0001", TELLER[1], kind="withdrawal", amount_fen=120_050)
    assert e.value.code == "SUPERVISOR_SAME_PERSON"
    with pytest.raises(StaffError) as e:
        counter.mode.authorize("S0001", "wrong", kind="withdrawal", amount_fen=120_050)
    assert e.value.code == "TELLER_LOGIN_FAILED"

    ok = counter.mode.authorize(*SUPERVISOR, kind="withdrawal", amount_fen=120_050)
    with pytest.raises(StaffError) as e:                     # an approval is for that amount only
        counter.mode.submit("withdrawal", {**payload, "amount_fen": 999_999}, amount_fen=999_999, approval=ok)
    assert e.value.code == "SUPERVISOR_APPROVAL_MISMATCH"
    out = counter.mode.submit("withdrawal", payload, amount_fen=120_050, person_key=ZHANG[1], approval=ok)
    assert out.accepted, out
    assert out.result["amount_fen"] == 120_050
    assert out.teller_id == "T0001" and out.supervisor_id == "S0001" and out.branch == "QZ-B001"
    with pytest.raises(StaffError) as e:                     # and used once
        counter.mode.submit("withdrawal", payload, amount_fen=120_050, approval=ok)
    assert e.value.code == "SUPERVISOR_APPROVAL_USED"

    entry = counter.journal.get(out.client_id)
    assert entry.teller_id == "T0001" and entry.state.value == "accepted"
    assert entry.payload["staff"] == {"teller_id": "T0001", "branch": "QZ-B001", "terminal_id": counter.settings.terminal.id,
                                      "supervisor_id": "S0001", "authorization": ok.reason}
    from center.models import AcceptedTransaction
    with counter.center.app.state.db() as s:
        row = s.get(AcceptedTransaction, out.client_id)
        assert row.teller_id == "T0001" and row.payload["staff"]["supervisor_id"] == "S0001"
    tx = [(a, r, d) for a, act, r, d in counter.actions() if act == "teller.transaction"]
    assert tx[-1][0] == "teller:T0001" and tx[-1][2]["supervisor_id"] == "S0001" and tx[-1][2]["state"] == "accepted"
    auth = [(a, r, d) for a, act, r, d in counter.actions() if act == "supervisor.authorize"]
    assert [a for a, r, _ in auth if r == "ok"] == ["supervisor:S0001"]
    assert ZHANG[1] not in str(counter.actions())


def test_a_combined_loan_is_one_application_with_one_schedule_adding_up_to_the_fen(counter):
    counter.mode.sign_in(*TELLER)
    req = CombinedRequest(id_number=ZHANG[1], house_price_fen=300_000_000, need_fen=200_000_000, months=240)
    q = combined_loan.quote(counter.client, req, counter.mode.limits)
    assert q.hpf_fen > 0 and q.commercial_fen > 0 and q.hpf_fen + q.commercial_fen == 200_000_000
    assert q.hpf_fen <= q.hpf_decision["max_amount_fen"]
    assert q.commercial_rate == counter.mode.limits.commercial_rate(240, True) != q.hpf_rate
    view = q.view()
    rows = view["schedule"]
    assert len(rows) == 240 and [p["label"] for p in view["parts"]] == ["公积金贷款", "商业贷款"]
    assert view["parts"][1]["annual_rate"] == "3.05%"          # LPR 3.50% − 45 bp, the bank's part
    t = view["totals"]
    assert sum(r["hpf_principal_fen"] for r in rows) == q.hpf_fen == t["hpf"]["principal_fen"]
    assert sum(r["commercial_principal_fen"] for r in rows) == q.commercial_fen
    assert sum(r["payment_fen"] for r in rows) == t["combined"]["payment_fen"] == \
        t["hpf"]["payment_fen"] + t["commercial"]["payment_fen"] == 200_000_000 + t["combined"]["interest_fen"]
    assert all(r["payment_fen"] == r["hpf_payment_fen"] + r["commercial_payment_fen"] for r in rows)
    assert rows[-1]["remaining_fen"] == 0 and rows[0]["payment_fen"] == view["first_month_payment_fen"]
    assert ZHANG[1] not in str(view)

    out = combined_loan.apply(counter.mode, q)
    assert out.accepted, out
    assert out.result["serial"].startswith("DK")
    entry = counter.journal.get(out.client_id)
    assert entry.teller_id == "T0001" and entry.amount_fen == q.hpf_fen
    assert entry.payload["combined"]["commercial_fen"] == q.commercial_fen


def test_a_combined_loan_asking_more_than_the_house_costs_is_refused_plainly(counter):
    req = CombinedRequest(id_number=ZHANG[1], house_price_fen=100_000_000, need_fen=200_000_000, months=240)
    with pytest.raises(StaffError) as e:
        combined_loan.quote(counter.client, req, counter.mode.limits)
    assert e.value.code == "LOAN_OVER_PRICE" and e.value.message_zh


def test_end_of_day_report_is_reconciled_with_the_center_and_printed_as_pdf(counter, tmp_path):
    counter.mode.sign_in(*TELLER)
    a = counter.mode.submit("withdrawal", {"id_number": ZHANG[1], "reason": "07", "amount_fen": 50_000,
                                           "evidence": RENT}, amount_fen=50_000, person_key=ZHANG[1])
    b = counter.mode.submit("withdrawal", {"id_number": ZHANG[1], "reason": "07", "amount_fen": 10**9,
                                           "evidence": RENT}, amount_fen=10**9, person_key=ZHANG[1],
                            approval=counter.mode.authorize(*SUPERVISOR, kind="withdrawal", amount_fen=10**9))
    c = counter.mode.submit("evaluation", {"score": 5})
    assert (a.state, b.state, c.state) == ("accepted", "rejected", "accepted")
    day = datetime.now(LOCAL_TZ).date()
    eod = end_of_day(counter.settings, counter.journal, counter.client, "T0001", day, audit=counter.audit)
    v = eod.view()
    assert eod.balanced and v["reconcile"]["matching"] == 2 and v["reconcile"]["center"] == 2
    lines = {l["item"]: l for l in v["lines"]}
    assert lines["提取"]["accepted_count"] == 1 and lines["提取"]["accepted_fen"] == 50_000
    assert lines["提取"]["refused_count"] == 1 and lines["提取"]["refused_fen"] == 10**9
    assert v["totals"]["accepted_count"] == 2
    pdf = tmp_path / "eod.pdf"
    pdf.write_bytes(eod.pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "日终报表" in text and "T0001" in text and "QZ-B001" in text
    assert "500.00" in text and "10,000,000.00" in text and day.isoformat() in text
    assert ZHANG[1] not in text
    assert any(act == "teller.end_of_day" and r == "ok" for _a, act, r, _d in counter.actions())


def test_with_the_link_down_a_teller_transaction_stays_queued_with_its_stamp_and_is_delivered_later(counter):
    from kiosk.staff.center import StaffCenterClient
    from sync.worker import SyncWorker
    counter.mode.sign_in(*TELLER)
    up = counter.mode.port
    counter.mode.port = StaffCenterClient("http://127.0.0.1:9", up.credentials, connect_timeout_s=1)   # cable out
    out = counter.mode.submit("evaluation", {"score": 4})
    assert out.state == "queued" and out.code == "CENTER_UNREACHABLE" and out.message_zh == "已受理，待联网确认"
    entry = counter.journal.get(out.client_id)
    assert entry.state.value == "queued" and entry.teller_id == "T0001"
    counter.mode.port.close()
    counter.mode.port = up
    rep = SyncWorker.from_settings(counter.settings, counter.journal, up).drain()      # the link is back
    assert rep.accepted == 1
    assert counter.journal.get(out.client_id).state.value == "accepted"
    from center.models import AcceptedTransaction
    with counter.center.app.state.db() as s:
        row = s.get(AcceptedTransaction, out.client_id)
        assert row.teller_id == "T0001" and row.payload["staff"]["branch"] == "QZ-B001"


def test_a_supervisors_approval_is_for_now_not_for_later(counter):
    counter.mode.limits = replace(TellerLimits(), supervisor_over_fen=100)
    counter.mode.sign_in(*TELLER)
    ok = counter.mode.authorize(*SUPERVISOR, kind="withdrawal", amount_fen=20_000)
    counter.clock.advance(counter.mode.limits.approval_ttl_s + 1)
    counter.mode.touch()
    with pytest.raises(StaffError) as e:
        counter.mode.submit("withdrawal", {"id_number": ZHANG[1], "reason": "07", "amount_fen": 20_000,
                                           "evidence": RENT}, amount_fen=20_000, approval=ok)
    assert e.value.code == "SUPERVISOR_APPROVAL_EXPIRED"


def test_an_item_the_center_switched_off_is_refused_at_the_counter(counter):
    from sync.protocol import Catalog, ServiceItem
    cat = Catalog(version="1", items=[ServiceItem(code="withdrawal", name_zh="提取", name_en="Withdrawal", enabled=False),
                                      ServiceItem(code="evaluation", name_zh="好差评", name_en="Evaluation",
                                                  roles=["kiosk"])])
    counter.mode.catalog = lambda: cat
    counter.mode.sign_in(*TELLER)
    with pytest.raises(StaffError) as e:
        counter.mode.submit("withdrawal", {"id_number": ZHANG[1]}, amount_fen=100)
    assert e.value.code == "ITEM_SWITCHED_OFF" and "暂停" in e.value.message_zh
    with pytest.raises(StaffError) as e:
        counter.mode.submit("evaluation", {"score": 5})
    assert e.value.code == "ITEM_NOT_FOR_TELLER"
    assert counter.journal.figures().depth == 0 and not counter.journal.list()


def test_a_combined_loan_for_someone_the_fund_cannot_lend_to_carries_the_centers_reason(counter):
    frozen = "330802198309121281"                            # 刘芳: account frozen (seeded)
    req = CombinedRequest(id_number=frozen, house_price_fen=300_000_000, need_fen=200_000_000, months=240)
    with pytest.raises(StaffError) as e:
        combined_loan.quote(counter.client, req, counter.mode.limits)
    assert e.value.code.startswith("LOAN_") and e.value.message_zh
    assert frozen not in e.value.detail


def test_a_session_past_the_centers_token_lifetime_must_sign_in_again(counter):
    counter.mode.sign_in(*TELLER)
    counter.mode.session.expires_at = "2020-01-01T00:00:00+00:00"
    with pytest.raises(StaffError) as e:
        counter.mode.submit("evaluation", {"score": 5})
    assert e.value.code == "TELLER_SESSION_EXPIRED" and not counter.mode.view()["signed_in"]


def _with_teller(settings, **kw):
    return settings.model_copy(update={"teller": settings.teller.model_copy(update=kw)})


def test_the_limits_sensitive_items_and_idle_time_come_from_the_teller_settings(counter):
    from kiosk.staff.teller import TellerMode
    from config import load_settings
    env = dict(counter.env, HPF_KIOSK__TELLER__SUPERVISOR_OVER_FEN="100000", HPF_KIOSK__TELLER__IDLE_SIGNOUT_S="60")
    settings = load_settings(profile="bank-teller", env=env)
    settings = _with_teller(settings, sensitive_items=["withdrawal", "phone_change"])
    mode = TellerMode(settings, counter.client, counter.journal, counter.audit, clock=counter.clock)
    assert mode.limits.supervisor_over_fen == 100_000 and mode.idle_s == 60
    assert mode.authorization_needed("deposit", 100_000) == ""
    assert "主管授权" in mode.authorization_needed("deposit", 100_001)
    assert mode.authorization_needed("withdrawal", 1) == "敏感业务须主管授权"
    assert mode.authorization_needed("loan_prepayment", 1) == ""          # no longer sensitive at this branch
    with pytest.raises(Exception):
        load_settings(profile="bank-teller", env=dict(counter.env, HPF_KIOSK__TELLER__IDLE_SIGNOUT_S="5"))


def test_the_desk_stamp_names_the_teller_and_uses_a_supervisors_approval_once(counter):
    from kiosk.flows.ports import PortError
    mode = counter.mode
    mode.limits = replace(TellerLimits(), supervisor_over_fen=100_000)
    with pytest.raises(PortError) as e:
        mode.stamp("query", "evaluation", None)                            # nobody signed in: nothing goes out
    assert e.value.code == "TELLER_NOT_SIGNED_IN"
    mode.sign_in(*TELLER)
    assert mode.stamp("evaluation", "evaluation", None) == {"teller_id": "T0001", "branch": "QZ-B001",
                                                             "terminal_id": counter.settings.terminal.id}
    with pytest.raises(PortError) as e:
        mode.stamp("withdrawal", "withdrawal", 100_001)
    assert e.value.code == "SUPERVISOR_REQUIRED" and "主管" in e.value.message_zh
    mode.approve_next(mode.authorize(*SUPERVISOR, kind="withdrawal", amount_fen=90_000_00))
    with pytest.raises(PortError) as e:                                    # approved for another amount
        mode.stamp("withdrawal", "withdrawal", 100_001)
    assert e.value.code == "SUPERVISOR_APPROVAL_MISMATCH"
    mode.approve_next(mode.authorize(*SUPERVISOR, kind="withdrawal", amount_fen=100_001))
    staff = mode.stamp("withdrawal", "withdrawal", 100_001)
    assert staff["supervisor_id"] == "S0001" and staff["teller_id"] == "T0001" and staff["branch"] == "QZ-B001"
    with pytest.raises(PortError) as e:                                    # the approval was for that one action
        mode.stamp("withdrawal", "withdrawal", 100_001)
    assert e.value.code == "SUPERVISOR_REQUIRED"
    rows = [(a, act, t, r, d) for a, act, t, r, d in
            [(r.actor, r.action, r.target, r.result, r.details) for r in counter.audit.tail(1000)]
            if act == "teller.transaction"]
    assert ("teller:-", "teller.transaction", "item:query", "refused:TELLER_NOT_SIGNED_IN") in [x[:4] for x in rows]
    ok = [d for _a, _act, t, r, d in rows if t == "item:withdrawal" and r == "submitted"]
    assert len(ok) == 1 and ok[0]["supervisor_id"] == "S0001" and ok[0]["amount_fen"] == 100_001
    assert mode.pending is None
