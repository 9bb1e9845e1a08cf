"""OverlapAdd: any separator run on overlapping windows of a long recording, cross-faded.

Window ``k`` covers samples ``[s_k, s_k + W)`` with ``s_k = k H`` (the last window ends at the
recording's end). Its estimates are matched to the previous window's on their overlap (the
Hungarian assignment on the correlation of the mono sums, means removed), weighted by
``w_k(t) / sum_j w_j(t)`` (a periodic Hann window, flat towards the recording's two ends, so the
weights sum to one at every sample) and added into the output buffers. Only one window's
estimates and the previous window's overlap are held at a time: the working memory depends on
the window, not on the recording's length.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.signal

from ...core import AudioSignal, SeparationError
from ...core.validation import check_real
from ..base import SeparationBase
from ..registry import get_separator, register

__all__ = ["OverlapAdd", "window_starts", "crossfade_weights", "match_sources"]


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Start samples of the windows: ``0, H, 2H, ...`` and a last one ending at ``n_samples``.

    A recording no longer than the window is one window starting at 0.
    """
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window, hop))
    starts.append(n_samples - window)
    return starts


def _base_weight(index: int, count: int, window: int) -> np.ndarray:
    weight = scipy.signal.windows.hann(window, sym=False)
    half = window // 2
    if index == 0:
        weight[:half] = 1.0
    if index == count - 1:
        weight[half:] = 1.0
    return weight


def crossfade_weights(starts, index: int, window: int) -> np.ndarray:
    """The weights of window ``index``, shape ``(window,)``: its Hann window over the sum of all at each sample.

    The first window is flat on its first half and the last on its second half, so the sum is
    positive everywhere and the weights of the windows covering a sample sum to one.
    """
    count = len(starts)
    if count == 1:
        return np.ones(window)
    start = starts[index]
    own = _base_weight(index, count, window)
    total = own.copy()
    for j in range(count):
        if j == index or abs(starts[j] - start) >= window:
            continue
        other = _base_weight(j, count, window)
        shift = starts[j] - start
        lo, hi = max(0, shift), min(window, shift + window)
        total[lo:hi] += other[lo - shift:hi - shift]
    return own / total


