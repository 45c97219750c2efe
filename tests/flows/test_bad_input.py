"""Whatever a resident types, a flow answers with a coded Chinese message or ignores it; it never raises."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.flows.flowhelpers import ZHANG, identity
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for

junk = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**15, max_value=10**15),
                 st.text(max_size=30), st.floats(allow_nan=True), st.lists(st.integers(), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=junk, months=junk, first_home=junk)
def test_calculator_never_raises_on_anything_typed(kiosk, amount, months, first_home):
    flow = flow_for("loan_calc", kiosk.ctx)
    flow.start()
    flow.calculate(amount, months, first_home)
    assert flow.state in (Svc.INPUT, Svc.SHOW)
    if flow.state is Svc.INPUT:
        assert flow.message is None or (flow.message.code and flow.message.zh)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=junk, amount=junk, evidence=st.dictionaries(st.sampled_from(["monthly_rent_fen", "rent_months", "x"]),
                                                          junk, max_size=3))
def test_withdrawal_inputs_never_raise(kiosk, reason, amount, evidence):
    kiosk.offline()                                   # no center round trips: only the input handling
    flow = flow_for("withdrawal", kiosk.ctx, identity(ZHANG))
    flow.start()
    flow.choose_reason(reason)
    flow.choose_reason("07")
    flow.submit_evidence(evidence)
    flow.enter_amount(amount)
    flow.evaluate(amount)
    assert flow.state in (Svc.INPUT, Svc.READ_CARD)
    assert flow.message is None or (flow.message.code and flow.message.zh)
    flow.cancel()


def test_other_inputs_with_junk_are_answered_not_raised(kiosk):
    for code, calls in {
        "phone_change": [("submit_phone", ("abc",)), ("submit_phone", (None,)), ("submit_phone", ("1" * 40,))],
        "transfer_in": [("submit_origin", (None,)), ("submit_origin", ("🙂🙂🙂🙂🙂🙂",))],
        "progress_query": [("submit_serial", (None,)), ("submit_serial", ("' OR 1=1 --",))],
        "query_password": [("submit_password", (None,)), ("submit_password", ("12a456",)), ("submit_password", ("1" * 99,))],
        "flexible_open": [("submit_terms", ("abc", "x")), ("submit_terms", ("-5", "12")), ("submit_terms", ("5000", "NaN"))],
        "loan_preapply": [("submit_terms", ("x", "y", "z")), ("submit_terms", ("100", "200", "12"))],
        "statement": [("choose_year", ("二〇二五",)), ("choose_year", (None,))],
        "evaluation": [("rate", ("five",)), ("rate", (99,))],
    }.items():
        flow = flow_for(code, kiosk.ctx, identity(ZHANG, level=3))
        flow.start()
        kiosk.settle(flow)
        if code == "transfer_in":
            flow.apply()                               # to the origin form
        for name, args in calls:
            getattr(flow, name)(*args)
            assert not flow.finished or flow.state is not Svc.FAILED or flow.message.code != "INTERNAL_ERROR"
            assert flow.message is None or (flow.message.code and flow.message.zh), (code, name, args)
        flow.cancel()
