"""A4 printing: PDFs through CUPS (`lp`, followed with `lpstat`), or written to a directory (demo backend).

CupsPrinter submits with `lp -d QUEUE -t TITLE FILE`, then polls `lpstat` until the job is completed, was
aborted/canceled, the queue stopped, or the deadline passed (then the job is canceled so nothing prints
unexpectedly later, and stays reprintable in the print journal). The CUPS server is the usual one, or
`server="127.0.0.1:PORT"` (passed to lp/lpstat as CUPS_SERVER), which is how the test harness points at its
private cupsd. Every subprocess call has a timeout."""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from devices.base import (CommandHandle, Completion, CompletionCode, Device, DeviceError, DeviceStatus, Usability)
from printing.documents import Document, DocumentError
from printing.jobs import JournaledPrinter, PrintJournal

log = logging.getLogger(__name__)

MESSAGES = {
    "CUPS_MISSING": "A4打印服务未安装，请联系工作人员",
    "CUPS_UNREACHABLE": "A4打印服务未启动，请联系工作人员",
    "CUPS_QUEUE_MISSING": "A4打印机未配置，请联系工作人员",
    "CUPS_PRINTER_STOPPED": "A4打印机已暂停或故障，请联系工作人员",
    "CUPS_JOB_FAILED": "证明打印失败，请联系工作人员",
    "CUPS_TIMEOUT": "证明打印超时，请联系工作人员",
    "CUPS_SUBMIT_FAILED": "证明提交打印失败，请联系工作人员",
    "PDF_WRITE_FAILED": "证明文件保存失败，请联系工作人员",
}
_REQUEST_ID = re.compile(r"request id is (\S+)")


@dataclass(frozen=True)
class A4Result:
    job_id: str                    # print journal id
    cups_job: str = ""             # e.g. KioskPDF-12
    path: Optional[Path] = None    # file backend: where the PDF was written


def _error(code: str, description: str, completion: CompletionCode = CompletionCode.DEVICE_NOT_READY) -> DeviceError:
    return DeviceError(completion, code, description, MESSAGES.get(code, "打印失败，请联系工作人员"))


