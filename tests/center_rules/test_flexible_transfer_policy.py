from datetime import date
from decimal import Decimal

import pytest

from center.rules.flexible import check_flexible_opening, monthly_amount_fen
from center.rules.policy import PolicyError, load_policy, policy_for
from center.rules.transfer import (TransferCase, TransferError, TransferEvent, TransferStatus,
                                   event_for_origin_feedback, letter_number, next_status, parse_letter_number)
from kiosk.domain.codes import Gender, PersonAccountState

ON = date(2025, 6, 2)


# --- flexible employment ---------------------------------------------------------------------------------

def test_flexible_worker_opens_an_account_and_pays_base_times_ratio(policy):
    d = check_flexible_opening(date(1995, 1, 1), Gender.FEMALE, 500_000, Decimal("0.125"), ON, policy)
    assert d.allowed and d.monthly_amount_fen == 62_500
    assert monthly_amount_fen(333_333, Decimal("0.15")) == 50_000    # 49,999.95 fen rounds half-up


@pytest.mark.parametrize("birth, gender, base, ratio, code", [
    (date(2010, 1, 1), Gender.MALE, 500_000, "0.12", "FLEX_TOO_YOUNG"),
    (date(1962, 1, 1), Gender.MALE, 500_000, "0.12", "FLEX_RETIRED"),
    (date(1995, 1, 1), Gender.MALE, 100_000, "0.12", "FLEX_BASE_RANGE"),
    (date(1995, 1, 1), Gender.MALE, 9_000_000, "0.12", "FLEX_BASE_RANGE"),
    (date(1995, 1, 1), Gender.MALE, 500_000, "0.05", "FLEX_RATIO_RANGE"),
    (date(1995, 1, 1), Gender.MALE, 500_000, "0.25", "FLEX_RATIO_RANGE"),
])
def test_flexible_opening_refusals(policy, birth, gender, base, ratio, code):
    d = check_flexible_opening(birth, gender, base, Decimal(ratio), ON, policy)
    assert not d.allowed and d.code == code and d.message_zh


def test_flexible_opening_refused_for_an_employee_account(policy):
    d = check_flexible_opening(date(1995, 1, 1), Gender.MALE, 500_000, Decimal("0.12"), ON, policy,
                               existing_account=PersonAccountState.NORMAL)
    assert d.code == "FLEX_ACCOUNT_EXISTS"
    assert check_flexible_opening(date(1995, 1, 1), Gender.MALE, 500_000, Decimal("0.12"), ON, policy,
                                  existing_account=PersonAccountState.SEALED).allowed


# --- transfer -------------------------------------------------------------------------------------------

def test_contact_letter_number():
    n = letter_number("C33080", date(2025, 11, 3), 7)
    assert n == "C330802511030007"
    assert parse_letter_number(n) == ("C33080", date(2025, 11, 3), 7)


@pytest.mark.parametrize("args, code", [(("c3308", date(2025, 1, 1), 1), "TRANSFER_CENTER_CODE"),
                                        (("C33080", date(2025, 1, 1), 10_000), "TRANSFER_SEQ"),
                                        (("C33080", date(2025, 1, 1), 0), "TRANSFER_SEQ")])
def test_bad_letter_numbers_refused(args, code):
    with pytest.raises(TransferError) as err:
        letter_number(*args)
    assert err.value.code == code and err.value.message_zh


@pytest.mark.parametrize("text", ["C33080251303000", "C330802513030001", "C330802511030000", ""])
def test_bad_letter_numbers_do_not_parse(text):
    with pytest.raises(TransferError):
        parse_letter_number(text)


def test_transfer_goes_through_its_states_and_records_history():
    case = TransferCase(letter_number("C33080", date(2025, 11, 3), 1))
    assert case.status is TransferStatus.APPLIED
    case.apply(TransferEvent.SEND_LETTER)
    case.apply(event_for_origin_feedback("0"))
    case.apply(TransferEvent.COMPLETE, note="BDC905 amount 12345600")
    assert case.status is TransferStatus.COMPLETED
    assert [h[0] for h in case.history] == [TransferStatus.APPLIED, TransferStatus.LETTER_SENT,
                                            TransferStatus.ORIGIN_CONFIRMED, TransferStatus.COMPLETED]


def test_transfer_can_fail_until_it_is_final_and_skipping_is_refused():
    assert next_status(TransferStatus.LETTER_SENT, TransferEvent.FAIL) is TransferStatus.FAILED
    assert event_for_origin_feedback("2") is None and event_for_origin_feedback("1") is TransferEvent.FAIL
    with pytest.raises(TransferError) as err:
        next_status(TransferStatus.APPLIED, TransferEvent.COMPLETE)
    assert err.value.code == "TRANSFER_BAD_TRANSITION" and "申请" in err.value.message_zh
    with pytest.raises(TransferError):
        next_status(TransferStatus.COMPLETED, TransferEvent.FAIL)
    with pytest.raises(TransferError):
        event_for_origin_feedback("9")


# --- policy ----------------------------------------------------------------------------------------------

def test_quzhou_policy_values(policy):
    assert policy.center_code == "C33080"
    assert policy.withdrawal.rent_cap_month_fen == 200_000 and policy.withdrawal.rent_cap_12m_fen == 2_400_000
    assert (policy.loan.cap_single_fen, policy.loan.cap_household_fen) == (50_000_000, 80_000_000)
    assert policy.loan.max_term_months == 360 and policy.loan.retirement_plus_years == 5
    assert (policy.flexible.ratio_min, policy.flexible.ratio_max) == (Decimal("0.10"), Decimal("0.24"))


def test_later_versions_inherit_and_apply_from_their_date(tmp_path):
    src = (policy_for.__globals__["POLICY_DIR"] / "quzhou.toml").read_text(encoding="utf-8")
    src += '\n[[versions]]\neffective_from = 2026-09-20\nnote = "revision"\n[versions.withdrawal]\nrent_cap_month_fen = 300000\n'
    path = tmp_path / "city.toml"
    path.write_text(src, encoding="utf-8")
    book = load_policy(path)
    assert book.on(date(2026, 9, 19)).withdrawal.rent_cap_month_fen == 200_000
    later = book.on(date(2026, 9, 20))
    assert later.withdrawal.rent_cap_month_fen == 300_000 and later.loan.cap_single_fen == 50_000_000
    with pytest.raises(PolicyError) as err:
        book.on(date(2020, 1, 1))
    assert err.value.code == "POLICY_NOT_IN_FORCE"


def test_broken_policy_files_are_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('city="x"\nname_zh="x"\ncenter_code="C00000"\n[[versions]]\neffective_from=2025-01-01\n')
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert err.value.code == "POLICY_INVALID" and "deposit" in str(err.value)
    with pytest.raises(PolicyError) as err:
        policy_for("atlantis", ON)
    assert err.value.code == "POLICY_NOT_FOUND"
