"""Dictionary learning of DictSep: bounded Adam on the pursuit loss, with column renewal.

After ``notes/dictsep.md`` section 3.6. A dictionary ``D`` (``K`` harmonics x ``C``
columns, entries in ``[0, 1]``) is learned from a log-frequency spectrogram ``Y`` by
stochastic steps. One step:

1. draw a frame ``y = Y[:, t]`` uniformly (silent frames included);
2. pursue it with the current ``D`` (:func:`~sepkit.separation.dictsep.pursuit.pursue_tones`,
   templates rebuilt from ``D``);
3. add each tone's amplitude to its column's score and count the step for every column;
4. take the gradient ``g = dE/dD`` at the fitted tones
   (:func:`~sepkit.separation.dictsep.kernels.grad_dict_log`) and one bounded Adam step
   (:func:`adam_b_step`) in the direction ``-g``;
5. every ``lifetime`` steps, renew the ``C - n_inst`` columns with the smallest
   ``score / (count - lifetime // 2)`` by fresh random columns (:func:`random_dictionary`),
   resetting their scores, counts and Adam state.

Training uses ``C = 2 n_inst`` columns; the ``n_inst`` columns that survived the last
renewal (count ``>= lifetime``) are returned. Every random number is drawn beforehand from a
:class:`numpy.random.Generator`, so a seed reproduces a run exactly, and several seeds train
in parallel (numba threads).
"""

from __future__ import annotations

import math
import numbers

import numba
import numpy as np

from ...core.errors import SeparationError
from ._checks import check_int, check_log_spectrogram, check_positive
from .frontend import SIGMAS
from .kernels import fft_twiddles, grad_dict_log, template_spectra
from .logspect import FMAX, FMIN, log_axis_lambda
from .pursuit import _pursue, _templates

__all__ = ["random_dictionary", "adam_b_step", "train_dictionaries"]


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise SeparationError(f"seed must be None, an int or a numpy.random.Generator, got {seed!r}")


def _columns_from_draws(exponents, uniforms):
    """``D[h, j] = h^(-exponents[j]) * uniforms[h, j]``, each column scaled to maximum 1."""
    K = uniforms.shape[0]
    h = np.arange(1, K + 1, dtype=np.float64)[:, None]
    D = h ** (-exponents[None, :]) * uniforms
    peak = D.max(axis=0)
    peak[peak == 0] = 1.0
    return D / peak


def random_dictionary(harmonics: int, columns: int, seed=None) -> np.ndarray:
    """Random initial dictionary, as Musisep draws it.

    For every column an exponent ``X ~ Lomax(0.5)`` (``Generator.pareto(0.5)``) and weights
    ``U_h ~ U(0, 1)`` give ``D[h] = h^(-X) U_h``, then the column is scaled to maximum 1.

    Parameters
    ----------
    harmonics : int
        Rows ``K``.
    columns : int
        Columns ``C``.
    seed : int, numpy.random.Generator or None
        Randomness.

    Returns
    -------
    numpy.ndarray, shape (harmonics, columns)
        Entries in ``[0, 1]``.
    """
    harmonics = check_int("harmonics", harmonics, 1)
    columns = check_int("columns", columns, 1)
    rng = _rng(seed)
    exps = np.empty(columns)
    unif = np.empty((harmonics, columns))
    for j in range(columns):  # per column: the exponent, then its K weights
        exps[j] = rng.pareto(0.5)
        unif[:, j] = rng.random(harmonics)
    return _columns_from_draws(exps, unif)


