"""QR symbols for printers that cannot encode QR themselves (raster GS v 0) and for PDFs.

The qrcode library encodes the data; only its mask choice is replaced. The library lays out the whole
symbol once per candidate mask and scores each in pure Python (~9 ms for a receipt-sized code, most of the
receipt's 5 ms budget twice over). Here the symbol is laid out once, the eight masked variants are derived
with numpy (mask patterns XOR the data modules only), and the ISO/IEC 18004 penalty (N1 runs, N2 blocks,
N3 finder-like patterns, N4 dark balance) is scored for all eight at once. A fixed mask is not an option:
with one, some payloads did not scan (see tests)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import qrcode
from qrcode import constants

ECC = {"L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M,
       "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H}
_N3_PATTERNS = (np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], bool), np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], bool))


def mask_patterns(n: int) -> np.ndarray:
    """(8, n, n) bool: where each of the eight mask patterns inverts a module (i = row, j = column)."""
    i, j = np.indices((n, n))
    return np.stack([
        (i + j) % 2 == 0,
        i % 2 == 0,
        j % 3 == 0,
        (i + j) % 3 == 0,
        (i // 2 + j // 3) % 2 == 0,
        (i * j) % 2 + (i * j) % 3 == 0,
        ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        ((i * j) % 3 + (i + j) % 2) % 2 == 0,
    ])


def penalties(symbols: np.ndarray) -> np.ndarray:
    """ISO/IEC 18004 mask penalty for each symbol in a (k, n, n) bool stack."""
    k, n, _ = symbols.shape
    score = np.zeros(k, dtype=np.int64)
    for grid in (symbols, symbols.transpose(0, 2, 1)):
        # N1: runs of >= 5 same-coloured modules in a row/column: 3 + (run - 5)
        x = np.full((k, n, n + 1), 2, np.int8)
        x[:, :, :n] = grid
        flat = x.reshape(k, -1)
        for s in range(k):
            f = flat[s]
            starts = np.concatenate(([0], np.flatnonzero(f[1:] != f[:-1]) + 1))
            lengths = np.diff(np.concatenate((starts, [f.size])))
            runs = lengths[(f[starts] != 2) & (lengths >= 5)]
            score[s] += int((runs - 2).sum())
        # N3: 1:1:3:1:1 finder-like pattern with four light modules on one side: 40 each
        windows = np.lib.stride_tricks.sliding_window_view(grid, 11, axis=2)
        for pattern in _N3_PATTERNS:
            score += 40 * (windows == pattern).all(axis=-1).sum(axis=(1, 2))
    # N2: 2x2 blocks of one colour: 3 each
    same = (symbols[:, :-1, :-1] == symbols[:, 1:, :-1]) & (symbols[:, :-1, :-1] == symbols[:, :-1, 1:]) \
        & (symbols[:, :-1, :-1] == symbols[:, 1:, 1:])
    score += 3 * same.sum(axis=(1, 2))
    # N4: 10 per 5 % the dark share is away from 50 %
    dark = symbols.sum(axis=(1, 2)) * 100 // (n * n)
    score += 10 * (np.abs(dark - 50) // 5)
    return score


class _ScoredMaskQR(qrcode.QRCode):
    def best_mask_pattern(self) -> int:
        self.makeImpl(True, 0)                        # the library's own layout, test format bits, mask 0
        masked0 = np.array(self.modules, dtype=bool)
        n = masked0.shape[0]
        layout = self.modules
        self.modules = [[None] * n for _ in range(n)]  # which modules are data: those no function pattern sets
        self.setup_position_probe_pattern(0, 0)
        self.setup_position_probe_pattern(n - 7, 0)
        self.setup_position_probe_pattern(0, n - 7)
        self.setup_position_adjust_pattern()
        self.setup_timing_pattern()
        self.setup_type_info(True, 0)
        if self.version >= 7:
            self.setup_type_number(True)
        data = np.array([[m is None for m in row] for row in self.modules], dtype=bool)
        self.modules = layout
        masks = mask_patterns(n) & data
        self.candidates = (masked0 ^ masks[0])[None] ^ masks   # the eight masked symbols (test format bits)
        return int(np.argmin(penalties(self.candidates)))


    def make(self, fit: bool = True) -> None:
        """As the library's make(), but the chosen symbol is taken from the candidates with its real format
        (and version) bits written in, instead of laying the data out once more."""
        if fit or self.version is None:
            self.best_fit(start=self.version)
        best = self.best_mask_pattern()
        n = self.candidates.shape[1]
        symbol = self.candidates[best].tolist()
        self.modules = [[None] * n for _ in range(n)]
        self.setup_type_info(False, best)
        if self.version >= 7:
            self.setup_type_number(False)
        for r, row in enumerate(self.modules):
            for c, value in enumerate(row):
                if value is not None:
                    symbol[r][c] = value
        self.modules = symbol
        self.mask_pattern_used = best


def qr_matrix(payload: str, ecc: str = "M", version: Optional[int] = None) -> list[list[bool]]:
    """The QR symbol (with its 4-module quiet zone) as rows of booleans, dark = True."""
    qr = _ScoredMaskQR(version=version, error_correction=ECC[ecc], border=4)
    qr.add_data(payload.encode("utf-8"), optimize=0)
    qr.make(fit=version is None)
    return qr.get_matrix()
