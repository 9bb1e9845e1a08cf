"""The ``SNPA`` separator: separable NMF, whose templates are frames of the mixture itself."""

from __future__ import annotations

import numpy as np

from ...core import DecompositionError, SeparationError
from ...decomposition import nmf as _nmf
from ...decomposition import separable_init
from ...kernels.nmf import beta_divergence
from .grouping import group_components
from .nmf import NMF
from ..registry import DemoRow, register

__all__ = ["SNPA", "VARIANTS"]

#: Column-selection rules of :func:`sepkit.decomposition.snpa`.
VARIANTS = ("snpa", "xray-greedy")


class SNPA(NMF):
    """Separation by separable NMF: templates are real frames of the mixture, grouped into sources.

    The successive nonnegative projection algorithm (SNPA, Gillis 2014; or XRAY's greedy
    rule, ``variant='xray-greedy'``) picks ``n_components`` frames of the magnitude
    spectrogram that explain every other frame as a nonnegative combination
    (:func:`sepkit.decomposition.snpa`): frames where one sound plays alone. The activations
    are their nonnegative least-squares weights. With ``n_iter > 0`` templates and
    activations are then refined by beta-divergence NMF started from that fit (SNPA as a
    deterministic initialiser). The components are grouped into sources as in blind
    :class:`~sepkit.separation.NMF`, and the sources are separated by alpha-Wiener masks.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified). Channels share the templates (their frames are
        candidates alike).
    num_sources : int
        Number of sources.
    n_components : int, optional
        Frames to select; default ``8 * num_sources``. At most the number of frames.
    variant : {'snpa', 'xray-greedy'}, default 'snpa'
        Column-selection rule.
    n_iter : int, default 0
        Beta-NMF iterations refining the separable fit (0: the templates stay mixture frames).
    grouping : {'mfcc-kmeans', 'centroid', 'percussiveness'} or callable, default 'mfcc-kmeans'
        How components become sources (see :func:`~sepkit.separation.nmf.grouping.group_components`).
    beta : float, default 1.0
        Divergence of the refinement and of the reported cost (2 Euclidean, 1 KL, 0 IS).
    alpha : float, default 1.0
        Exponent of the alpha-Wiener masks.
    mask_type : {'soft', 'binary'}
    seed : int or numpy.random.Generator, optional
        Seed of the grouping's k-means (the selection itself is deterministic).
    stft_params : STFTParams, optional
    labels : list of str, optional

    Attributes
    ----------
    W : numpy.ndarray, shape (n_freq, n_components)
        Templates after :meth:`run` (mixture frames when ``n_iter == 0``).
    H : numpy.ndarray, shape (n_components, n_channels * n_frames)
    indices : numpy.ndarray of int, shape (n_components,)
        The selected frames (column ``c * n_frames + n`` is frame n of channel c).
    costs : numpy.ndarray, shape (n_iter + 1,)
        Beta-divergence after the separable fit and after each refinement iteration.
    groups : numpy.ndarray of int, shape (n_components,)
    source_models, result_masks
        As for every :class:`~sepkit.separation.nmf.ComponentSeparationBase`.

    Raises
    ------
    SeparationError
        For an unknown variant, a negative ``n_iter``, more sources than components,
        and the errors of :class:`~sepkit.separation.NMF`'s blind mode; in :meth:`run`, for a
        zero-energy mixture or more components than frames.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example(sources=("violin", "bassoon"))
    >>> estimates = SNPA(mix, 2, n_iter=50, seed=0)()
    >>> [e.label for e in estimates]
    ['source_0', 'source_1']
    """

    def __init__(
        self,
        input_audio_signal,
        num_sources,
        n_components=None,
        variant="snpa",
        n_iter=0,
        grouping="mfcc-kmeans",
        beta=1.0,
        alpha=1.0,
        mask_type="soft",
        seed=None,
        stft_params=None,
        labels=None,
    ):
        if variant not in VARIANTS:
            raise SeparationError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if num_sources is None:
            raise SeparationError("SNPA needs num_sources, a positive integer")
        super().__init__(
            input_audio_signal,
            num_sources,
            n_components=n_components,
            beta=beta,
            n_iter=n_iter,
            init="snpa",
            grouping=grouping,
            mask_type=mask_type,
            alpha=alpha,
            seed=seed,
            stft_params=stft_params,
            labels=labels,
        )
        self.variant = variant

    def _blind(self, V, rng):
        F = V.shape[0]
        target = self._stacked_hpss(V) if self.grouping == "percussiveness" else V
        K = self.n_components
        try:
            W, H, self.indices = separable_init(target, K, self.variant, floor=self.n_iter > 0)
        except DecompositionError as exc:
            raise SeparationError(str(exc)) from None
        if self.n_iter:
            W, H, costs = _nmf(target, K, beta=self.beta, n_iter=self.n_iter, init=(W, H), seed=rng)
        else:
            costs = np.array([beta_divergence(target, W @ H, self.beta, 1e-12 * float(target.max()))])
        groups = group_components(W, H, self.num_sources, self.grouping, self.sample_rate,
                                  self.stft_params.window_length, rng)
        if self.grouping == "percussiveness":
            self.stacked_W = W
            W = W[:F] + W[F:]
        return W, H, costs, groups


register(
    "snpa", SNPA, "separable NMF (mixture frames as templates) + 100 KL-NMF iterations",
    needs=("num_sources",), defaults={"n_iter": 100},
    quick={"n_components": 4, "n_iter": 2},
    demo=(DemoRow("duet", "SNPA + 100 NMF it.", blind=True, order=30),),
)
