"""PBOC housing provident fund loan rates, versioned by effective date (reference/hpf-rules.md §3, S3).

Rates are kept in basis points (1 bp = 0.01 %). Second-home values are floors (不低于): a city may charge
more, never less. The 2015-08-26 and 2022-10-01 rows are from memory in the reference notes.
Existing loans reprice on 1 January of the following year; `rate_for` answers for a new loan on `on`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kiosk.domain.errors import InvalidAmount

SHORT_TERM_MONTHS = 60   # "五年以下（含五年）" vs "五年以上"


@dataclass(frozen=True)
class RateRow:
    effective_from: date
    first_home_le5_bp: int
    first_home_gt5_bp: int
    second_home_le5_bp: int     # floor
    second_home_gt5_bp: int     # floor
    source: str

    def as_dict(self) -> dict:
        return {"effective_from": self.effective_from.isoformat(),
                "first_home_le5_bp": self.first_home_le5_bp, "first_home_gt5_bp": self.first_home_gt5_bp,
                "second_home_le5_bp": self.second_home_le5_bp, "second_home_gt5_bp": self.second_home_gt5_bp,
                "second_home_is_floor": True, "source": self.source}


RATE_TABLE: tuple[RateRow, ...] = (
    RateRow(date(2015, 8, 26), 275, 325, 303, 358, "PBOC 2015-08-26 (second home 1.1×: 3.025/3.575)"),
    RateRow(date(2022, 10, 1), 260, 310, 303, 358, "PBOC 2022-10-01 first-home cut"),
    RateRow(date(2024, 5, 18), 235, 285, 278, 333, "PBOC 2024-05-18"),
    RateRow(date(2025, 5, 8), 210, 260, 253, 308, "PBOC 2025-05-08"),
)
# Basis points cannot hold 3.025 % / 3.575 % / 2.775 % / 3.325 % / 2.525 % / 3.075 % exactly, so the
# second-home floors are kept exactly in tenths of a basis point here and exposed as Decimal.
_SECOND_HOME_EXACT = {
    date(2015, 8, 26): (Decimal("3.025"), Decimal("3.575")),
    date(2022, 10, 1): (Decimal("3.025"), Decimal("3.575")),
    date(2024, 5, 18): (Decimal("2.775"), Decimal("3.325")),
    date(2025, 5, 8): (Decimal("2.525"), Decimal("3.075")),
}


def row_for(on: date) -> RateRow:
    """The table row in force on `on` (new loans)."""
    current = None
    for row in RATE_TABLE:
        if row.effective_from <= on:
            current = row
    if current is None:
        raise InvalidAmount("RATE_DATE", "该日期早于利率表的起始日期",
                            f"no HPF rate on file before {RATE_TABLE[0].effective_from.isoformat()}")
    return current


def rate_for(on: date, first_home: bool, months: int) -> Decimal:
    """Annual rate as a Decimal fraction (2.6 % -> Decimal('0.026')) for a new loan granted on `on`.

    For a second home this is the floor the PBOC sets; the city may go higher."""
    if months < 1:
        raise InvalidAmount("LOAN_TERM", "贷款期限不正确", "months must be positive")
    row = row_for(on)
    short = months <= SHORT_TERM_MONTHS
    if first_home:
        bp = row.first_home_le5_bp if short else row.first_home_gt5_bp
        return Decimal(bp) / 10000
    le5, gt5 = _SECOND_HOME_EXACT[row.effective_from]
    return (le5 if short else gt5) / 100


def repricing_date(loan_granted: date, rate_change: date) -> date:
    """Existing loans take a new rate on 1 January after the change (new loans at once)."""
    if loan_granted >= rate_change:
        return loan_granted
    return date(rate_change.year + 1, 1, 1)


def rate_table_bp() -> list[dict]:
    """The table for the catalog: rows oldest first, basis points (second-home bp rounded to whole bp;
    `second_home_*_pct` carries the exact percentage string)."""
    out = []
    for row in RATE_TABLE:
        d = row.as_dict()
        le5, gt5 = _SECOND_HOME_EXACT[row.effective_from]
        d["second_home_le5_pct"], d["second_home_gt5_pct"] = str(le5), str(gt5)
        out.append(d)
    return out


def catalog_entries() -> list[dict]:
    """Rows in the wire shape of sync.protocol.RateEntry (whole basis points; a second-home floor that falls on
    half a basis point, e.g. 3.025 %, is sent rounded up — 303 — so the catalog never quotes below the floor)."""
    return [{"effective_from": r.effective_from.isoformat(), "first_home_le5_bp": r.first_home_le5_bp,
             "first_home_gt5_bp": r.first_home_gt5_bp, "second_home_le5_bp": r.second_home_le5_bp,
             "second_home_gt5_bp": r.second_home_gt5_bp} for r in RATE_TABLE]
