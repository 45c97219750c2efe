"""Identity document numbers (reference/hpf-rules.md §5).

- Resident ID, GB 11643-1999: 6-digit address code + YYYYMMDD + 3-digit sequence (odd male, even female)
  + ISO 7064 MOD 11-2 check character. 15-digit numbers (GB 11643-1989) are upgraded with upgrade_15_to_18.
- HK/Macau/Taiwan residence permits: the same layout and check, address code 810000/820000/830000.
- Foreign permanent residence: 2017-and-earlier cards, 15 characters = ISO 3166 alpha-3 nationality +
  4-digit acceptance place (province + city) + YYMMDD + 1 digit + ICAO 9303 7-3-1 check digit;
  2023 cards, 18 characters = '9' + 2-digit province + 3-digit ISO 3166 numeric nationality + YYYYMMDD
  + 3-digit sequence + MOD 11-2 check (the resident-ID algorithm).
The check arithmetic comes from python-stdnum (stdnum.cn.ric); errors carry a code and a Chinese message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from stdnum.cn import ric as _ric

from kiosk.domain.codes import CertificateType, Gender
from kiosk.domain.errors import InvalidDocument

# GB/T 2260 province-level codes (first two digits of the address code).
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
}
PERMIT_REGIONS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}


class DocumentType(Enum):
    """Documents a depositor can identify with, and the national certificate-type code (ZJLX) of each."""
    RESIDENT_ID = ("resident_id", CertificateType.RESIDENT_ID, "居民身份证")
    HKMT_RESIDENCE_PERMIT = ("hkmt_permit", CertificateType.OTHER, "港澳台居民居住证")
    FOREIGN_PERMANENT_RESIDENCE_2017 = ("fpr_2017", CertificateType.FOREIGN_PERMANENT_RESIDENCE,
                                        "外国人永久居留证（2017版）")
    FOREIGN_PERMANENT_RESIDENCE_2023 = ("fpr_2023", CertificateType.FOREIGN_PERMANENT_RESIDENCE,
                                        "外国人永久居留身份证（2023版）")
    PASSPORT = ("passport", CertificateType.PASSPORT, "护照")
    OTHER = ("other", CertificateType.OTHER, "其他证件")

    def __init__(self, key: str, certificate_type: CertificateType, label_zh: str):
        self.key = key
        self.certificate_type = certificate_type
        self.label_zh = label_zh

    @property
    def certificate_code(self) -> str:
        """National certificate-type code (ZJLX): 01 身份证, 03 护照, 04 外国人永久居留证, 99 其他."""
        return self.certificate_type.code


def _fail(code: str, zh: str, en: str) -> InvalidDocument:
    return InvalidDocument(code, zh, en)


def check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character for a 17-digit body ('0'-'9' or 'X')."""
    if len(body17) != 17 or not body17.isdigit():
        raise _fail("ID_FORMAT", "证件号码格式不正确", "check_char needs 17 digits")
    return _ric.calc_check_digit(body17 + "0")


def _birth(text: str, *, today: date | None, code_prefix: str = "ID") -> date:
    try:
        born = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise _fail(f"{code_prefix}_BIRTH_DATE", "证件号码中的出生日期不存在",
                    "birth date in the document number is not a real date") from None
    if born > (today or date.today()):
        raise _fail(f"{code_prefix}_BIRTH_FUTURE", "证件号码中的出生日期晚于今天",
                    "birth date in the document number is in the future")
    if born.year < 1880:
        raise _fail(f"{code_prefix}_BIRTH_DATE", "证件号码中的出生日期不合理",
                    "birth date in the document number is before 1880")
    return born


def _clean(text: str) -> str:
    return re.sub(r"[\s-]", "", text or "").upper()


