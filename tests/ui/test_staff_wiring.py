"""The running kiosk (screens.app.run) installs technician mode behind the hidden entry, sharing the
terminal's audit log and the terminal's own devices; without an audit log the mode stays closed and the resident kiosk still comes up."""
import pytest

from kiosk.audit.log import AuditLog
from screens.app import install_technician

pytestmark = pytest.mark.ui


def test_the_running_kiosk_has_technician_mode_behind_the_hidden_entry(shell, settings):
    audit = AuditLog.open(settings)
    try:
        staff = install_technician(shell, settings, audit)
        assert staff is not None and staff.entry is not None
        assert shell.stack.indexOf(staff.pin_page) >= 0 and shell.stack.indexOf(staff.tech_page) >= 0
        staff.open_pin()                                     # what a 3-second corner press does
        assert shell.stack.currentWidget() is staff.pin_page
        assert staff.tech.audit is audit                     # one writer on the hash chain
        printer = object()                                   # the device the terminal attached (at start-up)
        shell.terminal.devices.raw["receipt_printer"] = printer
        assert staff.tech.terminal_device("receipt_printer") is printer     # not a second handle on its port
        staff.close()
    finally:
        audit.close()


def test_without_an_audit_log_technician_mode_stays_closed(shell, settings):
    assert install_technician(shell, settings, None) is None
    assert shell.current_screen == "home"