@numba.njit(cache=True)
def adam_b_step(D, grad, m, v, t, lr, beta1, beta2, eps):
    """One bounded Adam step on ``D`` in the direction ``-grad`` (in place).

    With one second moment and one step count per column ``i``::

        m       <- beta1 m + (1 - beta1) (-grad)
        v[i]    <- beta2 v[i] + (1 - beta2) mean_h grad[h, i]^2
        t[i]    <- t[i] + 1
        D[:, i] <- clip(D[:, i] + lr m[:, i] / (1 - beta1^t[i])
                        / (sqrt(v[i] / (1 - beta2^t[i])) + eps), 0, 1)

    Parameters
    ----------
    D : numpy.ndarray, shape (K, C)
        Dictionary, updated in place.
    grad : numpy.ndarray, shape (K, C)
        Gradient of the loss with respect to ``D``.
    m : numpy.ndarray, shape (K, C)
        First moment, updated in place.
    v : numpy.ndarray, shape (C,)
        Per-column second moment, updated in place.
    t : numpy.ndarray, shape (C,), int64
        Per-column step counts, updated in place.
    lr, beta1, beta2, eps : float
        Adam constants (Musisep: 1e-3, 0.9, 0.999, 1e-8).
    """
    K, C = D.shape
    for i in range(C):
        t[i] += 1
        acc = 0.0
        for h in range(K):
            acc += grad[h, i] * grad[h, i]
        v[i] = beta2 * v[i] + (1.0 - beta2) * acc / K
        c1 = 1.0 - beta1 ** t[i]
        vhat = v[i] / (1.0 - beta2 ** t[i])
        denom = math.sqrt(vhat) + eps
        for h in range(K):
            m[h, i] = beta1 * m[h, i] - (1.0 - beta1) * grad[h, i]
            value = D[h, i] + lr * (m[h, i] / c1) / denom
            D[h, i] = min(max(value, 0.0), 1.0)


