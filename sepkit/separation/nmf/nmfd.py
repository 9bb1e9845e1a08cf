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

import os

import numpy as np

from ...core import AudioSignal, SeparationError, STFTParams
from ...core.annotations import DRUM_CLASSES
from ...core.stft import num_frames as _num_frames
from ...core.validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonneg,
    check_positive,
    check_seed,
    default_rng,
    is_real,
)
from ...decomposition import convolutive_model, nmfd
from ..base import validate_stft_params
from ._nmfd_args import onset_H, parse_activations, parse_templates, resolve_components
from .base import ComponentSeparationBase, validate_beta
from .score import comb_templates
from ..registry import DemoRow, register

__all__ = ["NMFD"]

#: Peak level of every one-shot sample before its template is learned (as libnmfd).
ONE_SHOT_PEAK = 0.99


def _check_labels(labels):
    """``labels`` as a list of distinct strings (or None)."""
    if labels is None:
        return None
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise SeparationError(f"labels must be a list of strings, got {labels!r}")
    labels = [str(label) for label in labels]
    if len(set(labels)) != len(labels):
        raise SeparationError(f"labels must be distinct, got {labels}")
    return labels


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
    n_components : int, optional
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
    n_template_frames : int, optional
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
    templates, activations : numpy.ndarray, 'pitched' or None
        The arguments as ``__init__`` accepts them again (:meth:`get_params`): the
        validated initial templates ``(K, F, T)`` and activations ``(K, C * N)`` in label
        order (``'pitched'`` for comb templates, rebuilt from ``pitches``).
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
        n_components=None,
        templates=None,
        activations=None,
        n_template_frames=None,
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
        F, N, C = params.n_freq, _num_frames(mix.signal_length, params.hop_length), mix.num_channels
        if not np.any(mix.audio_data):
            raise SeparationError(f"the mixture {mix!r} has zero energy: there is nothing to separate")
        self._check_scalars(n_iter, beta, sparsity, uncorrelatedness, fix_W, fix_H, h_update, seed)
        if n_components is not None:
            n_components = check_int("n_components", n_components, 1, error=SeparationError)
        if n_template_frames is not None:
            n_template_frames = check_int("n_template_frames", n_template_frames, 1, error=SeparationError)
        labels = _check_labels(labels)

        def pitched(p, T):
            return self.pitched_templates(p, mix.sample_rate, T or self.DEFAULT_TEMPLATE_FRAMES, stft_params=params)

        t_names, W0, pitch_names = parse_templates(templates, pitches, n_template_frames, params, F, pitched)
        T = W0.shape[2] if W0 is not None else (n_template_frames or self.DEFAULT_TEMPLATE_FRAMES)
        onsets, H0 = parse_activations(activations, onset_classes, mix, params, N, C)
        names, K = resolve_components(t_names, None if onsets is None else list(onsets), labels, W0, H0,
                                      n_components, pitch_names, self.DEFAULT_COMPONENTS)
        if t_names is not None and t_names != names:  # dict-built templates in the label order
            W0 = W0[[t_names.index(name) for name in names]]
        if onsets is not None:
            H0 = onset_H(onsets, names, N, C, params, mix.sample_rate, onset_decay)
        if self.fix_W and W0 is None:
            raise SeparationError("fix_W=True needs templates: pass templates= (dict, array or 'pitched')")
        if self.fix_H and H0 is None:
            raise SeparationError("fix_H=True needs activations: pass activations= (onsets, file or array)")

        super().__init__(mix, K, alpha=alpha, mask_type=mask_type, stft_params=params, labels=names)
        self.n_components = K
        self.n_template_frames = T
        self.initial_W = W0
        self.initial_H = H0
        # the arguments in a form __init__ accepts again (get_params): arrays in label order
        self.pitches = None if pitches is None else (dict(pitches) if isinstance(pitches, dict) else list(pitches))
        self.templates = "pitched" if isinstance(templates, str) else W0
        self.activations = H0
        self.onset_decay = dict(onset_decay) if isinstance(onset_decay, dict) else onset_decay
        self.onset_classes = onset_classes
        self.W = None
        self.H = None
        self.costs = None

    def _check_scalars(self, n_iter, beta, sparsity, uncorrelatedness, fix_W, fix_H, h_update, seed):
        E = SeparationError
        self.n_iter = check_int("n_iter", n_iter, 0, error=E)
        self.beta = validate_beta(beta)
        self.sparsity = check_nonneg("sparsity", sparsity, error=E)
        self.uncorrelatedness = check_nonneg("uncorrelatedness", uncorrelatedness, error=E)
        self.fix_W = check_bool("fix_W", fix_W, error=E)
        self.fix_H = check_bool("fix_H", fix_H, error=E)
        self.h_update = check_choice("h_update", h_update, ("average", "exact"), case_sensitive=True, error=E)
        self.seed = check_seed(seed, error=E)

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
            n_components=self.n_components,
            n_template_frames=self.n_template_frames,
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
        n_template_frames=8,
        stft_params=None,
        n_iter=30,
        seed=None,
        sample_rate=None,
    ) -> dict[str, np.ndarray]:
        """Learn one 2-D template per class from one-shot samples (libnmfd's drum recipe).

        For every class: each sample is made mono and peak-normalised to 0.99, the samples
        are concatenated, and an NMFD with one component and ``n_template_frames`` frames
        is run on the magnitude STFT of the result; its template, scaled to unit sum, is the
        class's template.

        Parameters
        ----------
        samples : dict of str to list of (AudioSignal or path)
            One-shot recordings per class label, e.g.
            ``{'kick': ['kick/rock005.wav', ...], 'snare': [...], 'hihat': [...]}``; a single
            signal or path per class is accepted too.
        n_template_frames : int, default 8
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
        T = check_int("n_template_frames", n_template_frames, 1, error=SeparationError)
        n_iter = check_int("n_iter", n_iter, 0, error=SeparationError)
        rng = default_rng(seed, error=SeparationError)  # a Generator is used as is
        if stft_params is not None and not isinstance(stft_params, STFTParams):
            raise SeparationError(f"stft_params must be an STFTParams or None, got {stft_params!r}")
        rate = None if sample_rate is None else check_int("sample_rate", sample_rate, 1, error=SeparationError)
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
        n_template_frames=8,
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
        n_template_frames : int, default 8
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
        >>> tpl = NMFD.pitched_templates([60, 64], 44100, n_template_frames=4)
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
        T = check_int("n_template_frames", n_template_frames, 1, error=SeparationError)
        check_positive("sample_rate (Hz)", sample_rate, error=SeparationError)
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
            if not is_real(decay) or not 0 < decay <= 1:
                raise SeparationError(f"decay must be a number in (0, 1] or None, got {decay!r}")
            weights = float(decay) ** np.arange(T)
        out = {}
        for j, name in enumerate(names):
            template = combs[:, j : j + 1] * weights[None, :]
            out[name] = template / template.sum()
        return out


def _nmfd_arguments(mix, inputs):
    """NMFD: templates learned from one-shot ``samples`` (else blind, one component per source)."""
    kwargs = {"seed": inputs.seed, "activations": inputs.onsets}
    if inputs.samples is not None:
        kwargs["templates"] = NMFD.templates_from_samples(inputs.samples, stft_params=mix.stft_params,
                                                          seed=inputs.seed)
    else:
        kwargs["n_components"] = inputs.num_sources
    return kwargs


register(
    "nmfd", NMFD,
    "NMFD, one component per drum: templates from --samples, activations from --onsets "
    "(both optional; blind with --num-sources)",
    needs=(("samples", "num_sources"),), arguments=_nmfd_arguments, quick={"n_iter": 2},
    demo=(
        DemoRow("drums", "NMFD one-shot templates + onsets", use=("samples", "onsets"), order=0),
        DemoRow("drums", "NMFD one-shot templates", use=("samples",), order=1),
        DemoRow("drums", "NMFD blind (3 components)", use=("num_sources",), blind=True, order=2),
    ),
)
