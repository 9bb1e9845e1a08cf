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
   instrument drawn on the linear axis (:func:`~sepkit.separation.dictsep.models.linear_spectra`);
E, F. ratio masks of the instruments' linear spectra (:attr:`DictSep.result_masks`) applied
   to the mixture STFT through the :meth:`DictSep.apply_mask` hook (or the raw model spectra
   with the mixture phase, or :func:`sepkit.filtering.wiener` on the same STFT) and the
   least-squares inverse STFT
   (:func:`~sepkit.separation.dictsep.frontend.gaussian_istft`).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np

from ...core import AudioSignal, BinaryMask, MaskBase
from ...core.errors import SeparationError
from ...core.validation import check_bool, check_choice, check_int, check_seed, default_rng
from ..base import MaskSeparationBase, validate_labels
from .dictionary import SPECT_METHODS, Dictionary
from ...filtering import wiener
from .frontend import HOP, SIGMAS, SPECT_HEIGHT, OverlapAdd, gaussian_istft, gaussian_stft, num_frames, stft_blocks
from .learning import _train_streams
from .logspect import FMAX, FMIN, LOG_BINS, log_axis_lambda, log_spectrogram
from .logspect_mel import MEL_FMIN, log_spectrogram_mel, mel_log_width
from .models import _linear_stack, _ratio_stack, linear_spectra, max_tones, ratio_masks, total_loss
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
FAITHFUL_DEFAULTS = {"n_iter": 10000, "num_dicts": 10}
FAST_DEFAULTS = {"n_iter": 2000, "num_dicts": 4}
#: In ``mode='fast'``, training skips frames whose log-spectrum maximum is below this
#: fraction of the loudest frame's (-60 dB).
FAST_SILENCE = 1e-3


def _chunks(n, size):
    return [(start, min(start + size, n)) for start in range(0, n, size)]


