"""Reading a UnionPay (PBOC 3.0) bank card and a social-security card (社保卡) over an APDU channel.

Bank card: PSE (contact, SFI + READ RECORD) or PPSE (contactless) -> SELECT AID -> GET PROCESSING OPTIONS
with the PDOL filled -> READ RECORD over the AFL. Only data the card gives without a PIN or a cryptogram is
read; no GENERATE AC, no VERIFY. Social-security card: SELECT "sx1.sh.社会保障", EF05 and EF06 records;
when EF06 needs a PIN we stop there (PINs are never tried).

Results mask themselves in repr/str; the raw numbers are only in the fields for the flow that needs them.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Callable, Optional

from devices.base import CompletionCode, DeviceError
from devices.pcsc import tlv
from devices.pcsc.apdu import ApduChannel, Response, bad_data, command, sw_error
from kiosk.domain.masking import mask_card, mask_id_number, mask_name

log = logging.getLogger(__name__)

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"
SSC_AID = b"sx1.sh." + "社会保障".encode("gbk")

UNIONPAY_AIDS = {
    bytes.fromhex("A000000333010101"): "debit",          # 借记卡
    bytes.fromhex("A000000333010102"): "credit",         # 贷记卡
    bytes.fromhex("A000000333010103"): "quasi_credit",   # 准贷记卡
    bytes.fromhex("A000000333010106"): "e_cash",         # 电子现金
}
CARD_KIND_ZH = {"debit": "借记卡", "credit": "贷记卡", "quasi_credit": "准贷记卡", "e_cash": "电子现金",
                "other": "银行卡"}

MAX_RECORDS_PER_SFI = 32
MAX_AFL_RECORDS = 64


class Interface(str, Enum):
    AUTO = "auto"
    CONTACT = "contact"          # PSE 1PAY.SYS.DDF01
    CONTACTLESS = "contactless"  # PPSE 2PAY.SYS.DDF01


class IdDocumentType(str, Enum):
    """9F62 cardholder ID type (PBOC 3.0 / JR/T 0025)."""
    RESIDENT_ID = "00"
    OFFICER_ID = "01"
    PASSPORT = "02"
    ENTRY_PERMIT = "03"
    TEMPORARY_ID = "04"
    OTHER = "05"

    @property
    def label_zh(self) -> str:
        return {"00": "身份证", "01": "军官证", "02": "护照", "03": "入境证", "04": "临时身份证",
                "05": "其他证件"}[self.value]


@dataclass(frozen=True)
class BankCardData:
    pan: str
    expiry: Optional[dt.date] = None
    cardholder_name: str = ""
    id_number: str = ""
    id_type: Optional[IdDocumentType] = None
    pan_sequence: Optional[int] = None
    aid: str = ""
    label: str = ""
    kind: str = "other"                # debit / credit / quasi_credit / e_cash / other
    interface: str = ""                # contact / contactless

    @property
    def masked_pan(self) -> str:
        return mask_card(self.pan)

    @property
    def kind_zh(self) -> str:
        return CARD_KIND_ZH.get(self.kind, "银行卡")

    def to_dict(self, reveal: bool = False) -> dict:
        d = asdict(self)
        d["expiry"] = self.expiry.isoformat() if self.expiry else None
        d["id_type"] = self.id_type.value if self.id_type else None
        d["id_type_zh"] = self.id_type.label_zh if self.id_type else ""
        d["kind_zh"] = self.kind_zh
        if not reveal:
            d["pan"] = mask_card(self.pan)
            d["cardholder_name"] = mask_name(self.cardholder_name)
            d["id_number"] = mask_id_number(self.id_number)
            d["expiry"] = self.expiry.strftime("%m/%y") if self.expiry else None
        return d

    def __repr__(self) -> str:
        return (f"BankCardData(pan={self.masked_pan}, name={mask_name(self.cardholder_name)!r}, "
                f"id={mask_id_number(self.id_number)!r}, aid={self.aid}, {self.interface})")

    __str__ = __repr__


@dataclass(frozen=True)
class SocialSecurityCardData:
    card_number: str = ""              # 社保卡卡号 (EF05/07)
    spec_version: str = ""             # "2.00" second generation, "3.00" third
    issuer_code: str = ""              # 发卡机构代码 (EF05/04)
    card_identifier: str = ""          # 卡识别码 (EF05/01), hex
    ssn: str = ""                      # 社会保障号码 = ID number (EF06/01)
    name: str = ""                     # EF06/02
    personal_data_locked: bool = False  # EF06 needs the card PIN; we never try one

    def to_dict(self, reveal: bool = False) -> dict:
        d = asdict(self)
        if not reveal:
            d["ssn"] = mask_id_number(self.ssn)
            d["name"] = mask_name(self.name)
            d["card_number"] = mask_id_number(self.card_number)
            d["card_identifier"] = mask_id_number(self.card_identifier)
        return d

    def __repr__(self) -> str:
        return (f"SocialSecurityCardData(card={mask_id_number(self.card_number)!r}, v{self.spec_version}, "
                f"ssn={mask_id_number(self.ssn)!r}, name={mask_name(self.name)!r}, "
                f"locked={self.personal_data_locked})")

    __str__ = __repr__


# ---------------------------------------------------------------- terminal data for the PDOL

# Numeric (n) data elements are right-justified: pad and cut on the left. Everything else on the right.
_NUMERIC_TAGS = {0x9F02, 0x9F03, 0x5F2A, 0x9F1A, 0x9A, 0x9C, 0x9F21, 0x5F36}


def _bcd(n: int, nbytes: int) -> bytes:
    return bytes.fromhex(str(n).rjust(2 * nbytes, "0")[-2 * nbytes:])


def terminal_data(amount_fen: int = 0, now: Optional[dt.datetime] = None,
                  random_bytes: Callable[[int], bytes] = secrets.token_bytes,
                  interface: Interface = Interface.CONTACT) -> dict[int, bytes]:
    """The values this terminal gives for PDOL tags. Amount in integer fen (n12, two implied decimals)."""
    if amount_fen < 0:
        raise ValueError("amount must not be negative")
    now = now or dt.datetime.now()
    return {
        0x9F7A: b"\x00",                          # EC terminal support indicator: no electronic cash
        0x9F02: _bcd(amount_fen, 6),              # amount, authorised
        0x9F03: _bcd(0, 6),                       # amount, other
        0x5F2A: b"\x01\x56",                      # transaction currency CNY
        0x9F1A: b"\x01\x56",                      # terminal country China
        0xDF69: b"\x00",                          # SM algorithm support: not requested
        0x9F66: bytes.fromhex("36000080") if interface is Interface.CONTACTLESS else bytes.fromhex("26000000"),
        0x9F37: random_bytes(4),                  # unpredictable number
        0x9A: bytes.fromhex(now.strftime("%y%m%d")),
        0x9F21: bytes.fromhex(now.strftime("%H%M%S")),
        0x9C: b"\x31",                            # transaction type: inquiry (nothing is paid)
        0x95: bytes(5),                           # TVR
        0x9F35: b"\x14",                          # terminal type: unattended, financial institution
        0x9F33: bytes.fromhex("E0E1C8"),          # terminal capabilities
        0x9F40: bytes.fromhex("6000F0A001"),      # additional terminal capabilities
    }


def fill_dol(dol: list[tuple[int, int]], data: dict[int, bytes]) -> bytes:
    """Concatenate values for each (tag, length); unknown tags are zero-filled to their length."""
    out = bytearray()
    for tag, length in dol:
        value = data.get(tag, bytes(length))
        if len(value) != length:
            if tag in _NUMERIC_TAGS:
                value = value[-length:].rjust(length, b"\x00")
            else:
                value = value[:length].ljust(length, b"\x00")
        out += value
    return bytes(out)


# ---------------------------------------------------------------- bank card

@dataclass
class _Candidate:
    aid: bytes
    label: str = ""
    priority: int = 15


def _text(value: bytes) -> str:
    raw = value.rstrip(b"\x00\xff ").lstrip(b"\x00")
    if not raw:
        return ""
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gbk").strip()
    except UnicodeDecodeError:
        return raw.decode("gbk", errors="replace").strip()


def _candidates_from(tlvs: list[tlv.Tlv]) -> list[_Candidate]:
    out = []
    for entry in tlv.find_all(tlvs, 0x61):
        aid = entry.find(0x4F)
        if not aid or not 5 <= len(aid.value) <= 16:
            continue
        label = entry.find(0x50) or entry.find(0x9F12)
        prio = entry.find(0x87)
        out.append(_Candidate(aid.value, _text(label.value) if label else "",
                              (prio.value[0] & 0x0F) if prio and prio.value else 15))
    return out


def _parse(resp: Response, what: str) -> list[tlv.Tlv]:
    try:
        return tlv.parse(resp.data)
    except tlv.TlvError as exc:
        raise bad_data(f"{what}: malformed TLV from the card ({exc})") from None


def _pse_candidates(ch: ApduChannel) -> list[_Candidate]:
    resp = ch.select_by_name(PSE)
    if not resp.ok:
        log.info("PSE not available (SW %s)", resp.sw_hex)
        return []
    fci = _parse(resp, "SELECT PSE")
    sfi_tlv = tlv.find(fci, 0x88)
    if not sfi_tlv or len(sfi_tlv.value) != 1 or not 1 <= sfi_tlv.value[0] <= 30:
        log.info("PSE FCI without a usable SFI (tag 88)")
        return []
    sfi = sfi_tlv.value[0]
    out: list[_Candidate] = []
    for rec in range(1, MAX_RECORDS_PER_SFI + 1):
        r = ch.read_record(rec, sfi)
        if r.sw == 0x6A83:                 # record not found: the normal end of the directory
            break
        if not r.ok:
            raise sw_error(r.sw, f"READ RECORD PSE SFI {sfi} rec {rec}")
        out += _candidates_from(_parse(r, "PSE record"))
    return out


def _ppse_candidates(ch: ApduChannel) -> list[_Candidate]:
    resp = ch.select_by_name(PPSE)
    if not resp.ok:
        log.info("PPSE not available (SW %s)", resp.sw_hex)
        return []
    return _candidates_from(_parse(resp, "SELECT PPSE"))


def _order(cands: list[_Candidate]) -> list[_Candidate]:
    """UnionPay applications first (debit before credit...), then by the card's own priority."""
    known = list(UNIONPAY_AIDS)

    def key(c: _Candidate):
        return (0 if c.aid in UNIONPAY_AIDS else 1, c.priority,
                known.index(c.aid) if c.aid in UNIONPAY_AIDS else 0)
    seen, out = set(), []
    for c in sorted(cands, key=key):
        if c.aid not in seen:
            seen.add(c.aid)
            out.append(c)
    return out


