from datetime import date

import pytest

from center.rules.facts import PersonFacts
from center.rules.policy import policy_for
from kiosk.domain.codes import Gender, PersonAccountState

ON = date(2025, 6, 2)   # under the 2025-05-08 rates and the Quzhou baseline policy (also defined in each test file)


@pytest.fixture
def on():
    return ON


@pytest.fixture
def policy():
    return policy_for("quzhou", ON)


@pytest.fixture
def person():
    """A 35-year-old depositor in good standing: 80,000 yuan balance, base 10,000 yuan, 12 % + 12 %."""
    return PersonFacts(birth_date=date(1990, 3, 15), gender=Gender.MALE, account_state=PersonAccountState.NORMAL,
                       balance_fen=8_000_000, deposit_base_fen=1_000_000, opened_on=date(2015, 7, 1),
                       paid_up_to=date(2025, 5, 1), continuous_months=36)
