"""Start the Qt side: the application, the CJK font, the shell, the simulator panel (demo)."""
from __future__ import annotations

import logging
import os
import sys
from typing import Optional

from screens import theme
from screens.qt import QApplication, QFont, QFontDatabase

log = logging.getLogger(__name__)


def display_problem() -> Optional[str]:
    """Why no window can open here, or None. Offscreen counts as a display (tests, selftest)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display: neither DISPLAY nor WAYLAND_DISPLAY is set.\n"
                "  On a headless machine start a virtual one and point the kiosk at it:\n"
                "    Xvfb :99 -screen 0 1280x800x24 -nolisten tcp &\n"
                "    DISPLAY=:99 hpf-kiosk run\n"
                "  or run the headless self-test:  hpf-kiosk selftest --out DIR")
    return None


def none_refcount_leak() -> int:
    """References to None lost per 100 void Qt calls. PySide6-Essentials 6.12.0 on Python 3.11 loses one per
    call (None is not immortal before 3.12), so a kiosk that runs for hours dies with "deallocating None"."""
    if sys.version_info >= (3, 12):
        return 0
    from PySide6.QtCore import QObject
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    return max(0, before - sys.getrefcount(None))


def _guard_against_none_leak() -> None:
    leak = none_refcount_leak()
    if leak >= 50:
        import ctypes

        import PySide6
        log.error("PySide6 %s loses a reference to None on every call (%d/100); install PySide6-Essentials<6.12 "
                  "(setup.cfg pins it). Making None immortal for this process so the kiosk does not crash.",
                  PySide6.__version__, leak)
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40    # what Python 3.12 does for every process


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _guard_against_none_leak()
    if os.path.exists(theme.FONT_FILE):
        QFontDatabase.addApplicationFont(theme.FONT_FILE)   # also when fontconfig has no cache for it
    else:
        log.warning("CJK font %s missing: install fonts-wqy-microhei or Chinese shows as boxes", theme.FONT_FILE)
    app.setFont(QFont(theme.FONT_FAMILY, 14))
    return app


def create_shell(terminal, kiosk_mode: Optional[bool] = None, sim_panel: bool = False):
    from screens.shell import Shell
    app = application()
    shell = Shell(terminal, app, kiosk_mode=kiosk_mode)
    panel = None
    if sim_panel:
        from screens.simpanel import SimulatorPanel
        panel = SimulatorPanel(terminal, shell)
    return app, shell, panel


def run(terminal, after_show=None, audit=None, config_file=None, teller=None) -> int:
    """The GUI event loop; returns the exit status. after_show runs once the first screen is painted
    (the composition root connects devices and the center then, so they do not delay the home screen).
    `teller` (bank-teller terminals): a callable returning the TellerMode start-up built; the teller sign-in
    page opens as soon as the terminal is ready."""
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 3
    app, shell, panel = create_shell(terminal, sim_panel=terminal.settings.profile == "demo")
    if shell.kiosk_mode:
        shell.showFullScreen()
    else:
        shell.show()
    if panel:
        panel.show()
    staff = install_technician(shell, terminal.settings, audit, config_file)
    counter = TellerInstaller(shell, teller) if teller is not None else None
    _quit_on_signals(app, shell)
    if after_show:
        from screens.qt import QTimer
        QTimer.singleShot(0, after_show)
    log.info("kiosk window shown (%s, %s)", "kiosk mode" if shell.kiosk_mode else "windowed",
             app.platformName())
    rc = app.exec()
    if staff is not None:
        staff.close()
    if counter is not None:
        counter.close()
    shell.shutdown()
    return int(rc)


def install_technician(shell, settings, audit, config_file=None):
    """Technician mode behind the hidden corner entry (long press, then the PIN). Needs the terminal's
    audit log: every technician action is audited, so without one the mode stays closed."""
    if audit is None:
        log.error("technician mode unavailable: no audit log")
        return None
    try:
        from kiosk.staff.technician import TechnicianMode
        from screens.staff import install_staff
        tech = TechnicianMode(settings, audit, config_file=config_file,
                              devices=lambda: shell.terminal.devices.raw)   # the terminal's own devices
        return install_staff(shell, technician=tech, export_dir=str(settings.paths.log_dir))
    except Exception as exc:          # the resident kiosk must come up even if the staff screens cannot
        log.error("technician mode unavailable: %s: %s", type(exc).__name__, exc)
        return None


def install_teller(shell, mode, reports_dir=None):
    """Teller mode on a bank-teller terminal: the sign-in page first, then the teller's keyboard home (the
    service items on behalf of a customer, combined loans, supervisor authorization, end of day)."""
    from screens.staff import install_staff
    staff = install_staff(shell, teller=mode, teller_reports_dir=reports_dir)
    log.info("teller mode installed at branch %s: %s shown", mode.branch, shell.current_screen)
    return staff


class TellerInstaller:
    """Installs teller mode once start-up has built it (the terminal's "ready" event, on the Qt thread)."""

    def __init__(self, shell, teller):
        self.shell, self.teller, self.staff = shell, teller, None
        if shell.terminal.starting:
            shell.bridge.add_target(self)
        else:
            self.on_event_ready()

    def on_event_ready(self) -> None:
        if self.staff is not None:
            return
        mode = self.teller()
        if mode is None:
            log.error("bank-teller terminal without teller mode: see the start-up notes (doctor)")
            return
        self.staff = install_teller(self.shell, mode)

    def close(self) -> None:
        if self.staff is not None:
            self.staff.close()
            self.staff.teller.mode.sign_out("shutdown")     # the event loop is over: no screen waits for the audit


def _quit_on_signals(app, shell) -> None:
    """SIGTERM/SIGINT (service stop, Ctrl+C) end the event loop cleanly; the shell's 1 s tick lets Python
    run the handler while Qt waits."""
    import signal

    def stop(signum, _frame):
        log.info("signal %d: closing the kiosk window", signum)
        shell.allow_close = True
        app.quit()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
