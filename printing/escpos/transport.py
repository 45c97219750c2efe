"""How bytes reach a receipt printer: TCP 9100, serial (pyserial), USB printer-class device node, pyusb, file.

    tcp://192.168.1.50:9100          raw socket (JetDirect); two-way, so real-time status works
    serial:///dev/ttyS0?baud=115200  pyserial (&flow=rtscts|dsrdtr|xonxoff for flow control); pyserial URLs too
    usb:///dev/usb/lp0               the kernel's usblp node, read/write (status if the printer has an IN endpoint)
    usb://0416:5011                  pyusb (optional) by vendor:product id
    file:///tmp/receipt.bin          write-only (status unknown): captures, demos, /dev/usb/lp0 without read

Every read and write has a timeout; a transport never blocks a caller forever. A transport is opened per
job and closed after it (hot-plug: ask for the printer each time rather than caching a dead handle)."""
from __future__ import annotations

import errno
import logging
import os
import select
import socket
import time
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from devices.base import Usability

log = logging.getLogger(__name__)


class TransportError(Exception):
    """code: PRINTER_GONE, PRINTER_WRITE_TIMEOUT, TRANSPORT_URI, TRANSPORT_UNAVAILABLE."""

    MESSAGES = {
        "PRINTER_GONE": "无法连接小票打印机，请联系工作人员",
        "PRINTER_WRITE_TIMEOUT": "小票打印机无响应，请联系工作人员",
        "TRANSPORT_URI": "小票打印机连接配置有误，请联系工作人员",
        "TRANSPORT_UNAVAILABLE": "小票打印机驱动不可用，请联系工作人员",
    }

    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.message_zh = self.MESSAGES.get(code, "小票打印机故障，请联系工作人员")


