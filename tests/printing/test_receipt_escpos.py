"""Receipts as ESC/POS bytes, decoded back into what the customer reads (golden tests for 58 and 80 mm)."""
import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from printing.documents import AmountLine, DocumentError, Receipt
from printing.escpos.decode import DecodeError, EscposDecoder, StatusRequest, decode
from printing.escpos.profiles import ProfileError, get_profile
from printing.escpos.render import (EscposBuilder, RenderError, display_width, qr_matrix, render_end_of_day,
                                    render_receipt, wrap)
from printing.samples import sample_end_of_day, sample_receipt

QR = "https://gjj.example.gov.cn/progress?id=0193f1c2-7a3b-7c4d-9e8f-0123456789ab"

GOLDEN_80 = [
    "衢州市住房公积金中心",
    "住房公积金业务回单",
    "-" * 48,
    "终端编号：                             DEMO-0001",
    "办理时间：                   2026-11-21 10:30:05",
    "业务流水号：              C33080-20261121-000123",
    "受理编号：  0193f1c2-7a3b-7c4d-9e8f-0123456789ab",
    "办理事项：                              租房提取",
    "姓名：                                      张**",
    "证件号码：                    330802********1234",
    "手机号码：                           138****8000",
    "提取原因：                      租赁住房（无房）",
    "收款银行：                  中国建设银行衢州分行",
    "-" * 48,
    "本次提取金额：                        ¥12,500.00",
    "提取后余额：                          ¥87,654.32",
    "-" * 48,
    "已受理，待联网确认",
    "扫码查询办理进度",
    "请妥善保管本回单。业务办理进度可扫码或拨打12329",
    "查询。",
]

GOLDEN_58 = [
    "衢州市住房公积金中心",
    "住房公积金业务回单",
    "-" * 32,
    "终端编号：             DEMO-0001",
    "办理时间：   2026-11-21 10:30:05",
    "业务流水号：",
    "          C33080-20261121-000123",
    "受理编号：",
    "  0193f1c2-7a3b-7c4d-9e8f-012345",
    "                          6789ab",
    "办理事项：              租房提取",
    "姓名：                      张**",
    "证件号码：    330802********1234",
    "手机号码：           138****8000",
    "提取原因：      租赁住房（无房）",
    "收款银行：  中国建设银行衢州分行",
    "-" * 32,
    "本次提取金额：        ¥12,500.00",
    "提取后余额：          ¥87,654.32",
    "-" * 32,
    "已受理，待联网确认",
    "扫码查询办理进度",
    "请妥善保管本回单。业务办理进度可",
    "扫码或拨打12329查询。",
]


@pytest.mark.parametrize("width, columns, golden", [(80, 48, GOLDEN_80), (58, 32, GOLDEN_58)])
def test_withdrawal_receipt_reads_back_line_for_line_and_fits_the_paper(width, columns, golden):
    data = render_receipt(sample_receipt(), width)
    job = decode(data)

    assert job.texts == golden
    assert job.widest() <= columns
    assert all(line.columns <= columns for line in job.lines)
    assert job.qr_payloads == [QR]
    assert len(job.cuts) == 1 and job.cuts[0].partial
    assert job.garbled == 0


def test_receipt_starts_with_init_switches_chinese_mode_on_explicitly_and_off_at_the_end():
    data = render_receipt(sample_receipt(), 80)
    assert data.startswith(b"\x1b@")
    first_chinese = "衢州".encode("gb18030")
    assert data.index(b"\x1c&") < data.index(first_chinese)
    assert data.rstrip(b"\x1ba\x00\x1bE\x00").endswith(b"\x1c.")
    assert "衢州市住房公积金中心".encode("gb18030") in data


def test_title_is_double_size_on_80mm_and_normal_bold_on_58mm_where_it_would_not_fit():
    title80 = decode(render_receipt(sample_receipt(), 80)).lines[1]
    title58 = decode(render_receipt(sample_receipt(), 58)).lines[1]
    assert (title80.double, title80.columns) == (True, 36)
    assert (title58.double, title58.bold, title58.columns) == (False, True, 18)


def test_amount_and_status_lines_are_bold_and_status_is_centered():
    job = decode(render_receipt(sample_receipt(), 80))
    amount = next(l for l in job.lines if l.text.startswith("本次提取金额"))
    status = next(l for l in job.lines if l.text == "已受理，待联网确认")
    assert amount.bold and "¥12,500.00" in amount.text
    assert status.bold and status.align == "center"


