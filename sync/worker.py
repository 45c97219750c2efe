"""The sync worker: drains the outbox to the center in batches, exactly once per client id.

- One worker at a time across processes: an fcntl lock on `<data_dir>/sync.lock` (WorkerBusy otherwise).
- Batches of up to settings.sync.batch_size via CenterPort.upload_batch; per-person order is kept by the
  journal (Journal.next_batch hands out only the head item of each person).
- A failed upload (network, timeout, 5xx, 429, 409) puts the items back to `queued` with the same key and the
  worker sleeps a full-jitter backoff rand(0, min(cap, base*2^n)); a success resets it.
- At start the worker waits hash(terminal id) mod stagger_window_s, so a village's kiosks that all boot when
  the power returns do not hit the center at the same second.
- 401/403 raise an auth alarm (event + ERROR log); items stay queued.
- Heartbeat every heartbeat_interval_s; catalog refresh every catalog_interval_s.
- Events for the UI are plain callbacks (no Qt), called on the worker thread: subscribe(fn(SyncEvent)).
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from sync.client import (CenterAuthError, CenterError, CenterPort, CenterRefused, CenterUnavailable,
                         software_version)
from sync.downward import CatalogCache, build_heartbeat
from sync.journal import Journal, State
from sync.protocol import ItemOutcome, ItemResult, TransactionIn

log = logging.getLogger(__name__)


CHECKPOINT_INTERVAL_S = 5.0


class WorkerBusy(Exception):
    code = "SYNC_WORKER_BUSY"
    message_zh = "已有同步程序在运行。"


@dataclass(frozen=True)
class SyncEvent:
    """name: link | queue | rejected | needs_review | auth_alarm | audit_flag | catalog | commands"""
    name: str
    data: dict = field(default_factory=dict)


@dataclass
class DrainReport:
    batches: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    needs_review: int = 0
    retry: int = 0
    error: Optional[CenterError] = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Backoff:
    """Full jitter (AWS): the n-th consecutive failure waits rand(0, min(cap, base * 2**n))."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None):
        self.base, self.cap, self.rng, self.failures = base_s, cap_s, rng or random.Random(), 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.failures = 0


def stagger_offset(terminal_id: str, window_s: int) -> float:
    """A fixed per-terminal offset in [0, window): spreads reconnects of many terminals."""
    if window_s <= 0:
        return 0.0
    return int.from_bytes(hashlib.sha256(terminal_id.encode()).digest()[:4], "big") % window_s


