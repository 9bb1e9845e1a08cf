"""FastMNMF2: multichannel NMF with jointly diagonalisable spatial covariances (Sekiguchi et al. 2020).

The model and the updates are described in :mod:`sepkit.kernels.bss.fastmnmf2`; this
module is the separator: STFT, seeded initial values, the fit, the multichannel Wiener
estimates of the source images, inverse STFT.
"""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, SeparationError, STFTParams
from ...core.validation import check_bool, check_int, check_seed, default_rng
from ...kernels.bss import fastmnmf2 as kernels
from ..base import SeparationBase, signals_from_stfts, validate_labels
from ..registry import DemoRow, register

__all__ = ["DEFAULT_STFT", "FastMNMF2"]

#: Default STFT of FastMNMF2 (at any rate): 2048-sample Hann windows, hop 512 (128 ms / 32 ms
#: at 16 kHz, longer than a small room's reverberation), the best of 512, 1024 and 2048 on the
#: reverberant example (see the docs page) and the default of AuxIVA and ILRMA.
DEFAULT_STFT = STFTParams(2048, 512, "hann")


class FastMNMF2(SeparationBase):
    """FastMNMF2: blind multichannel separation by NMF source spectra and a jointly diagonalised spatial model.

    The mixture STFT ``x_ft`` (``M`` microphones) is modelled as a zero-mean complex Gaussian
    with covariance ``sum_n lam_nft G_nf``: each source has an NMF power spectrum
    ``lam_nft = sum_k W_nfk H_nkt`` (``n_components`` bases) and a full-rank spatial
    covariance ``G_nf = Q_f^-1 diag(g_n) Q_f^-H``, where one matrix ``Q_f`` per frequency
    diagonalises every source's covariance and the diagonal weights ``g_n`` are shared by
    all frequencies. The fit alternates majorisation-minimisation updates of ``W``, ``H``
    and ``g`` with iterative-projection updates of the rows of ``Q_f``; the estimates are
    the multichannel Wiener filters of the fitted model, so they **sum to the mixture**
    (to rounding) and need no projection back. Same updates, initial values and constants
    as pyroomacoustics 0.10.1's ``pra.bss.fastmnmf2`` (parity 1e-13 on the same STFT and
    initial values), with a seeded generator instead of numpy's global one.

    Number of sources and microphones. The model allows any ``num_sources`` (it needs no
    demixing matrix): at the start channel ``m`` is given to source ``m % num_sources``
    (``g`` is ``1`` there and ``0.05`` elsewhere). ``num_sources == n_channels`` is the
    determined case the method is made for. With fewer sources than microphones a source
    owns several channels of the diagonalised domain (fine, e.g. 2 voices on 3 mics). With
    more sources than microphones (underdetermined) the extra sources start with no channel
    of their own and are told apart by their spectra only: the fit runs and the estimates
    still sum to the mixture, but expect poor separation. ``num_sources=1`` returns the
    mixture.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, shape ``(n_channels, n_samples)`` with ``n_channels >= 2``; never modified.
    num_sources : int
        Number of sources to estimate, >= 1.
    n_iter : int
        Number of iterations, >= 0 (pyroomacoustics' default is 30; 100 separates better,
        see the docs page).
    n_components : int
        NMF bases per source, >= 1.
    seed : int, numpy.random.Generator or None
        Seed of the initial NMF factors (uniform in [0, 1), ``H`` drawn before ``W``).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses :data:`DEFAULT_STFT` (2048-sample Hann, hop 512).
    ref_mic : int or None
        ``None``: each estimate is its source's image at **every** microphone (shaped like
        the mixture). An int: the image at that microphone only (one-channel estimates,
        pyroomacoustics' ``mic_index``).
    accelerate : bool
        Update ``H`` with the NMF ratios of the start of the iteration, like ``W``
        (pyroomacoustics' default). ``False`` recomputes them from the updated ``W`` first
        (in pyroomacoustics 0.10.1, ``accelerate=False`` changes nothing: its recomputation
        reads the old variances).
    normalize_every : int
        Rescale the parameters (no change to the model) every this many iterations, the
        first included (pyroomacoustics: 10); 0 never.

    Attributes
    ----------
    result_stfts : numpy.ndarray of complex128, shape (n_freq, n_frames, n_out, num_sources)
        After :meth:`run`: the source images (``n_out`` is ``n_channels``, or 1 with ``ref_mic``).
    model : dict
        After :meth:`run`: the fitted parameters ``q`` (n_freq, M, M) complex, ``g``
        (num_sources, M), ``w`` (num_sources, n_freq, n_components), ``h``
        (num_sources, n_components, n_frames) and the spectra ``lam``
        (num_sources, n_freq, n_frames).
    source_labels : list of str
        ``'source_0'``, ``'source_1'``, ...: the order is arbitrary (blind separation;
        score with a permutation-solving metric).

    Raises
    ------
    SeparationError
        For a mono or silent mixture, or an invalid parameter.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_spatial_example("reverberant", duration=1.0)
    >>> estimates = FastMNMF2(mix, num_sources=2, n_iter=5, seed=0)()
    >>> len(estimates), estimates[0].audio_data.shape == mix.audio_data.shape
    (2, True)

    References
    ----------
    K. Sekiguchi, Y. Bando, A. A. Nugraha, K. Yoshii and T. Kawahara, "Fast multichannel
    nonnegative matrix factorization with directivity-aware jointly-diagonalizable spatial
    covariance matrices for blind source separation", IEEE/ACM TASLP 28:2610-2625, 2020.
    """

    def __init__(
        self,
        input_audio_signal: AudioSignal,
        num_sources,
        n_iter=100,
        n_components=8,
        seed=None,
        stft_params=None,
        ref_mic=None,
        accelerate=True,
        normalize_every=10,
    ):
        super().__init__(input_audio_signal)
        n_chan = input_audio_signal.num_channels
        if n_chan < 2:
            raise SeparationError(
                f"FastMNMF2 needs a multichannel mixture (at least 2 microphones), got {n_chan} channel"
            )
        self.num_sources = check_int("num_sources", num_sources, 1, error=SeparationError)
        self.n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        self.n_components = check_int("n_components", n_components, 1, error=SeparationError)
        self.seed = check_seed(seed, error=SeparationError)
        self.ref_mic = None if ref_mic is None else check_int("ref_mic", ref_mic, 0, n_chan - 1, error=SeparationError)
        self.accelerate = check_bool("accelerate", accelerate, error=SeparationError)
        self.normalize_every = check_int("normalize_every", normalize_every, 0, error=SeparationError)
        if stft_params is None:
            stft_params = DEFAULT_STFT
        if not isinstance(stft_params, STFTParams):
            raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
        self.stft_params = stft_params.resolve(input_audio_signal.sample_rate)
        self.source_labels = validate_labels(None, self.num_sources)
        self.result_stfts = None
        self.model = None

    def run(self) -> np.ndarray:
        """Fit the model and compute the Wiener estimates of the source images.

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_frames, n_out, num_sources)
            The source STFTs, also stored in :attr:`result_stfts`.

        Raises
        ------
        SeparationError
            For a silent mixture (the model has nothing to fit).
        """
        from ...decomposition._threads import ThreadChooser

        x = np.ascontiguousarray(self.audio_signal.stft(self.stft_params), dtype=np.complex128)
        if not np.any(x):
            raise SeparationError("FastMNMF2 got a silent mixture (every STFT bin is zero)")
        n_freq, n_frames, n_chan = x.shape
        rng = default_rng(self.seed, error=SeparationError)
        init = kernels.init_fastmnmf2(rng, self.num_sources, n_freq, n_frames, n_chan, self.n_components)
        chooser = ThreadChooser("numba")
        try:
            q, g, w, h, lam = kernels.fastmnmf2(
                x, *init, self.n_iter, accelerate=self.accelerate, normalize_every=self.normalize_every,
                threads=chooser,
            )
        finally:
            chooser.restore()
        self.model = {"q": q, "g": g, "w": w, "h": h, "lam": lam}
        mics = None if self.ref_mic is None else [self.ref_mic]
        self.result_stfts = kernels.source_images(x, q, lam, g, mics)
        return self.result_stfts

    def make_audio_signals(self) -> list[AudioSignal]:
        """Invert :attr:`result_stfts`: one signal per source, of the mixture's length and rate.

        Returns
        -------
        list of AudioSignal
            One per source, in the (arbitrary) order of the model; each has the mixture's
            channels, or one with ``ref_mic``.
        """
        self._check_run()
        return signals_from_stfts(self.audio_signal, self.result_stfts, self.stft_params, self.source_labels)


register(
    "fast-mnmf2", FastMNMF2,
    "FastMNMF2: multichannel NMF with a jointly diagonalised spatial model (blind, multichannel)",
    needs=("num_sources", "multichannel"),
    quick={"n_iter": 3, "n_components": 2},
    demo=(DemoRow("room", "FastMNMF2 (100 it.)", blind=True, order=42),),
)