@numba.njit(cache=True)
def _train_one(Y, D, frames, renew_exp, renew_unif, n_keep, lifetime, lam, s0, tone_num,
               beta, p, q, fit_iter, ftol, gtol, lr, beta1, beta2, eps, amps, cnt):
    """Train one dictionary; ``frames`` (n_steps, batch) holds the frames of every step."""
    K, C = D.shape
    m_len = Y.shape[0]
    mom = np.zeros((K, C))
    v = np.zeros(C)
    t = np.zeros(C, dtype=np.int64)
    grad = np.zeros((K, C))
    grad_frame = np.zeros((K, C))
    R = np.empty(m_len)
    y = np.empty(m_len)
    max_iter = 2 * tone_num * C
    n_renew = C - n_keep
    renewal = 0
    loss_sum = 0.0
    use_fft = (m_len & (m_len - 1)) == 0 and m_len >= 2
    tw = fft_twiddles(2 * m_len if use_fft else 2)
    for step in range(1, frames.shape[0] + 1):
        templates = _templates(D, m_len, lam, s0, q)
        spectra, norms2 = template_spectra(templates if use_fft else np.zeros((2, 1)), tw)
        grad[:, :] = 0.0
        for j in range(frames.shape[1]):  # a mini-batch: one set of templates, summed gradients
            y[:] = Y[:, frames[step - 1, j]]  # a C-ordered copy (a strided view would slow every kernel)
            a, mu, sig, b, cls = _pursue(y, D, templates, use_fft, spectra, norms2, tw, lam, s0, tone_num,
                                         max_iter, beta, p, q, fit_iter, ftol, gtol)
            for k in range(a.shape[0]):
                amps[cls[k]] += a[k]
            loss_sum += grad_dict_log(y, a, mu, sig, b, cls, D, lam, p, q, R, grad_frame)
            grad += grad_frame
        for i in range(C):
            cnt[i] += 1
        adam_b_step(D, grad, mom, v, t, lr, beta1, beta2, eps)
        if step % lifetime == 0:
            score = np.empty(C)
            for i in range(C):
                score[i] = amps[i] / (cnt[i] - lifetime // 2)
            order = np.argsort(score, kind="mergesort")
            for j in range(n_renew):
                i = order[j]
                e = renew_exp[renewal, j]
                peak = 0.0
                for h in range(K):
                    D[h, i] = (h + 1.0) ** (-e) * renew_unif[renewal, h, j]
                    peak = max(peak, D[h, i])
                if peak > 0.0:
                    for h in range(K):
                        D[h, i] /= peak
                amps[i] = 0.0
                cnt[i] = 0
                v[i] = 0.0
                t[i] = 0
                for h in range(K):
                    mom[h, i] = 0.0
            renewal += 1
    return loss_sum


@numba.njit(cache=True, parallel=True)
def _train_many(Y, D0, frames, renew_exp, renew_unif, n_keep, lifetime, lam, s0, tone_num, beta,
                p, q, fit_iter, ftol, gtol, lr, beta1, beta2, eps, amps, cnt, losses):
    for r in numba.prange(D0.shape[0]):
        losses[r] = _train_one(Y, D0[r], frames[r], renew_exp[r], renew_unif[r], n_keep,
                               lifetime, lam, s0, tone_num, beta, p, q, fit_iter, ftol, gtol,
                               lr, beta1, beta2, eps, amps[r], cnt[r])


def train_dictionaries(
    Y,
    n_inst: int,
    *,
    runs: int = 10000,
    lifetime: int = 500,
    num_dicts: int = 1,
    harmonics: int = 25,
    tone_num: int = 1,
    seed=None,
    beta: float = 0.9,
    p: float = 1.0,
    q: float = 0.5,
    fmin: float = FMIN,
    fmax: float = FMAX,
    sigmas: float = SIGMAS,
    lr: float = 1e-3,
    fit_iter: int = 100,
    ftol: float = 2.220446049250313e-09,
    gtol: float = 1e-5,
    batch_size: int = 1,
    sampling: str = "uniform",
):
    """Learn ``num_dicts`` dictionaries from a log spectrogram, seeds in parallel.

    Parameters
    ----------
    Y : array_like, shape (M, n_frames)
        Non-negative log-frequency spectrogram (e.g. from
        :func:`~sepkit.separation.dictsep.logspect.log_spectrogram`).
    n_inst : int
        Number of instruments ``I``; training uses ``2 I`` columns.
    runs : int
        Training steps per dictionary, at least ``lifetime`` (the paper's drivers: 100000).
    lifetime : int
        Renewal period (Musisep: 500).
    num_dicts : int
        Dictionaries trained from independent random streams.
    harmonics : int
        Rows ``K`` of the dictionary.
    tone_num : int
        Tones per instrument and frame in the pursuit.
    seed : int, numpy.random.Generator or None
        Randomness: every initial column, frame index and renewal is drawn from it before
        training (dictionary ``r`` uses the ``r``-th child stream of ``seed``).
    beta, p, q, fmin, fmax, sigmas, fit_iter, ftol, gtol :
        Pursuit settings, as in :func:`~sepkit.separation.dictsep.pursuit.pursue_frames`.
    lr : float
        Adam step size (Musisep: 1e-3; ``beta1 = 0.9``, ``beta2 = 0.999``, ``eps = 1e-8``).
    batch_size : int
        Frames per Adam step (Musisep: 1); their gradients are summed and the templates are
        built once per step. ``runs`` and ``lifetime`` count steps.
    sampling : {'uniform', 'energy'}
        How frames are drawn: uniformly (Musisep, silent frames included), or with
        probability proportional to ``sum_x Y[x, t]^(2q)`` (the frame's energy in the
        q-domain of the loss; silent frames are never drawn).

        On the chorale duet (2000 steps, six seeds) neither option beat the original's
        uniform single-frame steps: mean SI-SDR 7.3 dB uniform, 3.0 dB energy-weighted,
        0.0 dB with batches of 4 at the same number of frames; so :class:`DictSep` keeps
        Musisep's choice in both modes.

    Returns
    -------
    dicts : numpy.ndarray, shape (num_dicts, harmonics, n_inst)
        The columns that survived the last renewal, in their training order.
    losses : numpy.ndarray, shape (num_dicts,)
        Sum over the training steps of the pursuit loss of the drawn frame.
    """
    Y = check_log_spectrogram(Y)
    ints = {}
    for name, value, low in (("n_inst", n_inst, 1), ("runs", runs, 1), ("lifetime", lifetime, 2),
                             ("num_dicts", num_dicts, 1), ("harmonics", harmonics, 1),
                             ("tone_num", tone_num, 1), ("fit_iter", fit_iter, 1), ("batch_size", batch_size, 1)):
        ints[name] = check_int(name, value, low)
    if runs < lifetime:
        raise SeparationError(
            f"runs must be at least lifetime ({lifetime}) so that columns survive a renewal, got {runs!r}"
        )
    floats = {}
    for name, value in (("beta", beta), ("p", p), ("q", q), ("fmin", fmin), ("fmax", fmax),
                        ("sigmas", sigmas), ("lr", lr)):
        floats[name] = check_positive(name, value)
    if beta > 1:
        raise SeparationError(f"beta must be in (0, 1], got {beta!r}")
    if not fmin < fmax:
        raise SeparationError(f"fmin must be below fmax, got fmin={fmin!r}, fmax={fmax!r}")
    if sampling not in ("uniform", "energy"):
        raise SeparationError(f"sampling must be 'uniform' or 'energy', got {sampling!r}")
    weights = None
    if sampling == "energy":
        energy = (Y ** (2 * floats["q"])).sum(axis=0)
        if not energy.sum() > 0:
            raise SeparationError("sampling='energy' needs a frame with energy, but Y is all zero")
        weights = energy / energy.sum()
    children = _rng(seed).spawn(ints["num_dicts"])
    return _train_streams(Y, ints["n_inst"], children, ints["harmonics"], ints["runs"], ints["lifetime"],
                          ints["tone_num"], floats, ints["fit_iter"], float(ftol), float(gtol),
                          ints["batch_size"], weights)


def _frame_draws(rng, n_frames, n_steps, batch_size, weights):
    """Frame indices ``(n_steps, batch_size)``: uniform (Musisep's ``randint``) or by ``weights``."""
    if weights is None:
        return rng.integers(0, n_frames, n_steps * batch_size).reshape(n_steps, batch_size)
    return rng.choice(n_frames, size=(n_steps, batch_size), p=weights)


def _train_streams(Y, I, children, K, n_runs, lifetime, tone_num, floats, fit_iter, ftol, gtol,
                   batch_size=1, weights=None):
    """Train one dictionary per generator of ``children`` (validated inputs; seeds in parallel).

    Dictionary ``r`` depends only on ``children[r]``, so training the streams in groups gives
    the same dictionaries as training them together. ``n_runs`` and ``lifetime`` count Adam
    steps of ``batch_size`` frames each; ``weights`` (n_frames,), summing to 1, are the
    frame-sampling probabilities (None: uniform).
    """
    C = 2 * I
    S = len(children)
    n_renewals = n_runs // lifetime
    D0 = np.empty((S, K, C))
    frames = np.empty((S, n_runs, batch_size), dtype=np.int64)
    renew_exp = np.empty((S, max(n_renewals, 1), I))
    renew_unif = np.empty((S, max(n_renewals, 1), K, I))
    for r, rng in enumerate(children):
        D0[r] = random_dictionary(K, C, rng)
        frames[r] = _frame_draws(rng, Y.shape[1], n_runs, batch_size, weights)
        for j in range(n_renewals):
            for c in range(I):
                renew_exp[r, j, c] = rng.pareto(0.5)
                renew_unif[r, j, :, c] = rng.random(K)
    amps = np.zeros((S, C))
    cnt = np.zeros((S, C), dtype=np.int64)
    losses = np.zeros(S)
    lam = log_axis_lambda(Y.shape[0], floats["fmin"], floats["fmax"])
    _train_many(Y, D0, frames, renew_exp, renew_unif, I, int(lifetime), lam,
                floats["sigmas"] / math.pi, tone_num, floats["beta"], floats["p"],
                floats["q"], fit_iter, ftol, gtol, floats["lr"], 0.9,
                0.999, 1e-8, amps, cnt, losses)
    dicts = np.empty((S, K, I))
    for r in range(S):
        survivors = np.flatnonzero(cnt[r] >= lifetime)
        dicts[r] = D0[r][:, survivors[:I]]
    return dicts, losses
