"""Oracle masks from the true sources: :class:`IdealMask` and nussl's front ends
:class:`IdealBinaryMask` and :class:`IdealRatioMask` (upper bounds of masking methods)."""

from __future__ import annotations

import math

import numpy as np

from ...core import AudioSignal, SeparationError, SoftMask
from ...core.validation import check_bool, check_choice, check_real, is_real
from ...kernels import masks as masks_kernels
from ..base import MaskSeparationBase, validate_sources
from ..registry import DemoRow, register

__all__ = ["IdealMask", "IdealBinaryMask", "IdealRatioMask", "NUSSL_EPS"]

#: nussl's constant in the denominator of its ratio masks.
NUSSL_EPS = 1e-8


def _scaled(array: np.ndarray, level: int) -> np.ndarray:
    """``array / 2**level`` (exact; a new array in the same memory order), or ``array`` for 0."""
    if not level:
        return array
    out = np.empty_like(array, order="K")
    np.multiply(array, 2.0**-level if abs(level) < 1000 else 1.0, out=out)
    if abs(level) >= 1000:  # 2**-level itself over- or underflows: two exact steps
        half = level // 2
        out *= 2.0**-half
        out *= 2.0 ** -(level - half)
    return out


def _flat(array: np.ndarray) -> np.ndarray:
    """Fortran-order 1-D view of ``array`` (a copy only if it is not Fortran-contiguous)."""
    return np.asfortranarray(array).ravel(order="F")


