"""numba kernels of DictSep (harmonic dictionary learning and sparse pursuit), split by job.

- :mod:`~sepkit.kernels.dictsep.tones`: harmonic tones drawn on the log and linear axes,
  the loss of a frame and its gradients with respect to the tone parameters and the
  dictionary;
- :mod:`~sepkit.kernels.dictsep.peaks`: the candidate selectors (local maxima, matched
  filter, matched filter by FFT: numpy's FFT inside numba, which needs rocket-fft);
- :mod:`~sepkit.kernels.dictsep.lm`: the bounded Levenberg-Marquardt refit of harmonic tones;
- :mod:`~sepkit.kernels.dictsep.lm_peaks`: the local Levenberg-Marquardt refit of Gaussian peaks;
- :mod:`~sepkit.kernels.dictsep.logspect`: the peak pursuit of a linear frame and the
  log spectrogram over frames;
- :mod:`~sepkit.kernels.dictsep.pursuit`: the dictionary pursuit of log frames;
- :mod:`~sepkit.kernels.dictsep.learning`: bounded Adam and the training loop;
- :mod:`~sepkit.kernels.dictsep.synthesis`: linear model spectra and per-frame losses.

Pure functions on float64/int64 arrays; the validated front ends are in
:mod:`sepkit.separation.dictsep`. Per-frame kernels are serial; only the drivers over
frames or dictionaries (``*_into``, ``train_many``, ``linear_frames``, ``frame_losses``)
take a range ``[start, stop)`` and are compiled ``nogil``, to be run on threads by
:func:`sepkit.kernels.threaded.run_threaded` (a ``prange`` over such deep loop bodies cost
several times their compile time).
"""

from .learning import adam_b_step, train_many, train_one
from .lm import fit_tones
from .lm_peaks import fit_peaks_local
from .logspect import LOCAL_MAX_WIDTH, log_frames_into, pursue_peaks
from .peaks import best_match, best_match_fft, local_maxima, matched_filter, template_spectra
from .pursuit import B_MAX, pursue_frame, pursue_frames_into, pursue_tones, render_templates
from .synthesis import frame_losses, linear_frames
from .tones import DELTA, TRUNC, grad_dict_log, loss_grad_log, loss_log, render_lin, render_log

__all__ = [
    "TRUNC",
    "DELTA",
    "B_MAX",
    "LOCAL_MAX_WIDTH",
    "render_log",
    "render_lin",
    "loss_log",
    "loss_grad_log",
    "grad_dict_log",
    "local_maxima",
    "matched_filter",
    "best_match",
    "template_spectra",
    "best_match_fft",
    "fit_tones",
    "fit_peaks_local",
    "pursue_peaks",
    "log_frames_into",
    "render_templates",
    "pursue_tones",
    "pursue_frame",
    "pursue_frames_into",
    "adam_b_step",
    "train_one",
    "train_many",
    "linear_frames",
    "frame_losses",
]
