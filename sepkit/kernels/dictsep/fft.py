"""DictSep kernel: the hand-written iterative radix-2 FFT of the matched-filter selector.

Used by :func:`~sepkit.kernels.dictsep.peaks.template_spectra` and
:func:`~sepkit.kernels.dictsep.peaks.best_match_fft` on the power-of-two lengths ``2 M``
(2048 for the default 1024-bin log axis). ``benchmarks/bench_dictsep_fft.py`` measures it
against rocket-fft's ``numpy.fft`` inside numba on those sizes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["fft_twiddles", "fft_inplace"]


@numba.njit(cache=True)
def fft_twiddles(n):
    """Twiddle factors ``exp(-2 pi i k / n)``, ``k < n / 2``, of :func:`fft_inplace`; shape ``(n // 2,)``."""
    tw = np.empty(n // 2, dtype=np.complex128)
    for k in range(n // 2):
        ang = -2.0 * math.pi * k / n
        tw[k] = complex(math.cos(ang), math.sin(ang))
    return tw


@numba.njit(cache=True)
def fft_inplace(x, tw, inverse):
    """Iterative radix-2 FFT of ``x`` in place (numpy's sign and scaling conventions).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,), complex128
        Data, ``n`` a power of two; overwritten with ``fft(x)`` or ``ifft(x)``.
    tw : numpy.ndarray, shape (n // 2,), complex128
        :func:`fft_twiddles` of ``n``.
    inverse : bool
        Inverse transform (conjugate twiddles, divided by ``n``).
    """
    n = x.shape[0]
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            tmp = x[i]
            x[i] = x[j]
            x[j] = tmp
    size = 2
    while size <= n:
        half = size // 2
        stride = n // size
        for start in range(0, n, size):
            for k in range(half):
                w = tw[k * stride]
                if inverse:
                    w = w.conjugate()
                u = x[start + k]
                v = x[start + k + half] * w
                x[start + k] = u + v
                x[start + k + half] = u - v
        size *= 2
    if inverse:
        for i in range(n):
            x[i] = x[i] / n
