"""Journal and sync figures: durable enqueue latency, drain throughput (batched vs one POST per transaction)
against the real center over loopback, the kiosk side alone against a null center, the worker's peak memory,
and SIGKILL crash rounds with the exactly-once check.

    .venv/bin/python -m bench sync            (or: .venv/bin/python -m bench.bench_sync drain-child ...)
    .venv/bin/python -m bench.bench_sync enqueue      (only the enqueue latency figures)

Environment knobs: HPF_BENCH_SYNC_DRAIN (10000), HPF_BENCH_SYNC_BASELINE (1000), HPF_BENCH_SYNC_CRASH_ROUNDS (150)."""
from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.__main__ import figure

REPO = Path(__file__).resolve().parent.parent
TERMINAL = "BENCH-0001"


def _env(data_dir: Path, url: str, batch: int = 500) -> dict[str, str]:
    return {"HPF_KIOSK__PATHS__DATA_DIR": str(data_dir), "HPF_KIOSK__PATHS__LOG_DIR": str(data_dir / "log"),
            "HPF_KIOSK__TERMINAL__ID": TERMINAL, "HPF_KIOSK__CENTER__URL": url,
            "HPF_KIOSK__CENTER__EMBEDDED": "false", "HPF_KIOSK__CENTER__READ_TIMEOUT_S": "120",
            "HPF_KIOSK__SYNC__BATCH_SIZE": str(batch), "HPF_KIOSK__SYNC__STAGGER_WINDOW_S": "0",
            "HPF_KIOSK__SYNC__BACKOFF_BASE_S": "0.05", "HPF_KIOSK__SYNC__BACKOFF_CAP_S": "0.5"}


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _payload(n: int) -> dict:
    return {"score": 1 + n % 5, "item_code": "query", "comment": f"n={n}"}


# --- enqueue latency ----------------------------------------------------------------------------------

def bench_enqueue(n: int = 2000) -> list[dict]:
    """Two journals, one with the audit log attached, one without; their creates are interleaved so load from
    other work on the machine falls on both alike (the ratio is the figure to compare between runs)."""
    from kiosk.audit import AuditLog
    from sync.journal import Journal
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audit = AuditLog(tmp / "audit.sqlite3", b"b" * 32)
        setups = (("journal + audit log", audit.sink("bench")), ("journal only", None))
        journals = [Journal(tmp / f"j-{bool(sink)}.sqlite3", tmp / "journal.key", audit=sink) for _, sink in setups]
        lat: list[list[float]] = [[], []]
        for i in range(n):
            for k in ((0, 1) if i % 2 else (1, 0)):
                t0 = time.perf_counter()
                journals[k].create("withdrawal", {"reason": "02", "id_number": "330802199001011234", "n": i},
                                   amount_fen=100_000, person_key=f"P{i % 50}", offline=True)
                lat[k].append((time.perf_counter() - t0) * 1000)
        for j in journals:
            j.close()
        for (label, _), values in zip(setups, lat):
            p99 = _pct(values, 99)
            out.append(figure(f"enqueue p50 ({label}, fsync)", round(_pct(values, 50), 2), "ms"))
            out.append(figure(f"enqueue p99 ({label}, fsync)", round(p99, 2), "ms", "< 15 ms", p99 < 15,
                              f"{n} creates, WAL synchronous=FULL, interleaved with the other setup"))
        out.append(figure("enqueue p99 with audit / journal only", round(_pct(lat[0], 99) / _pct(lat[1], 99), 2),
                          "x", note="the audit log's share of the enqueue tail, load-independent"))
        audit.close()
        # Reference: one raw 4 KiB write + fsync on the same disk, right now (an enqueue cannot beat this).
        fl = []
        with open(tmp / "fsync.probe", "wb") as fh:
            for _ in range(500):
                fh.write(b"x" * 4096)
                fh.flush()
                t0 = time.perf_counter()
                os.fsync(fh.fileno())
                fl.append((time.perf_counter() - t0) * 1000)
        out.append(figure("reference: raw fsync of 4 KiB, p50 / p99", f"{_pct(fl, 50):.2f} / {_pct(fl, 99):.2f}",
                          "ms", note="the disk itself at measurement time"))
    return out