def test_a_reprinted_receipt_says_copy_at_the_top_and_bottom():
    job = decode(render_receipt(sample_receipt(copy=True), 58))
    assert job.texts[2] == "** 补打/COPY **"
    assert "补打/COPY" in job.texts[-1]


def test_the_native_qr_is_model_2_with_medium_ecc_and_fits_58mm():
    job = decode(render_receipt(sample_receipt(), 58))
    (qr,) = job.qr_codes
    assert (qr.model, qr.ecc) == (2, "M")
    modules = len(qr_matrix(QR))  # includes the quiet zone
    assert qr.size * modules <= 384


def test_a_printer_without_native_qr_gets_the_same_qr_as_a_raster_image():
    job = decode(render_receipt(sample_receipt(), 58, "basic-raster-qr"))
    assert job.qr_payloads == []
    (raster,) = job.rasters
    matrix = qr_matrix(QR)
    scale = raster.height_dots // len(matrix)
    assert raster.width_dots <= 384
    for y, row in enumerate(matrix):
        assert [raster.dot(x * scale, y * scale) for x in range(len(row))] == row
    assert job.cuts == []  # no cutter on that profile: feed only
    assert "扫码查询办理进度" in job.texts


def test_gbk_only_printer_gets_question_marks_for_characters_gbk_lacks_not_garbage():
    receipt = dataclasses.replace(sample_receipt(), item="租房提取\U0001F600")
    job = decode(render_receipt(receipt, 80, "generic-gbk"), encoding="gbk")
    assert any(t.endswith("租房提取?") for t in job.texts)
    assert job.garbled == 0


def test_control_characters_in_customer_data_cannot_become_printer_commands():
    receipt = dataclasses.replace(sample_receipt(), item="租房\x1dV\x00提取\x1bd\x09", notes=("a\x10\x04\x01b",))
    job = decode(render_receipt(receipt, 80))
    assert len(job.cuts) == 1
    assert any("租房 V 提取 d" in t for t in job.texts)
    assert "a   b" in job.texts
    assert decode(render_receipt(receipt, 80)).events.count(StatusRequest(1)) == 0


def test_unknown_printer_profile_is_refused_with_a_clear_error():
    with pytest.raises(ProfileError) as exc:
        get_profile("epson-unknown")
    assert exc.value.code == "PRINTER_PROFILE" and "generic-gb18030" in str(exc.value)


def test_a_receipt_with_an_unmasked_id_number_is_refused_before_it_reaches_paper():
    with pytest.raises(DocumentError) as exc:
        dataclasses.replace(sample_receipt(), masked_id="330802199001011234")
    assert exc.value.code == "DOC_UNMASKED"
    with pytest.raises(DocumentError):
        dataclasses.replace(sample_receipt(), fields=(("手机", "13800138000"),))


def test_receipt_create_masks_name_id_and_phone():
    r = Receipt.create(name="欧阳娜娜", id_number="330802199001011234", phone="13800138000",
                       center_name="c", terminal_id="T-1", issued_at=sample_receipt().issued_at, serial_no="1",
                       client_id="x", item="查询")
    assert (r.masked_name, r.masked_id, r.masked_phone) == ("欧***", "330802********1234", "138****8000")


def test_amounts_must_be_integer_fen():
    with pytest.raises(DocumentError):
        AmountLine("金额", 12.5)


def test_an_oversized_qr_payload_is_a_clear_render_error():
    receipt = dataclasses.replace(sample_receipt(), qr_payload="x" * 3000)
    with pytest.raises(RenderError) as exc:
        render_receipt(receipt, 80)
    assert exc.value.code == "QR_TOO_LONG"


def test_teller_end_of_day_report_on_the_receipt_printer_shows_counts_and_totals():
    job = decode(render_end_of_day(sample_end_of_day(), 80))
    text = job.text
    assert "租房提取（共8笔）" in text
    assert any(t.startswith("已受理合计 12 笔") and t.endswith("¥210,000.00") for t in job.texts)
    assert any(t.startswith("待确认合计 2 笔") and t.endswith("¥24,000.00") for t in job.texts)
    assert any(t.startswith("已退回合计 1 笔") and t.endswith("¥12,000.00") for t in job.texts)
    assert job.widest() <= 48


