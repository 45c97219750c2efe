"""Sample documents with made-up data, for `devices test-print`, `print sample-certificate`, the demo and bench.

All personal data here is fictitious and goes through the same masking as real data."""
from __future__ import annotations

import datetime as dt

from printing.documents import (AccountStatement, AmountLine, DepositUseCertificate, EndOfDayReport, EodItemLine,
                                LoanPayoffCertificate, Receipt, StatementLine, Verification)

SAMPLE_ID = "330802199001011234"
SAMPLE_TIME = dt.datetime(2026, 11, 21, 2, 30, 5, tzinfo=dt.timezone.utc)   # 10:30:05 in Shanghai


def sample_receipt(*, terminal_id: str = "DEMO-0001", center_name: str = "衢州市住房公积金中心",
                   issued_at: dt.datetime = SAMPLE_TIME, copy: bool = False) -> Receipt:
    return Receipt.create(
        name="张三丰", id_number=SAMPLE_ID, phone="13800138000",
        center_name=center_name, terminal_id=terminal_id, issued_at=issued_at,
        serial_no="C33080-20261121-000123", client_id="0193f1c2-7a3b-7c4d-9e8f-0123456789ab",
        item="租房提取", fields=(("提取原因", "租赁住房（无房）"), ("收款银行", "中国建设银行衢州分行")),
        amounts=(AmountLine("本次提取金额", 1_250_000), AmountLine("提取后余额", 8_765_432)),
        status_line="已受理，待联网确认",
        qr_payload="https://gjj.example.gov.cn/progress?id=0193f1c2-7a3b-7c4d-9e8f-0123456789ab",
        notes=("请妥善保管本回单。业务办理进度可扫码或拨打12329查询。",), copy=copy)


def sample_verification(serial: str) -> Verification:
    return Verification(verification_code="8K3F-Q7PD-2M9X",
                        verify_url="https://gjj.example.gov.cn/verify",
                        signature_b64="MEUCIQDf3x1y5Xb9s0Qm7b2mC5nq4l1x2H9kz0VvQ0c3oZ7YtwIgQ2k8mXh2b1N4pZ0Rf6e9Q5b7cD3a1L8mN0sT4uV6wXy=",
                        signer=f"C33080 证明签发 {serial}")


def sample_deposit_certificate(*, issued_at: dt.datetime = SAMPLE_TIME, copy: bool = False) -> DepositUseCertificate:
    serial = "ZM-C33080-20261121-0042"
    return DepositUseCertificate(
        center_name="衢州市住房公积金中心", serial_no=serial, issued_at=issued_at,
        masked_name="张**", masked_id="330802********1234",
        employer="衢州市智造科技有限公司", account_no="3308020123456789", account_state="正常",
        opened_on=dt.date(2015, 7, 1), unit_ratio_bp=1200, personal_ratio_bp=1200,
        base_fen=850_000, monthly_fen=204_000, continuous_from="2020-01", continuous_to="2026-10",
        balance_fen=12_345_678, loan_record="无贷款记录", verification=sample_verification(serial),
        contact="李老师", contact_phone="0570-12329", copy=copy)


def sample_payoff_certificate(*, issued_at: dt.datetime = SAMPLE_TIME) -> LoanPayoffCertificate:
    serial = "JQ-C33080-20261121-0007"
    return LoanPayoffCertificate(
        center_name="衢州市住房公积金中心", serial_no=serial, issued_at=issued_at,
        masked_name="张**", masked_id="330802********1234", contract_no="GJJDK-2016-001234",
        lending_bank="中国建设银行衢州分行", loan_fen=60_000_000, term_months=240,
        loan_start=dt.date(2016, 5, 20), paid_off_on=dt.date(2026, 11, 20),
        verification=sample_verification(serial))


def sample_statement(*, issued_at: dt.datetime = SAMPLE_TIME) -> AccountStatement:
    lines, balance = [], 10_000_000
    for month in range(1, 11):
        balance += 204_000
        lines.append(StatementLine(dt.date(2026, month, 15), "汇缴", credit_fen=204_000, balance_fen=balance))
    balance -= 1_250_000
    lines.append(StatementLine(dt.date(2026, 11, 21), "租房提取", debit_fen=1_250_000, balance_fen=balance))
    return AccountStatement(center_name="衢州市住房公积金中心", issued_at=issued_at, masked_name="张**",
                            masked_id="330802********1234", account_no="3308020123456789",
                            period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 11, 21),
                            opening_fen=10_000_000, closing_fen=balance, lines=tuple(lines))


def sample_end_of_day(*, issued_at: dt.datetime = SAMPLE_TIME) -> EndOfDayReport:
    return EndOfDayReport(
        center_name="衢州市住房公积金中心", branch="中国建设银行衢州柯城支行", terminal_id="BANK-0007",
        teller_id="T0815", business_date=dt.date(2026, 11, 21), issued_at=issued_at,
        lines=(EodItemLine("租房提取", queued_count=2, queued_fen=2_400_000, accepted_count=5,
                           accepted_fen=6_000_000, refused_count=1, refused_fen=1_200_000),
               EodItemLine("提前部分还款", accepted_count=3, accepted_fen=15_000_000),
               EodItemLine("缴存使用证明", accepted_count=4)))
