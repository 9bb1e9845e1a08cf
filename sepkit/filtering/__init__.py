"""Wiener filtering on arrays: norbert's API, names, arguments and shapes.

The functions of norbert 0.2.1 (``norbert.wiener``, ``softmask``,
``expectation_maximization``, ... and its ``contrib`` helpers), with the same names,
arguments, defaults and **frames-first** shapes, so ``import sepkit.filtering as norbert``
runs norbert code unchanged:

========  ==================================================  ===========================
array     shape                                               meaning
========  ==================================================  ===========================
``x``     (n_frames, n_bins, n_channels), complex             mixture STFT
``v``     (n_frames, n_bins, {1 or n_channels}, n_sources)    source models, >= 0
``y``     (n_frames, n_bins, n_channels, n_sources), complex  source STFT estimates
EM ``v``  (n_frames, n_bins, n_sources)                       source PSDs
``R``     (n_bins, n_channels, n_channels, n_sources)         spatial covariance matrices
========  ==================================================  ===========================

(sepkit's own STFTs are ``(n_freq, n_frames, n_channels)``: pass
``numpy.swapaxes(stft, 0, 1)``, a view, and swap the result back.)

The heavy functions (:func:`wiener`, :func:`softmask`, :func:`expectation_maximization`)
run on the numba kernels of :mod:`sepkit.kernels.wiener` in double precision, on
transposed views of the inputs; the building blocks (:func:`wiener_gain`,
:func:`apply_filter`, :func:`get_mix_model`) are numpy (BLAS) contractions.

Differences from norbert 0.2.1 (see ``docs/filtering.rst``):

* no input is ever changed (norbert divides ``x`` in place in :func:`wiener` when
  ``max|x| > 10``, and overwrites ``y`` in :func:`expectation_maximization`);
* arguments are checked (:class:`~sepkit.SeparationError`, naming the bad value);
  with ``eps=0`` a singular mixture covariance raises instead of returning NaN;
* computation is in float64/complex128; a complex64 mixture gives complex64 estimates;
* where norbert 0.2.1 is wrong, sepkit computes what its documentation describes:
  ``softmask(logit=...)`` (a ``TypeError`` in norbert), :func:`compress_filter` (a
  ``ValueError`` in norbert), :func:`residual_model` (residual from the scaled models),
  :func:`smooth` and :func:`reduce_interferences` (blur over time and frequency only;
  threshold and slope honoured).
"""

from ._blocks import apply_filter, get_local_gaussian_model, get_mix_model, wiener_gain
from ._contrib import compress_filter, reduce_interferences, residual_model, smooth
from ._wiener import expectation_maximization, softmask, wiener

__all__ = [
    "wiener",
    "softmask",
    "expectation_maximization",
    "wiener_gain",
    "apply_filter",
    "get_mix_model",
    "get_local_gaussian_model",
    "residual_model",
    "reduce_interferences",
    "compress_filter",
    "smooth",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