def _parse_afl(afl: bytes) -> list[tuple[int, int]]:
    if len(afl) % 4:
        raise bad_data(f"AFL of {len(afl)} bytes is not a multiple of 4")
    out = []
    for i in range(0, len(afl), 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        if not 1 <= sfi <= 30 or first < 1 or last < first:
            raise bad_data(f"AFL entry {afl[i:i + 4].hex()} is invalid")
        out += [(sfi, rec) for rec in range(first, last + 1)]
    if len(out) > MAX_AFL_RECORDS:
        raise bad_data(f"AFL lists {len(out)} records")
    return out


def _gpo(ch: ApduChannel, pdol: Optional[bytes], terminal: dict[int, bytes]) -> tuple[bytes, dict[int, bytes]]:
    """GET PROCESSING OPTIONS; returns (AFL, primitive tags the response carried)."""
    try:
        values = fill_dol(tlv.parse_dol(pdol), terminal) if pdol else b""
    except tlv.TlvError as exc:
        raise bad_data(f"PDOL is malformed ({exc})") from None
    resp = ch.send(command(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, values), le=0))
    if not resp.ok:
        raise sw_error(resp.sw, "GET PROCESSING OPTIONS")
    tlvs = _parse(resp, "GPO")
    if not tlvs:
        raise bad_data("empty GPO response")
    top = tlvs[0]
    if top.tag == 0x80:                    # format 1: AIP (2) || AFL
        if len(top.value) < 2:
            raise bad_data("GPO format 1 shorter than the AIP")
        return top.value[2:], {}
    if top.tag == 0x77:                    # format 2: template with 82 AIP, 94 AFL (qPBOC adds card data)
        prims = tlv.primitives([top])
        return prims.get(0x94, b""), prims
    raise bad_data(f"GPO response template {tlv.tag_hex(top.tag)} is unknown")