@dataclass(frozen=True)
class ResidentId:
    """A checked 18-character resident ID or HK/Macau/Taiwan residence-permit number."""
    number: str
    region_code: str
    birth_date: date
    sequence: str
    gender: Gender
    document_type: DocumentType

    @property
    def province(self) -> str:
        return PERMIT_REGIONS.get(self.region_code) or PROVINCES.get(self.region_code[:2], "")

    @property
    def region_name(self) -> str:
        """'浙江省柯城区' from python-stdnum's GB/T 2260 history (valid for the birth year); '' when the
        county code is not in that table (codes are retired and reassigned, so this never rejects a number)."""
        if self.is_residence_permit:
            return self.province
        try:
            info = _ric.get_birth_place(self.number)
        except Exception:   # stdnum raises its own ValidationError for unknown counties
            return ""
        return f"{info.get('province', '')}{info.get('county', '')}"

    @property
    def is_residence_permit(self) -> bool:
        return self.document_type is DocumentType.HKMT_RESIDENCE_PERMIT

    def __str__(self) -> str:  # never print the full number by accident
        from kiosk.domain.masking import mask_id_number
        return mask_id_number(self.number)

    def __repr__(self) -> str:  # tracebacks and debug logs too
        return f"ResidentId({self}, {self.document_type.key}, born {self.birth_date.year}, {self.gender.name})"

    @classmethod
    def parse(cls, text: str, *, today: date | None = None, allow_15: bool = True,
              allow_permit: bool = True) -> "ResidentId":
        """Parse and check a resident ID (or HKMT permit). 15-digit numbers are upgraded to 18.

        Raises InvalidDocument with code ID_FORMAT, ID_CHECKSUM, ID_BIRTH_DATE, ID_BIRTH_FUTURE or ID_REGION."""
        s = _clean(text)
        if len(s) == 15 and allow_15:
            s = upgrade_15_to_18(s, today=today)
        if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
            raise _fail("ID_FORMAT", "身份证号码应为18位，最后一位可以是数字或X",
                        f"resident ID must be 18 characters (17 digits + digit/X), got {len(s)}")
        if check_char(s[:17]) != s[17]:
            raise _fail("ID_CHECKSUM", "身份证号码校验位不正确，请核对后重新输入",
                        "resident ID check character does not match (ISO 7064 MOD 11-2)")
        region = s[:6]
        if region in PERMIT_REGIONS:
            if not allow_permit:
                raise _fail("ID_REGION", "此处需要居民身份证，不接受港澳台居民居住证",
                            "residence permit given where a resident ID is required")
            doc = DocumentType.HKMT_RESIDENCE_PERMIT
        elif region[:2] in PROVINCES:
            doc = DocumentType.RESIDENT_ID
        else:
            raise _fail("ID_REGION", "身份证号码中的地区代码不存在",
                        f"unknown province code {region[:2]} in resident ID")
        born = _birth(s[6:14], today=today)
        seq = s[14:17]
        gender = Gender.MALE if int(seq[2]) % 2 == 1 else Gender.FEMALE
        return cls(s, region, born, seq, gender, doc)

    @classmethod
    def is_valid(cls, text: str, **kw) -> bool:
        try:
            cls.parse(text, **kw)
            return True
        except InvalidDocument:
            return False


def upgrade_15_to_18(number15: str, *, today: date | None = None) -> str:
    """GB 11643-1989 15-digit number -> 18 characters: insert '19' before YYMMDD and append the check char.

    (First-generation 15-digit IDs were issued to people born in the 1900s.)"""
    s = _clean(number15)
    if len(s) != 15 or not s.isdigit():
        raise _fail("ID_FORMAT", "15位身份证号码应全部为数字", "15-digit resident ID must be all digits")
    body = s[:6] + "19" + s[6:]
    _birth(body[6:14], today=today)
    return body + check_char(body)


