"""What an ID card holds: the 256-byte UCS-2LE text block of the four card kinds, parsed into IdCardData.

Layouts (reference/device-protocols.md §1; GA/T 490): resident ID card (byte 248 ' ' or 0), HK/Macau/Taiwan
residence permit ('J'), foreigner's permanent residence card 2017 ('I') and 2023 ('Y'). Byte offsets below
are into the text block; every text field is UCS-2LE, padded with spaces.

IdCardData never shows personal data in repr()/str(): both go through kiosk.domain.masking. The WLT photo
and the fingerprint are opaque bytes (only a vendor library can decode WLT, see devices/idcard/photo.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import Enum
from typing import Optional

from devices.base import CompletionCode, DeviceError
from kiosk.domain.masking import mask_id_number, mask_name

TEXT_LEN = 256
PHOTO_LEN = 1024
FINGERPRINT_LEN = 1024
TYPE_OFFSET = 248
LONG_TERM = "长期"

# GB 3304, 01..56, then 97 and 98.
NATIONS: dict[str, str] = {f"{i:02d}": n for i, n in enumerate(
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺".split(), start=1)}
NATIONS["97"] = "其他"
NATIONS["98"] = "外国血统中国籍人士"

# GB/T 2261.1
GENDERS = {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}


class CardType(str, Enum):
    RESIDENT = "resident"                          # 居民身份证
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证 ('J')
    FOREIGN_PERMANENT_2017 = "foreign_permanent_2017"  # 外国人永久居留身份证 2017 ('I')
    FOREIGN_PERMANENT_2023 = "foreign_permanent_2023"  # 外国人永久居留身份证 2023 ('Y')

    @property
    def label_zh(self) -> str:
        return _TYPE_LABELS[self]

    @property
    def marker(self) -> str:
        return _TYPE_MARKERS[self]


_TYPE_LABELS = {
    CardType.RESIDENT: "居民身份证",
    CardType.HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
    CardType.FOREIGN_PERMANENT_2017: "外国人永久居留身份证（2017版）",
    CardType.FOREIGN_PERMANENT_2023: "外国人永久居留身份证（2023版）",
}
_TYPE_MARKERS = {CardType.RESIDENT: " ", CardType.HMT_RESIDENCE_PERMIT: "J",
                 CardType.FOREIGN_PERMANENT_2017: "I", CardType.FOREIGN_PERMANENT_2023: "Y"}
_MARKER_TYPES = {"J": CardType.HMT_RESIDENCE_PERMIT, "I": CardType.FOREIGN_PERMANENT_2017,
                 "Y": CardType.FOREIGN_PERMANENT_2023}


class CardDataError(DeviceError):
    """The card's text block is not a valid card of a known kind (invalidData)."""

    def __init__(self, description: str, message_zh: str = "身份证信息无法识别，请重新放置或联系工作人员"):
        super().__init__(CompletionCode.INVALID_DATA, "CARD_DATA", description, message_zh)


