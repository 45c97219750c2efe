"""Center throughput: the batch endpoint under 50 concurrent simulated terminals, on SQLite and PostgreSQL.

Each terminal is a thread with its own enrolled secret and HTTP session, signing every request, sending
BATCHES_PER_TERMINAL batches of BATCH_ITEMS evaluation transactions (the kind every kiosk uploads).
Loopback only; the center is a real `hpf-center serve` subprocess (stopped by PID); PostgreSQL is a private
cluster from scripts/pg_harness.py (skipped, with a note, when its binaries are missing)."""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.__main__ import figure

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TERMINALS = 50
BATCHES_PER_TERMINAL = 4
BATCH_ITEMS = 100


def _p(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def _run_load(center) -> dict:
    from center.testing import SignedClient
    from kiosk.domain.clientid import new_client_id
    clients = [SignedClient(center.url, f"BENCH-{i:03d}", center.enroll(f"BENCH-{i:03d}"), timeout=120)
               for i in range(TERMINALS)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(TERMINALS + 1)

    def terminal(c):
        batches = []
        for _ in range(BATCHES_PER_TERMINAL):
            now = datetime.now(timezone.utc).isoformat()
            batches.append({"items": [{"client_id": new_client_id(), "kind": "evaluation", "created_at": now,
                                       "payload": {"item_code": "query", "score": 5}}
                                      for _ in range(BATCH_ITEMS)]})
        barrier.wait()
        for b in batches:
            t0 = time.perf_counter()
            r = c.post("/v1/transactions/batch", b, idempotency_key=new_client_id())
            dt = time.perf_counter() - t0
            ok = r.status_code == 200 and all(x["outcome"] == "accepted" for x in r.json()["results"])
            with lock:
                latencies.append(dt)
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=terminal, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    n = len(latencies)
    return {"wall_s": wall, "requests": n, "rps": n / wall, "items_per_s": n * BATCH_ITEMS / wall,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": _p(latencies, 0.99) * 1000,
            "errors": len(errors), "first_error": errors[0] if errors else ""}


def _figures(label: str, res: dict) -> list[dict]:
    note = (f"{TERMINALS} terminals × {BATCHES_PER_TERMINAL} batches × {BATCH_ITEMS} items in "
            f"{res['wall_s']:.1f} s; errors {res['errors']} {res['first_error']}").strip()
    return [
        figure(f"center batch requests/s ({label}, {TERMINALS} terminals)", round(res["rps"], 1), "req/s", note=note),
        figure(f"center batch p99 latency ({label}, {BATCH_ITEMS}-item batches)", round(res["p99_ms"], 1), "ms",
               note=f"p50 {res['p50_ms']:.1f} ms"),
        figure(f"center accepted transactions/s ({label})", round(res["items_per_s"]), "tx/s", ">= 500 tx/s",
               met=res["items_per_s"] >= 500 and res["errors"] == 0, note=note),
    ]


def run() -> list[dict]:
    from center.testing import run_center
    from scripts.pg_harness import postgres_missing_reason, start_postgres
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-center-") as d:
        with run_center(Path(d) / "sqlite", seed=0) as center:
            out += _figures("SQLite", _run_load(center))
        reason = postgres_missing_reason()
        if reason:
            out.append(figure("center batch requests/s (PostgreSQL)", "skipped", "", note=reason))
            return out
        with start_postgres() as pg:
            url = pg.create_database("bench_center")
            with run_center(Path(d) / "pg", db_url=url, seed=0) as center:
                out += _figures("PostgreSQL", _run_load(center))
    return out


if __name__ == "__main__":
    for f in run():
        print(f)
