"""The fund's items through HTTP against a real center, on SQLite and PostgreSQL: withdrawals by reason,
flexible employment, loans (limit, trial, schedule, prepayment), transfer-in, certificates, phone change.
Demo persons: center/README.md."""
import pytest
import requests

from tests.center.conftest import tx

ZHANG = "330802198503151230"    # normal, no loan, no home
LI = "330802197807201247"       # loan being repaid
WANG = "330802197011021259"     # loan paid off
ZHAO = "330802198805091261"     # loan overdue
CHEN = "330802199201301277"     # sealed 8 months
LIU = "330802198309121281"      # frozen
SUN = "33080219601001129X"      # past retirement age
ZHOU = "330802199506181309"     # no account
WU = "330802199002141311"       # transfer-in in progress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kiosk(any_center):
    return any_center.client("KIOSK-BIZ1")


def send(kiosk, kind, payload):
    item = tx(kind, payload)
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    return r.status_code, r.json()


def balance(kiosk, id_number):
    return kiosk.get(f"/v1/persons/{id_number}").json()["account"]["balance_fen"]


def test_the_overview_shows_masked_identity_and_the_account_in_national_codes(kiosk):
    r = kiosk.get(f"/v1/persons/{ZHANG}")
    assert r.status_code == 200
    body = r.json()
    assert body["id_masked"] == "330802********1230" and body["name_masked"].startswith("张")
    assert ZHANG not in r.text and "13805700001" not in r.text
    acct = body["account"]
    assert acct["state"] == "01" and acct["state_zh"] == "正常"
    assert isinstance(acct["balance_fen"], int) and acct["balance_fen"] > 0
    assert acct["continuous_months"] == 48 and len(acct["paid_up_to"]) == 6


def test_an_unknown_person_gets_a_plain_404(kiosk):
    r = kiosk.get("/v1/persons/11010519491231002X")
    assert r.status_code == 404 and r.json()["code"] == "PERSON_NOT_FOUND"


def test_deposit_details_are_paged_by_year(kiosk):
    import datetime
    year = datetime.date.today().year - 1
    p1 = kiosk.get(f"/v1/persons/{ZHANG}/deposits?year={year}&page=1&page_size=5").json()
    p2 = kiosk.get(f"/v1/persons/{ZHANG}/deposits?year={year}&page=2&page_size=5").json()
    assert p1["total"] >= 12 and len(p1["items"]) == 5 and len(p2["items"]) == 5
    assert not {i["serial"] for i in p1["items"]} & {i["serial"] for i in p2["items"]}
    assert all(i["date"].startswith(str(year)) for i in p1["items"] + p2["items"])
    assert kiosk.get(f"/v1/persons/{ZHANG}/deposits?year=1800").status_code == 422


def test_rent_withdrawal_is_paid_within_the_city_cap_and_the_balance_drops(kiosk):
    elig = kiosk.post("/v1/withdrawals/eligibility",
                      {"id_number": ZHANG, "reason": "07", "evidence": {"monthly_rent_fen": 300000}}).json()
    assert elig["allowed"] is True and elig["max_amount_fen"] == 200000      # Quzhou 2,000 yuan/month cap
    before = balance(kiosk, ZHANG)
    status, res = send(kiosk, "withdrawal", {"id_number": ZHANG, "reason": "07", "amount_fen": 200000,
                                             "evidence": {"monthly_rent_fen": 300000}})
    assert status == 200 and res["outcome"] == "accepted"
    assert res["result"]["amount_fen"] == 200000 and res["result"]["business_type"] == "11"
    assert balance(kiosk, ZHANG) == before - 200000
    # next month only: a second rent withdrawal now is refused with the rule's code
    status, res = send(kiosk, "withdrawal", {"id_number": ZHANG, "reason": "07", "amount_fen": 100000,
                                             "evidence": {"monthly_rent_fen": 300000}})
    assert status == 422 and res["outcome"] == "rejected" and res["code"].startswith("WD_")
    assert balance(kiosk, ZHANG) == before - 200000
    # progress query finds the first one by its serial
    assert kiosk.get("/v1/progress/" + "TQ00000000").status_code == 404


def test_a_frozen_account_cannot_withdraw(kiosk):
    status, res = send(kiosk, "withdrawal", {"id_number": LIU, "reason": "07", "amount_fen": 100000,
                                             "evidence": {"monthly_rent_fen": 150000}})
    assert status == 422 and res["code"] == "WD_ACCOUNT_FROZEN" and "冻结" in res["message"]


