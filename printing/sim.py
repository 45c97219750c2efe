"""A simulated ESC/POS receipt printer on a loopback TCP port (a JetDirect 9100 stand-in).

It decodes what it receives (GB18030 text in Chinese mode, QR payloads, raster images, cuts), keeps the
decoded jobs for tests and the demo, and answers DLE EOT 1..4 from its paper/cover/cutter state. The state
can be changed from Python at any time, also in the middle of a job (`run_out_after(lines)`), and the status
reply can be withheld to play a hung printer.

    python -m printing.sim --port 9100          print decoded jobs to stdout as they arrive
"""
from __future__ import annotations

import argparse
import logging
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from printing.escpos.decode import (Cut, DecodedJob, EscposDecoder, PrintedLine, QrCode, Raster, StatusRequest,
                                    TransmitStatus)

log = logging.getLogger(__name__)


@dataclass
class SimJob:
    """What came out of the printer for one job (up to a cut or the end of the connection)."""
    decoded: DecodedJob = field(default_factory=DecodedJob)
    dropped: int = 0           # lines/images sent while the printer could not print (no paper, cover open)
    cut: bool = False

    @property
    def complete(self) -> bool:
        return self.cut and not self.dropped

    @property
    def text(self) -> str:
        return self.decoded.text

    @property
    def texts(self) -> list[str]:
        return self.decoded.texts

    @property
    def qr_payloads(self) -> list[str]:
        return self.decoded.qr_payloads


