"""Base classes of every separator: ``SeparationBase`` and ``MaskSeparationBase``."""

from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np

from ..core import AudioSignal, BinaryMask, MaskBase, SeparationError, SoftMask, STFTParams

__all__ = [
    "SeparationBase",
    "MaskSeparationBase",
    "validate_sources",
    "validate_labels",
    "validate_stft_params",
    "signals_from_stfts",
]


class SeparationBase:
    """Base of every separator.

    A separator stores its parameters in ``__init__`` (under the names of the
    arguments, so :meth:`get_params` can read them back), does the work in :meth:`run`
    and builds one :class:`~sepkit.AudioSignal` per source in
    :meth:`make_audio_signals`; calling it does both: ``estimates = Sep(mix, ...)()``.

    Two kinds of separator derive from it: :class:`MaskSeparationBase`, whose ``run()``
    returns masks applied to the mixture STFT, and estimators that compute the source
    STFTs directly (:class:`~sepkit.separation.WienerFilter`, whose ``run()`` returns
    complex STFTs) or time signals (:class:`~sepkit.separation.MixAsEstimate`).

    Attributes
    ----------
    source_labels : list of str
        One label per estimated source, in output order (set by ``__init__`` or ``run()``).
    stft_params : STFTParams or None
        STFT parameters of the separator; None for a method that never leaves the time domain.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture. The separator keeps a reference and never copies or changes it.

    Raises
    ------
    SeparationError
        If ``input_audio_signal`` is not an :class:`~sepkit.AudioSignal`.
    """

    stft_params = None
    source_labels: list = []

    def __init__(self, input_audio_signal: AudioSignal):
        if not isinstance(input_audio_signal, AudioSignal):
            raise SeparationError(
                f"{type(self).__name__} needs an AudioSignal mixture, got {type(input_audio_signal).__name__}"
            )
        self.audio_signal = input_audio_signal
        self._has_run = False

    def __init_subclass__(cls, **kwargs):
        # Record that run() happened whatever the subclass's run() does, so no subclass
        # has to remember to: make_audio_signals() checks the flag.
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            cls.run = _recording_run(cls.__dict__["run"])

    @property
    def sample_rate(self) -> int:
        """Sample rate of the mixture in Hz."""
        return self.audio_signal.sample_rate

    def run(self):
        """Compute the separation; subclasses store their results on ``self``."""
        raise NotImplementedError

    def make_audio_signals(self) -> list[AudioSignal]:
        """Return the estimated sources, one :class:`~sepkit.AudioSignal` each, in source order."""
        raise NotImplementedError

    def __call__(self) -> list[AudioSignal]:
        """Run the separation and return the estimates: ``run()`` then ``make_audio_signals()``."""
        self.run()
        return self.make_audio_signals()

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            name
            for name, p in list(signature.parameters.items())[2:]  # self, the mixture
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]

    def get_params(self) -> dict:
        """The separator's parameters, read from the object, by the names of ``__init__``'s arguments.

        ``type(sep)(mix, **sep.get_params())`` builds a separator that gives the same
        estimates (as in scikit-learn, parameters are never written down a second time).

        Returns
        -------
        dict of str to object
        """
        params = {}
        for name in self._param_names():
            if not hasattr(self, name):
                raise SeparationError(
                    f"{type(self).__name__} does not store its argument {name!r} under that name"
                )
            params[name] = getattr(self, name)
        return params

    def _check_run(self):
        if not self._has_run:
            raise SeparationError(f"call {type(self).__name__}.run() before make_audio_signals()")

    def __repr__(self) -> str:
        try:
            params = self.get_params()
        except SeparationError:
            params = {}
        shown = ", ".join(f"{name}={_short_repr(value)}" for name, value in params.items())
        return f"{type(self).__name__}({shown}) on {self.audio_signal!r}"


def _recording_run(run):
    @functools.wraps(run)
    def recorded(self, *args, **kwargs):
        result = run(self, *args, **kwargs)
        self._has_run = True
        return result

    recorded.__sepkit_recorded__ = True
    return recorded


