"""Kernels of BSS Eval (v3 and v4): block cross-spectra, Gram assembly, per-frame energies
and energies of the projections.

Notation shared by every kernel (``K = n_sources * n_channels`` flattened signals, ``L``
filter taps, source-major: signal ``k = j * n_channels + c``):

* ``corr[a, b, L - 1 + d] = sum_n x_b[n + d] x_a[n]`` for lags ``|d| < L``: the
  cross-correlations of the zero-padded references (computed by the caller with FFTs);
* ``corr`` is the inverse FFT of cross-spectra summed over blocks of the signals
  (:func:`accumulate_cross_spectra`, overlap-save);
* the Gram matrix of the delayed references, row ``b * L + p`` and column ``a * L + q``
  holding ``<x_b delayed by p, x_a delayed by q> = corr[a, b, L - 1 + q - p]``; this is
  museval's layout, so that filters solved on it are directly comparable;
* spectra are ``rfft``'s of zero-padded frames of length ``n_fft >= frame + L - 1``, so
  linear filtering is exact and energies follow from Parseval's identity with the
  one-sided ``weights`` (``1 / n_fft`` for DC and Nyquist, ``2 / n_fft`` elsewhere).

Outputs are allocated by the caller with numpy and filled in place.
"""

import numba

__all__ = ["accumulate_cross_spectra", "frame_energies", "projection_energies", "toeplitz_gram"]


@numba.njit(parallel=True, cache=True)
def toeplitz_gram(corr, filters_len, gram):
    """Assemble the block-Toeplitz Gram matrix of delayed signals from their correlations.

    Parameters
    ----------
    corr : numpy.ndarray of float64, shape (K, K, 2 * filters_len - 1)
        ``corr[a, b, filters_len - 1 + d] = sum_n x_b[n + d] x_a[n]``; only ``a <= b`` is
        read (the other half follows by symmetry).
    filters_len : int
        Number of delays ``L`` (0 .. L - 1).
    gram : numpy.ndarray of float64, shape (K * L, K * L)
        Output: ``gram[b * L + p, a * L + q] = corr[a, b, L - 1 + q - p]``.
    """
    n_sig = corr.shape[0]
    L = filters_len
    for ab in numba.prange(n_sig * n_sig):
        a = ab // n_sig
        b = ab % n_sig
        if a > b:
            continue
        for p in range(L):
            for q in range(L):
                value = corr[a, b, L - 1 + q - p]
                gram[b * L + p, a * L + q] = value
                gram[a * L + q, b * L + p] = value


@numba.njit(parallel=True, cache=True)
def frame_energies(references, estimates, pairs, starts, length, ref_energy, est_energy, dist_energy):
    """Per-frame energies of references, estimates and of their differences.

    Parameters
    ----------
    references : numpy.ndarray of float64, shape (n_sources, n_channels, n_samples)
    estimates : numpy.ndarray of float64, shape (n_estimates, n_channels, n_samples)
    pairs : numpy.ndarray of int64, shape (n_pairs, 2)
        ``(reference, estimate)`` index pairs for ``dist_energy``.
    starts : numpy.ndarray of int64, shape (n_frames,)
        First sample of each frame.
    length : int
        Frame length in samples (every frame is ``[start, start + length)``).
    ref_energy : numpy.ndarray of float64, shape (n_sources, n_frames)
        Output: ``sum_{c, n} references[j, c, n] ** 2`` per frame.
    est_energy : numpy.ndarray of float64, shape (n_estimates, n_frames)
        Output: same for the estimates.
    dist_energy : numpy.ndarray of float64, shape (n_pairs, n_frames)
        Output: ``sum_{c, n} (estimates[e] - references[j]) ** 2`` per frame and pair.
    """
    n_src, n_chan, _ = references.shape
    n_est = estimates.shape[0]
    n_frames = starts.shape[0]
    n_pairs = pairs.shape[0]
    for job in numba.prange((n_src + n_est + n_pairs) * n_frames):
        t = job % n_frames
        k = job // n_frames
        start = starts[t]
        total = 0.0
        if k < n_src:
            for c in range(n_chan):
                for n in range(start, start + length):
                    v = references[k, c, n]
                    total += v * v
            ref_energy[k, t] = total
        elif k < n_src + n_est:
            e = k - n_src
            for c in range(n_chan):
                for n in range(start, start + length):
                    v = estimates[e, c, n]
                    total += v * v
            est_energy[e, t] = total
        else:
            p = k - n_src - n_est
            j = pairs[p, 0]
            e = pairs[p, 1]
            for c in range(n_chan):
                for n in range(start, start + length):
                    v = estimates[e, c, n] - references[j, c, n]
                    total += v * v
            dist_energy[p, t] = total


