"""Synthetic two-instrument smoke-test signal of DictSep (``notes/dictsep.md`` section 10).

Part A ("flute-like"): six notes C5 D5 E5 F5 G5 F5, harmonic amplitudes ``1/h^2``; part B
("clarinet-like"): four notes G3 A3 B3 C4, amplitudes ``1/h`` for odd and ``0.15/h`` for
even ``h``. Each part's notes split the duration evenly; a note is the sum of harmonics
``h = 1..25`` below 20 kHz at ``h f0`` (no inharmonicity) with phases uniform on
``[0, 2 pi)`` from ``numpy.random.default_rng(seed)`` (all of A, then all of B, in
generation order), an envelope ``min(1, t / 20 ms, (dur - t) / 50 ms)`` and a gain of 0.2.
The Musisep reference run (``n_iter=2000, num_dicts=2``) used the 3-s, 44.1-kHz version.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import SeparationError
from ...core.validation import check_int, check_positive

__all__ = ["PART_A_F0", "PART_B_F0", "part_a_amplitudes", "part_b_amplitudes", "synthetic_parts"]

#: Fundamentals of part A in Hz (C5, D5, E5, F5, G5, F5).
PART_A_F0 = (523.25, 587.33, 659.25, 698.46, 783.99, 698.46)
#: Fundamentals of part B in Hz (G3, A3, B3, C4).
PART_B_F0 = (196.0, 220.0, 246.94, 261.63)
_HARMONICS = 25
_GAIN = 0.2
_FMAX = 20000.0


def part_a_amplitudes(harmonics: int = _HARMONICS) -> np.ndarray:
    """Harmonic amplitudes of part A, ``1 / h^2``, shape ``(harmonics,)``."""
    h = np.arange(1, harmonics + 1, dtype=np.float64)
    return 1.0 / h**2


def part_b_amplitudes(harmonics: int = _HARMONICS) -> np.ndarray:
    """Harmonic amplitudes of part B, ``1/h`` (odd ``h``) and ``0.15/h`` (even), shape ``(harmonics,)``."""
    h = np.arange(1, harmonics + 1, dtype=np.float64)
    return np.where(h % 2 == 1, 1.0, 0.15) / h


def _part(f0s, amps, n_samples, sample_rate, rng):
    out = np.zeros(n_samples)
    bounds = np.linspace(0, n_samples, len(f0s) + 1).round().astype(int)
    for f0, start, stop in zip(f0s, bounds[:-1], bounds[1:]):
        t = np.arange(stop - start) / sample_rate
        dur = (stop - start) / sample_rate
        env = np.minimum(1.0, np.minimum(t / 0.02, (dur - t) / 0.05))
        note = np.zeros(stop - start)
        for h, amp in enumerate(amps, start=1):
            if h * f0 >= _FMAX:
                break
            phase = rng.uniform(0.0, 2.0 * np.pi)
            note += amp * np.sin(2.0 * np.pi * h * f0 * t + phase)
        out[start:stop] = _GAIN * env * note
    return out


def synthetic_parts(seconds: float = 3.0, sample_rate: int = 44100, seed: int = 0):
    """Generate the two parts of the smoke-test signal.

    Parameters
    ----------
    seconds : float
        Duration (the reference uses 3 s).
    sample_rate : int
        Sample rate in Hz (the reference uses 44100).
    seed : int
        Seed of ``numpy.random.default_rng`` for the phases.

    Returns
    -------
    part_a, part_b : numpy.ndarray, shape (n_samples,)
        The two sources, float64; the mixture is ``part_a + part_b``.
    """
    seconds = check_positive("seconds", seconds, error=SeparationError)
    sample_rate = check_int("sample_rate", sample_rate, 8000, error=SeparationError)
    n_samples = int(round(seconds * sample_rate))
    if n_samples < 1:
        raise SeparationError(f"seconds={seconds!r} gives no samples at {sample_rate} Hz")
    rng = np.random.default_rng(seed)
    part_a = _part(PART_A_F0, part_a_amplitudes(), n_samples, sample_rate, rng)
    part_b = _part(PART_B_F0, part_b_amplitudes(), n_samples, sample_rate, rng)
    return part_a, part_b
