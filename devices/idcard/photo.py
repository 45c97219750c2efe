"""The ID-card photo: 1024 bytes of WLT that only a vendor library can decode (patent CN1779717A).

A decoder is a plug-in: anything with decode(wlt) -> BMP bytes or None. The vendor library `libwlt2bmp`
(the Linux SDKs of Synjones/Routon/Huashi ship it as libwlt2bmp.so or libwlt.so, exporting
`int unpack(char *wlt, char *bmp, int save_file)`, 1 = success) is loaded with ctypes when present:
from HPF_WLT2BMP (a path), else from the linker's search path. Without it the card is still read;
it just has no decoded photo. Nothing here fabricates a decoder.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import struct
from typing import Optional, Protocol

log = logging.getLogger(__name__)

PHOTO_WIDTH, PHOTO_HEIGHT = 102, 126
BMP_SIZE = 54 + ((PHOTO_WIDTH * 3 + 3) // 4 * 4) * PHOTO_HEIGHT      # 38862
LIBRARY_ENV = "HPF_WLT2BMP"
LIBRARY_NAMES = ("wlt2bmp", "wlt")


class PhotoDecoder(Protocol):
    def decode(self, wlt: bytes) -> Optional[bytes]:
        """Return a BMP file (102×126, 24-bit) or None when this photo cannot be decoded."""


class VendorWltDecoder:
    """ctypes binding to the vendor's unpack(wlt, bmp, 0)."""

    def __init__(self, path: str):
        self.path = path
        self._lib = ctypes.CDLL(path)
        self._unpack = self._lib.unpack
        self._unpack.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
        self._unpack.restype = ctypes.c_int

    def decode(self, wlt: bytes) -> Optional[bytes]:
        if len(wlt) != 1024:
            return None
        out = ctypes.create_string_buffer(BMP_SIZE + 1024)   # some builds write a little past the BMP
        rc = self._unpack(bytes(wlt), out, 0)
        if rc != 1:
            log.warning("vendor WLT decoder returned %d", rc)
            return None
        bmp = out.raw[:BMP_SIZE]
        return bmp if bmp[:2] == b"BM" else None


def find_vendor_library() -> Optional[str]:
    path = os.environ.get(LIBRARY_ENV)
    if path:
        return path if os.path.isfile(path) else None
    for name in LIBRARY_NAMES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def load_photo_decoder() -> Optional[PhotoDecoder]:
    """The vendor decoder if it is installed and loads, else None (the card is read without a photo)."""
    path = find_vendor_library()
    if not path:
        return None
    try:
        return VendorWltDecoder(path)
    except (OSError, AttributeError) as exc:
        log.warning("WLT decoder library %s cannot be used: %s", path, exc)
        return None


def bmp_from_bgr(bgr: bytes, width: int = PHOTO_WIDTH, height: int = PHOTO_HEIGHT) -> bytes:
    """Wrap bottom-up BGR rows in a BMP file (what the vendor decoders return). For fixtures and tests."""
    row = width * 3
    pad = (4 - row % 4) % 4
    if len(bgr) != row * height:
        raise ValueError(f"expected {row * height} bytes of BGR, got {len(bgr)}")
    pixels = b"".join(bgr[r * row:(r + 1) * row] + b"\0" * pad for r in range(height))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 3780, 3780, 0, 0)
    return header + info + pixels
