"""What every card-reader backend (pyscard and the simulator) shares: the commands and their errors.

A backend provides `_card_session(token, card_deadline)`: a context manager that waits for a card (until the
deadline; None = wait for the customer), connects, and yields a Transport. The EMV code then runs the same way
on the real reader and on the simulator.
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Callable, ContextManager, Iterator, Optional, TypeVar

from devices.base import (CancelToken, CommandHandle, Completion, CompletionCode, Device, DeviceError,
                          DeviceStatus, MediaState)
from devices.pcsc import emv
from devices.pcsc.apdu import ApduChannel, Transport

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors a customer or a technician can meet. Each: code, device code, English log line, plain Chinese.


def card_removed() -> DeviceError:
    return DeviceError(CompletionCode.USER_ERROR, "CARD_REMOVED", "card removed during the read",
                       "读卡过程中卡片被取出，请重新插卡，读卡完成前请勿拔卡")


def card_mute(detail: str = "card does not answer") -> DeviceError:
    return DeviceError(CompletionCode.HARDWARE_ERROR, "CARD_MUTE", detail,
                       "卡片无响应，请取出卡片，确认插卡方向后重试，或更换卡片")


def no_card(seconds: float) -> DeviceError:
    return DeviceError(CompletionCode.TIMEOUT, "NO_CARD", f"no card inserted within {seconds:.1f} s",
                       "未检测到卡片，请重新插卡")


def service_down(detail: str = "PC/SC service (pcscd) is not running") -> DeviceError:
    return DeviceError(CompletionCode.DEVICE_NOT_READY, "PCSC_NO_SERVICE", detail,
                       "读卡器未就绪，请联系工作人员")


def no_reader(detail: str) -> DeviceError:
    return DeviceError(CompletionCode.DEVICE_NOT_READY, "NO_READER", detail, "未连接读卡器，请联系工作人员")


class SmartCardReader(Device):
    """Commands of a bank / social-security card reader. Results are Completions (value = card data)."""

    role = "cardreader"
    capabilities = frozenset({"bank_card", "social_security_card", "card_events"})
    READ_BUDGET_S = 20.0          # time allowed for the APDU exchange once the card is in

    # --- commands
    def start_read_bank_card(self, timeout: float = 30.0, interface: str = "auto") -> CommandHandle:
        """Wait for a card (timeout 0 = wait for the customer, still cancellable) and read it."""
        itf = emv.Interface(interface)
        return self._submit("read_bank_card", timeout, lambda ch: emv.read_bank_card(ch, itf))

    def read_bank_card(self, timeout: float = 30.0, interface: str = "auto") -> Completion:
        return self.start_read_bank_card(timeout, interface).result()

    def start_read_social_security_card(self, timeout: float = 30.0) -> CommandHandle:
        return self._submit("read_social_security_card", timeout, emv.read_social_security_card)

    def read_social_security_card(self, timeout: float = 30.0) -> Completion:
        return self.start_read_social_security_card(timeout).result()

    def cancel(self) -> None:
        """Cancel the command in progress (e.g. the customer pressed 返回)."""
        self.worker.cancel_current()

    # --- backend hooks
    def _card_session(self, token: CancelToken, card_deadline: Optional[float]) -> ContextManager[Transport]:
        raise NotImplementedError

    # --- plumbing
    def _submit(self, name: str, timeout: float, read: Callable[[ApduChannel], T]) -> CommandHandle:
        if timeout < 0:
            raise ValueError("timeout must be >= 0")

        def run(token: CancelToken) -> T:
            card_deadline = time.monotonic() + timeout if timeout else None
            try:
                with self._card_session(token, card_deadline) as transport:
                    channel = ApduChannel(transport, token)
                    return read(channel)
            except DeviceError as exc:
                c = exc.completion
                log.warning("%s %s: %s (%s)", self.role, name, c.description, c.error_code)
                raise
        return self.worker.submit(name, run, timeout + self.READ_BUDGET_S if timeout else 0)

    @staticmethod
    def _wait_until(token: CancelToken, card_deadline: Optional[float], ready: Callable[[], bool],
                    failed: Callable[[], Optional[DeviceError]], timeout: float, step: float = 0.1,
                    nap: Optional[Callable[[float], None]] = None) -> None:
        """Wait for `ready()`; raise failed() if it says so, no_card() at the deadline, Canceled on cancel.

        `nap(seconds)` may return early when the backend sees a change (so a card is picked up at once)."""
        while True:
            err = failed()
            if err is not None:
                raise err
            if ready():
                return
            if card_deadline is not None and time.monotonic() >= card_deadline:
                raise no_card(timeout)
            wait = step if card_deadline is None else min(step, max(0.0, card_deadline - time.monotonic()))
            if nap is not None:
                nap(wait)
                token.check()
            else:
                token.wait(wait)

    def selftest(self) -> Completion:
        st = self.status.state
        if st.device is DeviceStatus.ONLINE:
            media = {MediaState.PRESENT: "card present", MediaState.NOT_PRESENT: "no card"}.get(st.media, "")
            return Completion(CompletionCode.SUCCESS, st, "", f"reader online; {media}".strip("; "), "读卡器正常")
        usable = self.is_usable()
        return Completion(CompletionCode.DEVICE_NOT_READY, st, st.device.value.upper(),
                          st.detail or usable.missing or "reader not ready", "读卡器未就绪，请联系工作人员")


@contextlib.contextmanager
def nullcontext(value: T) -> Iterator[T]:
    yield value
