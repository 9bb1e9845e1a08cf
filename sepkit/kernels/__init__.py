"""numba kernels shared by separators and metrics: pure functions on arrays.

- :mod:`sepkit.kernels.stft`: windowed framing and overlap-add of the STFT.
- :mod:`sepkit.kernels.masks`: ideal-mask terms, ratio normalisation, masking, alpha-Wiener
  masks over grouped components.
- :mod:`sepkit.kernels.wiener`: soft masks and the multichannel Wiener EM.
- :mod:`sepkit.kernels.nmf`: beta-divergence multiplicative updates and costs.
- :mod:`sepkit.kernels.nmfd`: shift stacks, shift-accumulation and the NEMA decay of
  convolutive NMF.
- :mod:`sepkit.kernels.snpa`: simplex projection, fast projected gradient and residual
  norms of separable NMF.
- :mod:`sepkit.kernels.bss_eval`: correlations, Gram matrices and energies of BSS Eval.

Every kernel is compiled with ``cache=True`` on first use; importing :mod:`sepkit`
compiles nothing.
"""