def test_decoding_byte_by_byte_gives_the_same_receipt_as_decoding_at_once():
    data = render_receipt(sample_receipt(), 58)
    decoder = EscposDecoder()
    events = []
    for i in range(len(data)):
        events += decoder.feed(data[i:i + 1])
    events += decoder.flush()
    assert events == decode(data).events


def test_strict_decoder_rejects_unknown_commands():
    with pytest.raises(DecodeError):
        decode(b"\x1b@\x1b\xff")


cjk_text = st.text(alphabet=st.sampled_from(list("住房公积金中心，。（）A1 ×—¥-") + ["𠀀"]), max_size=120)


@settings(max_examples=150, deadline=None)
@given(text=cjk_text, columns=st.sampled_from([16, 24, 32, 42, 48]))
def test_wrapping_never_exceeds_the_width_or_loses_a_character(text, columns):
    lines = wrap(text, columns)
    assert all(display_width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@settings(max_examples=60, deadline=None)
@given(text=cjk_text)
def test_any_chinese_text_round_trips_through_the_printer_bytes(text):
    b = EscposBuilder(get_profile("generic-gb18030"), 58)
    b.text(text)
    job = decode(b.end())
    assert "".join(job.texts).replace(" ", "") == text.replace(" ", "")
    assert job.widest() <= 32


def test_chinese_line_breaking_keeps_punctuation_off_the_line_start_and_numbers_whole():
    assert wrap("一二三四五六七八，九十", 16) == ["一二三四五六七", "八，九十"]
    assert wrap("请妥善保管本回单。业务办理进度可扫码或拨打12329查询。", 16) == [
        "请妥善保管本回", "单。业务办理进度", "可扫码或拨打", "12329查询。"]


def test_an_80mm_printer_with_a_512_dot_head_gets_42_columns():
    job = decode(render_receipt(sample_receipt(), 80, "gb18030-512dots"))
    assert job.widest() == 42
    assert "受理编号：" in job.texts and job.qr_payloads == [QR]


def test_the_raster_qr_on_paper_scans_to_the_progress_page():
    cv2 = pytest.importorskip("cv2")
    import numpy as np
    (raster,) = decode(render_receipt(sample_receipt(), 58, "basic-raster-qr")).rasters
    dots = np.array([[0 if raster.dot(x, y) else 255 for x in range(raster.width_dots)]
                     for y in range(raster.height_dots)], dtype=np.uint8)
    payload, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.cvtColor(dots, cv2.COLOR_GRAY2BGR))
    assert payload == QR


@pytest.mark.parametrize("payload", [QR, "x", "住房公积金" * 20, "https://gjj.example.gov.cn/verify?code=8K3F-Q7PD-2M9X",
                                     "0123456789" * 60])
def test_fast_mask_choice_lays_out_the_same_symbols_and_picks_the_same_mask_as_the_qrcode_library(payload):
    import numpy as np
    import qrcode
    from qrcode import constants
    from printing.escpos.qr import _ScoredMaskQR
    ours = _ScoredMaskQR(error_correction=constants.ERROR_CORRECT_M)
    ours.add_data(payload.encode(), optimize=0)
    ours.best_fit()
    chosen = ours.best_mask_pattern()
    lib = qrcode.QRCode(version=ours.version, error_correction=constants.ERROR_CORRECT_M)
    lib.add_data(payload.encode(), optimize=0)
    for k in range(8):
        lib.makeImpl(True, k)
        assert (np.array(lib.modules, dtype=bool) == ours.candidates[k]).all()
    assert chosen == lib.best_mask_pattern()
    final = qrcode.QRCode(version=ours.version, error_correction=constants.ERROR_CORRECT_M, border=4, mask_pattern=chosen)
    final.add_data(payload.encode(), optimize=0)
    final.make(fit=False)
    assert qr_matrix(payload) == final.get_matrix()


def test_a_qr_payload_the_encoder_chokes_on_is_a_clear_render_error(monkeypatch):
    import printing.escpos.qr as qr
    monkeypatch.setattr(qr, "qr_matrix", lambda *a, **k: (_ for _ in ()).throw(ValueError("glog(0)")))
    with pytest.raises(RenderError) as exc:
        render_receipt(sample_receipt(), 58, "basic-raster-qr")
    assert exc.value.code == "QR_ENCODE" and exc.value.message_zh == "二维码生成失败"