class SimPrinter:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, width_mm: int = 80, encoding: str = "gb18030",
                 line_time_s: float = 0.0):
        """line_time_s > 0 plays a buffered printer: received data waits in a buffer and the head prints one
        line per line_time_s, while DLE EOT is answered at once from the state of the moment (as real
        printers do) and GS r only when the head reaches it."""
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the simulated printer listens on loopback only")
        self.host, self.port, self.width_mm, self.encoding = host, port, width_mm, encoding
        self.line_time_s = line_time_s
        self.jobs: list[SimJob] = []
        self.status_requests = 0
        self._cond = threading.Condition()
        self._listener: Optional[socket.socket] = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._running = False
        # printer state
        self.paper = "ok"              # ok | near_end | out
        self.cover_open = False
        self.cutter_error = False
        self.offline = False
        self.hang_status = False       # never answer DLE EOT
        self._slot: Optional[SimJob] = None   # the last cut receipt, until the customer takes it
        self._lines_left: Optional[int] = None

    # ------------------------------------------------------------------ state switches (any thread)
    def take_paper_out(self) -> None:
        with self._cond:
            self.paper, self._lines_left = "out", None

    def load_paper(self) -> None:
        with self._cond:
            self.paper, self._lines_left = "ok", None

    def paper_near_end(self) -> None:
        with self._cond:
            self.paper = "near_end"

    def run_out_after(self, lines: int) -> None:
        """The paper ends after `lines` more printed lines (mid-job paper-out)."""
        with self._cond:
            self._lines_left = lines

    def open_cover(self) -> None:
        with self._cond:
            self.cover_open = True

    def close_cover(self) -> None:
        with self._cond:
            self.cover_open = False

    def set_cutter_error(self, on: bool = True) -> None:
        with self._cond:
            self.cutter_error = on

    def set_offline(self, on: bool = True) -> None:
        with self._cond:
            self.offline = on

    def set_hang_status(self, on: bool = True) -> None:
        with self._cond:
            self.hang_status = on

    @property
    def paper_in_slot(self) -> bool:
        """A cut receipt is waiting in the exit slot (the screen reminds the customer to take it)."""
        return self._slot is not None

    def take_receipt(self) -> Optional[SimJob]:
        """The customer takes the receipt from the slot."""
        with self._cond:
            job, self._slot = self._slot, None
            return job

    # ------------------------------------------------------------------ status bytes (DLE EOT n)
    def status_byte(self, n: int) -> int:
        out = self.paper == "out"
        if n == 1:
            return 0x12 | (0x08 if (self.offline or self.cover_open or out) else 0)
        if n == 2:
            return 0x12 | (0x04 if self.cover_open else 0) | (0x20 if out else 0) | (0x40 if self.cutter_error else 0)
        if n == 3:
            return 0x12 | (0x08 if self.cutter_error else 0)
        if n == 4:
            return 0x12 | (0x0C if self.paper in ("near_end", "out") else 0) | (0x60 if out else 0)
        return 0x12

    def _can_print(self) -> bool:
        return self.paper != "out" and not self.cover_open and not self.offline

    # ------------------------------------------------------------------ server
    def start(self) -> "SimPrinter":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host if self.host != "localhost" else "127.0.0.1", self.port))
        sock.listen(4)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._running = True
        t = threading.Thread(target=self._accept_loop, name=f"sim-printer-{self.port}", daemon=True)
        t.start()
        self._threads.append(t)
        log.info("simulated receipt printer listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        """Close the port and every connection: to the terminal the printer is gone."""
        self._running = False
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=2)
        self._threads.clear()

    def restart(self) -> "SimPrinter":
        """Back on the same port (printer plugged in again)."""
        self.stop()
        return self.start()

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[SimJob]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.jobs) >= count, timeout)
            return list(self.jobs)

    def _accept_loop(self) -> None:
        listener = self._listener
        while self._running and listener is not None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), name=f"sim-printer-conn-{self.port}", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        self._conns.add(conn)
        decoder = EscposDecoder(strict=False, kanji=True, encoding=self.encoding)   # CN firmware boots in Chinese mode
        state = {"job": SimJob()}
        buffer: "queue.Queue" = queue.Queue()
        head = None
        if self.line_time_s > 0:
            head = threading.Thread(target=self._print_head, args=(conn, buffer, state), daemon=True,
                                    name=f"sim-printer-head-{self.port}")
            head.start()

        def take(event) -> None:
            if head is None or isinstance(event, StatusRequest):   # real-time commands jump the buffer
                state["job"] = self._handle(conn, event, state["job"])
            else:
                buffer.put(event)
        try:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                for event in decoder.feed(chunk):
                    take(event)
            for event in decoder.flush():
                take(event)
            if head is not None:
                buffer.put(None)
                head.join()
            job = state["job"]
            if job.decoded.events or job.dropped:
                self._finish(job)
        finally:
            self._conns.discard(conn)
            conn.close()

    def _print_head(self, conn: socket.socket, buffer: "queue.Queue", state: dict) -> None:
        while True:
            event = buffer.get()
            if event is None:
                return
            if isinstance(event, (PrintedLine, QrCode, Raster)) and self._can_print():
                time.sleep(self.line_time_s)
            state["job"] = self._handle(conn, event, state["job"])

    def _handle(self, conn: socket.socket, event, job: SimJob) -> SimJob:
        with self._cond:
            if isinstance(event, StatusRequest):
                self.status_requests += 1
                if not self.hang_status:
                    reply = bytes([self.status_byte(event.n)])
                    try:
                        conn.sendall(reply)
                    except OSError:
                        pass
                return job
            if isinstance(event, TransmitStatus):
                # answered in turn; a printer stopped by paper end / open cover never gets to it
                if not self.hang_status and self._can_print():
                    near_end = 0x03 if self.paper == "near_end" else 0
                    try:
                        conn.sendall(bytes([near_end]))
                    except OSError:
                        pass
                return job
            if isinstance(event, (PrintedLine, QrCode, Raster)):
                if not self._can_print():
                    job.dropped += 1
                    return job
                job.decoded.events.append(event)
                if isinstance(event, PrintedLine) and self._lines_left is not None:
                    self._lines_left -= 1
                    if self._lines_left <= 0:
                        self.paper, self._lines_left = "out", None
                return job
            if isinstance(event, Cut):
                if self.cutter_error or not self._can_print():
                    job.dropped += 1
                    return job
                job.decoded.events.append(event)
                job.cut = True
                self._slot = job
                self._finish_locked(job)
                return SimJob()
        return job

    def _finish(self, job: SimJob) -> None:
        with self._cond:
            self._finish_locked(job)

    def _finish_locked(self, job: SimJob) -> None:
        self.jobs.append(job)
        self._cond.notify_all()
        log.info("simulated printer: job %d, %d lines, %d QR, cut=%s, dropped=%d", len(self.jobs),
                 len(job.decoded.lines), len(job.decoded.qr_payloads), job.cut, job.dropped)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m printing.sim", description="simulated ESC/POS receipt printer")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--width", type=int, choices=(58, 80), default=80)
    args = parser.parse_args(argv)
    sim = SimPrinter(port=args.port, width_mm=args.width)
    try:
        sim.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"simulated receipt printer on tcp://127.0.0.1:{sim.port} ({args.width} mm); Ctrl-C to stop", flush=True)
    shown = 0
    try:
        while True:
            jobs = sim.wait_for_jobs(shown + 1, timeout=1.0)
            for job in jobs[shown:]:
                shown += 1
                print(f"--- job {shown} ({'cut' if job.cut else 'no cut'}, dropped {job.dropped}) ---")
                columns = 32 if args.width == 58 else 48
                for line in job.decoded.lines:
                    pad = max(0, columns - line.columns) // 2 if line.align == "center" else 0
                    print(" " * pad + line.text)
                for payload in job.qr_payloads:
                    print(f"[QR] {payload}")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
