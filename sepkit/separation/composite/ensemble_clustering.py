"""EnsembleClustering: the masks (or estimates) of several separators, clustered jointly ("primitive clustering").

Every separator of the ensemble runs on the mixture; each of its outputs gives one feature per
time-frequency bin (its mask, or the ratio ``|S_e| / max(|S_e|, |X|)`` of its estimate's STFT),
the features of every output are stacked, and :class:`~sepkit.separation.ClusteringSeparationBase`
clusters the bins into ``num_sources`` masks (soft k-means by default, fitted on the loud bins).
A bin that REPET calls repeating, HPSS harmonic and spatial clustering left-panned lands in one
cluster: the primitives vote. nussl's ``EnsembleClustering``
(Seetharaman, PhD thesis, Northwestern University 2019).
"""

from __future__ import annotations

import numbers

import numpy as np

from ...core import SeparationError
from ...core.validation import check_choice
from .. import spatial as _spatial  # noqa: F401  (registers spatial-clustering, a default member)
from ..base import MaskSeparationBase, SeparationBase
from ..clustering import ClusteringSeparationBase
from ..registry import Inputs, get_separator, register

__all__ = ["EnsembleClustering"]

_E = SeparationError
FEATURES = ("masks", "estimates")


def _check_separators(separators):
    if not isinstance(separators, (list, tuple)) or not separators:
        raise _E(f"separators must be a non-empty list of registry names, (name, params) pairs or "
                 f"separator instances, got {separators!r:.200}")
    for item in separators:
        if isinstance(item, SeparationBase):
            continue
        name, params = (item, {}) if isinstance(item, str) else (item if isinstance(item, tuple) and len(item) == 2
                                                                  else (None, None))
        if not isinstance(name, str) or not isinstance(params, dict):
            raise _E(f"each separator must be a registry name, a (name, params dict) pair or a separator "
                     f"instance, got {item!r:.200}")
        get_separator(name)  # raises for an unknown name
    return list(separators)


