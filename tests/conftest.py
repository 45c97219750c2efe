"""Root test configuration. Area fixtures live in tests/<area>/conftest.py.

Tests never touch the user's files: HOME-like state goes to tmp dirs; services are started by the harness
on loopback and stopped by the PID that started them."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HPF_KIOSK_VOICE", "mute")


import logging as _logging

import pytest as _pytest


@_pytest.fixture(autouse=True)
def _root_logging_restored():
    """A CLI called in-process (kiosk or center `main([...])`) installs its logging on the root logger, as a
    process would once; here every test gets the root logger back as it found it, so one test's handlers never
    write into the next test's output."""
    root = _logging.getLogger()
    handlers, level = list(root.handlers), root.level
    center_flag = root.__dict__.get("_hpf_center_logging")
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)
    if center_flag is None:
        root.__dict__.pop("_hpf_center_logging", None)
