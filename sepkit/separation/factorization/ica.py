r"""ICA: time-domain independent component analysis of the channels (scikit-learn's FastICA).

The mixture's channels are taken as observations of an instantaneous mixture
:math:`x(t) = A s(t)` (C channels, K <= C sources, no delays and no reverberation) and
FastICA (Hyvärinen 1999: parallel fixed point, log-cosh contrast, PCA whitening to unit
variance) estimates K independent components :math:`s_k(t)`.

Scale and order. ICA leaves each component's scale and sign undetermined (``A s`` equals
``(A D^{-1}) (D s)`` for any diagonal ``D``). sepkit returns each component's **spatial
image**: the component projected back onto every channel of the mixture by least squares,

.. math:: \hat x_k(c, t) = a_{ck}\, s_k(t), \qquad
          a_{\cdot k} = \text{the column } k \text{ of } \arg\min_{A} \lVert (x - \bar x) - A s \rVert^2 ,

which removes both ambiguities (the image does not change when ``s_k`` is scaled or negated),
gives every estimate the mixture's shape and units (so it is scored against each source's image
like every other separator), and makes the images sum to the mixture minus its per-channel mean
(exactly when K = C; the mean, a DC offset, goes to no source). The images come in decreasing
energy (the loudest first). nussl instead returns the raw mono components, all scaled by one
common factor so that their largest peak equals the mixture's.
"""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, SeparationError
from ...core.validation import check_int, check_seed, default_rng
from ..base import SeparationBase, validate_labels
from ..registry import register

__all__ = ["ICA"]

_E = SeparationError


class ICA(SeparationBase):
    """Independent component analysis of the channels (FastICA), each component's image on every channel.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (never modified).
    num_sources : int or None
        Number of components K, from 1 to the number of channels; None: one per channel.
    max_iterations : int, default 200
        Largest number of FastICA iterations (nussl's default); scikit-learn warns
        (``ConvergenceWarning``) when it stops before its tolerance ``1e-4``.
    seed : int, numpy.random.Generator or None
        Seed of FastICA's random start. An int is FastICA's ``random_state`` itself (so
        ``ICA(mix, seed=s)`` runs what ``FastICA(random_state=s)`` runs); a Generator gives one
        draw; None is not reproducible.

    Attributes
    ----------
    components : numpy.ndarray or None
        After :meth:`run`: the unit-variance components, ``(K, n_samples)``, in output order.
    mixing : numpy.ndarray or None
        After :meth:`run`: the least-squares mixing matrix ``(n_channels, K)``: image ``k`` is
        ``mixing[:, k:k+1] * components[k]``.
    n_iter : int or None
        After :meth:`run`: the iterations FastICA ran.

    Raises
    ------
    SeparationError
        For a mono mixture, ``num_sources`` out of range, a bad ``max_iterations`` or ``seed``,
        and (in :meth:`run`) channels too dependent to give ``num_sources`` components (identical
        or silent channels).

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_spatial_example("anechoic", duration=1.0)
    >>> first, second = ICA(mix, seed=0)()
    >>> first.audio_data.shape == mix.audio_data.shape
    True
    """

    stft_params = None

    def __init__(self, input_audio_signal, num_sources=None, max_iterations=200, seed=None):
        super().__init__(input_audio_signal)
        channels = input_audio_signal.num_channels
        if channels < 2:
            raise _E("ICA needs a mixture of at least two channels (one observation per channel), "
                     f"got {channels} channel")
        if num_sources is not None:
            num_sources = check_int("num_sources", num_sources, 1, channels, error=_E)
        self.num_sources = num_sources
        self.max_iterations = check_int("max_iterations", max_iterations, 1, error=_E)
        self.seed = check_seed(seed, error=_E)
        self.source_labels = validate_labels(None, self._k)
        self.components = None
        self.mixing = None
        self.n_iter = None

    @property
    def _k(self) -> int:
        return self.audio_signal.num_channels if self.num_sources is None else self.num_sources

    def _random_state(self) -> int:
        if isinstance(self.seed, (int, np.integer)):
            return int(self.seed)
        return int(default_rng(self.seed).integers(2**31 - 1))

    def run(self) -> np.ndarray:
        """Run FastICA and project each component back onto the channels.

        Returns
        -------
        numpy.ndarray of float64, shape (K, n_channels, n_samples)
            The images, in decreasing energy.
        """
        from sklearn.decomposition import FastICA

        x = np.asarray(self.audio_signal.audio_data, dtype=np.float64)
        centred = x - x.mean(axis=1, keepdims=True)
        k = self._k
        eig = np.linalg.eigvalsh(centred @ centred.T)
        if eig[-1] <= 0 or eig[-k] <= 1e-12 * eig[-1]:
            raise _E(f"the mixture's channels span {int(np.sum(eig > 1e-12 * max(eig[-1], 0)))} independent "
                     f"direction(s), fewer than num_sources={k} (identical, proportional or silent channels)")
        # whiten_solver='eigh': the C x C covariance's eigendecomposition instead of an SVD of the
        # n_samples x C data (nussl's default); the same whitening up to signs, about twice as fast.
        ica = FastICA(n_components=k, max_iter=self.max_iterations, random_state=self._random_state(),
                      whiten="unit-variance", whiten_solver="eigh")
        comps = ica.fit_transform(x.T).T  # (K, N), zero mean
        mixing, *_ = np.linalg.lstsq(comps.T, centred.T, rcond=None)  # (K, C)
        mixing = mixing.T
        energy = (mixing**2).sum(axis=0) * (comps**2).sum(axis=1)
        order = np.argsort(-energy, kind="stable")
        self.components = np.ascontiguousarray(comps[order])
        self.mixing = np.ascontiguousarray(mixing[:, order])
        self.n_iter = int(ica.n_iter_)
        self.result_images = self.mixing.T[:, :, None] * self.components[:, None, :]
        return self.result_images

    def make_audio_signals(self) -> list[AudioSignal]:
        """One signal per component: its image on every channel, shaped like the mixture."""
        self._check_run()
        return [AudioSignal(image, self.sample_rate, label=label)
                for image, label in zip(self.result_images, self.source_labels)]


register(
    "ica", ICA, "independent component analysis of the channels (FastICA), each component's image on every channel",
    needs=("multichannel",),
    quick={"max_iterations": 100},
)
