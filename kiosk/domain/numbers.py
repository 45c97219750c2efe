"""Bank card, phone and organisation numbers (reference/hpf-rules.md §5)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import uscc as _uscc

from kiosk.domain.errors import InvalidNumber

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-\d{7,8}$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class BankCard:
    """A bank card number. The Luhn check is advisory: some domestic cards fail it, so a failing card is
    accepted with `luhn_ok=False` and the bank's four-element check decides."""
    number: str
    luhn_ok: bool

    @property
    def is_unionpay(self) -> bool:
        return self.number.startswith("62")

    def __str__(self) -> str:
        from kiosk.domain.masking import mask_card
        return mask_card(self.number)

    def __repr__(self) -> str:
        return f"BankCard({self}, luhn_ok={self.luhn_ok})"

    @classmethod
    def parse(cls, text: str) -> "BankCard":
        s = re.sub(r"[\s-]", "", text or "")
        if not s.isdigit():
            raise InvalidNumber("CARD_FORMAT", "银行卡号只能包含数字", "bank card number must be digits")
        if not 16 <= len(s) <= 19:
            raise InvalidNumber("CARD_LENGTH", "银行卡号应为16至19位数字",
                                f"bank card number must be 16-19 digits, got {len(s)}")
        return cls(s, luhn.is_valid(s))


def parse_mobile(text: str) -> str:
    """11-digit mainland mobile number; spaces, dashes and a +86/86 prefix are removed."""
    s = re.sub(r"[\s-]", "", text or "")
    s = re.sub(r"^(\+?86)(?=1\d{10}$)", "", s)
    if not MOBILE_RE.match(s):
        raise InvalidNumber("PHONE_FORMAT", "手机号码应为以1开头的11位数字",
                            "mobile number must match ^1[3-9]\\d{9}$")
    return s


def parse_landline(text: str) -> str:
    """Landline as 区号-号码, e.g. 0570-3012345 (BDC905 format)."""
    s = re.sub(r"\s", "", text or "")
    if not LANDLINE_RE.match(s):
        raise InvalidNumber("LANDLINE_FORMAT", "固定电话应写成“区号-号码”，例如0570-3012345",
                            "landline must match ^0\\d{2,3}-\\d{7,8}$")
    return s


def organization_code_check(body8: str) -> str:
    """GB 11714 organisation-code check character: W = 3 7 9 10 5 8 4 2, C = 11 - sum mod 11 (10 X, 11 0)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2)))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


@dataclass(frozen=True)
class Uscc:
    """统一社会信用代码 (GB 32100-2015)."""
    number: str

    @property
    def registration_authority(self) -> str:
        return self.number[0]

    @property
    def entity_type(self) -> str:
        return self.number[1]

    @property
    def division_code(self) -> str:
        return self.number[2:8]

    @property
    def organization_code(self) -> str:
        return self.number[8:17]

    @classmethod
    def parse(cls, text: str) -> "Uscc":
        s = re.sub(r"[\s-]", "", text or "").upper()
        if len(s) != 18 or any(c not in _USCC_ALPHABET for c in s) or not s[2:8].isdigit():
            raise InvalidNumber("USCC_FORMAT", "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）",
                                "USCC must be 18 characters from the GB 32100 alphabet")
        if _uscc.calc_check_digit(s[:17]) != s[17]:
            raise InvalidNumber("USCC_CHECKSUM", "统一社会信用代码校验位不正确",
                                "USCC check character mismatch (GB 32100)")
        if organization_code_check(s[8:16]) != s[16]:
            raise InvalidNumber("USCC_ORG_CODE", "统一社会信用代码中的组织机构代码校验不正确",
                                "embedded organisation code fails its GB 11714 check")
        return cls(s)
