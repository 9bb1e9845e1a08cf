"""BSS Eval v3 (mir_eval): ``bss_eval_sources``, ``bss_eval_images`` and their framewise versions.

The projection filters are solved anew on each frame (or once on the whole signal); see
:mod:`sepkit.evaluation.bss_eval` for the method, the silence policy and the permutation.
"""

from __future__ import annotations

from ._bss_engine import _COMMON_PARAMS, _run, _window_arg
from .common import Scores

__all__ = [
    "bss_eval_images",
    "bss_eval_images_framewise",
    "bss_eval_sources",
    "bss_eval_sources_framewise",
]


def _v3(references, estimates, sources_mode, compute_permutation, filters_len, framewise, window, hop,
        sample_rate, window_samples, hop_samples):
    if framewise:
        win = _window_arg(window, window_samples, "window")
        hp = _window_arg(hop, hop_samples, "hop")
    else:
        win = hp = None
    values, assignment, info = _run(
        references, estimates, sample_rate, win, hp, filters_len, True, sources_mode, compute_permutation, "v3",
        min_frames=2,
    )
    axis = "frame" if framewise and info["n_frames"] > 1 else "signal"
    if framewise and axis == "signal":
        info["fallback"] = "fewer than 2 frames: whole-signal scores"
    return Scores(values=values, assignment=assignment, axis=axis, info=info)


def bss_eval_sources(references, estimates, compute_permutation=True, filters_len=512):
    """BSS Eval v3 ``bss_eval_sources`` (mir_eval): SDR, SIR and SAR over the whole signal.

    Each estimate's channels are projected jointly (sources mode: the target is the
    projection on the matched reference, ``P_own``); mir_eval's mono case is
    ``n_channels = 1``.

    Parameters
    ----------
    {common}
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on mean SIR (True,
        mir_eval's default) or take them in order.
    filters_len : int
        Number of filter taps, 512 by default.

    Returns
    -------
    Scores
        ``values``: ``'SDR'``, ``'SIR'``, ``'SAR'``, each of shape ``(n_sources, 1)`` in dB;
        ``axis='signal'``; ``assignment`` as mir_eval's ``perm``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references.

    Warns
    -----
    RuntimeWarning
        Silent references or estimates (NaN scores).
    UserWarning
        Identical estimates.
    """
    return _v3(references, estimates, True, compute_permutation, filters_len, False, None, None, None, None, None)


bss_eval_sources.__doc__ = bss_eval_sources.__doc__.format(common=_COMMON_PARAMS)


def bss_eval_images(references, estimates, compute_permutation=True, filters_len=512):
    """BSS Eval v3 ``bss_eval_images`` (mir_eval): SDR, ISR, SIR and SAR over the whole signal.

    Parameters
    ----------
    {common}
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on mean SIR (True,
        mir_eval's default) or take them in order.
    filters_len : int
        Number of filter taps, 512 by default.

    Returns
    -------
    Scores
        ``values``: ``'SDR'``, ``'ISR'``, ``'SIR'``, ``'SAR'``, each ``(n_sources, 1)`` in
        dB; ``axis='signal'``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references.

    Warns
    -----
    RuntimeWarning
        Silent references or estimates (NaN scores).
    UserWarning
        Identical estimates.
    """
    return _v3(references, estimates, False, compute_permutation, filters_len, False, None, None, None, None, None)


bss_eval_images.__doc__ = bss_eval_images.__doc__.format(common=_COMMON_PARAMS)

_FRAMEWISE_DOC = """BSS Eval v3 ``{name}`` (mir_eval): {what} per frame, filters solved per frame.

    Frame ``k`` covers samples ``[k * hop, k * hop + window)``; there are
    ``floor((n_samples - window + hop) / hop)`` frames. With fewer than 2 frames the
    whole-signal scores are returned (one column, ``axis='signal'``), as mir_eval does.

    Parameters
    ----------
    {common}
    window, hop : float
        Frame length and hop in seconds (default 30 s and 15 s, mir_eval's defaults in
        samples at 44.1 kHz); converted with ``sample_rate`` and rounded to samples.
    sample_rate : int, optional
        Sample rate in Hz; taken from AudioSignals, needed for arrays when window and
        hop are in seconds.
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on the mean SIR over
        frames; one assignment for all frames (mir_eval assigns per frame). Default
        False, as mir_eval.
    filters_len : int
        Number of filter taps, 512 by default.
    window_samples, hop_samples : int, optional
        Frame length and hop in samples; override ``window`` and ``hop`` (mir_eval's
        units, no sample rate needed).

    Returns
    -------
    Scores
        ``values``: {keys}, each ``(n_sources, n_frames)`` in dB; ``axis='frame'``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references, a window in
        seconds without a sample rate.

    Warns
    -----
    RuntimeWarning
        Silent references, estimates or frames (NaN scores).
    UserWarning
        Identical estimates.
    """


def bss_eval_sources_framewise(
    references,
    estimates,
    window=30.0,
    hop=15.0,
    sample_rate=None,
    compute_permutation=False,
    filters_len=512,
    window_samples=None,
    hop_samples=None,
):
    return _v3(references, estimates, True, compute_permutation, filters_len, True, window, hop, sample_rate,
               window_samples, hop_samples)


bss_eval_sources_framewise.__doc__ = _FRAMEWISE_DOC.format(
    name="bss_eval_sources_framewise", what="SDR, SIR and SAR", keys="``'SDR'``, ``'SIR'``, ``'SAR'``",
    common=_COMMON_PARAMS,
)


def bss_eval_images_framewise(
    references,
    estimates,
    window=30.0,
    hop=15.0,
    sample_rate=None,
    compute_permutation=False,
    filters_len=512,
    window_samples=None,
    hop_samples=None,
):
    return _v3(references, estimates, False, compute_permutation, filters_len, True, window, hop, sample_rate,
               window_samples, hop_samples)


bss_eval_images_framewise.__doc__ = _FRAMEWISE_DOC.format(
    name="bss_eval_images_framewise", what="SDR, ISR, SIR and SAR",
    keys="``'SDR'``, ``'ISR'``, ``'SIR'``, ``'SAR'``", common=_COMMON_PARAMS,
)
