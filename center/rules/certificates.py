"""Certificates the center issues and anyone can verify: deposit-use certificate (异地贷款职工住房公积金缴存使用
证明) and loan payoff certificate (个人住房贷款全部还清证明), reference/hpf-rules.md §3-§4.

Content is a plain dict (what is printed and what is signed): amounts in fen, dates ISO, ratios as
percentage strings. The ID number appears masked (first 6 + last 4) with `id_digest` = SHA-256 of
"serial|full ID number", so a verifier who holds the person's ID can confirm the match while the paper never
shows it. Each certificate has a serial number, a random verification code (for the center's online check)
and an Ed25519 signature over the canonical JSON (UTF-8, sorted keys, no spaces). Keys are passed in; the
center stores them."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.domain.codes import PersonAccountState
from kiosk.domain.loan import add_months
from kiosk.domain.masking import mask_id_number
from kiosk.domain.money import chinese_uppercase

VALID_MONTHS = 2                   # "自开具之日起2个月内有效"
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"   # no 0/O/1/I


class CertificateError(ValueError):
    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


class LoanRecord(Enum):
    """Loan-record line of the national deposit-use form."""
    NONE = "无贷款记录"
    ONE_REPAID = "仅有一次且已还清"
    TWO_OR_MORE_REPAID = "两次以上且已还清"
    OUTSTANDING = "有未结清贷款"


def _form_state(state: PersonAccountState, in_arrears: bool) -> str:
    if in_arrears:
        return "欠款"
    return {PersonAccountState.NORMAL: "正常", PersonAccountState.SEALED: "封存"}.get(state, "其他")


def new_serial(kind: str, center_code: str, issued_on: date, seq: int | None = None) -> str:
    """JC/JQ + center code + YYYYMMDD + 6-digit sequence (random when the caller has no sequence)."""
    seq = secrets.randbelow(10 ** 6) if seq is None else seq
    if not 0 <= seq < 10 ** 6:
        raise CertificateError("CERT_SERIAL", "证明编号序号超出范围", "certificate sequence must be 0..999999")
    return f"{kind}{center_code}{issued_on:%Y%m%d}{seq:06d}"


def verification_code() -> str:
    """12 random characters shown as XXXX-XXXX-XXXX; the center keeps it with the serial."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def id_digest(serial: str, id_number: str) -> str:
    return hashlib.sha256(f"{serial}|{id_number.strip().upper()}".encode()).hexdigest()


def _pct(ratio: Decimal) -> str:
    return f"{(Decimal(ratio) * 100).quantize(Decimal('0.01')).normalize():f}%"


