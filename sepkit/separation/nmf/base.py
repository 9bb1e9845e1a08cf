"""Base of the NMF family: a magnitude spectrogram in, grouped component models out, masks.

Every separator of the family (:class:`~sepkit.separation.NMF`, ``NMFD``, ``SNPA``) does
the same three things around its own decomposition:

1. :meth:`ComponentSeparationBase.magnitude` gives the mixture's magnitude spectrogram
   with the channels side by side along time, ``V`` of shape ``(F, C * N)``, so one set of
   templates serves every channel and component grouping is the same in all channels;
2. the decomposition explains ``V`` as a sum of components, and the components of each
   source are summed into a *source model* ``Lam_s`` of shape ``(F, C * N)``;
3. :meth:`ComponentSeparationBase.set_source_models` turns the models into alpha-Wiener
   masks ``M_s = Lam_s**alpha / sum_j Lam_j**alpha`` (or the arg-max binary mask), which
   always sum to one, so the estimates always add up to the mixture.
"""

from __future__ import annotations

import numpy as np

from ...core import BinaryMask, SeparationError
from ...kernels import masks as masks_kernels
from ...core.validation import check_int, check_positive, check_real
from ..base import MaskSeparationBase, validate_labels

__all__ = [
    "ComponentSeparationBase",
    "validate_alpha",
    "validate_groups",
    "grouped_models",
    "side_by_side_magnitude",
    "validate_beta",
]


#: Peaks of the magnitude spectrogram factorised as they are; outside, V is rescaled.
MAGNITUDE_BAND = (2.0**-10, 2.0**30)


def validate_beta(beta) -> float:
    """Return the beta of a beta-divergence as a float, raising unless it is a finite real."""
    return check_real("beta (2 Euclidean, 1 Kullback-Leibler, 0 Itakura-Saito)", beta, error=SeparationError)


def validate_alpha(alpha) -> float:
    """Return the alpha-Wiener exponent as a float, raising unless it is a positive finite number."""
    return check_positive("alpha (1: magnitude ratio, 2: power ratio)", alpha, error=SeparationError)


def validate_groups(groups, n_components: int, num_sources: int) -> np.ndarray:
    """Check a component-to-source assignment and return it as an int64 array of shape (K,).

    Raises
    ------
    SeparationError
        If ``groups`` is not a length-``n_components`` sequence of integers in
        ``[0, num_sources)`` or leaves a source without a component.
    """
    try:
        g = np.asarray(groups)
    except (TypeError, ValueError):
        g = np.asarray([], dtype=object)
    if g.shape != (n_components,) or not np.issubdtype(g.dtype, np.integer):
        raise SeparationError(
            f"the grouping must give one integer source index per component, shape ({n_components},); "
            f"got {groups!r}"
        )
    if g.min() < 0 or g.max() >= num_sources:
        raise SeparationError(f"source indices must lie in [0, {num_sources}), got values in [{g.min()}, {g.max()}]")
    empty = sorted(set(range(num_sources)) - set(g.tolist()))
    if empty:
        raise SeparationError(f"sources {empty} received no component; every source needs at least one")
    return g.astype(np.int64)


def side_by_side_magnitude(signal, params) -> np.ndarray:
    """``|X|`` of a signal with its channels side by side: ``V[:, c * N + n] = |X[:, n, c]|``.

    Parameters
    ----------
    signal : AudioSignal
    params : STFTParams

    Returns
    -------
    numpy.ndarray of float64, shape (n_freq, n_channels * n_frames)
        A new, C-contiguous array.
    """
    X = signal.stft(params)
    F, N, C = X.shape
    return np.ascontiguousarray(np.abs(X).reshape(F, N * C, order="F"))


def grouped_models(W: np.ndarray, H: np.ndarray, groups: np.ndarray, num_sources: int) -> np.ndarray:
    """Sum the NMF components of each source: ``Lam_s = W[:, g == s] @ H[g == s]``.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, M)
        Activations.
    groups : numpy.ndarray of int, shape (K,)
        Source index of every component.
    num_sources : int

    Returns
    -------
    numpy.ndarray of float64, shape (num_sources, F, M)
    """
    out = np.empty((num_sources, W.shape[0], H.shape[1]))
    for s in range(num_sources):
        idx = np.flatnonzero(groups == s)
        np.matmul(W[:, idx], H[idx], out=out[s])
    return out


