"""Separation methods by name, with their parameters: what ``sepkit evaluate`` and the
recipes run.

A :class:`Method` is a factory ``factory(mix, sources) -> separator`` plus the
parameters written into every result file. Factories are module-level functions (or
:func:`functools.partial` of them), so methods can be sent to worker processes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from .benchmark import HighLowPassFilter, IdealMask, MixAsEstimate, WienerFilter
from .nmf import NMF, NMFD, SNPA

__all__ = ["Method", "default_separators"]


@dataclass(frozen=True)
class Method:
    """A separation method for the harness.

    Attributes
    ----------
    factory : callable
        ``factory(mix, sources)`` returns a separator: any object whose call with no
        argument returns the estimates (a list of :class:`~sepkit.AudioSignal`), such
        as ``IdealMask(mix, sources)``. ``sources`` is the item's dict of true sources
        (label to signal): oracle methods use it, blind methods may read only its length.
        Use module-level functions (or :func:`functools.partial` of them) so the method
        can be sent to worker processes.
    params : dict
        JSON-serialisable parameters, written into every result file.
    description : str
        One line for listings.
    oracle : bool
        Whether the method uses the true sources.
    """

    factory: Callable
    params: dict = field(default_factory=dict)
    description: str = ""
    oracle: bool = False

    def __call__(self, mix, sources):
        return self.factory(mix, sources)


def _ideal_mask(mix, sources, **params):
    return IdealMask(mix, sources, **params)


class _Chain:
    """Run ``first`` and refine its estimates with ``second(mix, estimates)``."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __call__(self):
        return self.second(self.first())()


def _wiener_on_ideal_mask(mix, sources, approach="ibm", iterations=1):
    return _Chain(IdealMask(mix, sources, approach=approach), lambda est: WienerFilter(mix, est, iterations=iterations))


def _mix_as_estimate(mix, sources):
    return MixAsEstimate(mix, num_sources=len(sources))


def _high_low_pass(mix, sources, cutoff_hz=150.0):
    return HighLowPassFilter(mix, cutoff_hz=cutoff_hz)


def _blind_nmf(mix, sources, **params):
    return NMF(mix, len(sources), **params)


def _snpa(mix, sources, **params):
    return SNPA(mix, len(sources), **params)


def _blind_nmfd(mix, sources, **params):
    return NMFD(mix, num_components=len(sources), **params)


def default_separators() -> dict[str, Method]:
    """Every separator of :mod:`sepkit.separation` with standard parameters.

    Returns
    -------
    dict of str to Method
        ``'ibm'``, ``'irm-msa'``, ``'irm-psa'`` (:class:`~sepkit.separation.IdealMask`,
        oracle), ``'wiener-ibm'`` (one multichannel Wiener EM iteration refining the
        IBM, oracle), the blind ``'nmf'`` (KL-NMF, 8 components per source, MFCC +
        k-means grouping), ``'snpa'`` (separable NMF + 100 KL-NMF iterations) and
        ``'nmfd'`` (one NMFD component per source, for drums), ``'mix-as-estimate'`` and
        ``'high-low-pass'`` (150 Hz), the lower baselines. Blind methods get the number of
        sources from the item and seed 0; their estimates are matched to the references by
        the metrics. The names are those of ``sepkit separate --method``.
    """
    methods = {}
    for approach, text in (
        ("ibm", "ideal binary mask (oracle)"),
        ("irm-msa", "ideal ratio mask, magnitude approximation (oracle)"),
        ("irm-psa", "ideal ratio mask, phase-sensitive, truncated (oracle)"),
    ):
        methods[approach] = Method(
            functools.partial(_ideal_mask, approach=approach),
            {"class": "IdealMask", "approach": approach},
            text,
            oracle=True,
        )
    methods["wiener-ibm"] = Method(
        functools.partial(_wiener_on_ideal_mask, approach="ibm", iterations=1),
        {"class": "WienerFilter", "iterations": 1, "estimates": {"class": "IdealMask", "approach": "ibm"}},
        "multichannel Wiener filter, 1 EM iteration, refining the ideal binary mask (oracle)",
        oracle=True,
    )
    methods["nmf"] = Method(
        functools.partial(_blind_nmf, seed=0),
        {"class": "NMF", "beta": 1.0, "n_iter": 200, "components_per_source": 8, "grouping": "mfcc-kmeans",
         "seed": 0},
        "blind KL-NMF, 8 components per source grouped by MFCC + k-means",
    )
    methods["snpa"] = Method(
        functools.partial(_snpa, refine_iter=100, seed=0),
        {"class": "SNPA", "variant": "snpa", "refine_iter": 100, "components_per_source": 8, "seed": 0},
        "separable NMF (mixture frames as templates) refined by 100 KL-NMF iterations",
    )
    methods["nmfd"] = Method(
        functools.partial(_blind_nmfd, seed=0),
        {"class": "NMFD", "n_iter": 30, "num_template_frames": 8, "components_per_source": 1, "seed": 0},
        "blind NMFD, one convolutive component per source (drum-like material)",
    )
    methods["mix-as-estimate"] = Method(
        _mix_as_estimate, {"class": "MixAsEstimate"}, "every estimate is the mixture, once per source (lower baseline)"
    )
    methods["high-low-pass"] = Method(
        functools.partial(_high_low_pass, cutoff_hz=150.0),
        {"class": "HighLowPassFilter", "cutoff_hz": 150.0},
        "split the spectrum at 150 Hz into 2 estimates (lower baseline)",
    )
    return methods