def test_a_borrower_may_only_withdraw_to_repay_the_loan(kiosk):
    status, res = send(kiosk, "withdrawal", {"id_number": LI, "reason": "07", "amount_fen": 100000,
                                             "evidence": {"monthly_rent_fen": 150000}})
    assert status == 422 and res["code"] == "WD_LOAN_OUTSTANDING"
    elig = kiosk.post("/v1/withdrawals/eligibility", {"id_number": LI, "reason": "06"}).json()
    assert elig["allowed"] is True and elig["max_amount_fen"] > 0
    status, res = send(kiosk, "withdrawal", {"id_number": LI, "reason": "06", "amount_fen": elig["max_amount_fen"]})
    assert status == 200 and res["outcome"] == "accepted"


def test_retirement_withdrawal_pays_the_whole_balance_and_closes_the_account(kiosk):
    before = balance(kiosk, SUN)
    status, res = send(kiosk, "withdrawal", {"id_number": SUN, "reason": "03"})
    assert status == 200 and res["result"]["closes_account"] is True
    assert res["result"]["amount_fen"] == before and res["result"]["business_type"] == "12"
    acct = kiosk.get(f"/v1/persons/{SUN}").json()["account"]
    assert acct["balance_fen"] == 0 and acct["state"] == "05"
    status, res = send(kiosk, "withdrawal", {"id_number": SUN, "reason": "03"})
    assert status == 422


def test_a_young_worker_cannot_take_the_retirement_route(kiosk):
    status, res = send(kiosk, "withdrawal", {"id_number": ZHANG, "reason": "03"})
    assert status == 422 and res["outcome"] == "rejected" and res["message"]


def test_flexible_worker_opens_an_account_signs_and_deposits_two_months(kiosk):
    status, res = send(kiosk, "flexible_open", {"id_number": ZHOU, "base_fen": 500000, "ratio": "0.12",
                                                "debit_card": "6217000010000000006"})
    assert status == 200, res
    assert res["result"]["monthly_amount_fen"] == 60000                         # 5,000 × 12 %
    status, res = send(kiosk, "flexible_open", {"id_number": ZHOU, "base_fen": 500000, "ratio": "0.12",
                                                "debit_card": "6217000010000000006"})
    assert status == 422 and res["code"] == "FLEX_ACCOUNT_EXISTS"
    status, res = send(kiosk, "deposit", {"id_number": ZHOU, "months": 2, "amount_fen": 100000})
    assert status == 422 and res["code"] == "DEPOSIT_AMOUNT_MISMATCH"
    status, res = send(kiosk, "deposit", {"id_number": ZHOU, "months": 2, "amount_fen": 120000})
    assert status == 200 and res["result"]["balance_after_fen"] == 120000
    status, res = send(kiosk, "flexible_sign", {"id_number": ZHOU, "base_fen": 600000, "ratio_bp": 1000,
                                                "debit_card": "6217000010000000006"})
    assert status == 200 and res["result"]["monthly_amount_fen"] == 60000
    acct = kiosk.get(f"/v1/persons/{ZHOU}").json()["account"]
    assert acct["flexible"] is True and acct["flexible_agreement"]["base_fen"] == 600000


def test_flexible_opening_outside_the_city_ranges_is_refused(kiosk):
    status, res = send(kiosk, "flexible_open", {"id_number": "330802200001011334", "name": "钱多多",
                                                "base_fen": 500000, "ratio": "0.50",
                                                "debit_card": "6217000010000000006"})
    assert status == 422 and res["code"] == "FLEX_RATIO_RANGE"
    status, res = send(kiosk, "flexible_open", {"id_number": ZHANG, "base_fen": 500000, "ratio": "0.12",
                                                "debit_card": "6217000010000000006"})
    assert status == 422 and res["code"] == "FLEX_ACCOUNT_EXISTS"


def test_loan_limit_trial_and_pre_application(kiosk):
    lim = kiosk.post("/v1/loans/limit", {"id_number": ZHANG, "house_price_fen": 100_000_000, "months": 240}).json()
    assert lim["allowed"] is True
    assert 0 < lim["max_amount_fen"] <= 50_000_000 and lim["max_amount_fen"] % 100_000 == 0
    assert lim["max_amount_fen"] == min(lim["limits_fen"].values()) // 100_000 * 100_000
    too_long = kiosk.post("/v1/loans/limit", {"id_number": ZHANG, "house_price_fen": 100_000_000,
                                              "months": 360}).json()
    assert too_long["allowed"] is False and too_long["code"] == "LOAN_TERM_TOO_LONG"
    trial = kiosk.post("/v1/loans/trial", {"amount_fen": 100_000_000, "months": 360, "annual_rate": "0.026"}).json()
    assert trial["first_payment_fen"] == 400_340 and len(trial["installments"]) == 360   # 4,003.40 / month
    status, res = send(kiosk, "loan_preapply", {"id_number": ZHANG, "house_price_fen": 100_000_000, "months": 240,
                                                "amount_fen": lim["max_amount_fen"]})
    assert status == 200 and res["result"]["serial"].startswith("DK")
    prog = kiosk.get(f"/v1/progress/{res['result']['serial']}").json()
    assert prog["kind"] == "loan_preapply"
    status, res = send(kiosk, "loan_preapply", {"id_number": ZHAO, "house_price_fen": 100_000_000, "months": 120,
                                                "amount_fen": 10_000_000})
    assert status == 422 and res["outcome"] == "rejected"


