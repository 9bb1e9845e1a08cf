r"""ICA: time-domain independent component analysis of the channels (FastICA).

The mixture's channels are taken as observations of an instantaneous mixture
:math:`x(t) = A s(t)` (C channels, K <= C sources, no delays and no reverberation) and
FastICA (Hyvärinen 1999: parallel fixed point, log-cosh contrast, PCA whitening to unit
variance) estimates K independent components :math:`s_k(t)`.

sepkit's own FastICA runs scikit-learn's algorithm step for step (``FastICA(whiten=
'unit-variance', whiten_solver='eigh')``: the same whitening and signs, the same random start
``RandomState(seed).normal(size=(K, K))``, the same symmetric decorrelation and stopping rule),
so the components equal scikit-learn's to rounding, with the same number of iterations. Each
iteration's expectations ``E[tanh(W z) z^T]`` and ``E[1 - tanh^2(W z)]`` come from one
parallel pass of a numba kernel (:mod:`sepkit.kernels.ica`) over the channels, without
storing the whitened data; the covariance and the final images are one pass each.

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

import warnings

import numpy as np

from ...core import AudioSignal, SeparationError
from ...core.validation import check_int, check_seed, default_rng
from ...kernels import ica as _kernels
from ..base import SeparationBase, validate_labels
from ..registry import register

__all__ = ["ICA"]

_E = SeparationError
#: Convergence threshold on ``max_k |1 - |w_k(new) . w_k||`` (scikit-learn's default ``tol``).
TOLERANCE = 1e-4


def _mean_covariance(x):
    """Per-channel mean ``(C,)`` and covariance ``E[(x - m)(x - m)^T]`` ``(C, C)`` of ``x`` ``(C, N)``, one pass."""
    c, n = x.shape
    shift = x[:, :4096].mean(axis=1)  # near the mean: the shifted sums below do not cancel
    sums = np.empty((_kernels.N_BLOCKS, c, c + 1))
    _kernels.centred_covariance(x, shift, sums)
    sums = sums.sum(axis=0) / n
    offset = sums[:, c]
    return shift + offset, sums[:, :c] - np.outer(offset, offset)


def _symmetric_decorrelation(W):
    """``(W W^T)^{-1/2} W``: the nearest matrix with orthonormal rows, ``(K, K)``."""
    s, u = np.linalg.eigh(W @ W.T)
    s = np.maximum(s, np.finfo(np.float64).tiny)
    return (u / np.sqrt(s)) @ u.T @ W


def _fastica(x, mean, whitening, w_init, max_iterations, tol):
    """Parallel FastICA with the log-cosh contrast (``g = tanh``) on ``z = whitening (x - mean)``.

    Each iteration is ``W <- decorrelate(E[g(W z) z^T] - E[g'(W z)] W)``, its expectations in one
    pass of :func:`sepkit.kernels.ica.logcosh_moments` over the samples.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (C, N)
    mean : numpy.ndarray of float64, shape (C,)
    whitening : numpy.ndarray of float64, shape (K, C)
    w_init : numpy.ndarray of float64, shape (K, K)
    max_iterations : int
    tol : float

    Returns
    -------
    W : numpy.ndarray of float64, shape (K, K)
        The unmixing matrix of the whitened data (orthonormal rows).
    n_iter : int
        Iterations run.
    """
    k, c = whitening.shape
    n = x.shape[1]
    W = _symmetric_decorrelation(w_init)
    sums = np.empty((_kernels.N_BLOCKS, k, c + 1))
    for it in range(1, max_iterations + 1):
        _kernels.logcosh_moments(x, mean, np.ascontiguousarray(W @ whitening), sums)
        total = sums.sum(axis=0) / n
        W_new = _symmetric_decorrelation(total[:, :c] @ whitening.T - total[:, c][:, None] * W)
        change = np.max(np.abs(np.abs(np.einsum("ij,ij->i", W_new, W)) - 1.0))
        W = W_new
        if change < tol:
            return W, it
    from sklearn.exceptions import ConvergenceWarning

    warnings.warn(f"ICA: FastICA did not converge in max_iterations={max_iterations} iterations "
                  f"(last change {change:.2g} >= tolerance {tol:g}); increase max_iterations",
                  ConvergenceWarning, stacklevel=4)
    return W, max_iterations


class ICA(SeparationBase):
    """Independent component analysis of the channels (FastICA), each component's image on every channel.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (never modified).
    num_sources : int or None
        Number of components K, from 1 to the number of channels; None: one per channel.
    max_iterations : int, default 200
        Largest number of FastICA iterations (nussl's default). When FastICA stops there
        before its tolerance (``1e-4`` on ``max_k |1 - |w_k(new) . w_k||``, scikit-learn's),
        :meth:`run` warns with scikit-learn's ``ConvergenceWarning``, as scikit-learn does.
    seed : int, numpy.random.Generator or None
        Seed of FastICA's random start. An int is scikit-learn FastICA's ``random_state`` (so
        ``ICA(mix, seed=s)`` computes what ``FastICA(random_state=s)`` computes); a Generator
        gives one draw; None is not reproducible.

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
        self.mixing = None
        self.n_iter = None
        self._unmix = self._mean = self._components = None

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
        x = self.audio_signal.audio_data  # (C, N) float64, C-contiguous
        n = x.shape[1]
        k = self._k
        mean, cov = _mean_covariance(x)
        eig, vec = np.linalg.eigh(cov)
        if eig[-1] <= 0 or eig[-k] <= 1e-12 * eig[-1]:
            raise _E(f"the mixture's channels span {int(np.sum(eig > 1e-12 * max(eig[-1], 0)))} independent "
                     f"direction(s), fewer than num_sources={k} (identical, proportional or silent channels)")
        # PCA whitening to unit variance, scikit-learn's: principal directions by decreasing variance,
        # each signed so that its first entry is positive; z = whitening @ (x - mean) has E[z z^T] = I.
        eig, vec = eig[::-1][:k], vec[:, ::-1][:, :k]
        vec = vec * np.where(vec[0] < 0, -1.0, 1.0)
        whitening = (vec / np.sqrt(eig)).T  # (K, C)
        w_init = np.random.RandomState(self._random_state()).normal(size=(k, k))
        W, self.n_iter = _fastica(x, mean, whitening, w_init, self.max_iterations, TOLERANCE)
        # Unit-variance components s = unmix (x - mean) and the least-squares mixing matrix
        # argmin_A ||(x - mean) - A s||, both from the covariance (no pass over the samples).
        unmix = W @ whitening
        unmix /= np.sqrt(np.einsum("kc,cd,kd->k", unmix, cov, unmix))[:, None]
        gram = unmix @ cov @ unmix.T  # E[s s^T], (K, K)
        mixing = np.linalg.solve(gram, unmix @ cov).T  # (C, K)
        energy = (mixing**2).sum(axis=0) * np.diag(gram)
        order = np.argsort(-energy, kind="stable")
        unmix = np.ascontiguousarray(unmix[order])
        self.mixing = np.ascontiguousarray(mixing[:, order])
        self._unmix, self._mean, self._components = unmix, mean, None
        self.result_images = np.empty((k, x.shape[0], n))
        _kernels.project_images(x, mean, unmix, self.mixing, self.result_images)
        return self.result_images

    @property
    def components(self):
        """After :meth:`run`: the unit-variance components ``(K, n_samples)`` (computed on first access)."""
        if self._components is None and self._unmix is not None:
            x = self.audio_signal.audio_data
            self._components = self._unmix @ (x - self._mean[:, None])
        return self._components

    def make_audio_signals(self) -> list[AudioSignal]:
        """One signal per component: its image on every channel, shaped like the mixture."""
        self._check_run()
        return [AudioSignal._trusted(image, self.sample_rate, label=label)
                for image, label in zip(self.result_images, self.source_labels)]


register(
    "ica", ICA, "independent component analysis of the channels (FastICA), each component's image on every channel",
    needs=("multichannel",),
    quick={"max_iterations": 100},
)
