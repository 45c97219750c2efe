"""Masking: the single source used by logs, screens and paper.

ID `330802********1234` (first 6 + last 4), phone `138****8000`, bank card first 6 + last 4 at most,
name: surname kept, the rest as '*'. Free text is scanned for all three number kinds."""
from __future__ import annotations

import re

_ID18 = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_ID15 = r"[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
_HKMT = r"8[123]0000(?:18|19|20)\d{2}\d{4}\d{3}[\dXx]"

# Order matters: IDs (18/15 digits) before card numbers (16-19 digits) so an ID is masked as an ID.
_PATTERNS = [
    ("id", re.compile(rf"(?<![\dA-Za-z])(?:{_ID18}|{_ID15})(?![\dA-Za-z])")),
    ("card", re.compile(r"(?<![\d*])(\d{4}[ -]?){3}\d{4,7}(?![\d*Xx])")),
    ("phone", re.compile(r"(?<![\d*])1[3-9]\d{9}(?![\d*])")),
]


def mask_id_number(number: str) -> str:
    """330802199001011234 -> 330802********1234 (any document number: keep first 6 and last 4)."""
    s = (number or "").strip()
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(phone: str) -> str:
    s = re.sub(r"\D", "", phone or "")
    if len(s) < 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def mask_card(pan: str) -> str:
    """First 6 and last 4 at most (PCI DSS 3.4.1)."""
    s = re.sub(r"\D", "", pan or "")
    if len(s) < 12:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; Latin names keep the first letter of each part."""
    s = (name or "").strip()
    if not s:
        return s
    if s.isascii():
        return " ".join(p[:1] + "*" * (len(p) - 1) for p in s.split())
    return s[0] + "*" * (len(s) - 1)


# Safety net: a run of 11+ digits left after the passes above (numbers glued together or glued to
# letters, e.g. "ID11010519491231002X" or an ID followed directly by a phone) keeps only its first 3 and
# last 4 characters, which is within every rule above.
_LONG_DIGIT_RUN = re.compile(r"\d{11,}[Xx]?")


def mask_text(text: str) -> str:
    """Mask every ID number, bank card number and mobile number found in free text."""
    if not text:
        return text
    out = _PATTERNS[0][1].sub(lambda m: mask_id_number(m.group(0)), text)
    out = _PATTERNS[1][1].sub(lambda m: _mask_card_keep_sep(m.group(0)), out)
    out = _PATTERNS[2][1].sub(lambda m: mask_phone(m.group(0)), out)
    out = _LONG_DIGIT_RUN.sub(lambda m: _keep_3_4(m.group(0)), out)
    return out


def _keep_3_4(s: str) -> str:
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def _mask_card_keep_sep(s: str) -> str:
    digits = re.sub(r"\D", "", s)
    return mask_card(digits)
