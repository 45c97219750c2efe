"""The sync process is SIGKILLed at random moments while journaling and uploading. After restarts, every
acknowledged enqueue is still in the journal and the center holds each transaction exactly once."""
from __future__ import annotations

import random
import time
from pathlib import Path

from sync.journal import State
from sync.testing.crashdriver import ZygoteHarness

from tests.sync.test_sync_exactly_once import assert_center_holds_exactly, wait_until_drained

ROUNDS = 50
PER_ROUND = 40
REPO = Path(__file__).resolve().parents[2]


def test_sigkill_during_enqueue_and_upload_loses_nothing_and_duplicates_nothing(make_kiosk, tmp_path):
    kiosk = make_kiosk()
    rng = random.Random(20261122)
    harness = ZygoteHarness(kiosk.env, cwd=REPO, stderr_path=tmp_path / "children.log")
    acked: dict[int, str] = {}
    killed = 0
    try:
        # Calibrate: how long does one child take to journal and upload a round on this machine right now?
        # Kill moments are then drawn from that window, so kills land during enqueue and upload whether the
        # machine is idle or loaded (a fixed window let fast machines finish before the kill).
        t0 = time.monotonic()
        res = harness.round(ROUNDS * PER_ROUND, PER_ROUND, kill_after_s=60.0)
        acked.update(res.acked)
        window = max(0.05, (time.monotonic() - t0) * 0.7)
        for r in range(ROUNDS):
            res = harness.round(r * PER_ROUND, PER_ROUND, kill_after_s=rng.uniform(0.0, window))
            acked.update(res.acked)
            killed += res.killed
    finally:
        harness.close()
    assert killed >= ROUNDS * 0.6                      # the kills really interrupted the children
    before = kiosk.journal.figures()
    print(f"acked={len(acked)} killed={killed} figures_before_drain={before}")

    journal = {e.client_id: e for e in kiosk.journal.iter_all(with_payload=True)}
    for n, client_id in acked.items():                 # every acknowledged enqueue survived, intact
        assert client_id in journal, f"acknowledged item n={n} lost"
        assert journal[client_id].payload["comment"] == f"n={n}"
    comments = [e.payload["comment"] for e in journal.values()]
    assert len(comments) == len(set(comments))         # no transaction journaled twice

    wait_until_drained(kiosk, kiosk.worker())           # a clean restart delivers what is left
    assert_center_holds_exactly(kiosk, set(journal), len(journal))
    assert all(e.state == State.ACCEPTED for e in kiosk.journal.iter_all())
