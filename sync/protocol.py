"""The wire contract between a terminal and the center (/v1), shared by sync/ (client) and center/ (server).

Signing: every terminal request carries
    X-HPF-Terminal:  terminal id
    X-HPF-Timestamp: unix seconds (integer, as text)
    X-HPF-Nonce:     random, unique per request (32 hex chars)
    X-HPF-Signature: hex HMAC-SHA256(secret, METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n sha256hex(BODY))
Mutating requests also carry Idempotency-Key (the transaction's client id, UUIDv7, for every retry).
Errors always have the body ErrorBody: a stable code, a plain Chinese message, an English detail.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime
from enum import Enum
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/v1"
HEADER_TERMINAL = "X-HPF-Terminal"
HEADER_TIMESTAMP = "X-HPF-Timestamp"
HEADER_NONCE = "X-HPF-Nonce"
HEADER_SIGNATURE = "X-HPF-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"
HEADER_TELLER_TOKEN = "X-HPF-Teller-Token"
MAX_CLOCK_SKEW_S = 300
MAX_BATCH_ITEMS = 500


# --- signing -----------------------------------------------------------------------------------------

def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, body_sha256(body)]).encode("utf-8")


def sign(secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret, string_to_sign(method, path, timestamp, nonce, body), hashlib.sha256).hexdigest()


def signed_headers(terminal_id: str, secret: bytes, method: str, path: str, body: bytes,
                   now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """Headers for one signed request. `path` includes the query string exactly as sent."""
    ts = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(16)
    return {
        HEADER_TERMINAL: terminal_id,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(secret, method, path, ts, nonce, body),
    }


def signature_matches(secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes,
                      signature: str) -> bool:
    return hmac.compare_digest(sign(secret, method, path, timestamp, nonce, body), signature or "")


# --- error codes ---------------------------------------------------------------------------------------

class AuthError(str, Enum):
    MISSING = "AUTH_MISSING_HEADERS"          # 401
    SKEW = "AUTH_CLOCK_SKEW"                  # 401
    REPLAY = "AUTH_NONCE_REPLAYED"            # 401
    SIGNATURE = "AUTH_BAD_SIGNATURE"          # 401
    UNKNOWN_TERMINAL = "AUTH_UNKNOWN_TERMINAL"  # 401
    DISABLED_TERMINAL = "AUTH_TERMINAL_DISABLED"  # 403


class IdempotencyError(str, Enum):
    MISSING_KEY = "IDEMPOTENCY_KEY_MISSING"   # 400
    PAYLOAD_MISMATCH = "IDEMPOTENCY_KEY_REUSED"  # 422
    IN_FLIGHT = "IDEMPOTENCY_IN_FLIGHT"       # 409


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Model):
    code: str
    message: str                 # plain Chinese, for the screen
    detail: str = ""             # English, for logs


# --- transactions (upward) -----------------------------------------------------------------------------

class TransactionIn(_Model):
    client_id: str = Field(min_length=1, max_length=64)      # UUIDv7; the idempotency key
    kind: str = Field(min_length=1, max_length=64)           # e.g. "withdrawal", "deposit", "evaluation"
    created_at: datetime                                     # aware, when the terminal created it
    payload: dict[str, Any]
    teller_id: Optional[str] = None
    offline: bool = False                                    # accepted by the terminal while offline


class ItemOutcome(str, Enum):
    ACCEPTED = "accepted"        # done (or replayed: the first result is returned again)
    REJECTED = "rejected"        # a business or validation refusal: final
    IN_FLIGHT = "in_flight"      # the same key is being processed: retry later
    ERROR = "error"              # a server error: retry


class ItemResult(_Model):
    client_id: str
    outcome: ItemOutcome
    http_status: int
    code: str = "OK"
    message: str = ""
    result: dict[str, Any] = Field(default_factory=dict)
    replayed: bool = False


class BatchRequest(_Model):
    items: list[TransactionIn] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class BatchResponse(_Model):
    results: list[ItemResult]


# --- catalog (downward) --------------------------------------------------------------------------------

class OfflinePolicy(str, Enum):
    ONLINE_ONLY = "online_only"
    STORE_AND_FORWARD = "store_and_forward"
    LOCAL = "local"


class ServiceItem(_Model):
    code: str
    name_zh: str
    name_en: str
    enabled: bool = True
    identity_level: Literal[0, 1, 2, 3] = 0
    offline_policy: OfflinePolicy = OfflinePolicy.ONLINE_ONLY
    roles: list[str] = Field(default_factory=lambda: ["kiosk", "teller"])
    guide_zh: str = ""
    guide_en: str = ""


class RateEntry(_Model):
    effective_from: str          # YYYY-MM-DD
    first_home_le5_bp: int       # basis points of annual rate, e.g. 210 = 2.10%
    first_home_gt5_bp: int
    second_home_le5_bp: int
    second_home_gt5_bp: int


class Announcement(_Model):
    id: str
    title_zh: str
    body_zh: str
    title_en: str = ""
    body_en: str = ""
    valid_until: Optional[str] = None


class Catalog(_Model):
    version: str
    items: list[ServiceItem]
    rates: list[RateEntry] = Field(default_factory=list)
    announcements: list[Announcement] = Field(default_factory=list)
    hotline: str = "12329"
    commands: list[dict[str, Any]] = Field(default_factory=list)   # remote requests, e.g. {"kind": "upload_logs"}


# --- heartbeat (upward) --------------------------------------------------------------------------------

class AuditHead(_Model):
    seq: int
    hash: str


class Heartbeat(_Model):
    terminal_id: str
    sent_at: datetime
    software_version: str
    queue_depth: int = 0
    oldest_queued_age_s: int = 0
    devices: dict[str, str] = Field(default_factory=dict)    # role -> common status (online, noDevice, ...)
    audit_head: Optional[AuditHead] = None
