"""Work off the caller's thread, results delivered through one `post` hook (Anki's run_in_background).

The core never blocks the thread that drives it: device, network and disk work runs on a small pool;
the result (or error) comes back as a plain callable handed to `post`. Headless (tests, selftest) the
callables queue up and `process()` / `run_until()` runs them on the calling thread. The GUI replaces
`post` with its bridge, so every callback runs on the Qt thread."""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from devices.base import CancelToken

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]


class Task:
    """A running piece of work; cancel() asks it to stop (its token), and drops its result."""

    def __init__(self, name: str, token: CancelToken):
        self.name = name
        self.token = token
        self.canceled = False
        self.done = False

    def cancel(self) -> None:
        self.canceled = True
        self.token.cancel()


class Tasks:
    def __init__(self, post: Optional[Post] = None, workers: int = 4):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kiosk-task")
        self._inbox: "queue.Queue[Callable[[], None]]" = queue.Queue()
        self._post: Post = post or self._inbox.put
        self._lock = threading.Lock()
        self._running: set[Task] = set()

    def set_poster(self, post: Optional[Post]) -> None:
        """The GUI bridge installs itself here; callbacks then run on the Qt thread. Callbacks that
        arrived before (e.g. the first catalog from the sync worker) are handed over too.
        None goes back to the headless queue (the window closed; process()/run_until() drive it)."""
        if post is None:
            self._post = self._inbox.put
            return
        self._post = post
        while True:
            try:
                post(self._inbox.get_nowait())
            except queue.Empty:
                return

    def release_poster(self, post: Post) -> None:
        """The bridge that installed `post` is going away: back to the headless queue (if it is still ours)."""
        if self._post == post:
            self.set_poster(None)

    def post(self, fn: Callable[[], None]) -> None:
        self._post(fn)

    def run(self, name: str, fn: Callable[[CancelToken], Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None], timeout: float = 0) -> Task:
        """Run fn(token) on a worker; deliver on_done(result) or on_error(exc) through post.

        A canceled task delivers nothing: whoever canceled it has already moved on."""
        task = Task(name, CancelToken(timeout))
        with self._lock:
            self._running.add(task)

        def work() -> None:
            try:
                result = fn(task.token)
            except BaseException as exc:  # delivered to the caller, never lost in the pool
                if not task.canceled:
                    log.debug("task %s failed: %s", name, exc)
                outcome: Callable[[], None] = lambda err=exc: on_error(err)
            else:
                outcome = lambda: on_done(result)
            finally:
                task.done = True
                with self._lock:
                    self._running.discard(task)
            if not task.canceled:
                self._post(lambda: None if task.canceled else outcome())

        self._pool.submit(work)
        return task

    def cancel_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for task in running:
            task.cancel()

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    # --- headless event loop ---------------------------------------------------------------------------
    def process(self, wait: float = 0.0) -> int:
        """Run queued callbacks on this thread; wait up to `wait` s for the first one. Returns how many ran."""
        n = 0
        try:
            fn = self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return 0
        while True:
            try:
                fn()
            except Exception:
                log.exception("callback failed")
            n += 1
            try:
                fn = self._inbox.get_nowait()
            except queue.Empty:
                return n

    def run_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Headless loop: process callbacks until predicate() holds or the timeout passes."""
        end = time.monotonic() + timeout
        while not predicate():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.process(wait=min(0.05, left))
        return True

    def shutdown(self) -> None:
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
