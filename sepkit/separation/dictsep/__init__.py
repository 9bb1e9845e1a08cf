"""DictSep building blocks: sparse pursuit on a shift-invariant log-frequency spectrogram.

This subpackage implements the building blocks of the harmonic dictionary separator of
Schulze & King (EURASIP J. Audio Speech Music Process. 2021:6), after the public Musisep
code (``notes/dictsep.md``):

- :class:`DictSep` (:mod:`~sepkit.separation.dictsep.separator`): the separator (learning,
  blind seed choice, pursuit, linear spectra, masks, resynthesis) and :meth:`DictSep.fit`;
- :class:`Dictionary` (:mod:`~sepkit.separation.dictsep.dictionary`): a learned dictionary
  with its analysis settings, saved and loaded as ``.npz``;

and its building blocks:

- :mod:`~sepkit.separation.dictsep.frontend`: the Gaussian-window STFT
  (:func:`gaussian_stft`) and its least-squares inverse (:func:`gaussian_istft`);
- :mod:`~sepkit.separation.dictsep.models`: the tones drawn on the linear axis
  (:func:`linear_spectra`) and their ratio masks (:func:`ratio_masks`);
- :mod:`~sepkit.separation.dictsep.logspect`: the pursuit-based log-frequency spectrogram
  (:func:`log_spectrogram`), parallel over frames;
- :mod:`~sepkit.separation.dictsep.pursuit`: the dictionary pursuit of log frames
  (:func:`pursue_frames`, :func:`build_templates`), parallel over frames;
- :mod:`~sepkit.separation.dictsep.learning`: dictionary learning with bounded Adam and
  column renewal (:func:`train_dictionaries`, :func:`random_dictionary`), seeds in parallel;
- :mod:`~sepkit.separation.dictsep.synthetic`: the two-instrument smoke-test signal.

These modules are drivers: they check arguments and call the numba kernels of
:mod:`sepkit.kernels.dictsep` (tones, selectors, FFT, Levenberg-Marquardt solvers,
pursuits, training), where every jitted function lives.

Shapes follow the notes: a magnitude spectrogram is ``(H, n_frames)`` (mono), a log
spectrogram ``(M, n_frames)``, a dictionary ``(K, C)`` (harmonics x instruments).
"""

from .dictionary import Dictionary
from .frontend import gaussian_istft, gaussian_stft, gaussian_window, peak_sigma
from .logspect import log_axis_lambda, log_frequencies, log_spectrogram
from .learning import random_dictionary, train_dictionaries
from .pursuit import build_templates, pursue_frames
from .models import linear_spectra, ratio_masks
from .separator import DictSep
from .synthetic import synthetic_parts

__all__ = [
    "DictSep",
    "Dictionary",
    "linear_spectra",
    "ratio_masks",
    "gaussian_stft",
    "gaussian_istft",
    "gaussian_window",
    "peak_sigma",
    "log_spectrogram",
    "log_axis_lambda",
    "log_frequencies",
    "build_templates",
    "pursue_frames",
    "random_dictionary",
    "train_dictionaries",
    "synthetic_parts",
]

from ..registry import DemoRow, register  # noqa: E402  (the registration, next to the class)

register(
    "dictsep", DictSep,
    "DictSep, fast mode: harmonic dictionary learned from the mixture, sparse pursuit "
    "(44.1 kHz material; about 3 s of computing per second of audio on 2 cores)",
    needs=("num_sources",), defaults={"mode": "fast", "verbose": False}, evaluate=False,
    demo=(DemoRow("duet", "DictSep blind (fast, 4 x 2000 steps)", {"n_iter": 2000, "num_dicts": 4}, blind=True,
                  order=10),),
    quick={"n_iter": 20, "lifetime": 20, "num_dicts": 2},
)
