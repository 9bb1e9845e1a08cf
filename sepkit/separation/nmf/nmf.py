"""The ``NMF`` separator: blind, supervised (fixed per-source templates) or score-informed."""

from __future__ import annotations

import numpy as np

from ...core import AudioSignal, DecompositionError, SeparationError
from ...core.annotations import notes_by_stem, read_notes
from ...core.validation import check_int, check_seed, default_rng
from ...decomposition import hpss, separable_init
from ...decomposition import nmf as _nmf
from ..base import validate_stft_params
from .base import ComponentSeparationBase, grouped_models, side_by_side_magnitude, validate_beta, validate_groups
from .grouping import GROUPINGS, group_components
from .mixin import NMFMixin
from .score import comb_templates, gated_activations
from ..registry import DemoRow, register

__all__ = ["NMF", "shift_templates"]

#: Blind NMF: components per source when ``n_components`` is None.
COMPONENTS_PER_SOURCE = 8
#: Label of the extra source formed by the free components (supervised / score-informed).
OTHER_LABEL = "other"
#: Median-filter length (bins and frames) of the HPSS behind ``grouping='percussiveness'``.
HPSS_KERNEL = 17


def shift_templates(W: np.ndarray, semitones) -> np.ndarray:
    """Transpose spectral templates by whole or fractional semitones.

    A template on the linear frequency axis is stretched by ``r = 2 ** (s / 12)``:
    ``W_s[f] = W[f / r]`` (linear interpolation; bins beyond the original top are 0), which
    moves every partial of a harmonic sound by ``s`` semitones. Each result is scaled to
    unit Euclidean norm.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Nonnegative templates, one per column (bin f at frequency ``f * sample_rate / n_fft``).
    semitones : sequence of float
        Transpositions, e.g. ``range(-6, 7)``; 0 keeps the template (normalised).

    Returns
    -------
    numpy.ndarray of float64, shape (F, K * len(semitones))
        The shifted templates, grouped by shift (all K templates for the first shift, then
        the next).

    Examples
    --------
    >>> W = np.zeros((64, 1)); W[10] = 1.0
    >>> int(np.argmax(shift_templates(W, [12])[:, 0]))   # one octave up
    20
    """
    W = np.asarray(W, dtype=np.float64)
    shifts = np.asarray(list(semitones), dtype=np.float64)
    if W.ndim != 2 or shifts.ndim != 1 or shifts.size == 0 or not np.all(np.isfinite(shifts)):
        raise SeparationError(
            f"shift_templates needs templates of shape (F, K) and a nonempty list of finite semitones, got "
            f"{W.shape} and {list(semitones)!r}"
        )
    bins = np.arange(W.shape[0], dtype=np.float64)
    out = np.empty((W.shape[0], W.shape[1] * shifts.size))
    for i, s in enumerate(shifts):
        source_bins = bins / 2.0 ** (s / 12.0)
        for k in range(W.shape[1]):
            out[:, i * W.shape[1] + k] = np.interp(source_bins, bins, W[:, k], right=0.0)
    norms = np.linalg.norm(out, axis=0)
    out /= np.where(norms > 0, norms, 1.0)
    return out