class ComponentSeparationBase(MaskSeparationBase):
    """Base of separators that model the magnitude spectrogram as grouped nonnegative components.

    Subclasses compute source models in :meth:`run` and hand them to
    :meth:`set_source_models`, which builds ``result_masks``.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified).
    num_sources : int
        Number of sources to return.
    alpha : float, default 1.0
        Exponent of the alpha-Wiener masks: 1 divides magnitudes, 2 powers.
    mask_type : {'soft', 'binary'}
        ``'binary'`` gives each bin to the source with the largest model (ties to the first).
    mask_threshold : float
        Unused by this family (binary masks come from the arg-max); kept for the common API.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.
    labels : list of str, optional
        Source labels (default ``'source_0'``, ...).

    Attributes
    ----------
    source_models : numpy.ndarray of float64, shape (num_sources, n_freq, n_frames, n_channels)
        After :meth:`run`: the model magnitude spectrogram of every source.
    residual_model : numpy.ndarray of float64, shape (n_freq, n_frames, n_channels) or None
        The model of sound not returned as a source (see :meth:`set_source_models`).
    source_labels : list of str
    """

    def __init__(
        self,
        input_audio_signal,
        num_sources,
        alpha=1.0,
        mask_type="soft",
        mask_threshold=0.5,
        stft_params=None,
        labels=None,
    ):
        super().__init__(input_audio_signal, mask_type, mask_threshold, stft_params)
        self.num_sources = check_int("num_sources", num_sources, 1, error=SeparationError)
        self.alpha = validate_alpha(alpha)
        self.source_labels = validate_labels(labels, self.num_sources)
        self.labels = list(self.source_labels)  # as __init__ accepts it again (get_params)
        self.source_models = None
        self.residual_model = None

    @property
    def _shape(self) -> tuple[int, int, int]:
        """``(n_freq, n_frames, n_channels)`` of the mixture STFT."""
        return self.audio_signal.stft(self.stft_params).shape

    def magnitude(self) -> np.ndarray:
        """Magnitude spectrogram with the channels side by side: ``V[:, c * N + n] = |X[:, n, c]|``.

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_channels * n_frames)
            A new, C-contiguous array; scaled by a power of two to a peak in [512, 1024)
            when its peak is outside :data:`MAGNITUDE_BAND` (``W`` and the models are
            then those of the scaled V).

        Raises
        ------
        SeparationError
            If the mixture has zero energy (nothing to decompose).
        """
        V = side_by_side_magnitude(self.audio_signal, self.stft_params)
        if not V.any():
            raise SeparationError(
                f"the mixture {self.audio_signal!r} has zero energy: there is nothing to separate"
            )
        # The masks do not depend on the level of V, but the factorisations' products,
        # costs and absolute thresholds do: a V peaking outside [2**-10, 2**30] is brought
        # to a peak in [512, 1024) by a power of two (exact), so any finite level works.
        peak = float(V.max())
        if not MAGNITUDE_BAND[0] <= peak <= MAGNITUDE_BAND[1]:
            np.ldexp(V, -(int(np.frexp(peak)[1]) - 10), out=V)
        return V

    def unfold(self, A: np.ndarray) -> np.ndarray:
        """View an array of ``(..., n_channels * n_frames)`` columns as ``(..., n_frames, n_channels)``."""
        F, N, C = self._shape
        return np.moveaxis(A.reshape(A.shape[:-1] + (C, N)), -2, -1)

    def set_source_models(self, models: np.ndarray, n_residual: int = 0):
        """Store source models and build ``result_masks`` from them.

        Parameters
        ----------
        models : numpy.ndarray of float64, shape (num_sources + n_residual, n_freq, n_channels * n_frames)
            Nonnegative model of every source, columns laid out as :meth:`magnitude`'s.
            Taken over (may be overwritten).
        n_residual : int, default 0
            Number of trailing models that are not returned as sources (e.g. free components
            for unmodelled sound): they take their share of every mask's denominator, and
            are stored in ``residual_model`` (summed).

        Returns
        -------
        list of SoftMask or BinaryMask
        """
        S = self.num_sources
        if models.shape[0] != S + n_residual:
            raise SeparationError(f"expected models of {S} sources and {n_residual} residuals, got {models.shape[0]}")
        self.source_models = self.unfold(models[:S].copy())
        self.residual_model = self.unfold(models[S:].sum(axis=0)) if n_residual else None
        models = np.ascontiguousarray(models, dtype=np.float64)
        flat = models.reshape(models.shape[0], -1)  # a view: the kernel writes the masks into ``models``
        if self.mask_type is BinaryMask:
            winner = np.argmax(flat, axis=0)
            self.result_masks = [BinaryMask(self.unfold((winner == s).reshape(models.shape[1:])), copy=False)
                                 for s in range(S)]
        else:
            masks_kernels.alpha_wiener(flat, self.alpha, flat)
            self.result_masks = self.masks_from_soft([self.unfold(models[s]) for s in range(S)])
        return self.result_masks
