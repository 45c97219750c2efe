"""What a receipt-printer model supports. Explicit, never guessed (python-escpos #491/#678 lesson).

`encoding` is what Chinese text is sent as, inside FS & ... FS . (Chinese mode). A model without native QR
(GS ( k) gets the QR as a raster image (GS v 0). Dots per line come from the paper width at 203 dpi."""
from __future__ import annotations

from dataclasses import dataclass


class ProfileError(ValueError):
    def __init__(self, name: str):
        super().__init__(f"unknown receipt printer profile {name!r}; known: {', '.join(sorted(PROFILES))}")
        self.code = "PRINTER_PROFILE"
        self.message_zh = "小票打印机型号配置有误，请联系工作人员"


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    encoding: str = "gb18030"        # gb18030 | gbk (a GBK-only firmware prints '?' for what GBK lacks)
    native_qr: bool = True           # GS ( k model 2
    cutter: bool = True              # GS V 66 n (feed and partial cut)
    partial_cut: bool = True
    realtime_status: bool = True     # answers DLE EOT n
    print_fence: bool = True         # answers GS r 1 in turn (used to learn that a job has been worked through)
    dots_58: int = 384
    dots_80: int = 576
    columns_58: int = 32             # Font A 12x24
    columns_80: int = 48
    qr_module_size: int = 6          # GS ( k size, 1..16 dots per module

    def columns(self, width_mm: int) -> int:
        if width_mm == 58:
            return self.columns_58
        if width_mm == 80:
            return self.columns_80
        raise ValueError(f"paper width must be 58 or 80 mm, not {width_mm}")

    def dots(self, width_mm: int) -> int:
        return self.dots_58 if width_mm == 58 else self.dots_80


PROFILES: dict[str, PrinterProfile] = {p.name: p for p in (
    # Chinese-market thermal printers (Xprinter, Rongta, SNBC, Sewoo CN firmware): GB18030, native QR, cutter.
    PrinterProfile("generic-gb18030"),
    # Older GBK-only firmware.
    PrinterProfile("generic-gbk", encoding="gbk"),
    # Low-cost 58 mm panel printers: no GS ( k, no cutter (tear bar).
    PrinterProfile("basic-raster-qr", native_qr=False, cutter=False, print_fence=False),
    # 80 mm heads with 512 dots (42 columns).
    PrinterProfile("gb18030-512dots", dots_80=512, columns_80=42),
)}


def get_profile(name: str) -> PrinterProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(name) from None
