"""Printing: documents as data and their renderers, the receipt printer and the A4 printer.

    documents.py        Receipt, DepositUseCertificate, LoanPayoffCertificate, AccountStatement, EndOfDayReport
    escpos/render.py    ESC/POS bytes for 58/80 mm (GB18030 in explicit FS & / FS . Chinese mode, native or raster QR)
    escpos/decode.py    bytes back into lines, QR payloads, cuts (golden tests, simulator)
    escpos/profiles.py  what each printer model supports
    escpos/transport.py tcp://, serial://, usb://, file:// with timeouts
    escpos/status.py    DLE EOT real-time status and the GS r print-completion fence
    escpos/device.py    EscposPrinter (Device): journal, status before/after, print, reprint as copy
    jobs.py             the print journal (SQLite; sealed documents; reprint after failure)
    pdf.py              A4 PDFs with reportlab, embedded CJK TrueType font, QR, e-seal
    cups.py             CupsPrinter (lp + lpstat) and FilePrinter (demo)
    sim.py              simulated ESC/POS printer on loopback (python -m printing.sim --port 9100)
    cli.py              `hpf-kiosk devices test-print`
"""
