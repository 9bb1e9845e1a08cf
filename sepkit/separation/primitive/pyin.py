"""pYIN: probabilistic YIN f0 tracking (Mauch and Dixon 2014), sepkit's own implementation.

The algorithm and its output are those of ``librosa.pyin`` (librosa 0.11), which follows
the authors' pYIN software rather than the paper where they differ; this module does not
import librosa (whose import and first pYIN call compile about 50 s of numba code on an
empty cache). The steps:

1. **YIN.** Frames of ``frame_length`` samples every ``hop_length`` (centred by padding),
   the cumulative-mean-normalised difference ``d'(tau)`` of each frame for the periods
   ``tau`` from ``floor(sr / fmax)`` to ``ceil(sr / fmin)``, the difference computed from
   the autocorrelation (FFT) and the running energy.
2. **Candidates.** The troughs of ``d'`` (local minima) are the period candidates, refined
   by a parabola through each trough and its neighbours. For each of ``n_thresholds``
   thresholds (weighted by a beta distribution), the troughs below the threshold share
   its weight with a Boltzmann prior favouring short periods; if none is below it, the
   global minimum gets ``no_trough_prob`` of it. The sum of a frame's weights is its
   voicing probability.
3. **HMM.** The states are the pitch bins (``resolution`` semitones, from ``fmin``), once
   voiced, once unvoiced. A voiced state observes its candidates' weight; each unvoiced
   one observes ``(1 - voicing probability) / n_pitch_bins``. Pitch moves at most
   ``max_transition_rate`` octaves per second with a triangular profile, and the voicing
   switches with ``switch_prob``. Viterbi decoding
   (:func:`sepkit.kernels.viterbi.banded_viterbi`, which visits only the band of each
   state) gives the track.

References
----------
M. Mauch, S. Dixon, "pYIN: A fundamental frequency estimator using probabilistic threshold
distributions", ICASSP 2014. A. de Cheveigné, H. Kawahara, "YIN, a fundamental frequency
estimator for speech and music", JASA 111(4), 2002.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.fft

from ...core import SeparationError
from ...core.validation import check_array, check_bool, check_choice, check_int, check_real, is_real

__all__ = ["pyin"]

_PAD_MODES = ("constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum", "reflect",
              "symmetric", "wrap")
_TINY = np.finfo(np.float64).tiny  # added before logs and divisions, as librosa does


def pyin(y, fmin, fmax, sr=22050, frame_length=2048, hop_length=None, n_thresholds=100, beta_parameters=(2, 18),
         boltzmann_parameter=2, resolution=0.1, max_transition_rate=35.92, switch_prob=0.01, no_trough_prob=0.01,
         fill_na=np.nan, center=True, pad_mode="constant"):
    """The f0 track of a monophonic signal by pYIN, equal to ``librosa.pyin``.

    Parameters
    ----------
    y : array_like of float, shape (n_samples,)
        The signal (one channel). Computed in float64.
    fmin, fmax : float
        Range of f0 in Hz: ``0 < fmin < fmax <= sr / 2``, and a period of ``fmin`` must fit
        in a frame (``sr / fmin < frame_length - 1``; a warning below two periods).
    sr : float
        Sample rate of ``y`` in Hz.
    frame_length : int
        Frame length in samples.
    hop_length : int or None
        Samples between frames; None: ``frame_length // 4``.
    n_thresholds : int
        Number of YIN thresholds, evenly spaced in (0, 1].
    beta_parameters : (float, float)
        Shape parameters (a, b > 0) of the beta distribution weighting the thresholds.
    boltzmann_parameter : float
        Shape (> 0) of the Boltzmann prior over the troughs below a threshold (higher: more
        weight to the shortest period).
    resolution : float
        In (0, 1): width of a pitch bin in semitones.
    max_transition_rate : float
        Fastest pitch change in octaves per second (> 0).
    switch_prob : float
        In (0, 1): probability of switching between voiced and unvoiced from one frame to the next.
    no_trough_prob : float
        In [0, 1]: share of a threshold's weight given to the global minimum when no trough is below it.
    fill_na : float or None
        f0 of unvoiced frames (NaN by default); None keeps the decoded pitch (a best guess).
    center : bool
        Pad ``frame_length // 2`` samples on each side so that frame ``t`` is centred on
        sample ``t * hop_length``.
    pad_mode : str
        :func:`numpy.pad` mode for that padding (``'constant'``: zeros).

    Returns
    -------
    f0 : numpy.ndarray of float64, shape (n_frames,)
        Hz; ``fill_na`` where unvoiced (unless it is None).
    voiced_flag : numpy.ndarray of bool, shape (n_frames,)
        Whether the decoded state is voiced.
    voiced_prob : numpy.ndarray of float64, shape (n_frames,)
        Voicing probability of each frame, in [0, 1].

    Raises
    ------
    SeparationError
        For a bad argument (named in the message), or a signal shorter than a frame.

    Notes
    -----
    ``n_frames = 1 + (n_samples + 2 (frame_length // 2) - frame_length) // hop_length``
    with ``center``, ``1 + (n_samples - frame_length) // hop_length`` without. The input is
    not modified. The Viterbi decoding keeps only the transitions inside the pitch band
    plus the best transition outside it (the dense matrix's zero entries become
    ``log(tiny)``, the same value librosa gives them), so it decodes librosa's path
    (barring exact ties between the scores of different paths).
    """
    args = _check_arguments(y, fmin, fmax, sr, frame_length, hop_length, n_thresholds, beta_parameters,
                            boltzmann_parameter, resolution, max_transition_rate, switch_prob, no_trough_prob,
                            fill_na, center, pad_mode)
    y, sr, hop_length = args["y"], args["sr"], args["hop_length"]
    fmin, fmax = args["fmin"], args["fmax"]
    frames = _frames(y, frame_length, hop_length, args["center"], args["pad_mode"])
    min_period = int(np.floor(sr / fmax))
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 1)
    yin = _cumulative_mean_normalized_difference(frames, min_period, max_period)
    shifts = _parabolic_shifts(yin)

    bins_per_semitone = int(np.ceil(1.0 / args["resolution"]))
    n_pitch = int(np.floor(12 * bins_per_semitone * np.log2(fmax / fmin))) + 1
    semitones_per_frame = round(args["max_transition_rate"] * 12 * hop_length / sr)
    width = semitones_per_frame * bins_per_semitone + 1
    if n_pitch < 2 or width > n_pitch:
        raise SeparationError(
            f"fmin={fmin!r} and fmax={fmax!r} give {n_pitch} pitch bins, fewer than the {width} of a pitch "
            f"transition (max_transition_rate={max_transition_rate!r}, hop_length={hop_length}): widen the range"
        )
    observation, voiced_prob = _observations(
        yin, shifts, sr, fmin, min_period, n_pitch, bins_per_semitone, args["n_thresholds"],
        args["beta_parameters"], args["boltzmann_parameter"], args["no_trough_prob"],
    )
    log_stay, log_switch, log_zero = _log_transitions(n_pitch, width, args["switch_prob"])
    log_obs = np.ascontiguousarray(np.log(observation + _TINY).T)  # (n_frames, 2 n_pitch)
    log_init = np.log(np.full(2 * n_pitch, 1.0 / (2 * n_pitch)) + _TINY)

    from ...kernels.viterbi import banded_viterbi  # numba compiles on first use only

    states = banded_viterbi(log_obs, log_init, log_stay, log_switch, log_zero)
    freqs = fmin * 2 ** (np.arange(n_pitch) / (12 * bins_per_semitone))
    f0 = freqs[states % n_pitch]
    voiced_flag = states < n_pitch
    if args["fill_na"] is not None:
        f0[~voiced_flag] = args["fill_na"]
    return f0, voiced_flag, voiced_prob


def _check_arguments(y, fmin, fmax, sr, frame_length, hop_length, n_thresholds, beta_parameters,
                     boltzmann_parameter, resolution, max_transition_rate, switch_prob, no_trough_prob,
                     fill_na, center, pad_mode) -> dict:
    """The checked arguments of :func:`pyin` by name, or a SeparationError naming the bad one."""
    err = SeparationError
    out = {"y": check_array("y", y, ndim=1, dtype=np.float64, what="signal", error=err)}
    out["sr"] = sr = check_real("sr", sr, 0.0, inclusive=False, error=err)
    frame_length = check_int("frame_length", frame_length, 3, error=err)
    hop = frame_length // 4 if hop_length is None else hop_length
    out["hop_length"] = check_int("hop_length", hop, 1, error=err)
    out["fmin"] = fmin = check_real("fmin", fmin, 0.0, inclusive=False, error=err)
    out["fmax"] = check_real("fmax", fmax, fmin, sr / 2, error=err)
    if out["fmax"] == fmin:
        raise err(f"fmax must be > fmin={fmin!r}, got {fmax!r}")
    if sr / fmin >= frame_length - 1:
        raise err(
            f"fmin={fmin!r} is too low for frame_length={frame_length} at sr={sr:g}: a period of fmin must fit "
            f"in a frame (fmin > {sr / (frame_length - 1):.3f} Hz or frame_length >= {int(np.ceil(sr / fmin)) + 1})"
        )
    if sr / fmin >= frame_length // 2:
        warnings.warn(f"pyin: fewer than two periods of fmin={fmin!r} Hz fit in frame_length={frame_length} "
                      f"samples at sr={sr:g}; the low pitches may be inaccurate", UserWarning, stacklevel=3)
    out["n_thresholds"] = check_int("n_thresholds", n_thresholds, 1, error=err)
    if not (isinstance(beta_parameters, (tuple, list)) and len(beta_parameters) == 2
            and all(is_real(b) and b > 0 and np.isfinite(b) for b in beta_parameters)):
        raise err(f"beta_parameters must be two positive numbers (a, b), got {beta_parameters!r}")
    out["beta_parameters"] = tuple(float(b) for b in beta_parameters)
    out["boltzmann_parameter"] = check_real("boltzmann_parameter", boltzmann_parameter, 0.0, inclusive=False,
                                            error=err)
    out["resolution"] = check_real("resolution", resolution, 0.0, 1.0, inclusive=False, error=err)
    out["max_transition_rate"] = check_real("max_transition_rate", max_transition_rate, 0.0, inclusive=False,
                                            error=err)
    out["switch_prob"] = check_real("switch_prob", switch_prob, 0.0, 1.0, inclusive=False, error=err)
    out["no_trough_prob"] = check_real("no_trough_prob", no_trough_prob, 0.0, 1.0, error=err)
    if fill_na is not None and not is_real(fill_na):
        raise err(f"fill_na must be None or a number (NaN allowed), got {fill_na!r}")
    out["fill_na"] = fill_na
    out["center"] = check_bool("center", center, error=err)
    out["pad_mode"] = check_choice("pad_mode", pad_mode, _PAD_MODES, case_sensitive=True, error=err)
    n_samples = out["y"].size + (2 * (frame_length // 2) if out["center"] else 0)
    if n_samples < frame_length:
        raise err(f"y has {out['y'].size} samples, too few for one frame of frame_length={frame_length}"
                  + (" (with centring)" if out["center"] else ""))
    return out


def _frames(y, frame_length: int, hop_length: int, center: bool, pad_mode: str) -> np.ndarray:
    """The frames of ``y`` as a read-only view, shape (frame_length, n_frames) (one frame per column)."""
    if center:
        y = np.pad(y, frame_length // 2, mode=pad_mode)
    windows = np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length]  # (n_frames, frame_length)
    # Columns as frames (the layout librosa's framing gives) so that the FFTs below run
    # along the same axis of the same memory layout, and round identically.
    return windows.T


def _cumulative_mean_normalized_difference(frames, min_period: int, max_period: int) -> np.ndarray:
    """YIN's ``d'(tau)`` of each frame for ``tau = min_period .. max_period``.

    Parameters
    ----------
    frames : numpy.ndarray of float64, shape (frame_length, n_frames)
    min_period, max_period : int
        Periods in samples, ``1 <= min_period <= max_period < frame_length``.

    Returns
    -------
    numpy.ndarray of float64, shape (max_period - min_period + 1, n_frames)
        Dimensionless; near 0 at the period of a periodic frame.
    """
    frame_length = frames.shape[0]
    # Autocorrelation by FFT of the zero-padded frames (numpy.fft, as librosa's default).
    n_fft = scipy.fft.next_fast_len(2 * frame_length - 1, real=True)
    spectrum = np.fft.rfft(frames, n=n_fft, axis=0)
    acf = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=n_fft, axis=0)[: max_period + 1]
    energy = np.cumsum(np.square(frames), axis=0)  # energy[m] = sum of the first m + 1 squared samples
    # d(tau) = sum_m (x[m] - x[m + tau])^2 over the frame, from ACF and energies.
    diff = np.empty((max_period + 1, frames.shape[1]))
    diff[0] = 0.0
    diff[1:] = 2 * (acf[0:1] - acf[1:]) - energy[:max_period]
    lags = np.arange(1, max_period + 1)[:, None]
    cumulative_mean = np.cumsum(diff[1:], axis=0) / lags  # mean of d(1..tau), shape (max_period, n_frames)
    denominator = cumulative_mean[min_period - 1: max_period]
    return diff[min_period: max_period + 1] / (denominator + _TINY)


def _parabolic_shifts(yin) -> np.ndarray:
    """Offset (in lags, within (-1, 1)) of the vertex of the parabola through each point and its neighbours.

    Shape of ``yin``, (n_lags, n_frames); 0 at the first and last lag and where the vertex is
    a lag or more away.
    """
    shifts = np.zeros_like(yin)
    left, mid, right = yin[:-2], yin[1:-1], yin[2:]
    curvature = right + left - 2 * mid
    slope = (right - left) / 2
    inside = np.abs(slope) < np.abs(curvature)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(inside, -slope / np.where(inside, curvature, 1.0), 0.0)
    return shifts


def _troughs(yin):
    """Lag and frame indices of the local minima of each frame's ``d'``, sorted by frame then lag."""
    trough = np.zeros(yin.shape, dtype=bool)
    trough[1:-1] = (yin[1:-1] < yin[:-2]) & (yin[1:-1] <= yin[2:])
    trough[0] = yin[0] < yin[1]
    trough[-1] = yin[-1] < yin[-2]
    frame, lag = np.nonzero(trough.T)
    return lag, frame


def _observations(yin, shifts, sr, fmin, min_period, n_pitch, bins_per_semitone, n_thresholds, beta_parameters,
                  boltzmann_parameter, no_trough_prob):
    """The HMM's observation probabilities and each frame's voicing probability.

    Parameters
    ----------
    yin, shifts : numpy.ndarray of float64, shape (n_lags, n_frames)
        ``d'`` and its parabolic shifts, lag ``i`` being the period ``min_period + i`` samples.

    Returns
    -------
    observation : numpy.ndarray of float64, shape (2 n_pitch, n_frames)
        Voiced pitch bins (rows ``0 .. n_pitch - 1``: the weight of the candidates in each
        bin), then unvoiced (``(1 - voiced_prob) / n_pitch``).
    voiced_prob : numpy.ndarray of float64, shape (n_frames,)
    """
    import scipy.stats

    n_frames = yin.shape[1]
    thresholds = np.linspace(0, 1, n_thresholds + 1)
    beta_probs = np.diff(scipy.stats.beta.cdf(thresholds, *beta_parameters))  # weight of each threshold
    # Weight of the thresholds below a frame's global minimum, summed as librosa sums it.
    below_min_weight = np.array([np.sum(beta_probs[:m]) for m in range(n_thresholds + 1)])

    lag, frame = _troughs(yin)
    heights = yin[lag, frame]
    below = np.less.outer(heights, thresholds[1:])  # (n_troughs, n_thresholds): trough under threshold
    counts = below.astype(np.int64)
    starts = np.searchsorted(frame, np.arange(n_frames))  # first trough of each frame
    # Rank of each trough among its frame's troughs under each threshold (0 for the shortest period).
    running = np.zeros((lag.size + 1, n_thresholds), dtype=np.int64)  # troughs under, before each row
    np.cumsum(counts, axis=0, out=running[1:])
    ends = np.append(starts[1:], lag.size)
    rank = running[1:] - running[starts[frame]] - 1
    n_below = running[ends] - running[starts]  # (n_frames, n_thresholds)
    # Boltzmann prior over the ranks (scipy.stats.boltzmann's formula, with exp evaluated on
    # arrays as it does), 0 for the troughs above the threshold.
    lam = boltzmann_parameter
    norm = (1 - np.exp(np.full(1, -lam))) / (1 - np.exp(-lam * n_below[frame][below]))
    prior = np.zeros(below.shape)
    prior[below] = norm * np.exp(-lam * rank[below])
    probs = np.empty(lag.size)
    for f in range(n_frames):  # per frame, as librosa: one product over all frames rounds differently (BLAS)
        probs[starts[f]: ends[f]] = prior[starts[f]: ends[f]].dot(beta_probs)
    # The global minimum of each frame (its first lowest trough) gets no_trough_prob of the
    # weight of every threshold below it.
    order = np.lexsort((lag, heights, frame))
    has_troughs = ends > starts
    global_min = order[starts[has_troughs]]
    n_above = n_thresholds - counts[global_min].sum(axis=1)
    probs[global_min] += no_trough_prob * below_min_weight[n_above]

    keep = probs != 0
    lag, frame, probs = lag[keep], frame[keep], probs[keep]
    periods = (min_period + lag) + shifts[lag, frame]
    f0 = sr / periods
    bins = 12 * bins_per_semitone * np.log2(f0 / fmin)
    bins = np.clip(np.round(bins), 0, n_pitch).astype(np.int64)
    # Candidates above the top bin land on index n_pitch (the first unvoiced row), which the
    # unvoiced rows overwrite below: they are dropped, as in librosa. Where two candidates of
    # a frame share a bin, the longer period is written last and wins.
    observation = np.zeros((2 * n_pitch, n_frames))
    by_lag = np.lexsort((frame, lag))
    observation[bins[by_lag], frame[by_lag]] = probs[by_lag]
    voiced_prob = np.clip(np.sum(observation[:n_pitch], axis=0), 0, 1)
    observation[n_pitch:] = (1 - voiced_prob) / n_pitch
    return observation, voiced_prob


def _log_transitions(n_pitch: int, width: int, switch_prob: float):
    """Log transition probabilities of the pitch HMM, in the band layout of :func:`banded_viterbi`.

    Within a copy, pitch ``q`` moves to the ``width`` bins around it with a triangular
    weight (rows renormalised where the band is cut by the range's ends); the voicing stays
    with ``1 - switch_prob``.

    Returns
    -------
    log_stay, log_switch : numpy.ndarray of float64, shape (n_pitch, 2 (width // 2) + 1)
        ``[p, d]``: log probability of the move from pitch ``p + d - width // 2`` to pitch
        ``p``, keeping or switching the voicing (``log(tiny)`` where out of range).
    log_zero : float
        ``log(tiny)``: the log of a zero transition probability.
    """
    import scipy.signal

    half = width // 2
    window = scipy.signal.windows.triang(width)
    left = (n_pitch - width) // 2  # the window centred in a row of n_pitch, then rotated to row q
    band = np.zeros((n_pitch, 2 * half + 1))  # band[p, d]: weight of pitch q = p + d - half -> p
    row = np.empty(n_pitch)
    for q in range(n_pitch):
        row[:] = 0.0
        row[(left + np.arange(width) + n_pitch // 2 + q + 1) % n_pitch] = window
        row[min(n_pitch, q + half + 1):] = 0.0
        row[: max(0, q - half)] = 0.0
        row /= row.sum()  # summed over the whole row: the same rounding as a dense matrix's row sums
        targets = np.arange(max(0, q - half), min(n_pitch, q + half + 1))
        band[targets, q - targets + half] = row[targets]
    stay = 1 - switch_prob
    switch = (1.0 - stay) / 1  # as librosa's two-state loop matrix rounds it
    log_stay = np.log(stay * band + _TINY)
    log_switch = np.log(switch * band + _TINY)
    log_zero = float(np.log(np.zeros(1) + _TINY)[0])
    return log_stay, log_switch, log_zero