@dataclass(frozen=True)
class ForeignPermanentResidenceId:
    """A checked foreign permanent residence card number (2017 or 2023 format)."""
    number: str
    document_type: DocumentType
    nationality: str          # ISO 3166 alpha-3 (2017) or numeric-3 (2023)
    province_code: str        # two digits: acceptance province
    birth_date: date
    gender: Gender | None     # the 2023 sequence carries the gender; the 2017 format is not relied on

    def __str__(self) -> str:
        from kiosk.domain.masking import mask_id_number
        return mask_id_number(self.number)

    def __repr__(self) -> str:
        return f"ForeignPermanentResidenceId({self}, {self.document_type.key})"

    @classmethod
    def parse(cls, text: str, *, today: date | None = None) -> "ForeignPermanentResidenceId":
        s = _clean(text)
        if re.fullmatch(r"9\d{16}[\dX]", s):
            if check_char(s[:17]) != s[17]:
                raise _fail("FPR_CHECKSUM", "永久居留身份证号码校验位不正确",
                            "foreign permanent residence number (2023) check character mismatch")
            if s[1:3] not in PROVINCES:
                raise _fail("FPR_REGION", "永久居留身份证号码中的受理地代码不存在",
                            f"unknown acceptance province {s[1:3]}")
            born = _birth(s[6:14], today=today, code_prefix="FPR")
            gender = Gender.MALE if int(s[16]) % 2 == 1 else Gender.FEMALE
            return cls(s, DocumentType.FOREIGN_PERMANENT_RESIDENCE_2023, s[3:6], s[1:3], born, gender)
        if re.fullmatch(r"[A-Z]{3}\d{12}", s):
            if _icao_check(s[:14]) != s[14]:
                raise _fail("FPR_CHECKSUM", "永久居留证号码校验位不正确",
                            "foreign permanent residence number (2017) check digit mismatch (ICAO 7-3-1)")
            if s[3:5] not in PROVINCES:
                raise _fail("FPR_REGION", "永久居留证号码中的受理地代码不存在",
                            f"unknown acceptance province {s[3:5]}")
            yymmdd = s[7:13]
            today = today or date.today()
            century = "20" if int("20" + yymmdd[:2]) <= today.year else "19"
            try:
                born = _birth(century + yymmdd, today=today, code_prefix="FPR")
            except InvalidDocument:
                born = _birth("19" + yymmdd, today=today, code_prefix="FPR")
            return cls(s, DocumentType.FOREIGN_PERMANENT_RESIDENCE_2017, s[:3], s[3:5], born, None)
        raise _fail("FPR_FORMAT", "永久居留证号码格式不正确（15位旧版或18位新版）",
                    "foreign permanent residence number must be 3 letters + 12 digits or 9 + 16 digits + check")


def _icao_check(chars: str) -> str:
    """ICAO Doc 9303 check digit: weights 7,3,1; digits as-is, A=10 … Z=35; sum mod 10."""
    total = 0
    for i, ch in enumerate(chars):
        value = int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


def parse_document(document_type: DocumentType, text: str, *, today: date | None = None):
    """Check a document number of the given type. Passports and 'other' are format-checked only."""
    if document_type in (DocumentType.RESIDENT_ID, DocumentType.HKMT_RESIDENCE_PERMIT):
        parsed = ResidentId.parse(text, today=today)
        if parsed.document_type is not document_type:
            raise _fail("ID_TYPE_MISMATCH", f"证件号码与所选证件类型（{document_type.label_zh}）不符",
                        f"number is a {parsed.document_type.key}, not a {document_type.key}")
        return parsed
    if document_type in (DocumentType.FOREIGN_PERMANENT_RESIDENCE_2017,
                         DocumentType.FOREIGN_PERMANENT_RESIDENCE_2023):
        parsed = ForeignPermanentResidenceId.parse(text, today=today)
        if parsed.document_type is not document_type:
            raise _fail("ID_TYPE_MISMATCH", f"证件号码与所选证件类型（{document_type.label_zh}）不符",
                        f"number is a {parsed.document_type.key}, not a {document_type.key}")
        return parsed
    s = _clean(text)
    if not re.fullmatch(r"[A-Z0-9]{5,20}", s):
        raise _fail("DOC_FORMAT", "证件号码只能包含字母和数字（5至20位）",
                    "document number must be 5-20 letters or digits")
    return s
