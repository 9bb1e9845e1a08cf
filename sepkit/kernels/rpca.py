"""Kernel of robust PCA by the inexact augmented Lagrange multiplier method (IALM).

:func:`ialm_update` fuses the element-wise work of one IALM iteration after the singular
value thresholding step: the soft-thresholded sparse part, the update of the multipliers, the
residual's squared Frobenius norm and the next matrix to threshold. In numpy these are about
a dozen passes over the ``(n_freq, n_frames)`` arrays, each allocating a temporary; here it is
one pass, in place.

Pure functions on C-contiguous float64 arrays; nothing from sepkit is imported.
"""

import numba

__all__ = ["ialm_update"]


@numba.njit(cache=True)
def ialm_update(data, low_rank, multipliers, mu, mu_next, lam, sparse, next_input):
    """One IALM step after the low-rank update; ``sparse``, ``multipliers`` and ``next_input`` are written.

    With ``D = data``, ``L = low_rank``, ``Y = multipliers``:

    - ``S = sign(X) max(|X| - lam / mu, 0)`` where ``X = D - L + Y / mu``;
    - ``Y <- Y + mu (D - L - S)``;
    - ``next_input = D - S + Y / mu_next`` (the matrix the next iteration thresholds).

    Parameters
    ----------
    data, low_rank : numpy.ndarray of float64, shape (m, n)
        ``D`` and the new ``L``.
    multipliers : numpy.ndarray of float64, shape (m, n)
        ``Y``, updated in place.
    mu, mu_next : float
        The penalty of this iteration and of the next one.
    lam : float
        Weight of the sparse part's l1 norm.
    sparse, next_input : numpy.ndarray of float64, shape (m, n)
        Outputs.

    Returns
    -------
    float
        ``||D - L - S||_F^2`` (with the new ``S``).
    """
    m, n = data.shape
    tau = lam / mu
    total = 0.0
    for i in range(m):
        for j in range(n):
            d = data[i, j]
            y = multipliers[i, j]
            x = d - low_rank[i, j] + y / mu
            ax = abs(x) - tau
            s = 0.0
            if ax > 0.0:
                s = ax if x > 0.0 else -ax
            sparse[i, j] = s
            r = d - low_rank[i, j] - s
            total += r * r
            y = y + mu * r
            multipliers[i, j] = y
            next_input[i, j] = d - s + y / mu_next
    return total
