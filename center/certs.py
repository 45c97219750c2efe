"""Certificates: the center's Ed25519 key (generated once into data_dir, mode 0600), issuing (content and
signature by center.rules.certificates) and verification by code or by presented content."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from center.models import Certificate, Employer, Loan, PersonalAccount, utcnow
from center.transactions import Refusal

log = logging.getLogger(__name__)
KEY_FILE = "center-ed25519.key"


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    path = Path(data_dir) / KEY_FILE
    if path.exists():
        raw = path.read_bytes()
        if len(raw) != 32:
            raise RuntimeError(f"{path} is not a 32-byte Ed25519 private key")
        return Ed25519PrivateKey.from_private_bytes(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)          # first writer wins when two processes start at once
    except FileExistsError:
        os.unlink(tmp)
        return load_or_create_key(data_dir)
    os.unlink(tmp)
    log.info("generated the center's certificate signing key %s", path)
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _loan_record(loans: list[Loan]):
    from center.rules.certificates import LoanRecord
    if any(l.state in ("repaying", "overdue") for l in loans):
        return LoanRecord.OUTSTANDING
    done = [l for l in loans if l.state == "paid_off"]
    return LoanRecord.NONE if not done else LoanRecord.ONE_REPAID if len(done) == 1 else LoanRecord.TWO_OR_MORE_REPAID


def issue(session, cfg, key: Ed25519PrivateKey, id_number: str, kind: str, contract_no: str | None) -> dict:
    from decimal import Decimal

    from center import business as B
    from center.rules import certificates as C
    from kiosk.domain.codes import PersonAccountState
    from kiosk.domain.loan import add_months
    person = B.find_person(session, id_number)
    today = B.today()
    try:
        if kind == "deposit_use":
            acct = B.find_account(session, person)
            loans = list(session.scalars(select(Loan).where(Loan.person_id == person.id)))
            months = B.continuous_months(session, acct.grzh, acct.jzny)
            if months == 0:
                raise Refusal("CERT_NO_DEPOSITS", "没有连续缴存记录，不能出具缴存使用证明", "no continuous deposits")
            to = B._month_start(acct.jzny)
            emp = session.get(Employer, acct.dwzh) if acct.dwzh else None
            monthly = (acct.grjcjs_fen * acct.dwjcbl_bp + 5000) // 10000 + (acct.grjcjs_fen * acct.grjcbl_bp + 5000) // 10000
            content = C.deposit_use_certificate(
                name=person.xingming, id_number=person.zjhm, employer=emp.dwmc if emp else "灵活就业",
                account_no=acct.grzh, account_state=PersonAccountState.from_code(acct.grzhzt), opened_on=acct.khrq,
                unit_ratio=Decimal(acct.dwjcbl_bp) / 10000, personal_ratio=Decimal(acct.grjcbl_bp) / 10000,
                base_fen=acct.grjcjs_fen, monthly_fen=monthly, continuous_from=add_months(to, -(months - 1)),
                continuous_to=to, balance_fen=acct.grzhye_fen, loan_record=_loan_record(loans), issued_on=today,
                center_code=cfg.center_code, center_name=cfg.center_name, contact="公积金服务热线",
                contact_phone="12329", in_arrears=any(l.state == "overdue" for l in loans))
        elif kind == "payoff":
            loan = session.get(Loan, contract_no or "")
            if loan is None or loan.person_id != person.id:
                raise Refusal("LOAN_NOT_FOUND", "未查询到该笔贷款", "no such loan for this person")
            if loan.state != "paid_off" or loan.dkjqrq is None:
                raise Refusal("LOAN_NOT_PAID_OFF", "贷款尚未结清，不能出具结清证明", "loan is not paid off")
            content = C.payoff_certificate(
                name=person.xingming, id_number=person.zjhm, contract_no=loan.jkhtbh, amount_fen=loan.htdkje_fen,
                disbursed_on=loan.dkffrq, paid_off_on=loan.dkjqrq, bank=loan.bank_name,
                property_address=loan.property_address, issued_on=today, center_code=cfg.center_code,
                center_name=cfg.center_name)
        else:
            raise Refusal("CERT_KIND_UNKNOWN", "证明类型不正确", f"unknown certificate kind {kind!r}")
        signature = C.sign(content, key)
    except C.CertificateError as e:
        raise Refusal(e.code, e.message_zh, str(e))
    from datetime import date
    session.add(Certificate(serial=content["serial"], verification_code=content["verification_code"], kind=kind,
                            person_id=person.id, payload=content, signature=signature, issued_at=utcnow(),
                            valid_until=date.fromisoformat(content["valid_until"]) if content.get("valid_until") else None))
    log.info("certificate %s (%s) issued", content["serial"], kind)
    return {"serial": content["serial"], "verification_code": content["verification_code"], "content": content,
            "signature": signature, "algorithm": "Ed25519", "public_key_hex": public_key_hex(key)}


def verify_by_code(session, key: Ed25519PrivateKey, code: str) -> dict:
    from center.rules import certificates as C
    from center import business as B
    norm = code.strip().upper()
    if len(norm) == 12 and "-" not in norm:
        norm = f"{norm[:4]}-{norm[4:8]}-{norm[8:]}"
    cert = session.scalar(select(Certificate).where(Certificate.verification_code == norm))
    if cert is None:
        return {"valid": False, "code": "CERT_NOT_FOUND", "message": "未查询到该证明，请核对验证码"}
    ok = C.verify(cert.payload, cert.signature, key.public_key())
    expired = cert.valid_until is not None and cert.valid_until < B.today()
    if not ok:
        log.error("certificate %s fails its signature check: stored content was altered", cert.serial)
        return {"valid": False, "code": "CERT_TAMPERED", "message": "证明内容与中心签名不符，证明无效",
                "serial": cert.serial}
    return {"valid": not expired, "code": "CERT_EXPIRED" if expired else "OK",
            "message": "证明已过有效期" if expired else "证明真实有效", "serial": cert.serial, "kind": cert.kind,
            "issued_at": cert.issued_at.isoformat(), "content": cert.payload, "signature": cert.signature}


def verify_presented(session, key: Ed25519PrivateKey, content: dict, signature: str) -> dict:
    """A printed/QR certificate presented for checking: signature over exactly this content, and known here."""
    from center.rules import certificates as C
    if not C.verify(content, signature, key.public_key()):
        return {"valid": False, "code": "CERT_TAMPERED", "message": "证明内容与中心签名不符，证明无效"}
    cert = session.get(Certificate, str(content.get("serial", "")))
    if cert is None:
        return {"valid": False, "code": "CERT_NOT_FOUND", "message": "未查询到该证明"}
    return {"valid": True, "code": "OK", "message": "证明真实有效", "serial": cert.serial, "kind": cert.kind}
