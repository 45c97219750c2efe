"""Fixtures for printing: a simulated receipt printer on loopback, a printer talking to it, and a private
cupsd with a cups-pdf queue (own ServerRoot/RequestRoot/logs in a temp dir, loopback port, stopped by PID)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from printing.escpos.device import EscposPrinter
from printing.jobs import PrintJournal
from printing.sim import SimPrinter

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CUPS_PDF_PPD = "/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd"


@pytest.fixture
def sim():
    printer = SimPrinter().start()
    yield printer
    printer.stop()


@pytest.fixture
def journal(tmp_path):
    j = PrintJournal(tmp_path / "print_jobs.sqlite3")
    yield j
    j.close()


@pytest.fixture
def make_printer(sim, journal):
    made = []

    def make(width_mm: int = 80, profile: str = "generic-gb18030", status_timeout_s: float = 0.3, uri: str = ""):
        p = EscposPrinter(uri or f"tcp://127.0.0.1:{sim.port}", width_mm=width_mm, profile=profile,
                          status_timeout_s=status_timeout_s, io_timeout_s=3.0, job_timeout_s=15.0, journal=journal)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cups_pdf_anon_dir() -> Path:
    """cups-pdf reads only /etc/cups/cups-pdf.conf; a job from a user unknown to the system lands in AnonDirName."""
    anon = "/var/spool/cups-pdf/ANONYMOUS"
    try:
        for line in Path("/etc/cups/cups-pdf.conf").read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] == "AnonDirName":
                anon = parts[1].strip()
    except OSError:
        pass
    return Path(anon)


@dataclass
class CupsServer:
    server: str
    queue: str
    user: str
    out_dir: Path
    root: Path
    pid: int

    def env(self) -> dict:
        return {**os.environ, "CUPS_SERVER": self.server, "LC_ALL": "C"}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True, timeout=20)

    def outputs(self, title: str) -> list[Path]:
        return [Path(p) for p in glob.glob(str(self.out_dir / f"{glob.escape(title)}*.pdf"))]


@pytest.fixture(scope="session")
def cupsd():
    missing = [t for t in ("cupsd", "lpadmin", "lp", "lpstat") if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")]
    if missing:
        pytest.skip(f"CUPS not installed: {', '.join(missing)} missing (apt-get install cups)")
    if not Path("/usr/lib/cups/backend/cups-pdf").exists() or not Path(CUPS_PDF_PPD).exists():
        pytest.skip("cups-pdf not installed (apt-get install printer-driver-cups-pdf)")
    try:
        import grp
        grp.getgrnam("lp")
    except KeyError:
        pytest.skip("no 'lp' group: cupsd runs its filters as user/group lp")
    if os.geteuid() != 0:
        pytest.skip("a private cupsd needs root here: it runs its filters as user lp and the cups-pdf backend "
                    "(mode 0700) as root")
    d = Path(tempfile.mkdtemp(prefix="hpf-cupsd-"))
    d.chmod(0o755)                                  # filters run as lp and must reach the spool
    for sub in ("root", "spool", "tmp", "log", "cache", "state", "root/ppd"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "tmp").chmod(0o1777)
    shutil.chown(d / "spool", group="lp")
    (d / "spool").chmod(0o710)
    port = _free_port()
    (d / "root/cupsd.conf").write_text(f"""Listen 127.0.0.1:{port}
LogLevel info
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
""")
    (d / "root/cups-files.conf").write_text(f"""User lp
Group lp
SystemGroup root
ServerRoot {d}/root
RequestRoot {d}/spool
TempDir {d}/tmp
CacheDir {d}/cache
StateDir {d}/state
AccessLog {d}/log/access_log
ErrorLog {d}/log/error_log
PageLog {d}/log/page_log
ServerBin /usr/lib/cups
DataDir /usr/share/cups
""")
    log = open(d / "log/stdout", "wb")
    proc = subprocess.Popen(["/usr/sbin/cupsd", "-f", "-c", str(d / "root/cupsd.conf"), "-s", str(d / "root/cups-files.conf")],
                            stdout=log, stderr=subprocess.STDOUT)
    srv = CupsServer(f"127.0.0.1:{port}", "HpfTestPDF", f"hpf-print-test-{uuid.uuid4().hex[:6]}",
                     _cups_pdf_anon_dir(), d, proc.pid)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.skip(f"cupsd exited at start (rc={proc.returncode}): {(d / 'log/stdout').read_text()[-400:]}")
            r = srv.run("lpstat", "-r")
            if "is running" in r.stdout:
                break
            if time.monotonic() > deadline:
                pytest.skip(f"cupsd did not answer on {srv.server} within 15 s")
            time.sleep(0.1)
        r = srv.run("/usr/sbin/lpadmin", "-p", srv.queue, "-E", "-v", "cups-pdf:/", "-P", CUPS_PDF_PPD)
        assert r.returncode == 0, r.stderr
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)