class IdealMask(MaskSeparationBase):
    """Oracle masks computed from the true sources: the upper bound of masking methods.

    With ``X`` the mixture STFT and ``S_j`` the STFT of source ``j``:

    ``'ibm'``
        binary mask: 1 where ``|S_j|`` is the largest of all sources. Ties (e.g. bins
        silent in every source) go to the first source, so the masks always sum to one
        and no mixture energy is dropped (nussl gives such bins to no source).
    ``'irm-msa'``
        magnitude spectrum approximation, ``V_j = |S_j| ** power``.
    ``'irm-psa'``
        phase-sensitive approximation, ``V_j = |S_j| cos(angle(S_j) - angle(X))``.

    and the ratio ``M_j = V_j / |X| ** power`` (``normalize='mixture'``, the textbook
    form) or ``M_j = V_j / (sum_k V_k + 1e-8)`` (``normalize='sources'``, exactly
    nussl's ``IdealRatioMask``; for PSA with truncation ``V_j`` is first clipped to
    ``[0, |X|]``). With ``truncate=True`` ratio masks are clipped to [0, 1].

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, shape ``(n_channels, n_samples)``.
    sources : list of AudioSignal or dict of str to AudioSignal
        The true sources, each of the mixture's rate, channel count and length. The
        estimates come back in this order with these labels (dict keys, else the
        signals' labels).
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        Soft masks keep ratio values; binary masks keep bins whose ratio exceeds
        ``mask_threshold`` (the IBM is binary either way).
    approach : {'ibm', 'irm-msa', 'irm-psa'}
        Which ideal mask.
    power : {1, 2}
        Exponent of the magnitudes in the MSA ratio (2 gives the ideal Wiener mask);
        PSA needs ``power=1``.
    truncate : bool
        Clip ratio masks to [0, 1]. With ``False`` a ratio mask may leave [0, 1] (only
        for ``normalize='mixture'`` or PSA); such masks are kept as plain arrays in
        ``unbounded_masks`` instead of ``result_masks`` and applied the same way.
    normalize : {'mixture', 'sources'}
        Denominator of the ratio masks (see above).
    mask_threshold : float
        Threshold in (0, 1) turning a ratio mask into a binary one.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Attributes
    ----------
    result_masks : list of SoftMask or BinaryMask
        One mask of shape ``(n_freq, n_frames, n_channels)`` per source, after :meth:`run`.
    unbounded_masks : list of numpy.ndarray or None
        One ``(n_freq, n_frames, n_channels)`` array per source when the masks leave [0, 1].
    source_labels : list of str

    Raises
    ------
    SeparationError
        For an unknown approach or normalisation, a bad power, or sources that do not
        match the mixture.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> estimates = IdealMask(mix, sources, approach="irm-psa")()
    >>> [e.label for e in estimates]
    ['violin', 'clarinet', 'saxophone', 'bassoon']
    """

    APPROACHES = ("ibm", "irm-msa", "irm-psa")
    NORMALIZATIONS = ("mixture", "sources")

    def __init__(
        self,
        input_audio_signal,
        sources,
        mask_type="soft",
        approach="ibm",
        power=1,
        truncate=True,
        normalize="mixture",
        mask_threshold=0.5,
        stft_params=None,
    ):
        super().__init__(input_audio_signal, mask_type, mask_threshold, stft_params)
        self.sources, self.source_labels = validate_sources(input_audio_signal, sources)
        self._configure(approach, power, truncate, normalize)
        self.approach, self.power, self.truncate, self.normalize = (
            self._approach, self._power, self._truncate, self._normalize
        )

    def _configure(self, approach, power, truncate, normalize):
        """Validate the mask settings and keep them under private names, which :meth:`run`
        reads (the front ends :class:`IdealBinaryMask` and :class:`IdealRatioMask` store
        their own arguments under their public names)."""
        approach = check_choice("approach", approach, self.APPROACHES, error=SeparationError)
        normalize = check_choice("normalize", normalize, self.NORMALIZATIONS, error=SeparationError)
        if not is_real(power) or power not in (1, 2):
            raise SeparationError(f"power must be 1 or 2, got {power!r}")
        if approach == "irm-psa" and power != 1:
            raise SeparationError("the phase-sensitive mask (approach='irm-psa') needs power=1")
        self._approach, self._power = approach, int(power)
        self._truncate = check_bool("truncate", truncate, error=SeparationError)
        self._normalize = normalize
        self.unbounded_masks = None
        self._level = 0

    # The kernels work on flat Fortran-order views of the (n_freq, n_frames, n_channels)
    # STFTs, which sepkit stores Fortran-ordered: nothing is transposed or copied.
    def _flat_source_specs(self):
        return [_flat(_scaled(source.stft(self.stft_params), self._level)) for source in self.sources]

    def _find_level(self, mix_spec) -> int:
        """Exponent ``e`` of the power of two every STFT is divided by (exact, masks unchanged).

        0 when the loudest magnitude (mixture or source) is in ``[2**-10, 2**60]``; else the
        exponent bringing it to [512, 1024): powers then neither overflow nor underflow,
        and the ``eps`` of the ratio stays relative to the signal.
        """
        peaks = [np.max(np.abs(mix_spec))] + [np.max(np.abs(s.stft(self.stft_params))) for s in self.sources]
        loud = float(max(peaks))
        if loud == 0.0 or 2.0**-10 <= loud <= 2.0**60:
            return 0
        return int(np.frexp(loud)[1]) - 10

    def _ibm(self, size: int) -> list[np.ndarray]:
        loudest = np.empty(size)
        winner = np.empty(size, dtype=np.int64)
        for j, spec in enumerate(self._flat_source_specs()):
            masks_kernels.update_loudest(spec, j, loudest, winner)
        masks = [np.empty(size) for _ in self.sources]
        for j, mask in enumerate(masks):
            masks_kernels.one_hot(winner, j, mask)
        return masks

    def _ratio_masks(self, mix_spec: np.ndarray) -> tuple[list[np.ndarray], bool]:
        """Ratio masks (flat) and whether they all lie in [0, 1]."""
        total = np.zeros(mix_spec.size)
        terms = [np.empty(mix_spec.size) for _ in self.sources]
        clip_to_mixture = self._normalize == "sources" and self._truncate
        mix_flat = _flat(mix_spec)
        for spec, out in zip(self._flat_source_specs(), terms):
            if self._approach == "irm-msa":
                masks_kernels.magnitude_terms(spec, self._power, out, total)
            else:
                masks_kernels.phase_sensitive_terms(spec, mix_flat, clip_to_mixture, out, total)
        if self._normalize == "sources":
            denominator, offset, clip = total, NUSSL_EPS, False
        else:
            denominator = np.abs(mix_flat)
            if self._power == 2:
                np.square(denominator, out=denominator)
            offset, clip = 0.0, self._truncate
        bounded = True
        for t in terms:
            low, high = masks_kernels.normalize_terms(t, denominator, offset, clip)
            bounded = bounded and 0.0 <= low and high <= 1.0
        return terms, bounded

    def run(self):
        """Compute the masks from the true sources.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``result_masks`` (empty when the masks are unbounded, see ``unbounded_masks``).
        """
        mix_spec = self.audio_signal.stft(self.stft_params)
        self._level = self._find_level(mix_spec)
        mix_spec = _scaled(mix_spec, self._level)
        self.unbounded_masks = None
        if self._approach == "ibm":
            flat, bounded = self._ibm(mix_spec.size), True
        else:
            flat, bounded = self._ratio_masks(mix_spec)
        masks = [values.reshape(mix_spec.shape, order="F") for values in flat]
        if self.mask_type is SoftMask and not bounded:
            self.unbounded_masks = masks
            self.result_masks = []
        else:
            self.result_masks = self.masks_from_soft(masks)
        return self.result_masks

    def make_audio_signals(self) -> list[AudioSignal]:
        """Apply each mask to the mixture STFT and invert; one signal per source, in input order."""
        self._check_run()
        if self.unbounded_masks is None:
            return super().make_audio_signals()
        return [
            self.audio_signal._masked_istft(mask, self.stft_params, label)
            for mask, label in zip(self.unbounded_masks, self.source_labels)
        ]