class WorkerLock:
    """An exclusive fcntl lock on a file; released when closed or when the process dies (even SIGKILL)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise WorkerBusy(f"another sync worker holds {self.path} (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


class SyncWorker:
    def __init__(self, journal: Journal, port: CenterPort, *, terminal_id: str, sync_settings,
                 lock_path: Path, catalog_cache: CatalogCache | None = None,
                 devices: Callable[[], dict] | None = None, audit_head: Callable[[], Any] | None = None,
                 rng: random.Random | None = None, version: str | None = None):
        self.journal, self.port, self.terminal_id, self.cfg = journal, port, terminal_id, sync_settings
        self.catalog_cache, self.devices, self.audit_head = catalog_cache, devices, audit_head
        self.version = version or software_version()
        self.rng = rng or random.Random()
        self.backoff = Backoff(sync_settings.backoff_base_s, sync_settings.backoff_cap_s, self.rng)
        self.lock = WorkerLock(lock_path)
        self.online: Optional[bool] = None
        self.auth_alarm: Optional[CenterAuthError] = None
        self._subscribers: list[Callable[[SyncEvent], None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._next_heartbeat = 0.0
        self._next_catalog = 0.0
        self._next_checkpoint = 0.0

    @classmethod
    def from_settings(cls, settings, journal: Journal, port: CenterPort, **kw) -> "SyncWorker":
        return cls(journal, port, terminal_id=settings.terminal.id, sync_settings=settings.sync,
                   lock_path=Path(settings.paths.data_dir) / "sync.lock",
                   catalog_cache=CatalogCache.for_settings(settings), **kw)

    # --- events ---

    def subscribe(self, fn: Callable[[SyncEvent], None]) -> None:
        self._subscribers.append(fn)

    def _emit(self, name: str, **data) -> None:
        ev = SyncEvent(name, data)
        for fn in list(self._subscribers):
            try:
                fn(ev)
            except Exception:
                log.exception("sync event subscriber failed on %s", name)

    def _emit_queue(self) -> None:
        if not self._subscribers:
            return
        f = self.journal.figures()
        self._emit("queue", depth=f.depth, queued_amount_fen=f.queued_amount_fen, oldest_age_s=f.oldest_age_s,
                   needs_review=f.needs_review, rejected=f.rejected)

    def _set_online(self, online: bool, err: CenterError | None = None) -> None:
        if online:
            self.backoff.reset()
            if self.auth_alarm is not None:
                log.info("center accepts the terminal's credentials again")
                self.auth_alarm = None
        if online != self.online:
            self.online = online
            if online:
                log.info("center link is up")
                self._emit("link", online=True, code="OK", message_zh="已连接公积金中心")
            else:
                log.warning("center link is down: %s", err)
                self._emit("link", online=False, code=err.code if err else "", message_zh=err.message_zh if err else "")

    def _link_failed(self, err: CenterError) -> None:
        """Network-level failures (nothing answered) mean offline; an answering but failing center (5xx, 429,
        409) is online-but-busy: the link state does not flap while the backoff paces the retries."""
        if err.status == 0:
            self._set_online(False, err)
        else:
            log.warning("center answered but failed: %s", err)

    def _raise_auth_alarm(self, err: CenterAuthError) -> None:
        first = self.auth_alarm is None or self.auth_alarm.code != err.code
        self.auth_alarm = err
        if first:
            log.error("AUTH ALARM: center refused this terminal (%s): %s", err.code, err.detail)
            self._emit("auth_alarm", code=err.code, message_zh=err.message_zh, detail=err.detail)
        self._set_online(False, err)

    # --- one step ---

    def upload_step(self) -> Optional[DrainReport]:
        """Sends one batch. Returns None if nothing was due, else what happened (error set on failure)."""
        batch = self.journal.next_batch(self.cfg.batch_size)
        if not batch:
            return None
        ids = [t.client_id for t in batch]
        rep = DrainReport(batches=1, sent=len(batch))
        self.journal.mark_sending(ids)
        try:
            try:
                results = self.port.upload_batch(batch)
            except CenterRefused as exc:
                # The batch envelope itself was refused (e.g. a province gateway's size limit): one by one.
                log.warning("batch refused (%s); sending %d items one by one", exc.code, len(batch))
                results = self._one_by_one(batch)
        except CenterAuthError as exc:
            self.journal.requeue(ids, 0.0, exc.code, exc.message_zh)
            self._raise_auth_alarm(exc)
            rep.error = exc
            return rep
        except CenterUnavailable as exc:
            self.journal.requeue(ids, 0.0, exc.code, exc.message_zh)
            self._link_failed(exc)
            self._emit_queue()             # items queued while offline still count on the kiosk's header
            rep.error = exc
            return rep
        except BaseException:
            self.journal.requeue(ids, 0.0, "WORKER_ERROR")
            raise
        grouped = self.journal.apply_results(results, retry_delay_s=self._item_retry_delay)
        rep.accepted = len(grouped[State.ACCEPTED.value])
        rep.rejected = len(grouped[State.REJECTED.value])
        rep.needs_review = len(grouped[State.NEEDS_REVIEW.value])
        rep.retry = len(grouped[State.QUEUED.value])
        self._set_online(True)
        for r in grouped[State.REJECTED.value]:
            log.warning("center refused queued transaction %s: %s", r.client_id, r.code)
            self._emit("rejected", client_id=r.client_id, code=r.code, message_zh=r.message)
        for r in grouped[State.NEEDS_REVIEW.value]:
            log.error("transaction %s needs review: %s", r.client_id, r.code)
            self._emit("needs_review", client_id=r.client_id, code=r.code, message_zh=r.message)
        self._emit_queue()
        return rep

    def _one_by_one(self, batch: list[TransactionIn]) -> list[ItemResult]:
        out = []
        for item in batch:
            try:
                out.append(self.port.submit(item))
            except CenterAuthError:
                raise
            except CenterUnavailable as exc:
                out.append(ItemResult(client_id=item.client_id, outcome=ItemOutcome.ERROR, http_status=exc.status,
                                      code=exc.code, message=exc.message_zh))
            except CenterRefused as exc:
                out.append(ItemResult(client_id=item.client_id, outcome=ItemOutcome.REJECTED,
                                      http_status=exc.status, code=exc.code, message=exc.message_zh))
        return out

    def _item_retry_delay(self, r: ItemResult) -> float:
        return self.rng.uniform(0.5, 2.0) if r.outcome == ItemOutcome.IN_FLIGHT else self.rng.uniform(1.0, 5.0)

    def drain(self, *, max_batches: int | None = None) -> DrainReport:
        """Upload until nothing is due, a batch fails, or max_batches. No sleeping, no backoff."""
        total = DrainReport()
        while max_batches is None or total.batches < max_batches:
            rep = self.upload_step()
            if rep is None:
                break
            for k in ("batches", "sent", "accepted", "rejected", "needs_review", "retry"):
                setattr(total, k, getattr(total, k) + getattr(rep, k))
            if rep.error is not None:
                total.error = rep.error
                break
        if total.batches:
            self.journal.checkpoint()
        return total

    def heartbeat_now(self) -> Optional[dict]:
        beat = build_heartbeat(self.terminal_id, self.journal, self.version, self.devices, self.audit_head)
        try:
            reply = self.port.heartbeat(beat)
        except CenterAuthError as exc:
            self._raise_auth_alarm(exc)
            return None
        except CenterError as exc:
            if exc.retryable:
                self._link_failed(exc)
            else:
                log.warning("heartbeat refused: %s", exc)
            return None
        self._set_online(True)
        if reply.get("audit_flag"):     # the center saw our audit head go backwards or change: tampering?
            log.error("center flagged this terminal's audit log: %s", reply["audit_flag"])
            self._emit("audit_flag", flag=reply["audit_flag"])
        if reply.get("commands"):
            self._emit("commands", commands=reply["commands"])
        return reply

    def refresh_catalog(self) -> bool:
        if self.catalog_cache is None:
            return False
        try:
            cached, changed = self.catalog_cache.refresh(self.port)
        except CenterAuthError as exc:
            self._raise_auth_alarm(exc)
            return False
        except CenterError as exc:
            if exc.retryable:
                self._link_failed(exc)
            else:
                log.warning("catalog refused: %s", exc)
            return False
        self._set_online(True)
        if changed:
            self._emit("catalog", version=cached.catalog.version)
        return True

    # --- the thread ---

    def start(self, *, initial_delay_s: float | None = None) -> None:
        """Takes the cross-process lock (WorkerBusy if held), recovers interrupted sends, starts the thread."""
        self.lock.acquire()
        try:
            self.journal.recover_interrupted()
        except BaseException:
            self.lock.release()
            raise
        delay = stagger_offset(self.terminal_id, self.cfg.stagger_window_s) if initial_delay_s is None \
            else initial_delay_s
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(delay,), name="hpf-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.lock.release()

    def wake(self) -> None:
        """Something was just queued: look now instead of at the next poll."""
        self._wake.set()

    def run_forever(self, *, initial_delay_s: float | None = None) -> None:
        """Foreground variant for `hpf-kiosk sync run`: blocks until stop() (or KeyboardInterrupt)."""
        self.start(initial_delay_s=initial_delay_s)
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _run(self, initial_delay: float) -> None:
        if initial_delay > 0:
            log.info("sync worker starts in %.0f s (staggered by terminal id)", initial_delay)
            self._sleep(initial_delay)
        self._emit_queue()
        while not self._stop.is_set():
            try:
                wait = self._tick()
            except Exception:
                log.exception("sync worker step failed")
                wait = self.backoff.next_delay()
            if wait > 0 and not self._stop.is_set():
                self._sleep(wait)

    def _tick(self) -> float:
        now = time.monotonic()
        if now >= self._next_catalog:
            self._next_catalog = now + self.cfg.catalog_interval_s
            self.refresh_catalog()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.cfg.heartbeat_interval_s
            self.heartbeat_now()
        rep = self.upload_step()
        if rep is None or rep.error is not None:
            if time.monotonic() >= self._next_checkpoint:
                self._next_checkpoint = time.monotonic() + CHECKPOINT_INTERVAL_S
                self.journal.checkpoint()
        if rep is None:
            until_due = min(self._next_heartbeat, self._next_catalog) - time.monotonic()
            return max(0.0, min(self.cfg.idle_poll_s, until_due))
        if rep.error is not None:
            delay = rep.error.retry_after_s if rep.error.retry_after_s else 0.0
            return max(delay, self.backoff.next_delay())
        return 0.0