def _bcd_digits(value: bytes) -> str:
    return value.hex().upper().rstrip("F")


def _date(yymmdd: bytes) -> Optional[dt.date]:
    s = yymmdd.hex()
    try:
        yy, mm, dd = int(s[0:2]), int(s[2:4]), int(s[4:6])
        return dt.date(2000 + yy, mm, dd)
    except ValueError:
        return None


def _expiry_from_track2(t2: str) -> Optional[dt.date]:
    try:
        yymm = t2.split("D", 1)[1][:4]
        y, m = 2000 + int(yymm[:2]), int(yymm[2:])
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    except (IndexError, ValueError):
        return None


def _bank_card_from(tags: dict[int, bytes], cand: _Candidate, interface: Interface) -> BankCardData:
    track2 = _bcd_digits(tags[0x57]) if 0x57 in tags else ""
    pan = _bcd_digits(tags[0x5A]) if 0x5A in tags else track2.split("D", 1)[0]
    if not pan.isdigit() or not 12 <= len(pan) <= 19:
        raise bad_data("card has no valid PAN (5A / 57)")
    expiry = _date(tags[0x5F24]) if 0x5F24 in tags else _expiry_from_track2(track2)
    name = _text(tags.get(0x9F0B, b"")) or _text(tags.get(0x5F20, b""))
    if name in ("/", "."):
        name = ""
    id_number = _text(tags.get(0x9F61, b"")).upper()
    id_type = None
    if 0x9F62 in tags and tags[0x9F62]:
        try:
            id_type = IdDocumentType(f"{tags[0x9F62][0]:02X}")
        except ValueError:
            id_type = IdDocumentType.OTHER
    elif id_number:
        id_type = IdDocumentType.RESIDENT_ID if len(id_number) == 18 else IdDocumentType.OTHER
    seq = tags.get(0x5F34)
    label = _text(tags.get(0x50, b"")) or cand.label
    return BankCardData(pan=pan, expiry=expiry, cardholder_name=name, id_number=id_number, id_type=id_type,
                        pan_sequence=int(seq.hex()) if seq and seq.hex().isdigit() else None,
                        aid=cand.aid.hex().upper(), label=label,
                        kind=UNIONPAY_AIDS.get(cand.aid, "other"), interface=interface.value)


