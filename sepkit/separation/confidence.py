r"""Confidence measures of a clustering separation: how clusterable the features of the loud bins are.

These are nussl's six measures (``nussl.ml.confidence``; Seetharaman, Wichern, Le Roux and
Pardo, ICASSP 2019), as pure functions of arrays. Each scores a separation without the true
sources, from the features that a :class:`~sepkit.separation.clustering.ClusteringSeparationBase`
clustered: the higher, the more the features of the loud time-frequency bins fall into
``num_sources`` well separated groups.

Every measure starts the same way (:func:`loud_points`): the bins of the representation
``R`` (the mixture's magnitude spectrogram) strictly above its ``threshold``-th percentile
are kept, giving N feature rows :math:`x_i \in \mathbb{R}^D` and weights :math:`w_i = R`
at those bins. :math:`K` is ``num_sources``. Where a measure needs k-means, it is
scikit-learn's ``KMeans(K, n_init=10)`` seeded by ``seed``, with centres :math:`\mu_k` and
Euclidean distances :math:`d_{ik} = \lVert x_i - \mu_k \rVert_2`.

===================  ===========================================================  ==========
approach             value                                                        range
===================  ===========================================================  ==========
``jensen_shannon``   JS divergence between a 1- and a K-component Gaussian        [0, ln 2]
                     mixture fitted to the points (Monte-Carlo estimate)
``posterior``        mean of :math:`(K \max_k p_{ik} - 1)/(K - 1)`,               [0, 1]
                     :math:`p_{ik} = \mathrm{softmax}_k(-d_{ik})`
``silhouette``       mean silhouette :math:`(b_i - a_i)/\max(a_i, b_i)` of the    [-1, 1]
                     k-means labels (at most ``max_points`` points)
``loudness``         :math:`\min_k n_k / N`, the smallest cluster's share         [0, 1/K]
``whitened_kmeans``  :math:`1 - L_{wk}/(D + K)`, the whitened k-means loss         (-inf, 1]
``dpcl_classic``     :math:`1 - L_{dc}`, the deep-clustering loss                 [0, 1]
===================  ===========================================================  ==========

The two losses (Wang, Le Roux and Hershey, ICASSP 2018, eqs. 6 and 7) use unit rows
:math:`v_i = x_i / \lVert x_i \rVert`, one-hot assignments :math:`y_i` and rows scaled by
the weights, :math:`V' = \mathrm{diag}(w) V`, :math:`Y' = \mathrm{diag}(w) Y`:

.. math::

    L_{wk} = D + K - 2\,\mathrm{tr}\!\left(C^\top (V'^\top V' + I_D)^{-1} C\, (Y'^\top Y' + I_K)^{-1}\right),
    \quad C = V'^\top Y',

    L_{dc} = \frac{\lVert V'^\top V' \rVert_F^2 - 2 \lVert V'^\top Y' \rVert_F^2 + \lVert Y'^\top Y' \rVert_F^2}
                  {(\sum_i w_i^2)^2 + 10^{-8}}
           = \frac{\sum_{ij} w_i^2 w_j^2 (v_i \cdot v_j - y_i \cdot y_j)^2}{(\sum_i w_i^2)^2 + 10^{-8}}.

Differences from nussl: every random step (k-means, the Gaussian mixtures, their samples,
the silhouette's subsample) is seeded by ``seed`` instead of numpy's global state, and the
assignments of the two losses are to the *nearest* centre (nussl assigns each point to its
*farthest* centre, a bug; ``assignment='farthest'`` reproduces it; both losses are
invariant to relabelling, so the two agree for K = 2). The whitened k-means loss is not
invariant to the level of ``R`` (the identities added to the Gram matrices are not scaled),
as in nussl.
"""

from __future__ import annotations

import numpy as np

from ..core import SeparationError
from ..core.validation import check_array, check_choice, check_int, check_real, check_seed, default_rng

__all__ = [
    "APPROACHES",
    "loud_points",
    "jensen_shannon_divergence",
    "jensen_shannon_confidence",
    "posterior_confidence",
    "silhouette_confidence",
    "loudness_confidence",
    "whitened_kmeans_confidence",
    "dpcl_classic_confidence",
    "whitened_kmeans_loss",
    "deep_clustering_loss",
    "confidence",
]

_E = SeparationError


def _random_state(seed) -> int:
    """An int for scikit-learn's ``random_state``: the seed itself, or drawn from the Generator / fresh entropy."""
    seed = check_seed(seed, error=_E)
    if isinstance(seed, int):
        return seed
    return int(default_rng(seed).integers(2**31 - 1))


