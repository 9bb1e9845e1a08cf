"""Initial factors of :func:`sepkit.decomposition.nmf`: NNDSVDa, random, and fixed-template starts."""

import numpy as np

__all__ = ["nndsvda", "random_init", "fixed_template_init"]

#: NNDSVD: singular-vector entries below this are zero (then filled, as scikit-learn).
_NNDSVD_EPS = 1e-6


def _svd(V, k, rng):
    """Leading k singular triplets of V (F, N): exact for small V, randomised otherwise."""
    F, N = V.shape
    if F * N <= 400_000 or k > 0.5 * min(F, N):
        U, S, Vt = np.linalg.svd(V, full_matrices=False)
        return U[:, :k], S[:k], Vt[:k]
    # Halko, Martinsson & Tropp randomised range finder with power iterations, like
    # sklearn.utils.extmath.randomized_svd (10 oversamples, 7 power iterations), seeded.
    p = k + 10
    Q, _ = np.linalg.qr(V @ rng.standard_normal((N, p)))
    for _ in range(7):
        Q, _ = np.linalg.qr(V.T @ Q)
        Q, _ = np.linalg.qr(V @ Q)
    Ub, S, Vt = np.linalg.svd(Q.T @ V, full_matrices=False)
    return (Q @ Ub)[:, :k], S[:k], Vt[:k]


def nndsvda(V, k, rng):
    """NNDSVD of Boutsidis & Gallopoulos (2008), zeros filled with mean(V) (scikit-learn's 'nndsvda')."""
    U, S, Vt = _svd(V.astype(np.float64, copy=False), k, rng)
    W = np.zeros((V.shape[0], k))
    H = np.zeros((k, V.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, k):
        x, y = U[:, j], Vt[j]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.maximum(-x, 0), np.maximum(-y, 0)
        xpn, ypn, xnn, ynn = (np.linalg.norm(a) for a in (xp, yp, xn, yn))
        mp, mn = xpn * ypn, xnn * ynn
        if mp > mn:
            u, v, sigma = xp / xpn, yp / ypn, mp
        elif mn > 0:
            u, v, sigma = xn / xnn, yn / ynn, mn
        else:
            continue  # degenerate pair: left at zero, filled below
        lam = np.sqrt(S[j] * sigma)
        W[:, j] = lam * u
        H[j] = lam * v
    W[W < _NNDSVD_EPS] = 0
    H[H < _NNDSVD_EPS] = 0
    mean = V.mean()
    W[W == 0] = mean
    H[H == 0] = mean
    return W, H


def random_init(V, K, rng):
    """scikit-learn's random start: ``sqrt(mean(V) / K) * |N(0, 1)|`` entries, H drawn first."""
    F, N = V.shape
    scale = np.sqrt(V.mean(dtype=np.float64) / K)
    H = scale * np.abs(rng.standard_normal((K, N)))
    W = scale * np.abs(rng.standard_normal((F, K)))
    return W, H


def fixed_template_init(V, fixed_W, K, rng, H=None):
    """Start of fixed-template NMF: ``W = [fixed_W, free]`` and H.

    The ``K - Kf`` free templates are ``|N(0, 1)|`` columns drawn from ``rng`` and scaled to
    unit Euclidean norm; H (unless given) is constant, ``sum(V) / (sum(W) * N)``, so that
    ``sum(W @ H) = sum(V)``.

    Returns ``W (F, K), H (K, N)`` in float64.
    """
    F, N = V.shape
    Kf = fixed_W.shape[1]
    n_free = K - Kf
    W = np.empty((F, K))
    W[:, :Kf] = fixed_W
    if n_free:
        Wf = np.abs(rng.standard_normal((F, n_free)))
        Wf /= np.linalg.norm(Wf, axis=0)
        W[:, Kf:] = Wf
    if H is None:
        H = np.full((K, N), float(V.sum()) / (float(W.sum()) * N))
    return W, H