class DictSep(MaskSeparationBase):
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

    DictSep is a :class:`~sepkit.separation.MaskSeparationBase`: :meth:`run` returns
    :attr:`result_masks`, one mask per source of DictSep's own transform, the Gaussian-window
    STFT of :func:`~sepkit.separation.dictsep.frontend.gaussian_stft` (shape
    ``(H, n_frames, n_channels)``, ``H = 6144`` bins, hop 256); its :meth:`apply_mask` hook
    masks the mixture in that transform, block by block of frames, and inverts it by the
    least-squares overlap-add, and the base's :meth:`make_audio_signals` applies every mask.

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
    n_iter : int, optional
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
        chorale, with separation quality within the spread over seeds (``docs/methods/dict_sep``).
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
        How the estimates are made from the models. ``'ratio'`` (the original's default):
        the masks :attr:`result_masks` applied to the mixture by the base. ``'wiener'``:
        the ratio-masked estimates refined by :func:`sepkit.filtering.wiener` directly on
        DictSep's STFT (their powers as models, one EM iteration of the multichannel
        Wiener filter; no detour through audio and another STFT). ``None``: the model
        magnitudes ``S_i`` with the mixture phase (Musisep's ``mask=False``). In every case
        :meth:`run` returns the ratio masks.

        **Ratio masks** follow the one rule of the library (as the NMF family and
        :func:`sepkit.kernels.masks.alpha_wiener`): ``S_i / sum_j S_j``, and where every
        model of a bin is zero (unmodelled energy: noise, onsets, partials beyond ``K``),
        each source gets ``1 / num_sources``, so the masks sum to one in every bin and the
        estimates add up to the mixture. (Musisep, and sepkit before issue 10, gave 0 to
        every source there.)
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
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        Kind of :attr:`result_masks`, as :class:`~sepkit.separation.MaskSeparationBase`:
        the ratio masks as :class:`~sepkit.SoftMask`, or binary masks keeping the bins whose
        ratio exceeds ``mask_threshold``. ``'binary'`` needs ``mask='ratio'``.
    mask_threshold : float
        In (0, 1): threshold of binary masks.

    Attributes
    ----------
    result_masks : list of SoftMask or BinaryMask
        After :meth:`run`: one mask per source, shape ``(H, n_frames, n_channels)`` of the
        Gaussian-window STFT (the same values in every channel: they come from the downmix).
    stft_params : None
        DictSep's transform is not an :class:`~sepkit.STFTParams` STFT (Gaussian window of
        ``2 H`` samples, ``H / sigmas`` standard deviation, frames centred on multiples of
        the hop, ``H`` kept bins); its parameters are in :attr:`settings` (``height``,
        ``hop``, ``sigmas``).
    settings : dict
        Analysis settings and tone-model constants (sample rate, ``height``, ``hop``,
        ``sigmas``, log axis ``n_bins``/``fmin``/``fmax``, ``p``, ``q``, ``b_max``,
        ``spect_method``).
    dictionary : Dictionary
        The dictionary used (learned or given), after :meth:`run` or :meth:`fit`. After a
        run :meth:`get_params` therefore returns the learned dictionary, and
        ``DictSep(mix, **sep.get_params())`` reuses it (the same estimates, no training).
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
    >>> est_a, est_b = DictSep(mix, 2, n_iter=2000, num_dicts=2, seed=0)()      # doctest: +SKIP
    >>> masks = DictSep(mix, 2, n_iter=2000, num_dicts=2, seed=0).run()        # doctest: +SKIP
    >>> timbre = DictSep.fit(mix, 2, n_iter=2000, seed=0)                       # doctest: +SKIP
    >>> timbre.save("timbre.npz")                                             # doctest: +SKIP
    >>> other = DictSep(other_mix, 2, dictionary=Dictionary.load("timbre.npz"))()  # doctest: +SKIP
    """

    MODES = ("faithful", "fast")
    MASK_OPTIONS = ("ratio", "wiener", None)

    def __init__(self, input_audio_signal, num_sources, tone_num=1, harmonics=None, n_iter=None, lifetime=500,
                 num_dicts=None, mode="faithful", mask="ratio", dictionary=None, seed=None, verbose=True,
                 labels=None, spect_method=None, mask_type="soft", mask_threshold=0.5):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold)
        self.stft_params = None  # DictSep's transform: see the class docstring and settings
        err = SeparationError
        self.mode = check_choice("mode", mode, self.MODES, case_sensitive=True, error=err)
        defaults = FAST_DEFAULTS if self.mode == "fast" else FAITHFUL_DEFAULTS
        self.num_sources = check_int("num_sources", num_sources, 1, error=err)
        self.tone_num = check_int("tone_num", tone_num, 1, error=err)
        self.n_iter = check_int("n_iter", defaults["n_iter"] if n_iter is None else n_iter, 1, error=err)
        self.lifetime = check_int("lifetime", lifetime, 2, error=err)
        if self.n_iter < self.lifetime:
            raise SeparationError(
                f"n_iter must be at least lifetime ({self.lifetime}) so that columns survive a renewal, got {n_iter!r}"
            )
        self.num_dicts = check_int("num_dicts", defaults["num_dicts"] if num_dicts is None else num_dicts, 1,
                                   error=err)
        if spect_method is not None:
            check_choice("spect_method", spect_method, SPECT_METHODS + (None,), case_sensitive=True, error=err)
        self.mask = check_choice("mask", mask, self.MASK_OPTIONS, case_sensitive=True, error=err)
        if self.mask_type is BinaryMask and self.mask != "ratio":
            raise SeparationError(f"mask_type='binary' needs mask='ratio', got mask={self.mask!r}")
        self.verbose = check_bool("verbose", verbose, error=err)
        self.seed = check_seed(seed, error=err)
        self.harmonics, self.settings = self._settings(dictionary, harmonics, spect_method)
        self.spect_method = self.settings["spect_method"]
        self._check_capacity()
        self.labels = None if labels is None else [str(label) for label in labels]
        self.source_labels = validate_labels(
            dictionary.labels if labels is None and dictionary is not None else labels, self.num_sources
        )
        if not np.any(self.audio_signal.audio_data):
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

    # -- parameters ------------------------------------------------------------------------------
    def _settings(self, dictionary, harmonics, spect_method):
        """``(harmonics, settings)`` from a given dictionary (checked against the arguments) or the defaults."""
        if dictionary is None:
            harmonics = 25 if harmonics is None else harmonics
            spect_method = "pursuit" if spect_method is None else spect_method
            settings = dict(sample_rate=self.sample_rate, height=SPECT_HEIGHT, hop=HOP, sigmas=SIGMAS,
                            n_bins=LOG_BINS, fmin=MEL_FMIN if spect_method == "mel" else FMIN, fmax=FMAX,
                            p=1.0, q=0.5, b_max=B_MAX, spect_method=spect_method)
            return check_int("harmonics", harmonics, 1, error=SeparationError), settings
        if not isinstance(dictionary, Dictionary):
            raise SeparationError(
                f"dictionary must be a sepkit.separation.dictsep.Dictionary or None, got {type(dictionary).__name__}"
                " (wrap an array with Dictionary(values, sample_rate))"
            )
        dictionary.check_sample_rate(self.sample_rate)
        if dictionary.num_sources != self.num_sources:
            raise SeparationError(
                f"num_sources is {self.num_sources} but the dictionary has {dictionary.num_sources} "
                "columns (one per source)"
            )
        if harmonics is not None and check_int("harmonics", harmonics, 1, error=SeparationError) != \
                dictionary.harmonics:
            raise SeparationError(f"harmonics is {harmonics} but the dictionary has {dictionary.harmonics} harmonics")
        if spect_method is not None and spect_method != dictionary.spect_method:
            raise SeparationError(
                f"spect_method is {spect_method!r} but the dictionary was learned on the "
                f"{dictionary.spect_method!r} log spectrogram"
            )
        if dictionary.b_max != B_MAX:
            raise SeparationError(
                f"the dictionary's inharmonicity bound is {dictionary.b_max!r}; the pursuit supports {B_MAX!r}"
            )
        settings = {k: v for k, v in dictionary.metadata().items() if k != "harmonics"}
        return dictionary.harmonics, settings

    def _check_capacity(self):
        """Refuse more tones than a log frame holds; warn when the log axis passes the Nyquist frequency."""
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
                stacklevel=3,
            )

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

    def _mono_magnitude(self):
        """``|X|`` of the mono downmix, shape ``(H, n_frames)``, block by block of frames."""
        s = self.settings
        mono = self.audio_signal.audio_data.mean(axis=0)[None, :]
        mag = np.empty((s["height"], num_frames(mono.shape[1], s["hop"])))
        for start, block in stft_blocks(mono, s["height"], s["hop"], s["sigmas"]):
            mag[:, start : start + block.shape[1]] = np.abs(block[:, :, 0])
        return mag

    def _log_spectrogram(self):
        if self.log_spect is not None:
            return self.log_spect
        s = self.settings
        mag = self._mono_magnitude()
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
        return total_loss(Y, tones, D, log_axis_lambda(s["n_bins"], s["fmin"], s["fmax"]), s["p"], s["q"])

    def _train(self, Y):
        s = self.settings
        train_Y = Y
        if self.mode == "fast":
            peak = Y.max(axis=0)
            loud = peak > FAST_SILENCE * peak.max()
            train_Y = np.ascontiguousarray(Y[:, loud])
        children = default_rng(self.seed, error=SeparationError).spawn(self.num_dicts)
        floats = dict(beta=0.9, p=s["p"], q=s["q"], fmin=s["fmin"], fmax=s["fmax"], sigmas=self._tone_sigmas(),
                      lr=1e-3)
        dicts = np.empty((self.num_dicts, self.harmonics, self.num_sources))
        losses = np.empty(self.num_dicts)
        group = max(1, numba.get_num_threads())
        with self._bar(self.num_dicts, "DictSep training", "dictionary") as bar:
            for start, stop in _chunks(self.num_dicts, group):
                d, l = _train_streams(train_Y, self.num_sources, children[start:stop], self.harmonics, self.n_iter,
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

    def run(self) -> list[MaskBase]:
        """Learn the dictionary (unless given), pursue every frame, draw the model spectra and their masks.

        Sets :attr:`models` (the instruments' linear model magnitude spectra, shape
        ``(H, n_frames, I)``) and :attr:`result_masks`.

        Returns
        -------
        list of SoftMask or BinaryMask
            :attr:`result_masks`: the ratio masks of the models (1 / I where every model is
            zero), one per source, each shape ``(H, n_frames, n_channels)``.
        """
        self._learn()
        s = self.settings
        stack = _linear_stack(self.tones, np.array(self.dictionary.values), self.sample_rate, s["height"],
                              s["n_bins"], s["fmin"], s["fmax"], s["p"], self._tone_sigmas() / s["sigmas"])
        self.models = np.transpose(stack, (2, 1, 0))  # (H, T, I), a view
        ratios = _ratio_stack(stack)  # (I, T, H), C order
        shape = (s["height"], stack.shape[1], self.audio_signal.num_channels)
        # the masks come from the downmix: one (H, T) array per source, read-only in every channel
        self.result_masks = self.masks_from_soft([np.broadcast_to(r.T[:, :, None], shape) for r in ratios])
        return self.result_masks

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
            ``tone_num``, ``harmonics``, ``n_iter``, ``lifetime``, ``num_dicts``, ``mode``,
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

    # -- resynthesis -----------------------------------------------------------------------------
    def _mask_shape(self) -> tuple:
        s = self.settings
        n_frames = num_frames(self.audio_signal.signal_length, s["hop"])
        return (s["height"], n_frames, self.audio_signal.num_channels)

    def _overlap_add(self):
        s = self.settings
        audio = self.audio_signal.audio_data
        return OverlapAdd(audio.shape[0], audio.shape[1], s["height"], s["hop"], s["sigmas"])

    def _blocks(self):
        s = self.settings
        return stft_blocks(self.audio_signal.audio_data, s["height"], s["hop"], s["sigmas"])

    def apply_mask(self, mask: MaskBase, label: str) -> AudioSignal:
        """Mask the mixture in DictSep's Gaussian-window STFT and invert it (the base's hook).

        The mixture is transformed, masked and overlap-added block by block of frames
        (:func:`~sepkit.separation.dictsep.frontend.stft_blocks`,
        :class:`~sepkit.separation.dictsep.frontend.OverlapAdd`): memory is the output and
        one block, never the whole STFT.

        Parameters
        ----------
        mask : SoftMask or BinaryMask
            Shape ``(H, n_frames, n_channels)`` of :func:`~sepkit.separation.dictsep.frontend.gaussian_stft`
            of the mixture (or ``n_channels = 1``, applied to every channel).
        label : str
            Label of the estimate.

        Returns
        -------
        AudioSignal
            The estimate, with the mixture's channels, length and sample rate.
        """
        values = mask.mask
        expected = self._mask_shape()
        if values.shape[:2] != expected[:2] or values.shape[2] not in (1, expected[2]):
            raise SeparationError(f"mask has shape {values.shape} but DictSep's transform of the mixture is "
                                  f"{expected} (H, n_frames, n_channels)")
        acc = self._overlap_add()
        for start, X in self._blocks():
            acc.add(X * values[:, start : start + X.shape[1]], start)
        return AudioSignal(acc.result(), sample_rate=self.sample_rate, label=label)

    def _phase_estimates(self) -> list[AudioSignal]:
        """``mask=None``: the model magnitudes with the mixture phase, all sources in one pass."""
        outputs = [self._overlap_add() for _ in self.source_labels]
        for start, X in self._blocks():
            models = self.models[:, start : start + X.shape[1]]
            mag = np.abs(X)
            phase = np.where(mag > 0, X / np.where(mag > 0, mag, 1.0), 1.0)  # the mixture phase
            for i, acc in enumerate(outputs):
                acc.add(phase * models[:, :, i, None], start)
        return [AudioSignal(acc.result(), sample_rate=self.sample_rate, label=label)
                for acc, label in zip(outputs, self.source_labels)]

    def _wiener_estimates(self) -> list[AudioSignal]:
        """``mask='wiener'``: :func:`sepkit.filtering.wiener` on DictSep's own STFT (one EM iteration).

        The models are the powers of the ratio-masked estimates, ``v_i = (m_i |X|)^2`` per
        channel (``m_i`` the masks of :attr:`result_masks`), so the EM starts from the power
        Wiener mask and shares unmodelled bins equally; the refined STFTs are inverted by
        :func:`~sepkit.separation.dictsep.frontend.gaussian_istft`.
        """
        s = self.settings
        audio = self.audio_signal.audio_data
        X = gaussian_stft(audio, s["height"], s["hop"], s["sigmas"])  # (H, T, C)
        power = X.real**2 + X.imag**2
        v = np.stack([power * np.square(mask.mask) for mask in self.result_masks], axis=-1)
        del power
        y = wiener(np.swapaxes(v, 0, 1), np.swapaxes(X, 0, 1), iterations=1)  # (T, H, C, I), frames first
        del v, X
        return [AudioSignal(gaussian_istft(np.swapaxes(y[..., i], 0, 1), audio.shape[1], s["hop"], s["sigmas"]),
                            sample_rate=self.sample_rate, label=label)
                for i, label in enumerate(self.source_labels)]

    def make_audio_signals(self) -> list[AudioSignal]:
        """Resynthesise the sources: the base applies :attr:`result_masks` (``mask='ratio'``).

        With ``mask=None`` the model magnitudes get the mixture phase; with ``mask='wiener'``
        the ratio-masked estimates are refined by :func:`sepkit.filtering.wiener` on DictSep's
        own STFT.

        Returns
        -------
        list of AudioSignal
            One per instrument, in dictionary column order, labelled with
            :attr:`source_labels`, with the mixture's channels, length and sample rate.
        """
        self._check_run()
        if self.mask is None:
            return self._phase_estimates()
        if self.mask == "wiener":
            return self._wiener_estimates()
        return super().make_audio_signals()
