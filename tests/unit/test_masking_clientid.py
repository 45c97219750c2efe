"""Personal data on screen, paper and logs never shows more than allowed."""
import re
import threading
import uuid

from hypothesis import given, strategies as st

from kiosk.domain.clientid import new_client_id, timestamp_ms
from kiosk.domain.ids import check_char
from kiosk.domain.masking import mask_card, mask_id_number, mask_phone, mask_text

id_numbers = st.builds(lambda b: b + check_char(b),
                       st.from_regex(r"33[0-9]{4}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
                                     fullmatch=True))
phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
cards = st.from_regex(r"62[0-9]{14,17}", fullmatch=True)
filler = st.text(alphabet="公积金提取 ：:,;（）abc", max_size=8)


@given(id_numbers)
def test_id_shows_first_six_and_last_four(number):
    m = mask_id_number(number)
    assert m[:6] == number[:6] and m[-4:] == number[-4:] and set(m[6:-4]) == {"*"}


@given(phones)
def test_phone_shows_three_and_four(phone):
    m = mask_phone(phone)
    assert m == phone[:3] + "****" + phone[-4:]


@given(cards)
def test_card_shows_at_most_first_six_and_last_four(card):
    m = mask_card(card)
    assert m[:6] == card[:6] and m[-4:] == card[-4:] and set(m[6:-4]) == {"*"}


def _longest_digit_run(text):
    return max((len(x) for x in re.findall(r"[0-9]+", text)), default=0)


@given(st.lists(st.tuples(filler, st.one_of(id_numbers, phones, cards)), min_size=1, max_size=4), filler)
def test_mask_text_hides_every_embedded_number(parts, tail):
    text = "".join(f + n for f, n in parts) + tail
    masked = mask_text(text)
    for _, number in parts:
        assert number not in masked
    assert _longest_digit_run(masked) <= 6      # nothing longer than an ID's visible prefix survives


def test_numbers_glued_to_letters_or_each_other_are_still_masked():
    assert mask_text("ID11010519491231002X") == "ID110***********002X"
    assert "13800138000" not in mask_text("11010519491231002X13800138000")
    assert mask_text("联系电话13800138000。") == "联系电话138****8000。"


def test_client_ids_are_uuid7_and_increase():
    ids = [new_client_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    u = uuid.UUID(ids[0])
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert timestamp_ms(ids[0]) <= timestamp_ms(ids[-1])


def test_client_ids_are_unique_across_threads():
    out, lock = [], threading.Lock()

    def work():
        mine = [new_client_id() for _ in range(500)]
        with lock:
            out.extend(mine)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 2000