@dataclass(frozen=True, repr=False)
class IdCardData:
    card_type: CardType
    name: str                       # Chinese name ('I' cards may carry only the English name)
    gender_code: str                # GB/T 2261.1
    birth: date
    id_number: str                  # the card's number (公民身份号码 / 居住证号码 / 永久居留身份证号码)
    valid_from: date
    valid_to: Optional[date]        # None = 长期 (long term)
    nation_code: str = ""           # GB 3304, resident cards only
    address: str = ""
    authority: str = ""             # 签发机关
    photo_wlt: bytes = field(default=b"", compare=False)
    fingerprint: Optional[bytes] = field(default=None, compare=False)
    photo_bmp: Optional[bytes] = field(default=None, compare=False)   # only when a vendor decoder is present
    english_name: str = ""          # foreign cards
    nationality: str = ""           # ISO 3166-1 alpha-3, foreign cards
    pass_number: str = ""           # 'J': 通行证号码
    issue_count: str = ""           # 'J': 签发次数
    renewal_count: str = ""         # 'Y': 换证次数
    card_version: str = ""          # 'I'
    authority_code: str = ""        # 'I': 受理机关代码
    previous_card_link: str = ""    # 'Y': 既往版本证件关联

    @property
    def gender(self) -> str:
        return GENDERS.get(self.gender_code, "未知的性别")

    @property
    def nation(self) -> str:
        return NATIONS.get(self.nation_code, "")

    @property
    def long_term(self) -> bool:
        return self.valid_to is None

    @property
    def validity_text(self) -> str:
        to = LONG_TERM if self.valid_to is None else self.valid_to.strftime("%Y.%m.%d")
        return f"{self.valid_from:%Y.%m.%d}-{to}"

    def expired(self, today: date) -> bool:
        return self.valid_to is not None and today > self.valid_to

    def masked(self) -> dict:
        """What a log line, a technician's screen or a receipt may show."""
        return {
            "card_type": self.card_type.value,
            "name": mask_name(self.name or self.english_name),
            "gender": self.gender,
            "nation": self.nation,
            "id_number": mask_id_number(self.id_number),
            "valid_to": LONG_TERM if self.valid_to is None else self.valid_to.isoformat(),
            "photo": f"{len(self.photo_wlt)} bytes WLT" + (", decoded" if self.photo_bmp else ""),
            "fingerprint": f"{len(self.fingerprint)} bytes" if self.fingerprint else "none",
        }

    def revealed(self) -> dict:
        """Every field in clear (for a technician who asked for it with --reveal); photo bytes excluded."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bytes) or v is None and f.name in ("fingerprint", "photo_bmp"):
                continue
            out[f.name] = v.value if isinstance(v, Enum) else v.isoformat() if isinstance(v, date) else v
        out["valid_to"] = LONG_TERM if self.valid_to is None else self.valid_to.isoformat()
        out["gender"], out["nation"] = self.gender, self.nation
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"IdCardData({inner})"

    __str__ = __repr__

    def with_photo(self, photo_bmp: Optional[bytes]) -> "IdCardData":
        return replace(self, photo_bmp=photo_bmp)


# ---------------------------------------------------------------------------------------------------------
# Text block codec

def _text(block: bytes, off: int, length: int) -> str:
    try:
        s = block[off:off + length].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"field at offset {off} is not UCS-2LE: {exc.reason}") from None
    return s.rstrip(" \x00").strip()


def _put(buf: bytearray, off: int, length: int, value: str) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > length:
        raise ValueError(f"'{value}' does not fit {length} bytes at offset {off}")
    buf[off:off + length] = raw + " ".encode("utf-16-le") * ((length - len(raw)) // 2)


def _date(s: str, what: str) -> date:
    if not re.fullmatch(r"\d{8}", s):
        raise CardDataError(f"{what} '{s}' is not YYYYMMDD")
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        raise CardDataError(f"{what} '{s}' is not a calendar date") from None


def _valid_to(s: str) -> Optional[date]:
    return None if s == LONG_TERM else _date(s, "valid-to date")


def card_type_of(block: bytes) -> CardType:
    marker = block[TYPE_OFFSET:TYPE_OFFSET + 2]
    if marker in (b"  ", b" \x00", b"\x00\x00"):
        return CardType.RESIDENT
    ch = marker.decode("utf-16-le", errors="replace")
    try:
        return _MARKER_TYPES[ch]
    except KeyError:
        raise CardDataError(f"unknown card type marker {marker.hex()} at byte {TYPE_OFFSET}",
                            "无法识别此卡片，请放置第二代居民身份证或居住证、永久居留身份证") from None


def parse_text(block: bytes, photo_wlt: bytes = b"", fingerprint: Optional[bytes] = None,
               validate: bool = True) -> IdCardData:
    """Parse the 256-byte text block. Raises CardDataError (invalidData) for anything that is not a card."""
    if len(block) != TEXT_LEN:
        raise CardDataError(f"text block is {len(block)} bytes, expected {TEXT_LEN}")
    kind = card_type_of(block)
    t = lambda off, n: _text(block, off, n)  # noqa: E731
    if kind in (CardType.RESIDENT, CardType.HMT_RESIDENCE_PERMIT):
        card = IdCardData(
            card_type=kind, name=t(0, 30), gender_code=t(30, 2), nation_code=t(32, 4),
            birth=_date(t(36, 16), "birth date"), address=t(52, 70), id_number=t(122, 36),
            authority=t(158, 30), valid_from=_date(t(188, 16), "valid-from date"), valid_to=_valid_to(t(204, 16)),
            photo_wlt=photo_wlt, fingerprint=fingerprint)
        if kind is CardType.HMT_RESIDENCE_PERMIT:
            card = replace(card, nation_code="", pass_number=t(220, 18), issue_count=t(238, 4))
    elif kind is CardType.FOREIGN_PERMANENT_2017:
        card = IdCardData(
            card_type=kind, english_name=t(0, 120), gender_code=t(120, 2), id_number=t(122, 30),
            nationality=t(152, 6), name=t(158, 30), valid_from=_date(t(188, 16), "valid-from date"),
            valid_to=_valid_to(t(204, 16)), birth=_date(t(220, 16), "birth date"), card_version=t(236, 4),
            authority_code=t(240, 8), authority="公安部", photo_wlt=photo_wlt, fingerprint=fingerprint)
    else:
        card = IdCardData(
            card_type=kind, name=t(0, 30), gender_code=t(30, 2), renewal_count=t(32, 4),
            birth=_date(t(36, 16), "birth date"), english_name=(t(52, 70) + t(220, 22)).strip(),
            id_number=t(122, 36), valid_from=_date(t(188, 16), "valid-from date"), valid_to=_valid_to(t(204, 16)),
            nationality=t(242, 6), previous_card_link=t(250, 6), authority="国家移民管理局",
            photo_wlt=photo_wlt, fingerprint=fingerprint)
    if validate:
        validate_card(card)
    return card


def encode_text(card: IdCardData) -> bytes:
    """The inverse of parse_text (used by the simulator and by tests)."""
    buf = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    d = lambda x: x.strftime("%Y%m%d")  # noqa: E731
    to = LONG_TERM if card.valid_to is None else d(card.valid_to)
    k = card.card_type
    if k in (CardType.RESIDENT, CardType.HMT_RESIDENCE_PERMIT):
        for off, n, v in ((0, 30, card.name), (30, 2, card.gender_code), (36, 16, d(card.birth)),
                          (52, 70, card.address), (122, 36, card.id_number), (158, 30, card.authority),
                          (188, 16, d(card.valid_from)), (204, 16, to)):
            _put(buf, off, n, v)
        if k is CardType.RESIDENT:
            _put(buf, 32, 4, card.nation_code)
        else:
            _put(buf, 220, 18, card.pass_number)
            _put(buf, 238, 4, card.issue_count)
            _put(buf, 248, 2, "J")
    elif k is CardType.FOREIGN_PERMANENT_2017:
        for off, n, v in ((0, 120, card.english_name), (120, 2, card.gender_code), (122, 30, card.id_number),
                          (152, 6, card.nationality), (158, 30, card.name), (188, 16, d(card.valid_from)),
                          (204, 16, to), (220, 16, d(card.birth)), (236, 4, card.card_version),
                          (240, 8, card.authority_code), (248, 2, "I")):
            _put(buf, off, n, v)
    else:
        en1, en2 = card.english_name[:35], card.english_name[35:]
        for off, n, v in ((0, 30, card.name), (30, 2, card.gender_code), (32, 4, card.renewal_count),
                          (36, 16, d(card.birth)), (52, 70, en1), (122, 36, card.id_number),
                          (188, 16, d(card.valid_from)), (204, 16, to), (220, 22, en2),
                          (242, 6, card.nationality), (248, 2, "Y"), (250, 6, card.previous_card_link)):
            _put(buf, off, n, v)
    return bytes(buf)


# ---------------------------------------------------------------------------------------------------------
# Validation of the card's number (GB 11643: ISO 7064 MOD 11-2 check character)

def gb11643_check_char(first17: str) -> str:
    from stdnum.iso7064 import mod_11_2
    return mod_11_2.calc_check_digit(first17)


def _mod11_2_ok(number: str) -> bool:
    from stdnum.iso7064 import mod_11_2
    return mod_11_2.is_valid(number)


_DOC_TYPES = {   # CardType -> kiosk.domain.ids.DocumentType member name
    CardType.RESIDENT: "RESIDENT_ID",
    CardType.HMT_RESIDENCE_PERMIT: "HKMT_RESIDENCE_PERMIT",
    CardType.FOREIGN_PERMANENT_2017: "FOREIGN_PERMANENT_RESIDENCE_2017",
    CardType.FOREIGN_PERMANENT_2023: "FOREIGN_PERMANENT_RESIDENCE_2023",
}


def _domain_check(kind: CardType, number: str) -> None:
    """kiosk.domain.ids owns the ID-number rules (check characters, region and birth); use it when present."""
    try:
        from kiosk.domain import ids
        parse_document, doc_type = ids.parse_document, getattr(ids.DocumentType, _DOC_TYPES[kind])
    except (ImportError, AttributeError):
        return _local_check(kind, number)
    try:
        parse_document(doc_type, number)
    except ValueError as exc:   # kiosk.domain.errors.InvalidDocument is a ValueError with code + message_zh
        raise CardDataError(f"{kind.value} number {mask_id_number(number)}: {exc} "
                            f"({getattr(exc, 'code', 'invalid')})",
                            getattr(exc, "message_zh", "") or "证件号码校验失败，请重新放置或联系工作人员") from None


def _local_check(kind: CardType, n: str) -> None:
    """Fallback while kiosk.domain.ids is not installed: format and GB 11643 check character only."""
    if kind is CardType.RESIDENT:
        ok = re.fullmatch(r"[1-9]\d{16}[\dX]", n) is not None and _mod11_2_ok(n)
    elif kind is CardType.HMT_RESIDENCE_PERMIT:
        ok = re.fullmatch(r"8[123]0000\d{11}[\dX]", n) is not None and _mod11_2_ok(n)
    elif kind is CardType.FOREIGN_PERMANENT_2023:
        ok = re.fullmatch(r"9\d{16}[\dX]", n) is not None and _mod11_2_ok(n)
    else:
        ok = re.fullmatch(r"[A-Z]{3}\d{12}", n) is not None
    if not ok:
        raise CardDataError(f"{kind.value} number {mask_id_number(n)} fails its format or check character",
                            "证件号码校验失败，请重新放置或联系工作人员")


def _number_birth(number: str) -> Optional[str]:
    return number[6:14] if len(number) == 18 else None


def validate_card(card: IdCardData) -> None:
    """Raise CardDataError when the card's number cannot be right for its kind."""
    n, k = card.id_number, card.card_type
    if card.gender_code not in GENDERS:
        raise CardDataError(f"gender code '{card.gender_code}' is not GB/T 2261.1")
    if k is CardType.RESIDENT and card.nation_code not in NATIONS:
        raise CardDataError(f"nation code '{card.nation_code}' is not GB 3304")
    _domain_check(k, n)
    if k is not CardType.FOREIGN_PERMANENT_2017 and _number_birth(n) != card.birth.strftime("%Y%m%d"):
        raise CardDataError(f"birth date on the card does not match the number {mask_id_number(n)}")
    if card.valid_to is not None and card.valid_to < card.valid_from:
        raise CardDataError("valid-to date is before valid-from date")


