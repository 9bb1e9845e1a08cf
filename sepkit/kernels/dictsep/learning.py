"""DictSep kernels: bounded Adam and the training loop of the dictionary (``notes/dictsep.md`` 3.6).

:func:`train_one` learns one dictionary from pre-drawn random numbers and
:func:`train_many` trains several (run on threads). The validated front end is
:func:`sepkit.separation.dictsep.learning.train_dictionaries`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .pursuit import fft_templates, pursue_frame, render_templates
from .tones import grad_dict_log

__all__ = ["adam_b_step", "train_one", "train_many"]


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
def train_one(Y, D, frames, renew_exp, renew_unif, n_keep, lifetime, lam, s0, tone_num,
               beta, p, q, fit_iter, ftol, gtol, lr, beta1, beta2, eps, amps, cnt):
    """Train one dictionary ``D`` (K, C) in place; return the summed pursuit loss of its steps.

    ``frames`` (n_steps, batch) holds the frames of every step; ``renew_exp``
    (n_renewals, C - n_keep) and ``renew_unif`` (n_renewals, K, C - n_keep) the draws of the
    renewed columns; ``amps`` and ``cnt`` (C,) receive each column's summed amplitude and
    step count since its last renewal. The other arguments are the pursuit's
    (:func:`~sepkit.kernels.dictsep.pursuit.pursue_frame`) and Adam's (:func:`adam_b_step`).
    """
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
    for step in range(1, frames.shape[0] + 1):
        templates = render_templates(D, m_len, lam, s0, q)
        use_fft, spectra, norms2 = fft_templates(templates, m_len)
        grad[:, :] = 0.0
        for j in range(frames.shape[1]):  # a mini-batch: one set of templates, summed gradients
            y[:] = Y[:, frames[step - 1, j]]  # a C-ordered copy (a strided view would slow every kernel)
            a, mu, sig, b, cls = pursue_frame(y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num,
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


@numba.njit(cache=True, nogil=True)
def train_many(Y, D0, frames, renew_exp, renew_unif, n_keep, lifetime, lam, s0, tone_num, beta,
               p, q, fit_iter, ftol, gtol, lr, beta1, beta2, eps, amps, cnt, losses, start, stop):
    """Train dictionaries ``start`` to ``stop - 1`` of ``S``, one :func:`train_one` each.

    Serial and ``nogil``: run on several threads by :func:`sepkit.kernels.threaded.run_threaded`.

    ``D0`` (S, K, C) holds the initial dictionaries and is trained in place; ``frames``
    (S, n_steps, batch), ``renew_exp`` (S, n_renewals, C - n_keep) and ``renew_unif``
    (S, n_renewals, K, C - n_keep) the pre-drawn random numbers; ``amps`` (S, C) and ``cnt``
    (S, C) receive the column scores and counts, ``losses`` (S,) the summed pursuit losses.
    """
    for r in range(start, stop):
        losses[r] = train_one(Y, D0[r], frames[r], renew_exp[r], renew_unif[r], n_keep,
                              lifetime, lam, s0, tone_num, beta, p, q, fit_iter, ftol, gtol,
                              lr, beta1, beta2, eps, amps[r], cnt[r])