def match_sources(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """The order of ``current``'s sources that best matches ``previous`` on their common samples.

    Parameters
    ----------
    current, previous : numpy.ndarray, shape (n_sources, n_samples)
        Mono signals on the same samples.

    Returns
    -------
    numpy.ndarray of int, shape (n_sources,)
        ``order[j]`` is the current source placed at position ``j``: the permutation maximising
        the sum of the correlation coefficients (Hungarian algorithm).
    """
    a = current - current.mean(axis=1, keepdims=True)
    b = previous - previous.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    corr = np.divide(a @ b.T, norm, out=np.zeros((a.shape[0], b.shape[0])), where=norm > 0)
    rows, cols = scipy.optimize.linear_sum_assignment(-corr)
    order = np.empty(len(cols), dtype=int)
    order[cols] = rows
    return order


class OverlapAdd(SeparationBase):
    """Any separator on overlapping windows of a long recording, sources matched and cross-faded.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The (long) mixture.
    separator : str or type
        A registered separator's name (its registry defaults apply) or a separator class.
    window_duration : float
        Window length in seconds (> 0). A recording no longer than it is separated in one pass.
    hop_duration : float or None
        Hop between window starts in seconds, in ``(0, window_duration)``; ``None``: half the window.
    **separator_kwargs
        Parameters of the separator (e.g. ``min_period=0.5`` for Repet, ``num_sources=2`` for
        NMF). They are part of :meth:`get_params`. Oracle inputs (true sources) cannot be windowed.

    Attributes
    ----------
    permutations : list of numpy.ndarray
        After :meth:`run`: the order given to each window's sources (identity for the first).

    Raises
    ------
    SeparationError
        For an unknown separator, a non-positive window, a hop not below the window, or windows
        giving different numbers of sources.

    Notes
    -----
    Output order: the separator's, as in the first window (labels from its ``source_labels``).
    Differences from nussl's ``OverlapAdd``: windows are cross-faded with weights that sum to one
    for any hop (nussl's rectangular chunks are weighted by a Hann window that sums to one only
    for a hop of half the window); sources are matched by the Hungarian assignment on
    correlation coefficients (nussl's greedy arg-max can place a source twice), always (nussl
    only with ``find_permutation=True``); and the output buffers are the only memory that grows
    with the recording.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_foreground_background_example("loop")
    >>> background, foreground = OverlapAdd(mix, "repet", window_duration=5.0)()
    """

    def __init__(self, input_audio_signal, separator, window_duration=15.0, hop_duration=None,
                 **separator_kwargs):
        super().__init__(input_audio_signal)
        if isinstance(separator, str):
            self._separator_class = get_separator(separator).cls
            self._defaults = dict(get_separator(separator).defaults)
        elif isinstance(separator, type) and issubclass(separator, SeparationBase):
            self._separator_class, self._defaults = separator, {}
        else:
            raise SeparationError(
                f"separator must be a registered name or a SeparationBase subclass, got {separator!r}"
            )
        if issubclass(self._separator_class, OverlapAdd):
            raise SeparationError("OverlapAdd cannot window itself")
        self.separator = separator
        self.window_duration = check_real("window_duration", window_duration, 0.0, inclusive=False,
                                          error=SeparationError)
        if hop_duration is not None:
            hop_duration = check_real("hop_duration", hop_duration, 0.0, self.window_duration,
                                      inclusive=False, error=SeparationError)
        self.hop_duration = hop_duration
        for name, value in separator_kwargs.items():
            if isinstance(value, AudioSignal) or (
                isinstance(value, (list, tuple, dict)) and any(isinstance(v, AudioSignal) for v in
                                                               (value.values() if isinstance(value, dict) else value))
            ):
                raise SeparationError(f"separator argument {name!r} holds signals, which OverlapAdd cannot window")
        self.separator_kwargs = dict(separator_kwargs)
        self.source_labels = []
        self.permutations = []
        self._estimates = None

    def get_params(self) -> dict:
        """The parameters: ``separator``, ``window_duration``, ``hop_duration`` and every separator argument."""
        params = super().get_params()
        params.update(self.separator_kwargs)
        return params

    def _sizes(self) -> tuple[int, int]:
        rate = self.sample_rate
        window = max(int(round(self.window_duration * rate)), 1)
        hop_seconds = self.window_duration / 2 if self.hop_duration is None else self.hop_duration
        hop = min(max(int(round(hop_seconds * rate)), 1), max(window - 1, 1))
        return window, hop

    def _separate(self, audio: np.ndarray) -> tuple[np.ndarray, list]:
        chunk = AudioSignal._trusted(audio, self.sample_rate, label="mix",
                                     stft_params=self.audio_signal.stft_params)
        separator = self._separator_class(chunk, **{**self._defaults, **self.separator_kwargs})
        estimates = separator()
        labels = list(separator.source_labels or [e.label for e in estimates])
        return np.stack([e.audio_data for e in estimates]), labels

    def run(self) -> list[AudioSignal]:
        """Separate window by window into the output buffers.

        Returns
        -------
        list of AudioSignal
            The estimates, one per source.
        """
        audio = self.audio_signal.audio_data
        n_samples = audio.shape[1]
        window, hop = self._sizes()
        starts = window_starts(n_samples, window, hop)
        out = None
        previous = None  # previous window's reordered mono estimates on its samples
        self.permutations = []
        for index, start in enumerate(starts):
            stop = min(start + window, n_samples)
            estimates, labels = self._separate(audio[:, start:stop])
            if out is None:
                out = np.zeros((estimates.shape[0],) + audio.shape)
                self.source_labels = labels
                order = np.arange(estimates.shape[0])
            else:
                if estimates.shape[0] != out.shape[0]:
                    raise SeparationError(
                        f"window {index} gave {estimates.shape[0]} sources, the first gave {out.shape[0]}"
                    )
                prev_start, prev_mono = previous
                overlap = prev_start + prev_mono.shape[1] - start
                order = match_sources(estimates[:, :, :overlap].sum(axis=1), prev_mono[:, -overlap:])
                estimates = estimates[order]
            self.permutations.append(order)
            out[:, :, start:stop] += estimates * crossfade_weights(starts, index, window)[: stop - start]
            previous = (start, estimates.sum(axis=1))
        self._estimates = [
            AudioSignal._trusted(out[j], self.sample_rate, label=self.source_labels[j],
                                 stft_params=self.audio_signal.stft_params)
            for j in range(out.shape[0])
        ]
        return self._estimates

    def make_audio_signals(self) -> list[AudioSignal]:
        """The estimates of :meth:`run`, one :class:`~sepkit.AudioSignal` per source."""
        self._check_run()
        return list(self._estimates)


register(
    "overlap-add", OverlapAdd,
    "any separator on overlapping windows of a long recording, sources matched and cross-faded",
    defaults={"separator": "repet"}, evaluate=False,
    quick={"separator": "rpca", "window_duration": 0.5},
)