def loud_points(features, representation, threshold=95.0):
    """The feature rows and weights of the bins strictly above a percentile of the representation.

    Parameters
    ----------
    features : array_like, shape (n_freq, n_frames, n_channels, n_features)
        One feature vector per time-frequency bin (finite reals).
    representation : array_like, shape (n_freq, n_frames, n_channels)
        Nonnegative loudness of every bin (the magnitude spectrogram).
    threshold : float, default 95
        Percentile in [0, 100); bins with ``representation > percentile`` are kept.

    Returns
    -------
    points : numpy.ndarray of float64, shape (N, n_features)
    weights : numpy.ndarray of float64, shape (N,)
        ``representation`` at those bins.

    Raises
    ------
    SeparationError
        For mismatched shapes, non-finite values, a threshold outside [0, 100), or fewer
        than two loud bins.
    """
    phi = check_array("features", features, ndim=4, dtype=np.float64, error=_E)
    rep = check_array("representation", representation, ndim=3, dtype=np.float64, nonneg=True, error=_E)
    if phi.shape[:3] != rep.shape:
        raise _E(f"features {phi.shape} must have the representation's shape {rep.shape} before the feature axis")
    threshold = check_real("threshold (percentile)", threshold, 0.0, 100.0, error=_E)
    if threshold >= 100.0:
        raise _E(f"threshold must be a percentile below 100, got {threshold!r}")
    loud = rep > np.percentile(rep, threshold)
    if np.count_nonzero(loud) < 2:
        raise _E(f"fewer than two bins lie above the {threshold}th percentile of the representation")
    return phi[loud], rep[loud]


def _kmeans(points, num_sources, seed):
    from sklearn.cluster import KMeans

    num_sources = check_int("num_sources", num_sources, 1, error=_E)
    if num_sources > points.shape[0]:
        raise _E(f"cannot form {num_sources} clusters from {points.shape[0]} loud points")
    model = KMeans(n_clusters=num_sources, n_init=10, random_state=_random_state(seed))
    distances = model.fit_transform(points)
    return model, distances


def jensen_shannon_divergence(gmm_p, gmm_q, n_samples=100_000, seed=None) -> float:
    r"""Monte-Carlo Jensen-Shannon divergence of two fitted scikit-learn ``GaussianMixture`` models.

    With :math:`X \sim p` and :math:`Y \sim q` (``n_samples`` each) and
    :math:`m = (p + q)/2`,
    :math:`JS = \frac12 [\overline{\log p(X) - \log m(X)} + \overline{\log q(Y) - \log m(Y)}]`,
    in nats, within [0, ln 2] up to sampling error.

    Parameters
    ----------
    gmm_p, gmm_q : sklearn.mixture.GaussianMixture
        Fitted models of the same dimension.
    n_samples : int, default 100000
    seed : int, numpy.random.Generator or None
        Seed of the samples (the models' own ``random_state`` is not used).

    Returns
    -------
    float
    """
    n_samples = check_int("n_samples", n_samples, 1, error=_E)
    rng = default_rng(seed, error=_E)
    X = _sample_gmm(gmm_p, n_samples, rng)
    Y = _sample_gmm(gmm_q, n_samples, rng)
    log_2 = np.log(2.0)
    pX, qX = gmm_p.score_samples(X), gmm_q.score_samples(X)
    pY, qY = gmm_p.score_samples(Y), gmm_q.score_samples(Y)
    mX = np.logaddexp(pX, qX) - log_2
    mY = np.logaddexp(pY, qY) - log_2
    return float(0.5 * (np.mean(pX - mX) + np.mean(qY - mY)))


def _sample_gmm(gmm, n, rng) -> np.ndarray:
    """``n`` samples of a fitted full-, tied-, diag- or spherical-covariance GaussianMixture, from ``rng``."""
    counts = rng.multinomial(n, gmm.weights_)
    D = gmm.means_.shape[1]
    out = []
    for k, count in enumerate(counts):
        if count == 0:
            continue
        cov = {
            "full": lambda: gmm.covariances_[k],
            "tied": lambda: gmm.covariances_,
            "diag": lambda: np.diag(gmm.covariances_[k]),
            "spherical": lambda: np.eye(D) * gmm.covariances_[k],
        }[gmm.covariance_type]()
        out.append(rng.multivariate_normal(gmm.means_[k], cov, size=count, method="cholesky"))
    return np.vstack(out)


