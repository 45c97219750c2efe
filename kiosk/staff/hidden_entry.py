"""Hidden entry to technician mode without a keyboard: press and hold in one corner of the screen.

Plain logic, fed by the screen with press/move/release events and the current time; no Qt, no timers:
the screen calls poll(now) from its own tick (or on release) and opens the PIN pad when it returns True."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class CornerLongPress:
    width: int
    height: int
    corner: str = "top-right"         # top-left | top-right | bottom-left | bottom-right
    region_px: int = 80               # square in that corner
    hold_s: float = 5.0
    _since: Optional[float] = None
    _fired: bool = False

    def _in_corner(self, x: float, y: float) -> bool:
        left = x <= self.region_px
        right = x >= self.width - self.region_px
        top = y <= self.region_px
        bottom = y >= self.height - self.region_px
        return {"top-left": top and left, "top-right": top and right,
                "bottom-left": bottom and left, "bottom-right": bottom and right}[self.corner]

    def press(self, x: float, y: float, now: float) -> None:
        self._fired = False
        self._since = now if self._in_corner(x, y) else None

    def move(self, x: float, y: float, now: float) -> None:
        if self._since is not None and not self._in_corner(x, y):
            self._since = None          # slid out of the corner: start again

    def release(self, now: float) -> bool:
        fired = self.poll(now)
        self._since = None
        return fired

    def poll(self, now: float) -> bool:
        """True once per hold when the finger has stayed in the corner for hold_s."""
        if self._since is None or self._fired:
            return False
        if now - self._since >= self.hold_s:
            self._fired = True
            return True
        return False

    def progress(self, now: float) -> float:
        """0..1 for a ring the screen may draw while held."""
        if self._since is None:
            return 0.0
        return min(1.0, max(0.0, (now - self._since) / self.hold_s))