def read_bank_card(ch: ApduChannel, interface: Interface | str = Interface.AUTO,
                   terminal: Optional[dict[int, bytes]] = None) -> BankCardData:
    """The whole read. Raises DeviceError (with a Chinese message) when the card cannot be read."""
    interface = Interface(interface)
    order = {Interface.CONTACT: [Interface.CONTACT], Interface.CONTACTLESS: [Interface.CONTACTLESS],
             Interface.AUTO: [Interface.CONTACT, Interface.CONTACTLESS]}[interface]
    cands: list[_Candidate] = []
    used = order[0]
    for itf in order:
        cands = _pse_candidates(ch) if itf is Interface.CONTACT else _ppse_candidates(ch)
        if cands:
            used = itf
            break
    if not cands:                          # no directory: try the UnionPay AIDs one by one
        log.info("no PSE/PPSE directory; selecting UnionPay AIDs directly")
        cands = [_Candidate(aid) for aid in UNIONPAY_AIDS]
    terminal = terminal or terminal_data(interface=used)
    last_error: DeviceError = sw_error(0x6A82, "SELECT UnionPay application")
    for cand in _order(cands):
        resp = ch.select_by_name(cand.aid)
        if not resp.ok:
            last_error = sw_error(resp.sw, "SELECT UnionPay application")
            log.info("application %s not selectable (SW %s)", cand.aid.hex().upper(), resp.sw_hex)
            continue
        fci = _parse(resp, "SELECT AID")
        fci_tags = tlv.primitives(fci)
        try:
            afl, tags = _gpo(ch, fci_tags.get(0x9F38), terminal)
        except DeviceError as exc:
            # EMV Book 1 12.4: GPO 6985 means "not for this terminal": try the next application
            if exc.completion.error_code != "SW6985":
                raise
            last_error = exc
            log.info("application %s refused GPO (6985); trying the next one", cand.aid.hex().upper())
            continue
        for tag, value in fci_tags.items():
            tags.setdefault(tag, value)
        for sfi, rec in _parse_afl(afl):
            r = ch.read_record(rec, sfi)
            if not r.ok:
                raise sw_error(r.sw, f"READ RECORD SFI {sfi} rec {rec}")
            for tag, value in tlv.primitives(_parse(r, "record")).items():
                tags.setdefault(tag, value)
        card = _bank_card_from(tags, cand, used)
        log.info("bank card read: %s", card)
        return card
    raise last_error