# --- drain (runs in a child process so its peak RSS is the worker's own) -----------------------------

def _vm_kb(field: str) -> int:
    """This process's own memory figure from /proc/self/status (VmHWM = peak RSS, VmRSS = now). Not
    getrusage's ru_maxrss: Linux carries the parent's peak across fork+exec into it, so a child started by a big
    bench process reported the parent's RSS (the "285 MB" worker figure of an earlier run)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def drain_child(data_dir: str, url: str, secret_hex: str, n: int, mode: str, batch: int) -> dict:
    """Fill the journal with n evaluations, then drain them. mode 'batch' = the sync worker;
    mode 'single' = one POST per transaction (each journaled as the worker would)."""
    from config import load_settings
    from sync.client import HttpCenterClient, TerminalCredentials
    from sync.journal import Journal
    from sync.worker import SyncWorker
    settings = load_settings(profile="demo", env=_env(Path(data_dir), url, batch))
    journal = Journal.open(settings)
    rss_imports = _vm_kb("VmRSS")
    for i in range(n):
        journal.create("evaluation", _payload(i), person_key=f"P{i % 97}")
    rss_before = _vm_kb("VmHWM")
    port = HttpCenterClient.from_settings(settings, TerminalCredentials(TERMINAL, bytes.fromhex(secret_hex)))
    t0 = time.perf_counter()
    accepted = 0
    if mode == "batch":
        worker = SyncWorker.from_settings(settings, journal, port)
        while journal.figures().depth:
            rep = worker.drain()
            accepted += rep.accepted
            if rep.error is not None:
                time.sleep(0.2)
    else:
        while True:
            items = journal.next_batch(1)
            if not items:
                break
            journal.mark_sending([items[0].client_id])
            res = port.submit(items[0])
            journal.apply_results([res])
            accepted += res.outcome.value == "accepted"
    elapsed = time.perf_counter() - t0
    return {"n": n, "accepted": accepted, "elapsed_s": elapsed, "tx_per_s": n / elapsed,
            "peak_rss_kb": _vm_kb("VmHWM"), "rss_after_fill_kb": rss_before, "rss_after_imports_kb": rss_imports,
            "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _run_child(data_dir: Path, url: str, secret: bytes, n: int, mode: str, batch: int = 500) -> dict:
    cmd = [sys.executable, "-m", "bench.bench_sync", "drain-child", str(data_dir), url, secret.hex(), str(n), mode,
           str(batch)]
    proc = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"drain child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class _NullCenter(BaseHTTPRequestHandler):
    """Answers every batch item 'accepted' at once: the kiosk side's own ceiling (no center work)."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        items = json.loads(body)["items"]
        reply = json.dumps({"results": [{"client_id": i["client_id"], "outcome": "accepted", "http_status": 200}
                                        for i in items]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


def bench_drain(n: int, n_base: int) -> list[dict]:
    from center.testing import run_center
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        center = run_center(tmp / "center", seed=None)
        try:
            secret = center.enroll(TERMINAL)
            batch = _run_child(tmp / "k-batch", center.url, secret, n, "batch")
            single = _run_child(tmp / "k-single", center.url, secret, n_base, "single")
        finally:
            center.stop()
        null = ThreadingHTTPServer(("127.0.0.1", 0), _NullCenter)
        th = threading.Thread(target=null.serve_forever, daemon=True)
        th.start()
        try:
            ceiling = _run_child(tmp / "k-null", f"http://127.0.0.1:{null.server_address[1]}", b"x" * 32, n, "batch")
        finally:
            null.shutdown()
    ratio = batch["tx_per_s"] / single["tx_per_s"]
    out.append(figure(f"drain {n:,} queued to the real center (batch 500)", round(batch["tx_per_s"], 1), "tx/s",
                      ">= 500 tx/s", batch["tx_per_s"] >= 500,
                      f"{batch['accepted']} accepted in {batch['elapsed_s']:.1f} s; center = hpf-center serve, SQLite"))
    out.append(figure(f"baseline: one POST per transaction ({n_base:,})", round(single["tx_per_s"], 1), "tx/s",
                      note=f"{single['accepted']} accepted in {single['elapsed_s']:.1f} s, same center, same run"))
    out.append(figure("batched drain vs one-POST baseline", round(ratio, 2), "x", ">= 10x", ratio >= 10))
    out.append(figure(f"kiosk side alone: drain {n:,} to a null center", round(ceiling["tx_per_s"], 1), "tx/s",
                      note="journal + signing + HTTP + bookkeeping; the center answers without work"))
    out.append(figure("sync worker peak RSS while draining", round(batch["peak_rss_kb"] / 1024, 1), "MB",
                      note=f"VmHWM of the drain process; after imports {batch['rss_after_imports_kb'] / 1024:.1f} MB, "
                           f"peak after filling {n:,}: {batch['rss_after_fill_kb'] / 1024:.1f} MB"))
    return out


# --- crash rounds ---------------------------------------------------------------------------------------

def bench_crash(rounds: int) -> list[dict]:
    from center.testing import run_center
    from config import load_settings
    from sync.client import HttpCenterClient, TerminalCredentials, credentials_file
    from sync.journal import Journal, State
    from sync.testing.crashdriver import ZygoteHarness
    from sync.worker import SyncWorker
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        center = run_center(tmp / "center", seed=None)
        try:
            secret = center.enroll(TERMINAL)
            env = _env(tmp / "kiosk", center.url, 50)
            settings = load_settings(profile="demo", env=env)
            TerminalCredentials(TERMINAL, secret).save(credentials_file(settings))
            harness = ZygoteHarness(env, REPO)
            acked: dict[int, str] = {}
            t0 = time.perf_counter()
            try:
                for r in range(rounds):
                    acked.update(harness.round(r * 40, 40, rng.uniform(0.0, 0.4)).acked)
            finally:
                harness.close()
            elapsed = time.perf_counter() - t0
            journal = Journal.open(settings)
            entries = {e.client_id: e for e in journal.iter_all(with_payload=True)}
            lost = [n for n, cid in acked.items() if cid not in entries]
            worker = SyncWorker.from_settings(settings, journal, HttpCenterClient.from_settings(settings))
            while journal.figures().depth:
                if worker.drain().error is not None:
                    time.sleep(0.5)
            from datetime import datetime, timedelta
            from sync.journal import LOCAL_TZ
            today = datetime.now(LOCAL_TZ).date()
            at_center: set[str] = set()
            for d in (today - timedelta(days=1), today):
                at_center |= set(worker.port.reconcile(d).accepted)
            all_accepted = all(e.state == State.ACCEPTED for e in journal.iter_all())
            journal.close()
        finally:
            center.stop()
    exact = at_center == set(entries) and all_accepted and not lost
    return [figure(f"SIGKILL crash rounds (enqueue + upload)", rounds, "rounds", "exactly once", exact,
                   f"{len(acked)} acknowledged, {len(entries)} journaled, {len(lost)} lost, center holds "
                   f"{len(at_center)}; {elapsed:.0f} s")]


def run() -> list[dict]:
    n = int(os.environ.get("HPF_BENCH_SYNC_DRAIN", "10000"))
    n_base = int(os.environ.get("HPF_BENCH_SYNC_BASELINE", "1000"))
    rounds = int(os.environ.get("HPF_BENCH_SYNC_CRASH_ROUNDS", "150"))
    load1 = os.getloadavg()[0]
    figures = bench_enqueue()
    figures += bench_drain(n, n_base)
    figures += bench_crash(rounds)
    figures.append(figure("machine load average (1 min) at start", round(load1, 2), "",
                          note="other work on the 2 cores inflates every figure above"))
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "drain-child":
        a = sys.argv[2:]
        print(json.dumps(drain_child(a[0], a[1], a[2], int(a[3]), a[4], int(a[5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "enqueue":
        for f in bench_enqueue():
            print(f)
    else:
        for f in run():
            print(f)
