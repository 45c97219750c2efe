"""Screens come later: the staff core must load without Qt (ARCHITECTURE.md: Qt only in screens/)."""
import subprocess
import sys


def test_the_staff_core_and_its_cli_import_without_qt():
    code = ("import sys, importlib\n"
            "for m in ('kiosk.staff.teller', 'kiosk.staff.combined_loan', 'kiosk.staff.eod', 'kiosk.staff.technician',"
            " 'kiosk.staff.remote', 'kiosk.staff.hidden_entry', 'kiosk.cli.teller_cmd', 'kiosk.cli.technician_cmd'):\n"
            "    importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
