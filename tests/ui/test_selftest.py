"""`hpf-kiosk selftest` in-process: every resident service item of the registry is driven through the real screens
(offscreen Qt) against the real embedded center by the customer bot, and a case that goes wrong FAILs with its
reason (the center refusing what should be accepted, an item without a flow); a refusal that is the expected
outcome for that person passes. One run (the default cases, then the deliberately wrong ones) serves every test."""
from __future__ import annotations

import json

import pytest

from kiosk.flows.services.registry import ITEMS
from screens.selftest import CASES, PEOPLE, Case, run_selftest
from tests.ui.servicehelpers import kiosk  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.ui
CERTIFICATES = ("statement", "payoff_certificate", "deposit_use_certificate")
EXTRA = [Case("withdrawal", "刘芳", choose={"reason": "07"},                  # frozen account, yet expected "done"
              values={"monthly_rent_fen": "1500", "rent_months": "2", "amount": "100"}),
         Case("no_such_item", "张建国"),                                     # no flow behind it
         Case("loan_limit", "李秀英", expect="refused", expect_code="LOAN_OUTSTANDING",   # refusal is the outcome
              values={"house_price": "900000"})]


@pytest.fixture(scope="module")
def run(kiosk, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("selftest")
    lines: list[str] = []
    rc = run_selftest(kiosk, out, CASES + EXTRA, echo=lines.append)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return rc, out, summary, lines


def test_every_registry_item_passes_through_the_screens(run):
    _, out, summary, lines = run
    cases = summary["cases"][:len(CASES)]
    failed = [f"{c['item']}: {c['error']} (steps {' > '.join(c['steps'])})" for c in cases if not c["passed"]]
    assert not failed, "\n".join(failed + lines)
    assert {c["item"] for c in cases} == set(ITEMS)                     # every item, no more, no less
    assert len(cases) == len(ITEMS)
    for n, c in enumerate(cases, 1):
        assert c["state"] == "done", c
        assert (out / f"{n:02d}-{c['item']}.png").stat().st_size > 10_000
    assert summary["import_problems"] == []


def test_what_was_printed_is_kept_and_masked(run):
    _, out, summary, _ = run
    by_item = {c["item"]: c for c in summary["cases"][:len(CASES)]}
    for item in ("withdrawal", "flexible_open", "deposit", "loan_prepayment", "phone_change", "repayment_account"):
        receipts = [f for f in by_item[item]["printed"] if f.endswith(".txt")]
        assert receipts, item
        text = (out / receipts[0]).read_text(encoding="utf-8")
        assert "流水号" in text or "业务" in text, text
    for item in CERTIFICATES:
        pdfs = [f for f in by_item[item]["printed"] if f.endswith(".pdf")]
        assert pdfs and (out / pdfs[0]).read_bytes().startswith(b"%PDF"), item
    everything = " ".join(p.read_text(encoding="utf-8") for p in out.glob("*.txt"))
    assert "330802********1230" in everything                          # 张建国, masked
    for name, idn in PEOPLE.items():
        assert idn not in everything and name not in everything
    assert "1,200.50" in (out / [f for f in by_item["withdrawal"]["printed"] if f.endswith(".txt")][0]).read_text()
    for item in ("query", "loan_calc", "loan_limit", "loan_schedule"):         # looking is not printing
        assert by_item[item]["printed"] == [], item


def test_a_case_that_goes_wrong_fails_with_its_reason_and_the_exit_code_says_so(run, tmp_path):
    rc, out, summary, lines = run
    assert rc == 1 and not summary["passed"]
    assert summary["failed"] == ["withdrawal", "no_such_item"]         # the two wrong ones, nothing else
    wd, missing, limit = summary["cases"][len(CASES):]
    assert wd["state"] == "refused" and wd["code"].startswith("WD_")
    assert "expected done, got refused" in wd["error"] and wd["code"] in wd["error"]
    assert "no service flow" in missing["error"]
    assert limit["passed"] and limit["state"] == "refused" and limit["code"] == "LOAN_OUTSTANDING"
    n = len(CASES) + 1
    assert any(ln.startswith(f"{n:>2} ") and "FAIL" in ln and "withdrawal" in ln for ln in lines)
    assert (out / f"{n:02d}-withdrawal.png").exists()
    assert lines[-1].startswith(f"{len(CASES) + 1}/{len(CASES) + 3} passed") and "FAILED: withdrawal, no_such_item" \
        in lines[-1]