def jensen_shannon_confidence(features, representation, num_sources, threshold=95.0, n_samples=100_000,
                              seed=None) -> float:
    """Jensen-Shannon divergence between a 1- and a ``num_sources``-component GMM of the loud points.

    Both mixtures have full covariances (scikit-learn's defaults), fitted to the points of
    :func:`loud_points`; see :func:`jensen_shannon_divergence`. 0 for one blob, up to ln 2
    for well separated clusters.

    Parameters
    ----------
    features : array_like, shape (n_freq, n_frames, n_channels, n_features)
    representation : array_like, shape (n_freq, n_frames, n_channels)
    num_sources : int
    threshold : float, default 95
    n_samples : int, default 100000
    seed : int, numpy.random.Generator or None

    Returns
    -------
    float
    """
    from sklearn.mixture import GaussianMixture

    points, _ = loud_points(features, representation, threshold)
    num_sources = check_int("num_sources", num_sources, 1, error=_E)
    rng = default_rng(seed, error=_E)
    one = GaussianMixture(1, random_state=int(rng.integers(2**31 - 1))).fit(points)
    many = GaussianMixture(num_sources, random_state=int(rng.integers(2**31 - 1))).fit(points)
    return jensen_shannon_divergence(one, many, n_samples=n_samples, seed=rng)


def posterior_confidence(features, representation, num_sources, threshold=95.0, seed=None) -> float:
    r"""Mean normalised largest posterior of soft k-means with unit temperature.

    :math:`p_{ik} = \mathrm{softmax}_k(-d_{ik})` and
    :math:`c = \overline{(K \max_k p_{ik} - 1)/(K - 1)}`: 1 when every point sits on a
    centre far from the others, 0 when the posteriors are uniform.

    Parameters
    ----------
    features, representation, threshold, seed
        As in :func:`jensen_shannon_confidence`.
    num_sources : int
        At least 2.

    Returns
    -------
    float
    """
    num_sources = check_int("num_sources", num_sources, 2, error=_E)
    points, _ = loud_points(features, representation, threshold)
    _, d = _kmeans(points, num_sources, seed)
    z = -d - (-d).max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return float(np.mean((num_sources * p.max(axis=1) - 1.0) / (num_sources - 1.0)))


def silhouette_confidence(features, representation, num_sources, threshold=95.0, max_points=1000,
                          seed=None) -> float:
    r"""Mean silhouette of the k-means labels of (at most ``max_points``) loud points.

    For point i with mean distance :math:`a_i` to the other points of its cluster and
    :math:`b_i` the smallest mean distance to the points of another cluster,
    :math:`s_i = (b_i - a_i) / \max(a_i, b_i)` (0 for a point alone in its cluster;
    scikit-learn's ``silhouette_samples``, Rousseeuw 1987). Points beyond ``max_points``
    are dropped at random (seeded), before k-means.

    Parameters
    ----------
    features, representation, num_sources, threshold, seed
        As in :func:`jensen_shannon_confidence`.
    max_points : int, default 1000

    Returns
    -------
    float
        In [-1, 1].
    """
    from sklearn.metrics import silhouette_samples

    max_points = check_int("max_points", max_points, 2, error=_E)
    points, _ = loud_points(features, representation, threshold)
    rng = default_rng(seed, error=_E)
    if points.shape[0] > max_points:
        points = points[rng.choice(points.shape[0], max_points, replace=False)]
    model, _ = _kmeans(points, num_sources, rng)
    labels = model.labels_
    if np.unique(labels).size < 2:
        return 0.0
    return float(np.mean(silhouette_samples(points, labels)))


def loudness_confidence(features, representation, num_sources, threshold=95.0, seed=None) -> float:
    """Share of the loud points in the smallest k-means cluster, ``min_k n_k / N`` (in [0, 1/K]).

    Despite nussl's name, the points are counted, not weighted by loudness.

    Parameters
    ----------
    features, representation, num_sources, threshold, seed
        As in :func:`jensen_shannon_confidence`.

    Returns
    -------
    float
    """
    points, _ = loud_points(features, representation, threshold)
    model, _ = _kmeans(points, num_sources, seed)
    counts = np.bincount(model.labels_, minlength=int(num_sources))
    return float(counts.min() / counts.sum())


