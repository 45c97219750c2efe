"""Seeded people and staff of the reference center (center/seed.py, center/README.md)."""
ZHANG = ("张建国", "330802198503151230")      # no loan, no home: rent withdrawal, a loan application
TELLER = ("T0001", "teller-pass-1")
SUPERVISOR = ("S0001", "super-pass-1")
RENT = {"monthly_rent_fen": 200_000, "rent_months": 3}
