"""Numba kernels of Wiener filtering: soft masks, the multichannel EM, model stacking.

Two modules: :mod:`~sepkit.kernels.wiener.masking` (soft masks, magnitudes with the
mixture phase, model stacking, largest modulus) and :mod:`~sepkit.kernels.wiener.em`
(the simplified multichannel EM, fused with the initial estimate, and the local
Gaussian model). The array API over them, in norbert's frames-first layout, is
:mod:`sepkit.filtering`.

Layout everywhere: frequency first, sources last, as in the rest of sepkit:

* ``x`` mixture STFT, complex128, ``(n_freq, n_frames, n_channels)`` -- any memory
  order (the Fortran-ordered array of :meth:`AudioSignal.stft`, or a transposed view
  of a frames-first array, is read as it is);
* ``v`` source models (``|S_j| ** alpha``) or magnitudes, float64,
  ``(n_freq, n_frames, n_model_channels, n_sources)`` with ``n_model_channels`` 1 or
  ``n_channels``, any memory order (C-contiguous reads fastest);
* ``y`` source STFT estimates, complex128, ``(n_freq, n_frames, n_channels, n_sources)``,
  C-contiguous when written.

Compression (``compress > 0``) is the logistic "binarisation" of the filter with
threshold ``compress`` and slope ``slope``: applied per channel to soft masks, and to
the scalar gain ``g_j = tr(W_j) / n_channels`` of a multichannel filter ``W_j``, which is
rescaled to ``W_j * h_j / (eps + g_j)``. ``h_j = logistic(g_j)``, or with
``renormalize`` ``h_j = logistic(g_j) * sum_k g_k / (eps + sum_k logistic(g_k))`` so the
compressed gains keep their total.

Nothing here allocates more than per-bin scratch; nothing mutates an input but the
documented output arrays.
"""

from .em import em_refine, local_gaussian_model, wiener_em
from .masking import magnitude_phase, max_abs, softmask, stack_models

__all__ = ["softmask", "magnitude_phase", "em_refine", "wiener_em", "local_gaussian_model", "stack_models", "max_abs"]
