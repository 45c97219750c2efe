"""The one bridge from the Qt-free core to Qt (Electrum's on_event_<name> pattern).

- Tasks: the core's `post` hook becomes a queued signal, so every task result runs on the Qt thread.
- Events: Terminal.events (name, payload) are delivered as target.on_event_<name>(**payload) on the Qt
  thread, to every registered target that has such a method.
Nothing else in screens/ talks to threads."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from screens.qt import QObject, Qt, Signal

log = logging.getLogger(__name__)


class Bridge(QObject):
    _call = Signal(object)

    def __init__(self, terminal, parent=None):
        super().__init__(parent)
        self.terminal = terminal
        self._targets: list[Any] = []
        self._ui_thread = threading.current_thread()
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)
        terminal.tasks.set_poster(self.post)
        self._unsubscribe = terminal.events.subscribe(self._on_core_event)

    def add_target(self, target: Any) -> None:
        self._targets.append(target)

    def remove_target(self, target: Any) -> None:
        if target in self._targets:
            self._targets.remove(target)

    def post(self, fn: Callable[[], None]) -> None:
        """Thread-safe: fn runs on the Qt thread at the next turn of the event loop."""
        self._call.emit(fn)

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("UI callback failed")

    def _on_core_event(self, name: str, payload: dict) -> None:
        if threading.current_thread() is self._ui_thread:
            self._dispatch(name, payload)
        else:
            self.post(lambda: self._dispatch(name, payload))

    def _dispatch(self, name: str, payload: dict) -> None:
        for target in list(self._targets):
            handler = getattr(target, f"on_event_{name}", None)
            if handler is None:
                continue
            try:
                handler(**payload)
            except Exception:
                log.exception("on_event_%s failed in %s", name, type(target).__name__)

    def close(self) -> None:
        self._unsubscribe()
        self.terminal.tasks.release_poster(self.post)      # hand the core back to its headless queue
