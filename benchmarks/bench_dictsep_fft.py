"""DictSep's former hand-written FFT against rocket-fft (``numpy.fft`` inside numba) on DictSep's sizes.

Measured for issue 10: rocket-fft won (6.7x per FFT of length 2048, 3.9x on the selector
with two instruments, 2-core machine), so sepkit's selector now uses it and the hand-written
radix-2 FFT survives only here, as the reference. The matched filter of the dictionary pursuit correlates a residual of ``M`` log bins
(1024 by default) with every instrument's template by FFTs of length ``2 M`` (2048):
:func:`sepkit.kernels.dictsep.peaks.template_spectra` transforms the templates once per
dictionary (once per training step), and every pursuit iteration calls
:func:`sepkit.kernels.dictsep.peaks.best_match_fft`: one forward FFT of the residual and one
inverse FFT per pair of instruments. This script times, in the same run and inside numba:

1. one complex FFT of length ``2 M``: the hand-written ``fft_inplace`` against rocket-fft's
   ``np.fft.fft`` (plus ``np.fft.rfft`` on the real input it really is);
2. the whole selector with the hand-written FFT (two correlations packed per complex
   inverse) against the same selector with rocket-fft (complex FFTs packed the same way),
   and sepkit's :func:`~sepkit.kernels.dictsep.peaks.best_match_fft` (rocket-fft real FFTs,
   one ``irfft`` per instrument), on real log frames of the synthetic two-instrument signal
   with the true dictionary (``C = 2``) and with ``C = 4`` and ``C = 8`` columns.

Each figure is the minimum over ``--repeats`` repeats of the mean time of ``--inner`` calls;
both implementations are checked to give the same answer first.

    python benchmarks/bench_dictsep_fft.py [--repeats 7] [--inner 2000] [--bins 1024]

Requires ``pip install rocket-fft``.
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np

from sepkit.kernels.dictsep.peaks import best_match_fft, template_spectra
from sepkit.kernels.dictsep.pursuit import render_templates
from sepkit.separation.dictsep import gaussian_stft, log_axis_lambda, log_spectrogram, synthetic_parts
from sepkit.separation.dictsep.synthetic import part_a_amplitudes, part_b_amplitudes

try:
    import rocket_fft  # noqa: F401  (registers numpy.fft / scipy.fft for numba)
except ImportError:  # pragma: no cover - the benchmark needs it
    rocket_fft = None


# -- the hand-written FFT and selector sepkit used before issue 10 (the reference measured) -------
@numba.njit
def fft_twiddles(n):
    """Twiddle factors ``exp(-2 pi i k / n)``, ``k < n / 2``, of :func:`fft_inplace`."""
    tw = np.empty(n // 2, dtype=np.complex128)
    for k in range(n // 2):
        ang = -2.0 * math.pi * k / n
        tw[k] = complex(math.cos(ang), math.sin(ang))
    return tw


@numba.njit
def fft_inplace(x, tw, inverse):
    """Iterative radix-2 FFT of ``x`` (length a power of two) in place, numpy's conventions."""
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


@numba.njit
def hand_template_spectra(templates, tw):
    """Complex FFTs (hand-written) and squared norms of the templates."""
    L, C = templates.shape
    spectra = np.empty((C, L), dtype=np.complex128)
    norms2 = np.zeros(C)
    for i in range(C):
        for z in range(L):
            spectra[i, z] = templates[z, i]
            norms2[i] += templates[z, i] ** 2
        fft_inplace(spectra[i], tw, False)
    return spectra, norms2


