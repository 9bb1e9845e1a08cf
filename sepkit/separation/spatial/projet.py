r"""PROJET: stereo separation by projections (Fitzgerald, Liutkus and Badeau 2016).

Each source j sits at an unknown mixture of *locations* (a panning angle and an inter-channel
delay): ``a_l(f) = [cos theta_l, sin theta_l e^{-2i pi nu_f d_l}]``. The stereo STFT ``x(f, t)``
is projected on M *projection* vectors ``u_m(f)`` of the same form (angles in
``[-pi/2, 0]``, so each projection cancels the locations it is orthogonal to), giving
``C_m = u_m^T x`` and magnitudes ``V_m = |C_m|^alpha``. The model

.. math:: V_m(f, t) \approx \sigma_m(f, t) = \sum_j \Big(\sum_l K_{ml}(f) Q_{lj}\Big) P_j(f, t),
          \qquad K_{ml}(f) = |u_m(f)^T a_l(f)|^\alpha

(P: source spectrograms, Q: each source's distribution over the locations) is fitted by
multiplicative updates for the beta-divergence. Each source's STFT is then
``s_j = U^+ (G_j \odot C)`` with the Wiener gains ``G_mj = KQ_mj P_j / sum_j' KQ_mj' P_j'``
and ``U^+`` the pseudo-inverse of the ``M x 2`` projection matrix, so the sources sum to the
mixture. Not a mask separator: the estimates come straight from the projections.

nussl's ``Projet`` (nussl/separation/spatial/projet.py) with its defaults and updates; see the
class's Notes for the differences.
"""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, SeparationError
from ...core.stft_params import get_window
from ...core.validation import check_int, check_real, check_seed, default_rng
from ...kernels import projet as _kernels
from ..base import SeparationBase, signals_from_stfts, validate_labels, validate_stft_params
from ..registry import register

__all__ = ["Projet", "fit_projet", "panning_delay_vectors", "projet_kernel"]

_E = SeparationError
#: nussl's epsilon of the P update (on its STFT scaled by 1/sum(window), which Projet reproduces).
EPS = 1e-8


def panning_delay_vectors(pannings, delays, n_freq) -> np.ndarray:
    """Vectors ``[cos p, sin p e^{-2i pi nu_f d}]`` for every (panning, delay) pair, panning-major.

    Parameters
    ----------
    pannings, delays : array_like of float
        Angles in radians and delays in samples.
    n_freq : int
        Number of frequencies, ``nu_f = linspace(0, 0.5, n_freq)`` (cycles per sample).

    Returns
    -------
    numpy.ndarray of complex128, shape (n_freq, len(pannings) * len(delays), 2)
        Index ``p * len(delays) + d`` for panning p and delay d (nussl's order).
    """
    pannings = np.asarray(pannings, dtype=np.float64)
    delays = np.asarray(delays, dtype=np.float64)
    nu = np.linspace(0.0, 0.5, n_freq)
    phase = np.exp(-2j * np.pi * nu[:, None] * delays[None, :])  # (F, D)
    out = np.empty((n_freq, pannings.size, delays.size, 2), dtype=np.complex128)
    out[..., 0] = np.cos(pannings)[None, :, None]
    out[..., 1] = np.sin(pannings)[None, :, None] * phase[:, None, :]
    return out.reshape(n_freq, -1, 2)


def projet_kernel(projections, locations, alpha=1.0) -> np.ndarray:
    """``K[f, m, l] = |u_m(f)^T a_l(f)|^alpha`` (plain transpose, no conjugation), float64 ``(F, M, L)``."""
    projections = np.ascontiguousarray(projections, dtype=np.complex128)
    out = np.empty((projections.shape[0], projections.shape[1], locations.shape[1]))
    _kernels.kernel_matrix(projections, _kernels.planes(locations), float(alpha), out)
    return out