class _A4Printer(JournaledPrinter, Device):
    role = "a4_printer"
    capabilities = frozenset({"pdf", "certificate", "statement", "report", "reprint"})

    def __init__(self, *, journal: Optional[PrintJournal] = None, job_timeout_s: float = 60.0,
                 role: Optional[str] = None):
        super().__init__(role)
        self.journal = journal or PrintJournal(":memory:")
        self.job_timeout_s = job_timeout_s

    def print_document(self, document: Document, *, timeout: Optional[float] = None) -> CommandHandle:
        """Journal, render and print; `handle.job_id` is the print-journal id, for a reprint."""
        return self._submit_job("print", self._run, timeout or self.job_timeout_s, document=document)

    def reprint(self, job_id: str, *, timeout: Optional[float] = None) -> CommandHandle:
        return self._submit_job("reprint", self._run, timeout or self.job_timeout_s, reprint_of=job_id)

    def _run(self, job_id: str, document: Document, token) -> A4Result:
        from printing.pdf import PdfError, render_pdf
        try:
            try:
                pdf = render_pdf(document)
            except (PdfError, DocumentError) as exc:
                raise DeviceError(CompletionCode.INVALID_DATA, exc.code, str(exc), exc.message_zh) from None
            result = self._output(job_id, pdf, _title(document), token)
        except DeviceError as exc:
            self.journal.mark_failed(job_id, exc.completion.error_code, exc.completion.description)
            log.warning("A4 printer: job %s failed: %s (%s)", job_id, exc.completion.description,
                        exc.completion.error_code)
            raise
        except Exception as exc:   # an adapter bug: the job must not stay 'pending' forever
            self.journal.mark_failed(job_id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
            raise
        self.journal.mark_printed(job_id, result.cups_job or str(result.path or ""))
        self.status.update(device=DeviceStatus.ONLINE, detail="")
        return result

    def _output(self, job_id: str, pdf: bytes, title: str, token) -> A4Result:
        raise NotImplementedError


def _title(document: Document) -> str:
    """Job title without personal data: document kind and serial number."""
    serial = getattr(document, "serial_no", "") or getattr(document, "business_date", "") or ""
    return f"{document.kind}-{serial}".strip("-")


class CupsPrinter(_A4Printer):
    def __init__(self, queue: str, *, server: Optional[str] = None, user: Optional[str] = None,
                 poll_s: float = 0.25, command_timeout_s: float = 10.0, **kw):
        super().__init__(**kw)
        self.queue = queue
        self.server = server
        self.user = user
        self.poll_s = poll_s
        self.command_timeout_s = command_timeout_s

    # ------------------------------------------------------------------ helpers
    def _env(self) -> dict:
        env = dict(os.environ)
        if self.server:
            env["CUPS_SERVER"] = self.server
        env["LC_ALL"] = "C"          # stable English output to parse
        return env

    def _cmd(self, args: list[str], timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(args, capture_output=True, text=True, env=self._env(),
                                  timeout=timeout or self.command_timeout_s)
        except FileNotFoundError:
            raise _error("CUPS_MISSING", f"{args[0]} not found (apt-get install cups-client)") from None
        except subprocess.TimeoutExpired:
            raise _error("CUPS_UNREACHABLE", f"{args[0]} did not answer within {timeout or self.command_timeout_s:.0f} s",
                         CompletionCode.TIMEOUT) from None

    def _classify(self, stderr: str) -> str:
        text = stderr.lower()
        if "does not exist" in text or "invalid destination" in text or "unknown destination" in text:
            # lp says "printer does not exist" also when it cannot reach the scheduler at all
            return "CUPS_QUEUE_MISSING" if self._scheduler_running() else "CUPS_UNREACHABLE"
        if "connect" in text or "scheduler is not running" in text or "connection refused" in text:
            return "CUPS_UNREACHABLE"
        return "CUPS_SUBMIT_FAILED"

    def _scheduler_running(self) -> bool:
        try:
            res = self._cmd(["lpstat", "-r"])
        except DeviceError:
            return False
        return "scheduler is running" in res.stdout

    def queue_state(self) -> tuple[bool, str]:
        """(enabled, lpstat line) for the queue; raises DeviceError if the queue or cupsd is missing."""
        res = self._cmd(["lpstat", "-p", self.queue])
        if res.returncode != 0:
            code = self._classify(res.stderr)
            what = "CUPS scheduler not reachable" if code == "CUPS_UNREACHABLE" else f"lpstat -p {self.queue}"
            raise _error(code, f"{what}: {res.stderr.strip() or 'failed'}")
        line = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
        return " disabled" not in line, line

    def is_usable(self) -> Usability:
        if not shutil.which("lp") or not shutil.which("lpstat"):
            return Usability(False, "CUPS client (lp, lpstat) not installed")
        try:
            enabled, line = self.queue_state()
        except DeviceError as exc:
            return Usability(False, exc.completion.description)
        return Usability(True) if enabled else Usability(False, f"queue stopped: {line}")

    def _check_queue(self, token) -> str:
        try:
            enabled, line = self.queue_state()
        except DeviceError as exc:
            self.status.update(device=DeviceStatus.NO_DEVICE if exc.completion.error_code == "CUPS_QUEUE_MISSING"
                               else DeviceStatus.OFFLINE, detail=exc.completion.description)
            raise
        self.status.update(device=DeviceStatus.ONLINE if enabled else DeviceStatus.OFFLINE, detail=line)
        if not enabled:
            raise _error("CUPS_PRINTER_STOPPED", line)
        return line

    def refresh_status(self) -> CommandHandle:
        """Ask CUPS about the queue on the worker; listeners hear the result."""
        return self.worker.submit("status", self._check_queue, self.command_timeout_s * 2)

    def selftest(self) -> Completion:
        return self.refresh_status().result()

    # ------------------------------------------------------------------ print
    def _output(self, job_id: str, pdf: bytes, title: str, token) -> A4Result:
        with tempfile.NamedTemporaryFile(prefix="hpf-a4-", suffix=".pdf") as fh:
            fh.write(pdf)
            fh.flush()
            args = ["lp", "-d", self.queue, "-t", title]
            if self.user:
                args += ["-U", self.user]
            res = self._cmd(args + [fh.name])
        if res.returncode != 0:
            code = self._classify(res.stderr)
            self.status.update(device=DeviceStatus.OFFLINE if code != "CUPS_SUBMIT_FAILED" else DeviceStatus.HARDWARE_ERROR,
                               detail=res.stderr.strip())
            raise _error(code, f"lp -d {self.queue}: {res.stderr.strip() or 'failed'}")
        match = _REQUEST_ID.search(res.stdout)
        if not match:
            raise _error("CUPS_SUBMIT_FAILED", f"lp gave no request id: {res.stdout.strip()!r}")
        cups_job = match.group(1)
        log.info("A4 printer: job %s submitted to CUPS as %s", job_id, cups_job)
        self._follow(cups_job, token)
        return A4Result(job_id, cups_job)

    def _job_block(self, which: str, cups_job: str) -> Optional[str]:
        """The `lpstat -l` block of one job in the completed/not-completed list, or None."""
        res = self._cmd(["lpstat", "-W", which, "-l", "-o", self.queue])
        if res.returncode != 0:
            raise _error(self._classify(res.stderr), f"lpstat -o {self.queue}: {res.stderr.strip()}")
        block, found = [], False
        for line in res.stdout.splitlines():
            if line and not line[0].isspace():
                if found:
                    break
                found = line.split()[0] == cups_job
            if found:
                block.append(line)
        return "\n".join(block) if found else None

    def _follow(self, cups_job: str, token) -> None:
        while True:
            pending = self._job_block("not-completed", cups_job)
            if pending is None:
                done = self._job_block("completed", cups_job)
                if done is not None and re.search(r"aborted|canceled|cancelled|with-errors|stopped", done):
                    raise _error("CUPS_JOB_FAILED", f"CUPS job {cups_job} did not complete: "
                                 + " ".join(done.split()[5:]), CompletionCode.HARDWARE_ERROR)
                log.info("A4 printer: CUPS job %s completed", cups_job)
                return
            enabled, line = self.queue_state()
            if not enabled:
                self._cancel(cups_job)
                self.status.update(device=DeviceStatus.OFFLINE, detail=line)
                raise _error("CUPS_PRINTER_STOPPED", f"queue {self.queue} stopped while job {cups_job} waited: {line}")
            if token.stopped:
                self._cancel(cups_job)
                reason = "canceled" if token._reason == "canceled" else "timed out"
                raise _error("CUPS_TIMEOUT", f"CUPS job {cups_job} {reason} before completion; job canceled",
                             CompletionCode.CANCELED if reason == "canceled" else CompletionCode.TIMEOUT)
            time.sleep(self.poll_s if token.remaining is None else min(self.poll_s, token.remaining))

    def _cancel(self, cups_job: str) -> None:
        try:
            self._cmd(["cancel", cups_job])
        except DeviceError:
            log.warning("A4 printer: could not cancel CUPS job %s", cups_job)


class FilePrinter(_A4Printer):
    """Demo backend: each PDF is written (atomically) into a directory."""

    def __init__(self, out_dir: "str | Path", **kw):
        super().__init__(**kw)
        self.out_dir = Path(out_dir)
        usable = self.is_usable()
        self.status.update(device=DeviceStatus.ONLINE if usable.ok else DeviceStatus.OFFLINE, detail=usable.missing)

    def is_usable(self) -> Usability:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return Usability(False, f"cannot create {self.out_dir}: {exc.strerror}")
        return Usability(True) if os.access(self.out_dir, os.W_OK) else Usability(False, f"{self.out_dir} not writable")

    def selftest(self) -> Completion:
        u = self.is_usable()
        if u.ok:
            return Completion(CompletionCode.SUCCESS, str(self.out_dir), "", f"writing PDFs to {self.out_dir}")
        return Completion(CompletionCode.DEVICE_NOT_READY, None, "PDF_WRITE_FAILED", u.missing, MESSAGES["PDF_WRITE_FAILED"])

    def _output(self, job_id: str, pdf: bytes, title: str, token) -> A4Result:
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", title)[:80] or "document"
        path = self.out_dir / f"{safe}-{job_id[:8]}.pdf"
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(pdf)
            os.replace(tmp, path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise _error("PDF_WRITE_FAILED", f"cannot write {path}: {exc.strerror}") from None
        return A4Result(job_id, "", path)


# --------------------------------------------------------------------------- factories (devices.registry)

def build_cups_printer(settings) -> CupsPrinter:
    printer = CupsPrinter(settings.devices.a4_printer.queue, journal=PrintJournal.for_settings(settings))
    printer.refresh_status()    # on the worker; never blocks start-up
    return printer


def build_file_printer(settings) -> FilePrinter:
    out_dir = settings.devices.a4_printer.out_dir or Path(settings.paths.data_dir) / "pdf"
    return FilePrinter(out_dir, journal=PrintJournal.for_settings(settings))