@numba.njit
def hand_best_match_fft(r, spectra, norms2, tw):
    """The selector with the hand-written FFT (two correlations per complex inverse)."""
    m = r.shape[0]
    L = 2 * m
    C = spectra.shape[0]
    rs = np.zeros(L, dtype=np.complex128)
    for x in range(m):
        rs[m + x] = r[x]
    fft_inplace(rs, tw, False)
    buf = np.empty(L, dtype=np.complex128)
    best = -np.inf
    bk = 0
    bi = 0
    for i0 in range(0, C, 2):
        i1 = i0 + 1
        for f in range(L):
            v = spectra[i0, f].conjugate() * rs[f]
            if i1 < C:
                v += 1j * (spectra[i1, f].conjugate() * rs[f])
            buf[f] = v
        fft_inplace(buf, tw, True)
        for i in (i0, i1):
            if i >= C or norms2[i] == 0.0:
                continue
            inv = 1.0 / math.sqrt(norms2[i])
            for k in range(m):
                val = (buf[k].real if i == i0 else buf[k].imag) * inv
                if val > best:
                    best = val
                    bk = k
                    bi = i
    if norms2[bi] == 0.0 or not best > 0.0:
        return bk, bi, 0.0
    return bk, bi, best / math.sqrt(norms2[bi])


# -- loops timed inside numba (no Python call overhead in the figures) ---------------------------
@numba.njit
def _loop_hand(x, tw, inner):
    buf = np.empty_like(x)
    acc = 0.0
    for _ in range(inner):
        buf[:] = x
        fft_inplace(buf, tw, False)
        acc += buf[1].real
    return acc


@numba.njit
def _loop_rocket(x, inner):
    acc = 0.0
    for _ in range(inner):
        acc += np.fft.fft(x)[1].real
    return acc


@numba.njit
def _loop_rocket_real(x, inner):
    acc = 0.0
    for _ in range(inner):
        acc += np.fft.rfft(x)[1].real
    return acc


@numba.njit
def _rocket_spectra(templates):
    L, C = templates.shape
    spectra = np.empty((C, L), dtype=np.complex128)
    norms2 = np.zeros(C)
    for i in range(C):
        col = np.ascontiguousarray(templates[:, i])
        spectra[i] = np.fft.fft(col)
        norms2[i] = np.sum(col * col)
    return spectra, norms2


@numba.njit
@numba.njit
def best_match_rocket(r, spectra, norms2):
    """sepkit's ``best_match_fft`` with rocket-fft's complex FFTs (two correlations per inverse)."""
    m = r.shape[0]
    L = 2 * m
    C = spectra.shape[0]
    rs = np.zeros(L, dtype=np.complex128)
    for x in range(m):
        rs[m + x] = r[x]
    rs = np.fft.fft(rs)
    buf = np.empty(L, dtype=np.complex128)
    best = -np.inf
    bk = 0
    bi = 0
    for i0 in range(0, C, 2):
        i1 = i0 + 1
        for f in range(L):
            v = spectra[i0, f].conjugate() * rs[f]
            if i1 < C:
                v += 1j * (spectra[i1, f].conjugate() * rs[f])
            buf[f] = v
        out = np.fft.ifft(buf)
        for i in (i0, i1):
            if i >= C or norms2[i] == 0.0:
                continue
            inv = 1.0 / math.sqrt(norms2[i])
            for k in range(m):
                val = (out[k].real if i == i0 else out[k].imag) * inv
                if val > best:
                    best = val
                    bk = k
                    bi = i
    if norms2[bi] == 0.0 or not best > 0.0:
        return bk, bi, 0.0
    return bk, bi, best / math.sqrt(norms2[bi])


@numba.njit
def _loop_select_hand(R, spectra, norms2, tw, inner):
    acc = 0
    for j in range(inner):
        k, i, c = hand_best_match_fft(R[j % R.shape[0]], spectra, norms2, tw)
        acc += k + i
    return acc


@numba.njit
def _loop_select_rocket(R, spectra, norms2, inner):
    acc = 0
    for j in range(inner):
        k, i, c = best_match_rocket(R[j % R.shape[0]], spectra, norms2)
        acc += k + i
    return acc


@numba.njit
def _loop_select_rocket_real(R, rspectra, norms2, inner):
    acc = 0
    for j in range(inner):
        k, i, c = best_match_fft(R[j % R.shape[0]], rspectra, norms2)
        acc += k + i
    return acc


def _best(fn, repeats, inner):
    fn()  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / inner)
    return min(times)


