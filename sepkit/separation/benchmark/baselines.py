"""Lower baselines: :class:`MixAsEstimate` and :class:`HighLowPassFilter`."""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, SeparationError
from ...core.validation import check_int, check_real
from ..base import MaskSeparationBase, SeparationBase, validate_labels
from ..registry import DemoRow, register

__all__ = ["MixAsEstimate", "HighLowPassFilter"]


class MixAsEstimate(SeparationBase):
    """Lower baseline: every estimate is the mixture itself.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture.
    num_sources : int
        Number of estimates to return (at least 1).

    Raises
    ------
    SeparationError
        If ``num_sources`` is not a positive integer.

    Examples
    --------
    >>> mix, _ = sepkit.datasets.load_example()
    >>> len(MixAsEstimate(mix, num_sources=4)())
    4
    """

    def __init__(self, input_audio_signal, num_sources):
        super().__init__(input_audio_signal)
        self.num_sources = check_int("num_sources", num_sources, minimum=1, error=SeparationError)
        self.source_labels = validate_labels(None, self.num_sources)

    def run(self):
        """Nothing to compute."""

    def make_audio_signals(self) -> list[AudioSignal]:
        """``num_sources`` signals equal to the mixture (sharing its read-only samples)."""
        self._check_run()
        return [self.audio_signal.with_label(label) for label in self.source_labels]


class HighLowPassFilter(MaskSeparationBase):
    """Lower baseline: split the spectrum at a cutoff frequency (brick wall in the STFT domain).

    The first estimate holds the bins below the bin nearest ``cutoff_hz`` (label
    ``'low'``), the second the rest (``'high'``), as in nussl.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture.
    cutoff_hz : float
        Cutoff in Hz, strictly between 0 and the Nyquist frequency.
    mask_type : {'binary', 'soft'} or SoftMask or BinaryMask
        Kind of masks (the values are 0 and 1 either way).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Raises
    ------
    SeparationError
        If ``cutoff_hz`` is not a number in (0, sample_rate / 2).

    Examples
    --------
    >>> mix, _ = sepkit.datasets.load_example()
    >>> low, high = HighLowPassFilter(mix, cutoff_hz=500)()
    """

    def __init__(self, input_audio_signal, cutoff_hz, mask_type="binary", stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, stft_params=stft_params)
        nyquist = input_audio_signal.sample_rate / 2
        self.cutoff_hz = check_real("cutoff_hz", cutoff_hz, 0.0, nyquist, inclusive=False, error=SeparationError)
        self.source_labels = ["low", "high"]

    def run(self):
        """Build the low-pass and high-pass masks."""
        freqs = self.audio_signal.frequencies(self.stft_params)
        cutoff_bin = int(np.argmin(np.abs(freqs - self.cutoff_hz)))
        n_frames = self.audio_signal.stft(self.stft_params).shape[1]
        low = np.zeros((freqs.size, n_frames, self.audio_signal.num_channels), order="F")
        low[:cutoff_bin] = 1.0
        self.result_masks = self.masks_from_soft([low, 1.0 - low])
        return self.result_masks


register(
    "mix-as-estimate", MixAsEstimate, "every estimate is the mixture, once per source (lower baseline)",
    needs=("num_sources",),
    demo=tuple(DemoRow(scene, "MixAsEstimate", order=90) for scene in ("chorale", "duet", "drums", "loop", "drums_voice", "spatial", "room")),
)
register(
    "high-low-pass", HighLowPassFilter, "split the spectrum at cutoff_hz into low and high (lower baseline)",
    defaults={"cutoff_hz": 150.0},
    demo=(DemoRow("chorale", "HighLowPassFilter 150 Hz", blind=True, order=91),),
)
