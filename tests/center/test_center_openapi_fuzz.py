"""schemathesis drives every operation of the live OpenAPI document with generated (signed) requests and a
bounded number of examples: whatever it sends, the center answers without a 5xx."""
import secrets

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from center.testing import run_center
from sync import protocol as P

pytestmark = pytest.mark.slow


class SignAsTerminal(requests.auth.AuthBase):
    """Signs the final prepared request (exact path, query and body bytes) as an enrolled terminal."""

    def __init__(self, terminal_id: str, secret: bytes, operator_token: str):
        self.terminal_id, self.secret, self.operator_token = terminal_id, secret, operator_token

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        r.headers.update(P.signed_headers(self.terminal_id, self.secret, r.method, r.path_url, body))
        r.headers.setdefault(P.HEADER_IDEMPOTENCY, secrets.token_hex(16))
        r.headers.setdefault("Authorization", f"Bearer {self.operator_token}")
        return r


@pytest.fixture(scope="module")
def fuzz_center(tmp_path_factory):
    c = run_center(tmp_path_factory.mktemp("center-fuzz"), seed=5)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def signed_session(fuzz_center):
    s = requests.Session()
    s.auth = SignAsTerminal("KIOSK-FUZZ", fuzz_center.enroll("KIOSK-FUZZ"), fuzz_center.operator_token)
    return s


def test_no_generated_request_makes_the_center_fail(fuzz_center, signed_session):
    """Every operation, positive and negative generation, 6 examples each (bounded, derandomized)."""
    from hypothesis import given
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(fuzz_center.url + "/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 25
    failures, calls = [], [0]
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=6, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                calls[0] += 1
                try:
                    response = case.call(base_url=fuzz_center.url, session=signed_session, timeout=30)
                except requests.RequestException as e:
                    failures.append(f"{case.method} {case.formatted_path}: no answer: {e}")
                    return
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{response.text[:300]}")
                ctype = response.headers.get("content-type") or [""]
                ctype = ctype[0] if isinstance(ctype, list) else ctype
                if 400 <= response.status_code < 500 and ctype.startswith("application/json"):
                    body = response.json()
                    if isinstance(body, dict) and "outcome" not in body and \
                            not {"code", "message", "detail"} <= set(body):
                        failures.append(f"{case.method} {case.formatted_path}: error body is not ErrorBody: {body}")
            try:
                run()
            except Exception as e:  # noqa: BLE001 - generation problems are reported, not hidden
                if "Unsatisfiable" not in type(e).__name__:
                    failures.append(f"{op.label} ({mode.value}): {type(e).__name__}: {str(e)[:300]}")
    assert not failures, "\n".join(failures[:20])
    assert calls[0] > 120