@numba.njit(parallel=True, cache=True)
def projection_energies(ref_spec, est_spec, filt_all, filt_own, pairs, weights, out):
    """Energies of the BSS Eval decomposition of one frame, from spectra (Parseval).

    For the pair ``(j, e)`` (reference ``j``, estimate ``e``), with ``R`` the reference
    spectra, ``E`` the estimate spectra and the filter spectra ``H``::

        P_all[c] = sum_{i, c'} R[i, c'] * filt_all[e, i, c', c]   # projection on all refs
        P_own[c] = sum_{c'} R[j, c'] * filt_own[p, c', c]          # projection on ref j

    Parameters
    ----------
    ref_spec : numpy.ndarray of complex128, shape (n_sources, n_channels, n_freq)
    est_spec : numpy.ndarray of complex128, shape (n_estimates, n_channels, n_freq)
    filt_all : numpy.ndarray of complex128, shape (n_estimates, n_sources, n_channels, n_channels, n_freq)
        Spectra of the filters projecting each estimate on the span of all references
        (indexed ``[e, i, c_in, c_out]``); only the estimates named in ``pairs`` are read.
    filt_own : numpy.ndarray of complex128, shape (n_pairs, n_channels, n_channels, n_freq)
        Spectra of the filters projecting estimate ``e`` on reference ``j`` alone.
    pairs : numpy.ndarray of int64, shape (n_pairs, 2)
        ``(j, e)`` pairs.
    weights : numpy.ndarray of float64, shape (n_freq,)
        Parseval weights of the one-sided spectrum.
    out : numpy.ndarray of float64, shape (n_pairs, 6)
        Output, per pair: ``|P_own|^2``, ``|P_own - s|^2``, ``|P_all - P_own|^2``,
        ``|e - P_all|^2``, ``|P_all|^2``, ``|e - P_own|^2`` (sums over channels and
        samples of the zero-padded frame; ``s`` the reference, ``e`` the estimate).
    """
    n_src, n_chan, n_freq = ref_spec.shape
    n_pairs = pairs.shape[0]
    for p in numba.prange(n_pairs):
        j = pairs[p, 0]
        e = pairs[p, 1]
        own = 0.0
        spat = 0.0
        interf = 0.0
        artif = 0.0
        proj = 0.0
        dist = 0.0
        for c in range(n_chan):
            for f in range(n_freq):
                p_all = 0j
                for i in range(n_src):
                    for ci in range(n_chan):
                        p_all += ref_spec[i, ci, f] * filt_all[e, i, ci, c, f]
                p_own = 0j
                for ci in range(n_chan):
                    p_own += ref_spec[j, ci, f] * filt_own[p, ci, c, f]
                w = weights[f]
                x = est_spec[e, c, f]
                d = p_own - ref_spec[j, c, f]
                own += w * (p_own.real * p_own.real + p_own.imag * p_own.imag)
                spat += w * (d.real * d.real + d.imag * d.imag)
                d = p_all - p_own
                interf += w * (d.real * d.real + d.imag * d.imag)
                d = x - p_all
                artif += w * (d.real * d.real + d.imag * d.imag)
                proj += w * (p_all.real * p_all.real + p_all.imag * p_all.imag)
                d = x - p_own
                dist += w * (d.real * d.real + d.imag * d.imag)
        out[p, 0] = own
        out[p, 1] = spat
        out[p, 2] = interf
        out[p, 3] = artif
        out[p, 4] = proj
        out[p, 5] = dist


@numba.njit(parallel=True, cache=True)
def accumulate_cross_spectra(ext_spec, plain_spec, n_sym, out):
    """Add ``ext_spec[t, b] * conj(plain_spec[t, a])`` over blocks ``t`` into ``out[b, a]``.

    Summing these block products and inverting once gives the correlations of long
    signals at short lags (overlap-save), without transforms of the whole signal.

    Parameters
    ----------
    ext_spec : numpy.ndarray of complex128, shape (n_blocks, n_ext, n_freq)
        Spectra of the extended blocks (block plus ``L - 1`` samples on each side).
    plain_spec : numpy.ndarray of complex128, shape (n_blocks, n_plain, n_freq)
        Spectra of the plain blocks.
    n_sym : int
        For ``a < n_sym`` only ``a <= b`` is computed (the Gram matrix is symmetric).
    out : numpy.ndarray of complex128, shape (n_ext, n_plain, n_freq)
        Accumulated in place.
    """
    n_blocks, n_ext, n_freq = ext_spec.shape
    n_plain = plain_spec.shape[1]
    for job in numba.prange(n_ext * n_plain):
        b = job // n_plain
        a = job % n_plain
        if a < n_sym and a > b:
            continue
        for t in range(n_blocks):
            for f in range(n_freq):
                x = ext_spec[t, b, f]
                y = plain_spec[t, a, f]
                out[b, a, f] += complex(x.real * y.real + x.imag * y.imag, x.imag * y.real - x.real * y.imag)
