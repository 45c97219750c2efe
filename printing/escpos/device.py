"""EscposPrinter: the receipt printer as a Device (worker thread, status events, completions).

A print job, on the printer's worker:
  1. journal the document (pending);
  2. open the transport (printer gone -> deviceNotReady PRINTER_GONE, job failed);
  3. read real-time status with a timeout; paper out / cover open / cutter error / offline -> the job is not
     sent, it fails with that code and stays reprintable; no answer -> print anyway, status unknown;
  4. send the bytes (ESC @, FS &, GB18030 text, QR, cut, FS .);
  5. read status again; a problem now (paper ran out mid-receipt) -> job failed, the receipt is incomplete and
     can be printed again as a copy once paper is back;
  6. job printed (noting when the status was unknown).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Optional

from devices.base import (CommandHandle, Completion, CompletionCode, Device, DeviceError, DeviceStatus, PaperState,
                          Usability)
from printing.documents import Document, DocumentError
from printing.escpos.profiles import ProfileError, get_profile
from printing.escpos.render import RenderError, render_document
from printing.escpos.status import PrinterStatus, read_status, wait_printed
from printing.escpos.transport import TransportError, parse_transport
from printing.jobs import JobState, JournaledPrinter, PrintJournal

log = logging.getLogger(__name__)

MID_JOB_MESSAGES = {
    "PAPER_OUT": "打印过程中纸张用完，回单未打印完整；补充纸张后可补打",
    "COVER_OPEN": "打印过程中打印机盖被打开，回单未打印完整；合上后可补打",
}


@dataclass(frozen=True)
class PrintResult:
    job_id: str
    status_known: bool          # False: the printer did not answer the status read; printed anyway
    paper: PaperState
    detail: str = ""


class EscposPrinter(JournaledPrinter, Device):
    role = "receipt_printer"
    capabilities = frozenset({"receipt", "qr", "cut", "status", "reprint"})

    def __init__(self, transport_uri: str, *, width_mm: int = 80, profile: str = "generic-gb18030",
                 status_timeout_s: float = 1.0, io_timeout_s: float = 10.0, job_timeout_s: float = 30.0,
                 journal: Optional[PrintJournal] = None, role: Optional[str] = None):
        super().__init__(role)
        self.transport_uri = transport_uri
        self.width_mm = width_mm
        self.profile = get_profile(profile)
        self.status_timeout_s = status_timeout_s
        self.io_timeout_s = io_timeout_s
        self.job_timeout_s = job_timeout_s
        self.journal = journal or PrintJournal(":memory:")
        self.simulator = None          # set by build_sim_escpos_printer
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._poll_stop: Optional[threading.Event] = None
        parse_transport(transport_uri)  # a bad URI fails at start-up, not at the first customer

    def is_usable(self) -> Usability:   # instance-level: depends on the configured transport
        transport = parse_transport(self.transport_uri)
        usable = type(transport).is_usable()
        if not usable.ok:
            return usable
        missing = transport.missing()
        return Usability(False, missing) if missing else usable

    # ------------------------------------------------------------------ commands (run on the worker)
    def print_document(self, document: Document, *, timeout: Optional[float] = None) -> CommandHandle:
        """Journal and print; the handle's Completion.value is a PrintResult (or the error says why not).
        `handle.job_id` is the print-journal id, for a reprint."""
        return self._submit_job("print", self._print_job, timeout or self.job_timeout_s, document=document)

    def print_receipt(self, receipt, *, timeout: Optional[float] = None) -> CommandHandle:
        return self.print_document(receipt, timeout=timeout)

    def reprint(self, job_id: str, *, timeout: Optional[float] = None) -> CommandHandle:
        """Print a journaled job again, marked 补打/COPY; a printed copy resolves a failed original."""
        return self._submit_job("reprint", self._print_job, timeout or self.job_timeout_s, reprint_of=job_id)

    def _submit_job(self, name, run, timeout, **kw) -> CommandHandle:
        with self._inflight_lock:
            self._inflight += 1
        handle = super()._submit_job(name, run, timeout, **kw)
        handle.future.add_done_callback(lambda _f: self._job_done())
        return handle

    def _job_done(self) -> None:
        with self._inflight_lock:
            self._inflight -= 1

    def start_status_polling(self, interval_s: float = 30.0) -> None:
        """Read the status every interval while no job is queued, so the kiosk knows the paper is out before
        a customer starts (status events fire only on a real change)."""
        if self._poll_stop is not None:
            return
        stop = self._poll_stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_s):
                if self._inflight == 0:
                    self.query_status().result()

        threading.Thread(target=loop, name=f"{self.role}-status-poll", daemon=True).start()

    def query_status(self) -> CommandHandle:
        return self.worker.submit("status", self._status_command, self.status_timeout_s * 4 + self.io_timeout_s)

    def selftest(self) -> Completion:
        c = self.query_status().result()
        if c.ok and c.value is None:
            return Completion(CompletionCode.SUCCESS, None, "STATUS_UNKNOWN",
                              f"{self.transport_uri}: connected, printer did not answer DLE EOT (status unknown)")
        if c.ok:
            return Completion(CompletionCode.SUCCESS, c.value, "", f"{self.transport_uri}: {c.value.describe()}")
        return c

    # ------------------------------------------------------------------ internals
    def _status_command(self, token) -> Optional[PrinterStatus]:
        transport = self._open(token)
        with transport:
            status = read_status(transport, self._status_timeout(token))
        self._apply_status(status)
        problem = status.problem if status else None
        if problem:
            raise DeviceError(problem.completion, problem.error_code, problem.description, problem.message_zh)
        return status

    def _status_timeout(self, token) -> float:
        rem = token.remaining
        return self.status_timeout_s if rem is None else max(0.05, min(self.status_timeout_s, rem / 3))

    def _fence_timeout(self, data: bytes, token) -> float:
        """Long enough for the printer to work through the job: ~30 ms per line at 150 mm/s, plus the
        status timeout; never past the command's deadline (leaving time for the status read after it)."""
        wanted = self.status_timeout_s + 0.03 * data.count(b"\n")
        rem = token.remaining
        return wanted if rem is None else max(0.05, min(wanted, rem / 2))

    def _open(self, token):
        transport = parse_transport(self.transport_uri)
        try:
            transport.open(min(self.io_timeout_s, token.remaining or self.io_timeout_s))
        except TransportError as exc:
            changed = self.status.update(device=DeviceStatus.NO_DEVICE, paper=PaperState.UNKNOWN, detail=str(exc))
            (log.warning if changed else log.debug)("receipt printer %s: %s (%s)", self.transport_uri, exc, exc.code)
            raise DeviceError(CompletionCode.DEVICE_NOT_READY, exc.code, str(exc), exc.message_zh) from None
        return transport

    def _apply_status(self, status: Optional[PrinterStatus]) -> None:
        if status is None:
            self.status.update(device=DeviceStatus.ONLINE, detail="status unknown (no reply to DLE EOT)")
            return
        problem = status.problem
        if problem:
            self.status.update(device=problem.device, paper=problem.paper, detail=problem.description)
        else:
            self.status.update(device=DeviceStatus.ONLINE, paper=status.paper, detail=status.describe())

    def _fail(self, job_id: str, completion: CompletionCode, error_code: str, description: str, message_zh: str):
        self.journal.mark_failed(job_id, error_code, description)
        log.warning("receipt printer: job %s failed: %s (%s)", job_id, description, error_code)
        raise DeviceError(completion, error_code, f"print job {job_id}: {description}", message_zh)

    def _print_job(self, job_id: str, document: Document, token) -> PrintResult:
        try:
            return self._print_job_steps(job_id, document, token)
        except DeviceError:
            raise
        except Exception as exc:   # an adapter bug: the job must not stay 'pending' forever
            self.journal.mark_failed(job_id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
            raise

    def _print_job_steps(self, job_id: str, document: Document, token) -> PrintResult:
        try:
            data = render_document(document, self.width_mm, self.profile)
        except (RenderError, DocumentError, ProfileError) as exc:
            self._fail(job_id, CompletionCode.INVALID_DATA, exc.code, str(exc), exc.message_zh)
        try:
            transport = self._open(token)
        except DeviceError as exc:
            self.journal.mark_failed(job_id, exc.completion.error_code, exc.completion.description)
            raise
        with transport:
            try:
                before = read_status(transport, self._status_timeout(token))
                self._apply_status(before)
                if before is not None and before.problem:
                    p = before.problem
                    self._fail(job_id, p.completion, p.error_code, f"not printed: {p.description}", p.message_zh)
                token.check()
                transport.write(data, min(self.io_timeout_s, token.remaining or self.io_timeout_s))
                # a printer that did not answer DLE EOT will not answer GS r either: do not wait for it twice
                fence = self.profile.print_fence and before is not None
                fenced = wait_printed(transport, self._fence_timeout(data, token)) if fence else None
                after = read_status(transport, self._status_timeout(token))
            except TransportError as exc:
                self.status.update(device=DeviceStatus.OFFLINE, detail=str(exc))
                self._fail(job_id, CompletionCode.DEVICE_NOT_READY, exc.code, str(exc), exc.message_zh)
            except DeviceError as exc:
                if self.journal.get(job_id).state is JobState.PENDING:   # canceled / timed out
                    self.journal.mark_failed(job_id, exc.completion.error_code, exc.completion.description)
                raise
        self._apply_status(after)
        if after is not None and after.problem:
            p = after.problem
            self._fail(job_id, p.completion, p.error_code, f"{p.description} during the job; receipt incomplete",
                       MID_JOB_MESSAGES.get(p.error_code, p.message_zh))
        known = before is not None and after is not None
        note = "" if known else "status unknown: printed without a status reply"
        if known and self.profile.print_fence and fenced is None:
            note = "no print-completion reply (GS r); status after the job read as ready"
        self.journal.mark_printed(job_id, note)
        log.info("receipt printer: job %s printed (%d bytes)%s", job_id, len(data), f"; {note}" if note else "")
        return PrintResult(job_id, known, after.paper if after else PaperState.UNKNOWN, note)

    def close(self) -> None:
        if self._poll_stop is not None:
            self._poll_stop.set()
        super().close()
        if self.simulator is not None:
            self.simulator.stop()


# --------------------------------------------------------------------------- factories (devices.registry)

def _journal(settings) -> PrintJournal:
    return PrintJournal.for_settings(settings)


def build_escpos_printer(settings) -> EscposPrinter:
    s = settings.devices.receipt_printer
    printer = EscposPrinter(s.transport, width_mm=s.width_mm, profile=s.profile, status_timeout_s=s.status_timeout_s,
                            journal=_journal(settings))
    printer.query_status()     # first status on the worker; listeners hear it when it comes (never blocks here)
    printer.start_status_polling(30.0)
    return printer


def build_sim_escpos_printer(settings) -> EscposPrinter:
    """A simulated printer on a free loopback port and the real EscposPrinter talking to it over TCP.

    `printer.simulator` is the SimPrinter: take the paper out, open the cover, hang the status read."""
    from printing.sim import SimPrinter
    s = settings.devices.receipt_printer
    sim = SimPrinter(port=0, width_mm=s.width_mm).start()
    printer = EscposPrinter(f"tcp://127.0.0.1:{sim.port}", width_mm=s.width_mm, profile=s.profile,
                            status_timeout_s=s.status_timeout_s, journal=_journal(settings))
    printer.simulator = sim
    printer.query_status().result()   # local and instant: the demo starts with the printer shown online
    printer.start_status_polling(2.0)  # the demo panel's paper switch shows up on screen within 2 s
    return printer
