"""Wiener filtering of a mixture from source estimates: alpha-Wiener masks and multichannel EM.

:class:`WienerFilter` turns rough source estimates (time-domain signals from another
separator, or nonnegative magnitude spectrograms from a model) into complex source
STFTs:

1. models ``v_j = |S_j| ** alpha`` (``alpha=1``: magnitude ratio, ``alpha=2``: power
   Wiener), optionally with a residual source and interference reduction;
2. an initial estimate: the soft mask ``v_j / (eps + sum_k v_k)`` applied to the
   mixture, or the magnitudes with the mixture phase;
3. ``iterations`` of the simplified multichannel EM (Nugraha, Liutkus & Vincent 2016):
   re-estimate per-bin PSDs and per-frequency spatial covariance matrices from the
   current estimates, then apply the multichannel Wiener filter
   ``v_j R_j (sum_k v_k R_k + sqrt(eps) I)^-1`` to the mixture.

With default options the result equals ``norbert.wiener(v, x, iterations)`` (norbert
0.2.1, frames-first layout) to rounding error, without norbert's in-place change of
the mixture. The filtering itself is :func:`sepkit.filtering.wiener` (norbert's array
API, frames first), called on transposed views of the STFTs; :func:`residual_model`
and :func:`reduce_interferences` here are the frequency-first forms of
:func:`sepkit.filtering.residual_model` and :func:`sepkit.filtering.reduce_interferences`.

Shapes follow sepkit's convention: an STFT is ``(n_freq, n_frames, n_channels)``,
source stacks put the source axis last.
"""

from __future__ import annotations

import numpy as np

from ... import filtering
from ...core import AudioSignal, SeparationError
from ...core.stft import num_frames
from ...core.validation import check_array, check_bool, check_int, check_nonneg, check_positive, check_probability
from ..base import SeparationBase, signals_from_stfts, validate_labels, validate_sources, validate_stft_params
from ..registry import DemoRow, register

__all__ = ["WienerFilter", "residual_model", "reduce_interferences", "INTERFERENCE_SMOOTHING"]

#: Standard deviation, in bins and in frames, of the Gaussian blur of
#: :func:`reduce_interferences` (norbert's width).
INTERFERENCE_SMOOTHING = 10.0

#: Truncation of that blur, in standard deviations (scipy's default).
_INTERFERENCE_TRUNCATE = 4.0

_FLOAT_EPS = float(np.finfo(np.float64).eps)


def _scaled(array: np.ndarray, level: int) -> np.ndarray:
    """``array / 2**level`` (exact; a new array), or ``array`` itself for level 0."""
    if not level:
        return array
    if np.iscomplexobj(array):
        return np.ldexp(array.real, -level) + 1j * np.ldexp(array.imag, -level)
    return np.ldexp(array, -level)


