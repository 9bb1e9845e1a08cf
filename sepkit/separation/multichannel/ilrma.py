"""ILRMA: independent low-rank matrix analysis (Kitamura, Ono, Sawada, Kameoka and Saruwatari 2016)."""

from __future__ import annotations

import numpy as np

from ...core import SeparationError
from ...core.validation import check_int, check_seed, default_rng
from ...kernels.bss import ilrma as ilrma_kernels
from ..registry import DemoRow, register
from .aux_iva import DeterminedBSSBase

__all__ = ["ILRMA"]


class ILRMA(DeterminedBSSBase):
    """Independent low-rank matrix analysis: determined BSS with an NMF model of each source.

    One demixing matrix per frequency, ``y = W x``, as in :class:`AuxIVA`, but each source's
    power spectrogram is modelled by a rank-``n_components`` nonnegative factorisation
    ``R_s = B_s H_s^T`` (Itakura-Saito divergence), updated by majorisation-minimisation
    in turn with the demixing rows (iterative projection with the weights ``1 / R_s(f, t)``).
    A low-rank spectrogram (notes, stationary timbres) is what ties a source's frequencies
    together. Each source is then scaled by projection back onto the microphones.

    The updates are those of pyroomacoustics' ``pra.bss.ilrma`` with two fixes: the
    per-iteration normalisation scales **row** ``s`` of ``W`` (pyroomacoustics scales column
    ``s``) and the next update uses the normalised model (pyroomacoustics keeps a stale
    ``1 / R``); the kernel's ``compat=True`` reproduces pyroomacoustics exactly.

    One estimate per microphone, in the arbitrary order the demixing gives (score with a
    permutation-free evaluation). With fewer sources than microphones the extra estimates
    hold reverberation, noise or parts of the sources; with more sources than microphones
    some estimates hold several sources (ILRMA cannot separate them).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (shape ``(n_channels, n_samples)``).
    n_components : int
        NMF components per source, >= 1.
    n_iter : int
        Number of iterations, >= 0 (0 returns the mixture channels themselves).
    seed : int, numpy.random.Generator or None
        Seed of the NMF initialisation (bases and activations uniform in [0.1, 1)).
    ref_mic : int or None
        ``None``: images at every microphone (estimates shaped like the mixture); an int:
        the image at that microphone only.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses :data:`~sepkit.separation.multichannel.aux_iva.DEFAULT_STFT`
        (2048-sample Hann, hop 512).

    Attributes
    ----------
    bases : numpy.ndarray of float64, shape (n_channels, n_freq, n_components)
        After :meth:`run`: the NMF bases of each source (of the demixed, unscaled outputs).
    activations : numpy.ndarray of float64, shape (n_channels, n_frames, n_components)
        After :meth:`run`: the NMF activations.

    Raises
    ------
    SeparationError
        For a single-channel mixture or an invalid parameter.

    Examples
    --------
    >>> mix, images = sepkit.datasets.load_spatial_example("reverberant", duration=2)
    >>> estimates = ILRMA(mix, n_iter=20, seed=0)()
    >>> [e.label for e in estimates]
    ['source_0', 'source_1']

    References
    ----------
    D. Kitamura, N. Ono, H. Sawada, H. Kameoka, H. Saruwatari, "Determined blind source
    separation unifying independent vector analysis and nonnegative matrix factorization",
    IEEE/ACM TASLP 24(9):1626-1641, 2016.
    """

    def __init__(self, input_audio_signal, n_components=2, n_iter=100, seed=None, ref_mic=None, stft_params=None):
        super().__init__(input_audio_signal, ref_mic=ref_mic, stft_params=stft_params)
        self.n_components = check_int("n_components", n_components, 1, error=SeparationError)
        self.n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        self.seed = check_seed(seed, error=SeparationError)

    def demixing_matrices(self, X):
        """ILRMA's demixing matrices (:func:`sepkit.kernels.bss.ilrma.ilrma`), shape (n_freq, M, M)."""
        n_freq, n_frames, n_chan = X.shape
        rng = default_rng(self.seed, error=SeparationError)
        bases = 0.1 + 0.9 * rng.random((n_chan, n_freq, self.n_components))
        activations = 0.1 + 0.9 * rng.random((n_chan, n_frames, self.n_components))
        W, self.bases, self.activations = ilrma_kernels.ilrma(X, self.n_iter, bases, activations)
        return W


register(
    "ilrma", ILRMA, "ILRMA: determined multichannel BSS, one source per microphone (low-rank NMF source model)",
    needs=("multichannel",), quick={"n_iter": 2},
    demo=(DemoRow("room", "ILRMA (100 it.)", blind=True, order=41),),
)
