"""A certificate printed at the kiosk can be checked by anyone with the center's public key."""
from datetime import date
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from center.rules.certificates import (CertificateError, LoanRecord, canonical_json, deposit_use_certificate,
                                       matches_person, payoff_certificate, sign, verify)
from kiosk.domain.codes import PersonAccountState

ID = "11010519491231002X"


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def _deposit_use(**kw):
    args = dict(name="张三", id_number=ID, employer="衢州市某公司", account_no="990123456789",
                account_state=PersonAccountState.NORMAL, opened_on=date(2015, 7, 1), unit_ratio=Decimal("0.12"),
                personal_ratio=Decimal("0.12"), base_fen=1_000_000, monthly_fen=240_000,
                continuous_from=date(2023, 6, 1), continuous_to=date(2025, 5, 1), balance_fen=8_000_000,
                loan_record=LoanRecord.NONE, issued_on=date(2025, 6, 2), center_code="C33080",
                center_name="衢州市住房公积金中心", contact="李四", contact_phone="0570-3012345")
    args.update(kw)
    return deposit_use_certificate(**args)


def test_deposit_use_certificate_has_the_form_fields_and_no_full_id(key):
    c = _deposit_use()
    assert c["serial"].startswith("JCC3308020250602") and len(c["serial"]) == 22
    assert c["valid_until"] == "2025-08-02" and c["account_state"] == "正常" and c["unit_ratio"] == "12%"
    assert c["continuous_from"] == "2023-06" and c["balance_uppercase"] == "捌万元整"
    assert c["loan_record"] == "无贷款记录" and c["id_number_masked"] == "110105********002X"
    assert ID.encode() not in canonical_json(c) and matches_person(c, ID) and not matches_person(c, "110105194912310021")
    assert _deposit_use(in_arrears=True)["account_state"] == "欠款"


def test_signed_certificate_verifies_and_a_tampered_one_does_not(key):
    c = _deposit_use()
    sig = sign(c, key)
    assert verify(c, sig, key.public_key())
    assert verify(c, sig, key.public_key().public_bytes_raw())
    tampered = dict(c, balance_fen=c["balance_fen"] * 10)
    assert not verify(tampered, sig, key.public_key())
    assert not verify(c, sig, Ed25519PrivateKey.generate().public_key())
    assert not verify(c, "not-a-signature!", key.public_key())
    assert not verify(c, sig[:-2], key.public_key())


def test_payoff_certificate_sign_verify(key):
    c = payoff_certificate(name="王五", id_number=ID, contract_no="JK2010-0001", amount_fen=50_000_000,
                           disbursed_on=date(2010, 5, 1), paid_off_on=date(2025, 5, 20), bank="中国建设银行衢州分行",
                           property_address="衢州市柯城区某路1号", issued_on=date(2025, 6, 2), center_code="C33080",
                           center_name="衢州市住房公积金中心", serial="JQC3308020250602000001")
    assert c["amount_uppercase"] == "伍拾万元整" and c["serial"] == "JQC3308020250602000001"
    sig = sign(c, key.private_bytes_raw())
    assert verify(c, sig, key.public_key())
    assert not verify(dict(c, paid_off_on="2025-05-21"), sig, key.public_key())


def test_canonical_json_is_stable_and_refuses_floats():
    assert canonical_json({"b": 1, "a": "中"}) == '{"a":"中","b":1}'.encode()
    with pytest.raises(CertificateError):
        canonical_json({"amount": 1.5})


def test_incomplete_certificates_are_refused():
    with pytest.raises(CertificateError) as err:
        _deposit_use(name="")
    assert err.value.code == "CERT_FIELD"
    with pytest.raises(CertificateError):
        _deposit_use(balance_fen=-1)
