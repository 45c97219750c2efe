"""Money: amounts are integer fen (分). Decimal or text only at the edges, never float."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from kiosk.domain.errors import InvalidAmount

_AMOUNT_RE = re.compile(r"^(?P<sign>[-+]?)[¥￥]?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d{1,2}))?$")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿")
MAX_UPPERCASE_FEN = 10 ** 12 * 100 - 1   # 9,999 亿 9,999 万 9,999 元 9 角 9 分


def parse_yuan(value: "str | int | Decimal", *, allow_negative: bool = False,
               max_fen: int | None = None) -> int:
    """'1,234.56' / '¥1234.5' / Decimal('1.20') / 12 (yuan) -> fen. Floats are refused (binary rounding).

    Raises InvalidAmount: AMOUNT_TYPE, AMOUNT_FORMAT, AMOUNT_PRECISION, AMOUNT_NEGATIVE, AMOUNT_TOO_LARGE."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount("AMOUNT_TYPE", "金额格式不正确", "amounts must not be floats; pass str or Decimal")
    if isinstance(value, int):
        fen = value * 100
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount("AMOUNT_FORMAT", "金额格式不正确", "amount is not a finite number")
        try:
            value.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise InvalidAmount("AMOUNT_TOO_LARGE", "金额过大", "amount too large") from None
        if value != value.quantize(Decimal("0.01")):
            raise InvalidAmount("AMOUNT_PRECISION", "金额最多精确到分（两位小数）",
                                "amount has more than two decimals")
        fen = int(value * 100)
    elif isinstance(value, str):
        s = value.strip().replace(" ", "")
        m = _AMOUNT_RE.match(s)
        if not m:
            if re.match(r"^[-+]?[¥￥]?[\d,]+\.\d{3,}$", s):
                raise InvalidAmount("AMOUNT_PRECISION", "金额最多精确到分（两位小数）",
                                    "amount has more than two decimals")
            raise InvalidAmount("AMOUNT_FORMAT", "金额格式不正确，请输入如 1,234.56 的金额",
                                "amount is not a plain yuan amount like 1,234.56")
        frac = (m.group("frac") or "").ljust(2, "0")
        fen = int(m.group("int").replace(",", "")) * 100 + int(frac or 0)
        if m.group("sign") == "-":
            fen = -fen
    else:
        raise InvalidAmount("AMOUNT_TYPE", "金额格式不正确", f"cannot read an amount from {type(value).__name__}")
    if fen < 0 and not allow_negative:
        raise InvalidAmount("AMOUNT_NEGATIVE", "金额不能为负数", "negative amount not allowed here")
    if max_fen is not None and abs(fen) > max_fen:
        raise InvalidAmount("AMOUNT_TOO_LARGE", f"金额不能超过{format_yuan(max_fen)}",
                            f"amount exceeds the maximum of {max_fen} fen")
    return fen


def to_decimal(fen: int) -> Decimal:
    """fen -> Decimal yuan with two places (for the wire and for reports)."""
    _check_int(fen)
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: int, *, symbol: bool = True) -> str:
    """123456 -> '¥1,234.56'; -5 -> '-¥0.05'."""
    _check_int(fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{yuan:,}.{cents:02d}"


def chinese_uppercase(fen: int) -> str:
    """Amount in Chinese capital numerals for cheques and certificates (中文大写金额).

    123456 -> 壹仟贰佰叁拾肆元伍角陆分; 100000 -> 壹仟元整; 10050 -> 壹佰元伍角整; 105 -> 壹元零伍分.
    Rules (支付结算办法 附件): a run of zeros inside the yuan part is written once (壹万零伍元), a zero jiao
    before a fen is written 零 (壹元零伍分), 整 follows 元 or 角 when there is no fen, 0 -> 零元整.
    Supported up to 999,999,999,999.99 yuan (9,999 亿…, below 万亿); negative amounts get 负."""
    _check_int(fen)
    if abs(fen) > MAX_UPPERCASE_FEN:
        raise InvalidAmount("AMOUNT_TOO_LARGE", "金额过大，无法转换为大写", "amount too large for uppercase")
    if fen < 0:
        return "负" + chinese_uppercase(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, fen_ = divmod(rest, 10)
    out = ""
    if yuan:
        out = _yuan_part(yuan) + "元"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen_ and yuan:
        out += "零"
    if fen_:
        out += _DIGITS[fen_] + "分"
    else:
        out = (out or "零元") + "整"
    return out


def _group(n: int) -> str:
    """0 < n < 10000 -> 壹仟零伍 style, without leading 零."""
    text, zero = "", False
    for pos in range(3, -1, -1):
        d = n // 10 ** pos % 10
        if d:
            if zero and text:
                text += "零"
            text += _DIGITS[d] + _SMALL_UNITS[pos]
            zero = False
        else:
            zero = True
    return text


def _yuan_part(yuan: int) -> str:
    groups = []
    while yuan:
        yuan, g = divmod(yuan, 10000)
        groups.append(g)
    text = ""
    need_zero = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(text)
            continue
        if text and (need_zero or g < 1000):
            text += "零"
        text += _group(g) + _GROUP_UNITS[idx]
        need_zero = False
    return text


def _check_int(fen) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidAmount("AMOUNT_TYPE", "金额格式不正确", f"fen must be int, got {type(fen).__name__}")
