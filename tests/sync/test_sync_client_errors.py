"""How the center client reads every kind of answer, and how the worker paces its retries.

A small loopback HTTP server plays a center (or a gateway in front of it) that answers with a given status."""
from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sync import protocol as P
from sync.client import (CenterAuthError, CenterBusy, CenterRefused, CenterUnavailable, HttpCenterClient,
                         TerminalCredentials)
from sync.protocol import ItemOutcome, TransactionIn
from sync.worker import Backoff, stagger_offset


class Scripted(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answers: list = []
    seen: list = []

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        status, headers, payload = type(self).answers.pop(0)
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *a):
        pass


@pytest.fixture
def fake():
    Scripted.answers, Scripted.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    client = HttpCenterClient(f"http://127.0.0.1:{server.server_address[1]}", TerminalCredentials("T-1", b"s" * 32),
                              connect_timeout_s=1, read_timeout_s=1)
    yield client
    client.close()
    server.shutdown()
    server.server_close()


ITEM = TransactionIn(client_id="0192aaaa-0000-7000-8000-000000000001", kind="evaluation",
                     created_at=datetime(2026, 11, 22, tzinfo=timezone.utc), payload={"score": 5})


def err(code, msg="中文说明"):
    return {"code": code, "message": msg, "detail": "english detail"}


@pytest.mark.parametrize("status,headers,body,kind,code", [
    (503, {}, b"<html>Service Unavailable</html>", CenterUnavailable, "HTTP_503"),
    (500, {}, err("INTERNAL_ERROR"), CenterUnavailable, "INTERNAL_ERROR"),
    (429, {"Retry-After": "7"}, err("RATE_LIMITED"), CenterUnavailable, "RATE_LIMITED"),
    (409, {"Retry-After": "1"}, err("IDEMPOTENCY_IN_FLIGHT"), CenterBusy, "IDEMPOTENCY_IN_FLIGHT"),
    (401, {}, err("AUTH_CLOCK_SKEW", "终端时间不准确，请联系管理员校准时间"), CenterAuthError, "AUTH_CLOCK_SKEW"),
    (403, {}, err("AUTH_TERMINAL_DISABLED"), CenterAuthError, "AUTH_TERMINAL_DISABLED"),
    (400, {}, err("BAD_REQUEST", "请求内容不正确"), CenterRefused, "BAD_REQUEST"),
    (200, {}, b"not json at all", CenterUnavailable, "CENTER_BAD_REPLY"),
])
def test_each_kind_of_center_answer_becomes_a_typed_error(fake, status, headers, body, kind, code):
    Scripted.answers.append((status, headers, body))
    with pytest.raises(kind) as exc:
        fake.upload_batch([ITEM])
    assert exc.value.code == code and exc.value.message_zh and exc.value.detail
    assert exc.value.retryable == issubclass(kind, CenterUnavailable)
    if "Retry-After" in headers:
        assert exc.value.retry_after_s == float(headers["Retry-After"])


def test_every_request_is_signed_and_carries_the_client_id_as_idempotency_key(fake):
    Scripted.answers.append((200, {}, {"client_id": ITEM.client_id, "outcome": "accepted", "http_status": 200}))
    assert fake.submit(ITEM).outcome == ItemOutcome.ACCEPTED
    method, path, headers, body = Scripted.seen[0]
    assert headers[P.HEADER_IDEMPOTENCY] == ITEM.client_id
    assert P.signature_matches(b"s" * 32, method, path, headers[P.HEADER_TIMESTAMP], headers[P.HEADER_NONCE], body,
                               headers[P.HEADER_SIGNATURE])


def test_a_refusal_of_a_single_transaction_is_a_result_not_an_exception(fake):
    Scripted.answers.append((422, {}, {"client_id": ITEM.client_id, "outcome": "rejected", "http_status": 422,
                                       "code": "WD_TOO_SOON", "message": "距上次提取不足12个月"}))
    Scripted.answers.append((422, {}, err("IDEMPOTENCY_KEY_REUSED", "该业务编号已用于其他内容，请重新办理")))
    first, second = fake.submit(ITEM), fake.submit(ITEM)
    assert (first.outcome, first.code) == (ItemOutcome.REJECTED, "WD_TOO_SOON")
    assert (second.outcome, second.code) == (ItemOutcome.REJECTED, "IDEMPOTENCY_KEY_REUSED")


def test_a_batch_reply_missing_an_item_makes_that_item_retry(fake):
    other = ITEM.model_copy(update={"client_id": "0192aaaa-0000-7000-8000-000000000002"})
    Scripted.answers.append((200, {}, {"results": [{"client_id": ITEM.client_id, "outcome": "accepted",
                                                    "http_status": 200}]}))
    results = fake.upload_batch([ITEM, other])
    assert [r.outcome for r in results] == [ItemOutcome.ACCEPTED, ItemOutcome.ERROR]


def test_backoff_is_full_jitter_growing_to_a_cap_and_resets_on_success():
    b = Backoff(base_s=1.0, cap_s=30.0, rng=random.Random(1))
    ceilings = [1, 2, 4, 8, 16, 30, 30, 30]
    for ceiling in ceilings:
        draws = [Backoff(1.0, 30.0, random.Random(s)) for s in range(200)]
        for d in draws:
            d.failures = b.failures
        values = [d.next_delay() for d in draws]
        assert all(0 <= v <= ceiling for v in values) and max(values) > ceiling * 0.8
        b.next_delay()
    b.reset()
    assert b.failures == 0 and b.next_delay() <= 1.0


def test_terminals_reconnect_at_their_own_fixed_offset():
    offsets = {stagger_offset(f"QZ-KIOSK-{n:04d}", 300) for n in range(100)}
    assert all(0 <= o < 300 for o in offsets) and len(offsets) > 60        # spread, not all at once
    assert stagger_offset("QZ-KIOSK-0001", 300) == stagger_offset("QZ-KIOSK-0001", 300)
    assert stagger_offset("QZ-KIOSK-0001", 0) == 0
