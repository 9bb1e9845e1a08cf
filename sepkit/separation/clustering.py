r"""``ClusteringSeparationBase``: features per time-frequency bin, clustered into sources.

A subclass implements :meth:`ClusteringSeparationBase.extract_features`, returning one
feature vector per bin, shape ``(n_freq, n_frames, n_channels, n_features)``. The base
fits a scikit-learn clusterer (``KMeans``, ``GaussianMixture`` or ``MiniBatchKMeans``) on
the loud bins only (magnitude at or above the ``percentile``-th percentile), computes every
bin's responsibilities and returns one mask per cluster:

- k-means (both kinds): soft k-means,
  :math:`r_{nk} = \mathrm{softmax}_k(-\beta\, d_{nk})` with :math:`d_{nk}` the Euclidean
  (not squared) distance of bin n's features to centre k;
- Gaussian mixture: the posteriors :math:`p(k \mid \phi_n)`.

This is nussl's ``ClusteringSeparationBase`` (``nussl/separation/base/clustering_separation_base.py``),
with its ``confidence`` measures (:mod:`sepkit.separation.confidence`).
"""

from __future__ import annotations

import math

import numpy as np

from ..core import SeparationError
from ..core.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_seed,
    default_rng,
)
from ..kernels import clustering as _kernels
from . import confidence as _confidence
from .base import MaskSeparationBase, validate_labels

__all__ = ["ClusteringSeparationBase", "CLUSTERING_TYPES", "soft_kmeans_responsibilities", "argmax_masks"]

#: The scikit-learn clusterers a ClusteringSeparationBase can use.
CLUSTERING_TYPES = ("KMeans", "GaussianMixture", "MiniBatchKMeans")
_RESERVED = ("n_clusters", "n_components", "random_state")
_E = SeparationError


