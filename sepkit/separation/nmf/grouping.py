"""Grouping NMF components into sources (blind NMF).

:func:`group_components` assigns each of the K components of ``V ~ W @ H`` to one of
``num_sources`` sources, by one of:

``'mfcc-kmeans'``
    timbre clustering (Spiertz & Gnann, DAFx 2009): each template is mel-filtered
    (:func:`mel_filterbank`, equal to :func:`librosa.filters.mel`), log-compressed and
    turned into MFCCs by an orthonormal DCT-II; the first coefficient (the template's level)
    is dropped and KMeans clusters the rest. Unlike nussl v1's ``NMF_MFCC``, the templates really go through a mel
    filterbank and a log before the DCT.
``'centroid'``
    pitch register: the spectral centroid of each template, clustered on a log-frequency
    axis into ``num_sources`` contiguous groups by exact 1-D k-means.
``'percussiveness'``
    for templates learned on the stacked ``[percussive; harmonic]`` spectrogram (2F rows,
    see :class:`~sepkit.separation.nmf.NMF` with ``grouping='percussiveness'``): the share
    ``p_k`` of template k's mass in the percussive half; ``p_k >= 0.25`` makes it
    percussive (source 0), otherwise harmonic (source 1) (Dittmar, Lopez-Serrano &
    Mueller, ICASSP 2018).
callable
    ``f(W, H) -> labels``, any user rule returning one source index per component.

Sources come out ordered by register: for ``'mfcc-kmeans'`` and ``'centroid'``, source 0
has the lowest mean log-centroid (so the bass first), which makes results deterministic
and comparable between runs.
"""

from __future__ import annotations

import numpy as np

from ...core import SeparationError
from ...core.validation import check_int, check_positive
from .base import validate_groups

__all__ = [
    "GROUPINGS",
    "PERCUSSIVE_THRESHOLD",
    "group_components",
    "template_mfccs",
    "mel_filterbank",
    "spectral_centroids",
    "percussiveness",
]

#: Names of the built-in grouping rules.
GROUPINGS = ("mfcc-kmeans", "centroid", "percussiveness")
#: Percussiveness at or above which a component is percussive (libnmfd's demos).
PERCUSSIVE_THRESHOLD = 0.25


def spectral_centroids(W: np.ndarray, sample_rate: float, n_fft: int) -> np.ndarray:
    """Spectral centroid in Hz of every template.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Nonnegative templates over the ``F = n_fft // 2 + 1`` bins of an STFT.
    sample_rate : float
    n_fft : int

    Returns
    -------
    numpy.ndarray of float64, shape (K,)
        ``sum_f f W[f, k] / sum_f W[f, k]``; 0 for an all-zero template.
    """
    freqs = np.arange(W.shape[0]) * (float(sample_rate) / n_fft)
    mass = W.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (freqs @ W) / mass
    return np.where(mass > 0, c, 0.0)