class NMF(NMFMixin, ComponentSeparationBase):
    r"""Separation by beta-divergence NMF of the magnitude spectrogram.

    The magnitude spectrogram ``V`` of the mixture (channels side by side, ``(F, C * N)``)
    is factorised as ``V ~ W @ H`` with templates ``W`` (F, K) and activations ``H``
    (K, C * N); the components of each source are summed into a source model and the
    sources are separated by alpha-Wiener masks ``M_s = Lam_s**alpha / sum_j
    Lam_j**alpha`` (see :class:`~sepkit.separation.nmf.ComponentSeparationBase`). Three
    modes, chosen by the arguments:

    blind (neither ``templates`` nor ``score``)
        ``n_components`` components (default ``8 * num_sources``) are learned from the
        mixture and grouped into ``num_sources`` sources by ``grouping``.
    supervised (``templates``)
        per-source templates, e.g. from :meth:`learn_templates` on isolated recordings,
        are kept fixed and only their activations are fitted; ``free_components``
        extra components, templates and activations learned, absorb unmodelled sound.
    score-informed (``score``)
        a note list (e.g. a chorale's ``notes.csv``) gives each stem one harmonic comb
        template per distinct pitch (:func:`~sepkit.separation.nmf.score.comb_templates`)
        and activations gated to its notes
        (:func:`~sepkit.separation.nmf.score.gated_activations`); both are refined by NMF,
        whose multiplicative updates keep the zeros, so templates stay harmonic and each
        pitch sounds only during its notes.

    nussl's NMF mixin is available as class methods: :meth:`fit`, :meth:`transform` and
    :meth:`inverse_transform` (:class:`~sepkit.separation.nmf.mixin.NMFMixin`).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, ``(n_channels, n_samples)`` (never modified).
    num_sources : int or None
        Number of sources to return. Blind: required. Supervised: ``len(templates)``
        (default), or ``len(templates) + 1`` to return the free components as an extra
        source labelled ``'other'``. Score-informed: the number of stems (default), or
        one more for an extra ``'other'`` source as in the supervised mode.
    n_components : int or None
        Blind: number K of components, ``K >= num_sources`` (default
        ``8 * num_sources``). The other modes take their components from the templates
        or the score: leave it None.
    beta : float, default 1
        Beta of the divergence: 2 Euclidean, 1 Kullback-Leibler, 0 Itakura-Saito.
    n_iter : int, default 200
        Number of multiplicative-update iterations.
    init : {'nndsvda', 'random', 'snpa'} or tuple (W0, H0), default 'nndsvda'
        Blind initialisation: NNDSVDa, seeded random, separable NMF
        (:func:`sepkit.decomposition.snpa`: real frames of V as templates), or explicit
        arrays of shapes (F, K) and (K, C * N) (``(2F, K)`` with
        ``grouping='percussiveness'``). The other modes ignore it.
    grouping : {'mfcc-kmeans', 'centroid', 'percussiveness'} or callable, default 'mfcc-kmeans'
        Blind mode: how components become sources (see
        :func:`~sepkit.separation.nmf.grouping.group_components`). With
        ``'percussiveness'`` (``num_sources == 2``; source 0 percussive, 1 harmonic)
        the mixture is first split by median-filter HPSS and the stacked
        ``[percussive; harmonic]`` spectrogram (2F, C * N) is factorised. A callable
        ``f(W, H) -> labels`` gets ``W`` (F, K) and ``H`` (K, C * N).
    templates : dict of str to array_like (F, k_s), optional
        Supervised mode: fixed nonnegative templates of each source (labels are the
        keys, in order), with F the number of bins of the mixture's STFT.
    free_components : int, default 0
        Supervised and score-informed modes: number of extra components learned from the
        mixture. With ``num_sources`` equal to the number of modelled sources they form a
        residual model that takes its share of the mixture in the masks' denominator and
        is dropped (the estimates then sum to the mixture minus that share; its model is
        kept in ``residual_model``); with one more source they are that source.
    score : str or os.PathLike or iterable of rows, optional
        Score-informed mode: a note list read by
        :func:`~sepkit.separation.nmf.score.read_notes`. Each distinct ``stem`` is a
        source, in order of first appearance, labelled by its name. Times are in seconds
        from the start of the mixture.
    score_margin : float or (float, float), default (0.025, 0.1)
        Seconds the gates open before each onset and stay open after each offset (the
        release of the instrument).
    num_harmonics : int, default 25
        Partials of the comb templates (score-informed mode).
    tolerance : float, default 0.75
        Half-width in semitones of each partial of the comb templates.
    mask_type : {'soft', 'binary'}, default 'soft'
        alpha-Wiener soft masks, or the binary arg-max of the source models.
    alpha : float, default 1.0
        Exponent of the alpha-Wiener masks.
    seed : int or numpy.random.Generator, optional
        Randomness of the initialisation (random, NNDSVDa's randomised SVD on large inputs,
        free components) and of KMeans. numpy's global RNG is never used.
    stft_params : STFTParams or None
        STFT parameters; None uses the mixture's.
    labels : list of str, optional
        Source labels; default: the template keys or score stems (plus ``'other'``), or
        ``'source_0'``, ... in the blind mode.

    Attributes
    ----------
    W : numpy.ndarray, shape (F, K)
        After :meth:`run`: templates (for ``'percussiveness'`` folded back to F bins,
        ``W[:F] + W[F:]`` of ``stacked_W``).
    H : numpy.ndarray, shape (K, C * N)
        Activations, channels side by side (see :meth:`unfold`).
    costs : numpy.ndarray, shape (n_iter + 1,)
        Beta-divergence after the initialisation and after each iteration.
    groups : numpy.ndarray of int64, shape (K,)
        Source of every component (``num_sources`` marks dropped free components).
    source_models : numpy.ndarray, shape (num_sources, F, N, C)
        Summed component models of the returned sources.
    residual_model : numpy.ndarray or None, shape (F, N, C)
        Model of the dropped free components, if any.
    stacked_W : numpy.ndarray or None, shape (2F, K)
        Templates on the stacked spectrogram (``grouping='percussiveness'``).
    result_masks : list of SoftMask or BinaryMask

    Raises
    ------
    SeparationError
        For invalid parameters: e.g. ``num_sources > n_components``, an unknown grouping,
        ``'percussiveness'`` with ``num_sources != 2``, templates whose bin count differs
        from the mixture's STFT, a bad score file, or ``templates`` and ``score``
        together. :meth:`run` raises it for a mixture of zero energy.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example(["violin", "clarinet"])
    >>> estimates = NMF(mix, 2, seed=0)()                       # blind
    >>> templates = NMF.learn_templates({k: [v] for k, v in sources.items()}, n_components=8, seed=0)
    >>> estimates = NMF(mix, templates=templates)()             # supervised
    """

    INITS = ("nndsvda", "random", "snpa")

    def __init__(
        self,
        input_audio_signal,
        num_sources=None,
        n_components=None,
        beta=1.0,
        n_iter=200,
        init="nndsvda",
        grouping="mfcc-kmeans",
        templates=None,
        free_components=0,
        score=None,
        score_margin=(0.025, 0.1),
        num_harmonics=25,
        tolerance=0.75,
        mask_type="soft",
        alpha=1.0,
        seed=None,
        stft_params=None,
        labels=None,
    ):
        if not isinstance(input_audio_signal, AudioSignal):
            raise SeparationError(f"NMF needs an AudioSignal mixture, got {type(input_audio_signal).__name__}")
        params = validate_stft_params(stft_params, input_audio_signal)
        self.beta = validate_beta(beta)
        self.n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        self.seed = check_seed(seed, error=SeparationError)
        self.free_components = check_int("free_components", free_components, 0, error=SeparationError)
        self.score_margin = score_margin
        self.num_harmonics = num_harmonics
        self.tolerance = tolerance
        modelled = self._parse_model(templates, score, input_audio_signal, params)
        if modelled is not None:
            num_sources, labels = self._informed_sources(modelled, num_sources, n_components, labels)
            self.n_components = None
        else:
            num_sources = self._blind_sources(num_sources, n_components)
        self.grouping = self._check_grouping(grouping, num_sources)
        if isinstance(init, tuple):
            if len(init) != 2:
                raise SeparationError(f"init as a tuple must be (W0, H0), got a tuple of length {len(init)}")
        elif not (isinstance(init, str) and init in self.INITS):
            raise SeparationError(f"init must be one of {self.INITS} or a tuple (W0, H0), got {init!r}")
        self.init = init
        super().__init__(input_audio_signal, num_sources, alpha, mask_type, 0.5, params, labels)
        self.W = self.H = self.costs = self.groups = None
        self.residual_model = None
        self.stacked_W = None

    # ------------------------------------------------------------------ parsing
    def _parse_model(self, templates, score, mix, params):
        """Set ``mode``, ``templates``, ``score`` and ``notes``; return the modelled labels (None: blind)."""
        if templates is not None and score is not None:
            raise SeparationError("give templates (supervised) or score (score-informed), not both")
        self.templates = self.score = self.notes = None
        if templates is not None:
            self.mode = "supervised"
            self.templates = self._validate_templates(templates, params.window_length // 2 + 1)
            return list(self.templates)
        if score is not None:
            self.mode = "score"
            self.score = read_notes(score)  # a list of Notes: what __init__ accepts again
            self.notes = notes_by_stem(self.score)
            # check the comb and gate parameters now rather than in run()
            first = next(iter(self.notes.values()))[0]
            comb_templates([first.midi_pitch], mix.sample_rate, params.window_length, self.num_harmonics,
                           self.tolerance)
            gated_activations([first], (1, 1.0), [first.midi_pitch], self.score_margin)
            return list(self.notes)
        self.mode = "blind"
        return None

    def _informed_sources(self, modelled, num_sources, n_components, labels):
        """``(num_sources, labels)`` of the supervised and score-informed modes; sets ``extra_source``."""
        if n_components is not None:
            raise SeparationError(
                f"n_components={n_components!r} applies to blind NMF only; in {self.mode} mode the components "
                "come from the " + ("templates" if self.mode == "supervised" else "score") + " (leave it None)"
            )
        if num_sources is None:
            num_sources = len(modelled)
        num_sources = check_int("num_sources", num_sources, 1, error=SeparationError)
        if num_sources == len(modelled) + 1:
            if not self.free_components:
                raise SeparationError(
                    f"num_sources={num_sources} asks for an extra source beyond the {len(modelled)} modelled "
                    f"ones {modelled}: give free_components >= 1 to model it"
                )
            self.extra_source = True
            default_labels = modelled + [OTHER_LABEL]
        elif num_sources == len(modelled):
            self.extra_source = False
            default_labels = modelled
        else:
            raise SeparationError(
                f"num_sources={num_sources} does not fit the {len(modelled)} modelled sources {modelled}: "
                f"use {len(modelled)} (or {len(modelled) + 1} with free components as an extra source)"
            )
        return num_sources, default_labels if labels is None else labels

    def _blind_sources(self, num_sources, n_components):
        """``num_sources`` of the blind mode; sets ``n_components`` and ``extra_source``."""
        if num_sources is None:
            raise SeparationError("blind NMF needs num_sources (or give templates or a score)")
        num_sources = check_int("num_sources", num_sources, 1, error=SeparationError)
        if self.free_components:
            raise SeparationError(
                f"free_components={self.free_components!r} applies to supervised or score-informed NMF only"
            )
        self.extra_source = False
        if n_components is None:
            n_components = COMPONENTS_PER_SOURCE * num_sources
        self.n_components = check_int("n_components", n_components, 1, error=SeparationError)
        if num_sources > self.n_components:
            raise SeparationError(
                f"num_sources={num_sources} exceeds n_components={self.n_components}: every source needs "
                "at least one component"
            )
        return num_sources

    def _check_grouping(self, grouping, num_sources):
        if not (callable(grouping) or (isinstance(grouping, str) and grouping in GROUPINGS)):
            raise SeparationError(
                f"grouping must be one of {GROUPINGS} or a callable f(W, H) -> labels, got {grouping!r}"
            )
        if grouping == "percussiveness" and self.mode == "blind" and num_sources != 2:
            raise SeparationError(
                "grouping='percussiveness' splits percussive from harmonic sound: "
                f"num_sources must be 2, got {num_sources}"
            )
        return grouping

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _validate_templates(templates, n_freq) -> dict[str, np.ndarray]:
        if not isinstance(templates, dict) or not templates:
            raise SeparationError(
                "templates must be a nonempty dict of source label to templates (F, k), e.g. from "
                f"NMF.learn_templates; got {type(templates).__name__}"
            )
        out = {}
        for label, W in templates.items():
            try:
                A = np.array(W, dtype=np.float64)
            except (TypeError, ValueError):
                raise SeparationError(f"templates[{label!r}] must be a 2-D array of nonnegative reals") from None
            if A.ndim == 1:
                A = A[:, None]
            if A.ndim != 2 or A.shape[1] == 0:
                raise SeparationError(f"templates[{label!r}] must have shape (F, k), got {A.shape}")
            if A.shape[0] != n_freq:
                raise SeparationError(
                    f"templates[{label!r}] have {A.shape[0]} frequency bins but the mixture's STFT has {n_freq} "
                    "(learn them with the same stft_params)"
                )
            if not np.all(np.isfinite(A)) or A.min() < 0:
                raise SeparationError(f"templates[{label!r}] must be finite and nonnegative")
            if not np.all(A.sum(axis=0) > 0):
                raise SeparationError(f"templates[{label!r}] contain an all-zero template")
            out[str(label)] = A
        return out

    # ------------------------------------------------------------------ learning
    @classmethod
    def learn_templates(
        cls, sources, n_components=8, beta=1.0, n_iter=200, stft_params=None, seed=None, pitch_shifts=0
    ):
        """Learn per-source templates from isolated recordings (for supervised NMF).

        The magnitude spectrograms of a source's signals (channels side by side) are
        concatenated along time and factorised by :func:`sepkit.decomposition.nmf`
        (NNDSVDa initialisation, unit-L2 templates). With ``pitch_shifts`` every template
        is also added transposed by each whole number of semitones up to that many, up and
        down (:func:`shift_templates`), so that the dictionary covers notes that the
        training recordings do not play.

        Parameters
        ----------
        sources : dict of str to AudioSignal or list of AudioSignal
            Recordings of each source, all at one sample rate.
        n_components : int or dict of str to int, default 8
            Templates per source (one number for all, or one per label).
        beta : float, default 1
        n_iter : int, default 200
        stft_params : STFTParams or None
            Must be those of the mixtures to separate; None uses the first signal's.
        seed : int or numpy.random.Generator, optional
        pitch_shifts : int, default 0
            Largest transposition in semitones; each source then has ``k * (2 *
            pitch_shifts + 1)`` templates. On the chorale duet of the docs, templates learned
            on another piece gain about 5 dB with ``pitch_shifts=6`` (4.6 to 9.4 dB SI-SDR):
            that piece lacks some of the notes to separate.

        Returns
        -------
        dict of str to numpy.ndarray of float64, shape (F, k) or (F, k * (2 * pitch_shifts + 1))
            Unit-norm templates per source, in the order of ``sources``.

        Raises
        ------
        SeparationError
            For an empty dict or list, something that is not an AudioSignal, different
            sample rates, a silent source, or bad ``n_components``.
        """
        if not isinstance(sources, dict) or not sources:
            raise SeparationError(
                "sources must be a nonempty dict of label to AudioSignal or list of AudioSignals, "
                f"got {type(sources).__name__}"
            )
        beta = validate_beta(beta)
        n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        rng = default_rng(seed, error=SeparationError)
        lists = {}
        for label, sigs in sources.items():
            sigs = [sigs] if isinstance(sigs, AudioSignal) else sigs
            if not isinstance(sigs, (list, tuple)) or not sigs:
                raise SeparationError(f"sources[{label!r}] must be an AudioSignal or a nonempty list of them")
            for s in sigs:
                if not isinstance(s, AudioSignal):
                    raise SeparationError(f"sources[{label!r}] holds a {type(s).__name__}, expected AudioSignals")
            lists[str(label)] = list(sigs)
        first = next(iter(lists.values()))[0]
        rates = {s.sample_rate for sigs in lists.values() for s in sigs}
        if len(rates) != 1:
            raise SeparationError(f"all recordings must share one sample rate, got {sorted(rates)} Hz")
        params = validate_stft_params(stft_params, first)
        max_shift = check_int("pitch_shifts", pitch_shifts, 0, error=SeparationError)
        out = {}
        for label, sigs in lists.items():
            k = n_components.get(label) if isinstance(n_components, dict) else n_components
            k = check_int(f"n_components for {label!r}", k, 1, error=SeparationError)
            V = np.hstack([side_by_side_magnitude(s, params) for s in sigs])
            if not V.any():
                raise SeparationError(f"the recordings of {label!r} have zero energy: nothing to learn")
            W, _, _ = _nmf(V, k, beta=beta, n_iter=n_iter, init="nndsvda" if k <= min(V.shape) else "random", seed=rng)
            out[label] = shift_templates(W, range(-max_shift, max_shift + 1)) if max_shift else W
        return out

    # ------------------------------------------------------------------ run
    def _rng(self):
        return default_rng(self.seed, error=SeparationError)  # a Generator is used as is

    def _init_arrays(self, V, K, rng):
        """(W0, H0) for the blind mode from ``init``."""
        if isinstance(self.init, tuple):
            return self.init
        if self.init == "snpa":
            try:
                W0, H0, _ = separable_init(V, K)
            except DecompositionError as exc:
                raise SeparationError(str(exc)) from None
            return W0, H0
        return self.init

    def _blind(self, V, rng):
        F = V.shape[0]
        K = self.n_components
        target = V
        if self.grouping == "percussiveness":
            target = self._stacked_hpss(V)
        init = self._init_arrays(target, K, rng)
        try:
            W, H, costs = _nmf(target, K, beta=self.beta, n_iter=self.n_iter, init=init, seed=rng)
        except DecompositionError as exc:  # e.g. init arrays of the wrong shape: re-raise as ours
            raise SeparationError(f"NMF of the mixture failed: {exc}") from None
        groups = group_components(
            W, H, self.num_sources, self.grouping, self.sample_rate, self.stft_params.window_length, rng
        )
        if self.grouping == "percussiveness":
            self.stacked_W = W
            W = W[:F] + W[F:]
        return W, H, costs, groups

    def _stacked_hpss(self, V) -> np.ndarray:
        """``[percussive; harmonic]`` magnitudes (2F, C * N) of V (F, C * N) by median-filter HPSS per channel.

        :func:`sepkit.decomposition.hpss` (Fitzgerald 2010) with ``HPSS_KERNEL`` bins and
        frames and librosa's power-2 soft masks: ``|X|`` is split into ``M_P |X|`` and
        ``(1 - M_P) |X|`` (half each where both medians are zero), which add up to ``|X|``.
        """
        F, N, C = self._shape
        out = np.empty((2 * F, N * C))
        for c in range(C):
            mag = V[:, c * N : (c + 1) * N]
            _, share = hpss(mag, kernel_size=HPSS_KERNEL, power=2.0, mask=True)
            out[:F, c * N : (c + 1) * N] = share * mag
            out[F:, c * N : (c + 1) * N] = (1.0 - share) * mag
        return out

    def _supervised(self, V, rng):
        fixed = np.hstack(list(self.templates.values()))
        W, H, costs = _nmf(V, fixed.shape[1] + self.free_components, beta=self.beta, n_iter=self.n_iter,
                           fixed_W=fixed, seed=rng)
        groups = np.concatenate(
            [np.full(t.shape[1], s, dtype=np.int64) for s, t in enumerate(self.templates.values())]
            + [np.full(self.free_components, len(self.templates), dtype=np.int64)]
        )
        return W, H, costs, groups

    def _score_informed(self, V, rng):
        F, N, C = self._shape
        hop = self.stft_params.hop_length / self.sample_rate
        Ws, Hs, groups = [], [], []
        for s, (stem, notes) in enumerate(self.notes.items()):
            pitches = sorted({n.midi_pitch for n in notes})
            Ws.append(comb_templates(pitches, self.sample_rate, self.stft_params.window_length,
                                     self.num_harmonics, self.tolerance))
            Hs.append(np.tile(gated_activations(notes, (N, hop), pitches, self.score_margin), (1, C)))
            groups.append(np.full(len(pitches), s, dtype=np.int64))
        if not any(h.any() for h in Hs):
            raise SeparationError(
                f"no note of the score sounds during the mixture ({self.audio_signal.signal_duration:.3g} s): "
                "nothing to inform the separation"
            )
        n_free = self.free_components
        if n_free:
            Ws.append(np.abs(rng.standard_normal((F, n_free))))
            Hs.append(np.ones((n_free, N * C)))
            groups.append(np.full(n_free, len(self.notes), dtype=np.int64))
        W0, H0, groups = np.hstack(Ws), np.vstack(Hs), np.concatenate(groups)
        H0 *= float(V.sum()) / float((W0 @ H0).sum())
        W, H, costs = _nmf(V, W0.shape[1], beta=self.beta, n_iter=self.n_iter, init=(W0, H0), seed=rng)
        return W, H, costs, groups

    def run(self):
        """Factorise the mixture's magnitude spectrogram, group the components and build the masks.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``result_masks``, one per source, shape ``(n_freq, n_frames, n_channels)``.

        Raises
        ------
        SeparationError
            For a mixture of zero energy, or a grouping that leaves a source empty.
        """
        V = self.magnitude()
        rng = self._rng()
        if self.mode == "blind":
            W, H, costs, groups = self._blind(V, rng)
        elif self.mode == "supervised":
            W, H, costs, groups = self._supervised(V, rng)
        else:
            W, H, costs, groups = self._score_informed(V, rng)
        self.W, self.H, self.costs, self.groups = W, H, costs, groups
        n_models = int(groups.max()) + 1
        if self.mode != "blind":
            n_models = len(self.templates if self.mode == "supervised" else self.notes) + (self.free_components > 0)
        validate_groups(groups, W.shape[1], n_models)
        models = grouped_models(W, H, groups, n_models)
        self.set_source_models(models, n_residual=n_models - self.num_sources)
        return self.result_masks


register(
    "nmf", NMF, "blind KL-NMF, 8 components per source grouped by MFCC + k-means",
    needs=("num_sources",), quick={"n_components": 4, "n_iter": 2},
    demo=(
        DemoRow("duet", "NMF blind (16 comp., MFCC)", {"n_iter": 100}, blind=True, order=20),
        DemoRow("drums", "NMF blind (24 comp., centroid)", {"grouping": "centroid"}, blind=True, order=20),
    ),
)
register(
    "nmf-score", NMF, "score-informed NMF: comb templates and note gates from a notes CSV",
    needs=("score",), quick={"n_iter": 2},
    demo=(DemoRow("chorale", "NMF score-informed", {"n_iter": 100}, order=10),
          DemoRow("duet", "NMF score-informed", {"n_iter": 100}, order=0)),
)
