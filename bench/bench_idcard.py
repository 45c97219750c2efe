"""ID-card read time over a pty at 115200 baud, beside the wire time of the same bytes.

A pty delivers bytes instantly, so the simulator paces its answers to the baud rate (8N1: 10 bits a byte):
a 32-byte chunk is released when its last byte would have left a real UART. The request direction is not
paced, so the baseline is the wire time of the answers only (the conservative choice: the 10-byte requests
would add ~0.9 ms each on a real line). Overhead = measured - wire, as a % of wire time; it includes the
worker hand-off, pyserial reads, parsing, UCS-2 decoding, ID checks and the simulator's own sleep jitter.
Budget (ARCHITECTURE.md): adapter overhead < 20 % of wire time."""
from __future__ import annotations

import statistics
import time

from bench.__main__ import figure
from devices.idcard import protocol as p
from devices.idcard.sim import IdCardSimulator, SimIdCardReader

BAUD = 115200
ROUNDS = 25
READ_ANSWER = 1295                      # 30 01: header 10 + lengths 4 + text 256 + photo 1024 + CHK 1
FIND_ANSWER, SELECT_ANSWER = 15, 19


def _ms(s: float) -> float:
    return round(s * 1000, 2)


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]


def run() -> list[dict]:
    sim = IdCardSimulator(baud=BAUD, pace=True).start()
    reader = SimIdCardReader(sim, probe_interval_s=60, poll_interval_s=0.3)
    try:
        read_only, full = [], []
        for _ in range(ROUNDS):
            sim.place("resident")
            assert reader.find_card().ok and reader.select_card().ok
            t0 = time.perf_counter()
            c = reader.read_text_photo()
            read_only.append(time.perf_counter() - t0)
            assert c.ok, c
            sim.lift()
        for _ in range(ROUNDS):
            sim.place("resident")
            t0 = time.perf_counter()
            c = reader.read_card(timeout=5).result()
            full.append(time.perf_counter() - t0)
            assert c.ok, c
            sim.lift()
    finally:
        reader.close()

    wire_read = p.wire_seconds(READ_ANSWER, BAUD)
    wire_full = p.wire_seconds(FIND_ANSWER + SELECT_ANSWER + READ_ANSWER, BAUD)
    med_read, med_full = statistics.median(read_only), statistics.median(full)
    over_read = (med_read - wire_read) / wire_read * 100
    over_full = (med_full - wire_full) / wire_full * 100
    return [
        figure("idcard 30 01 read, wire time of the 1295-byte answer", _ms(wire_read), "ms",
               note=f"{BAUD} baud 8N1"),
        figure("idcard 30 01 read over pty, median", _ms(med_read), "ms",
               note=f"p95 {_ms(_p95(read_only))} ms, {ROUNDS} reads"),
        figure("idcard 30 01 adapter overhead (median)", round(over_read, 2), "%", "< 20 %", over_read < 20),
        figure("idcard find+select+read, wire time", _ms(wire_full), "ms"),
        figure("idcard find+select+read over pty, median", _ms(med_full), "ms",
               note=f"p95 {_ms(_p95(full))} ms"),
        figure("idcard find+select+read adapter overhead (median)", round(over_full, 2), "%", "< 20 %",
               over_full < 20),
    ]
