"""A technician enrolls a terminal with a one-time code; afterwards only correctly signed, fresh, unique
requests from enrolled, enabled terminals get through — each failure with its own code."""
import time

import requests

from center.testing import SignedClient
from sync import protocol as P


def _enroll(center, terminal_id, code):
    return requests.post(center.url + "/v1/terminals/enroll", json={"terminal_id": terminal_id, "code": code},
                         timeout=30)


def test_the_enrollment_code_gives_the_secret_once_and_then_never_again(center_process):
    code = center_process.enroll_code("KIOSK-ENROLL")
    first = _enroll(center_process, "KIOSK-ENROLL", code)
    assert first.status_code == 200
    secret = bytes.fromhex(first.json()["secret_hex"])
    assert len(secret) == 32
    second = _enroll(center_process, "KIOSK-ENROLL", code)
    assert second.status_code == 401 and second.json()["code"] == "ENROLL_CODE_INVALID"
    assert "登记码" in second.json()["message"]
    # the secret from the first answer works
    assert SignedClient(center_process.url, "KIOSK-ENROLL", secret).get("/v1/catalog").status_code == 200


def test_a_wrong_enrollment_code_is_refused_and_the_right_one_still_works(center_process):
    code = center_process.enroll_code("KIOSK-TYPO")
    wrong = _enroll(center_process, "KIOSK-TYPO", "AAAA-BBBB-CCCC")
    assert wrong.status_code == 401 and wrong.json()["code"] == "ENROLL_CODE_INVALID"
    # codes are read aloud: case and dashes do not matter
    assert _enroll(center_process, "KIOSK-TYPO", code.lower().replace("-", "")).status_code == 200


def test_a_code_for_one_terminal_does_not_enroll_another(center_process):
    code = center_process.enroll_code("KIOSK-A1")
    assert _enroll(center_process, "KIOSK-B1", code).status_code == 401


def test_every_signature_failure_is_refused_with_its_own_code(center_process):
    secret = center_process.enroll("KIOSK-SIG")
    good = SignedClient(center_process.url, "KIOSK-SIG", secret)
    assert good.get("/v1/catalog").status_code == 200

    def code_of(resp):
        return resp.status_code, resp.json()["code"]

    # no signing headers at all
    assert code_of(requests.get(center_process.url + "/v1/catalog", timeout=30)) == (401, "AUTH_MISSING_HEADERS")
    # clock more than 300 s off, either way
    assert code_of(good.get("/v1/catalog", now=time.time() - 301)) == (401, "AUTH_CLOCK_SKEW")
    assert code_of(good.get("/v1/catalog", now=time.time() + 400)) == (401, "AUTH_CLOCK_SKEW")
    # the same nonce twice
    assert good.get("/v1/catalog", nonce="ab" * 16).status_code == 200
    assert code_of(good.get("/v1/catalog", nonce="ab" * 16)) == (401, "AUTH_NONCE_REPLAYED")
    # signed with another key
    assert code_of(SignedClient(center_process.url, "KIOSK-SIG", b"x" * 32).get("/v1/catalog")) == \
        (401, "AUTH_BAD_SIGNATURE")
    # body changed after signing
    h = P.signed_headers("KIOSK-SIG", secret, "POST", "/v1/heartbeat", b'{"a":1}')
    h.update({"Content-Type": "application/json", "Idempotency-Key": "k-tamper"})
    r = requests.post(center_process.url + "/v1/heartbeat", data=b'{"a":2}', headers=h, timeout=30)
    assert code_of(r) == (401, "AUTH_BAD_SIGNATURE")
    # query string is part of what is signed
    h = P.signed_headers("KIOSK-SIG", secret, "GET", "/v1/transactions/reconcile?date=2026-01-01", b"")
    r = requests.get(center_process.url + "/v1/transactions/reconcile?date=2026-01-02", headers=h, timeout=30)
    assert code_of(r) == (401, "AUTH_BAD_SIGNATURE")
    # a terminal the center never enrolled
    assert code_of(SignedClient(center_process.url, "KIOSK-GHOST", secret).get("/v1/catalog")) == \
        (401, "AUTH_UNKNOWN_TERMINAL")
    # a disabled terminal
    assert center_process.admin("POST", "/v1/admin/terminals/KIOSK-SIG/disable").status_code == 200
    status, code = code_of(good.get("/v1/catalog"))
    assert (status, code) == (403, "AUTH_TERMINAL_DISABLED")