class EnsembleClustering(ClusteringSeparationBase):
    """Cluster the time-frequency bins on the outputs of several separators.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified).
    num_sources : int
        Number of clusters (sources) >= 1.
    separators : list or None
        The ensemble, each element one of: a registry name (``'repet'``); a pair
        ``(name, params)`` (``('hpss', {'kernel_size': 17})``), built with
        :meth:`~sepkit.separation.registry.SeparatorEntry.build` and given ``num_sources`` and a
        seed drawn from ``seed`` where it needs them; or a separator instance, rebuilt on this
        mixture as ``type(s)(mix, **s.get_params())``. None: ``['repet', 'hpss']``, plus
        ``'spatial-clustering'`` on a mixture of two or more channels.
    weights : list of int or None
        How many times each separator's features are repeated (>= 1; None: once each), as nussl.
    returns : list of list of int or None
        Which outputs of each separator to keep (None: all).
    extracted_feature : {'masks', 'estimates'}, default 'masks'
        ``'masks'``: a mask separator's masks; ``'estimates'``: ``|STFT(e)| / max(|STFT(e)|, |X| + 1e-12 max|X|)``
        of each estimate (in [0, 1]). A separator without masks (Projet, ICA) contributes its
        estimates' features in either mode.
    clustering_type, fit_clusterer, percentile, beta, mask_type, mask_threshold, seed, stft_params, **clusterer_kwargs
        As :class:`~sepkit.separation.ClusteringSeparationBase`. Every separator's STFT must have
        the ensemble's shape (the mixture's STFT parameters by default).

    Raises
    ------
    SeparationError
        For an unknown separator name, bad params, weights or returns, an unknown
        ``extracted_feature``, and (in :meth:`run`) outputs whose shape differs from the STFT's.

    Notes
    -----
    Differences from nussl: separators are given by name (or rebuilt from an instance) so that
    the ensemble is seeded and its parameters read back; a separator without masks in ``'masks'``
    mode contributes its estimates (nussl silently drops it, and fails when none has masks);
    no cascades (nussl's ``num_cascades`` runs the ensemble again on every estimate).
    """

    def __init__(self, input_audio_signal, num_sources, separators=None, weights=None, returns=None,
                 extracted_feature="masks", clustering_type="KMeans", fit_clusterer=True, percentile=90,
                 beta=5.0, mask_type="soft", mask_threshold=0.5, seed=None, stft_params=None, **clusterer_kwargs):
        super().__init__(input_audio_signal, num_sources, clustering_type=clustering_type,
                         fit_clusterer=fit_clusterer, percentile=percentile, beta=beta, mask_type=mask_type,
                         mask_threshold=mask_threshold, seed=seed, stft_params=stft_params, **clusterer_kwargs)
        self.separators = None if separators is None else _check_separators(separators)
        n = len(self._ensemble())
        if weights is not None:
            if (not isinstance(weights, (list, tuple)) or len(weights) != n
                    or not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in weights)):
                raise _E(f"weights must be a list of {n} integers >= 1 (one per separator), got {weights!r}")
            weights = [int(w) for w in weights]
        self.weights = weights
        if returns is not None:
            if (not isinstance(returns, (list, tuple)) or len(returns) != n
                    or not all(isinstance(r, (list, tuple)) and r and all(isinstance(i, numbers.Integral) and i >= 0
                                                                          for i in r) for r in returns)):
                raise _E(f"returns must be a list of {n} non-empty lists of output indices, got {returns!r}")
            returns = [list(r) for r in returns]
        self.returns = returns
        self.extracted_feature = check_choice("extracted_feature", extracted_feature, FEATURES, error=_E)

    def _ensemble(self) -> list:
        if self.separators is not None:
            return self.separators
        default = ["repet", "hpss"]
        if self.audio_signal.num_channels >= 2:
            default.append("spatial-clustering")
        return default

    def _build(self, item):
        mix = self.audio_signal
        if isinstance(item, SeparationBase):
            return type(item)(mix, **item.get_params())
        name, params = (item, {}) if isinstance(item, str) else item
        seed = int(self._rng.integers(2**31 - 1)) if self._rng is not None else 0
        return get_separator(name).build(mix, Inputs(num_sources=self.num_sources, seed=seed), **params)

    def _ratio_features(self, estimates, X):
        floor = 1e-12 * max(float(X.max()), 1e-300)
        feats = []
        for e in estimates:
            S = np.abs(e.stft(self.stft_params))
            if S.shape != X.shape:
                raise _E(f"an estimate's STFT has shape {S.shape}, the mixture's {X.shape}")
            feats.append(S / np.maximum(S, X + floor))
        return feats

    def extract_features(self) -> np.ndarray:
        """Run every separator and stack the features of its kept outputs (weights repeat them).

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_frames, n_channels, n_features)
        """
        X = self.magnitude()
        features = []
        self.ensemble_ = []
        for i, item in enumerate(self._ensemble()):
            sep = self._build(item)
            self.ensemble_.append(sep)
            if self.extracted_feature == "masks" and isinstance(sep, MaskSeparationBase):
                sep.run()  # the masks only: no estimates to invert
                feats = [np.asarray(m.mask, dtype=np.float64) for m in sep.result_masks]
                for f in feats:
                    if f.shape != X.shape:
                        raise _E(f"{type(sep).__name__}'s masks have shape {f.shape}, the ensemble's STFT "
                                 f"{X.shape}: give the separators the ensemble's stft_params")
            else:
                feats = self._ratio_features(sep(), X)
            if self.returns is not None:
                keep = self.returns[i]
                if max(keep) >= len(feats):
                    raise _E(f"returns[{i}] asks for output {max(keep)} but {type(sep).__name__} gave {len(feats)}")
                feats = [feats[j] for j in keep]
            features.extend(feats * (self.weights[i] if self.weights else 1))
        return np.stack(features, axis=-1)


register(
    "ensemble-clustering", EnsembleClustering,
    "the masks of several separators (REPET, HPSS, spatial clustering) clustered jointly (primitive clustering)",
    needs=("num_sources",),
    quick={"separators": [("repet", {"min_period": 0.1, "max_period": 0.3}), ("hpss", {"kernel_size": 17})]},
)