def _assignments(distances, assignment) -> np.ndarray:
    assignment = check_choice("assignment", assignment, ("nearest", "farthest"), error=_E)
    pick = np.argmin(distances, axis=1) if assignment == "nearest" else np.argmax(distances, axis=1)
    Y = np.zeros_like(distances)
    Y[np.arange(distances.shape[0]), pick] = 1.0
    return Y


def _weighted_unit_rows(V, Y, w):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    V = V / np.maximum(norms, 1e-12)
    Y = Y / np.maximum(np.linalg.norm(Y, axis=1, keepdims=True), 1e-12)
    return V * w[:, None], Y * w[:, None]


def whitened_kmeans_loss(points, assignments, weights) -> float:
    """Whitened k-means loss ``L_wk`` of the module's formula (Wang et al. 2018, eq. 6).

    Parameters
    ----------
    points : numpy.ndarray, shape (N, D)
        Embeddings (normalised to unit rows here).
    assignments : numpy.ndarray, shape (N, K)
        One-hot (or any nonnegative) assignments (normalised to unit rows here).
    weights : numpy.ndarray, shape (N,)
        Row weights.

    Returns
    -------
    float
    """
    Vw, Yw = _weighted_unit_rows(np.asarray(points, float), np.asarray(assignments, float), np.asarray(weights, float))
    D, K = Vw.shape[1], Yw.shape[1]
    C = Vw.T @ Yw
    A = Vw.T @ Vw + np.eye(D)
    B = Yw.T @ Yw + np.eye(K)
    trace = np.sum(np.linalg.solve(A, C) * np.linalg.solve(B, C.T).T)
    return float(D + K - 2.0 * trace)


def deep_clustering_loss(points, assignments, weights) -> float:
    """Weighted deep-clustering loss ``L_dc`` of the module's formula (Wang et al. 2018, eq. 7).

    Parameters
    ----------
    points, assignments, weights
        As in :func:`whitened_kmeans_loss`.

    Returns
    -------
    float
    """
    w = np.asarray(weights, float)
    Vw, Yw = _weighted_unit_rows(np.asarray(points, float), np.asarray(assignments, float), w)
    num = np.sum((Vw.T @ Vw) ** 2) - 2.0 * np.sum((Vw.T @ Yw) ** 2) + np.sum((Yw.T @ Yw) ** 2)
    return float(num / (np.sum(w**2) ** 2 + 1e-8))


def whitened_kmeans_confidence(features, representation, num_sources, threshold=95.0, seed=None,
                               assignment="nearest") -> float:
    """``1 - L_wk / (D + K)`` with k-means assignments and loudness weights (see the module).

    Parameters
    ----------
    features, representation, num_sources, threshold, seed
        As in :func:`jensen_shannon_confidence`.
    assignment : {'nearest', 'farthest'}, default 'nearest'
        Centre each point is assigned to; ``'farthest'`` is nussl's (a bug, same value for K = 2).

    Returns
    -------
    float
    """
    points, weights = loud_points(features, representation, threshold)
    _, d = _kmeans(points, num_sources, seed)
    loss = whitened_kmeans_loss(points, _assignments(d, assignment), weights)
    return 1.0 - loss / (points.shape[1] + int(num_sources))


def dpcl_classic_confidence(features, representation, num_sources, threshold=95.0, seed=None,
                            assignment="nearest") -> float:
    """``1 - L_dc`` with k-means assignments and loudness weights (see the module).

    Parameters
    ----------
    features, representation, num_sources, threshold, seed, assignment
        As in :func:`whitened_kmeans_confidence`.

    Returns
    -------
    float
    """
    points, weights = loud_points(features, representation, threshold)
    _, d = _kmeans(points, num_sources, seed)
    return 1.0 - deep_clustering_loss(points, _assignments(d, assignment), weights)


#: The measures by nussl's approach names.
APPROACHES = {
    "jensen_shannon": jensen_shannon_confidence,
    "posterior": posterior_confidence,
    "silhouette": silhouette_confidence,
    "loudness": loudness_confidence,
    "whitened_kmeans": whitened_kmeans_confidence,
    "dpcl_classic": dpcl_classic_confidence,
}


def confidence(approach, features, representation, num_sources, threshold=95.0, seed=None, **kwargs) -> float:
    """Dispatch to the measure named ``approach`` (a key of :data:`APPROACHES`).

    Raises
    ------
    SeparationError
        For an unknown approach.
    """
    approach = check_choice("approach", approach, tuple(APPROACHES), error=_E)
    return APPROACHES[approach](features, representation, num_sources, threshold=threshold, seed=seed, **kwargs)