def test_a_borrower_sees_the_schedule_and_prepays_part_of_the_loan(kiosk):
    loan = kiosk.get(f"/v1/persons/{LI}/loans").json()["loans"][0]
    sched = kiosk.get(f"/v1/persons/{LI}/loans/{loan['contract_no']}/schedule").json()
    assert len(sched["installments"]) == loan["months"]
    assert {i["state"] for i in sched["installments"]} == {"paid", "due"}
    status, res = send(kiosk, "loan_prepayment", {"id_number": LI, "contract_no": loan["contract_no"],
                                                  "amount_fen": 5_000_000, "mode": "reduce"})
    assert status == 200 and res["result"]["balance_after_fen"] == loan["balance_fen"] - 5_000_000
    after = kiosk.get(f"/v1/persons/{LI}/loans/{loan['contract_no']}/schedule").json()
    due = [i for i in after["installments"] if i["state"] == "due"]
    assert due[0]["payment_fen"] < [i for i in sched["installments"] if i["state"] == "due"][0]["payment_fen"]
    # someone else's loan number is not found
    assert kiosk.get(f"/v1/persons/{ZHANG}/loans/{loan['contract_no']}/schedule").status_code == 404


def test_an_overdue_loan_cannot_be_prepaid(kiosk):
    loan = kiosk.get(f"/v1/persons/{ZHAO}/loans").json()["loans"][0]
    assert loan["state"] == "overdue" and loan["overdue_periods"] > 0
    status, res = send(kiosk, "loan_prepayment", {"id_number": ZHAO, "contract_no": loan["contract_no"],
                                                  "amount_fen": 1_000_000, "mode": "shorten"})
    assert status == 422 and res["code"] == "LOAN_IN_ARREARS"


def test_transfer_in_gets_a_contact_letter_number_and_a_second_one_waits(kiosk):
    assert kiosk.get(f"/v1/persons/{WU}/transfers").json()["transfers"][0]["status"] == "2"
    status, res = send(kiosk, "transfer_in", {"id_number": WU, "from_center": "C33010"})
    assert status == 422 and res["code"] == "TRANSFER_IN_PROGRESS"
    status, res = send(kiosk, "transfer_in", {"id_number": CHEN, "from_center": "C33010",
                                              "from_center_name": "杭州住房公积金管理中心"})
    assert status == 200
    letter = res["result"]["letter_no"]
    assert letter.startswith("C33080") and len(letter) == 16
    assert kiosk.get(f"/v1/progress/{letter}").json()["state_zh"] == "处理中"
    status, res = send(kiosk, "transfer_in", {"id_number": ZHANG, "from_center": "bad"})
    assert status == 422


def test_a_payoff_certificate_is_issued_verified_and_a_tampered_copy_fails(any_center, kiosk):
    loan = kiosk.get(f"/v1/persons/{WANG}/loans").json()["loans"][0]
    r = kiosk.post("/v1/certificates", {"id_number": WANG, "kind": "payoff", "contract_no": loan["contract_no"]},
                   idempotency_key="cert-wang-1")
    assert r.status_code == 200
    cert = r.json()
    assert cert["content"]["contract_no"] == loan["contract_no"] and WANG not in r.text
    again = kiosk.post("/v1/certificates", {"id_number": WANG, "kind": "payoff", "contract_no": loan["contract_no"]},
                       idempotency_key="cert-wang-1")
    assert again.json()["serial"] == cert["serial"] and again.headers.get("Idempotent-Replayed") == "true"
    # anyone can check the printed code, without a terminal signature
    ok = requests.get(f"{any_center.url}/v1/certificates/verify/{cert['verification_code']}", timeout=30).json()
    assert ok["valid"] is True and ok["serial"] == cert["serial"]
    presented = requests.post(f"{any_center.url}/v1/certificates/verify",
                              json={"content": cert["content"], "signature": cert["signature"]}, timeout=30).json()
    assert presented["valid"] is True
    forged = dict(cert["content"], amount_fen=cert["content"]["amount_fen"] + 1)
    bad = requests.post(f"{any_center.url}/v1/certificates/verify",
                        json={"content": forged, "signature": cert["signature"]}, timeout=30).json()
    assert bad["valid"] is False and bad["code"] == "CERT_TAMPERED"
    unknown = requests.get(f"{any_center.url}/v1/certificates/verify/AAAA-BBBB-CCCC", timeout=30).json()
    assert unknown["valid"] is False and unknown["code"] == "CERT_NOT_FOUND"


