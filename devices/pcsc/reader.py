"""The PC/SC card reader (pyscard -> pcscd): bank cards and social-security cards.

Status (XFS4IoT cardReader): a monitor thread watches pcscd and the chosen reader with SCardGetStatusChange
and announces changes through the device's StatusTracker (plain callables, no Qt):
    pcscd not running (SCARD_E_NO_SERVICE)      -> device offline
    no reader matches the pattern / reader gone -> device noDevice (and back to online by itself)
    reader, no card                             -> online + media notPresent
    card in the reader                          -> online + media present

pyscard's own CardMonitor is not used for this: it is a process-wide singleton whose thread stops for good
when pcscd is not running at start (or goes away), watches every reader, and can block 60 s on shutdown.
The monitor here uses the same pyscard calls with a short poll so it recovers by itself and stops promptly.

Commands run on the DeviceWorker. Every APDU is sent from a helper thread and waited for with a deadline:
pcscd+vpcd (and some real readers) block SCardTransmit forever on a mute card, and the worker must not.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Iterator, Optional

from config import Settings
from devices.base import CancelToken, DeviceError, DeviceStatus, MediaState, Usability
from devices.pcsc.common import (SmartCardReader, card_mute, card_removed, no_reader, service_down)

log = logging.getLogger(__name__)

try:  # pyscard is optional at import time: is_usable() names it when missing
    from smartcard import scard as S
except ImportError:  # pragma: no cover - exercised only on machines without pyscard
    S = None

NO_SERVICE = {0x8010001D, 0x8010001E, 0x80100003, 0x80100013}  # no service, stopped, bad context, RPC error
REMOVED = {0x80100069, 0x8010000C}                       # removed card, no smartcard
MUTE = {0x80100066, 0x80100067}                          # unresponsive, unpowered
PNP = "\\\\?PnP?\\Notification"


def _hr(value: int) -> int:
    return int(value) & 0xFFFFFFFF


def _err_text(hr: int) -> str:
    try:
        return f"{S.SCardGetErrorMessage(hr).strip()} (0x{_hr(hr):08X})"
    except Exception:
        return f"0x{_hr(hr):08X}"


def match_reader(names: list[str], pattern: str) -> Optional[str]:
    """The first reader whose name contains `pattern` (case-insensitive); '' = the first reader."""
    for name in names:
        if pattern.lower() in name.lower():
            return name
    return None


def list_readers() -> list[str]:
    """Reader names from pcscd. Raises DeviceError (deviceNotReady) when pcscd is not running."""
    if S is None:
        raise service_down("pyscard is not installed")
    hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
    if hr != S.SCARD_S_SUCCESS:
        raise service_down(f"pcscd not reachable: {_err_text(hr)}")
    try:
        hr, names = S.SCardListReaders(ctx, [])
        if _hr(hr) == 0x8010002E:
            return []
        if hr != S.SCARD_S_SUCCESS:
            raise service_down(f"cannot list readers: {_err_text(hr)}")
        return list(names)
    finally:
        S.SCardReleaseContext(ctx)


class _hybrid:
    """is_usable() callable on the class (library + service check) and on an instance (+ its reader)."""

    def __init__(self, func):
        self.func = func

    def __get__(self, obj, owner):
        return lambda: self.func(owner, obj)


class PcscCardReader(SmartCardReader):
    """A PC/SC reader chosen by name pattern (CardReaderSettings.reader_pattern)."""

    POLL_MS = 300                 # SCardGetStatusChange wait per round; also the close latency
    RETRY_S = 1.0                 # while pcscd is down
    APDU_TIMEOUT_S = 5.0          # a card that is silent this long is mute
    REMOVAL_GRACE_S = 1.5         # after an I/O error, how long pcscd may take to see the card gone

    def __init__(self, reader_pattern: str = "", role: Optional[str] = None):
        super().__init__(role)
        self.reader_pattern = reader_pattern
        self.reader_name: Optional[str] = None
        self._closed = threading.Event()
        self._changed = threading.Condition()
        self._ctx = None
        self._first_scan = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name=f"pcsc-monitor-{self.role}", daemon=True)
        if S is None:
            self.status.update(device=DeviceStatus.OFFLINE, detail="pyscard not installed")
            self._first_scan.set()
        else:
            self._monitor.start()
            self._first_scan.wait(2.0)

    # ------------------------------------------------------------------ usability and status
    @_hybrid
    def is_usable(cls, self=None) -> Usability:
        if S is None:
            return Usability(False, "pyscard not installed (pip install pyscard; needs libpcsclite-dev)")
        try:
            names = list_readers()
        except DeviceError:
            return Usability(False, "pcscd not running (SCARD_E_NO_SERVICE): start the PC/SC daemon")
        pattern = self.reader_pattern if self is not None else ""
        if match_reader(names, pattern) is None:
            what = f"no PC/SC reader matches '{pattern}'" if pattern else "no PC/SC reader connected"
            return Usability(False, f"{what} (readers: {', '.join(names) or 'none'})")
        return Usability(True)

    def _set(self, device: DeviceStatus, media: MediaState, detail: str) -> None:
        if self.status.update(device=device, media=media, detail=detail):
            log.info("card reader %s: %s, media %s%s", self.role, device.value, media.value,
                     f" ({detail})" if detail else "")
        with self._changed:
            self._changed.notify_all()

    def _release_ctx(self) -> None:
        if self._ctx is not None:
            try:
                S.SCardReleaseContext(self._ctx)
            except Exception:
                pass
            self._ctx = None

    def _watch(self) -> None:
        state = S.SCARD_STATE_UNAWARE
        watched: Optional[str] = None
        while not self._closed.is_set():
            try:
                if self._ctx is None:
                    hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
                    if hr != S.SCARD_S_SUCCESS:
                        self._set(DeviceStatus.OFFLINE, MediaState.UNKNOWN,
                                  f"pcscd not running: {_err_text(hr)}")
                        self._first_scan.set()
                        self._closed.wait(self.RETRY_S)
                        continue
                    self._ctx = ctx
                    watched, state = None, S.SCARD_STATE_UNAWARE   # a new daemon: ask for the state afresh
                hr, names = S.SCardListReaders(self._ctx, [])
                if _hr(hr) in NO_SERVICE:
                    self._release_ctx()
                    self.reader_name, watched = None, None
                    self._set(DeviceStatus.OFFLINE, MediaState.UNKNOWN, f"pcscd went away: {_err_text(hr)}")
                    self._first_scan.set()
                    self._closed.wait(self.RETRY_S)
                    continue
                names = list(names) if hr == S.SCARD_S_SUCCESS else []
                name = match_reader(names, self.reader_pattern)
                if name != watched:
                    watched, state = name, S.SCARD_STATE_UNAWARE
                    self.reader_name = name
                if name is None:
                    what = f"no reader matches '{self.reader_pattern}'" if self.reader_pattern else "no reader"
                    self._set(DeviceStatus.NO_DEVICE, MediaState.UNKNOWN,
                              f"{what} (readers: {', '.join(names) or 'none'})")
                    self._first_scan.set()
                    # wake up when readers come or go, or after a short while
                    S.SCardGetStatusChange(self._ctx, int(self.RETRY_S * 1000), [(PNP, len(names) << 16)])
                    continue
                hr, new = S.SCardGetStatusChange(self._ctx, 0 if state == S.SCARD_STATE_UNAWARE else self.POLL_MS,
                                                 [(name, state)])
                code = _hr(hr)
                if code in (0x8010000A, 0x80100002):          # timeout, cancelled: nothing changed
                    continue
                if code in NO_SERVICE:
                    self._release_ctx()
                    continue
                if code in (0x80100009, 0x80100017):          # unknown reader / reader unavailable
                    watched = None
                    self._set(DeviceStatus.NO_DEVICE, MediaState.UNKNOWN, f"reader '{name}' went away")
                    continue
                if code != S.SCARD_S_SUCCESS:
                    self._set(DeviceStatus.HARDWARE_ERROR, MediaState.UNKNOWN, _err_text(hr))
                    self._closed.wait(self.RETRY_S)
                    continue
                _, event, atr = new[0]
                state = event & ~S.SCARD_STATE_CHANGED
                if event & S.SCARD_STATE_UNAVAILABLE:
                    self._set(DeviceStatus.NO_DEVICE, MediaState.UNKNOWN, f"reader '{name}' unavailable")
                elif event & S.SCARD_STATE_PRESENT:
                    detail = "card does not answer reset" if event & S.SCARD_STATE_MUTE else ""
                    self._set(DeviceStatus.ONLINE, MediaState.PRESENT, detail)
                else:
                    self._set(DeviceStatus.ONLINE, MediaState.NOT_PRESENT, "")
                self._first_scan.set()
            except Exception:  # the monitor must survive anything pyscard throws at it
                log.exception("card reader monitor error")
                self._release_ctx()
                self._closed.wait(self.RETRY_S)
        self._release_ctx()

    def close(self) -> None:
        self._closed.set()
        ctx = self._ctx
        if ctx is not None and S is not None:
            try:
                S.SCardCancel(ctx)
            except Exception:
                pass
        if self._monitor.is_alive():
            self._monitor.join(3)
        super().close()

    # ------------------------------------------------------------------ a card session
    def _nap(self, seconds: float) -> None:
        with self._changed:
            self._changed.wait(seconds)

    def _not_ready(self) -> Optional[DeviceError]:
        st = self.status.state
        if st.device is DeviceStatus.OFFLINE:
            return service_down(st.detail or "pcscd not running")
        if st.device is DeviceStatus.NO_DEVICE:
            return no_reader(st.detail or "no reader")
        return None

    @contextlib.contextmanager
    def _card_session(self, token: CancelToken, card_deadline: Optional[float]) -> Iterator["_PcscTransport"]:
        self._first_scan.wait(2.0)
        timeout = 0.0 if card_deadline is None else max(0.0, card_deadline - time.monotonic())
        self._wait_until(token, card_deadline, lambda: self.status.state.media is MediaState.PRESENT,
                         self._not_ready, timeout, nap=self._nap)
        transport = _PcscTransport(self, token)
        try:
            transport.open()
            yield transport
        finally:
            transport.close()

    def card_gone(self) -> bool:
        return self.status.state.media is MediaState.NOT_PRESENT


def _call(fn, seconds: float, token: CancelToken, done: Optional[threading.Event] = None):
    """Run a blocking pyscard call in a helper thread; (done, result). Never blocks past `seconds`.

    `done` (if given) is set when the call really returns, even after we stopped waiting for it."""
    box: list = []
    done = done or threading.Event()

    def run():
        try:
            box.append((True, fn()))
        except BaseException as exc:  # handed back to the caller
            box.append((False, exc))
        done.set()

    threading.Thread(target=run, name="pcsc-io", daemon=True).start()
    end = time.monotonic() + seconds
    while not done.wait(min(0.05, max(0.0, end - time.monotonic()))):
        if time.monotonic() >= end:
            return False, None
        if token.stopped:
            return False, None
    ok, value = box[0]
    if not ok:
        raise value
    return True, value


class _PcscTransport:
    """One connection to the card in the chosen reader (own PC/SC context, T=0 or T=1)."""

    def __init__(self, reader: PcscCardReader, token: CancelToken):
        self.reader, self.token = reader, token
        self.ctx = self.card = None
        self.protocol = None
        self.stuck = False
        self._pending = threading.Event()

    def _timeout(self) -> float:
        rem = self.token.remaining
        return self.reader.APDU_TIMEOUT_S if rem is None else min(self.reader.APDU_TIMEOUT_S, rem)

    def open(self) -> None:
        hr, self.ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
        if hr != S.SCARD_S_SUCCESS:
            self.ctx = None
            raise service_down(f"pcscd not reachable: {_err_text(hr)}")
        name = self.reader.reader_name
        if not name:
            raise no_reader("reader went away")
        self._pending = threading.Event()
        done, res = _call(lambda: S.SCardConnect(self.ctx, name, S.SCARD_SHARE_SHARED,
                                                 S.SCARD_PROTOCOL_T0 | S.SCARD_PROTOCOL_T1),
                          self._timeout(), self.token, self._pending)
        if not done:
            self.stuck = True
            self.token.check()
            raise card_mute("card does not answer power-up")
        hr, self.card, self.protocol = res
        code = _hr(hr)
        if code == S.SCARD_S_SUCCESS:
            return
        self.card = None
        if code in REMOVED:
            raise card_removed()
        if code in MUTE:
            raise card_mute(f"card does not answer reset: {_err_text(hr)}")
        if code in NO_SERVICE:
            raise service_down(f"pcscd went away: {_err_text(hr)}")
        raise card_mute(f"cannot connect to the card: {_err_text(hr)}")

    def transmit(self, apdu: bytes) -> bytes:
        pci = S.SCARD_PCI_T0 if self.protocol == S.SCARD_PROTOCOL_T0 else S.SCARD_PCI_T1
        self._pending = threading.Event()
        done, res = _call(lambda: S.SCardTransmit(self.card, pci, list(apdu)), self._timeout(), self.token,
                          self._pending)
        if not done:
            self.stuck = True
            self.token.check()                 # canceled / timed out take precedence over "mute"
            raise card_mute(f"no answer to {apdu[:4].hex()} within {self.reader.APDU_TIMEOUT_S:g} s")
        hr, resp = res
        if hr == S.SCARD_S_SUCCESS and len(resp) >= 2:
            return bytes(resp)
        raise self._io_error(hr, apdu)

    def _io_error(self, hr: int, apdu: bytes) -> DeviceError:
        code = _hr(hr)
        if code in NO_SERVICE:
            return service_down(f"pcscd went away during the read: {_err_text(hr)}")
        if code in REMOVED:
            return card_removed()
        # vpcd and some readers first report a generic failure; pcscd sees the removal a moment later.
        end = time.monotonic() + self.reader.REMOVAL_GRACE_S
        while time.monotonic() < end:
            if self.reader.card_gone() or self._status_says_removed():
                return card_removed()
            time.sleep(0.05)
        return card_mute(f"transmit {apdu[:4].hex()} failed: {_err_text(hr)}")

    def _status_says_removed(self) -> bool:
        try:
            hr, *_ = S.SCardStatus(self.card)
        except Exception:
            return False
        return _hr(hr) in REMOVED

    def close(self) -> None:
        card, ctx, pending = self.card, self.ctx, self._pending
        self.card = self.ctx = None

        def release():
            if card is not None:
                try:
                    S.SCardDisconnect(card, S.SCARD_LEAVE_CARD)
                except Exception:
                    pass
            if ctx is not None:
                try:
                    S.SCardReleaseContext(ctx)
                except Exception:
                    pass
        if not self.stuck:
            release()
        else:
            # a call to a mute card is still blocked in pcscd; it returns when the card is taken out.
            # Clean up then, off the worker thread.
            def later():
                pending.wait()
                release()
            threading.Thread(target=later, name="pcsc-cleanup", daemon=True).start()


def build_pcsc_reader(settings: Settings) -> PcscCardReader:
    return PcscCardReader(settings.devices.cardreader.reader_pattern)


# The name the assignment and the device model use for this adapter.
CardReader = PcscCardReader
