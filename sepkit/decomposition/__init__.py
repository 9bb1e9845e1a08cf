"""Array-level decompositions of nonnegative spectrograms, usable on their own.

- :func:`nmf`: beta-divergence NMF with multiplicative updates (fixed factors or some fixed
  templates, L1/L2 penalties, NNDSVDa / random / explicit initialisation), returning the
  cost history.
- :func:`nmfd`: convolutive NMF (NMFD) with 2-D templates, libnmfd's averaged or the exact
  activation update, sparsity and uncorrelatedness penalties; :func:`convolutive_model`.
- :func:`snpa`: separable NMF (SNPA or XRAY-greedy): templates are columns of the data;
  :func:`separable_init` makes it a start for multiplicative updates.
- :func:`hpss`: median-filtering harmonic/percussive separation with librosa's masks and
  margins (as ``librosa.decompose.hpss``).

Like :mod:`librosa.decompose`, these work on arrays (e.g. a magnitude spectrogram of shape
``(n_freq, n_frames)``), not on :class:`~sepkit.AudioSignal` objects; the separators in
:mod:`sepkit.separation` are built on them.
"""

from ._hpss import hpss
from ._nmf import nmf
from ._nmfd import convolutive_model, nmfd
from ._snpa import separable_init, snpa

__all__ = [
    "nmf",
    "nmfd",
    "convolutive_model",
    "snpa",
    "separable_init",
    "hpss",
]