def test_a_certificate_altered_in_the_database_no_longer_verifies(any_center, kiosk):
    from sqlalchemy import update

    from center.db import make_engine
    from center.models import Certificate
    r = kiosk.post("/v1/certificates", {"id_number": ZHANG, "kind": "deposit_use"}, idempotency_key="cert-zhang-1")
    assert r.status_code == 200 and r.json()["content"]["type"] == "deposit_use"
    cert = r.json()
    eng = make_engine(any_center.db_url)
    with eng.begin() as c:
        c.execute(update(Certificate).where(Certificate.serial == cert["serial"])
                  .values(payload=dict(cert["content"], balance_fen=999_999_999)))
    eng.dispose()
    res = requests.get(f"{any_center.url}/v1/certificates/verify/{cert['verification_code']}", timeout=30).json()
    assert res["valid"] is False and res["code"] == "CERT_TAMPERED"


def test_payoff_certificate_for_a_loan_still_running_is_refused(kiosk):
    loan = kiosk.get(f"/v1/persons/{LI}/loans").json()["loans"][0]
    r = kiosk.post("/v1/certificates", {"id_number": LI, "kind": "payoff", "contract_no": loan["contract_no"]},
                   idempotency_key="cert-li-1")
    assert r.status_code == 422 and r.json()["code"] == "LOAN_NOT_PAID_OFF"


def test_phone_change_needs_the_new_number_verified_by_sms(any_center, kiosk):
    new_phone = "13905700099"
    status, res = send(kiosk, "phone_change", {"id_number": CHEN, "new_phone": new_phone})
    assert status == 422 and res["code"] == "SMS_NOT_VERIFIED"
    r = kiosk.post("/v1/identity/sms/send", {"id_number": CHEN, "purpose": "phone_change", "phone": new_phone},
                   idempotency_key="sms-chen-1")
    assert r.status_code == 200
    outbox = requests.get(f"{any_center.url}/v1/sandbox/sms?phone={new_phone}", timeout=30).json()
    code = outbox[0]["text"].split("验证码")[1][:6]
    assert kiosk.post("/v1/identity/sms/verify", {"id_number": CHEN, "purpose": "phone_change", "phone": new_phone,
                                                  "code": code}, idempotency_key="sms-chen-v1").status_code == 200
    status, res = send(kiosk, "phone_change", {"id_number": CHEN, "new_phone": new_phone})
    assert status == 200 and res["result"]["phone_masked"] == "139****0099"
    assert kiosk.get(f"/v1/persons/{CHEN}").json()["phone_masked"] == "139****0099"
    # the proof is used up
    status, res = send(kiosk, "phone_change", {"id_number": CHEN, "new_phone": new_phone})
    assert status == 422 and res["code"] == "SMS_NOT_VERIFIED"


def test_progress_by_the_client_id_a_receipt_printed_offline_carries(kiosk):
    """Offline, the kiosk's receipt names the transaction by its client id; once delivered, the progress query
    by that id finds the case it became (or its refusal); before delivery it says it has not arrived yet."""
    import uuid
    unseen = str(uuid.uuid4())
    r = kiosk.get(f"/v1/progress/{unseen}")
    assert r.status_code == 404 and r.json()["code"] == "SERIAL_NOT_RECEIVED" and "终端" in r.json()["message"]
    item = tx("transfer_in", {"id_number": LI, "from_center": "C33020"})
    r = kiosk.post("/v1/transactions", item, idempotency_key=item["client_id"])
    assert r.status_code == 200, r.json()
    letter = r.json()["result"]["letter_no"]
    prog = kiosk.get(f"/v1/progress/{item['client_id'].upper()}").json()
    assert prog["serial"] == letter and prog["kind"] == "transfer_in" and prog["state_zh"] == "处理中"
    refused = tx("withdrawal", {"id_number": LIU, "reason": "07", "amount_fen": 50_000,
                                "evidence": {"monthly_rent_fen": 200_000, "rent_months": 3}})
    assert kiosk.post("/v1/transactions", refused, idempotency_key=refused["client_id"]).status_code == 422
    prog = kiosk.get(f"/v1/progress/{refused['client_id']}").json()
    assert prog["state"] == "rejected" and prog["state_zh"].startswith("未受理：") and len(prog["state_zh"]) > 4