def fit_projet(X, U, K, P, Q, n_iter, alpha=1.0, beta=1.0, eps=EPS):
    """Fit P and Q by ``n_iter`` multiplicative updates (nussl's order: P, then Q with the new P).

    Parameters
    ----------
    X : numpy.ndarray of complex, shape (F, T, 2)
        The stereo STFT (sepkit's Projet passes it scaled by ``1 / sum(window)``, nussl's scale).
    U : numpy.ndarray of complex, shape (F, M, 2)
        Projection vectors.
    K : numpy.ndarray of float, shape (F, M, L)
        :func:`projet_kernel`.
    P : numpy.ndarray of float, shape (F, J, T)
        Start of the source spectrograms (not modified).
    Q : numpy.ndarray of float, shape (L, J)
        Start of the spatial distributions (not modified).
    n_iter : int
    alpha, beta, eps : float

    Returns
    -------
    P : numpy.ndarray, shape (F, J, T)
    Q : numpy.ndarray, shape (L, J)
    """
    Xp = _kernels.planes(X)
    U = np.ascontiguousarray(U, dtype=np.complex128)
    K = np.ascontiguousarray(K, dtype=np.float64)
    F, M, L = K.shape
    P = np.array(P, dtype=np.float64, order="C")
    Q = np.array(Q, dtype=np.float64, order="C")
    J = Q.shape[1]
    QN = np.empty((F, J, L))
    QD = np.empty((F, J, L))
    k_sum = np.ascontiguousarray(K.sum(axis=1))
    T = Xp.shape[2]
    # The projection magnitudes V (F, M, T) are kept between iterations when they take no more
    # memory than K (T <= L frames), else recomputed per frequency each iteration (same values).
    V = np.empty((F, M, T) if T <= L else (0, 0, 0))
    for it in range(n_iter):
        _kernels.p_step(Xp, U, K, k_sum, np.ascontiguousarray(Q.T), P, float(alpha), float(beta), float(eps),
                        QN, QD, V, it == 0)
        num = QN.sum(axis=0).T
        den = QD.sum(axis=0).T
        ok = den > 0  # nussl divides by zero here when a source's P vanished (NaN)
        Q[ok] *= num[ok] / den[ok]
    return P, Q


