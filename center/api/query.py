"""Read endpoints the kiosk flows need (signed)."""
from __future__ import annotations

from fastapi import APIRouter

from sync import protocol as P

router = APIRouter(prefix=P.API_PREFIX)
