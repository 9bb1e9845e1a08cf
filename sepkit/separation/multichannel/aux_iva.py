"""AuxIVA: determined independent vector analysis with iterative-projection updates (Ono 2011).

Also the shared front and back end of the determined BSS separators,
:class:`DeterminedBSSBase`: STFT, demixing by a subclass, projection back onto the
microphones, inverse STFT.
"""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, SeparationError, STFTParams
from ...core.validation import check_choice, check_int
from ...kernels.bss import iva, projection
from ..base import SeparationBase, signals_from_stfts, validate_labels
from ..registry import DemoRow, register

__all__ = ["DeterminedBSSBase", "AuxIVA", "DEFAULT_STFT"]

#: Default STFT of the determined BSS separators (at any rate): 2048-sample Hann windows,
#: hop 512 (128 ms / 32 ms at 16 kHz; longer than the reverberation of a small room, as the
#: frequency-domain mixing model wants).
DEFAULT_STFT = STFTParams(2048, 512, "hann")


class DeterminedBSSBase(SeparationBase):
    """Base of the determined multichannel BSS separators (as many sources as microphones).

    A subclass implements :meth:`demixing_matrices`; this base computes the mixture STFT,
    demixes it, restores each source's scale by projection back onto the microphones and
    inverts the STFT.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, ``n_channels >= 2``.
    ref_mic : int or None
        ``None``: each estimate is its source's image at **every** microphone (projection
        back onto each channel; the estimates are shaped like the mixture and sum to it
        approximately).
        An int: the image at that microphone only (single-channel estimates, as
        pyroomacoustics returns).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses :data:`DEFAULT_STFT`.

    Attributes
    ----------
    demixing : numpy.ndarray of complex128, shape (n_freq, n_channels, n_channels)
        After :meth:`run`: the demixing matrices, rows ``w_s^H`` (``y = W x`` per frequency).
    result_stfts : numpy.ndarray of complex128, shape (n_freq, n_frames, n_out, n_sources)
        After :meth:`run`: the source images (``n_out`` is ``n_channels``, or 1 with ``ref_mic``).
    """

    def __init__(self, input_audio_signal: AudioSignal, ref_mic=None, stft_params=None):
        super().__init__(input_audio_signal)
        n_chan = input_audio_signal.num_channels
        if n_chan < 2:
            raise SeparationError(
                f"{type(self).__name__} needs a multichannel mixture (one source per microphone), "
                f"got {n_chan} channel"
            )
        self.ref_mic = None if ref_mic is None else check_int(
            "ref_mic", ref_mic, 0, n_chan - 1, error=SeparationError
        )
        if stft_params is None:
            stft_params = DEFAULT_STFT
        if not isinstance(stft_params, STFTParams):
            raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
        self.stft_params = stft_params.resolve(input_audio_signal.sample_rate)
        self.num_sources = n_chan
        self.source_labels = validate_labels(None, n_chan)

    def demixing_matrices(self, X: np.ndarray) -> np.ndarray:
        """The demixing matrices for the mixture STFT ``X`` (implemented by subclasses).

        Parameters
        ----------
        X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels), C-contiguous

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_channels, n_channels)
        """
        raise NotImplementedError

    def run(self) -> np.ndarray:
        """Demix and project back.

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_frames, n_out, n_sources)
            The source images, also in :attr:`result_stfts`.
        """
        X = np.ascontiguousarray(self.audio_signal.stft(self.stft_params), dtype=np.complex128)
        self.demixing = self.demixing_matrices(X)
        Y = projection.demix(X, self.demixing)
        mics = None if self.ref_mic is None else [self.ref_mic]
        self.result_stfts = projection.images(Y, X, mics)
        return self.result_stfts

    def make_audio_signals(self) -> list[AudioSignal]:
        """Invert :attr:`result_stfts`: one signal per source, of the mixture's length and rate.

        Returns
        -------
        list of AudioSignal
            ``n_channels`` signals labelled ``source_0``, ``source_1``, ... in the demixing's
            (arbitrary) order; each has the mixture's channels, or one with ``ref_mic``.
        """
        self._check_run()
        return signals_from_stfts(self.audio_signal, self.result_stfts, self.stft_params, self.source_labels)


class AuxIVA(DeterminedBSSBase):
    """Independent vector analysis with auxiliary-function (iterative projection) updates.

    Determined frequency-domain BSS: one demixing matrix per frequency, ``y = W x``, with
    the frequencies of a source tied together by a spherical (``'laplace'`` or ``'gauss'``)
    prior on its vector over frequency, which avoids the permutation problem of
    frequency-wise ICA. The updates (Ono 2011) are those of pyroomacoustics'
    ``pra.bss.auxiva`` (identity start, determined case), after which each source is
    scaled by projection back onto the microphones (minimal distortion principle).

    One estimate per microphone: with ``M`` channels there are ``M`` estimates, in the
    arbitrary order the demixing gives (score them with a permutation-free evaluation,
    e.g. :func:`sepkit.evaluation.si_sdr_matched`). With fewer sources than microphones
    the extra estimates hold reverberation, noise or parts of the sources; with more
    sources than microphones the problem is underdetermined and some estimates hold
    several sources (AuxIVA cannot separate them).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (shape ``(n_channels, n_samples)``).
    n_iter : int
        Number of iterations, >= 0 (0 returns the mixture channels themselves).
    model : str
        Source prior: ``'laplace'`` (super-Gaussian, ``r = 2 ||y_s(t)||``) or ``'gauss'``
        (time-varying Gaussian, ``r = ||y_s(t)||^2 / n_freq``).
    ref_mic : int or None
        ``None``: images at every microphone (estimates shaped like the mixture); an int:
        the image at that microphone only.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses :data:`DEFAULT_STFT` (2048-sample Hann, hop 512).

    Raises
    ------
    SeparationError
        For a single-channel mixture or an invalid parameter.

    Examples
    --------
    >>> mix, images = sepkit.datasets.load_spatial_example("reverberant", duration=2)
    >>> estimates = AuxIVA(mix, n_iter=20)()
    >>> len(estimates), estimates[0].audio_data.shape == mix.audio_data.shape
    (2, True)

    References
    ----------
    N. Ono, "Stable and fast update rules for independent vector analysis based on auxiliary
    function technique", IEEE WASPAA 2011, pp. 189-192.
    """

    def __init__(self, input_audio_signal, n_iter=30, model="laplace", ref_mic=None, stft_params=None):
        super().__init__(input_audio_signal, ref_mic=ref_mic, stft_params=stft_params)
        self.n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        self.model = check_choice("model", model, ("laplace", "gauss"), error=SeparationError)

    def demixing_matrices(self, X):
        """AuxIVA's demixing matrices (:func:`sepkit.kernels.bss.iva.auxiva`), shape (n_freq, M, M)."""
        return iva.auxiva(X, self.n_iter, self.model == "laplace")


register(
    "aux-iva", AuxIVA, "AuxIVA: determined multichannel BSS, one source per microphone (IVA, IP updates)",
    needs=("multichannel",), quick={"n_iter": 2},
    demo=(DemoRow("room", "AuxIVA (30 it.)", blind=True, order=40),),
)
