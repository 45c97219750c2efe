"""Bank card read time through the real pcscd + vpcd with the virtual UnionPay card (p50/p95 over N reads),
plus the same read on the in-process simulator (the EMV code alone) for comparison.

Needs pcscd + vsmartcard-vpcd + pyscard and no other pcscd running; otherwise the pcscd figures are
reported as not measured with the reason."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.__main__ import figure

N_READS = 40
N_INSERTS = 8


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def _reads(reader, n: int, interface: str = "contact") -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        c = reader.read_bank_card(timeout=5, interface=interface)
        times.append((time.perf_counter() - t0) * 1000)
        if not c.ok:
            raise RuntimeError(f"read failed: {c.code.value} {c.error_code} {c.description}")
    return times


def _sim_figures() -> list[dict]:
    from devices.pcsc.sim import SimCardReader
    reader = SimCardReader()
    try:
        reader.simulator.insert("unionpay")
        _reads(reader, 3)
        t = _reads(reader, N_READS)
    finally:
        reader.close()
    return [figure("bank card read, simulator (EMV code only), p50", round(statistics.median(t), 3), "ms",
                   note=f"n={N_READS}, in-process card model")]


def _pcscd_figures() -> list[dict]:
    from devices.base import MediaState
    from devices.pcsc import testing
    from devices.pcsc.cards import make_card
    from devices.pcsc.reader import PcscCardReader
    from devices.pcsc.vcard import VirtualCard

    reason = testing.missing()
    if reason:
        return [figure("bank card read via pcscd+vpcd, p50", "n/a", "ms", note=f"not measured: {reason}")]
    daemon = testing.Pcscd(Path(tempfile.mkdtemp(prefix="bench-pcscd-")))
    try:
        daemon.start()
    except testing.HarnessError as exc:
        return [figure("bank card read via pcscd+vpcd, p50", "n/a", "ms", note=f"not measured: {exc}")]
    try:
        reader = PcscCardReader(testing.SLOT0)
        card = VirtualCard(make_card("unionpay")).start()
        try:
            testing.wait_state(reader, lambda s: s.media is MediaState.PRESENT, "card present")
            _reads(reader, 3)                                   # warm-up
            contact = _reads(reader, N_READS, "contact")
            contactless = _reads(reader, N_READS, "contactless")
            apdus_before = card.apdus
            reader.read_bank_card(timeout=5, interface="contact")
            apdus = card.apdus - apdus_before
            card.stop()
            insert_to_data = []                                   # what the customer waits for
            for _ in range(N_INSERTS):
                testing.wait_state(reader, lambda s: s.media is MediaState.NOT_PRESENT, "slot empty")
                handle = reader.start_read_bank_card(timeout=10)
                t0 = time.perf_counter()
                card = VirtualCard(make_card("unionpay")).start()
                c = handle.result()
                insert_to_data.append((time.perf_counter() - t0) * 1000)
                if not c.ok:
                    raise RuntimeError(f"read failed: {c.error_code}")
                card.stop()
        finally:
            card.stop()
            reader.close()
    finally:
        daemon.stop()
    note = f"n={N_READS}, card already in the reader; {apdus} APDUs per contact read (T=0, 61xx)"
    return [
        figure("bank card read via pcscd+vpcd (contact/PSE), p50", round(statistics.median(contact), 2), "ms",
               note=note),
        figure("bank card read via pcscd+vpcd (contact/PSE), p95", round(_pct(contact, 0.95), 2), "ms", note=note),
        figure("bank card read via pcscd+vpcd (contactless/PPSE), p50", round(statistics.median(contactless), 2),
               "ms", note=f"n={N_READS}"),
        figure("card inserted -> card data, via pcscd+vpcd, p50", round(statistics.median(insert_to_data), 1), "ms",
               note=f"n={N_INSERTS}; includes pcscd noticing the card (vpcd presence poll)"),
        figure("APDU round trip via pcscd+vpcd, p50", round(statistics.median(contact) / apdus, 3), "ms",
               note="read time / APDUs"),
    ]


def run() -> list[dict]:
    return _pcscd_figures() + _sim_figures()


if __name__ == "__main__":
    for f in run():
        print(f)