# ---------------------------------------------------------------- social-security card

def _ssc_records(ch: ApduChannel, fid: int, records: tuple[int, ...]) -> Optional[dict[int, bytes]]:
    """Records of one EF as {record number: value}; None when the EF needs a PIN."""
    r = ch.select_file(fid)
    if r.sw in (0x6982, 0x6985):
        return None
    if not r.ok:
        raise sw_error(r.sw, f"SELECT EF {fid:04X}")
    out: dict[int, bytes] = {}
    for rec in records:
        r = ch.read_record(rec)
        if r.sw in (0x6982, 0x6985):
            return None
        if r.sw == 0x6A83:
            continue
        if not r.ok:
            raise sw_error(r.sw, f"READ RECORD EF {fid:04X} rec {rec}")
        for t in _parse(r, f"EF {fid:04X} record"):
            out.setdefault(t.tag, t.value)
    return out


def read_social_security_card(ch: ApduChannel) -> SocialSecurityCardData:
    """Card data from EF05 and, where the card allows it without a PIN, personal data from EF06."""
    r = ch.select_by_name(SSC_AID)
    if not r.ok:
        if r.sw in (0x6A82, 0x6A81):
            raise DeviceError(CompletionCode.UNSUPPORTED, f"SW{r.sw:04X}",
                              f"SELECT social-security application: SW {r.sw_hex}",
                              "这不是社会保障卡，请插入社保卡")
        raise sw_error(r.sw, "SELECT social-security application")
    ef05 = _ssc_records(ch, 0xEF05, (1, 3, 4, 7))
    if ef05 is None:
        raise DeviceError(CompletionCode.UNSUPPORTED, "SSC_LOCKED", "EF05 needs the card PIN", MSG_SSC_PIN)
    ef06 = _ssc_records(ch, 0xEF06, (1, 2))
    data = SocialSecurityCardData(
        card_identifier=ef05.get(1, b"").hex().upper(), spec_version=_text(ef05.get(3, b"")),
        issuer_code=_text(ef05.get(4, b"")), card_number=_text(ef05.get(7, b"")),
        ssn=_text(ef06.get(1, b"")).upper() if ef06 else "", name=_text(ef06.get(2, b"")) if ef06 else "",
        personal_data_locked=ef06 is None)
    log.info("social-security card read: %s", data)
    return data


MSG_SSC_PIN = "该社保卡需要密码才能读取，请到柜台办理"
