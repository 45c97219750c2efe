"""IdCardReader: a GA/T 467 SAM_A reader on a serial port (pyserial), behind the project's device model.

Every command runs on the device's worker thread with a deadline; the serial port is touched by that
thread only. Status events: online, offline (the reader went silent), noDevice (the port is missing or
unplugged; when it comes back a background probe finds it again: hot-plug), hardwareError (SAM self-test
failed / SAM not authorised). Media: present when a card answers "find", notPresent when none does.

A real SAM halts a card once it has been read, so the card answers "no card" until it is lifted and placed
again: one placement is read once, and a card that answers "found" again is a new placement. For a module
that does not halt cards (halting_module=False) the reader remembers the serial number it last read and
does not read it again until a "no card" answer shows it was lifted (a quick lift-and-replace between two
commands then looks like the same placement: the price of never reading one placement twice).
"""
from __future__ import annotations

import logging
import os
import termios
import threading
import time
from typing import Any, Callable, Optional

from config import Settings
from devices.base import (Canceled, CancelToken, CommandHandle, Completion, CompletionCode, Device, DeviceError,
                          DeviceStatus, MediaState, TimedOut, Usability)
from devices.idcard import card as cardmod
from devices.idcard import protocol as p
from devices.idcard.photo import PhotoDecoder, load_photo_decoder

try:
    import serial  # pyserial
except ImportError:  # pragma: no cover - pyserial is a declared dependency; is_usable() reports it
    serial = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_AUTO = object()
_TRANSIENT = ("RX_CHECKSUM", "RX_TRUNCATED")


def format_sam_id(data: bytes) -> str:
    """16 bytes (u16,u16,u32,u32,u32 little-endian) -> '05.01-20101207-0000218429-0123456789'."""
    if len(data) < 16:
        raise p.host_error("RX_MALFORMED", f"SAM id of {len(data)} bytes, expected 16")
    a, b = int.from_bytes(data[0:2], "little"), int.from_bytes(data[2:4], "little")
    c, d, e = (int.from_bytes(data[i:i + 4], "little") for i in (4, 8, 12))
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"


class _HybridUsable:
    """is_usable() works on the class (what is installed) and on an instance (plus: is the port there)."""

    def __get__(self, obj, owner):
        if obj is None:
            return lambda: owner._usable_class()
        return obj._usable_instance


