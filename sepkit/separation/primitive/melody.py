"""Melody: predominant-melody separation from a pYIN pitch track and a harmonic comb mask.

nussl's ``Melodia`` tracks the melody with the MTG Melodia vamp plugin (a binary no package
registry provides, licensed for non-commercial use) and masks with the spectrogram of a
resynthesised square wave. This separator keeps its idea and its parameters' names but tracks
the f0 with pYIN (Mauch and Dixon 2014; sepkit's :func:`~sepkit.separation.primitive.pyin.pyin`,
whose output equals ``librosa.pyin``'s, without importing librosa) and builds the mask directly:
at every voiced frame, the bins within ``harmonic_width`` bins of each overtone ``h f0``
(``h = 1 .. num_overtones``, below Nyquist) go to the melody, with a triangular weight (1 at the
overtone's frequency, 0 at ``harmonic_width`` bins from it).
"""

from __future__ import annotations

import numpy as np

from ...core import SeparationError
from ...core.validation import check_array, check_int, check_real
from ..base import MaskSeparationBase
from ..registry import DemoRow, register
from .pyin import pyin
from .repet import check_cutoff, foreground_background_masks

__all__ = ["Melody", "harmonic_comb_mask"]


def harmonic_comb_mask(f0, n_freq: int, sample_rate: int, num_overtones: int, harmonic_width: float) -> np.ndarray:
    """The melody mask of an f0 track: triangular peaks at the overtones of every voiced frame.

    Parameters
    ----------
    f0 : numpy.ndarray of float, shape (n_frames,)
        f0 in Hz per STFT frame; 0 (or NaN) where unvoiced.
    n_freq : int
        Number of STFT bins (``window_length // 2 + 1``), bin ``k`` at ``k * sample_rate / (2 (n_freq - 1))`` Hz.
    sample_rate : int
        In Hz.
    num_overtones : int
        Overtones ``h = 1 .. num_overtones`` (those below Nyquist).
    harmonic_width : float
        Half-width of each peak, in bins (> 0).

    Returns
    -------
    numpy.ndarray of float64, shape (n_freq, n_frames)
        Values in [0, 1]: ``max_h max(0, 1 - |k - h f0 / bin_hz| / harmonic_width)``.
    """
    f0 = np.nan_to_num(np.asarray(f0, dtype=np.float64), nan=0.0)
    mask = np.zeros((n_freq, f0.size))
    bin_hz = sample_rate / (2.0 * (n_freq - 1))
    frames = np.flatnonzero(f0 > 0)
    if frames.size == 0:
        return mask
    centres = f0[frames, None] * np.arange(1, num_overtones + 1)[None, :] / bin_hz  # (voiced, overtones), in bins
    reach = int(np.ceil(harmonic_width))
    for offset in range(-reach, reach + 1):
        bins = np.round(centres).astype(np.int64) + offset
        weight = 1.0 - np.abs(bins - centres) / harmonic_width
        valid = (bins >= 0) & (bins < n_freq) & (weight > 0) & (centres < n_freq - 1)
        cols = np.broadcast_to(frames[:, None], bins.shape)
        np.maximum.at(mask, (bins[valid], cols[valid]), weight[valid])
    return mask


