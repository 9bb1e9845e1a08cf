"""Evaluation: BSS Eval v3/v4, scale-invariant and gain-only metrics, a resumable
harness that scales out on Dask, and reports.

Every metric function takes references and estimates (lists of
:class:`~sepkit.AudioSignal`, or arrays ``(n_sources, n_channels, n_samples)``) and
returns :class:`Scores`; estimates are matched to references with the Hungarian
algorithm when ``compute_permutation=True``.
"""

from .bss_eval import (
    bss_eval_images,
    bss_eval_images_framewise,
    bss_eval_sources,
    bss_eval_sources_framewise,
    bss_eval_v4,
)
from .bss_eval_gain import bss_eval_gain
from .common import Scores, assign
from .harness import EvaluationSummary, evaluate
from .registry import METRICS, register_metric
from .report import Report, report
from .scale_invariant import scale_invariant, si_sdr, si_sdr_matched, si_sdr_signals

__all__ = [
    "bss_eval_v4",
    "bss_eval_sources",
    "bss_eval_sources_framewise",
    "bss_eval_images",
    "bss_eval_images_framewise",
    "bss_eval_gain",
    "scale_invariant",
    "si_sdr",
    "si_sdr_signals",
    "si_sdr_matched",
    "Scores",
    "assign",
    "evaluate",
    "EvaluationSummary",
    "report",
    "Report",
    "METRICS",
    "register_metric",
]