class IdCardReader(Device):
    role = "idcard"
    capabilities = frozenset({"read_text_photo", "read_fingerprint", "sam_id", "hotplug"})

    def __init__(self, port: str, baud: int = 115200, *, read_fingerprint: bool = False,
                 poll_interval_s: float = 0.3, response_timeout_s: float = 1.0, read_timeout_s: float = 3.0,
                 frame_slack_s: float = 0.5, probe_interval_s: float = 3.0,
                 halting_module: bool = True, photo_decoder: Any = _AUTO, role: Optional[str] = None,
                 probe_now: bool = True):
        super().__init__(role)
        if baud not in p.BAUD_RATES:
            raise ValueError(f"baud {baud} is not one of {p.BAUD_RATES}")
        self.port = port
        self.baud = baud
        self.read_fingerprint = read_fingerprint
        self.poll_interval_s = poll_interval_s
        self.response_timeout_s = response_timeout_s   # to the first byte of an answer (status, find, select)
        self.read_timeout_s = read_timeout_s           # to the first byte of a card-read answer (RF read)
        self.frame_slack_s = frame_slack_s             # once a frame has begun: wire time x2 + this slack
        self.probe_interval_s = probe_interval_s
        self.halting_module = halting_module
        self.photo_decoder: Optional[PhotoDecoder] = (load_photo_decoder() if photo_decoder is _AUTO
                                                      else photo_decoder)
        self._serial = None
        self._parser = p.FrameParser()
        self._last_read_sn: Optional[bytes] = None
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._last_io = 0.0
        self._closing = threading.Event()
        self._monitor = threading.Thread(target=self._monitor_loop, name=f"probe-{self.role}", daemon=True)
        if probe_now:
            self._submit("probe", self._probe, self.response_timeout_s + 2.0).result()
        self._monitor.start()

    # ---- capabilities ---------------------------------------------------------------------------------
    is_usable = _HybridUsable()

    @staticmethod
    def _usable_class() -> Usability:
        if serial is None:
            return Usability(False, "pyserial not installed (pip install pyserial)")
        return Usability(True)

    def _usable_instance(self) -> Usability:
        base = self._usable_class()
        if not base.ok:
            return base
        if not self.port:
            return Usability(False, "no serial port configured (devices.idcard.port)")
        if not os.path.exists(self.port):
            return Usability(False, f"serial port {self.port} not found (reader unplugged?)")
        if not os.access(self.port, os.R_OK | os.W_OK):
            return Usability(False, f"no permission to open {self.port} (add the user to group dialout)")
        return Usability(True)

    # ---- public commands (each returns a Completion; never call these on the Qt thread) ---------------
    def reset_sam(self, timeout: float = 5.0) -> Completion:
        return self._submit("reset_sam", lambda t: self._simple(p.Command.RESET_SAM, t), timeout).result()

    def sam_status(self, timeout: float = 3.0) -> Completion:
        return self._submit("sam_status", lambda t: self._simple(p.Command.SAM_STATUS, t), timeout).result()

    def sam_id(self, timeout: float = 3.0) -> Completion:
        def run(t: CancelToken) -> str:
            return format_sam_id(self._simple(p.Command.SAM_ID, t).data)
        return self._submit("sam_id", run, timeout).result()

    def find_card(self, timeout: float = 3.0) -> Completion:
        def run(t: CancelToken) -> bytes:
            found = self._find(t)
            if found.sw3 != p.SW3_FOUND:
                raise p.sw3_error(found.sw3, p.Command.FIND_CARD)
            return found.data
        return self._submit("find_card", run, timeout).result()

    def select_card(self, timeout: float = 3.0) -> Completion:
        return self._submit("select_card", lambda t: self._simple(p.Command.SELECT_CARD, t).data.hex(),
                            timeout).result()

    def read_text_photo(self, timeout: float = 5.0) -> Completion:
        return self._submit("read_text_photo", lambda t: self._read(t, False), timeout).result()

    def read_text_photo_fingerprint(self, timeout: float = 10.0) -> Completion:
        return self._submit("read_text_photo_fingerprint", lambda t: self._read(t, True), timeout).result()

    def read_card(self, timeout: float = 30.0, fingerprint: Optional[bool] = None) -> CommandHandle:
        """Wait for a card, then read it. Returns at once; handle.result() is a Completion whose value is
        IdCardData. timeout 0 = wait for the customer (handle.cancel() still stops it)."""
        fp = self.read_fingerprint if fingerprint is None else fingerprint

        def run(token: CancelToken) -> cardmod.IdCardData:
            try:
                return self._read_loop(token, fp)
            except TimedOut:
                raise DeviceError(CompletionCode.TIMEOUT, "NO_CARD_TIMEOUT",
                                  f"no ID card read within {timeout:g} s",
                                  "未读到身份证，请将身份证放在感应区后重试") from None
        return self._submit("read_card", run, timeout)

    def read_blocking(self, token: CancelToken, fingerprint: Optional[bool] = None) -> cardmod.IdCardData:
        """For a caller on its own worker thread with its own CancelToken (the kiosk.flows ports): wait for
        and read a card; raise DeviceError (code + Chinese message) on anything but success."""
        remaining = token.remaining
        handle = self.read_card(0 if remaining is None else max(remaining, 0.01), fingerprint)
        while not handle.done():
            if token.stopped:
                handle.cancel()
                break
            try:
                handle.result(0.05)
            except Exception:   # concurrent.futures.TimeoutError: not done yet
                pass
        completion = handle.result()
        if completion.code is CompletionCode.CANCELED:
            token.check()       # raise the caller's own Canceled / TimedOut
        if not completion.ok:
            raise DeviceError(completion.code, completion.error_code, completion.description,
                              completion.message_zh)
        return completion.value

    def card_present(self) -> bool:
        """The last "find" answer. A SAM halts a card once read, so right after a read this cannot tell a
        card still lying there from a lifted one: screens should always remind the customer to take it."""
        return self.status.state.media is MediaState.PRESENT

    def cancel(self) -> None:
        """Cancel the command now running (a waiting read_card ends as canceled)."""
        self.worker.cancel_current()

    def selftest(self) -> Completion:
        def run(t: CancelToken) -> dict:
            self._simple(p.Command.SAM_STATUS, t)
            sam = format_sam_id(self._simple(p.Command.SAM_ID, t).data)
            return {"port": self.port, "baud": self.baud, "sam_id": sam}
        c = self._submit("selftest", run, self.response_timeout_s * 2 + 3.0).result()
        if c.ok:
            return Completion(CompletionCode.SUCCESS, c.value, "", f"SAM OK, id {c.value['sam_id']}",
                              "身份证阅读器正常")
        return c

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self.worker.cancel_current()
        try:
            self._submit("close", lambda t: self._close_port(), 2.0).result(5.0)
        except Exception:  # the worker is gone or stuck; the port closes with the process
            log.warning("idcard: port %s not closed cleanly", self.port)
        self.worker.stop()

    # ---- worker-side implementation ----------------------------------------------------------------------
    def _submit(self, name: str, fn: Callable[[CancelToken], Any], timeout: float) -> CommandHandle:
        if self._closing.is_set() and name != "close":
            handle = CommandHandle(name, CancelToken(timeout))
            handle.future.set_result(Completion(CompletionCode.DEVICE_NOT_READY, None, "CLOSED",
                                                f"{name}: reader on {self.port} is closed",
                                                "身份证阅读器未就绪，请联系工作人员"))
            return handle
        with self._inflight_lock:
            self._inflight += 1
        handle = self.worker.submit(name, fn, timeout)

        def done(_f) -> None:
            with self._inflight_lock:
                self._inflight -= 1
        handle.future.add_done_callback(done)
        return handle

    def _monitor_loop(self) -> None:
        """When idle, probe the reader every probe_interval_s: finds a replugged port, notices silence."""
        while not self._closing.wait(self.probe_interval_s / 2):
            with self._inflight_lock:
                busy = self._inflight > 0
            if busy or time.monotonic() - self._last_io < self.probe_interval_s:
                continue
            self._submit("probe", self._probe, self.response_timeout_s + 2.0)

    def _probe(self, token: CancelToken) -> None:
        """SAM status; or, while a card is believed present, "find" so a lifted card is noticed."""
        try:
            if self.status.state.media is MediaState.PRESENT and self._serial is not None:
                self._find(token)
                return
            self._simple(p.Command.SAM_STATUS, token)
        except DeviceError as exc:
            if isinstance(exc, Canceled):
                raise
            log.debug("idcard probe: %s", exc)
        finally:
            self._last_io = time.monotonic()

    def _set_status(self, status: DeviceStatus, detail: str = "") -> None:
        changes: dict[str, Any] = {"device": status, "detail": detail}
        if status in (DeviceStatus.NO_DEVICE, DeviceStatus.OFFLINE):
            changes["media"] = MediaState.UNKNOWN
        if self.status.update(**changes):
            log.info("idcard reader on %s: %s%s", self.port, status.value, f" ({detail})" if detail else "")

    def _open(self):
        if self._serial is not None:
            return self._serial
        if serial is None:
            raise p.host_error("NO_SERIAL", "pyserial is not installed")
        if not os.path.exists(self.port):
            self._set_status(DeviceStatus.NO_DEVICE, f"port {self.port} not found")
            raise p.host_error("PORT_MISSING", f"serial port {self.port} not found")
        try:
            ser = serial.Serial(self.port, self.baud, bytesize=8, parity="N", stopbits=1, timeout=0.05,
                                write_timeout=2.0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._set_status(DeviceStatus.NO_DEVICE, f"cannot open {self.port}: {exc}")
            raise p.host_error("PORT_OPEN_FAILED", f"cannot open {self.port}: {exc}") from None
        self._serial = ser
        log.info("idcard: opened %s at %d baud", self.port, self.baud)
        return ser

    def _close_port(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _link_lost(self, exc: Exception) -> DeviceError:
        self._close_port()
        if os.path.exists(self.port):
            self._set_status(DeviceStatus.OFFLINE, f"I/O error on {self.port}: {exc}")
        else:
            self._set_status(DeviceStatus.NO_DEVICE, f"port {self.port} disappeared")
        return p.host_error("PORT_IO", f"serial I/O on {self.port} failed: {exc}")

    def _transact(self, command: p.Command, token: CancelToken) -> p.Response:
        """Send one request and return its response; one retry on a garbled or truncated answer, except for
        card reads: the SAM halts a card once read, so a repeated read cannot succeed — the customer must
        place the card again, which is what the error tells them."""
        try:
            return self._transact_once(command, token)
        except DeviceError as exc:
            if exc.completion.error_code not in _TRANSIENT or command.cmd == 0x30:
                raise
            log.warning("idcard %s: %s; retrying once", command.name, exc.completion.description)
            return self._transact_once(command, token)

    def _transact_once(self, command: p.Command, token: CancelToken) -> p.Response:
        ser = self._open()
        frame = p.request(command)
        first_byte_s = self.read_timeout_s if command.cmd == 0x30 else self.response_timeout_s
        self._parser.reset()
        try:
            ser.reset_input_buffer()
            ser.write(frame)
            ser.flush()
            deadline = time.monotonic() + first_byte_s
            started = False
            while True:
                token.check()
                chunk = ser.read(max(1, ser.in_waiting))
                if chunk:
                    self._parser.feed(chunk)
                    try:
                        body = self._parser.next_frame()
                    except p.ChecksumError as exc:
                        raise p.host_error("RX_CHECKSUM", f"{command.name}: {exc}") from None
                    except p.FrameError as exc:
                        raise p.host_error("RX_MALFORMED", f"{command.name}: {exc}") from None
                    if body is not None:
                        break
                    total = self._parser.expected_total()
                    if not started and self._parser.in_frame:
                        started = True
                        deadline = time.monotonic() + self.frame_slack_s + \
                            2 * p.wire_seconds(p.MAX_LEN if total is None else total, self.baud)
                    elif started and total is not None:
                        deadline = min(deadline, time.monotonic() + self.frame_slack_s +
                                       2 * p.wire_seconds(total, self.baud))
                if time.monotonic() >= deadline:
                    if started:
                        raise p.host_error("RX_TRUNCATED", f"{command.name}: frame cut off after "
                                           f"{self._parser.pending} of {self._parser.expected_total()} bytes")
                    self._set_status(DeviceStatus.OFFLINE, f"no answer on {self.port}")
                    raise p.host_error("RX_TIMEOUT", f"{command.name}: no answer within {first_byte_s:.1f} s")
        except (serial.SerialException, OSError, termios.error) as exc:   # EIO when the pty/USB goes away
            raise self._link_lost(exc) from None
        self._last_io = time.monotonic()
        try:
            resp = p.Response.from_body(body)
        except p.FrameError as exc:
            raise p.host_error("RX_MALFORMED", f"{command.name}: {exc}") from None
        if resp.sw3 in p.SAM_FAILURE_CODES:
            meaning = p.sw3_meaning(resp.sw3)
            self._set_status(DeviceStatus.HARDWARE_ERROR, meaning.description)
        else:
            self._set_status(DeviceStatus.ONLINE)
        return resp

    def _simple(self, command: p.Command, token: CancelToken, ok: int = p.SW3_OK) -> p.Response:
        resp = self._transact(command, token)
        if resp.sw3 != ok:
            raise p.sw3_error(resp.sw3, command)
        return resp

    def _find(self, token: CancelToken) -> p.Response:
        """One "find card" poll; the answer sets the media state (80: empty slot, 9F: a card)."""
        found = self._transact(p.Command.FIND_CARD, token)
        if found.sw3 == p.SW3_NO_CARD:
            self.status.update(media=MediaState.NOT_PRESENT)
            self._last_read_sn = None      # the slot was seen empty: the next card is a new placement
        elif found.sw3 == p.SW3_FOUND:
            self.status.update(media=MediaState.PRESENT)
        return found

    def _read(self, token: CancelToken, fingerprint: bool) -> cardmod.IdCardData:
        command = p.Command.READ_TEXT_PHOTO_FINGERPRINT if fingerprint else p.Command.READ_TEXT_PHOTO
        resp = self._transact(command, token)
        if resp.sw3 != p.SW3_OK:
            raise p.sw3_error(resp.sw3, command)
        text, photo, fp = cardmod.parse_read_data(resp.data, fingerprint)
        data = cardmod.parse_text(text, photo, fp)
        if self.photo_decoder is not None and photo:
            try:
                data = data.with_photo(self.photo_decoder.decode(photo))
            except Exception:  # a vendor library fault must not lose the card
                log.exception("idcard: photo decoder failed")
        return data

    def _read_loop(self, token: CancelToken, fingerprint: bool) -> cardmod.IdCardData:
        select_failures = 0
        while True:
            token.check()
            found = self._find(token)
            if found.sw3 == p.SW3_NO_CARD:
                pass
            elif found.sw3 == p.SW3_FOUND:
                sel = self._transact(p.Command.SELECT_CARD, token)
                if sel.sw3 == p.SW3_OK:
                    select_failures = 0
                    if not self.halting_module and sel.data and sel.data == self._last_read_sn:
                        pass    # the same placement, already read: wait for the card to be lifted
                    else:
                        data = self._read(token, fingerprint)
                        self._last_read_sn = sel.data or None
                        log.info("idcard read: %s", data)
                        return data
                elif sel.sw3 == 0x81:
                    select_failures += 1    # the card moved between find and select; try again
                    if select_failures >= 3:
                        raise p.sw3_error(sel.sw3, p.Command.SELECT_CARD)
                else:
                    raise p.sw3_error(sel.sw3, p.Command.SELECT_CARD)
            else:
                raise p.sw3_error(found.sw3, p.Command.FIND_CARD)
            token.wait(self.poll_interval_s)


def build_serial_reader(settings: Settings) -> IdCardReader:
    s = settings.devices.idcard
    return IdCardReader(s.port or "", s.baud, read_fingerprint=s.read_fingerprint,
                        poll_interval_s=s.poll_interval_s)
