"""Kernels of determined multichannel blind source separation (AuxIVA, ILRMA, FastMNMF2).

Layout shared by every kernel of this package (sepkit's STFT layout, converted once by the
caller into C-contiguous complex128 arrays):

- ``X``: the mixture STFT, shape ``(n_freq, n_frames, n_chan)``;
- ``W``: the demixing matrices, shape ``(n_freq, n_src, n_chan)``, whose **rows** are
  ``w_s^H``, so that ``y_ft = W_f x_ft``;
- ``Y``: the demixed STFT, shape ``(n_freq, n_frames, n_src)``.

(pyroomacoustics puts frames first, ``(n_frames, n_freq, n_chan)``; its ``W`` has the same
layout as here.)

- :mod:`sepkit.kernels.bss.ip`: the iterative-projection (IP) row update on small
  Hermitian matrices, shared by AuxIVA, ILRMA and FastMNMF2.
- :mod:`sepkit.kernels.bss.iva`: AuxIVA (Laplace and Gauss spherical priors).
- :mod:`sepkit.kernels.bss.ilrma`: ILRMA (IS-NMF source model + IP).
- :mod:`sepkit.kernels.bss.projection`: demixing and projection back (minimal distortion).
- :mod:`sepkit.kernels.bss.fastmnmf2`: FastMNMF2 (joint diagonaliser, NMF, Wiener images).

Nothing is imported here, so importing the package compiles nothing; import the modules.
"""
