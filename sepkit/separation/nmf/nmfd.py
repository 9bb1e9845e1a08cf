"""NMFD separator: convolutive NMF with 2-D spectro-temporal templates, one component per source.

Each source (typically a drum: kick, snare, hi-hat) is one NMFD component with a template
of F bins by T frames and a row of activations; the mixture magnitude ``V`` (channels side
by side, see :meth:`ComponentSeparationBase.magnitude`) is explained as
``sum_k sum_tau W[k, :, tau] H[k, n - tau]`` by :func:`sepkit.decomposition.nmfd`, and every
component's model becomes an alpha-Wiener mask (Smaragdis 2004; Dittmar & Mueller 2016).
Templates can be learned from one-shot samples (:meth:`NMFD.templates_from_samples`) or be
harmonic combs (:meth:`NMFD.pitched_templates`); activations can come from onset
annotations (:func:`~sepkit.separation.nmf.onsets.onset_activations`).
"""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np

from ...core import AudioSignal, SeparationError, STFTParams
from ...core.stft import num_frames as _num_frames
from ...decomposition import convolutive_model, nmfd
from ..base import validate_stft_params
from .base import (
    ComponentSeparationBase,
    validate_beta,
    validate_flag,
    validate_int,
    validate_nonneg,
    validate_seed,
)
from .onsets import DRUM_CLASSES, onset_activations, read_drum_onsets
from .score import comb_templates

__all__ = ["NMFD"]

#: Peak level of every one-shot sample before its template is learned (as libnmfd).
ONE_SHOT_PEAK = 0.99


