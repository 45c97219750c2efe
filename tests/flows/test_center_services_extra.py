"""The center additions for the resident services (center/api/services_extra.py), straight over HTTP:
signed, idempotent, refusals with a code and plain Chinese, never a 5xx on bad input."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from center.testing import SignedClient
from tests.flows.flowhelpers import LI, WANG, ZHANG
from kiosk.flows.services.account_services import password_digest


@pytest.fixture
def signed(center):
    return SignedClient(center.url, "KIOSK-EXTRA", center.enroll("KIOSK-EXTRA"))


def tx(signed, kind, payload, cid=None):
    cid = cid or str(uuid.uuid4())
    body = {"client_id": cid, "kind": kind, "created_at": datetime.now(timezone.utc).isoformat(), "payload": payload}
    return signed.post("/v1/transactions", body, idempotency_key=cid), body


def test_query_password_kind_is_idempotent_and_verifiable_and_locks_after_five_wrong_tries(signed):
    r, body = tx(signed, "query_password", {"id_number": ZHANG[1], "digest": password_digest(ZHANG[1], "480937")})
    assert r.status_code == 200 and r.json()["result"] == {"changed": False, "set": True}
    again = signed.post("/v1/transactions", body, idempotency_key=body["client_id"])
    assert again.json()["replayed"] is True and again.json()["result"]["changed"] is False
    wrong = password_digest(ZHANG[1], "111222")
    for left in (4, 3, 2, 1):
        v = signed.post("/v1/identity/query-password/verify", {"id_number": ZHANG[1], "digest": wrong},
                        idempotency_key=uuid.uuid4().hex)
        assert v.status_code == 200 and v.json() == {"verified": False, "attempts_left": left}
    signed.post("/v1/identity/query-password/verify", {"id_number": ZHANG[1], "digest": wrong},
                idempotency_key=uuid.uuid4().hex)
    locked = signed.post("/v1/identity/query-password/verify",
                         {"id_number": ZHANG[1], "digest": password_digest(ZHANG[1], "480937")},
                         idempotency_key=uuid.uuid4().hex)
    assert locked.status_code == 422 and locked.json()["code"] == "PASSWORD_LOCKED" and locked.json()["message"]


def test_verify_without_a_password_set_says_so(signed):
    v = signed.post("/v1/identity/query-password/verify", {"id_number": LI[1], "digest": "0" * 64},
                    idempotency_key=uuid.uuid4().hex)
    assert v.status_code == 422 and v.json()["code"] == "PASSWORD_NOT_SET"


@pytest.mark.parametrize("payload", [
    {}, {"id_number": ZHANG[1]}, {"id_number": ZHANG[1], "digest": "ZZ"}, {"id_number": ZHANG[1], "digest": None},
    {"id_number": "not-an-id", "digest": "0" * 64}, {"id_number": ["x"], "digest": 5},
])
def test_bad_query_password_payloads_are_refused_plainly(signed, payload):
    r, _ = tx(signed, "query_password", payload)
    assert r.status_code == 422 and r.json()["outcome"] == "rejected" and r.json()["message"]


@pytest.mark.parametrize("payload,code", [
    ({"id_number": LI[1], "contract_no": "NOPE", "bank_card": "6222021234567890128"}, "LOAN_NOT_FOUND"),
    ({"id_number": LI[1], "contract_no": None, "bank_card": None}, "LOAN_NOT_FOUND"),
    ({"id_number": ZHANG[1], "contract_no": "JK1", "bank_card": "abc"}, "LOAN_NOT_FOUND"),
])
def test_bad_repayment_account_payloads_are_refused_plainly(signed, payload, code):
    r, _ = tx(signed, "loan_repayment_account", payload)
    assert r.status_code == 422 and r.json()["code"] == code and r.json()["message"]


def test_repayment_account_change_rules(signed):
    loans = signed.get(f"/v1/persons/{LI[1]}/loans").json()["loans"]
    contract = loans[0]["contract_no"]
    bad, _ = tx(signed, "loan_repayment_account", {"id_number": LI[1], "contract_no": contract, "bank_card": "12ab"})
    assert bad.json()["code"].startswith("CARD_")
    ok, _ = tx(signed, "loan_repayment_account", {"id_number": LI[1], "contract_no": contract,
                                                  "bank_card": "6222021234567890128"})
    assert ok.status_code == 200 and ok.json()["result"]["bank_card_masked"].endswith("0128")
    same, _ = tx(signed, "loan_repayment_account", {"id_number": LI[1], "contract_no": contract,
                                                    "bank_card": "6222021234567890128"})
    assert same.json()["code"] == "REPAYMENT_ACCOUNT_SAME"
    paid = signed.get(f"/v1/persons/{WANG[1]}/loans").json()["loans"][0]["contract_no"]
    done, _ = tx(signed, "loan_repayment_account", {"id_number": WANG[1], "contract_no": paid,
                                                    "bank_card": "6222021234567890128"})
    assert done.json()["code"] == "LOAN_PAID_OFF"


def test_the_verify_endpoint_is_signed_and_validated(center, signed):
    import requests
    unsigned = requests.post(center.url + "/v1/identity/query-password/verify",
                             json={"id_number": ZHANG[1], "digest": "0" * 64}, timeout=10)
    assert unsigned.status_code == 401
    junk = signed.post("/v1/identity/query-password/verify", {"id_number": 5, "digest": "x"},
                       idempotency_key=uuid.uuid4().hex)
    assert junk.status_code == 422 and junk.json()["code"] == "VALIDATION_FAILED"
    nobody = signed.post("/v1/identity/query-password/verify", {"id_number": "110105194912310029", "digest": "0" * 64},
                         idempotency_key=uuid.uuid4().hex)
    assert nobody.status_code in (404, 422) and nobody.json()["message"]
