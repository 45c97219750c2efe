"""`hpf-kiosk selftest` in-process: every resident service item of the registry is driven through the real screens
(offscreen Qt) against the real embedded center by the customer bot, and a case that goes wrong FAILs with its
reason (the center refusing what should be accepted, an item without a flow)."""
from __future__ import annotations

import json

import pytest

from kiosk.flows.services.registry import ITEMS
from screens.selftest import CASES, PEOPLE, Case, run_selftest
from tests.ui.servicehelpers import kiosk  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.ui
CERTIFICATES = ("statement", "payoff_certificate", "deposit_use_certificate")


@pytest.fixture(scope="module")
def full_run(kiosk, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("selftest")
    lines: list[str] = []
    rc = run_selftest(kiosk, out, echo=lines.append)
    return rc, out, json.loads((out / "summary.json").read_text(encoding="utf-8")), lines


def test_every_registry_item_passes_through_the_screens(full_run):
    rc, out, summary, lines = full_run
    failed = [f"{c['item']}: {c['error']} (steps {' > '.join(c['steps'])})" for c in summary["cases"] if not c["passed"]]
    assert rc == 0 and summary["passed"], "\n".join(failed + lines)
    assert {c["item"] for c in summary["cases"]} == set(ITEMS)          # every item, no more, no less
    assert len(summary["cases"]) == len(ITEMS) == len(CASES)
    for c in summary["cases"]:
        assert c["state"] == "done", c
        assert (out / f"{summary['cases'].index(c) + 1:02d}-{c['item']}.png").stat().st_size > 10_000
    assert summary["import_problems"] == []
    assert lines[-1].startswith(f"{len(ITEMS)}/{len(ITEMS)} passed")


def test_what_was_printed_is_kept_and_masked(full_run):
    _, out, summary, _ = full_run
    by_item = {c["item"]: c for c in summary["cases"]}
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


def test_a_case_that_goes_wrong_fails_with_its_reason(kiosk, tmp_path):  # noqa: F811
    cases = [Case("withdrawal", "刘芳", choose={"reason": "07"},          # frozen account, expected "done"
                  values={"monthly_rent_fen": "1500", "rent_months": "2", "amount": "100"}),
             Case("no_such_item", "张建国"),
             Case("loan_calc", values={"amount": "300000"})]
    lines: list[str] = []
    rc = run_selftest(kiosk, tmp_path, cases, echo=lines.append)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert rc == 1 and not summary["passed"]
    assert summary["failed"] == ["withdrawal", "no_such_item"]
    wd, missing, calc = summary["cases"]
    assert wd["state"] == "refused" and wd["code"].startswith("WD_")
    assert "expected done, got refused" in wd["error"] and wd["code"] in wd["error"]
    assert "no service flow" in missing["error"]
    assert calc["passed"]                                              # the rest still runs
    assert any("FAIL" in ln and "withdrawal" in ln for ln in lines)
    assert (tmp_path / "01-withdrawal.png").exists()
