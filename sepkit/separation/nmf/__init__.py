"""The NMF family: separators that explain the magnitude spectrogram as nonnegative components.

- :class:`ComponentSeparationBase`: magnitudes in, grouped component models, alpha-Wiener masks out;
- :class:`NMF`: beta-NMF, blind (components grouped into sources), supervised (fixed
  per-source templates) or score-informed (comb templates, note-gated activations);
- :class:`NMFD`: convolutive NMF with 2-D templates (drums: one-shot templates, onsets);
- :class:`SNPA`: separable NMF, templates are frames of the mixture;
- helpers: :func:`onset_activations`; :func:`read_drum_onsets` (from
  :mod:`sepkit.core.annotations`, re-exported); nussl's NMF mixin (:mod:`.mixin`).
"""

from .base import ComponentSeparationBase
from .nmf import NMF
from .nmfd import NMFD
from .onsets import onset_activations, read_drum_onsets
from .snpa import SNPA

__all__ = [
    "ComponentSeparationBase",
    "NMF",
    "NMFD",
    "SNPA",
    "read_drum_onsets",
    "onset_activations",
]
