"""Whatever a user types or a reader returns, validation answers with a coded error, never a traceback."""
from datetime import date

from hypothesis import given, settings, strategies as st

from kiosk.domain.errors import DomainError
from kiosk.domain.ids import DocumentType, ForeignPermanentResidenceId, ResidentId, parse_document
from kiosk.domain.money import parse_yuan
from kiosk.domain.numbers import BankCard, Uscc, parse_landline, parse_mobile

junk = st.one_of(st.text(max_size=30), st.from_regex(r"[0-9Xx¥,.\- ]{0,25}", fullmatch=True))


def _coded(fn, value):
    try:
        fn(value)
    except DomainError as exc:
        assert exc.code and exc.message_zh and str(exc)


@settings(max_examples=400)
@given(junk)
def test_every_parser_answers_with_a_code(text):
    for fn in (lambda t: ResidentId.parse(t, today=date(2026, 1, 1)), ForeignPermanentResidenceId.parse,
               parse_yuan, BankCard.parse, Uscc.parse, parse_mobile, parse_landline):
        _coded(fn, text)
    for doc in DocumentType:
        _coded(lambda t: parse_document(doc, t), text)
