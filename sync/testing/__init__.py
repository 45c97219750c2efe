"""Test and bench helpers for sync/: fault proxy, crash driver. Not used by the kiosk at run time."""
