"""A virtual smart card for the vsmartcard vpcd reader driver (pure Python, no virtualsmartcard package).

vpcd (loaded by pcscd) listens on TCP 35963 ("Virtual PCD 00 00") and 35964 ("Virtual PCD 00 01").
The card connects to it: connecting = card inserted, closing the socket = card removed.
Every message is a 2-byte big-endian length and a payload. A 1-byte payload is a control message
(0x00 power off, 0x01 power on, 0x02 reset, 0x04 get ATR; only ATR is answered); anything else is a C-APDU
and gets the R-APDU back. Note: vpcd itself binds 0.0.0.0; the card only ever connects to the host given.

    python -m devices.pcsc.vcard --port 35963 --card unionpay [--name 李四 --id-number ... --pan ...]
    python -m devices.pcsc.vcard --card unionpay --pull-after 3      # card yanked after 3 APDUs
"""
from __future__ import annotations

import argparse
import logging
import socket
import struct
import sys
import threading
import time
from typing import Optional

from devices.pcsc.cards import CARDS, CardModel, make_card

log = logging.getLogger(__name__)

VPCD_PORT = 35963
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04


def _recv_exact(sock: socket.socket, n: int) -> Optional[bytes]:
    buf = b""
    while len(buf) < n:
        if _QUICKACK is not None:
            # vpcd writes the length and the payload separately; without a quick ACK, Nagle on its side
            # and delayed ACK on ours add ~40 ms to every APDU.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class VirtualCard:
    """One card in one vpcd slot. start() inserts it (a thread), stop() pulls it out.

    pull_after=N closes the connection when the N-th APDU arrives (a customer pulling the card mid-read)."""

    def __init__(self, model: CardModel, host: str = "127.0.0.1", port: int = VPCD_PORT,
                 pull_after: Optional[int] = None):
        self.model, self.host, self.port, self.pull_after = model, host, port, pull_after
        self.apdus = 0
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.finished = threading.Event()

    def connect(self, timeout: float = 5.0) -> None:
        """Connect to vpcd (retrying while pcscd/vpcd is starting up)."""
        end = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=1.0)
                self._sock.settimeout(None)
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connected.set()
                return
            except OSError as exc:
                if time.monotonic() >= end:
                    raise ConnectionError(f"vpcd not reachable on {self.host}:{self.port}: {exc}") from exc
                time.sleep(0.1)

    def start(self, timeout: float = 5.0) -> "VirtualCard":
        self.connect(timeout)
        self._thread = threading.Thread(target=self.serve, name=f"vcard-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _send(self, payload: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(struct.pack(">H", len(payload)) + payload)

    def serve(self) -> None:
        try:
            while not self._stop.is_set() and self._sock is not None:
                head = _recv_exact(self._sock, 2)
                if head is None:
                    break
                (n,) = struct.unpack(">H", head)
                payload = _recv_exact(self._sock, n) if n else b""
                if payload is None:
                    break
                if n == 1:
                    ctrl = payload[0]
                    if ctrl == CTRL_ATR:
                        self._send(self.model.atr)
                    elif ctrl in (CTRL_ON, CTRL_RESET, CTRL_OFF):
                        self.model.reset()
                    continue
                self.apdus += 1
                if self.pull_after is not None and self.apdus >= self.pull_after:
                    log.info("virtual card pulled out after %d APDUs", self.apdus)
                    break
                answer = self.model.respond(payload)
                if answer is None:                 # mute card: swallow the command
                    continue
                self._send(answer)
        except OSError:
            pass
        finally:
            sock, self._sock = self._sock, None
            if sock:
                sock.close()
            self.finished.set()


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devices.pcsc.vcard",
                                description="Virtual bank / social-security card for the vpcd reader")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=VPCD_PORT, help="35963 = 'Virtual PCD 00 00', 35964 = '00 01'")
    p.add_argument("--card", default="unionpay", choices=sorted(CARDS))
    p.add_argument("--name", help="cardholder name on the card")
    p.add_argument("--id-number", help="cardholder ID number (9F61 / SSC EF06)")
    p.add_argument("--pan", help="card number")
    p.add_argument("--pull-after", type=int, metavar="N", help="drop the connection at the N-th APDU")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for vpcd to listen")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        model = make_card(args.card, name=args.name, id_number=args.id_number, pan=args.pan)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    card = VirtualCard(model, args.host, args.port, args.pull_after)
    try:
        card.connect(args.wait)
    except ConnectionError as exc:
        print(f"error: {exc} (is pcscd with the vpcd driver running?)", file=sys.stderr)
        return 1
    print(f"card '{args.card}' inserted in vpcd on {args.host}:{args.port}", flush=True)
    try:
        card.serve()
    except KeyboardInterrupt:
        pass
    finally:
        card.stop()
    print("card removed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
