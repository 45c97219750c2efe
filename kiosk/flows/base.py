"""A flow is a small state machine: named states, the transitions allowed between them, its data.

No Qt. A flow calls ports on worker threads through Tasks and changes state only on the thread that
drives it (the Qt thread in the GUI, the test thread headless). Listeners are plain callables told
(flow, old_state, new_state) after every change; screens render from `flow.state` and `flow.view()`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowMessage:
    """A message a user can meet: stable code, plain Chinese, plain English (the screen in English mode),
    and an English log line with the technical detail (defaults to the English text)."""
    code: str
    zh: str
    en: str
    log: str = ""

    @property
    def log_line(self) -> str:
        return self.log or self.en

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class IllegalTransition(RuntimeError):
    pass


Listener = Callable[["Flow", Enum, Enum], None]


class Flow:
    """Base: subclasses set INITIAL and TRANSITIONS {state: {allowed next states}}."""

    name = "flow"
    INITIAL: Enum
    TRANSITIONS: dict[Enum, frozenset]

    def __init__(self):
        self.state = self.INITIAL
        self.message: Optional[FlowMessage] = None   # the current error or notice, if any
        self._listeners: list[Listener] = []
        self._epoch = 0                              # bumps on every transition; stale callbacks see it

    # --- listeners ---------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _go(self, new: Enum, message: Optional[FlowMessage] = None) -> None:
        old = self.state
        if new not in self.TRANSITIONS.get(old, frozenset()):
            raise IllegalTransition(f"{self.name}: {old.name} -> {new.name} is not allowed")
        self.state = new
        self.message = message
        self._epoch += 1
        if message:
            log.info("%s: %s -> %s (%s: %s)", self.name, old.name, new.name, message.code, message.log_line)
        else:
            log.info("%s: %s -> %s", self.name, old.name, new.name)
        for listener in list(self._listeners):
            try:
                listener(self, old, new)
            except Exception:
                log.exception("%s: listener failed", self.name)

    def _current(self) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Wrap a callback so it does nothing if the flow moved on since it was scheduled."""
        epoch = self._epoch

        def wrap(fn: Callable[..., None]) -> Callable[..., None]:
            def guarded(*args: Any) -> None:
                if self._epoch == epoch:
                    fn(*args)
            return guarded
        return wrap

    def wipe(self) -> None:
        """Forget every personal datum this flow holds (subclasses clear their own fields)."""
        self.message = None

    @property
    def finished(self) -> bool:
        return not self.TRANSITIONS.get(self.state)
