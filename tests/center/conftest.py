"""Fixtures for the center's tests: a real `hpf-center serve` subprocess per module (SQLite), and the
PostgreSQL harness (scripts/pg_harness.py) for the same tests on PostgreSQL."""
from center.testing import center_process  # noqa: F401  (fixture)