def soft_kmeans_responsibilities(distances, beta) -> np.ndarray:
    r"""Soft k-means responsibilities ``softmax_k(-beta * d_nk)``, computed stably.

    Parameters
    ----------
    distances : numpy.ndarray, shape (N, K)
        Nonnegative distances of N points to K centres.
    beta : float
        Inverse temperature >= 0 (0: uniform ``1/K``; large: one-hot on the nearest centre).

    Returns
    -------
    numpy.ndarray of float64, shape (N, K)
        Rows summing to one.
    """
    z = -float(beta) * np.asarray(distances, dtype=np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def argmax_masks(responsibilities) -> np.ndarray:
    """One-hot of the largest responsibility on the last axis (ties to the lowest index), as float."""
    r = np.asarray(responsibilities)
    best = np.argmax(r, axis=-1)
    return (best[..., None] == np.arange(r.shape[-1])).astype(np.float64)


class ClusteringSeparationBase(MaskSeparationBase):
    r"""Base of separators that cluster a feature vector per time-frequency bin (nussl's API).

    Subclasses implement :meth:`extract_features`. :meth:`run` extracts (or takes) the
    features, fits the clusterer on the loud bins (:meth:`cluster_features`) and turns the
    responsibilities into one mask per cluster, in the clusterer's label order.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified).
    num_sources : int
        Number of clusters K >= 1.
    clustering_type : {'KMeans', 'GaussianMixture', 'MiniBatchKMeans'}, default 'KMeans'
        The scikit-learn clusterer.
    fit_clusterer : bool, default True
        Fit the clusterer in :meth:`run`. If False, the clusterer must be given already
        fitted, as the ``clusterer`` attribute (set after construction), or, for the k-means
        types, by its centres as ``init=`` (an array ``(K, n_features)``) in ``clusterer_kwargs``.
    percentile : float, default 90
        In [0, 100]: the clusterer is fitted on the bins whose magnitude is at or above
        this percentile of the mixture's magnitude spectrogram (all channels).
    beta : float, default 5.0
        Inverse temperature >= 0 of soft k-means (ignored by ``GaussianMixture``).
    mask_type : {'soft', 'binary'}, default 'soft'
        Binary masks give each bin to its largest responsibility (ties to the lowest label).
    mask_threshold : float, default 0.5
        Unused (binary masks come from the arg-max, as in nussl); kept for the common API.
    seed : int, numpy.random.Generator or None
        Seed of the clusterer (its ``random_state`` is drawn from it) and of anything random
        in the subclass's features.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.
    **clusterer_kwargs
        Passed to the scikit-learn constructor (``n_init``, ``covariance_type``, ``max_iter``,
        ...); ``n_clusters`` / ``n_components`` come from ``num_sources`` and ``random_state``
        from ``seed``. KMeans gets ``n_init=10`` unless given. Stored in the
        ``clusterer_kwargs`` dict and returned by :meth:`get_params` merged with the rest.

    Attributes
    ----------
    clusterer : sklearn estimator or None
        After :meth:`run`: the fitted clusterer.
    features : numpy.ndarray or None
        After :meth:`run`: the features clustered, ``(n_freq, n_frames, n_channels, n_features)``.
    loud_bins : numpy.ndarray of bool or None
        After :meth:`run`: the bins the clusterer was fitted on, ``(n_freq, n_frames, n_channels)``.

    Raises
    ------
    SeparationError
        For an unknown clustering type, a bad ``num_sources``, ``percentile``, ``beta`` or
        ``seed``, or a reserved or unknown clusterer keyword.

    Notes
    -----
    Differences from nussl: soft k-means is a stable softmax (nussl adds 1e-8 to every
    ``exp(-beta d)`` before normalising, which makes the responsibilities of bins farther than
    about ``18 / beta`` from every centre collapse to ``1/K``); the clusterer is seeded
    (nussl's is not, so its output order and values change between runs); KMeans defaults to
    ``n_init=10`` whatever the scikit-learn version; on many loud bins its starts run on a
    random subset (see :meth:`_fit`).
    """

    #: Loud rows above twice this number are clustered by KMeans from a pilot fit on this many.
    PILOT_POINTS = 20_000

    def __init__(self, input_audio_signal, num_sources, clustering_type="KMeans", fit_clusterer=True,
                 percentile=90, beta=5.0, mask_type="soft", mask_threshold=0.5, seed=None, stft_params=None,
                 **clusterer_kwargs):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        self.num_sources = check_int("num_sources", num_sources, 1, error=_E)
        self.clustering_type = check_choice("clustering_type", clustering_type, CLUSTERING_TYPES,
                                            case_sensitive=True, error=_E)
        self.fit_clusterer = check_bool("fit_clusterer", fit_clusterer, error=_E)
        self.percentile = check_real("percentile", percentile, 0.0, 100.0, error=_E)
        self.beta = check_real("beta", beta, 0.0, error=_E)
        self.seed = check_seed(seed, error=_E)
        reserved = sorted(set(clusterer_kwargs) & set(_RESERVED))
        if reserved:
            raise _E(f"clusterer keyword(s) {', '.join(map(repr, reserved))} are set by the separator "
                     "(num_sources gives the clusters, seed the random_state)")
        self.clusterer_kwargs = dict(clusterer_kwargs)
        self._build_clusterer(0)  # checks the keywords now (scikit-learn only stores them)
        self.source_labels = validate_labels(None, self.num_sources)
        self.clusterer = None
        self.features = None
        self.loud_bins = None
        self._rng = None
        self._partition = ()  # the masks of the last run (they sum to one in every bin)

    def get_params(self) -> dict:
        """The parameters of ``__init__``, with the clusterer keywords merged in (see the base)."""
        params = super().get_params()
        params.update(self.clusterer_kwargs)
        return params

    # -- clusterer ---------------------------------------------------------------------------

    def _build_clusterer(self, random_state):
        from sklearn.cluster import KMeans, MiniBatchKMeans
        from sklearn.mixture import GaussianMixture

        kwargs = dict(self.clusterer_kwargs)
        try:
            if self.clustering_type == "GaussianMixture":
                return GaussianMixture(n_components=self.num_sources, random_state=random_state, **kwargs)
            if self.clustering_type == "KMeans":
                kwargs.setdefault("n_init", 10)
                return KMeans(n_clusters=self.num_sources, random_state=random_state, **kwargs)
            return MiniBatchKMeans(n_clusters=self.num_sources, random_state=random_state, **kwargs)
        except TypeError as exc:
            raise _E(f"bad clusterer keyword for {self.clustering_type}: {exc}") from None

    def make_clusterer(self):
        """A new, unfitted scikit-learn clusterer of ``clustering_type``, seeded from ``seed``.

        Returns
        -------
        sklearn.cluster.KMeans, sklearn.cluster.MiniBatchKMeans or sklearn.mixture.GaussianMixture
        """
        rng = self._rng if self._rng is not None else default_rng(self.seed)
        return self._build_clusterer(int(rng.integers(2**31 - 1)))

    def _given_clusterer(self):
        """The clusterer to use unfitted (``fit_clusterer=False``)."""
        if self.clusterer is not None:
            return self.clusterer
        init = self.clusterer_kwargs.get("init")
        if "KMeans" in self.clustering_type and init is not None and not isinstance(init, str):
            centres = check_array("init (cluster centres)", init, ndim=2, dtype=np.float64, error=_E)
            if centres.shape[0] != self.num_sources:
                raise _E(f"init gives {centres.shape[0]} centres but num_sources is {self.num_sources}")
            return _Centres(centres)
        raise _E("fit_clusterer=False needs a fitted clusterer: set the separator's clusterer attribute, "
                 "or give the k-means centres as init=array (num_sources, n_features)")

    # -- the pipeline --------------------------------------------------------------------------

    def magnitude(self) -> np.ndarray:
        """``|X|`` of the mixture, shape ``(n_freq, n_frames, n_channels)``."""
        return np.abs(self.audio_signal.stft(self.stft_params))

    def extract_features(self) -> np.ndarray:
        """One feature vector per time-frequency bin: subclasses implement it.

        Returns
        -------
        numpy.ndarray of float, shape (n_freq, n_frames, n_channels, n_features)
        """
        raise NotImplementedError(f"{type(self).__name__} must implement extract_features()")

    def cluster_features(self, features, clusterer) -> np.ndarray:
        """Fit ``clusterer`` on the loud bins (if ``fit_clusterer``) and return every bin's responsibilities.

        Parameters
        ----------
        features : numpy.ndarray, shape (n_freq, n_frames, n_channels, n_features)
        clusterer : scikit-learn clusterer
            Fitted here on the rows of the loud bins when ``fit_clusterer`` is True.

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_frames, n_channels, num_sources)
            Responsibilities summing to one over the last axis.
        """
        shape = features.shape
        # Features repeated over the channels: each bin once, (n_frames, n_freq, D) as the STFT's memory.
        once = None
        if _shared_by_channels(features):
            once = np.ascontiguousarray(features[:, :, 0, :].transpose(1, 0, 2), dtype=np.float64)
        if self.loud_bins is None:
            magnitude = self.magnitude()
            self.loud_bins = magnitude >= _percentile(magnitude, self.percentile)
        if self.fit_clusterer:
            loud = _loud_rows(features, once, self.loud_bins)
            if loud.shape[0] < self.num_sources:
                raise _E(f"only {loud.shape[0]} bins lie at or above the {self.percentile}th percentile: "
                         f"cannot fit {self.num_sources} clusters")
            self._fit(clusterer, loud)
        if "KMeans" in self.clustering_type:
            centres = np.ascontiguousarray(clusterer.cluster_centers_, dtype=np.float64)
            if once is not None:
                # Written to every channel in the STFT's memory order: F-contiguous (F, T, C, K).
                out = np.empty((centres.shape[0], shape[2], shape[1], shape[0]))
                _kernels.soft_kmeans_shared(once, centres, self.beta, out)
                return out.transpose(3, 2, 1, 0)
            rows = features.reshape(-1, shape[-1])
            resp = np.empty((rows.shape[0], centres.shape[0]))
            _kernels.soft_kmeans(np.ascontiguousarray(rows, dtype=np.float64), centres, self.beta, resp)
        else:
            resp = clusterer.predict_proba(features.reshape(-1, shape[-1]))
        return resp.reshape(shape[:-1] + (resp.shape[-1],))

    def _fit(self, clusterer, loud):
        """Fit ``clusterer`` on the loud rows; KMeans on many rows starts from a pilot fit on a subset.

        With more than ``2 * PILOT_POINTS`` loud rows and no ``init`` given, KMeans's
        ``n_init`` starts are run on ``PILOT_POINTS`` rows drawn at random (seeded), and the
        best centres start one k-means run on every loud row: the same objective and
        fixed point as ``n_init`` full runs, at a fraction of the cost. The fitted
        clusterer's ``init`` then holds the pilot centres.
        """
        from threadpoolctl import threadpool_limits

        # One thread: k-means on a few features is memory-bound, and scikit-learn's OpenMP
        # threads lose up to 30x on shared cores (pilot fit: 0.05 s on one thread, 1.9 s on
        # two under load).
        with threadpool_limits(limits=1):
            if (self.clustering_type == "KMeans" and loud.shape[0] > 2 * self.PILOT_POINTS
                    and "init" not in self.clusterer_kwargs):
                from sklearn.base import clone

                rng = self._rng if self._rng is not None else default_rng(self.seed)
                pick = np.sort(rng.choice(loud.shape[0], self.PILOT_POINTS, replace=False))
                pilot = clone(clusterer).fit(loud[pick])
                clusterer.set_params(init=pilot.cluster_centers_, n_init=1)
            clusterer.fit(loud)

    def run(self, features=None):
        """Cluster the features and return the masks, one per cluster.

        Parameters
        ----------
        features : array_like, shape (n_freq, n_frames, n_channels, n_features), optional
            Features to cluster instead of :meth:`extract_features`'s (never modified).

        Returns
        -------
        list of SoftMask or BinaryMask
            ``num_sources`` masks, shape ``(n_freq, n_frames, n_channels)``.

        Raises
        ------
        SeparationError
            If the features do not have the STFT's shape before the feature axis or are not finite.
        """
        self._rng = default_rng(self.seed)
        self.loud_bins = None
        try:
            if features is None:
                features = self.extract_features()
            expected = self._mask_shape()
            features = _checked_features(features)
            if features.shape[:3] != expected:
                raise _E(f"features of shape {features.shape} do not match the STFT's {expected} "
                         "(n_freq, n_frames, n_channels) before the feature axis")
            clusterer = self.make_clusterer() if self.fit_clusterer else self._given_clusterer()
            resp = self.cluster_features(features, clusterer)
        finally:
            self._rng = None
        self.features = features
        self.clusterer = clusterer
        if self.mask_type is not self.MASKS["soft"]:
            resp = argmax_masks(resp)
        # Masks keep the responsibilities' order when contiguous (F order: the STFT's, multiplied in place).
        self.result_masks = [self.mask_type(_contiguous(resp[..., k]), copy=False) for k in range(resp.shape[-1])]
        self._partition = tuple(self.result_masks)
        return self.result_masks

    def make_audio_signals(self):
        """The estimates: each mask applied to the mixture and inverted, the last one by subtraction.

        The masks of :meth:`run` (responsibilities, posteriors or their one-hot argmax) sum to
        one in every bin, so by linearity of the inverse STFT (and the STFT's perfect
        reconstruction) the last estimate is the mixture minus the others: one inverse STFT
        fewer, the same signal to rounding (about 1e-16 of the mixture's scale). Masks set by
        hand are each applied.

        Returns
        -------
        list of AudioSignal
            One per mask, labelled as the separator's sources.
        """
        self._check_run()
        masks = self.result_masks
        from_run = len(masks) == len(self._partition) and all(a is b for a, b in zip(masks, self._partition))
        if len(masks) < 2 or not from_run or not all(isinstance(mask, self.mask_type) for mask in masks):
            return super().make_audio_signals()  # (which also names a wrong mask type)
        labels = self.source_labels or validate_labels(None, len(masks))
        first = [self.apply_mask(mask, label) for mask, label in zip(masks[:-1], labels[:-1])]
        return first + [(self.audio_signal - sum(first)).with_label(labels[-1])]

    def confidence(self, approach="silhouette", num_sources=None, threshold=95.0, seed=0, **kwargs) -> float:
        """A confidence measure of the clustering (:mod:`sepkit.separation.confidence`), after :meth:`run`.

        Parameters
        ----------
        approach : {'silhouette', 'jensen_shannon', 'posterior', 'loudness', 'whitened_kmeans', 'dpcl_classic'}
            The measure (nussl's default: silhouette).
        num_sources : int, optional
            Clusters assumed (default: the separator's).
        threshold : float, default 95
            Percentile of the mixture's magnitude above which bins are scored.
        seed : int, numpy.random.Generator or None, default 0
        **kwargs
            Passed to the measure (``max_points``, ``n_samples``, ``assignment``).

        Returns
        -------
        float
        """
        if self.features is None:
            raise _E(f"call {type(self).__name__}.run() before confidence()")
        k = self.num_sources if num_sources is None else num_sources
        return _confidence.confidence(approach, self.features, self.magnitude(), k, threshold=threshold,
                                      seed=seed, **kwargs)


def _shared_by_channels(features) -> bool:
    """Whether ``features`` (F, T, C, D) repeat one array over the channels (stride 0, C > 1)."""
    return features.ndim == 4 and features.shape[2] > 1 and features.strides[2] == 0


def _percentile(values, percentile) -> float:
    """``numpy.percentile(values, percentile)``, bit for bit, from the two order statistics around it.

    numpy's linear method: virtual index ``v = (n - 1) q``, then its ``_lerp`` of the values
    of ranks ``floor(v)`` and ``floor(v) + 1``. :func:`sepkit.kernels.clustering.order_statistics`
    narrows these to a few candidates, which numpy partitions (not the millions of values).
    numpy itself for other dtypes and for negative, infinite or NaN values.
    """
    flat = values.ravel(order="K")  # any memory order gives the same order statistics: no transposed copy
    n = flat.size
    q = percentile / 100
    v = (n - 1) * q
    if flat.dtype == np.float64 and v < n - 1:
        below = math.floor(v)
        chosen, offset = _kernels.order_statistics(np.ascontiguousarray(flat), below)
        if chosen.size:
            i = below - offset
            a, b = (float(x) for x in np.partition(chosen, (i, i + 1))[i:i + 2])
            gamma, diff = v - below, b - a
            return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return np.percentile(flat, percentile)


def _loud_rows(features, once, loud_bins) -> np.ndarray:
    """The rows of ``features`` (F, T, C, D) at ``loud_bins`` (F, T, C), in C order (f, t, c).

    ``once``: the (T, F, D) features of every bin when they are repeated over the channels, else None.
    """
    if once is None:
        return features.reshape(-1, features.shape[-1])[loud_bins.reshape(-1)]
    out = np.empty((np.count_nonzero(loud_bins), once.shape[-1]))
    _kernels.loud_rows(np.ascontiguousarray(loud_bins.transpose(2, 1, 0)), once, out)
    return out


def _checked_features(features) -> np.ndarray:
    """``features`` checked (4-D, real, finite) as float64; features shared by the channels stay a view."""
    if isinstance(features, np.ndarray) and features.dtype == np.float64 and _shared_by_channels(features):
        # One channel holds every value: check it, keep the broadcast (no (F, T, C, D) copy).
        check_array("features", features[:, :, :1], ndim=4, finite=False, error=_E)
        if np.all(np.isfinite(features[:, :, 0])):
            return features
    return check_array("features", features, ndim=4, dtype=np.float64, error=_E)


def _contiguous(array) -> np.ndarray:
    """``array`` itself if C- or F-contiguous, else a C-contiguous copy."""
    return array if array.flags.c_contiguous or array.flags.f_contiguous else np.ascontiguousarray(array)


class _Centres:
    """Stand-in for a fitted k-means given by its centres (``fit_clusterer=False`` with ``init=``)."""

    def __init__(self, centres):
        self.cluster_centers_ = centres
