"""Colours, type sizes and touch-target sizes for normal and care mode (关爱模式), as one Qt style sheet.

Care mode: body text 1.4x, touch targets at least 60 px (MIIT elder spec: 60x60 dp), the same colours
(every pair at least 4.5:1, checked by contrast_ratio in the tests), fewer tiles per page (kiosk.flows.home)."""
from __future__ import annotations

from dataclasses import dataclass

FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

# name -> hex. Text colours are chosen against the backgrounds they sit on (see PAIRS).
COLORS = {
    "bg": "#F4F6F8",
    "surface": "#FFFFFF",
    "text": "#1A1F24",
    "muted": "#4A5560",
    "primary": "#0B5CAD",        # buttons, header
    "on_primary": "#FFFFFF",
    "danger": "#B3261E",
    "on_danger": "#FFFFFF",
    "warning_bg": "#FFF4CE",
    "warning_text": "#5C3D00",
    "offline_bg": "#5C3D00",
    "on_offline": "#FFFFFF",
    "ok": "#1E6B34",
    "disabled_bg": "#E1E5EA",
    "disabled_text": "#4A5560",
    "tile_bg": "#FFFFFF",
    "tile_text": "#0B3D6E",
    "tile_border": "#0B5CAD",
}

# (foreground, background) pairs that occur on screen; each must reach 4.5:1.
PAIRS = [
    ("text", "bg"), ("text", "surface"), ("muted", "bg"), ("muted", "surface"),
    ("on_primary", "primary"), ("on_danger", "danger"), ("warning_text", "warning_bg"),
    ("on_offline", "offline_bg"), ("ok", "surface"), ("ok", "bg"), ("disabled_text", "disabled_bg"),
    ("tile_text", "tile_bg"), ("danger", "surface"), ("danger", "bg"),
]


def _linear(c: float) -> float:
    c = c / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.x contrast ratio between two sRGB colours."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class Metrics:
    body_px: int
    title_px: int
    small_px: int
    button_px: int
    target_px: int        # minimum height/width of anything touchable
    key_px: int           # keypad keys (never below 60: MIIT elder targets)
    tile_h: int
    pad: int


NORMAL = Metrics(body_px=22, title_px=32, small_px=18, button_px=22, target_px=56, key_px=64, tile_h=120, pad=16)
CARE = Metrics(body_px=31, title_px=42, small_px=26, button_px=30, target_px=80, key_px=68, tile_h=170, pad=20)
CARE_FACTOR = CARE.body_px / NORMAL.body_px


def metrics(care: bool) -> Metrics:
    return CARE if care else NORMAL


def stylesheet(care: bool) -> str:
    m, c = metrics(care), COLORS
    return f"""
* {{ font-family: "{FONT_FAMILY}"; }}
QWidget#shell, QWidget#page {{ background: {c['bg']}; color: {c['text']}; font-size: {m.body_px}px; }}
QLabel {{ color: {c['text']}; font-size: {m.body_px}px; }}
QLabel[role="title"] {{ font-size: {m.title_px}px; font-weight: bold; }}
QLabel[role="muted"] {{ color: {c['muted']}; font-size: {m.small_px}px; }}
QLabel[role="message"] {{ color: {c['danger']}; font-size: {m.body_px}px; font-weight: bold; }}
QLabel[role="ok"] {{ color: {c['ok']}; font-size: {m.title_px}px; font-weight: bold; }}
QLineEdit[role="code"] {{ font-size: {m.title_px}px; min-height: {m.key_px}px; color: {c['text']};
    background: {c['surface']}; border: 2px solid {c['primary']}; border-radius: 8px; letter-spacing: 6px; }}
QLabel[role="code"] {{ font-size: {m.title_px}px; letter-spacing: 8px; background: {c['surface']};
    border: 2px solid {c['primary']}; border-radius: 8px; padding: 6px; }}
QFrame#header {{ background: {c['primary']}; }}
QFrame#header QLabel {{ color: {c['on_primary']}; font-size: {m.small_px}px; }}
QFrame#header QLabel[role="title"] {{ font-size: {m.body_px}px; }}
QFrame#footer {{ background: {c['surface']}; border-top: 1px solid {c['disabled_bg']}; }}
QFrame#banner {{ background: {c['warning_bg']}; }}
QFrame#banner QLabel {{ color: {c['warning_text']}; font-size: {m.body_px}px; }}
QFrame#offline {{ background: {c['offline_bg']}; }}
QFrame#offline QLabel {{ color: {c['on_offline']}; font-size: {m.small_px}px; }}
QFrame#overlay {{ background: rgba(20, 24, 28, 200); }}
QFrame#dialog {{ background: {c['surface']}; border-radius: 12px; }}
QPushButton {{ background: {c['primary']}; color: {c['on_primary']}; font-size: {m.button_px}px;
    min-height: {m.target_px}px; min-width: {m.target_px}px; border: none; border-radius: 8px; padding: 4px 18px; }}
QPushButton:pressed {{ background: {c['tile_text']}; }}
QPushButton:disabled {{ background: {c['disabled_bg']}; color: {c['disabled_text']}; }}
QPushButton[role="secondary"] {{ background: {c['surface']}; color: {c['primary']}; border: 2px solid {c['primary']}; }}
QPushButton[role="secondary"]:disabled {{ background: {c['disabled_bg']}; color: {c['disabled_text']}; border-color: {c['disabled_bg']}; }}
QPushButton[role="danger"] {{ background: {c['danger']}; color: {c['on_danger']}; }}
QPushButton[role="tile"] {{ background: {c['tile_bg']}; color: {c['tile_text']}; border: 3px solid {c['tile_border']};
    border-radius: 12px; font-size: {m.title_px}px; font-weight: bold; min-height: {m.tile_h}px;
    max-height: {m.tile_h * 2}px; text-align: center; }}
QPushButton[role="tile"]:disabled {{ background: {c['disabled_bg']}; color: {c['disabled_text']}; border-color: {c['disabled_bg']}; }}
QLabel[role="tile_name"] {{ color: {c['tile_text']}; font-size: {m.title_px}px; font-weight: bold; background: transparent; }}
QLabel[role="tile_name"]:disabled {{ color: {c['disabled_text']}; }}
QLabel[role="tile_note"] {{ color: {c['muted']}; font-size: {m.small_px}px; background: transparent; }}
QLabel[role="tile_note"]:disabled {{ color: {c['disabled_text']}; }}
QPushButton[role="key"] {{ font-size: {m.title_px}px; min-height: {m.key_px}px; min-width: {m.key_px + 40}px; padding: 0; }}
QProgressBar {{ min-height: 14px; max-height: 14px; border: none; background: {c['disabled_bg']}; border-radius: 7px; }}
QProgressBar::chunk {{ background: {c['primary']}; border-radius: 7px; }}
"""