class Projet(SeparationBase):
    """PROJET: spatial separation of a stereo mixture by projections (panning and delay).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        A stereo mixture (never modified).
    num_sources : int
        Number of sources J >= 1.
    n_iter : int, default 50
        Multiplicative-update iterations (nussl's ``num_iterations``).
    maximum_delay_in_samples : float, default 20
        Largest inter-channel delay D >= 0 modelled, in samples (locations and projections span
        ``[-D, D]``).
    location_set_panning, location_set_delay : int, default 30, 17
        Panning angles (in ``[0, pi/2]``) and delays of the candidate locations.
    projection_set_panning, projection_set_delay : int, default 10, 9
        Panning angles (in ``[-pi/2, 0]``) and delays of the projections.
    beta : float, default 1
        The beta-divergence fitted, in [0, 2] (1: Kullback-Leibler; 0: Itakura-Saito; 2: Euclidean).
    alpha : float, default 1
        Exponent > 0 of the projection magnitudes.
    seed : int, numpy.random.Generator or None
        Seed of the random start of P and Q (``|N(0, 1)|`` draws, as nussl's).
    stft_params : STFTParams or None
        STFT parameters; None uses the mixture's.

    Attributes
    ----------
    P : numpy.ndarray or None
        After :meth:`run`: source spectrograms, ``(n_freq, num_sources, n_frames)``.
    Q : numpy.ndarray or None
        After :meth:`run`: distributions over the locations, ``(location_set_panning *
        location_set_delay, num_sources)``, panning-major.
    result_stfts : numpy.ndarray or None
        After :meth:`run`: source STFTs ``(n_freq, n_frames, 2, num_sources)``; they sum to the
        mixture's STFT.

    Raises
    ------
    SeparationError
        For a mixture that is not stereo (PROJET's model has two channels), or a bad parameter.

    Notes
    -----
    Differences from nussl's ``Projet``:

    * **Finite output, always.** nussl divides 0 by 0 in degenerate bins: its ``Q`` update has no
      epsilon (a source whose P vanished gives NaN), its ``V sigma^(beta-2)`` is NaN where the
      model and the data are both 0, and its gain divides by P (``KQ / P``), infinite once P
      underflows to 0; one NaN then spreads through the sums over frequency and time to every
      output sample. Here those terms are 0 (a zero P stays zero), a zero Q denominator leaves Q
      as it is, and a projection with no modelled energy splits evenly (``1/J``).
    * **Gain.** The paper's Wiener gain ``KQ_mj P_j / sum_j' KQ_mj' P_j'``; nussl's divides by
      P instead (``(KQ_mj / P_j) / sum_j' KQ_mj' / P_j'``), which favours the *quieter* source
      of a projection.
    * Seeded start (nussl draws from numpy's global generator); nussl's ``estimates`` argument,
      which it ignores, is not offered; ``run()`` can be called again.
    * The updates of P and Q are nussl's (the same values to rounding: tests/data/nussl/projet.npz),
      computed one frequency at a time. nussl holds several ``(F, M, T)`` tensors (about 2 GB each
      on 30 s of 44.1 kHz audio); sepkit at most one, the projection magnitudes, kept between
      iterations only when they take no more memory than the kernel ``K`` (``n_frames <=
      location_set_panning * location_set_delay``: about 6 s of 44.1 kHz audio with the defaults)
      and recomputed per frequency otherwise (the same values, about 20% more time per iteration).

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_spatial_example("anechoic", duration=1.0)
    >>> first, second = Projet(mix, num_sources=2, n_iter=10, seed=0)()
    >>> first.audio_data.shape == mix.audio_data.shape
    True
    """

    def __init__(self, input_audio_signal, num_sources, n_iter=50, maximum_delay_in_samples=20,
                 location_set_panning=30, location_set_delay=17, projection_set_panning=10,
                 projection_set_delay=9, beta=1.0, alpha=1.0, seed=None, stft_params=None):
        super().__init__(input_audio_signal)
        if input_audio_signal.num_channels != 2:
            raise _E(f"Projet needs a stereo mixture (two channels), got {input_audio_signal.num_channels} "
                     "channel(s)")
        self.num_sources = check_int("num_sources", num_sources, 1, error=_E)
        self.n_iter = check_int("n_iter", n_iter, 0, error=_E)
        self.maximum_delay_in_samples = check_real("maximum_delay_in_samples", maximum_delay_in_samples, 0.0,
                                                   error=_E)
        self.location_set_panning = check_int("location_set_panning", location_set_panning, 1, error=_E)
        self.location_set_delay = check_int("location_set_delay", location_set_delay, 1, error=_E)
        self.projection_set_panning = check_int("projection_set_panning", projection_set_panning, 1, error=_E)
        self.projection_set_delay = check_int("projection_set_delay", projection_set_delay, 1, error=_E)
        self.beta = check_real("beta", beta, 0.0, 2.0, error=_E)
        self.alpha = check_real("alpha", alpha, 0.0, inclusive=False, error=_E)
        self.seed = check_seed(seed, error=_E)
        self.stft_params = validate_stft_params(stft_params, input_audio_signal)
        self.source_labels = validate_labels(None, self.num_sources)
        self.P = self.Q = self.result_stfts = None

    def _sets(self, n_freq):
        d = self.maximum_delay_in_samples
        locations = panning_delay_vectors(np.linspace(0, np.pi / 2, self.location_set_panning),
                                          np.linspace(-d, d, self.location_set_delay), n_freq)
        projections = panning_delay_vectors(np.linspace(-np.pi / 2, 0, self.projection_set_panning),
                                            np.linspace(-d, d, self.projection_set_delay), n_freq)
        return locations, projections

    def run(self) -> np.ndarray:
        """Fit the model and separate.

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_frames, 2, num_sources)
            The source STFTs (``result_stfts``).
        """
        X = np.ascontiguousarray(self.audio_signal.stft(self.stft_params), dtype=np.complex128)
        F, T, _ = X.shape
        locations, U = self._sets(F)
        K = projet_kernel(U, locations, self.alpha)
        rng = default_rng(self.seed)
        J = self.num_sources
        P0 = np.abs(rng.standard_normal((F, J, T)))
        Q0 = np.abs(rng.standard_normal((locations.shape[1], J)))
        # nussl's STFT is scaled by 1/sum(window): fit on that scale so EPS means what it means there.
        scale = 1.0 / get_window(self.stft_params.window_type, self.stft_params.window_length).sum()
        self.P, self.Q = fit_projet(X * scale, U, K, P0, Q0, self.n_iter, self.alpha, self.beta, EPS)
        KQ = (K.reshape(-1, K.shape[-1]) @ self.Q).reshape(F, U.shape[1], J)
        out = np.empty((F, T, 2, J), dtype=np.complex128)
        _kernels.separate(_kernels.planes(X), U, np.ascontiguousarray(np.linalg.pinv(U)), KQ, self.P, out)
        self.result_stfts = out
        return out

    def make_audio_signals(self) -> list[AudioSignal]:
        """The source estimates, stereo, in the order of P (arbitrary: a random start)."""
        self._check_run()
        return signals_from_stfts(self.audio_signal, self.result_stfts, self.stft_params, self.source_labels)


register(
    "projet", Projet, "spatial separation of stereo by projections on panning/delay directions (PROJET)",
    needs=("num_sources", "multichannel"),
    quick={"n_iter": 5},
)
