"""The DictSep separator: harmonic dictionary learning and sparse pursuit (Schulze & King 2021).

Stages (``notes/dictsep.md`` sections 2-3), on the mono downmix of the mixture:

A. Gaussian-window STFT :math:`X` (:func:`~sepkit.separation.dictsep.frontend.gaussian_stft`);
B. pursuit-based log-frequency spectrogram :math:`Y`
   (:func:`~sepkit.separation.dictsep.logspect.log_spectrogram`);
C. ``num_dicts`` dictionaries learned with bounded Adam
   (:func:`~sepkit.separation.dictsep.learning.train_dictionaries`), unless one is given;
   the blind choice among them is the one with the lowest total pursuit loss on ``Y``;
D. dictionary pursuit of every log frame
   (:func:`~sepkit.separation.dictsep.pursuit.pursue_frames`) and the tones of each
   instrument drawn on the linear axis (:func:`linear_spectra`);
E, F. ratio masks of the instruments' linear spectra applied to the mixture STFT (or the
   raw model spectra with the mixture phase, or a Wiener post-filter) and the least-squares
   inverse STFT (:func:`~sepkit.separation.dictsep.frontend.gaussian_istft`).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np

from ...core import AudioSignal
from ...core.errors import SeparationError
from ._checks import check_int
from ..base import SeparationBase, validate_labels, validate_seed
from .dictionary import SPECT_METHODS, Dictionary
from .frontend import BLOCK, HOP, SIGMAS, SPECT_HEIGHT, OverlapAdd, gaussian_stft
from .kernels import TRUNC, loss_log, render_lin
from .learning import _rng, _train_streams
from .logspect import FMAX, FMIN, LOG_BINS, log_axis_lambda, log_spectrogram
from .logspect_mel import MEL_FMIN, log_spectrogram_mel, mel_log_width
from .pursuit import B_MAX, pursue_frames

__all__ = ["DictSep", "linear_spectra", "ratio_masks", "max_tones"]

#: Candidate floor of the log spectrogram in ``mode='fast'`` (relative to the frame maximum, -60 dB).
FAST_FLOOR = 1e-3
#: Pursuit iterations per frame of the log spectrogram in ``mode='fast'`` (Musisep: 20).
FAST_LOG_ITER = 5
#: Stopping rules ``(ftol, gtol)`` of the few-tone refits: L-BFGS-B's defaults (faithful), looser in fast mode.
FAITHFUL_TOLERANCES = (2.220446049250313e-09, 1e-5)
FAST_TOLERANCES = (1e-6, 1e-4)
#: Training defaults: Musisep's ``main`` in faithful mode; fewer steps and seeds in fast mode.
FAITHFUL_DEFAULTS = {"runs": 10000, "num_dicts": 10}
FAST_DEFAULTS = {"runs": 2000, "num_dicts": 4}
#: In ``mode='fast'``, training skips frames whose log-spectrum maximum is below this
#: fraction of the loudest frame's (-60 dB).
FAST_SILENCE = 1e-3


def max_tones(n_bins: int = LOG_BINS, sigmas: float = SIGMAS) -> int:
    """Tones a log frame can hold at distinct positions: ``n_bins // (2 ceil(6 s0) + 1)``.

    One tone's fundamental covers ``2 ceil(6 s0) + 1`` log bins at the start width
    ``s0 = sigmas / pi`` (25 bins by default), so the default 1024-bin axis holds at most
    40 tones per frame; :class:`DictSep` refuses ``num_sources * tone_num`` above that.
    """
    return int(n_bins) // (2 * math.ceil(TRUNC * sigmas / math.pi) + 1)


@numba.njit(cache=True, parallel=True)
def _linear_frames(A, MU, SIG, B, CLS, D, u_min, lam, p, out):
    T, W = A.shape
    n_inst = out.shape[1]
    for t in numba.prange(T):
        for i in range(n_inst):
            n = 0
            for j in range(W):
                if CLS[t, j] == i and A[t, j] > 0.0 and math.isfinite(MU[t, j]):
                    n += 1
            a = np.empty(n)
            u = np.empty(n)
            s = np.empty(n)
            b = np.empty(n)
            c = np.empty(n, dtype=np.int64)
            k = 0
            for j in range(W):
                if CLS[t, j] == i and A[t, j] > 0.0 and math.isfinite(MU[t, j]):
                    a[k] = A[t, j]
                    u[k] = u_min * math.exp(MU[t, j] / lam)
                    s[k] = SIG[t, j]
                    b[k] = B[t, j]
                    c[k] = i
                    k += 1
            render_lin(a, u, s, b, c, D, p, out[t, i])


@numba.njit(cache=True, parallel=True)
def _frame_losses(Y, A, MU, SIG, B, CLS, D, lam, p, q, out):
    T = Y.shape[1]
    for t in numba.prange(T):
        y = np.empty(Y.shape[0])
        y[:] = Y[:, t]
        R = np.empty(Y.shape[0])
        cls = np.maximum(CLS[t], 0)  # unused slots (a = 0, mu = nan) are skipped by the renderer
        out[t] = loss_log(y, A[t], MU[t], SIG[t], B[t], cls, D, lam, p, q, R)


def linear_spectra(tones, D, sample_rate, *, height=SPECT_HEIGHT, n_bins=LOG_BINS, fmin=FMIN, fmax=FMAX,
                   p=1.0, stretch=1.0) -> np.ndarray:
    """Draw the pursued tones of every instrument on the linear frequency axis.

    Each tone ``(a, mu, sigma, b, i)`` of :func:`~sepkit.separation.dictsep.pursuit.pursue_frames`
    gets its linear-bin fundamental ``u = u_min exp(mu / lam)`` (``u_min = fmin / sr * 2H``,
    ``lam = n_bins / ln(fmax / fmin)``) and is drawn with its amplitude, width (in bins)
    and inharmonicity: harmonic ``h`` at ``u h sqrt(1 + b h^2)`` (``notes/dictsep.md`` 3.7).
    Frames run in parallel.

    Parameters
    ----------
    tones : dict of numpy.ndarray
        Output of :func:`~sepkit.separation.dictsep.pursuit.pursue_frames`, arrays of shape
        ``(n_frames, n_slots)``.
    D : array_like, shape (K, I)
        The dictionary used by the pursuit.
    sample_rate : float
        Sample rate in Hz.
    height : int
        Linear bins ``H`` of the STFT.
    n_bins, fmin, fmax : int, float, float
        The log axis of the pursuit.
    p : float
        Partial-addition exponent.
    stretch : float
        Ratio of a peak's width on the log axis to its width on the linear axis: 1 for the
        pursuit spectrogram, :func:`~sepkit.separation.dictsep.logspect_mel.mel_log_width`
        over ``sigmas / pi`` for the mel variant (Musisep's ``sigma_lin = sigma / stretch``).

    Returns
    -------
    numpy.ndarray, shape (height, n_frames, I)
        Non-negative model magnitude spectrogram of every instrument (float64, on the scale of
        ``|X|``).
    """
    D = np.ascontiguousarray(D, dtype=np.float64)
    A = np.ascontiguousarray(tones["a"], dtype=np.float64)
    T = A.shape[0]
    out = np.zeros((T, D.shape[1], int(height)))
    u_min = float(fmin) / float(sample_rate) * 2 * int(height)
    lam = log_axis_lambda(int(n_bins), float(fmin), float(fmax))
    _linear_frames(A, np.ascontiguousarray(tones["mu"], dtype=np.float64),
                   np.ascontiguousarray(np.asarray(tones["sigma"], dtype=np.float64) / float(stretch)),
                   np.ascontiguousarray(tones["b"], dtype=np.float64),
                   np.ascontiguousarray(tones["instrument"], dtype=np.int64), D, u_min, lam, float(p), out)
    return np.transpose(out, (2, 0, 1))


def ratio_masks(models) -> np.ndarray:
    """Ratio masks ``S_i / sum_j S_j`` of model spectra (sources on the last axis).

    Musisep divides by ``sum_j S_j + 1e-40``; here bins where the sum is 0 get mask 0 for
    every source and elsewhere the division is exact, so the masks sum to one (to rounding)
    wherever the model is non-zero, also where it is tiny.

    Parameters
    ----------
    models : array_like, shape (..., I)
        Non-negative model magnitudes.

    Returns
    -------
    numpy.ndarray, same shape
        Masks in ``[0, 1]``.
    """
    models = np.asarray(models, dtype=np.float64)
    total = models.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, models / np.where(total > 0, total, 1.0), 0.0)


def _chunks(n, size):
    return [(start, min(start + size, n)) for start in range(0, n, size)]


class DictSep(SeparationBase):
    """Blind separation of harmonic instruments by sparse pursuit with a learned dictionary.

    After Schulze & King (EURASIP J. Audio Speech Music Process. 2021:6) and the public
    Musisep code (``notes/dictsep.md``). Every instrument is modelled as harmonic tones whose
    relative harmonic amplitudes (one column of a dictionary ``(K, I)``) do not depend on
    the pitch; on a log-frequency axis a tone then looks the same at every pitch up to a
    shift. :meth:`run` computes the log-frequency spectrogram of the mixture by sparse
    pursuit, learns ``num_dicts`` dictionaries with bounded Adam from independent random
    streams (unless ``dictionary`` is given), keeps the one with the lowest total pursuit
    loss on the mixture (a blind choice; Musisep picks the best by SDR against the true
    sources), finds at most ``tone_num`` tones per instrument in every frame, draws them as
    linear spectra ``S_i`` and masks the mixture.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, any sample rate (44.1 kHz in the original); never modified.
        Multichannel mixtures: the log spectrogram, the dictionary and the models ``S_i``
        come from the mono downmix (the channel mean, as Musisep averages stereo), and the
        masks are applied to every channel's STFT, so the estimates keep the channels.
    num_sources : int
        Number of instruments ``I``. ``num_sources * tone_num`` must not exceed
        :func:`max_tones` (40 tones per frame on the default log axis).
    tone_num : int
        Tones per instrument and frame at most (1: monophonic instruments, the original's
        default).
    harmonics : int, optional
        Harmonics per tone ``K``; default 25, or the given dictionary's (which must agree).
    runs : int, optional
        Training steps per dictionary, at least ``lifetime``. Default 10000 in faithful mode
        (Musisep's ``main``; the paper's experiments used 100000), 2000 in fast mode.
    lifetime : int
        Renewal period of the dictionary columns (Musisep: 500).
    num_dicts : int, optional
        Dictionaries learned from independent streams, trained in parallel over the numba
        threads; the one with the lowest pursuit loss is kept. Default 10 in faithful mode
        (Musisep), 4 in fast mode (on the chorale duet single seeds range from -2.5 to
        14.8 dB SI-SDR; the blind choice among four gave 11.4 dB).
    mode : {'faithful', 'fast'}
        ``'faithful'`` keeps the original's constants. ``'fast'`` changes the log
        spectrogram, which dominates the run time on real recordings: candidate peaks below
        ``1e-3`` of the frame maximum are ignored (-60 dB, :data:`FAST_FLOOR`; the original
        spends most of its 1000 peaks per frame on low-level noise) and the pursuit stops
        after 5 iterations instead of 20 (:data:`FAST_LOG_ITER`); about 4x faster on the
        chorale, with separation quality within the spread over seeds (``docs/methods/dictsep``).
        Training then draws its frames only among those whose log-spectrum maximum is above
        ``1e-3`` of the loudest frame's (:data:`FAST_SILENCE`), and the few-tone refits of
        training and separation stop at ``ftol = 1e-6``, ``gtol = 1e-4`` instead of
        L-BFGS-B's ``2.2e-9`` and ``1e-5`` (:data:`FAST_TOLERANCES`; 1.6x faster training).
        Both modes fit the log spectrogram with the local Levenberg-Marquardt refits of
        :func:`~sepkit.separation.dictsep.logspect.log_spectrogram` (the loss is the
        original's, the optimiser is not).
    spect_method : {'pursuit', 'mel'}, optional
        The log-frequency spectrogram: ``'pursuit'`` (default), or Musisep's ``'mel'``
        ablation (:func:`~sepkit.separation.dictsep.logspect_mel.log_spectrogram_mel`: the
        power spectrum smoothed with a frequency-dependent Gaussian, from 200 Hz, with
        proportionally wider tones in the dictionary stage). Default: the given
        dictionary's, else ``'pursuit'``.
    mask : {'ratio', 'wiener', None}
        ``'ratio'`` (the original's default): the mixture STFT times ``S_i / sum_j S_j``
        (bins where every model is zero are dropped, so the estimates sum to the mixture
        only where the model is non-zero). ``'wiener'``: the ratio-masked estimates refined
        by :class:`~sepkit.separation.WienerFilter` (power models, one EM iteration, sepkit's
        default STFT). ``None``: the model magnitudes ``S_i`` with the mixture phase
        (Musisep's ``mask=False``).
    dictionary : Dictionary, optional
        A dictionary to use instead of learning one (e.g. from :meth:`fit` on another
        recording); its sample rate must be the mixture's, its columns ``num_sources``, and
        its analysis settings (bins, frequency range, window) are used.
    seed : int, numpy.random.Generator or None
        Randomness of the learning; dictionary ``r`` uses the ``r``-th child stream
        (:meth:`numpy.random.Generator.spawn`), so a seed reproduces a run exactly.
    verbose : bool
        Show tqdm progress bars for the log spectrogram, the training and the separation.
    labels : sequence of str, optional
        Names of the sources; default the dictionary's labels or ``'source_0'``, ...

    Attributes
    ----------
    dictionary : Dictionary
        The dictionary used (learned or given), after :meth:`run` or :meth:`fit`.
    dictionaries : numpy.ndarray, shape (num_dicts, K, I)
        All learned candidates (``None`` with a given dictionary).
    seed_losses : numpy.ndarray, shape (num_dicts,)
        Total pursuit loss on the mixture's log spectrogram of each candidate; the lowest is
        chosen (``best_seed``).
    training_losses : numpy.ndarray, shape (num_dicts,)
        Sum of the pursuit losses over each candidate's training steps.
    log_spect : numpy.ndarray, shape (M, n_frames)
        Log-frequency spectrogram of the mono downmix.
    tones : dict of numpy.ndarray
        Tones of every frame (:func:`~sepkit.separation.dictsep.pursuit.pursue_frames`).
    models : numpy.ndarray, shape (H, n_frames, I)
        Linear model magnitude spectra ``S_i`` of the instruments (H = 6144 bins).

    Raises
    ------
    SeparationError
        Invalid parameters, a silent mixture (all samples zero, or no energy the log
        spectrogram can represent, raised by :meth:`run`), more tones than a frame holds
        (:func:`max_tones`), or a dictionary of another sample rate, source count or
        harmonic count.

    Warns
    -----
    UserWarning
        If the log axis (up to 20480 Hz) extends above the mixture's Nyquist frequency
        (sample rates below 40960 Hz): the tone model then expects harmonics the recording
        cannot hold.

    Examples
    --------
    >>> part_a, part_b = synthetic_parts(seconds=3.0)
    >>> mix = AudioSignal(part_a + part_b, sample_rate=44100)
    >>> est_a, est_b = DictSep(mix, 2, runs=2000, num_dicts=2, seed=0)()      # doctest: +SKIP
    >>> timbre = DictSep.fit(mix, 2, runs=2000, seed=0)                       # doctest: +SKIP
    >>> timbre.save("timbre.npz")                                             # doctest: +SKIP
    >>> other = DictSep(other_mix, 2, dictionary=Dictionary.load("timbre.npz"))()  # doctest: +SKIP
    """

    MODES = ("faithful", "fast")
    MASK_OPTIONS = ("ratio", "wiener", None)

    def __init__(self, input_audio_signal, num_sources, tone_num=1, harmonics=None, runs=None, lifetime=500,
                 num_dicts=None, mode="faithful", mask="ratio", dictionary=None, seed=None, verbose=True,
                 labels=None, spect_method=None):
        super().__init__(input_audio_signal)
        if not (isinstance(mode, str) and mode in self.MODES):
            raise SeparationError(f"mode must be 'faithful' or 'fast', got {mode!r}")
        self.mode = mode
        defaults = FAST_DEFAULTS if mode == "fast" else FAITHFUL_DEFAULTS
        runs = defaults["runs"] if runs is None else runs
        num_dicts = defaults["num_dicts"] if num_dicts is None else num_dicts
        self.num_sources = check_int("num_sources", num_sources, 1)
        self.tone_num = check_int("tone_num", tone_num, 1)
        self.runs = check_int("runs", runs, 1)
        self.lifetime = check_int("lifetime", lifetime, 2)
        if self.runs < self.lifetime:
            raise SeparationError(
                f"runs must be at least lifetime ({self.lifetime}) so that columns survive a renewal, got {runs!r}"
            )
        self.num_dicts = check_int("num_dicts", num_dicts, 1)
        if not (spect_method is None or (isinstance(spect_method, str) and spect_method in SPECT_METHODS)):
            raise SeparationError(f"spect_method must be 'pursuit', 'mel' or None, got {spect_method!r}")
        if not (mask is None or (isinstance(mask, str) and mask in ("ratio", "wiener"))):
            raise SeparationError(f"mask must be 'ratio', 'wiener' or None, got {mask!r}")
        self.mask = mask
        if not isinstance(verbose, (bool, np.bool_)):
            raise SeparationError(f"verbose must be True or False, got {verbose!r}")
        self.verbose = bool(verbose)
        self.seed = validate_seed(seed)
        if dictionary is not None and not isinstance(dictionary, Dictionary):
            raise SeparationError(
                f"dictionary must be a sepkit.separation.dictsep.Dictionary or None, got {type(dictionary).__name__}"
                " (wrap an array with Dictionary(values, sample_rate))"
            )
        if dictionary is not None:
            dictionary.check_sample_rate(self.sample_rate)
            if dictionary.num_sources != self.num_sources:
                raise SeparationError(
                    f"num_sources is {self.num_sources} but the dictionary has {dictionary.num_sources} "
                    "columns (one per source)"
                )
            if harmonics is not None and check_int("harmonics", harmonics, 1) != dictionary.harmonics:
                raise SeparationError(
                    f"harmonics is {harmonics} but the dictionary has {dictionary.harmonics} harmonics"
                )
            if spect_method is not None and spect_method != dictionary.spect_method:
                raise SeparationError(
                    f"spect_method is {spect_method!r} but the dictionary was learned on the "
                    f"{dictionary.spect_method!r} log spectrogram"
                )
            if dictionary.b_max != B_MAX:
                raise SeparationError(
                    f"the dictionary's inharmonicity bound is {dictionary.b_max!r}; the pursuit supports {B_MAX!r}"
                )
            harmonics = dictionary.harmonics
            settings = dictionary.metadata()
        else:
            harmonics = 25 if harmonics is None else harmonics
            spect_method = "pursuit" if spect_method is None else spect_method
            settings = dict(sample_rate=self.sample_rate, height=SPECT_HEIGHT, hop=HOP, sigmas=SIGMAS,
                            n_bins=LOG_BINS, fmin=MEL_FMIN if spect_method == "mel" else FMIN, fmax=FMAX,
                            p=1.0, q=0.5, b_max=B_MAX, spect_method=spect_method)
        self.harmonics = check_int("harmonics", harmonics, 1)
        self.settings = {k: v for k, v in settings.items() if k != "harmonics"}
        self.spect_method = self.settings["spect_method"]
        cap = max_tones(self.settings["n_bins"], self._tone_sigmas())
        if self.num_sources * self.tone_num > cap:
            raise SeparationError(
                f"num_sources * tone_num = {self.num_sources} * {self.tone_num} = "
                f"{self.num_sources * self.tone_num} tones per frame, but the pursuit holds at most {cap} on "
                f"{self.settings['n_bins']} log bins (one tone covers "
                f"{self.settings['n_bins'] // cap} bins)"
            )
        if self.settings["fmax"] > self.sample_rate / 2:
            warnings.warn(
                f"the log axis reaches {self.settings['fmax']:g} Hz, above the Nyquist frequency "
                f"{self.sample_rate / 2:g} Hz of this {self.sample_rate}-Hz mixture: upper harmonics meet empty "
                "bins and the learned harmonic profiles fade with pitch; resample to 44.1 kHz for the "
                "original's behaviour",
                UserWarning,
                stacklevel=2,
            )
        if labels is None and dictionary is not None:
            labels = dictionary.labels
        self.source_labels = validate_labels(labels, self.num_sources)
        audio = self.audio_signal.audio_data
        if not np.any(audio):
            raise SeparationError("the mixture is silent (all samples are zero): there is nothing to separate")
        self.given_dictionary = dictionary
        self.dictionary = dictionary
        self.dictionaries = None
        self.seed_losses = None
        self.training_losses = None
        self.best_seed = None
        self.log_spect = None
        self.tones = None
        self.models = None

    # -- stages ----------------------------------------------------------------------------------
    def _tone_sigmas(self):
        """``sigmas`` of the tones on the log axis: their start width is ``_tone_sigmas() / pi`` log bins."""
        s = self.settings
        if s["spect_method"] == "mel":
            return math.pi * mel_log_width(s["n_bins"], s["fmin"], s["fmax"], s["sample_rate"], s["height"],
                                           s["sigmas"])
        return s["sigmas"]

    def _bar(self, total, desc, unit):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, disable=not self.verbose, leave=False)

    def _chunk(self):
        return max(32, 16 * numba.get_num_threads())

    def _tolerances(self):
        return FAST_TOLERANCES if self.mode == "fast" else FAITHFUL_TOLERANCES

    def _mono_stft(self):
        s = self.settings
        mono = self.audio_signal.audio_data.mean(axis=0)
        return gaussian_stft(mono, s["height"], s["hop"], s["sigmas"])

    def _log_spectrogram(self):
        if self.log_spect is not None:
            return self.log_spect
        s = self.settings
        mag = np.abs(self._mono_stft())
        fast = self.mode == "fast"
        T = mag.shape[1]
        if s["spect_method"] == "mel":
            Y = log_spectrogram_mel(mag, self.sample_rate, n_bins=s["n_bins"], fmin=s["fmin"], fmax=s["fmax"],
                                    sigmas=s["sigmas"])
        else:
            Y = np.empty((s["n_bins"], T))
            with self._bar(T, "DictSep log spectrogram", "frame") as bar:
                for start, stop in _chunks(T, self._chunk()):
                    Y[:, start:stop] = log_spectrogram(
                        mag[:, start:stop], self.sample_rate, n_bins=s["n_bins"], fmin=s["fmin"], fmax=s["fmax"],
                        sigmas=s["sigmas"], floor=FAST_FLOOR if fast else 0.0, max_iter=FAST_LOG_ITER if fast else 20,
                    )
                    bar.update(stop - start)
        if not Y.max() > 0:
            raise SeparationError(
                f"the mixture has no energy between {s['fmin']:g} Hz and {s['fmax']:g} Hz that the log "
                "spectrogram can represent: there is nothing to separate"
            )
        self.log_spect = Y
        return Y

    def _pursue(self, Y, D, bar):
        s = self.settings
        ftol, gtol = self._tolerances()
        T = Y.shape[1]
        parts = []
        for start, stop in _chunks(T, self._chunk()):
            parts.append(pursue_frames(Y[:, start:stop], D, tone_num=self.tone_num, p=s["p"], q=s["q"],
                                       fmin=s["fmin"], fmax=s["fmax"], sigmas=self._tone_sigmas(),
                                       ftol=ftol, gtol=gtol))
            bar.update(stop - start)
        return {key: np.concatenate([part[key] for part in parts], axis=0) for key in parts[0]}

    def _total_loss(self, Y, tones, D):
        s = self.settings
        out = np.empty(Y.shape[1])
        _frame_losses(Y, tones["a"], tones["mu"], tones["sigma"], tones["b"], tones["instrument"],
                      np.ascontiguousarray(D), log_axis_lambda(s["n_bins"], s["fmin"], s["fmax"]),
                      s["p"], s["q"], out)
        return float(out.sum())

    def _train(self, Y):
        s = self.settings
        train_Y = Y
        if self.mode == "fast":
            peak = Y.max(axis=0)
            loud = peak > FAST_SILENCE * peak.max()
            train_Y = np.ascontiguousarray(Y[:, loud])
        children = _rng(self.seed).spawn(self.num_dicts)
        floats = dict(beta=0.9, p=s["p"], q=s["q"], fmin=s["fmin"], fmax=s["fmax"], sigmas=self._tone_sigmas(),
                      lr=1e-3)
        dicts = np.empty((self.num_dicts, self.harmonics, self.num_sources))
        losses = np.empty(self.num_dicts)
        group = max(1, numba.get_num_threads())
        with self._bar(self.num_dicts, "DictSep training", "dictionary") as bar:
            for start, stop in _chunks(self.num_dicts, group):
                d, l = _train_streams(train_Y, self.num_sources, children[start:stop], self.harmonics, self.runs,
                                      self.lifetime, self.tone_num, floats, 100, *self._tolerances())
                dicts[start:stop] = d
                losses[start:stop] = l
                bar.update(stop - start)
        return dicts, losses

    def _learn(self):
        """Stages A-C and the pursuit of every frame with the chosen dictionary."""
        if self.tones is not None:
            return
        Y = self._log_spectrogram()
        T = Y.shape[1]
        if self.given_dictionary is not None:
            with self._bar(T, "DictSep separation", "frame") as bar:
                # a writable copy: numba would compile again for the read-only array
                self.tones = self._pursue(Y, np.array(self.given_dictionary.values), bar)
            return
        dicts, train_losses = self._train(Y)
        seed_losses = np.empty(self.num_dicts)
        best_tones = None
        with self._bar(T * self.num_dicts, "DictSep separation", "frame") as bar:
            for r in range(self.num_dicts):
                tones = self._pursue(Y, dicts[r], bar)
                seed_losses[r] = self._total_loss(Y, tones, dicts[r])
                if best_tones is None or seed_losses[r] < seed_losses[:r].min():
                    best_tones = tones
        best = int(np.argmin(seed_losses))
        self.dictionaries = dicts
        self.training_losses = train_losses
        self.seed_losses = seed_losses
        self.best_seed = best
        self.tones = best_tones
        self.dictionary = Dictionary(dicts[best], labels=self.source_labels, loss=seed_losses[best],
                                     **self.settings)

    def run(self):
        """Learn the dictionary (unless given), pursue every frame and draw the model spectra.

        Returns
        -------
        numpy.ndarray, shape (H, n_frames, I)
            The instruments' linear model magnitude spectra :attr:`models`.
        """
        self._learn()
        s = self.settings
        self.models = linear_spectra(self.tones, np.array(self.dictionary.values), self.sample_rate, height=s["height"],
                                     n_bins=s["n_bins"], fmin=s["fmin"], fmax=s["fmax"], p=s["p"],
                                     stretch=self._tone_sigmas() / s["sigmas"])
        return self.models

    @classmethod
    def fit(cls, input_audio_signal, num_sources, **kwargs) -> Dictionary:
        """Learn a dictionary from a mixture without separating it.

        Parameters
        ----------
        input_audio_signal : AudioSignal
            The recording to learn from.
        num_sources : int
            Number of instruments.
        **kwargs
            ``tone_num``, ``harmonics``, ``runs``, ``lifetime``, ``num_dicts``, ``mode``,
            ``seed``, ``verbose``, ``labels`` as for :class:`DictSep`.

        Returns
        -------
        Dictionary
            The candidate with the lowest total pursuit loss, with the analysis settings;
            reuse it with ``DictSep(other_mix, num_sources, dictionary=...)``.
        """
        if "dictionary" in kwargs:
            raise SeparationError("fit learns a dictionary: do not pass dictionary=")
        sep = cls(input_audio_signal, num_sources, **kwargs)
        sep._learn()
        return sep.dictionary

    def masks(self) -> np.ndarray:
        """Ratio masks ``S_i / sum_j S_j`` of the models, shape ``(H, n_frames, I)`` (0 where every model is 0)."""
        self._check_run()
        return ratio_masks(self.models)

    def make_audio_signals(self) -> list[AudioSignal]:
        """Resynthesise the sources with the mixture phase.

        Returns
        -------
        list of AudioSignal
            One per instrument, in dictionary column order, labelled with
            :attr:`source_labels`, with the mixture's channels, length and sample rate.
        """
        self._check_run()
        s = self.settings
        audio = self.audio_signal.audio_data
        X = gaussian_stft(audio, s["height"], s["hop"], s["sigmas"])  # (H, T, C)
        outputs = [OverlapAdd(audio.shape[0], audio.shape[1], s["height"], s["hop"], s["sigmas"])
                   for _ in self.source_labels]
        # block by block of frames: no (H, T) temporaries beside X and the models
        for start in range(0, X.shape[1], BLOCK):
            stop = min(start + BLOCK, X.shape[1])
            Xb = X[:, start:stop]
            models = self.models[:, start:stop]
            if self.mask is None:
                mag = np.abs(Xb)
                base = np.where(mag > 0, Xb / np.where(mag > 0, mag, 1.0), 1.0)  # the mixture phase
                weights = models
            else:
                base = Xb
                weights = ratio_masks(models)
            for i, acc in enumerate(outputs):
                acc.add(base * weights[:, :, i, None], start)
        out = [AudioSignal(acc.result(), sample_rate=self.sample_rate, label=label)
               for acc, label in zip(outputs, self.source_labels)]
        if self.mask == "wiener":
            from ..wiener import WienerFilter

            out = WienerFilter(self.audio_signal, out, iterations=1, alpha=2)()
        return out

    def __repr__(self) -> str:
        return (f"DictSep(num_sources={self.num_sources}, mode={self.mode!r}, mask={self.mask!r}) on "
                f"{self.audio_signal!r}")