class Transport:
    bidirectional = True

    def __init__(self, uri: str):
        self.uri = uri

    @classmethod
    def is_usable(cls) -> Usability:
        return Usability(True)

    def missing(self) -> str:
        """What is missing for this configured transport ('' if nothing we can see without opening it)."""
        return ""

    def open(self, timeout: float) -> None:
        raise NotImplementedError

    def write(self, data: bytes, timeout: float) -> None:
        raise NotImplementedError

    def read(self, n: int, timeout: float) -> bytes:
        """Up to n bytes; b'' when nothing arrived within timeout."""
        return b""

    def drain(self) -> None:
        """Discard bytes already received (stale status replies, ASB blocks)."""
        while self.read(64, 0.0):
            pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TcpTransport(Transport):
    def __init__(self, uri: str, host: str, port: int):
        super().__init__(uri)
        self.host, self.port = host, port
        self._sock: Optional[socket.socket] = None

    def open(self, timeout: float) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except socket.timeout:
            raise TransportError("PRINTER_GONE", f"connect to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"connect to {self.host}:{self.port} failed: {exc.strerror or exc}") from None

    def write(self, data: bytes, timeout: float) -> None:
        assert self._sock is not None, "open() first"
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except socket.timeout:
            raise TransportError("PRINTER_WRITE_TIMEOUT", f"write to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"write to {self.host}:{self.port} failed: {exc.strerror or exc}") from None

    def read(self, n: int, timeout: float) -> bytes:
        assert self._sock is not None, "open() first"
        try:
            ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = self._sock.recv(n)
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"read from {self.host}:{self.port} failed: {exc}") from None
        if not data:
            raise TransportError("PRINTER_GONE", f"printer at {self.host}:{self.port} closed the connection")
        return data

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None


class SerialTransport(Transport):
    FLOW = ("none", "rtscts", "dsrdtr", "xonxoff")

    def __init__(self, uri: str, port: str, baud: int, flow: str = "none"):
        super().__init__(uri)
        self.port, self.baud, self.flow = port, baud, flow
        self._serial = None

    @classmethod
    def is_usable(cls) -> Usability:
        try:
            import serial  # noqa: F401
        except ImportError:
            return Usability(False, "pyserial not installed")
        return Usability(True)

    def missing(self) -> str:
        if self.port.startswith("/") and not os.path.exists(self.port):
            return f"serial port {self.port} not found"
        return ""

    def open(self, timeout: float) -> None:
        try:
            import serial
        except ImportError:
            raise TransportError("TRANSPORT_UNAVAILABLE", "pyserial not installed") from None
        try:
            self._serial = serial.serial_for_url(self.port, baudrate=self.baud, timeout=0, write_timeout=timeout,
                                                 rtscts=self.flow == "rtscts", dsrdtr=self.flow == "dsrdtr",
                                                 xonxoff=self.flow == "xonxoff")
        except (serial.SerialException, ValueError) as exc:
            raise TransportError("PRINTER_GONE", f"serial port {self.port}: {exc}") from None

    def write(self, data: bytes, timeout: float) -> None:
        import serial
        self._serial.write_timeout = timeout
        try:
            self._serial.write(data)
            self._serial.flush()
        except serial.SerialTimeoutException:
            raise TransportError("PRINTER_WRITE_TIMEOUT", f"write to {self.port} timed out (printer busy or flow control held)") from None
        except (serial.SerialException, OSError) as exc:
            raise TransportError("PRINTER_GONE", f"write to {self.port} failed: {exc}") from None

    def read(self, n: int, timeout: float) -> bytes:
        import serial
        self._serial.timeout = max(0.0, timeout)
        try:
            return self._serial.read(n)
        except (serial.SerialException, OSError) as exc:
            raise TransportError("PRINTER_GONE", f"read from {self.port} failed: {exc}") from None

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None


class DeviceNodeTransport(Transport):
    """A character device (the kernel's usblp /dev/usb/lpN), non-blocking I/O with select() deadlines."""

    def __init__(self, uri: str, path: str):
        super().__init__(uri)
        self.path = path
        self._fd: Optional[int] = None

    def missing(self) -> str:
        return "" if os.path.exists(self.path) else f"device node {self.path} not found (printer unplugged or off?)"

    def open(self, timeout: float) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"{self.path}: {exc.strerror}") from None

    def write(self, data: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError("PRINTER_WRITE_TIMEOUT", f"write to {self.path} timed out")
            _, ready, _ = select.select([], [self._fd], [], remaining)
            if not ready:
                continue
            try:
                view = view[os.write(self._fd, view):]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise TransportError("PRINTER_GONE", f"write to {self.path} failed: {exc.strerror}") from None

    def read(self, n: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
            return os.read(self._fd, n) if ready else b""
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EINVAL, errno.ENODATA):
                return b""  # usblp without an IN endpoint: no status, not an error
            raise TransportError("PRINTER_GONE", f"read from {self.path} failed: {exc.strerror}") from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PyUsbTransport(Transport):
    """usb://VID:PID through libusb (pyusb), for printers with no usblp node. Optional dependency."""

    def __init__(self, uri: str, vendor: int, product: int):
        super().__init__(uri)
        self.vendor, self.product = vendor, product
        self._dev = self._out = self._in = None

    @classmethod
    def is_usable(cls) -> Usability:
        try:
            import usb.core  # noqa: F401
        except ImportError:
            return Usability(False, "pyusb not installed (pip install pyusb) for usb://VID:PID")
        return Usability(True)

    def open(self, timeout: float) -> None:
        usable = self.is_usable()
        if not usable.ok:
            raise TransportError("TRANSPORT_UNAVAILABLE", usable.missing)
        import usb.core
        import usb.util
        dev = usb.core.find(idVendor=self.vendor, idProduct=self.product)
        if dev is None:
            raise TransportError("PRINTER_GONE", f"USB printer {self.vendor:04x}:{self.product:04x} not found")
        try:
            if dev.is_kernel_driver_active(0):
                dev.detach_kernel_driver(0)
            dev.set_configuration()
        except usb.core.USBError as exc:
            raise TransportError("PRINTER_GONE", f"USB printer {self.vendor:04x}:{self.product:04x}: {exc}") from None
        intf = dev.get_active_configuration()[(0, 0)]
        direction = usb.util.endpoint_direction
        self._out = usb.util.find_descriptor(intf, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT)
        self._in = usb.util.find_descriptor(intf, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN)
        self._dev = dev
        self.bidirectional = self._in is not None

    def write(self, data: bytes, timeout: float) -> None:
        import usb.core
        try:
            self._out.write(data, timeout=max(1, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            raise TransportError("PRINTER_WRITE_TIMEOUT", "USB write timed out") from None
        except usb.core.USBError as exc:
            raise TransportError("PRINTER_GONE", f"USB write failed: {exc}") from None

    def read(self, n: int, timeout: float) -> bytes:
        if self._in is None:
            return b""
        import usb.core
        try:
            return bytes(self._in.read(max(n, self._in.wMaxPacketSize), timeout=max(1, int(timeout * 1000))))[:n]
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise TransportError("PRINTER_GONE", f"USB read failed: {exc}") from None

    def close(self) -> None:
        if self._dev is not None:
            import usb.util
            usb.util.dispose_resources(self._dev)
            self._dev = None


class FileTransport(Transport):
    """Write-only: appends the job's bytes to a file (or a write-only device node). Status is unknown."""

    bidirectional = False

    def __init__(self, uri: str, path: str):
        super().__init__(uri)
        self.path = path
        self._fh = None

    def missing(self) -> str:
        parent = os.path.dirname(self.path) or "."
        return "" if os.path.isdir(parent) else f"directory {parent} not found"

    def open(self, timeout: float) -> None:
        try:
            self._fh = open(self.path, "ab", buffering=0)
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"{self.path}: {exc.strerror}") from None

    def write(self, data: bytes, timeout: float) -> None:
        try:
            self._fh.write(data)
        except OSError as exc:
            raise TransportError("PRINTER_GONE", f"write to {self.path} failed: {exc.strerror}") from None

    def drain(self) -> None:
        pass

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def parse_transport(uri: str) -> Transport:
    """A Transport for a URI; raises TransportError('TRANSPORT_URI') with what is wrong."""
    parts = urlsplit(uri or "")
    scheme = parts.scheme
    if scheme == "tcp":
        if not parts.hostname:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: tcp:// needs a host, e.g. tcp://192.168.1.50:9100")
        try:
            port = parts.port or 9100
        except ValueError:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: port must be a number 1-65535") from None
        return TcpTransport(uri, parts.hostname, port)
    if scheme == "serial":
        rest = uri[len("serial://"):]
        path, _, query = rest.partition("?")
        params = parse_qs(query)
        baud_text = params.get("baud", ["115200"])[0]
        flow = params.get("flow", ["none"])[0]
        if not baud_text.isdigit():
            raise TransportError("TRANSPORT_URI", f"{uri!r}: baud must be a number")
        if flow not in SerialTransport.FLOW:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: flow must be one of {', '.join(SerialTransport.FLOW)}")
        if not path:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: serial:// needs a port, e.g. serial:///dev/ttyS0")
        return SerialTransport(uri, path, int(baud_text), flow)
    if scheme == "usb":
        if parts.netloc and ":" in parts.netloc and not parts.path:
            vid, _, pid = parts.netloc.partition(":")
            try:
                return PyUsbTransport(uri, int(vid, 16), int(pid, 16))
            except ValueError:
                raise TransportError("TRANSPORT_URI", f"{uri!r}: usb://VID:PID needs hex ids, e.g. usb://0416:5011") from None
        if not parts.path:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: usb:// needs a device node, e.g. usb:///dev/usb/lp0")
        return DeviceNodeTransport(uri, parts.path)
    if scheme == "file":
        if not parts.path:
            raise TransportError("TRANSPORT_URI", f"{uri!r}: file:// needs a path, e.g. file:///tmp/receipt.bin")
        return FileTransport(uri, parts.path)
    raise TransportError("TRANSPORT_URI", f"{uri!r}: transport must start with tcp://, serial://, usb:// or file://")