class IdealBinaryMask(IdealMask):
    """nussl's ``IdealBinaryMask``: the ideal binary mask, a front end of :class:`IdealMask`.

    ``IdealBinaryMask(mix, sources)`` is ``IdealMask(mix, sources, approach='ibm',
    mask_type='binary')``: source ``j`` keeps the bins where ``|S_j|`` is the largest of
    all sources.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, shape ``(n_channels, n_samples)``.
    sources : list of AudioSignal or dict of str to AudioSignal
        The true sources, each of the mixture's rate, channel count and length (nussl
        passes a list). The estimates come back in this order (nussl sorts dict keys).
    mask_type : {'binary', 'soft'} or SoftMask or BinaryMask
        Kind of masks (values 0 and 1 either way); nussl's default ``'binary'``.
    mask_threshold : float
        Threshold in (0, 1) of binary masks (irrelevant here: the values are 0 and 1).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Notes
    -----
    Bins where several sources tie for the largest magnitude (e.g. silent in every
    source) go to the first of them, so the masks sum to one and the estimates to the
    mixture; nussl gives such bins to no source.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> estimates = IdealBinaryMask(mix, list(sources.values()))()
    >>> len(estimates)
    4
    """

    def __init__(self, input_audio_signal, sources, mask_type="binary", mask_threshold=0.5, stft_params=None):
        super().__init__(
            input_audio_signal, sources, mask_type=mask_type, approach="ibm", mask_threshold=mask_threshold,
            stft_params=stft_params,
        )


#: (range_min, range_max) of nussl's phase-sensitive approximation that sepkit computes,
#: and whether they truncate.
_PSA_RANGES = {(0.0, 1.0): True, (-math.inf, math.inf): False}


