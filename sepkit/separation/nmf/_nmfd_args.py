"""Parsing of :class:`~sepkit.separation.NMFD`'s arguments: templates, activations, labels.

Each function turns one group of user arguments into validated arrays and names, raising
:class:`~sepkit.SeparationError` with the given and the expected shapes.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ...core import SeparationError
from ...core.annotations import read_drum_onsets
from ...core.validation import check_array
from .onsets import onset_activations

__all__ = ["nonneg_array", "parse_templates", "parse_activations", "resolve_components", "onset_H"]


def nonneg_array(name, value, ndim, what) -> np.ndarray:
    """A private float64 copy of a finite nonnegative real array of ``ndim`` dimensions."""
    return check_array(name, value, ndim=ndim, dtype=np.float64, copy=True, nonneg=True, what=f"array {what}",
                       error=SeparationError)


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


def _dict_templates(templates):
    if not templates:
        raise SeparationError("templates is an empty dict: give one (F, T) template per source")
    names = [str(key) for key in templates]
    arrays = [nonneg_array(f"templates[{key!r}]", value, 2, "(n_freq, n_template_frames)")
              for key, value in templates.items()]
    if len({a.shape for a in arrays}) != 1:
        raise SeparationError(
            f"all templates must have the same shape (n_freq, n_template_frames), got "
            f"{ {key: a.shape for key, a in zip(names, arrays)} }"
        )
    return names, np.stack(arrays)


def parse_templates(templates, pitches, n_template_frames, params, F, pitched):
    """``(names or None, W0 (K, F, T) or None, pitch_names or None)`` from ``templates``.

    ``pitched(pitches, T)`` returns the comb templates of ``templates='pitched'`` as a dict.
    """
    names, W0, pitch_names = None, None, None
    if isinstance(templates, str):
        if templates != "pitched":
            raise SeparationError(
                f"templates must be a dict of label to (F, T) array, an array (K, F, T), 'pitched' or None, "
                f"got {templates!r}"
            )
        if pitches is None:
            raise SeparationError("templates='pitched' needs pitches= (MIDI pitch numbers, one per component)")
        combs = pitched(pitches, n_template_frames)
        W0 = np.stack(list(combs.values()))
        if isinstance(pitches, dict):
            names = list(combs)
        else:  # 'pitch_60', ... unless labels or activation keys name them
            pitch_names = list(combs)
    elif pitches is not None:
        raise SeparationError(f"pitches are used only with templates='pitched', got templates={templates!r}")
    elif isinstance(templates, dict):
        names, W0 = _dict_templates(templates)
    elif templates is not None:
        W0 = nonneg_array("templates", templates, 3, "(n_components, n_freq, n_template_frames)")
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
        if n_template_frames is not None and W0.shape[2] != n_template_frames:
            raise SeparationError(
                f"the templates have {W0.shape[2]} frames but n_template_frames={n_template_frames}"
            )
    return names, W0, pitch_names


def parse_activations(activations, onset_classes, mix, params, N, C):
    """``(onsets dict or None, H0 (K, C * N) or None)`` from ``activations``."""
    if isinstance(activations, (str, os.PathLike)):
        return read_drum_onsets(activations, onset_classes), None
    if isinstance(activations, dict):
        if not activations:
            raise SeparationError("activations is an empty dict: give onset times (seconds) per source")
        return {str(key): value for key, value in activations.items()}, None
    if activations is None:
        return None, None
    H0 = nonneg_array("activations", activations, 2, "(n_components, n_frames)")
    if H0.shape[1] == N and C > 1:
        H0 = np.tile(H0, (1, C))
    elif H0.shape[1] != C * N:
        expected = f"{N}" if C == 1 else f"{N} (used for every channel) or {C * N} ({C} channels side by side)"
        raise SeparationError(
            f"activations have {H0.shape[1]} frames (shape {H0.shape}) but the mixture STFT has "
            f"{N} frames ({mix.signal_length} samples, hop {params.hop_length}): expected {expected}"
        )
    return None, H0


def resolve_components(t_names, a_names, labels, W0, H0, n_components, pitch_names, default):
    """``(names, K)``: the source labels in component order and their number, all sources agreeing."""
    names = t_names if t_names is not None else a_names
    if t_names is not None and a_names is not None:
        _check_labels_match("activations", a_names, t_names)
    if labels is not None and names is not None:
        _check_labels_match("labels", labels, names)
    if labels is not None:
        names = labels
    counts = {}
    if W0 is not None:
        counts["templates"] = W0.shape[0]
    if H0 is not None:
        counts["activations"] = H0.shape[0]
    if names is not None:
        counts["labels" if t_names is None and a_names is None else "keys"] = len(names)
    if n_components is not None:
        counts["n_components"] = n_components
    if len(set(counts.values())) > 1:
        raise SeparationError(f"the numbers of components disagree: {counts}")
    K = next(iter(counts.values())) if counts else default
    if names is None:
        names = pitch_names or [f"component_{k}" for k in range(K)]
    return names, K


def onset_H(onsets, names, N, C, params, sample_rate, decay) -> np.ndarray:
    """Onset-informed activations (K, C * N) in the order of ``names``; warnings re-issued at the line that built the separator."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        H_mono = onset_activations({name: onsets[name] for name in names}, N, stft_params=params,
                                   sample_rate=sample_rate, decay=decay)
    for w in caught:  # re-issued at the line that built the separator
        warnings.warn(w.message, w.category, stacklevel=3)
    if not H_mono.any():
        raise SeparationError("no onset falls inside the mixture: the activations would all be zero")
    return np.tile(H_mono, (1, C))
