"""nussl's NMF mixin on sepkit's own NMF: ``fit``, ``transform`` and ``inverse_transform``.

nussl's ``NMFMixin`` (``nussl/separation/base/nmf_mixin.py``) fits scikit-learn's NMF to the
magnitude spectrograms of audio signals. :class:`NMFMixin` offers the same three methods with
nussl's shapes on :func:`sepkit.decomposition.nmf` (multiplicative updates, any beta):

- ``fit(signals, n_components, beta_loss=...)`` returns ``(model, components,
  activations)``, components ``(n_components, n_features)`` (spectral templates, one row
  each, ``n_features = n_freq``) and activations ``(n_components, n_time, n_channels)``;
- ``transform(signal, model)`` returns ``(components, activations)`` for a new signal with
  the templates fixed;
- ``inverse_transform(components, activations)`` returns the model magnitude spectrogram
  ``(n_freq, n_time, n_channels)`` (or ``(n_freq, n_time)`` for 2-D activations).

Difference from nussl: several channels are unfolded correctly (nussl reshapes the
channel-major rows of its data matrix as if they were time-major, which interleaves
channels and frames); signals with different channel counts are stacked along time as one
channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core import AudioSignal, DecompositionError, SeparationError, STFTParams
from ...core.validation import check_array, check_int, check_probability, check_real
from ...decomposition import nmf as _nmf
from ..base import validate_stft_params
from .base import side_by_side_magnitude

__all__ = ["NMFMixin", "NMFModel", "BETA_LOSSES"]

#: scikit-learn's (and nussl's) names of the beta-divergences.
BETA_LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def _beta(beta_loss) -> float:
    if isinstance(beta_loss, str):
        if beta_loss not in BETA_LOSSES:
            raise SeparationError(f"beta_loss must be one of {list(BETA_LOSSES)} or a number, got {beta_loss!r}")
        return BETA_LOSSES[beta_loss]
    return check_real("beta_loss", beta_loss, error=SeparationError)


@dataclass
class NMFModel:
    """A fitted NMF model (the ``model`` of :meth:`NMFMixin.fit`), scikit-learn-like.

    Attributes
    ----------
    components_ : numpy.ndarray of float64, shape (n_components, n_features)
        Spectral templates, one per row (``n_features = n_freq``).
    n_components : int
    beta : float
        Beta of the divergence (2 Frobenius, 1 Kullback-Leibler, 0 Itakura-Saito).
    n_iter : int
        Iterations of :meth:`transform`'s fit of the activations.
    l1_H, l2_H : float
        Penalty weights on the activations (sepkit's scale, see :func:`sepkit.decomposition.nmf`).
    stft_params : STFTParams
        STFT parameters of the training signals, used by :meth:`NMFMixin.transform`.
    """

    components_: np.ndarray
    n_components: int
    beta: float
    n_iter: int
    l1_H: float
    l2_H: float
    stft_params: STFTParams

    def transform(self, X) -> np.ndarray:
        """Activations of data X with the templates fixed (scikit-learn's ``NMF.transform``).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Nonnegative data, one frame per row.

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_components)
        """
        X = check_array("X", X, ndim=2, shape=(None, self.components_.shape[1]), dtype=np.float64,
                        nonneg=True, error=SeparationError)
        if not X.any():
            return np.zeros((X.shape[0], self.n_components))
        _, H, _ = _nmf(X.T, self.n_components, beta=self.beta, n_iter=self.n_iter, W=self.components_.T,
                       fix_W=True, l1_H=self.l1_H, l2_H=self.l2_H, normalize=False)
        return H.T


def _spectrogram(signal, params) -> tuple[np.ndarray, int]:
    """``(|X| with channels side by side (F, C * N), C)`` of one signal."""
    if not isinstance(signal, AudioSignal):
        raise SeparationError(f"expected an AudioSignal, got {type(signal).__name__}")
    return side_by_side_magnitude(signal, params), signal.num_channels


def _unfold(A, n_channels) -> np.ndarray:
    """``(K, C * N)`` activations, channels side by side, as ``(K, N, C)``."""
    K = A.shape[0]
    return np.ascontiguousarray(np.moveaxis(A.reshape(K, n_channels, -1), 1, -1))


class NMFMixin:
    """nussl's ``NMFMixin`` API (``fit``, ``transform``, ``inverse_transform``), mixed into :class:`NMF`.

    All three are class methods: ``NMF.fit(signals, 8)`` needs no separator instance.
    """

    @classmethod
    def fit(cls, audio_signals, n_components, beta_loss="frobenius", l1_ratio=0.5, alpha_W=0.0, alpha_H="same",
            n_iter=200, init="nndsvda", seed=None, stft_params=None):
        """Fit NMF to the magnitude spectrograms of one or several signals (nussl's ``NMFMixin.fit``).

        The spectrograms (every channel of every signal) are joined along time into one
        data matrix ``V`` (n_freq, n_time_total), factorised by :func:`sepkit.decomposition.nmf`.

        Parameters
        ----------
        audio_signals : AudioSignal or list of AudioSignal
            Training signals (one sample rate).
        n_components : int
            Number of spectral templates.
        beta_loss : {'frobenius', 'kullback-leibler', 'itakura-saito'} or float, default 'frobenius'
            Divergence (beta 2, 1, 0, or any finite beta).
        l1_ratio : float, default 0.5
            Mix of L1 (1) and L2 (0) in scikit-learn's regularisation.
        alpha_W, alpha_H : float or 'same', default 0.0 and 'same'
            scikit-learn's regularisation weights of its W (our activations) and H (our
            templates), scaled as scikit-learn does (by the number of features / samples).
            0 (the default) is no penalty.
        n_iter : int, default 200
            Multiplicative-update iterations (of the fit and of later transforms).
        init : {'nndsvda', 'random'}, default 'nndsvda'
        seed : int or numpy.random.Generator, optional
        stft_params : STFTParams, optional
            Default: those of the first signal.

        Returns
        -------
        model : NMFModel
        components : numpy.ndarray of float64, shape (n_components, n_freq)
            Spectral templates, one per row.
        activations : numpy.ndarray of float64, shape (n_components, n_time, n_channels)
            With the signals' frames joined along time (``n_time = sum of n_frames``); for
            signals of different channel counts, shape (n_components, n_time_total, 1).
        """
        signals = [audio_signals] if isinstance(audio_signals, AudioSignal) else list(audio_signals)
        if not signals:
            raise SeparationError("fit needs at least one AudioSignal")
        if not isinstance(signals[0], AudioSignal):
            raise SeparationError(f"expected AudioSignals, got {type(signals[0]).__name__}")
        params = validate_stft_params(stft_params, signals[0])
        parts = [_spectrogram(s, params) for s in signals]
        K = check_int("n_components", n_components, 1, error=SeparationError)
        beta = _beta(beta_loss)
        l1_ratio = check_probability("l1_ratio", l1_ratio, error=SeparationError)
        alpha_W = check_real("alpha_W", alpha_W, 0.0, error=SeparationError)
        alpha_H = alpha_W if isinstance(alpha_H, str) and alpha_H == "same" else check_real(
            "alpha_H", alpha_H, 0.0, error=SeparationError)
        V = np.hstack([p[0] for p in parts])
        F, M = V.shape
        # scikit-learn's W (n_samples, K) is our H.T, its H (K, n_features) our W.T
        l1_H, l2_H = F * alpha_W * l1_ratio, F * alpha_W * (1.0 - l1_ratio)
        l1_W, l2_W = M * alpha_H * l1_ratio, M * alpha_H * (1.0 - l1_ratio)
        try:
            W, H, _ = _nmf(V, K, beta=beta, n_iter=n_iter, init=init, l1_W=l1_W, l2_W=l2_W, l1_H=l1_H, l2_H=l2_H,
                           normalize=False, seed=seed)
        except DecompositionError as exc:
            raise SeparationError(f"NMF fit failed: {exc}") from None
        model = NMFModel(np.ascontiguousarray(W.T), K, beta, int(n_iter), l1_H, l2_H, params)
        channels = {p[1] for p in parts}
        if len(channels) == 1:
            C = channels.pop()
            activations = np.concatenate(
                [_unfold(H[:, start : start + p[0].shape[1]], C)
                 for start, p in zip(np.cumsum([0] + [q[0].shape[1] for q in parts[:-1]]), parts)], axis=1)
        else:
            activations = H[:, :, None].copy()
        return model, model.components_, activations

    @classmethod
    def transform(cls, audio_signal, model):
        """Activations of a signal with the model's templates fixed (nussl's ``NMFMixin.transform``).

        Parameters
        ----------
        audio_signal : AudioSignal
            ``(n_channels, n_samples)``; its STFT uses ``model.stft_params``.
        model : NMFModel
            From :meth:`fit`.

        Returns
        -------
        components : numpy.ndarray of float64, shape (n_components, n_freq)
        activations : numpy.ndarray of float64, shape (n_components, n_frames, n_channels)
        """
        if not isinstance(model, NMFModel):
            raise SeparationError(f"model must be an NMFModel from NMF.fit, got {type(model).__name__}")
        V, C = _spectrogram(audio_signal, model.stft_params)
        H = model.transform(V.T).T
        return model.components_, _unfold(H, C)

    @staticmethod
    def inverse_transform(components, activations) -> np.ndarray:
        """Model magnitude spectrogram ``sum_k components[k] * activations[k]`` (nussl's ``inverse_transform``).

        Parameters
        ----------
        components : array_like, shape (n_components, n_freq)
        activations : array_like, shape (n_components, n_time) or (n_components, n_time, n_channels)

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_time) or (n_freq, n_time, n_channels)
        """
        W = check_array("components", components, ndim=2, dtype=np.float64, error=SeparationError)
        A = check_array("activations", activations, ndim=(2, 3), dtype=np.float64, error=SeparationError)
        if A.shape[0] != W.shape[0]:
            raise SeparationError(
                f"components {W.shape} and activations {A.shape} must have the same number of components (axis 0)"
            )
        return np.tensordot(W, A, axes=([0], [0]))
