"""Business transaction kinds (withdrawal, flexible employment, deposit, loans, transfer-in, phone change).
The decisions are the domain engineer's rules (center.rules); this module loads facts from the database,
calls the rule, and applies the effect."""
from __future__ import annotations
