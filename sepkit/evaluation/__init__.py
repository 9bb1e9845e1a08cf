"""Evaluation metrics."""

from .scale_invariant import si_sdr, si_sdr_signals

__all__ = ["si_sdr", "si_sdr_signals"]