def _short_repr(value) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {value.dtype} {value.shape}>"
    if isinstance(value, AudioSignal):
        return f"<AudioSignal {value.label!r}>"
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, (list, tuple, dict)) and len(value) > 4:
        return f"<{type(value).__name__} of {len(value)}>"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def validate_stft_params(stft_params, signal: AudioSignal) -> STFTParams:
    """Return complete STFT parameters for ``signal`` (its own when ``stft_params`` is None)."""
    if stft_params is None:
        return signal.stft_params
    if not isinstance(stft_params, STFTParams):
        raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
    return stft_params.resolve(signal.sample_rate)


def validate_labels(labels, num_sources: int) -> list[str]:
    """Return ``num_sources`` labels: the given ones, or ``'source_0'``, ``'source_1'``, ..."""
    if labels is None:
        return [f"source_{j}" for j in range(num_sources)]
    labels = [str(label) for label in labels]
    if len(labels) != num_sources:
        raise SeparationError(f"expected {num_sources} labels, got {len(labels)}")
    return labels


def validate_seed(seed):
    """Return ``seed`` (None, a nonnegative int or a ``numpy.random.Generator``) or raise."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise SeparationError(f"seed must be None, a nonnegative int or a numpy.random.Generator, got {seed!r}")


def validate_sources(mix: AudioSignal, sources, name: str = "sources"):
    """Check sources against the mixture and return ``(signals, labels)``.

    Parameters
    ----------
    mix : AudioSignal
        The mixture.
    sources : list of AudioSignal or dict of str to AudioSignal
        One signal per source, each of the mixture's sample rate, channel count and length.
        Labels are the dict keys, else each signal's label, else ``'source_j'``.
    name : str
        Name of the argument, for error messages.

    Returns
    -------
    signals : list of AudioSignal
    labels : list of str

    Raises
    ------
    SeparationError
        If ``sources`` is empty, not a list/dict of signals, or a signal does not match
        the mixture.
    """
    if isinstance(sources, dict):
        labels = [str(key) for key in sources]
        signals = list(sources.values())
    elif isinstance(sources, (list, tuple)):
        signals = list(sources)
        labels = [
            sig.label if isinstance(sig, AudioSignal) and sig.label else f"source_{j}"
            for j, sig in enumerate(signals)
        ]
    else:
        raise SeparationError(f"{name} must be a list or dict of AudioSignals, got {type(sources).__name__}")
    if not signals:
        raise SeparationError(f"{name} is empty: give at least one source")
    for label, sig in zip(labels, signals):
        if not isinstance(sig, AudioSignal):
            raise SeparationError(f"{name}[{label!r}] is a {type(sig).__name__}, expected an AudioSignal")
        if sig.sample_rate != mix.sample_rate:
            raise SeparationError(
                f"{name}[{label!r}] is at {sig.sample_rate} Hz but the mixture is at {mix.sample_rate} Hz"
            )
        if sig.num_channels != mix.num_channels or sig.signal_length != mix.signal_length:
            raise SeparationError(
                f"{name}[{label!r}] has shape {sig.audio_data.shape} but the mixture has "
                f"{mix.audio_data.shape} (channels, samples)"
            )
    return signals, labels


def signals_from_stfts(mix: AudioSignal, stfts: np.ndarray, params: STFTParams, labels) -> list[AudioSignal]:
    """Invert stacked source STFTs into signals of the mixture's length and rate.

    Parameters
    ----------
    mix : AudioSignal
        The mixture (gives length, sample rate and defaults).
    stfts : numpy.ndarray of complex, shape (n_freq, n_frames, n_channels, n_sources)
        Source STFTs, sources on the last axis.
    params : STFTParams
        Parameters of ``stfts``.
    labels : list of str
        One label per source.
    """
    return [mix.istft(stfts[..., j], params, label=labels[j]) for j in range(stfts.shape[-1])]


class MaskSeparationBase(SeparationBase):
    """Base of separators whose estimates are masks applied to the mixture STFT.

    Subclasses fill ``self.result_masks`` in :meth:`run`, a list with one mask per
    source, of the class given by ``mask_type``; :meth:`make_audio_signals` applies
    each to the mixture and inverts the STFT.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified).
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        Kind of mask to produce; the mask classes (or instances of them) are accepted.
    mask_threshold : float
        In (0, 1): wherever a soft result must become binary, bins whose soft value
        exceeds this threshold are kept.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Raises
    ------
    SeparationError
        For an unknown ``mask_type`` or a threshold outside (0, 1).
    """

    MASKS = {"soft": SoftMask, "binary": BinaryMask}

    def __init__(self, input_audio_signal, mask_type="soft", mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal)
        self.mask_type = self._validate_mask_type(mask_type)
        if (
            isinstance(mask_threshold, bool)
            or not isinstance(mask_threshold, numbers.Real)
            or not 0.0 < mask_threshold < 1.0
        ):
            raise SeparationError(f"mask_threshold must be a number in (0, 1), got {mask_threshold!r}")
        self.mask_threshold = float(mask_threshold)
        self.stft_params = validate_stft_params(stft_params, input_audio_signal)
        self.result_masks: list[MaskBase] = []

    @classmethod
    def _validate_mask_type(cls, mask_type):
        if isinstance(mask_type, str) and mask_type.lower() in cls.MASKS:
            return cls.MASKS[mask_type.lower()]
        if isinstance(mask_type, type) and mask_type in (SoftMask, BinaryMask):
            return mask_type
        if isinstance(mask_type, (SoftMask, BinaryMask)):
            return type(mask_type)
        raise SeparationError(
            f"mask_type must be 'soft', 'binary', SoftMask or BinaryMask, got {mask_type!r}"
        )

    def masks_from_soft(self, soft) -> list[MaskBase]:
        """Turn soft values into masks of ``mask_type``, taking ownership of the arrays.

        Parameters
        ----------
        soft : sequence of numpy.ndarray of float, each shape (n_freq, n_frames, n_channels)
            One array per source, values in [0, 1]; for ``mask_type='binary'`` a bin is
            kept where its value exceeds ``mask_threshold``.
        """
        if self.mask_type is BinaryMask:
            return [BinaryMask(values > self.mask_threshold, copy=False) for values in soft]
        return [SoftMask(values, copy=False) for values in soft]

    def run(self) -> list[MaskBase]:
        """Compute ``result_masks``; subclasses implement it and return ``self.result_masks``.

        Returns
        -------
        list of SoftMask or BinaryMask
            One mask per source, each shape ``(n_freq, n_frames, n_channels)``.
        """
        raise NotImplementedError

    def _mask_shape(self) -> tuple:
        params = self.stft_params
        n_frames = self.audio_signal.stft(params).shape[1]
        return (params.window_length // 2 + 1, n_frames, self.audio_signal.num_channels)

    def ones_mask(self) -> MaskBase:
        """A mask of ``mask_type`` that keeps every bin, shaped like the mixture STFT (nussl's name)."""
        return self.mask_type.ones(self._mask_shape())

    def zeros_mask(self) -> MaskBase:
        """A mask of ``mask_type`` that removes every bin, shaped like the mixture STFT (nussl's name)."""
        return self.mask_type.zeros(self._mask_shape())

    def apply_mask(self, mask: MaskBase, label: str) -> AudioSignal:
        """Apply one mask to the mixture and return the estimate: the hook of the analysis transform.

        The default masks the mixture STFT with ``stft_params`` and inverts it. A
        separator with its own analysis/synthesis transform (DictSep's Gaussian-window
        STFT) overrides this method alone; ``make_audio_signals`` stays the base's.

        Parameters
        ----------
        mask : SoftMask or BinaryMask
            Shape ``(n_freq, n_frames, n_channels)`` of the separator's transform.
        label : str
            Label of the estimate.
        """
        return self.audio_signal.apply_mask(mask, self.stft_params, label=label)

    def make_audio_signals(self) -> list[AudioSignal]:
        """Apply every mask of ``result_masks`` to the mixture and invert.

        Returns
        -------
        list of AudioSignal
            One per mask, labelled as the separator's sources.
        """
        self._check_run()
        for mask in self.result_masks:
            if not isinstance(mask, self.mask_type):
                raise SeparationError(
                    f"{type(self).__name__} produced a {type(mask).__name__} but mask_type is "
                    f"{self.mask_type.__name__}"
                )
        labels = self.source_labels or validate_labels(None, len(self.result_masks))
        return [self.apply_mask(mask, label) for mask, label in zip(self.result_masks, labels)]
