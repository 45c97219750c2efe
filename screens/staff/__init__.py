"""Staff screens on top of the Qt-free kiosk.staff core: technician mode (hidden corner entry, PIN, service
page) and teller mode (sign-in, supervisor authorization, end of day).

    staff = install_staff(shell, technician=TechnicianMode(...), journal=journal,
                          teller=TellerMode(...) if settings.terminal.role == "teller" else None)

install_staff adds the pages to the shell's stack and the hidden-entry event filter; nothing in the shell
changes otherwise. With a teller mode the terminal opens on the teller sign-in page."""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

log = logging.getLogger(__name__)


class StaffScreens:
    def __init__(self, shell, technician=None, *, journal=None, export_dir: str = "", teller=None,
                 teller_reports_dir=None, clock: Callable[[], float] = time.monotonic):
        from screens.staff.technician import HiddenEntry, TechnicianPage, TechPinPage
        self.shell = shell
        self.tech = technician
        self.entry = self.pin_page = self.tech_page = self.teller = None
        if technician is not None:
            self.pin_page = TechPinPage(shell, technician, self.open_technician)
            self.tech_page = TechnicianPage(shell, technician, journal=journal, export_dir=export_dir,
                                          clock=clock)
            for p in (self.pin_page, self.tech_page):
                shell.stack.addWidget(p)
            self.entry = HiddenEntry(shell, self.open_pin, clock=clock)
        if teller is not None:
            from screens.staff.teller import TellerScreens
            self.teller = TellerScreens(shell, teller, reports_dir=teller_reports_dir)
            for p in self.teller.pages():
                shell.stack.addWidget(p)
            self.teller.show_sign_in()

    def open_pin(self) -> None:
        if self.shell.terminal.session:
            self.shell.terminal.cancel_session()        # a resident's data never stays behind a staff screen
        self.pin_page.open()
        self.shell.show_page(self.pin_page)

    def open_technician(self) -> None:
        self.shell.show_page(self.tech_page)
        self.tech_page.open_section("devices")

    def close(self) -> None:
        if self.entry is not None:
            self.entry.close()
        if self.teller is not None:
            self.teller.close()


def install_staff(shell, technician=None, **kw) -> StaffScreens:
    return StaffScreens(shell, technician, **kw)