def test_every_refusal_has_a_chinese_message_and_an_english_detail(center_process):
    r = requests.get(center_process.url + "/v1/catalog", timeout=30)
    body = r.json()
    assert set(body) == {"code", "message", "detail"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    assert body["detail"].isascii() and body["detail"]


def test_re_enrolling_a_terminal_replaces_its_secret(center_process):
    old = center_process.enroll("KIOSK-REPLACE")
    new = center_process.enroll("KIOSK-REPLACE")
    assert old != new
    assert SignedClient(center_process.url, "KIOSK-REPLACE", old).get("/v1/catalog").json()["code"] == \
        "AUTH_BAD_SIGNATURE"
    assert SignedClient(center_process.url, "KIOSK-REPLACE", new).get("/v1/catalog").status_code == 200


def test_a_teller_logs_in_and_is_locked_for_15_minutes_after_five_wrong_passwords(center_process):
    c = center_process.client("BANK-0001")
    ok = c.post("/v1/tellers/login", {"teller_id": "T0001", "password": "teller-pass-1"})
    assert ok.status_code == 200 and ok.json()["role"] == "teller"
    token = ok.json()["token"]
    teller_client = SignedClient(center_process.url, "BANK-0001", c.secret, teller_token=token)
    assert teller_client.get("/v1/catalog").status_code == 200
    bad_token = SignedClient(center_process.url, "BANK-0001", c.secret, teller_token="forged")
    assert bad_token.get("/v1/catalog").json()["code"] == "TELLER_TOKEN_INVALID"

    for _ in range(5):
        r = c.post("/v1/tellers/login", {"teller_id": "S0001", "password": "wrong"})
        assert r.status_code == 401 and r.json()["code"] == "TELLER_LOGIN_FAILED"
    locked = c.post("/v1/tellers/login", {"teller_id": "S0001", "password": "super-pass-1"})
    assert locked.status_code == 403 and locked.json()["code"] == "TELLER_LOCKED"
    assert "15分钟" in locked.json()["message"] or "分钟" in locked.json()["message"]


def test_an_unknown_teller_gets_the_same_answer_as_a_wrong_password(center_process):
    c = center_process.client("BANK-0002")
    r = c.post("/v1/tellers/login", {"teller_id": "NOBODY", "password": "x"})
    assert r.status_code == 401 and r.json()["code"] == "TELLER_LOGIN_FAILED"


def test_a_teller_transaction_is_attributed_to_the_logged_in_teller_only(center_process):
    from tests.center.conftest import tx
    c = center_process.client("BANK-0003", channel="bank_counter")
    token = c.post("/v1/tellers/login", {"teller_id": "T0001", "password": "teller-pass-1"}).json()["token"]
    teller = SignedClient(center_process.url, "BANK-0003", c.secret, teller_token=token)
    own, other = tx("evaluation", {"score": 5}, teller_id="T0001"), tx("evaluation", {"score": 5}, teller_id="S0001")
    assert teller.post("/v1/transactions", own, idempotency_key=own["client_id"]).json()["outcome"] == "accepted"
    r = teller.post("/v1/transactions", other, idempotency_key=other["client_id"])
    assert r.status_code == 422 and r.json()["code"] == "TELLER_MISMATCH"


def test_an_oversized_body_is_refused_before_anything_reads_it(center_process):
    r = requests.post(center_process.url + "/v1/terminals/logs", data=b"x" * (26 * 1024 * 1024),
                      headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status_code == 413 and r.json()["code"] == "BODY_TOO_LARGE"


def test_a_body_that_is_not_json_is_a_plain_validation_refusal(center_process):
    c = center_process.client("KIOSK-BADJSON")
    r = c.post("/v1/transactions", raw=b"{not json", idempotency_key="k-bad-json")
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED" and r.json()["message"]
