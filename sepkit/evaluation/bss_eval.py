"""BSS Eval v4 (museval) and v3 (mir_eval): SDR, ISR, SIR and SAR.

Every estimate is decomposed by least-squares projections on the references and their
delays ``0 .. filters_len - 1`` (Vincent, Gribonval & Févotte 2006)::

    estimate = s_true + e_spat + e_interf + e_artif

``s_true + e_spat`` is the projection on the matched reference alone (``P_own``),
``s_true + e_spat + e_interf`` the projection on all references (``P_all``). Then, in dB:

=====  ==========================================  ===============================
ratio  images (``mode='images'``, v4 default)      sources (``mode='sources'``)
=====  ==========================================  ===============================
SDR    ``|s|^2 / |estimate - s|^2``                ``|P_own|^2 / |estimate - P_own|^2``
ISR    ``|s|^2 / |P_own - s|^2``                   (not defined)
SIR    ``|P_own|^2 / |P_all - P_own|^2``           same
SAR    ``|P_all|^2 / |estimate - P_all|^2``        same
=====  ==========================================  ===============================

``s`` is the reference (all channels jointly), energies are sums over channels and over
the frame zero-padded by ``filters_len - 1`` samples.

* **v4** (:func:`bss_eval_v4`, SiSEC 2018 / museval): the projection filters are solved
  once on the whole signal, and the ratios are computed per frame.
* **v3** (:func:`bss_eval_sources`, :func:`bss_eval_images` and their ``_framewise``
  versions, mir_eval): the filters are solved anew on each frame (or once on the whole
  signal).

Implementation: correlations by FFT (``scipy.fft``, all cores; long signals block by
block, overlap-save), the block-Toeplitz Gram matrix of the references assembled by a
numba kernel once per reference set (per frame with framewise filters) and shared by
every estimate, all estimates projected with one factorisation, and the energies of the
projections computed from their spectra (Parseval), so no projection is synthesised.

Solving: the system ``(G + eps I) x = D`` of museval (``eps`` the float64 machine
epsilon, needed for parity on ill-conditioned references) is factorised by Cholesky
(``G`` is a Gram matrix), else by LU (what ``numpy.linalg.solve`` does). When LAPACK's
estimate of the reciprocal condition number is below ``eps`` (numerically singular) the
minimum-norm least-squares solution (``numpy.linalg.lstsq``) is used instead. Silent and
duplicate reference signals (two identical references, an image whose channels are
copies) are removed from the basis first: the span, hence every projection, is unchanged.

Levels: every ratio is unchanged when references and estimates are scaled together, so
signals whose loudest peak is outside ``[2**-100, 2**100]`` are first multiplied by one
power of two (exact) that brings it near 1, and any finite level is scored (1e160 gives the
scores of 1). Signals more than 1e100 apart in level (a non-silent signal whose energy
cannot be represented next to the loudest one) raise :class:`~sepkit.EvaluationError`
naming both peaks. The projection system is always finite, so LAPACK never sees inf/NaN.

Silence policy (mir_eval and museval raise instead):

* a reference or an estimate that is all zeros over the whole signal: its row of every
  metric is NaN, with a ``RuntimeWarning``; the other sources are scored normally;
* a frame in which any other reference, or any scored estimate, is all zeros: every
  metric of that frame is NaN for every source (museval's and mir_eval's frame rule),
  with a ``RuntimeWarning``;
* no interference at all (e.g. a single source): SIR is ``+inf``.

Identical estimates trigger a ``UserWarning`` (:func:`~sepkit.evaluation.common.warn_duplicates`).

Permutation: with ``compute_permutation=True`` every (reference, estimate) pair is scored,
and the estimates are assigned to references with the Hungarian algorithm maximising the
sum of the pairs' mean SIR over frames (the criterion of mir_eval and museval, there
found by trying every permutation). One assignment is used for the whole signal, also in
the framewise functions (mir_eval chooses one per frame). More estimates than references
are allowed.
"""

from __future__ import annotations

from ..core import EvaluationError
from ..core.validation import check_choice
from ._bss_engine import _COMMON_PARAMS, _run
from .bss_eval_v3 import (
    bss_eval_images,
    bss_eval_images_framewise,
    bss_eval_sources,
    bss_eval_sources_framewise,
)
from .common import Scores

__all__ = [
    "bss_eval_images",
    "bss_eval_images_framewise",
    "bss_eval_sources",
    "bss_eval_sources_framewise",
    "bss_eval_v4",
]


def bss_eval_v4(
    references,
    estimates,
    sample_rate=None,
    window=1.0,
    hop=1.0,
    mode="images",
    filters_len=512,
    framewise_filters=False,
    compute_permutation=False,
):
    """BSS Eval v4 (museval / SiSEC 2018): SDR, ISR, SIR and SAR per frame.

    The projection filters are solved once over the whole signal (unless
    ``framewise_filters``), then the ratios are computed on each frame, as
    ``museval.metrics.bss_eval``. Frame ``k`` covers samples ``[k * hop, k * hop + window)``;
    there are ``floor((n_samples - window + hop) / hop)`` frames (the last partial frame
    is dropped; a window at least as long as the signal gives one whole-signal frame).

    Parameters
    ----------
    {common}
    sample_rate : int, optional
        Sample rate in Hz; taken from AudioSignals, required for arrays.
    window, hop : float or None
        Frame length and hop in seconds (rounded to whole samples). ``None`` scores the
        whole signal as one frame. Default 1 s and 1 s (museval's ``evaluate``).
    mode : {{'images', 'sources'}}
        ``'images'`` evaluates the channels jointly against the reference image
        (museval's default); ``'sources'`` is museval's ``bsseval_sources_version=True``
        (no ISR).
    filters_len : int
        Number of filter taps (delays ``0 .. filters_len - 1``), 512 by default.
    framewise_filters : bool
        Solve the filters anew on every frame (BSS Eval v3 behaviour).
    compute_permutation : bool
        Assign estimates to references (Hungarian algorithm on the mean SIR of every
        pair) instead of taking estimate ``j`` for reference ``j``.

    Returns
    -------
    Scores
        ``values`` maps ``'SDR'``, ``'ISR'`` (images mode only), ``'SIR'``, ``'SAR'`` to
        arrays of shape ``(n_sources, n_frames)`` in dB; ``axis='frame'``;
        ``assignment`` the estimate of each reference; ``info`` holds window and hop in
        seconds and samples, the frame starts, mode and filter settings.

    Raises
    ------
    EvaluationError
        For invalid inputs (see :func:`~sepkit.evaluation.common.as_sources`), mismatched
        shapes, fewer estimates than references, a window or hop in seconds without a
        sample rate, or invalid parameters.

    Warns
    -----
    RuntimeWarning
        Silent references, estimates or frames (their scores are NaN).
    UserWarning
        Identical estimates.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> refs = rng.standard_normal((2, 2, 16000))
    >>> ests = refs + 0.1 * rng.standard_normal(refs.shape)
    >>> scores = bss_eval_v4(refs, ests, sample_rate=8000, window=1.0, hop=1.0)
    >>> scores.values["SDR"].shape
    (2, 2)
    """
    mode = check_choice("mode", mode, ("images", "sources"), error=EvaluationError)
    values, assignment, info = _run(
        references, estimates, sample_rate, window, hop, filters_len, framewise_filters, mode == "sources",
        compute_permutation, "v4",
    )
    return Scores(values=values, assignment=assignment, axis="frame", info=info)


bss_eval_v4.__doc__ = bss_eval_v4.__doc__.format(common=_COMMON_PARAMS)
