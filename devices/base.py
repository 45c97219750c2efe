"""The device model every peripheral adapter follows (learned from XFS4IoT).

- Common status (DeviceStatus) plus per-class media/paper state, announced only on a real change.
- Every command ends in a Completion with a CompletionCode, a device-specific code, an English
  description for logs and a plain Chinese message for the screen.
- One DeviceWorker (thread) per device runs commands one at a time, each with a deadline and a CancelToken.
  timeout 0 means "wait for the customer", still cancellable. Canceled and timed out are different results.
- Every backend says what it is missing through is_usable(); every device has selftest().
No Qt here: listeners are plain callables; screens/ bridges them into Qt signals.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Optional

log = logging.getLogger("devices")


class DeviceStatus(str, Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    POWER_OFF = "powerOff"
    NO_DEVICE = "noDevice"
    HARDWARE_ERROR = "hardwareError"
    USER_ERROR = "userError"
    BUSY = "busy"


class MediaState(str, Enum):
    UNKNOWN = "unknown"
    PRESENT = "present"
    NOT_PRESENT = "notPresent"
    JAMMED = "jammed"
    ENTERING = "entering"


class PaperState(str, Enum):
    UNKNOWN = "unknown"
    FULL = "full"
    LOW = "low"
    OUT = "out"
    JAMMED = "jammed"


class CompletionCode(str, Enum):
    SUCCESS = "success"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    DEVICE_NOT_READY = "deviceNotReady"
    HARDWARE_ERROR = "hardwareError"
    USER_ERROR = "userError"
    INVALID_DATA = "invalidData"
    UNSUPPORTED = "unsupported"
    SEQUENCE_ERROR = "sequenceError"
    INTERNAL_ERROR = "internalError"


# Plain Chinese for the screen when an adapter gives no more specific message.
DEFAULT_MESSAGES_ZH = {
    CompletionCode.SUCCESS: "操作成功",
    CompletionCode.CANCELED: "操作已取消",
    CompletionCode.TIMEOUT: "操作超时，请重试",
    CompletionCode.DEVICE_NOT_READY: "设备未就绪，请联系工作人员",
    CompletionCode.HARDWARE_ERROR: "设备故障，请联系工作人员",
    CompletionCode.USER_ERROR: "读取失败，请按提示重新操作",
    CompletionCode.INVALID_DATA: "数据无效，请重试",
    CompletionCode.UNSUPPORTED: "设备不支持此操作",
    CompletionCode.SEQUENCE_ERROR: "操作顺序有误，请重试",
    CompletionCode.INTERNAL_ERROR: "系统内部错误，请联系工作人员",
}


@dataclass(frozen=True)
class Completion:
    code: CompletionCode
    value: Any = None
    error_code: str = ""          # device-specific, e.g. "SW3_41", "PAPER_OUT", "6A82"
    description: str = ""         # English, for the log
    message_zh: str = ""          # plain Chinese, for the screen

    @property
    def ok(self) -> bool:
        return self.code is CompletionCode.SUCCESS

    @property
    def message(self) -> str:
        return self.message_zh or DEFAULT_MESSAGES_ZH[self.code]

    @classmethod
    def success(cls, value: Any = None) -> "Completion":
        return cls(CompletionCode.SUCCESS, value)


class DeviceError(Exception):
    """Raised inside a command; the worker turns it into a Completion."""

    def __init__(self, code: CompletionCode, error_code: str = "", description: str = "", message_zh: str = ""):
        super().__init__(description or code.value)
        self.completion = Completion(code, None, error_code, description or code.value, message_zh)


class Canceled(DeviceError):
    def __init__(self):
        super().__init__(CompletionCode.CANCELED, "CANCELED", "command canceled")


class TimedOut(DeviceError):
    def __init__(self, what: str = "command"):
        super().__init__(CompletionCode.TIMEOUT, "TIMEOUT", f"{what} timed out")


class CancelToken:
    """Given to every command. A command polls check() (or waits with wait()) between I/O steps."""

    def __init__(self, timeout: float):
        self._event = threading.Event()
        self._reason: Optional[str] = None
        self.deadline = None if not timeout else time.monotonic() + timeout

    def cancel(self) -> None:
        if self._reason is None:
            self._reason = "canceled"
        self._event.set()

    def _expire(self) -> None:
        if self._reason is None:
            self._reason = "timeout"
        self._event.set()

    @property
    def remaining(self) -> Optional[float]:
        """Seconds left before the deadline (None = no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    @property
    def stopped(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._expire()
        return self._event.is_set()

    def check(self) -> None:
        """Raise Canceled or TimedOut if the command must stop now."""
        if self.stopped:
            raise Canceled() if self._reason == "canceled" else TimedOut()

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early (and raising) on cancel or deadline."""
        rem = self.remaining
        self._event.wait(seconds if rem is None else min(seconds, rem))
        self.check()


@dataclass(frozen=True)
class DeviceState:
    device: DeviceStatus = DeviceStatus.OFFLINE
    media: MediaState = MediaState.UNKNOWN
    paper: PaperState = PaperState.UNKNOWN
    detail: str = ""              # English, e.g. "port /dev/ttyUSB0 not found"


@dataclass(frozen=True)
class Usability:
    ok: bool
    missing: str = ""             # what is missing, e.g. "pyscard not installed", "pcscd not running"


StatusListener = Callable[[str, DeviceState], None]


class StatusTracker:
    """Holds a device's state and tells listeners only when a value really changes."""

    def __init__(self, role: str, initial: DeviceState = DeviceState()):
        self.role = role
        self._state = initial
        self._lock = threading.Lock()
        self._listeners: list[StatusListener] = []

    @property
    def state(self) -> DeviceState:
        return self._state

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def update(self, **changes) -> bool:
        with self._lock:
            new = replace(self._state, **changes)
            if new == self._state:
                return False
            self._state = new
        for listener in list(self._listeners):
            try:
                listener(self.role, new)
            except Exception:
                log.exception("status listener failed for %s", self.role)
        return True


class CommandHandle:
    """What submit() returns: a future of a Completion, plus cancel()."""

    def __init__(self, name: str, token: CancelToken):
        self.name = name
        self.token = token
        self.future: Future[Completion] = Future()

    def cancel(self) -> None:
        self.token.cancel()

    def result(self, wait: Optional[float] = None) -> Completion:
        return self.future.result(wait)

    def done(self) -> bool:
        return self.future.done()

    def add_done_callback(self, fn: Callable[[Completion], None]) -> None:
        self.future.add_done_callback(lambda f: fn(f.result()))


class DeviceWorker:
    """One thread per device; commands run one at a time, each with a deadline and a cancel token.

    A command that ignores its token past the deadline still completes as TIMEOUT for the caller at the
    deadline (plus a short grace), so no caller ever waits forever on a stuck device."""

    GRACE_S = 0.5

    def __init__(self, name: str):
        self.name = name
        self._queue: "queue.Queue[Optional[tuple[CommandHandle, Callable[[CancelToken], Any]]]]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"device-{name}", daemon=True)
        self._current: Optional[CommandHandle] = None
        self._thread.start()

    def submit(self, name: str, fn: Callable[[CancelToken], Any], timeout: float) -> CommandHandle:
        handle = CommandHandle(name, CancelToken(timeout))
        if timeout:
            t = threading.Timer(timeout + self.GRACE_S, self._force_timeout, args=(handle,))
            t.daemon = True
            t.start()
        self._queue.put((handle, fn))
        return handle

    def call(self, name: str, fn: Callable[[CancelToken], Any], timeout: float) -> Completion:
        """Submit and wait (never on the Qt thread)."""
        return self.submit(name, fn, timeout).result()

    def cancel_current(self) -> None:
        cur = self._current
        if cur:
            cur.cancel()

    def stop(self) -> None:
        self.cancel_current()
        self._queue.put(None)

    def in_worker(self) -> bool:
        return threading.current_thread() is self._thread

    @staticmethod
    def _resolve(handle: CommandHandle, completion: Completion) -> None:
        if not handle.future.done():
            try:
                handle.future.set_result(completion)
            except Exception:  # raced with the other resolver
                pass

    def _force_timeout(self, handle: CommandHandle) -> None:
        if not handle.future.done():
            log.warning("device %s: command %s overran its deadline", self.name, handle.name)
            handle.token._expire()
            self._resolve(handle, TimedOut(handle.name).completion)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            handle, fn = item
            if handle.future.done():
                continue
            self._current = handle
            try:
                handle.token.check()
                value = fn(handle.token)
                completion = value if isinstance(value, Completion) else Completion.success(value)
            except DeviceError as exc:
                completion = exc.completion
            except Exception as exc:  # an adapter bug must not kill the worker
                log.exception("device %s: command %s failed", self.name, handle.name)
                completion = Completion(CompletionCode.INTERNAL_ERROR, None, exc.__class__.__name__,
                                        f"{handle.name}: {exc}")
            finally:
                self._current = None
            self._resolve(handle, completion)


class Device(ABC):
    """Base of every device adapter: a role, a worker, a status tracker, capabilities."""

    role: str = "device"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, role: Optional[str] = None):
        self.role = role or self.role
        self.worker = DeviceWorker(self.role)
        self.status = StatusTracker(self.role)

    @classmethod
    def is_usable(cls) -> Usability:
        return Usability(True)

    @abstractmethod
    def selftest(self) -> Completion:
        """A quick check a technician can run; returns a Completion describing the result."""

    def close(self) -> None:
        self.worker.stop()
