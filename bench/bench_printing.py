"""Printing figures: receipt render (ESC/POS bytes, budget < 5 ms) and certificate PDF (budget < 150 ms).

Each figure is the median of repeated runs after a warm-up (font registration and imports happen once per
process and are reported separately)."""
from __future__ import annotations

import statistics
import time

from bench.__main__ import figure


_cpu: dict[int, float] = {}


def _median_ms(fn, runs: int) -> tuple[float, float]:
    """Wall-clock median and p95 in ms; the median CPU time of this thread is kept in _cpu[id(fn)] (on a busy
    shared machine the wall time also counts waiting for a core)."""
    samples, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    samples.sort()
    _cpu[id(fn)] = statistics.median(cpu)
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _timed(fn, runs: int) -> tuple[float, float, float]:
    med, p95 = _median_ms(fn, runs)
    return med, p95, _cpu[id(fn)]


def run() -> list[dict]:
    from printing.escpos.decode import decode
    from printing.escpos.render import render_receipt
    from printing.pdf import register_cjk_font, render_pdf
    from printing.samples import sample_deposit_certificate, sample_receipt

    receipt = sample_receipt()
    figures = []
    for width in (80, 58):
        render_receipt(receipt, width)            # warm-up (imports, width cache)
        med, p95, cpu = _timed(lambda: render_receipt(receipt, width), 300)
        figures.append(figure(f"receipt render {width} mm (median)", round(med, 3), "ms", "< 5 ms", med < 5,
                              f"p95 {p95:.3f} ms, cpu {cpu:.3f} ms, {len(render_receipt(receipt, width))} bytes"))
    raster_med, _, raster_cpu = _timed(lambda: render_receipt(receipt, 58, "basic-raster-qr"), 50)
    figures.append(figure("receipt render 58 mm, raster QR profile (median)", round(raster_med, 3), "ms", "< 5 ms",
                          raster_med < 5, f"cpu {raster_cpu:.2f} ms; printers without GS ( k only: QR encoded in Python (qrcode, scored best "
                          "mask) and packed as GS v 0; the default profiles send native QR"))
    data = render_receipt(receipt, 80)
    dec_med, _ = _median_ms(lambda: decode(data), 100)
    figures.append(figure("receipt decode 80 mm (median)", round(dec_med, 3), "ms", note="golden tests / simulator"))

    t0 = time.perf_counter()
    register_cjk_font()
    font_ms = (time.perf_counter() - t0) * 1000
    figures.append(figure("CJK TrueType font registration (once per process)", round(font_ms, 1), "ms"))
    cert = sample_deposit_certificate()
    render_pdf(cert)
    med, p95, cpu = _timed(lambda: render_pdf(cert), 20)
    figures.append(figure("deposit-use certificate PDF (median)", round(med, 1), "ms", "< 150 ms", med < 150,
                          f"p95 {p95:.1f} ms, cpu {cpu:.1f} ms, {len(render_pdf(cert)):,} bytes, font subset embedded, QR, seal"))
    figures.append(_job_over_loopback(receipt))
    return figures


def _job_over_loopback(receipt) -> dict:
    """A whole receipt job through EscposPrinter to the simulated printer over TCP: status read, bytes,
    print-completion fence (GS r), status read, journal (in-memory). Not budgeted; shows the I/O overhead."""
    from printing.escpos.device import EscposPrinter
    from printing.sim import SimPrinter
    sim = SimPrinter().start()
    printer = EscposPrinter(f"tcp://127.0.0.1:{sim.port}", status_timeout_s=1.0)
    try:
        printer.print_receipt(receipt).result()
        med, p95 = _median_ms(lambda: printer.print_receipt(receipt).result(), 30)
    finally:
        printer.close()
        sim.stop()
    return figure("receipt job over loopback TCP to the simulator (median)", round(med, 2), "ms",
                  note=f"p95 {p95:.2f} ms; status x2 + GS r fence + journal")
