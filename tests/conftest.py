"""Root test configuration. Area fixtures live in tests/<area>/conftest.py.

Tests never touch the user's files: HOME-like state goes to tmp dirs; services are started by the harness
on loopback and stopped by the PID that started them."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HPF_KIOSK_VOICE", "mute")