# Slaney's mel scale (Auditory Toolbox): linear below 1 kHz (3 mel per 200 Hz), logarithmic
# above (27 mel per factor 6.4).
_MEL_HZ_STEP = 200.0 / 3
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_HZ_STEP
_MEL_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_HZ_STEP
    with np.errstate(divide="ignore"):
        log = _MEL_BREAK + np.log(np.maximum(hz, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_BREAK_HZ, log, linear)


def _mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _MEL_HZ_STEP
    log = _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (np.maximum(mel, _MEL_BREAK) - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, log, linear)


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """Slaney's triangular mel filterbank from 0 Hz to Nyquist, area-normalised.

    The ``n_mels + 2`` band edges are equally spaced on Slaney's mel scale (linear below
    1 kHz, logarithmic above); filter ``m`` rises linearly from edge ``m`` to edge
    ``m + 1`` and falls to edge ``m + 2``, and is scaled by ``2 / (f_{m+2} - f_m)`` (Hz) so
    that every filter has the same area. This equals
    ``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, dtype=numpy.float64)``
    (tested to 1e-12) without importing librosa.

    Parameters
    ----------
    sample_rate : float
        In Hz (> 0).
    n_fft : int
        FFT length (>= 2); the bins are ``k * sample_rate / n_fft`` Hz, ``k = 0 .. n_fft // 2``.
    n_mels : int, default 128
        Number of bands (>= 1).

    Returns
    -------
    numpy.ndarray of float64, shape (n_mels, n_fft // 2 + 1)
        Nonnegative weights.
    """
    sample_rate = check_positive("sample_rate", sample_rate, error=SeparationError)
    n_fft = check_int("n_fft", n_fft, 2, error=SeparationError)
    n_mels = check_int("n_mels", n_mels, 1, error=SeparationError)
    bin_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    offsets = edges[:, None] - bin_hz[None, :]  # (n_mels + 2, n_freq): edge minus bin, Hz
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def template_mfccs(W: np.ndarray, sample_rate: float, n_fft: int, n_mels: int = 40, n_mfcc: int = 13) -> np.ndarray:
    """MFCCs of templates, without the level coefficient c0.

    Each template is mel-filtered (:func:`mel_filterbank`, ``n_mels`` Slaney bands up
    to the Nyquist frequency), log-compressed (``log10`` with a floor of ``1e-8`` times the
    template's largest band, so silent bands do not dominate), and transformed by an
    orthonormal DCT-II along the bands; coefficients 1 to ``n_mfcc`` are kept. Scaling a
    template only changes c0, so the features do not depend on the component's level.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Nonnegative templates, ``F = n_fft // 2 + 1``.
    sample_rate : float
    n_fft : int
    n_mels : int, default 40
    n_mfcc : int, default 13

    Returns
    -------
    numpy.ndarray of float64, shape (K, n_mfcc)
    """
    import scipy.fft

    mel = mel_filterbank(sample_rate, n_fft, n_mels) @ W
    top = mel.max(axis=0, keepdims=True)
    top = np.where(top > 0, top, 1.0)
    logmel = np.log10(np.maximum(mel, 1e-8 * top))
    coeffs = scipy.fft.dct(logmel, type=2, norm="ortho", axis=0)
    return np.ascontiguousarray(coeffs[1 : n_mfcc + 1].T)


def percussiveness(W: np.ndarray) -> np.ndarray:
    """Share of each stacked template's mass in its first (percussive) half.

    Parameters
    ----------
    W : numpy.ndarray, shape (2F, K)
        Templates learned on ``[percussive; harmonic]`` spectrograms stacked along
        frequency.

    Returns
    -------
    numpy.ndarray of float64, shape (K,)
        ``p_k`` in [0, 1] (0.5 for an all-zero template).
    """
    F = W.shape[0] // 2
    top = W[:F].sum(axis=0)
    total = W.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, top / total, 0.5)


def _kmeans_1d(x: np.ndarray, k: int) -> np.ndarray:
    """Exact 1-D k-means (least squares, contiguous groups of the sorted values) by dynamic programming.

    Returns labels 0..k-1, group 0 holding the smallest values; every group nonempty.
    """
    order = np.argsort(x, kind="stable")
    xs = x[order]
    n = xs.size
    c1 = np.concatenate([[0.0], np.cumsum(xs)])
    c2 = np.concatenate([[0.0], np.cumsum(xs * xs)])

    def sse(i, j):  # values xs[i:j]
        m = j - i
        s = c1[j] - c1[i]
        return c2[j] - c2[i] - s * s / m

    cost = np.full((k + 1, n + 1), np.inf)
    arg = np.zeros((k + 1, n + 1), dtype=np.int64)
    cost[0, 0] = 0.0
    for g in range(1, k + 1):
        for j in range(g, n + 1):
            best, where = np.inf, g - 1
            for i in range(g - 1, j):
                c = cost[g - 1, i] + sse(i, j)
                if c < best:
                    best, where = c, i
            cost[g, j], arg[g, j] = best, where
    labels_sorted = np.empty(n, dtype=np.int64)
    j = n
    for g in range(k, 0, -1):
        i = arg[g, j]
        labels_sorted[i:j] = g - 1
        j = i
    labels = np.empty(n, dtype=np.int64)
    labels[order] = labels_sorted
    return labels


def _fill_empty(labels: np.ndarray, features: np.ndarray, num_sources: int) -> np.ndarray:
    """Give every empty cluster the component farthest from its centre among clusters of two or more."""
    labels = labels.copy()
    for s in range(num_sources):
        if np.any(labels == s):
            continue
        best, best_d = -1, -1.0
        for c in range(num_sources):
            members = np.flatnonzero(labels == c)
            if members.size < 2:
                continue
            centre = features[members].mean(axis=0)
            d = np.linalg.norm(features[members] - centre, axis=1)
            i = int(np.argmax(d))
            if d[i] > best_d:
                best, best_d = int(members[i]), float(d[i])
        labels[best] = s
    return labels


