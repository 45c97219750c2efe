"""Synthetic cards: the same models answer APDUs in-process (sim.py) and over vpcd (vcard.py).

They behave like the real ones where it matters to the reader code: a T=0 card answers 61xx and waits for
GET RESPONSE; some cards answer 6Cxx to Le=00; a record outside the file gives 6A83; EF06 of a locked
social-security card gives 6982 until a PIN is verified (and we never verify one).
The holder data is configurable so a demo person's own card can be emulated (CardHolder).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Callable, Optional

from devices.pcsc import tlv
from devices.pcsc.emv import PPSE, PSE, SSC_AID

enc, build = tlv.encode, tlv.build

SW_OK = b"\x90\x00"
ATR_UNIONPAY = bytes.fromhex("3B6D00000086384231200DD1902A00")      # shape of a PBOC contact card ATR
ATR_SSC = bytes.fromhex("3B6C00000086384231200A0002C1")


@dataclass(frozen=True)
class CardHolder:
    """Who the synthetic card belongs to. Defaults are obviously fictitious (check digits valid)."""
    name: str = "张三"
    id_number: str = "11010519491231002X"
    id_type: str = "00"                      # 9F62
    pan: str = "6217000010000000007"         # UnionPay debit BIN, Luhn-valid
    expiry: dt.date = dt.date(2031, 12, 31)
    pan_sequence: int = 1
    ssc_card_number: str = "A12345678"


def luhn_ok(pan: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _bcd_pan(pan: str) -> bytes:
    s = pan + ("F" if len(pan) % 2 else "")
    return bytes.fromhex(s)


class CardModel:
    """Base: answers one C-APDU at a time. respond() returns the R-APDU, or None for a mute card."""

    name = "card"
    atr = ATR_UNIONPAY

    def reset(self) -> None:
        pass

    def respond(self, apdu: bytes) -> Optional[bytes]:
        raise NotImplementedError


class T0Card(CardModel):
    """Case-4 answers go out as 61xx first, like a T=0 card; GET RESPONSE fetches them (in pieces)."""

    t0 = True
    le_quirk = False                 # answer READ RECORD with Le=00 by 6Cxx first

    def __init__(self):
        self._pending = b""

    def reset(self) -> None:
        self._pending = b""

    def respond(self, apdu: bytes) -> Optional[bytes]:
        if len(apdu) < 4:
            return b"\x67\x00"
        ins = apdu[1]
        if ins == 0xC0:                                   # GET RESPONSE
            if not self._pending:
                return b"\x69\x85"
            le = apdu[4] if len(apdu) > 4 else 0
            le = le or 256
            chunk, self._pending = self._pending[:le], self._pending[le:]
            return chunk + (bytes([0x61, min(len(self._pending), 255) & 0xFF]) if self._pending else SW_OK)
        self._pending = b""
        body, sw = self.process(apdu)
        if not body or sw != SW_OK:
            return body + sw
        if self.le_quirk and ins == 0xB2 and len(apdu) == 5 and apdu[4] == 0:
            if len(body) < 256:
                return bytes([0x6C, len(body)])
        if self.le_quirk and ins == 0xB2 and len(apdu) == 5 and apdu[4] and apdu[4] < len(body):
            return bytes([0x6C, len(body)])
        if self.t0 and ins != 0xB2:
            self._pending = body
            return bytes([0x61, len(body) if len(body) < 256 else 0])
        return body + sw

    def process(self, apdu: bytes) -> tuple[bytes, bytes]:
        raise NotImplementedError


def _lc_data(apdu: bytes) -> bytes:
    if len(apdu) <= 5:
        return b""
    lc = apdu[4]
    return apdu[5:5 + lc]


class UnionPayCard(T0Card):
    """A PBOC 3.0 UnionPay card with PSE (contact) and/or PPSE (contactless) directories."""

    name = "unionpay"

    def __init__(self, holder: CardHolder = CardHolder(), aid: bytes = bytes.fromhex("A000000333010101"),
                 label: str = "UnionPay Debit", pse: bool = True, ppse: bool = True, with_name: bool = True,
                 gpo_format: int = 77, pdol: bytes = bytes.fromhex("9F7A019F02065F2A02DF69019F66049F37049A039C01"),
                 t0: bool = True, le_quirk: bool = False, name_tag: int = 0x5F20):
        super().__init__()
        self.holder, self.aid, self.label = holder, aid, label
        self.pse, self.ppse, self.with_name = pse, ppse, with_name
        self.gpo_format, self.pdol, self.t0, self.le_quirk, self.name_tag = gpo_format, pdol, t0, le_quirk, name_tag
        self.selected: Optional[bytes] = None
        self.last_gpo_data: Optional[bytes] = None
        self.commands: list[bytes] = []          # headers seen, for tests (no data kept)

    def reset(self) -> None:
        super().reset()
        self.selected = None

    # --- data on the card
    def _directory_entry(self) -> bytes:
        return build(0x61, enc(0x4F, self.aid), enc(0x50, self.label.encode()), enc(0x87, b"\x01"))

    def _records(self) -> dict[tuple[int, int], bytes]:
        h = self.holder
        t2 = h.pan + "D" + h.expiry.strftime("%y%m") + "220" + "1" * 13
        t2 += "F" if len(t2) % 2 else ""
        rec1 = [enc(0x57, bytes.fromhex(t2)), enc(0x5A, _bcd_pan(h.pan)),
                enc(0x5F24, bytes.fromhex(h.expiry.strftime("%y%m%d"))),
                enc(0x5F25, bytes.fromhex("210101")), enc(0x5F34, bytes.fromhex(f"{h.pan_sequence:02d}"))]
        rec2 = []
        if self.with_name:
            name = h.name.encode("ascii") if h.name.isascii() else h.name.encode("gbk")
            rec2.append(enc(self.name_tag, name))
            rec2.append(enc(0x9F61, h.id_number.encode("ascii")))
            rec2.append(enc(0x9F62, bytes.fromhex(h.id_type)))
        else:
            rec2.append(enc(0x5F20, b" /"))
        rec2.append(enc(0x9F08, b"\x00\x30"))
        return {(1, 1): build(0x70, *rec1), (1, 2): build(0x70, *rec2),
                (2, 1): build(0x70, enc(0x8C, bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")),
                              enc(0x8D, bytes.fromhex("8A029F0206")))}

    AFL = bytes.fromhex("08010200" "10010100")

    def process(self, apdu: bytes) -> tuple[bytes, bytes]:
        self.commands.append(apdu[:4])
        cla, ins, p1, p2 = apdu[:4]
        data = _lc_data(apdu)
        if ins == 0xA4 and p1 == 0x04:
            return self._select(data)
        if ins == 0xB2:
            sfi = p2 >> 3
            if self.selected == PSE and sfi == 1:
                recs = {1: build(0x70, self._directory_entry())}
                return (recs[p1], SW_OK) if p1 in recs else (b"", b"\x6A\x83")
            if self.selected == self.aid:
                rec = self._records().get((sfi, p1))
                return (rec, SW_OK) if rec else (b"", b"\x6A\x83")
            return b"", b"\x69\x85"
        if cla == 0x80 and ins == 0xA8:
            return self._gpo(data)
        if cla == 0x80 and ins == 0xCA:
            return b"", b"\x6A\x88"
        return b"", b"\x6D\x00"

    def _select(self, name: bytes) -> tuple[bytes, bytes]:
        if name == PSE and self.pse:
            self.selected = PSE
            return build(0x6F, enc(0x84, PSE), build(0xA5, enc(0x88, b"\x01"), enc(0x5F2D, b"zh"))), SW_OK
        if name == PPSE and self.ppse:
            self.selected = PPSE
            return build(0x6F, enc(0x84, PPSE), build(0xA5, build(0xBF0C, self._directory_entry()))), SW_OK
        if name == self.aid:
            self.selected = self.aid
            props = [enc(0x50, self.label.encode()), enc(0x87, b"\x01")]
            if self.pdol:
                props.append(enc(0x9F38, self.pdol))
            props.append(build(0xBF0C, enc(0x9F4D, b"\x0B\x0A")))
            return build(0x6F, enc(0x84, self.aid), build(0xA5, *props)), SW_OK
        self.selected = None
        return b"", b"\x6A\x82"

    def _gpo(self, data: bytes) -> tuple[bytes, bytes]:
        if self.selected != self.aid:
            return b"", b"\x69\x85"
        expected = sum(n for _, n in tlv.parse_dol(self.pdol)) if self.pdol else 0
        if len(data) < 2 or data[0] != 0x83 or data[1] != expected or len(data) != 2 + expected:
            return b"", b"\x67\x00"
        self.last_gpo_data = data[2:]
        aip = b"\x7C\x00"
        if self.gpo_format == 80:
            return enc(0x80, aip + self.AFL), SW_OK
        return build(0x77, enc(0x82, aip), enc(0x94, self.AFL)), SW_OK


class SocialSecurityCard(T0Card):
    """A second/third-generation 社保卡: EF05 readable; EF06 readable unless pin_protected."""

    name = "ssc"
    atr = ATR_SSC

    def __init__(self, holder: CardHolder = CardHolder(), version: str = "3.00", pin_protected: bool = False):
        super().__init__()
        self.holder, self.version, self.pin_protected = holder, version, pin_protected
        self.app_selected = False
        self.ef: Optional[int] = None
        self.verify_attempts = 0

    def reset(self) -> None:
        super().reset()
        self.app_selected, self.ef = False, None

    def process(self, apdu: bytes) -> tuple[bytes, bytes]:
        cla, ins, p1, p2 = apdu[:4]
        data = _lc_data(apdu)
        if ins == 0x20:
            self.verify_attempts += 1
            return b"", b"\x63\xC2"
        if ins == 0xA4 and p1 == 0x04:
            self.app_selected = data == SSC_AID
            self.ef = None
            return (build(0x6F, enc(0x84, SSC_AID)), SW_OK) if self.app_selected else (b"", b"\x6A\x82")
        if ins == 0xA4 and p1 == 0x02:
            if not self.app_selected:
                return b"", b"\x69\x85"
            fid = int.from_bytes(data, "big") if len(data) == 2 else 0
            if fid not in (0xEF05, 0xEF06):
                return b"", b"\x6A\x82"
            self.ef = fid
            return b"", SW_OK
        if ins == 0xB2 and p2 == 0x04:
            h = self.holder
            if self.ef == 0xEF05:
                recs = {1: bytes.fromhex("33080000000000000000000000000001"), 3: self.version.encode(),
                        4: b"330800D156000005", 7: h.ssc_card_number.encode()}
            elif self.ef == 0xEF06:
                if self.pin_protected:
                    return b"", b"\x69\x82"
                recs = {1: h.id_number.encode(), 2: h.name.encode("gbk").ljust(30, b"\x00"),
                        3: b"1", 4: b"01", 5: bytes.fromhex("19491231")}
            else:
                return b"", b"\x69\x86"
            return (enc(p1, recs[p1]), SW_OK) if p1 in recs else (b"", b"\x6A\x83")
        return b"", b"\x6D\x00"


class MuteCard(CardModel):
    """Powers up (gives its ATR) and then never answers a command."""

    name = "mute"

    def respond(self, apdu: bytes) -> Optional[bytes]:
        return None


def _unionpay(**kw) -> Callable[[CardHolder], CardModel]:
    return lambda holder: UnionPayCard(holder, **kw)


# The named cards a technician, the demo panel and the tests can insert.
CARDS: dict[str, Callable[[CardHolder], CardModel]] = {
    "unionpay": _unionpay(),                                                   # contact + contactless
    "unionpay-contactless": _unionpay(pse=False),                              # only PPSE answers
    "unionpay-credit": _unionpay(aid=bytes.fromhex("A000000333010102"), label="UnionPay Credit",
                                 gpo_format=80, le_quirk=True, name_tag=0x9F0B),
    "unionpay-noname": _unionpay(with_name=False),
    "unionpay-nodir": _unionpay(pse=False, ppse=False, t0=False),             # no directory at all
    "ssc": lambda holder: SocialSecurityCard(holder),
    "ssc-locked": lambda holder: SocialSecurityCard(holder, version="2.00", pin_protected=True),
    "mute": lambda holder: MuteCard(),
}

CARD_DESCRIPTIONS_ZH = {
    "unionpay": "银联借记卡（接触+非接）", "unionpay-contactless": "银联借记卡（仅非接）",
    "unionpay-credit": "银联贷记卡", "unionpay-noname": "未写入姓名的银联卡", "unionpay-nodir": "无目录的银联卡",
    "ssc": "第三代社保卡", "ssc-locked": "需密码的社保卡", "mute": "无响应的卡",
}


def make_card(kind: str, holder: Optional[CardHolder] = None, **holder_fields) -> CardModel:
    """A fresh card model by kind; holder fields (name, id_number, pan, ...) override the defaults."""
    if kind not in CARDS:
        raise KeyError(f"unknown card '{kind}' (known: {', '.join(sorted(CARDS))})")
    holder = replace(holder or CardHolder(), **{k: v for k, v in holder_fields.items() if v is not None})
    if not (holder.pan.isdigit() and 12 <= len(holder.pan) <= 19):
        raise ValueError("card number must be 12-19 digits")
    return CARDS[kind](holder)
