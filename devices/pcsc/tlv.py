"""BER-TLV as EMV/PBOC cards use it (EMV Book 3 annex B, ISO/IEC 7816-4 §5.2).

- Tags of 1 to 4 bytes (first byte low 5 bits = 11111 means "more bytes follow while b8 is set").
- Definite lengths only: short form (< 0x80) or long form 0x81..0x84. The indefinite form (0x80) is refused:
  EMV forbids it and accepting it would let a broken card make us scan to the end of the buffer.
- Constructed objects (bit 6 of the first tag byte) are parsed into children, to a bounded depth.
- 0x00 and 0xFF between objects are padding (EMV Book 3 B1) and are skipped.

Every malformed input raises TlvError (a ValueError) and nothing else: the parser never loops without
consuming input and never recurses deeper than MAX_DEPTH. No PyPI BER-TLV package is maintained
(ber-tlv 0.0.6, pytlv 0.71 from 2017), so this small strict parser is kept here with a fuzz test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

MAX_DEPTH = 12
MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4


class TlvError(ValueError):
    """Malformed BER-TLV. `offset` is where in the buffer the problem was found."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    children: tuple["Tlv", ...] = field(default=(), repr=False)

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def find(self, tag: int) -> Optional["Tlv"]:
        return find(self.children, tag)

    def encode(self) -> bytes:
        return encode(self.tag, self.value)

    def __repr__(self) -> str:  # values may be personal data: show only tag and length
        return f"Tlv({tag_hex(self.tag)}, {len(self.value)} bytes)"


def tag_hex(tag: int) -> str:
    return f"{tag:X}".rjust(2 * tag_length(tag), "0")


def tag_length(tag: int) -> int:
    n = 1
    while tag >> (8 * n):
        n += 1
    return n


def is_constructed(tag: int) -> bool:
    first = tag >> (8 * (tag_length(tag) - 1))
    return bool(first & 0x20)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvError("tag runs past the end", start)
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            if pos - start > MAX_TAG_BYTES:
                raise TlvError("tag longer than 4 bytes", start)
            if not b & 0x80:
                break
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("length missing", pos)
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    if b == 0x80:
        raise TlvError("indefinite length is not allowed", pos)
    n = b & 0x7F
    if n > MAX_LENGTH_BYTES:
        raise TlvError(f"length field of {n} bytes", pos)
    if pos + 1 + n > len(data):
        raise TlvError("length field runs past the end", pos)
    return int.from_bytes(data[pos + 1:pos + 1 + n], "big"), pos + 1 + n


def _parse(data: bytes, base: int, depth: int) -> list[Tlv]:
    if depth > MAX_DEPTH:
        raise TlvError("objects nested too deeply", base)
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        start = pos
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if pos + length > len(data):
            raise TlvError(f"value of tag {tag_hex(tag)} ({length} bytes) runs past the end", base + start)
        value = bytes(data[pos:pos + length])
        children: tuple[Tlv, ...] = ()
        if is_constructed(tag):
            children = tuple(_parse(value, base + pos, depth + 1))
        out.append(Tlv(tag, value, children))
        pos += length
    return out


def parse(data: bytes) -> list[Tlv]:
    """Parse a buffer of concatenated BER-TLV objects (e.g. an R-APDU body without SW1 SW2)."""
    return _parse(bytes(data), 0, 0)


def walk(tlvs: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every object, depth first, parents before their children."""
    for t in tlvs:
        yield t
        yield from walk(t.children)


def find(tlvs: Iterable[Tlv], tag: int) -> Optional[Tlv]:
    """The first object with `tag` anywhere in the tree, or None."""
    return next((t for t in walk(tlvs) if t.tag == tag), None)


def find_all(tlvs: Iterable[Tlv], tag: int) -> list[Tlv]:
    return [t for t in walk(tlvs) if t.tag == tag]


def primitives(tlvs: Iterable[Tlv]) -> dict[int, bytes]:
    """Primitive tag -> value over the whole tree; the first occurrence wins."""
    out: dict[int, bytes] = {}
    for t in walk(tlvs):
        if not t.constructed and t.tag not in out:
            out[t.tag] = t.value
    return out


def encode_length(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative length")
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise ValueError("length too large")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    return tag.to_bytes(tag_length(tag), "big") + encode_length(len(value)) + bytes(value)


def build(tag: int, *parts: bytes) -> bytes:
    """A constructed (or primitive) object from already-encoded parts: build(0x70, encode(0x5A, pan))."""
    return encode(tag, b"".join(parts))


def parse_dol(data: bytes) -> list[tuple[int, int]]:
    """A Data Object List (PDOL, CDOL, ...): tag + length pairs, no values."""
    data = bytes(data)
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if length > 252:
            raise TlvError(f"DOL entry {tag_hex(tag)} asks for {length} bytes", pos)
        out.append((tag, length))
    return out