class Melody(MaskSeparationBase):
    """The predominant melody (pYIN f0 track, harmonic comb mask) and the rest of the mixture.

    The f0 is tracked by sepkit's :func:`~sepkit.separation.primitive.pyin.pyin`, equal to
    ``librosa.pyin`` (librosa is not imported).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (the pitch is tracked on the mean of the channels; the mask applies to all).
    minimum_frequency, maximum_frequency : float
        Range of the melody's f0 in Hz (pYIN's ``fmin``, ``fmax``). Raising the minimum above
        the accompaniment's range is what keeps pYIN, a monophonic tracker, on the melody.
    num_overtones : int
        Overtones of f0 (the fundamental included) given to the melody.
    voicing_tolerance : float
        In [0, 1]: a frame is voiced where pYIN's HMM decodes it as voiced or where its voicing
        probability is at least ``1 - voicing_tolerance``; higher values voice more frames (1:
        every frame). Melodia's parameter of the same name has another scale.
    harmonic_width : float
        Half-width of each overtone's peak in the mask, in STFT bins (> 0).
    high_pass_cutoff : float
        Bins below this frequency (Hz) go entirely to the background.
    pitch_sample_rate : int or None
        Rate (Hz) the mixture is resampled to for pYIN (cost grows with it); at least
        ``2 * maximum_frequency``, and giving a whole pYIN hop. ``None``: the mixture's rate
        halved while it stays at or above 22,050 Hz and the STFT hop stays even (22,050 Hz
        for 44.1 kHz, the mixture's own rate at 22.05 kHz or below).
    f0 : array_like or None
        A pitch track to use instead of pYIN: Hz per STFT frame, 0 where unvoiced.
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
    mask_threshold : float
        In (0, 1): for ``'binary'``, bins whose soft value exceeds it are kept.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Attributes
    ----------
    pitch : numpy.ndarray, shape (n_frames,)
        After :meth:`run`: the f0 of every STFT frame in Hz, 0 where unvoiced.
    voicing_probability : numpy.ndarray or None
        After :meth:`run`: pYIN's voicing probability per frame (None with a given ``f0``).

    Notes
    -----
    Output order: ``[background, foreground]`` (the melody second, as nussl's ``Melodia``).

    References
    ----------
    M. Mauch, S. Dixon, "pYIN: A fundamental frequency estimator using probabilistic threshold
    distributions", ICASSP 2014. J. Salamon, E. Gómez, "Melody extraction from polyphonic
    music signals using pitch contour characteristics", IEEE TASLP 20(6), 2012 (nussl's Melodia).

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_foreground_background_example("loop", duration=2.0)
    >>> background, melody = Melody(mix, minimum_frequency=300.0)()
    """

    def __init__(self, input_audio_signal, minimum_frequency=55.0, maximum_frequency=1760.0, num_overtones=40,
                 voicing_tolerance=0.2, harmonic_width=2.0, high_pass_cutoff=100.0, pitch_sample_rate=None,
                 f0=None, mask_type="soft", mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        nyquist = input_audio_signal.sample_rate / 2
        self.minimum_frequency = check_real("minimum_frequency", minimum_frequency, 0.0, nyquist, inclusive=False,
                                            error=SeparationError)
        self.maximum_frequency = check_real("maximum_frequency", maximum_frequency, self.minimum_frequency, nyquist,
                                            inclusive=False, error=SeparationError)
        self.num_overtones = check_int("num_overtones", num_overtones, 1, error=SeparationError)
        self.voicing_tolerance = check_real("voicing_tolerance", voicing_tolerance, 0.0, 1.0, error=SeparationError)
        self.harmonic_width = check_real("harmonic_width", harmonic_width, 0.0, inclusive=False, error=SeparationError)
        self.high_pass_cutoff = check_cutoff(self, high_pass_cutoff)
        if pitch_sample_rate is not None:
            pitch_sample_rate = check_int("pitch_sample_rate", pitch_sample_rate, 1, error=SeparationError)
        self.pitch_sample_rate = pitch_sample_rate
        if self._pitch_rate() < 2 * self.maximum_frequency:
            raise SeparationError(
                f"pitch_sample_rate={pitch_sample_rate!r} is below twice maximum_frequency ({self.maximum_frequency} Hz)"
            )
        if f0 is not None:
            f0 = check_array("f0", f0, ndim=1, error=SeparationError)
            if np.any(f0 < 0):
                raise SeparationError("f0 must be >= 0 (0 where unvoiced)")
        self.f0 = f0
        self.source_labels = ["background", "foreground"]
        self.pitch = None
        self.voicing_probability = None

    def _pitch_rate(self) -> int:
        if self.pitch_sample_rate is not None:
            return self.pitch_sample_rate
        rate, hop = self.sample_rate, self.stft_params.hop_length
        while rate % 2 == 0 and rate // 2 >= 22050 and hop % 2 == 0:
            rate, hop = rate // 2, hop // 2
        return rate

    def track_pitch(self) -> tuple[np.ndarray, np.ndarray]:
        """pYIN on the channels' mean, resampled to ``pitch_sample_rate``, on the STFT's frames.

        Returns
        -------
        f0 : numpy.ndarray, shape (n_frames,)
            Hz, 0 where unvoiced (neither decoded voiced nor of probability ``>= 1 - voicing_tolerance``).
        probability : numpy.ndarray, shape (n_frames,)
        """
        import soxr

        audio = np.mean(self.audio_signal.audio_data, axis=0)
        rate, pitch_rate = self.sample_rate, self._pitch_rate()
        if pitch_rate != rate:
            # What librosa.resample(..., res_type="soxr_hq") runs: the same samples, bit for bit
            # (and of its length, ceil(n * pitch_rate / rate)), without importing librosa.
            audio = soxr.resample(audio, rate, pitch_rate, quality="HQ")
        ratio = pitch_rate / rate
        hop = self.stft_params.hop_length * ratio
        if abs(hop - round(hop)) > 1e-9:
            raise SeparationError(
                f"pitch_sample_rate={pitch_rate} gives a pYIN hop of {hop:g} samples (the STFT hop "
                f"{self.stft_params.hop_length} at {rate} Hz): choose a rate giving a whole hop"
            )
        hop = int(round(hop))
        frame_length = 1 << int(np.ceil(np.log2(max(0.09 * pitch_rate, 4 * hop))))
        f0, flag, probability = pyin(
            audio, fmin=self.minimum_frequency, fmax=self.maximum_frequency, sr=pitch_rate,
            frame_length=frame_length, hop_length=hop, fill_na=None,
        )
        voiced = flag | (probability >= 1.0 - self.voicing_tolerance)
        return np.where(voiced, f0, 0.0), probability

    def run(self):
        """Track the melody's pitch (unless ``f0`` is given) and build the masks.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``[background, foreground]``, each ``(n_freq, n_frames, n_channels)``.
        """
        n_freq, n_frames, n_channels = self._mask_shape()
        if self.f0 is None:
            track, self.voicing_probability = self.track_pitch()
        else:
            track, self.voicing_probability = np.asarray(self.f0, dtype=np.float64), None
        pitch = np.zeros(n_frames)
        pitch[: min(n_frames, track.size)] = track[:n_frames]
        self.pitch = pitch
        melody = harmonic_comb_mask(pitch, n_freq, self.sample_rate, self.num_overtones, self.harmonic_width)
        background = np.repeat((1.0 - melody)[:, :, None], n_channels, axis=2)
        self.result_masks = foreground_background_masks(self, background)
        return self.result_masks


register(
    "melody", Melody,
    "predominant melody: pYIN pitch track and a harmonic comb mask (nussl's Melodia without the vamp plugin)",
    quick={"minimum_frequency": 300.0, "num_overtones": 10}, evaluate=False,
    demo=(DemoRow("loop", "Melody (pYIN, f0 >= 300 Hz)", {"minimum_frequency": 300.0}, order=14),),
)
