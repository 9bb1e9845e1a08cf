r"""SpatialClustering: time-frequency bins clustered by inter-channel phase and level differences.

Sources at different places reach the two microphones with different level ratios and
phase shifts, so the bins each source dominates gather in the plane of the inter-channel
level difference (ILD, dB) and phase difference (IPD). The features are nussl's
(``AudioSignal.ipd_ild_features``, Seetharaman et al. 2019), on nussl's STFT scale:

.. math::

    \mathrm{ILD} = 20 \log_{10}\!\left(\frac{|X_0|}{|X_1| + 10^{-4}} + 10^{-8}\right), \qquad
    \mathrm{IPD} = \frac{\angle (X_1 \overline{X_0})}{f + 1} \bmod \pi

(``f`` in Hz), the same for every channel; :class:`~sepkit.separation.clustering.ClusteringSeparationBase`
fits the clusterer on the loud bins and returns one mask per cluster. The features are a numba
kernel (:func:`sepkit.kernels.clustering.ipd_ild_rows`), once per bin.
"""

from __future__ import annotations

import numpy as np

from ...kernels import clustering as _kernels
from ..clustering import ClusteringSeparationBase
from ..registry import DemoRow, register
from .duet import require_two_channels

__all__ = ["SpatialClustering", "ipd_ild_features"]


def ipd_ild_features(stft0, stft1, sample_rate, scale=1.0):
    """nussl's IPD and ILD of two channels (plain numpy; the reference of the kernel).

    Parameters
    ----------
    stft0, stft1 : numpy.ndarray of complex, shape (n_freq, n_frames)
    sample_rate : int
        Hz (bin ``f`` lies at ``linspace(0, sample_rate // 2, n_freq)[f]`` Hz).
    scale : float, default 1
        Factor applied to both STFTs first (nussl's STFT is divided by the sum of the window).

    Returns
    -------
    ipd : numpy.ndarray, shape (n_freq, n_frames)
        In [0, pi).
    ild : numpy.ndarray, shape (n_freq, n_frames)
        dB.
    """
    x0, x1 = stft0 * scale, stft1 * scale
    freqs = np.linspace(0.0, sample_rate // 2, x0.shape[0])
    ild = 20 * np.log10(np.abs(x0) / (np.abs(x1) + 1e-4) + 1e-8)
    ipd = np.angle(x1 * np.conj(x0)) / (freqs + 1.0)[:, None]
    return ipd % np.pi, ild


class SpatialClustering(ClusteringSeparationBase):
    r"""Clustering of inter-channel phase and level differences (nussl's ``SpatialClustering``).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (the features come from channels 0 and 1 and the
        masks apply to every channel). Never modified.
    num_sources : int
        Number of clusters K >= 1.
    clustering_type : {'KMeans', 'GaussianMixture', 'MiniBatchKMeans'}, default 'KMeans'
    fit_clusterer : bool, default True
    percentile : float, default 90
        The clusterer is fitted on the bins at or above this percentile of the magnitude.
    beta : float, default 5.0
        Inverse temperature of soft k-means.
    mask_type : {'soft', 'binary'}, default 'soft'
    mask_threshold : float, default 0.5
        Unused (kept for the common API).
    seed : int, numpy.random.Generator or None
        Seed of the clusterer: the same seed gives the same masks.
    stft_params : STFTParams or None
    **clusterer_kwargs
        Passed to the scikit-learn clusterer (see
        :class:`~sepkit.separation.clustering.ClusteringSeparationBase`).

    Raises
    ------
    SeparationError
        For a mono mixture, and as the base class.

    Notes
    -----
    Output order: the clusterer's labels (arbitrary; fixed by ``seed``).

    The features are nussl's, kept for compatibility, quirks included: the IPD is divided
    by ``f + 1`` and folded modulo pi, so a source with no delay (IPD scattered around 0)
    falls on both sides of the fold, near 0 and near pi; the ILD (tens of dB) outweighs the
    IPD (at most pi) in the Euclidean distance; the 1e-4 in the ILD acts on nussl's STFT
    scale (sepkit's STFT is scaled to it here). As in nussl, the clusterer is fitted on
    the loud bins of every channel, with identical features (a bin loud in both channels
    counts twice), and the masks are the same in every channel; sepkit computes each bin's
    features and responsibilities once and repeats them over the channels.
    Differences from nussl are those of the base: a stable soft k-means (nussl's
    ``exp(-beta d) + 1e-8`` sets the masks of bins farther than about 3.7 from every
    centre to ``1/K``) and a seeded clusterer.
    """

    def __init__(self, input_audio_signal, num_sources, clustering_type="KMeans", fit_clusterer=True,
                 percentile=90, beta=5.0, mask_type="soft", mask_threshold=0.5, seed=None, stft_params=None,
                 **clusterer_kwargs):
        super().__init__(input_audio_signal, num_sources, clustering_type=clustering_type,
                         fit_clusterer=fit_clusterer, percentile=percentile, beta=beta, mask_type=mask_type,
                         mask_threshold=mask_threshold, seed=seed, stft_params=stft_params, **clusterer_kwargs)
        require_two_channels(self)

    def extract_features(self) -> np.ndarray:
        """``[IPD, ILD]`` of every bin, the same for each channel.

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_frames, n_channels, 2)
            A read-only view that repeats one ``(n_freq, n_frames, 2)`` array over the channels
            (stride 0 on the channel axis): the base clusters each bin once and broadcasts.
        """
        spec = self.audio_signal.stft(self.stft_params)
        n_freq, n_frames, n_channels = spec.shape
        freqs = np.linspace(0.0, self.sample_rate // 2, n_freq)
        scale = 1.0 / float(np.sum(self.stft_params.window))
        rows = np.empty((n_frames, n_freq, 2))  # the STFT's memory order: frequencies inner
        _kernels.ipd_ild_rows(np.ascontiguousarray(spec.transpose(2, 1, 0)), freqs, scale, rows)
        return np.broadcast_to(rows.transpose(1, 0, 2)[:, :, None, :], (n_freq, n_frames, n_channels, 2))


register(
    "spatial-clustering", SpatialClustering,
    "spatial clustering: inter-channel phase and level differences (stereo) clustered by soft k-means",
    needs=("num_sources", "multichannel"),
    quick={"percentile": 95.0},
    demo=(DemoRow("spatial", "SpatialClustering", blind=True, order=41),),
)
