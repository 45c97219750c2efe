"""A fault-injecting HTTP/1.1 proxy on loopback, between a terminal and the center (tests and bench only).

Each request that reaches the proxy gets one fault, taken first from a script (`script(...)`), else drawn
at random from `rates` (seeded RNG, so a failing run can be replayed):

    PASS                 forward, relay the reply
    RESET_BEFORE         reset the client connection before anything reaches the center
    RESET_AFTER_COMMIT   forward, let the center commit and answer, then reset the client (reply lost)
    BLACK_HOLE           swallow the request; never answer (the client's read timeout fires)
    ERROR_5XX            answer 503 without forwarding (an overloaded gateway)
    ERROR_5XX_AFTER_COMMIT forward, the center commits, the client gets 502 instead of the reply
plus `latency_s` added before every forward. If the center is down (restart), the client connection is reset.

HTTP parsing/framing by h11 (keep-alive supported); one thread per client connection."""
from __future__ import annotations

import enum
import json
import logging
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from typing import Optional

import h11

log = logging.getLogger(__name__)


class Fault(str, enum.Enum):
    PASS = "pass"
    RESET_BEFORE = "reset_before"
    RESET_AFTER_COMMIT = "reset_after_commit"
    BLACK_HOLE = "black_hole"
    ERROR_5XX = "error_5xx"
    ERROR_5XX_AFTER_COMMIT = "error_5xx_after_commit"


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed middlebox or a cut cable would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, listen_port: int = 0, seed: int = 0,
                 upstream_timeout_s: float = 30.0):
        self.upstream = (upstream_host, upstream_port)
        self.upstream_timeout_s = upstream_timeout_s
        self.rng = random.Random(seed)
        self.rates: dict[Fault, float] = {}
        self.latency_s = 0.0
        self.counts: Counter = Counter()
        self._plan: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", listen_port))
        self._server.listen(64)
        self._server.settimeout(0.1)          # so stop() is noticed promptly
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name=f"faultproxy-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control ---

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._server.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _reset(c)
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def script(self, *faults: Fault) -> None:
        """The next requests get these faults, in order (before any random draw)."""
        with self._lock:
            self._plan.extend(faults)

    def set_rates(self, **rates: float) -> None:
        """e.g. set_rates(reset_before=0.1, reset_after_commit=0.1, error_5xx=0.05); the rest pass."""
        with self._lock:
            self.rates = {Fault(k): v for k, v in rates.items()}
            assert sum(self.rates.values()) <= 1.0, "fault rates add up to more than 1"

    def clear(self) -> None:
        with self._lock:
            self._plan.clear()
            self.rates = {}
            self.latency_s = 0.0

    def _choose(self) -> Fault:
        with self._lock:
            if self._plan:
                f = self._plan.popleft()
            else:
                x, f = self.rng.random(), Fault.PASS
                for fault, p in self.rates.items():
                    if x < p:
                        f = fault
                        break
                    x -= p
            self.counts[f] += 1
            return f

    # --- plumbing ---

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._conns.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while not self._stop.is_set():
                req = self._read_request(client, conn)
                if req is None:
                    return
                request, body = req
                fault = self._choose()
                if self.latency_s:
                    time.sleep(self.latency_s)
                if fault == Fault.RESET_BEFORE:
                    _reset(client)
                    return
                if fault == Fault.BLACK_HOLE:
                    self._hold(client)
                    return
                if fault == Fault.ERROR_5XX:
                    self._send_error(client, conn, 503, "proxy: center overloaded (injected)")
                else:
                    reply = self._forward(request, body)
                    if reply is None:                       # center down (restarting): connection reset
                        _reset(client)
                        return
                    if fault == Fault.RESET_AFTER_COMMIT:
                        _reset(client)
                        return
                    if fault == Fault.ERROR_5XX_AFTER_COMMIT:
                        self._send_error(client, conn, 502, "proxy: reply lost after commit (injected)")
                    else:
                        self._send_reply(client, conn, *reply)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    client.close()
                    return
                conn.start_next_cycle()
        except (OSError, h11.ProtocolError):
            try:
                client.close()
            except OSError:
                pass
        finally:
            with self._lock:
                self._conns.discard(client)

    def _read_request(self, sock: socket.socket, conn: h11.Connection):
        request, body = None, bytearray()
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA:
                data = sock.recv(65536)
                conn.receive_data(data)
                if not data and conn.their_state is h11.IDLE:
                    sock.close()
                    return None
                continue
            if isinstance(ev, h11.ConnectionClosed):
                sock.close()
                return None
            if isinstance(ev, h11.Request):
                request = ev
            elif isinstance(ev, h11.Data):
                body += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                return request, bytes(body)

    def _hold(self, sock: socket.socket) -> None:
        """Black hole: read and discard until the client gives up or the proxy stops."""
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not sock.recv(65536):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        _reset(sock)

    def _forward(self, request: h11.Request, body: bytes):
        try:
            up = socket.create_connection(self.upstream, timeout=self.upstream_timeout_s)
        except OSError:
            return None
        try:
            c = h11.Connection(h11.CLIENT)
            headers = [(k, v) for k, v in request.headers if k.lower() != b"connection"] + [(b"connection", b"close")]
            up.sendall(c.send(h11.Request(method=request.method, target=request.target, headers=headers)))
            if body:
                up.sendall(c.send(h11.Data(data=body)))
            up.sendall(c.send(h11.EndOfMessage()))
            response, data = None, bytearray()
            while True:
                ev = c.next_event()
                if ev is h11.NEED_DATA:
                    c.receive_data(up.recv(65536))
                    continue
                if isinstance(ev, h11.Response):
                    response = ev
                elif isinstance(ev, h11.Data):
                    data += ev.data
                elif isinstance(ev, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
            if response is None:
                return None
            return response.status_code, response.headers, bytes(data)
        except (OSError, h11.ProtocolError):
            return None
        finally:
            up.close()

    def _send_reply(self, sock, conn: h11.Connection, status: int, headers, data: bytes) -> None:
        hs = [(k, v) for k, v in headers if k.lower() not in (b"connection", b"transfer-encoding", b"content-length")]
        hs.append((b"content-length", str(len(data)).encode()))
        sock.sendall(conn.send(h11.Response(status_code=status, headers=hs)))
        if data:
            sock.sendall(conn.send(h11.Data(data=data)))
        sock.sendall(conn.send(h11.EndOfMessage()))

    def _send_error(self, sock, conn: h11.Connection, status: int, detail: str) -> None:
        body = json.dumps({"code": f"HTTP_{status}", "message": "系统繁忙，请稍后再试", "detail": detail},
                          ensure_ascii=False).encode()
        self._send_reply(sock, conn, status, [(b"content-type", b"application/json")], body)


def main(argv: Optional[list[str]] = None) -> int:
    """python -m sync.testing.faultproxy UPSTREAM_PORT [--listen PORT] [--reset-after 0.1] ..."""
    import argparse
    p = argparse.ArgumentParser(description="fault-injecting HTTP proxy on 127.0.0.1 (tests and bench only)")
    p.add_argument("upstream_port", type=int)
    p.add_argument("--listen", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0)
    for f in Fault:
        if f != Fault.PASS:
            p.add_argument("--" + f.value.replace("_", "-"), type=float, default=0.0, metavar="RATE")
    a = p.parse_args(argv)
    proxy = FaultProxy("127.0.0.1", a.upstream_port, listen_port=a.listen, seed=a.seed)
    proxy.latency_s = a.latency
    proxy.set_rates(**{f.value: getattr(a, f.value) for f in Fault if f != Fault.PASS and getattr(a, f.value)})
    proxy.start()
    print(f"fault proxy {proxy.url} -> 127.0.0.1:{a.upstream_port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
        print(dict(proxy.counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