def residual_model(models: np.ndarray, mix_stft: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Append a residual source modelling what the source models do not explain.

    The frequency-first form of :func:`sepkit.filtering.residual_model` (which takes
    norbert's frames-first arrays): spectral subtraction with a least-squares fit, with
    ``vx = max(eps, |x| ** alpha)`` and ``v_tot = sum_j v_j``, each bin and channel gets
    the gain ``g = sum_t vx v_tot / (eps + sum_t v_tot ** 2)``; the sources become
    ``g v_j`` and the residual ``max(0, vx - sum_j g v_j)`` (consistent with the scaled
    sources, unlike norbert 0.2.1). ``eps`` is the float64 machine epsilon, a
    numerical guard only.

    Parameters
    ----------
    models : numpy.ndarray of float, shape (n_freq, n_frames, {1, n_channels}, n_sources)
        Nonnegative source models, homogeneous to ``|x| ** alpha``.
    mix_stft : numpy.ndarray of complex, shape (n_freq, n_frames, n_channels)
        Mixture STFT.
    alpha : float
        Exponent of the models (1: magnitudes, 2: powers).

    Returns
    -------
    numpy.ndarray of float64, shape (n_freq, n_frames, n_channels, n_sources + 1)
        Scaled models with the residual last; always multichannel. The inputs are not
        changed.

    Examples
    --------
    >>> x = np.ones((3, 4, 1), dtype=complex)
    >>> residual_model(np.full((3, 4, 1, 2), 0.25), x).shape
    (3, 4, 1, 3)
    """
    out = filtering.residual_model(np.swapaxes(models, 0, 1), np.swapaxes(mix_stft, 0, 1), alpha)
    return np.swapaxes(out, 0, 1)


def reduce_interferences(
    models: np.ndarray, thresh: float = 0.6, slope: float = 15.0, width: float = INTERFERENCE_SMOOTHING
) -> np.ndarray:
    """Sparsify source models along the source axis (interference reduction).

    The frequency-first form of :func:`sepkit.filtering.reduce_interferences` (after
    Prätzlich et al., ICASSP 2015), with the blur over time and frequency only (unlike
    norbert 0.2.1, the blur never mixes sources or channels and the threshold and slope
    are honoured)::

        vs_j    = gaussian_blur_over_time_and_frequency(v_j, width)
        share_j = vs_j / (eps + sum_k vs_k)
        v_j    <- v_j / (1 + exp(-slope * (share_j - thresh)))

    with ``eps`` the float64 machine epsilon. The blur is
    :func:`scipy.ndimage.gaussian_filter` (reflecting edges, truncated at 4 sigma).

    Parameters
    ----------
    models : numpy.ndarray of float, shape (n_freq, n_frames, n_channels, n_sources)
        Nonnegative source models.
    thresh : float
        In (0, 1): sources whose local share of the energy is below it are attenuated
        (closer to 1: fewer interferences, more distortion).
    slope : float
        Slope of the logistic (higher: harder).
    width : float
        Standard deviation of the Gaussian blur, in bins and frames.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``models``
        New array; ``models`` is not changed.

    Examples
    --------
    >>> v = np.random.default_rng(0).random((20, 30, 1, 2))
    >>> reduce_interferences(v, 0.6).shape
    (20, 30, 1, 2)
    """
    out = filtering.reduce_interferences(
        np.swapaxes(models, 0, 1), thresh, slope, width=width, truncate=_INTERFERENCE_TRUNCATE
    )
    return np.swapaxes(out, 0, 1)


def _check_threshold(name, value):
    """None, or a threshold in (0, 1)."""
    return None if value is None else check_probability(name, value, open_interval=True, error=SeparationError)


def _check_magnitudes(name, array, expected, allow_2d):
    """Validate one nonnegative, finite, real array against ``expected`` = (F, T, C)."""
    if isinstance(array, AudioSignal):
        raise SeparationError(f"{name} is an AudioSignal but other estimates are arrays: do not mix them")
    array = check_array(name, array, kinds="biufc", finite=False, allow_empty=True, what="magnitude spectrogram",
                        error=SeparationError)
    if array.dtype.kind == "c":
        raise SeparationError(
            f"{name} is complex: estimates must be nonnegative magnitude spectrograms "
            "(pass numpy.abs(stft))"
        )
    if allow_2d and array.ndim == 2:
        array = array[:, :, None]
    n_freq, n_frames, n_channels = expected
    ndim = 3 if allow_2d else 4
    if array.ndim != ndim or array.shape[:2] != (n_freq, n_frames) or array.shape[2] not in (1, n_channels):
        if allow_2d:
            wanted = f"({n_freq}, {n_frames}, {n_channels}) or ({n_freq}, {n_frames}, 1)"
        else:
            wanted = f"({n_freq}, {n_frames}, {n_channels}, n_sources) or ({n_freq}, {n_frames}, 1, n_sources)"
        raise SeparationError(
            f"{name} has shape {array.shape}, expected {wanted} to match the mixture STFT "
            f"(n_freq, n_frames, n_channels) = {expected}"
        )
    if ndim == 4 and array.shape[3] == 0:
        raise SeparationError(f"{name} has no source (shape {array.shape})")
    return check_array(name, array, kinds="biuf", nonneg=True, what="magnitude spectrogram", error=SeparationError)


class WienerFilter(SeparationBase):
    """Wiener filtering (alpha-Wiener masks and multichannel EM) from source estimates.

    From models ``v_j = |S_j| ** alpha`` of the sources, start from the soft mask
    ``y_j = v_j / (eps + sum_k v_k) x`` (or ``|S_j| exp(i angle(x))``) and refine with
    ``iterations`` of the simplified multichannel EM. The
    result is the complex source STFTs themselves: for several channels the filter mixes
    the channels, so each estimate has its own phase (re-masking the mixture with
    ``|Y_j| / |x|`` would throw that away), and the estimates sum to the mixture up to
    the ``sqrt(eps)`` loading.

    With the default options, :meth:`run` equals
    ``norbert.wiener(v.transpose(1, 0, 2, 3), x.transpose(1, 0, 2), iterations)``
    transposed back, to rounding error (measured below 1e-12 relative), and changes none
    of its inputs.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, shape ``(n_channels, n_samples)``; never modified.
    estimates : list or dict of AudioSignal, or numpy.ndarray, or list or dict of numpy.ndarray
        The source estimates, in one of these forms:

        * signals of the mixture's rate, channel count and length (e.g. another
          separator's output); their magnitude STFTs ``|S_j|`` are used;
        * one nonnegative array of magnitude spectrograms of shape
          ``(n_freq, n_frames, n_channels, n_sources)``, or
          ``(n_freq, n_frames, 1, n_sources)`` for mono models of a multichannel mixture;
        * a list (or dict) of nonnegative arrays, each ``(n_freq, n_frames, n_channels)``,
          ``(n_freq, n_frames, 1)`` or ``(n_freq, n_frames)``.

        ``(n_freq, n_frames)`` must be those of the mixture STFT with ``stft_params``.
        Labels are the dict keys, else the signals' labels, else ``'source_j'``.
    iterations : int
        Number of EM iterations, >= 0; 0 returns the plain alpha-Wiener (soft mask)
        estimates.
    alpha : float
        Exponent of the models, > 0: 1 gives magnitude ratio masks, 2 power (classic)
        Wiener masks.
    residual : bool
        Append a residual source (label ``'residual'``) modelling the part of the
        mixture the models miss (spectral subtraction, :func:`residual_model`): energy of
        sources absent from ``estimates`` goes there instead of into the other
        estimates, and with a large ``eps`` the soft-mask estimates sum back to the
        mixture more closely. (The EM's small deficit, due to the ``sqrt(eps)``
        loading, is unchanged.) The residual is added before interference reduction.
    softmask_init : bool
        Start from the soft mask (default); ``False`` starts from the magnitudes
        ``|S_j|`` with the mixture phase (for very good magnitude estimates). With
        ``False`` and ``iterations=0`` the estimates are just those.
    eps : float or None
        Constant >= 0 added to the mask denominators and the EM's weights (the energy of
        a white-noise source taken out); the EM loads the covariance diagonal with
        ``sqrt(eps)``. ``None``: the float64 machine epsilon (2.2e-16). With ``eps=0``
        bins where every model is zero get zero estimates.
    reduce_interferences : float or None
        Threshold in (0, 1) for interference reduction of the models before filtering
        (:func:`reduce_interferences`, blur of width :data:`INTERFERENCE_SMOOTHING`);
        ``None``: off.
    compress : float or None
        Threshold in (0, 1) for the logistic compression of the final filter ("soft
        binarisation": fewer interferences, more distortion). With ``iterations=0`` each
        channel's soft mask ``m`` becomes ``1 / (1 + exp(-slope (m - compress)))``;
        after EM the multichannel filter ``W_j`` is rescaled so that its gain
        ``g_j = tr(W_j) / n_channels`` is compressed the same way (for one channel this
        is the same logistic on the EM mask). ``None``: off. Needs a filter, so not with
        ``softmask_init=False`` and ``iterations=0``.
    slope : float
        Slope > 0 of the logistic of ``reduce_interferences`` and ``compress``.
    renormalize : bool
        With ``compress``: rescale the compressed gains so they keep their total (about
        1), so the estimates still sum to the mixture.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Attributes
    ----------
    estimates : object
        The ``estimates`` argument as given (so ``get_params()`` rebuilds the separator).
    result_stfts : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        The source STFT estimates after :meth:`run` (``n_sources`` includes the
        residual).
    source_labels : list of str
        One label per estimate (the residual's is ``'residual'``).
    num_sources : int
        Number of given source estimates (without the residual).
    stft_params : STFTParams
        The resolved STFT parameters.

    Raises
    ------
    SeparationError
        For estimates that do not match the mixture (rate, length, channels, STFT
        shape), negative, NaN or infinite spectrograms, or an invalid option.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> rough = IdealMask(mix, sources, approach="ibm")()
    >>> refined = WienerFilter(mix, rough, iterations=1)()
    >>> [e.label for e in refined]
    ['violin', 'clarinet', 'saxophone', 'bassoon']
    >>> sep = WienerFilter(mix, rough, residual=True)
    >>> sep.run().shape
    (1025, 863, 1, 5)
    """

    def __init__(
        self,
        input_audio_signal,
        estimates,
        iterations=1,
        alpha=2,
        residual=False,
        softmask_init=True,
        eps=None,
        reduce_interferences=None,
        compress=None,
        slope=15.0,
        renormalize=False,
        stft_params=None,
    ):
        super().__init__(input_audio_signal)
        self.stft_params = validate_stft_params(stft_params, input_audio_signal)
        self.iterations = check_int("iterations", iterations, minimum=0, error=SeparationError)
        self.alpha = check_positive("alpha", alpha, error=SeparationError)
        self.residual = check_bool("residual", residual, error=SeparationError)
        self.softmask_init = check_bool("softmask_init", softmask_init, error=SeparationError)
        self.renormalize = check_bool("renormalize", renormalize, error=SeparationError)
        self.eps = _FLOAT_EPS if eps is None else check_nonneg("eps", eps, error=SeparationError)
        self.reduce_interferences = _check_threshold("reduce_interferences", reduce_interferences)
        self.compress = _check_threshold("compress", compress)
        self.slope = check_positive("slope", slope, error=SeparationError)
        if self.compress is not None and not self.softmask_init and self.iterations == 0:
            raise SeparationError(
                "compress needs a filter to compress: use softmask_init=True or iterations >= 1"
            )
        self.estimates = estimates
        self._signals, self._arrays, labels = self._validate_estimates(estimates)
        n_sources = len(labels)
        self.source_labels = labels + (["residual"] if self.residual else [])
        self.num_sources = n_sources
        self.result_stfts = None

    # -- validation ---------------------------------------------------------------------------
    @property
    def stft_shape(self) -> tuple:
        """Shape ``(n_freq, n_frames, n_channels)`` of the mixture STFT with :attr:`stft_params`."""
        params = self.stft_params
        return (
            params.n_freq,
            num_frames(self.audio_signal.signal_length, params.hop_length),
            self.audio_signal.num_channels,
        )

    def _validate_estimates(self, estimates):
        expected = self.stft_shape
        if isinstance(estimates, np.ndarray):
            array = _check_magnitudes("estimates", estimates, expected, allow_2d=False)
            return None, array, validate_labels(None, array.shape[3])
        if isinstance(estimates, dict):
            labels = [str(key) for key in estimates]
            items = list(estimates.values())
        elif isinstance(estimates, (list, tuple)):
            items = list(estimates)
            labels = None
        else:
            raise SeparationError(
                "estimates must be a list or dict of AudioSignals, a list or dict of magnitude "
                f"spectrograms, or an array (n_freq, n_frames, n_channels, n_sources); got "
                f"{type(estimates).__name__}"
            )
        if not items:
            raise SeparationError("estimates is empty: give at least one source estimate")
        if isinstance(items[0], AudioSignal):
            signals, labels = validate_sources(self.audio_signal, estimates, name="estimates")
            return signals, None, labels
        if labels is None:
            labels = validate_labels(None, len(items))
        arrays = [
            _check_magnitudes(f"estimates[{label!r}]", item, expected, allow_2d=True)
            for label, item in zip(labels, items)
        ]
        return None, arrays, labels

    # -- models -------------------------------------------------------------------------------
    def _level(self) -> int:
        """Exponent ``e`` of the power of two the STFTs are divided by before filtering.

        The filter is unchanged by a common scale of mixture and estimates except through
        ``eps`` and the EM's ``sqrt(eps)`` loading, which :func:`sepkit.filtering.wiener`
        (as norbert) applies to the mixture divided by ``max(1, max|x| / 10)``: absolute
        for a mixture STFT peaking below 10, which then shrinks. So when the mixture STFT
        peaks below 4, or any magnitude above 2**60 (powers would overflow), everything
        is scaled by a power of two (exact) that brings the loudest peak to [4, 8): the
        loading is then relative to the signal, and the result the same at any level.
        Otherwise 0 (norbert's arithmetic as is).
        """
        x_peak = float(np.max(np.abs(self.audio_signal.stft(self.stft_params))))
        peaks = [x_peak]
        if self._signals is not None:
            peaks += [float(np.max(np.abs(sig.stft(self.stft_params)))) for sig in self._signals]
        else:
            arrays = [self._arrays] if isinstance(self._arrays, np.ndarray) else self._arrays
            peaks += [float(np.max(array)) if array.size else 0.0 for array in arrays]
        loud = max(peaks)
        if loud == 0.0 or (x_peak >= 4.0 and loud <= 2.0**60):
            return 0
        return int(np.frexp(loud)[1]) - 3

    def _stack(self, power: float, level: int = 0) -> np.ndarray:
        """New C-contiguous float64 stack ``|S_j / 2**level| ** power``, (F, T, {1, C}, J)."""
        from ...kernels.wiener import stack_models

        n_freq, n_frames, n_channels = self.stft_shape
        if self._signals is not None:
            specs = tuple(
                np.asfortranarray(_scaled(sig.stft(self.stft_params), level)) for sig in self._signals
            )
            out = np.empty((n_freq, n_frames, n_channels, len(specs)))
            stack_models(specs, power, out)
            return out
        if isinstance(self._arrays, np.ndarray):
            out = np.empty(self._arrays.shape)
            np.power(_scaled(self._arrays, level), power, out=out)
            return out
        channels = max(array.shape[2] for array in self._arrays)
        out = np.empty((n_freq, n_frames, channels, len(self._arrays)))
        for j, array in enumerate(self._arrays):
            np.power(_scaled(array, level), power, out=out[..., j])
        return out

    def models(self) -> np.ndarray:
        """The source models used for filtering.

        Returns
        -------
        numpy.ndarray of float64, shape (n_freq, n_frames, {1, n_channels}, n_sources)
            ``|S_j| ** alpha``, with the residual appended (``residual=True``, then
            always multichannel) and interference reduction applied
            (``reduce_interferences``), in that order. A new array.
        """
        return self._models(0)

    def _models(self, level: int) -> np.ndarray:
        models = self._stack(self.alpha, level)
        if self.residual:
            models = residual_model(models, _scaled(self.audio_signal.stft(self.stft_params), level), self.alpha)
        if self.reduce_interferences is not None:
            models = reduce_interferences(models, self.reduce_interferences, self.slope)
        return np.ascontiguousarray(models)  # a copy only if a step left another memory order

    # -- separation ---------------------------------------------------------------------------
    def run(self) -> np.ndarray:
        """Filter the mixture.

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
            The source STFTs, also stored in :attr:`result_stfts`; ``n_sources`` counts
            the residual.

        Raises
        ------
        SeparationError
            If ``eps=0`` made a mixture covariance singular.
        """
        level = self._level()
        x = _scaled(self.audio_signal.stft(self.stft_params), level)  # the read-only cache is never written
        if self.softmask_init:
            init = self._models(level)
        elif self.residual or self.reduce_interferences is not None:
            init = self._models(level)
            if self.alpha != 1.0:
                np.power(init, 1.0 / self.alpha, out=init)
        else:
            init = self._stack(1.0, level)  # the magnitudes themselves
        # sepkit.filtering takes norbert's frames-first layout: transposed views, no copies
        y = filtering.wiener(
            np.swapaxes(init, 0, 1),
            np.swapaxes(x, 0, 1),
            self.iterations,
            use_softmask=self.softmask_init,
            eps=self.eps,
            logit=self.compress,
            slope=self.slope,
            renormalize=self.renormalize,
        )
        if level:
            parts = y.view(np.float64)
            np.ldexp(parts, level, out=parts)
        self.result_stfts = np.swapaxes(y, 0, 1)  # C-contiguous (n_freq, n_frames, n_channels, n_sources)
        return self.result_stfts

    def make_audio_signals(self) -> list[AudioSignal]:
        """Invert :attr:`result_stfts` into signals of the mixture's length and rate.

        Returns
        -------
        list of AudioSignal
            One per estimate (residual last), labelled with :attr:`source_labels`.
        """
        self._check_run()
        return signals_from_stfts(self.audio_signal, self.result_stfts, self.stft_params, self.source_labels)


register(
    "wiener", WienerFilter, "multichannel Wiener filter (1 EM iteration) refining --estimates",
    needs=("estimates",), defaults={"iterations": 1},
    demo=(
        DemoRow("chorale", "WienerFilter on ibm", order=6),
        DemoRow("stereo", "WienerFilter on ibm, 1 EM it.", order=1),
        DemoRow("stereo", "WienerFilter on ibm, 3 EM it.", {"iterations": 3}, order=2),
    ),
)