class IdealRatioMask(IdealMask):
    """nussl's ``IdealRatioMask``: ratio masks normalised by the sum of the sources.

    A front end of :class:`IdealMask` with ``normalize='sources'``, so that, with ``X`` the
    mixture STFT and ``S_j`` the STFT of source ``j``::

        msa:  V_j = |S_j|
        psa:  V_j = clip(|S_j| cos(angle(S_j) - angle(X)), range_min |X|, range_max |X|)
        M_j = V_j / (sum_k V_k + 1e-8)

    exactly as nussl computes them.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, shape ``(n_channels, n_samples)``.
    sources : list of AudioSignal or dict of str to AudioSignal
        The true sources, each of the mixture's rate, channel count and length (nussl
        passes a list). The estimates come back in this order (nussl sorts dict keys).
    approach : {'psa', 'msa'}
        Phase-sensitive (nussl's default, generally better) or magnitude spectrum
        approximation.
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        Soft masks keep the ratios (nussl's default); binary masks keep the bins whose
        ratio exceeds ``mask_threshold`` (nussl's binary IRM fails).
    mask_threshold : float
        Threshold in (0, 1) of binary masks.
    range_min, range_max : float
        Clipping range of the PSA terms, as multiples of ``|X|``: ``(0.0, 1.0)``, the
        truncated PSA (nussl's default), or ``(-inf, inf)``, the untruncated one (whose
        masks may leave [0, 1]; they are then kept in ``unbounded_masks``). Other ranges
        are not supported. Unused by MSA.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Raises
    ------
    SeparationError
        For an unknown approach, an unsupported range or sources that do not match the
        mixture.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> masks = IdealRatioMask(mix, list(sources.values()), approach="psa").run()
    >>> total = sum(m.mask for m in masks)  # sum_k V_k / (sum_k V_k + 1e-8): at most one
    >>> bool(np.all((total >= 0) & (total <= 1)))
    True
    """

    def __init__(
        self,
        input_audio_signal,
        sources,
        approach="psa",
        mask_type="soft",
        mask_threshold=0.5,
        range_min=0.0,
        range_max=1.0,
        stft_params=None,
    ):
        approach = check_choice("approach", approach, ("psa", "msa"), error=SeparationError)
        range_min = check_real("range_min", range_min, finite=False, error=SeparationError)
        range_max = check_real("range_max", range_max, finite=False, error=SeparationError)
        if (range_min, range_max) not in _PSA_RANGES:
            raise SeparationError(
                "range_min, range_max must be 0.0, 1.0 (truncated PSA, nussl's default) or -inf, inf "
                f"(untruncated PSA), got {range_min!r}, {range_max!r}"
            )
        MaskSeparationBase.__init__(self, input_audio_signal, mask_type, mask_threshold, stft_params)
        self.sources, self.source_labels = validate_sources(input_audio_signal, sources)
        self._configure("irm-" + approach, 1, _PSA_RANGES[(range_min, range_max)], "sources")
        self.approach, self.range_min, self.range_max = approach, range_min, range_max


_DESCRIPTIONS = {
    "ibm": "ideal binary mask (oracle)",
    "irm-msa": "ideal ratio mask, magnitude approximation (oracle)",
    "irm-psa": "ideal ratio mask, phase-sensitive, truncated (oracle)",
}
_DEMO = {
    "ibm": (DemoRow("chorale", "IdealMask ibm", order=0), DemoRow("stereo", "IdealMask ibm", order=0)),
    "irm-msa": (
        DemoRow("chorale", "IdealMask irm-msa", order=1),
        DemoRow("spatial", "IdealMask irm-msa (oracle)", order=0),
        DemoRow("room", "IdealMask irm-msa (oracle)", order=0),
        DemoRow("chorale", "IdealMask irm-msa power=2", {"power": 2}, order=2),
        DemoRow("chorale", "IdealMask irm-msa binary", {"mask_type": "binary"}, order=3),
    ),
    "irm-psa": (
        DemoRow("chorale", "IdealMask irm-psa", order=4),
        DemoRow("chorale", "IdealMask irm-psa nussl", {"normalize": "sources"}, order=5),
    ),
}
for _approach, _description in _DESCRIPTIONS.items():
    register(_approach, IdealMask, _description, needs=("references",), oracle=True,
             defaults={"approach": _approach}, argument_names={"references": "sources"}, demo=_DEMO[_approach])