# ---------------------------------------------------------------------------------------------------------
# The read response: lengths, then text, photo (and fingerprint)

def parse_read_data(data: bytes, with_fingerprint: bool) -> tuple[bytes, bytes, Optional[bytes]]:
    """Split a 30 01 / 30 10 response's data into (text, photo, fingerprint)."""
    n_len = 3 if with_fingerprint else 2
    head = 2 * n_len
    if len(data) < head:
        raise CardDataError(f"read response data of {len(data)} bytes has no length header")
    lens = [int.from_bytes(data[i:i + 2], "big") for i in range(0, head, 2)]
    if head + sum(lens) != len(data):
        raise CardDataError(f"read response lengths {lens} do not add up to {len(data) - head} bytes")
    text = data[head:head + lens[0]]
    photo = data[head + lens[0]:head + lens[0] + lens[1]]
    fp = data[head + lens[0] + lens[1]:] if with_fingerprint and lens[2] else None
    return text, photo, fp


def build_read_data(text: bytes, photo: bytes, fingerprint: Optional[bytes], with_fingerprint: bool) -> bytes:
    lens = [len(text), len(photo)] + ([len(fingerprint or b"")] if with_fingerprint else [])
    head = b"".join(n.to_bytes(2, "big") for n in lens)
    return head + text + photo + ((fingerprint or b"") if with_fingerprint else b"")