def _check_amount(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CertificateError("CERT_FIELD", "证明内容不完整或金额不正确", f"{name} must be a non-negative int (fen)")


def deposit_use_certificate(*, name: str, id_number: str, employer: str, account_no: str,
                            account_state: PersonAccountState, opened_on: date, unit_ratio: Decimal,
                            personal_ratio: Decimal, base_fen: int, monthly_fen: int, continuous_from: date,
                            continuous_to: date, balance_fen: int, loan_record: LoanRecord, issued_on: date,
                            center_code: str, center_name: str, contact: str = "", contact_phone: str = "",
                            in_arrears: bool = False, serial: str | None = None) -> dict:
    """Content of the deposit-use certificate (fields of the national form, S16)."""
    for field_name, value in (("base_fen", base_fen), ("monthly_fen", monthly_fen), ("balance_fen", balance_fen)):
        _check_amount(field_name, value)
    if not name or not id_number or continuous_from > continuous_to:
        raise CertificateError("CERT_FIELD", "证明内容不完整", "name, id_number and a valid continuous period are required")
    serial = serial or new_serial("JC", center_code, issued_on)
    return {
        "type": "deposit_use", "version": 1, "title": "异地贷款职工住房公积金缴存使用证明",
        "serial": serial, "verification_code": verification_code(),
        "issuer": {"center_code": center_code, "center_name": center_name,
                   "contact": contact, "contact_phone": contact_phone},
        "issued_on": issued_on.isoformat(), "valid_until": add_months(issued_on, VALID_MONTHS).isoformat(),
        "name": name, "id_number_masked": mask_id_number(id_number), "id_digest": id_digest(serial, id_number),
        "employer": employer, "account_no": account_no, "account_state": _form_state(account_state, in_arrears),
        "opened_on": opened_on.isoformat(), "unit_ratio": _pct(unit_ratio), "personal_ratio": _pct(personal_ratio),
        "base_fen": base_fen, "monthly_fen": monthly_fen,
        "continuous_from": f"{continuous_from:%Y-%m}", "continuous_to": f"{continuous_to:%Y-%m}",
        "balance_fen": balance_fen, "balance_uppercase": chinese_uppercase(balance_fen),
        "loan_record": loan_record.value,
    }


def payoff_certificate(*, name: str, id_number: str, contract_no: str, amount_fen: int, disbursed_on: date,
                       paid_off_on: date, bank: str, property_address: str, issued_on: date, center_code: str,
                       center_name: str, serial: str | None = None) -> dict:
    """Content of the loan payoff certificate (结清证明), taken to 不动产登记 to release the mortgage."""
    _check_amount("amount_fen", amount_fen)
    if not name or not id_number or not contract_no or paid_off_on < disbursed_on:
        raise CertificateError("CERT_FIELD", "证明内容不完整", "name, id_number, contract_no and dates are required")
    serial = serial or new_serial("JQ", center_code, issued_on)
    return {
        "type": "loan_payoff", "version": 1, "title": "个人住房公积金贷款全部还清证明",
        "serial": serial, "verification_code": verification_code(),
        "issuer": {"center_code": center_code, "center_name": center_name},
        "issued_on": issued_on.isoformat(),
        "name": name, "id_number_masked": mask_id_number(id_number), "id_digest": id_digest(serial, id_number),
        "contract_no": contract_no, "amount_fen": amount_fen, "amount_uppercase": chinese_uppercase(amount_fen),
        "disbursed_on": disbursed_on.isoformat(), "paid_off_on": paid_off_on.isoformat(),
        "bank": bank, "property_address": property_address,
        "statement": "该笔个人住房公积金贷款本息已全部还清。",
    }


def canonical_json(content: dict) -> bytes:
    """UTF-8 JSON, keys sorted, no whitespace; floats refused (amounts are fen)."""
    def default(o):
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Enum):
            return o.value
        raise TypeError(f"cannot put {type(o).__name__} in a certificate")

    def no_floats(o):
        if isinstance(o, float):
            raise CertificateError("CERT_FIELD", "证明内容格式不正确", "floats are not allowed in certificates")
        if isinstance(o, dict):
            for v in o.values():
                no_floats(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                no_floats(v)
    no_floats(content)
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=default).encode("utf-8")


def _private(key) -> Ed25519PrivateKey:
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return Ed25519PrivateKey.from_private_bytes(bytes(key))
    raise CertificateError("CERT_KEY", "签名密钥不正确", "private key must be Ed25519PrivateKey or 32 raw bytes")


def _public(key) -> Ed25519PublicKey:
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return Ed25519PublicKey.from_public_bytes(bytes(key))
    raise CertificateError("CERT_KEY", "验证密钥不正确", "public key must be Ed25519PublicKey or 32 raw bytes")


def sign(content: dict, private_key) -> str:
    """Ed25519 signature over canonical_json(content), base64url without padding."""
    sig = _private(private_key).sign(canonical_json(content))
    return base64.urlsafe_b64encode(sig).rstrip(b"=").decode("ascii")


def verify(content: dict, signature: str, public_key) -> bool:
    """True only if `signature` is the issuer's signature over exactly this content."""
    try:
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        _public(public_key).verify(sig, canonical_json(content))
        return True
    except (InvalidSignature, binascii.Error, ValueError, TypeError, CertificateError):
        return False


def matches_person(content: dict, id_number: str) -> bool:
    """Does the certificate belong to the holder of this ID number?"""
    return content.get("id_digest") == id_digest(str(content.get("serial", "")), id_number)