def _nonneg_array(name, value, ndim, what) -> np.ndarray:
    """A private float64 copy of a finite nonnegative real array of ``ndim`` dimensions."""
    try:
        A = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise SeparationError(f"{name} must be an array of real numbers {what}, got {type(value).__name__}") from None
    if A.ndim != ndim:
        raise SeparationError(f"{name} must be a {ndim}-D array {what}, got shape {A.shape}")
    if A.size == 0:
        raise SeparationError(f"{name} must not be empty, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise SeparationError(f"{name} contains {int(np.sum(~np.isfinite(A)))} NaN or infinite values")
    if A.min() < 0:
        raise SeparationError(f"{name} must be nonnegative, got a minimum of {A.min()!r}")
    return A


def _check_labels_match(what, keys, labels):
    """Raise unless ``keys`` (of a dict argument) are exactly ``labels``, naming the differences."""
    unknown = [k for k in keys if k not in labels]
    missing = [k for k in labels if k not in keys]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown key(s) {unknown}")
        if missing:
            parts.append(f"missing {missing}")
        raise SeparationError(f"{what} must have one entry per source {labels}: {' and '.join(parts)}")


class NMFD(ComponentSeparationBase):
    """Convolutive NMF (NMF deconvolution) separator, one component per source (drums).

    The mixture magnitude spectrogram ``V`` (F bins, N frames, the C channels side by side:
    ``(F, C * N)``) is factorised by :func:`sepkit.decomposition.nmfd` into K 2-D templates
    ``W[k]`` (F x T) and activations ``H[k]``. Component k's model
    ``Lam_k[:, n] = sum_tau W[k, :, tau] H[k, n - tau]`` is source k, and the masks are the
    alpha-Wiener ratios ``M_k = Lam_k**alpha / sum_j Lam_j**alpha`` (or, with
    ``mask_type='binary'``, the arg-max), so soft estimates add up to the mixture.

    Informed variants (Dittmar & Mueller 2016, libnmfd's drum demos):

    * templates learned from one-shot samples of each drum (:meth:`templates_from_samples`),
      kept fixed (``fix_W=True``) or refined;
    * activations from onset annotations: a unit impulse at the onset frames of each class
      then the NEMA decay (:func:`~sepkit.separation.nmf.onsets.onset_activations`); zeros
      stay zero under multiplicative updates, so a component can only sound at or after an
      annotated onset of its class;
    * harmonic comb templates from MIDI pitches (``templates='pitched'``, see
      :meth:`pitched_templates`).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, ``(n_channels, n_samples)``; never modified.
    num_components : int, optional
        Number of components K, which is also the number of sources. Default: the number of
        templates, activations, pitches or labels given, else 3. Must agree with them if given.
    templates : dict, array_like, 'pitched' or None
        Initial (or, with ``fix_W``, fixed) templates. A dict of label to ``(F, T)`` array
        (as returned by :meth:`templates_from_samples`; the labels name the sources); an
        array ``(K, F, T)`` in source order; ``'pitched'`` for harmonic combs of ``pitches`` repeated over
        the T frames; ``None`` for random templates (``seed``). F must be the mixture STFT's
        number of bins (``window_length // 2 + 1``).
    activations : dict, array_like, path or None
        Initial (or, with ``fix_H``, fixed) activations. A dict of label to onset times in
        seconds (onset-informed: :func:`~sepkit.separation.nmf.onsets.onset_activations`
        with ``decay=onset_decay`` and its default one-frame lead; build the array yourself
        for other choices); a path to an onset annotation
        file ``time<TAB>class`` (:func:`~sepkit.separation.nmf.onsets.read_drum_onsets` with
        ``onset_classes``); an array ``(K, N)`` with N the number of STFT frames of the
        mixture (used for every channel) or ``(K, C * N)`` (channels side by side), rows in
        source order (that of ``labels`` when given, else of the ``templates`` dict); ``None``
        for ones (libnmfd's ``'uniform'``).
    num_template_frames : int, optional
        Frames T per template: default the templates' frame count, else 8.
    n_iter : int, default 30
        Number of NMFD iterations.
    beta : float, default 1
        Beta-divergence of the fit (1 Kullback-Leibler, 2 Euclidean, 0 Itakura-Saito).
    sparsity : float, default 0
        Weight of an L1 penalty on the activations.
    uncorrelatedness : float, default 0
        Weight of libnmfd's template-uncorrelatedness penalty (see :func:`~sepkit.decomposition.nmfd`).
    fix_W, fix_H : bool, default False
        Keep the given templates / activations unchanged (they must be given).
    h_update : {'average', 'exact'}, default 'average'
        Activation update: libnmfd's average over taps (Smaragdis 2004) or the exact
        majorise-minimise ratio of sums.
    alpha : float, default 1.0
        Exponent of the alpha-Wiener masks (1 magnitude ratio, 2 power ratio).
    seed : int or numpy.random.Generator, optional
        Randomness of the default templates; the run is reproducible with an int seed.
    pitches : sequence of float or dict of str to float, optional
        MIDI pitches for ``templates='pitched'``, one component each (a dict names them;
        default labels ``'pitch_60'``, ...).
    onset_decay : float or dict of str to float, default 0.75
        NEMA decay in [0, 1) of onset-informed activations.
    onset_classes : dict of int to str, default ``{1: 'kick', 2: 'snare', 3: 'hihat'}``
        Class numbers of an onset annotation file.
    mask_type : {'soft', 'binary'}, default 'soft'
        Alpha-Wiener ratio masks, or the arg-max binary masks.
    stft_params : STFTParams, optional
        STFT parameters; ``None`` uses the mixture's (2048 / 512 sqrt-Hann at 44.1 kHz).
    labels : list of str, optional
        Source labels in component order. Default: the keys of the ``templates`` dict (else
        of ``activations`` or ``pitches``), else ``'component_0'``, ... With dict arguments
        the labels must be their keys (they then set the order).

    Attributes
    ----------
    initial_W : numpy.ndarray of float64, shape (K, F, T) or None
        Validated initial templates (a private copy), ``None`` for random ones.
    initial_H : numpy.ndarray of float64, shape (K, C * N) or None
        Validated initial activations, channels side by side.
    W : numpy.ndarray, shape (K, F, T)
        After :meth:`run`: the templates (unit sum each unless fixed).
    H : numpy.ndarray, shape (K, C * N)
        After :meth:`run`: the activations, channels side by side (``unfold(H)`` gives
        ``(K, N, C)``).
    costs : numpy.ndarray, shape (n_iter + 1,)
        After :meth:`run`: beta-divergence after the initialisation and every iteration.
    source_models : numpy.ndarray, shape (K, F, N, C)
        After :meth:`run`: each component's model magnitude spectrogram.
    result_masks : list of SoftMask or BinaryMask
        After :meth:`run`: one ``(F, N, C)`` mask per source.
    source_labels : list of str

    Raises
    ------
    SeparationError
        For a mixture of zero energy; templates or activations of the wrong shape (the
        message gives both the given shape and the mixture STFT's), negative or non-finite;
        dict keys that do not match each other or ``labels``; a fixed factor that is not
        given; or any invalid parameter.

    Examples
    --------
    >>> one_shots = {"kick": ["kick/rock005.flac"], "snare": ["snare/rock018.flac"],
    ...              "hihat": ["hihat/tama_036.flac"]}                       # doctest: +SKIP
    >>> templates = NMFD.templates_from_samples(one_shots, seed=0)          # doctest: +SKIP
    >>> kick, snare, hihat = NMFD(mix, templates=templates, seed=0)()       # doctest: +SKIP
    """

    DEFAULT_COMPONENTS = 3
    DEFAULT_TEMPLATE_FRAMES = 8

    def __init__(
        self,
        input_audio_signal,
        num_components=None,
        templates=None,
        activations=None,
        num_template_frames=None,
        n_iter=30,
        beta=1.0,
        sparsity=0.0,
        uncorrelatedness=0.0,
        fix_W=False,
        fix_H=False,
        h_update="average",
        alpha=1.0,
        seed=None,
        pitches=None,
        onset_decay=0.75,
        onset_classes=DRUM_CLASSES,
        mask_type="soft",
        stft_params=None,
        labels=None,
    ):
        if not isinstance(input_audio_signal, AudioSignal):
            raise SeparationError(f"NMFD needs an AudioSignal mixture, got {type(input_audio_signal).__name__}")
        mix = input_audio_signal
        params = validate_stft_params(stft_params, mix)
        F = params.n_freq
        N = _num_frames(mix.signal_length, params.hop_length)
        C = mix.num_channels
        if not np.any(mix.audio_data):
            raise SeparationError(f"the mixture {mix!r} has zero energy: there is nothing to separate")

        self.n_iter = validate_int("n_iter", n_iter, 0)
        self.beta = validate_beta(beta)
        self.sparsity = validate_nonneg("sparsity", sparsity)
        self.uncorrelatedness = validate_nonneg("uncorrelatedness", uncorrelatedness)
        self.fix_W = validate_flag("fix_W", fix_W)
        self.fix_H = validate_flag("fix_H", fix_H)
        if h_update not in ("average", "exact"):
            raise SeparationError(f"h_update must be 'average' or 'exact', got {h_update!r}")
        self.h_update = h_update
        self.seed = validate_seed(seed)
        if num_components is not None:
            num_components = validate_int("num_components", num_components)
        if num_template_frames is not None:
            num_template_frames = validate_int("num_template_frames", num_template_frames)
        if labels is not None:
            if isinstance(labels, str) or not hasattr(labels, "__iter__"):
                raise SeparationError(f"labels must be a list of strings, got {labels!r}")
            labels = [str(label) for label in labels]
            if len(set(labels)) != len(labels):
                raise SeparationError(f"labels must be distinct, got {labels}")

        # ---- templates: (names or None, array (K, F, T) or None) -------------------------
        t_names, W0, pitch_names = None, None, None
        if isinstance(templates, str):
            if templates != "pitched":
                raise SeparationError(
                    f"templates must be a dict of label to (F, T) array, an array (K, F, T), 'pitched' or None, "
                    f"got {templates!r}"
                )
            if pitches is None:
                raise SeparationError("templates='pitched' needs pitches= (MIDI pitch numbers, one per component)")
            combs = self.pitched_templates(
                pitches, mix.sample_rate, num_template_frames or self.DEFAULT_TEMPLATE_FRAMES, stft_params=params
            )
            W0 = np.stack(list(combs.values()))
            if isinstance(pitches, dict):
                t_names = list(combs)
            else:  # 'pitch_60', ... unless labels or activation keys name them
                pitch_names = list(combs)
        elif pitches is not None:
            raise SeparationError(f"pitches are used only with templates='pitched', got templates={templates!r}")
        elif isinstance(templates, dict):
            if not templates:
                raise SeparationError("templates is an empty dict: give one (F, T) template per source")
            t_names = [str(key) for key in templates]
            arrays = [
                _nonneg_array(f"templates[{key!r}]", value, 2, "(n_freq, n_template_frames)")
                for key, value in templates.items()
            ]
            shapes = {a.shape for a in arrays}
            if len(shapes) != 1:
                raise SeparationError(
                    f"all templates must have the same shape (n_freq, n_template_frames), got "
                    f"{ {key: a.shape for key, a in zip(t_names, arrays)} }"
                )
            W0 = np.stack(arrays)
        elif templates is not None:
            W0 = _nonneg_array("templates", templates, 3, "(n_components, n_freq, n_template_frames)")
        if W0 is not None:
            if W0.shape[1] != F:
                raise SeparationError(
                    f"templates have {W0.shape[1]} frequency bins (shape {W0.shape[1:]} per template) but the "
                    f"mixture STFT has {F} (window_length {params.window_length}); learn them with the same "
                    f"stft_params"
                )
            if not np.all(W0.reshape(W0.shape[0], -1).sum(axis=1) > 0):
                empty = [k for k in range(W0.shape[0]) if not W0[k].any()]
                raise SeparationError(f"templates {empty} are all zeros: a zero template can never be active")
            if num_template_frames is not None and W0.shape[2] != num_template_frames:
                raise SeparationError(
                    f"the templates have {W0.shape[2]} frames but num_template_frames={num_template_frames}"
                )
        T = W0.shape[2] if W0 is not None else (num_template_frames or self.DEFAULT_TEMPLATE_FRAMES)

        # ---- activations: (names or None, onsets dict or array) -------------------------
        a_names, onsets, H0 = None, None, None
        if isinstance(activations, (str, os.PathLike)):
            onsets = read_drum_onsets(activations, onset_classes)
        elif isinstance(activations, dict):
            if not activations:
                raise SeparationError("activations is an empty dict: give onset times (seconds) per source")
            onsets = {str(key): value for key, value in activations.items()}
        elif activations is not None:
            H0 = _nonneg_array("activations", activations, 2, "(n_components, n_frames)")
            if H0.shape[1] == N and C > 1:
                H0 = np.tile(H0, (1, C))
            elif H0.shape[1] != C * N:
                expected = f"{N}" if C == 1 else f"{N} (used for every channel) or {C * N} ({C} channels side by side)"
                raise SeparationError(
                    f"activations have {H0.shape[1]} frames (shape {H0.shape}) but the mixture STFT has "
                    f"{N} frames ({mix.signal_length} samples, hop {params.hop_length}): expected {expected}"
                )
        if onsets is not None:
            a_names = list(onsets)

        # ---- labels and K -----------------------------------------------------------------
        names = t_names if t_names is not None else a_names
        if t_names is not None and a_names is not None:
            _check_labels_match("activations", a_names, t_names)
        if labels is not None and names is not None:
            _check_labels_match("labels", labels, names)
            names = labels
        elif labels is not None:
            names = labels
        counts = {}
        if W0 is not None:
            counts["templates"] = W0.shape[0]
        if H0 is not None:
            counts["activations"] = H0.shape[0]
        if names is not None:
            counts["labels" if t_names is None and a_names is None else "keys"] = len(names)
        if num_components is not None:
            counts["num_components"] = num_components
        if len(set(counts.values())) > 1:
            raise SeparationError(f"the numbers of components disagree: {counts}")
        K = next(iter(counts.values())) if counts else self.DEFAULT_COMPONENTS
        if names is None:
            names = pitch_names or [f"component_{k}" for k in range(K)]

        # reorder dict-built factors to the label order
        if t_names is not None and t_names != names:
            W0 = W0[[t_names.index(name) for name in names]]
        if onsets is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                H_mono = onset_activations(
                    {name: onsets[name] for name in names},
                    N,
                    stft_params=params,
                    sample_rate=mix.sample_rate,
                    decay=onset_decay,
                )
            for w in caught:  # re-issued at the caller's line
                warnings.warn(w.message, w.category, stacklevel=2)
            if not H_mono.any():
                raise SeparationError("no onset falls inside the mixture: the activations would all be zero")
            H0 = np.tile(H_mono, (1, C))
        if self.fix_W and W0 is None:
            raise SeparationError("fix_W=True needs templates: pass templates= (dict, array or 'pitched')")
        if self.fix_H and H0 is None:
            raise SeparationError("fix_H=True needs activations: pass activations= (onsets, file or array)")

        super().__init__(mix, K, alpha=alpha, mask_type=mask_type, stft_params=params, labels=names)
        self.num_components = K
        self.num_template_frames = T
        self.initial_W = W0
        self.initial_H = H0
        self.W = None
        self.H = None
        self.costs = None

    def run(self):
        """Factorise the mixture magnitude with NMFD and build one mask per component.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``result_masks``, one ``(F, N, C)`` mask per source.
        """
        V = self.magnitude()
        W, H, costs = nmfd(
            V,
            n_components=self.num_components,
            n_template_frames=self.num_template_frames,
            n_iter=self.n_iter,
            beta=self.beta,
            W=self.initial_W,
            H=self.initial_H,
            sparsity=self.sparsity,
            uncorrelatedness=self.uncorrelatedness,
            fix_W=self.fix_W,
            fix_H=self.fix_H,
            h_update=self.h_update,
            seed=self.seed,
        )
        self.W, self.H, self.costs = W, H, costs
        # Channels sit side by side in V: convolve each channel's activations on their own,
        # so no template tail runs from the end of one channel into the next one's masks.
        N = self._shape[1]
        per_channel = [convolutive_model(W, H[:, c : c + N], per_component=True) for c in range(0, H.shape[1], N)]
        self.set_source_models(np.concatenate(per_channel, axis=-1))
        return self.result_masks

    # -- informed templates ----------------------------------------------------------------
    @classmethod
    def templates_from_samples(
        cls,
        samples,
        num_template_frames=8,
        stft_params=None,
        n_iter=30,
        seed=None,
        sample_rate=None,
    ) -> dict[str, np.ndarray]:
        """Learn one 2-D template per class from one-shot samples (libnmfd's drum recipe).

        For every class: each sample is made mono and peak-normalised to 0.99, the samples
        are concatenated, and an NMFD with one component and ``num_template_frames`` frames
        is run on the magnitude STFT of the result; its template, scaled to unit sum, is the
        class's template.

        Parameters
        ----------
        samples : dict of str to list of (AudioSignal or path)
            One-shot recordings per class label, e.g.
            ``{'kick': ['kick/rock005.wav', ...], 'snare': [...], 'hihat': [...]}``; a single
            signal or path per class is accepted too.
        num_template_frames : int, default 8
            Frames T of each template.
        stft_params : STFTParams, optional
            STFT parameters: use those of the mixture to separate (default: sepkit's, 2048 /
            512 sqrt-Hann at 44.1 kHz).
        n_iter : int, default 30
            NMFD iterations per class.
        seed : int or numpy.random.Generator, optional
            Randomness of the initial templates (one generator for all classes, in order).
        sample_rate : int, optional
            Rate at which the templates are learned (that of the mixture); samples at
            another rate are resampled. Default: the first sample's rate.

        Returns
        -------
        dict of str to numpy.ndarray of float64, shape (F, T)
            Unit-sum templates in the classes' order, F = ``window_length // 2 + 1``.

        Raises
        ------
        SeparationError
            For an empty dict or class, an item that is neither an AudioSignal nor a
            readable audio file, a silent sample, or invalid parameters.
        """
        if not isinstance(samples, dict) or not samples:
            raise SeparationError(
                f"samples must be a non-empty dict of class label to a list of one-shot signals or paths, "
                f"got {type(samples).__name__}"
            )
        T = validate_int("num_template_frames", num_template_frames)
        n_iter = validate_int("n_iter", n_iter, 0)
        seed = validate_seed(seed)
        rng = np.random.default_rng(seed)  # a Generator is used as is
        if stft_params is not None and not isinstance(stft_params, STFTParams):
            raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
        rate = None if sample_rate is None else validate_int("sample_rate", sample_rate)
        loaded = {}
        for label, items in samples.items():
            if isinstance(items, (AudioSignal, str, os.PathLike)):
                items = [items]
            try:
                items = list(items)
            except TypeError:
                raise SeparationError(
                    f"samples[{label!r}] must be a list of AudioSignals or paths, got {type(items).__name__}"
                ) from None
            if not items:
                raise SeparationError(f"samples[{label!r}] is empty: give at least one one-shot sample")
            signals = []
            for j, item in enumerate(items):
                if isinstance(item, (str, os.PathLike)):
                    item = AudioSignal(item)  # raises AudioIOError (a SepkitError) for unreadable files
                elif not isinstance(item, AudioSignal):
                    raise SeparationError(
                        f"samples[{label!r}][{j}] is a {type(item).__name__}, expected an AudioSignal or a path"
                    )
                if rate is None:
                    rate = item.sample_rate
                if not np.any(item.audio_data):
                    raise SeparationError(f"samples[{label!r}][{j}] ({item!r}) is silent: it has no template")
                signals.append(item)
            loaded[str(label)] = signals
        params = (stft_params or STFTParams()).resolve(rate)
        out = {}
        for label, signals in loaded.items():
            parts = []
            for sig in signals:
                mono = sig.to_mono().resample(rate).audio_data[0]
                parts.append(mono * (ONE_SHOT_PEAK / np.max(np.abs(mono))))
            joined = AudioSignal(np.concatenate(parts)[None, :], sample_rate=rate, stft_params=params)
            V = np.abs(joined.stft(params)[:, :, 0])
            W, _, _ = nmfd(V, n_components=1, n_template_frames=T, n_iter=n_iter, seed=rng)
            template = np.array(W[0], dtype=np.float64)
            out[str(label)] = template / template.sum()
        return out

    @classmethod
    def pitched_templates(
        cls,
        pitches,
        sample_rate,
        num_template_frames=8,
        stft_params=None,
        decay=None,
        num_harmonics=25,
        tolerance=0.75,
    ) -> dict[str, np.ndarray]:
        """Harmonic comb templates over T frames, one per MIDI pitch (pitch-informed NMFD).

        The comb of :func:`~sepkit.separation.nmf.score.comb_templates` (partials
        ``h = 1 .. num_harmonics`` at weight ``1 / h``, bands of +-``tolerance`` semitones,
        zero elsewhere) is repeated over the T frames, with frame ``tau`` weighted by
        ``decay ** tau`` if ``decay`` is given (a decaying note), and each template is scaled
        to unit sum. Zero bins stay zero under multiplicative updates.

        Parameters
        ----------
        pitches : sequence of float or dict of str to float
            MIDI pitches, one template each; a dict gives the labels (default
            ``'pitch_60'``, ``'pitch_60.5'``, ...).
        sample_rate : float
            Sample rate in Hz of the mixture.
        num_template_frames : int, default 8
            Frames T of each template.
        stft_params : STFTParams, optional
            STFT parameters (only the window length matters); default sepkit's.
        decay : float, optional
            Per-frame decay in (0, 1]; ``None`` is a flat template.
        num_harmonics : int, default 25
        tolerance : float, default 0.75
            Half-width of each partial's band, in semitones.

        Returns
        -------
        dict of str to numpy.ndarray of float64, shape (F, T)

        Raises
        ------
        SeparationError
            For bad or repeated pitches, a bad rate, decay or frame count.

        Examples
        --------
        >>> tpl = NMFD.pitched_templates([60, 64], 44100, num_template_frames=4)
        >>> {k: v.shape for k, v in tpl.items()}
        {'pitch_60': (1025, 4), 'pitch_64': (1025, 4)}
        """
        if isinstance(pitches, dict):
            if not pitches:
                raise SeparationError("pitches is an empty dict: give one MIDI pitch per component")
            names = [str(key) for key in pitches]
            values = list(pitches.values())
        else:
            if isinstance(pitches, (str, bytes)) or not hasattr(pitches, "__iter__"):
                raise SeparationError(f"pitches must be a sequence of MIDI pitches or a dict, got {pitches!r}")
            values = list(pitches)
            names = None
        T = validate_int("num_template_frames", num_template_frames)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real) or not 0 < sample_rate < np.inf:
            raise SeparationError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        if stft_params is not None and not isinstance(stft_params, STFTParams):
            raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
        params = (stft_params or STFTParams()).resolve(sample_rate)
        combs = comb_templates(values, sample_rate, params.window_length, num_harmonics, tolerance)
        p = np.asarray(values, dtype=np.float64)
        if len(set(p.tolist())) != p.size:
            raise SeparationError(f"pitches must be distinct (one component each), got {p.tolist()}")
        if names is None:
            names = [f"pitch_{x:g}" for x in p]
        if decay is None:
            weights = np.ones(T)
        else:
            if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 < decay <= 1:
                raise SeparationError(f"decay must be a number in (0, 1] or None, got {decay!r}")
            weights = float(decay) ** np.arange(T)
        out = {}
        for j, name in enumerate(names):
            template = combs[:, j : j + 1] * weights[None, :]
            out[name] = template / template.sum()
        return out