def _order_by_register(labels, W, num_sources, sample_rate, n_fft):
    """Relabel so that source 0 has the lowest mean log-centroid of its templates."""
    logc = np.log(np.maximum(spectral_centroids(W, sample_rate, n_fft), 1e-3))
    means = np.array([logc[labels == s].mean() for s in range(num_sources)])
    rank = np.empty(num_sources, dtype=np.int64)
    rank[np.argsort(means, kind="stable")] = np.arange(num_sources)
    return rank[labels]


def group_components(W, H, num_sources, method="mfcc-kmeans", sample_rate=44100, n_fft=2048, seed=None) -> np.ndarray:
    """Assign each NMF component to a source.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Nonnegative templates, ``F = n_fft // 2 + 1`` (``2F`` stacked rows for
        ``'percussiveness'``).
    H : numpy.ndarray, shape (K, N)
        Activations (used by callables only).
    num_sources : int
        Number of sources S, ``1 <= S <= K``.
    method : {'mfcc-kmeans', 'centroid', 'percussiveness'} or callable
        Grouping rule (see the module documentation); a callable ``f(W, H)`` returns an
        integer label per component.
    sample_rate : float
        Sample rate of the analysed audio in Hz.
    n_fft : int
        STFT window length.
    seed : int or numpy.random.Generator, optional
        Randomness of KMeans (``'mfcc-kmeans'``); the others are deterministic.

    Returns
    -------
    numpy.ndarray of int64, shape (K,)
        Source index of every component; every source gets at least one.

    Raises
    ------
    SeparationError
        For an unknown method, ``num_sources`` above K, ``'percussiveness'`` with
        ``num_sources != 2`` or templates that are not stacked, or a callable whose labels
        are not one integer in ``[0, num_sources)`` per component covering every source.

    Notes
    -----
    KMeans (``n_init=10``) can leave a cluster empty when templates coincide; each empty
    source then receives the component farthest from the centre of its cluster (taken
    from a cluster of at least two). ``'percussiveness'`` likewise gives an empty side
    the component with the most extreme percussiveness (largest for the percussive
    source, smallest for the harmonic one).
    """
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0]:
        raise SeparationError(f"W (F, K) and H (K, N) do not match: shapes {W.shape} and {H.shape}")
    K = W.shape[1]
    num_sources = check_int("num_sources", num_sources, 1, error=SeparationError)
    if num_sources > K:
        raise SeparationError(
            f"cannot group {K} components into {num_sources} sources: need n_components >= num_sources"
        )
    if callable(method):
        return validate_groups(method(W.copy(), H.copy()), K, num_sources)
    if method not in GROUPINGS:
        raise SeparationError(f"grouping must be one of {GROUPINGS} or a callable f(W, H) -> labels, got {method!r}")
    if num_sources == 1:
        return np.zeros(K, dtype=np.int64)
    F = int(n_fft) // 2 + 1
    if method == "percussiveness":
        if num_sources != 2:
            raise SeparationError(
                "grouping='percussiveness' splits percussive from harmonic sounds: "
                f"num_sources must be 2, got {num_sources}"
            )
        if W.shape[0] != 2 * F:
            raise SeparationError(
                f"grouping='percussiveness' needs templates of the stacked [percussive; harmonic] spectrogram "
                f"with 2 * {F} = {2 * F} rows, got {W.shape[0]}"
            )
        p = percussiveness(W)
        labels = np.where(p >= PERCUSSIVE_THRESHOLD, 0, 1).astype(np.int64)
        if not np.any(labels == 0):
            labels[int(np.argmax(p))] = 0
        if not np.any(labels == 1):
            labels[int(np.argmin(p))] = 1
        return validate_groups(labels, K, num_sources)
    if W.shape[0] != F:
        raise SeparationError(f"templates have {W.shape[0]} bins but n_fft={n_fft} gives {F}")
    if method == "centroid":
        logc = np.log(np.maximum(spectral_centroids(W, sample_rate, n_fft), 1e-3))
        labels = _kmeans_1d(logc, num_sources)
        return validate_groups(labels, K, num_sources)
    from sklearn.cluster import KMeans

    features = template_mfccs(W, sample_rate, n_fft)
    if isinstance(seed, np.random.Generator):
        random_state = int(seed.integers(2**31 - 1))
    elif seed is None:
        random_state = 0
    else:
        random_state = int(seed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "fewer distinct clusters than n_clusters": handled below
        labels = KMeans(n_clusters=num_sources, n_init=10, random_state=random_state).fit_predict(features)
    labels = _fill_empty(labels.astype(np.int64), features, num_sources)
    labels = _order_by_register(labels, W, num_sources, sample_rate, n_fft)
    return validate_groups(labels, K, num_sources)