def _frames(n_bins, n_frames=16):
    """Real residuals: q-domain log frames (``Y ** 0.5``) of the synthetic mixture, one C-ordered row each."""
    part_a, part_b = synthetic_parts(seconds=0.5)
    mag = np.abs(gaussian_stft(part_a + part_b))[:, 20 : 20 + n_frames]
    Y = log_spectrogram(mag, 44100, n_bins=n_bins)
    return np.ascontiguousarray(np.sqrt(Y).T)


def _dictionary(columns, rng):
    D = np.stack([part_a_amplitudes(), part_b_amplitudes()], axis=1)
    D = D / D.max(axis=0)
    if columns > 2:
        D = np.concatenate([D, rng.random((25, columns - 2))], axis=1)
    return np.ascontiguousarray(D)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=2000)
    parser.add_argument("--bins", type=int, default=1024, help="log bins M (FFT length 2M)")
    args = parser.parse_args(argv)
    if rocket_fft is None:
        raise SystemExit("rocket-fft is not installed: pip install rocket-fft")
    numba.set_num_threads(1)
    L = 2 * args.bins
    rng = np.random.default_rng(0)
    x = rng.standard_normal(L) + 0j
    xr = np.ascontiguousarray(x.real)
    tw = fft_twiddles(L)
    ref = np.fft.fft(x)
    check = x.copy()
    fft_inplace(check, tw, False)
    assert np.allclose(check, ref, atol=1e-9 * np.abs(ref).max())
    print(f"sepkit {__import__('sepkit').__version__ if hasattr(__import__('sepkit'), '__version__') else ''}, "
          f"numba {numba.__version__}, rocket-fft {getattr(rocket_fft, '__version__', '?')}; 1 numba thread; "
          f"min over {args.repeats} repeats of the mean of {args.inner} calls")
    print(f"\n1. one FFT of length {L} (complex input; rfft on the real input it is)")
    hand = _best(lambda: _loop_hand(x, tw, args.inner), args.repeats, args.inner)
    rocket = _best(lambda: _loop_rocket(x, args.inner), args.repeats, args.inner)
    rocket_real = _best(lambda: _loop_rocket_real(xr, args.inner), args.repeats, args.inner)
    print(f"   hand-written fft_inplace   {hand * 1e6:8.2f} us")
    print(f"   rocket-fft np.fft.fft      {rocket * 1e6:8.2f} us   ratio hand / rocket {hand / rocket:5.2f}")
    print(f"   rocket-fft np.fft.rfft     {rocket_real * 1e6:8.2f} us   ratio hand / rocket {hand / rocket_real:5.2f}")

    R = _frames(args.bins)
    lam = log_axis_lambda(args.bins)
    print(f"\n2. matched-filter selector on {R.shape[0]} real log frames (M = {args.bins}), per call")
    for columns in (2, 4, 8):
        D = _dictionary(columns, rng)
        templates = render_templates(D, args.bins, lam, 6 / math.pi, 0.5)
        spectra, norms2 = hand_template_spectra(templates, tw)
        r_spectra, r_norms2 = _rocket_spectra(templates)
        rr_spectra, _ = template_spectra(templates)
        Rc = R
        for j in range(R.shape[0]):
            col = R[j]
            a = hand_best_match_fft(col, spectra, norms2, tw)
            b = best_match_rocket(col, r_spectra, r_norms2)
            c = best_match_fft(col, rr_spectra, r_norms2)
            assert a[:2] == b[:2] == c[:2] and np.isclose(a[2], b[2]) and np.isclose(a[2], c[2])
        hand = _best(lambda: _loop_select_hand(Rc, spectra, norms2, tw, args.inner), args.repeats, args.inner)
        rocket = _best(lambda: _loop_select_rocket(Rc, r_spectra, r_norms2, args.inner), args.repeats, args.inner)
        rocket_real = _best(lambda: _loop_select_rocket_real(Rc, rr_spectra, r_norms2, args.inner), args.repeats,
                            args.inner)
        fastest = min(rocket, rocket_real)
        print(f"   C = {columns}: hand-written {hand * 1e6:8.2f} us   rocket-fft complex {rocket * 1e6:8.2f} us   "
              f"sepkit (rocket-fft real) {rocket_real * 1e6:8.2f} us   ratio hand / best rocket {hand / fastest:5.2f}")


if __name__ == "__main__":
    main()
