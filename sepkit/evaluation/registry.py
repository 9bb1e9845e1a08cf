"""Names of metrics, for the harness and the command line.

Metrics are looked up by name and imported only when first used, so that ``import
sepkit.evaluation.registry`` stays light. Separation methods by name live in
:mod:`sepkit.separation.presets`.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Callable

from ..core import EvaluationError

__all__ = [
    "MetricSpec",
    "METRICS",
    "register_metric",
    "get_metric",
]


@dataclass(frozen=True)
class MetricSpec:
    """A metric function, by dotted path or as a callable.

    Attributes
    ----------
    name : str
        Short name, used as the key of the metric in result files.
    target : str or callable
        ``'package.module:function'`` (imported on first use) or the function itself. The
        function is called as ``f(references, estimates, compute_permutation=...,
        [sample_rate=...], [mixture=...], **kwargs)`` (``sample_rate`` only if the
        function takes it) and returns a :class:`~sepkit.evaluation.common.Scores`.
    needs_mixture : bool
        Pass the mixture as ``mixture=`` (metrics that measure improvements).
    kwargs : dict
        Extra keyword arguments of every call (e.g. ``{'window': 1.0}``).
    """

    name: str
    target: object
    needs_mixture: bool = False
    kwargs: dict = field(default_factory=dict)

    def resolve(self) -> Callable:
        """Import and return the metric function.

        Raises
        ------
        EvaluationError
            If the module or the function cannot be imported.
        """
        if callable(self.target):
            return self.target
        module_name, _, attribute = str(self.target).partition(":")
        try:
            module = importlib.import_module(module_name)
            return functools.reduce(getattr, attribute.split("."), module) if attribute else module
        except (ImportError, AttributeError) as err:
            raise EvaluationError(f"metric {self.name!r} ({self.target}) is not available: {err}") from None

    def with_kwargs(self, **kwargs) -> "MetricSpec":
        """A copy with more keyword arguments."""
        return MetricSpec(self.name, self.target, self.needs_mixture, {**self.kwargs, **kwargs})


#: Metric name -> :class:`MetricSpec`. ``scale_invariant`` needs the mixture (for the
#: improvements SI-SDRi, SD-SDRi, SNRi).
METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("scale_invariant", "sepkit.evaluation.scale_invariant:scale_invariant", needs_mixture=True),
        MetricSpec("bss_eval_v4", "sepkit.evaluation.bss_eval:bss_eval_v4"),
        MetricSpec("bss_eval_sources", "sepkit.evaluation.bss_eval:bss_eval_sources"),
        MetricSpec("bss_eval_images", "sepkit.evaluation.bss_eval:bss_eval_images"),
        MetricSpec("bss_eval_gain", "sepkit.evaluation.bss_eval_gain:bss_eval_gain"),
    )
}


def register_metric(name: str, target, needs_mixture: bool = False, **kwargs) -> MetricSpec:
    """Add (or replace) a metric of :data:`METRICS`.

    Parameters
    ----------
    name : str
        Name of the metric.
    target : str or callable
        ``'package.module:function'`` or the function (see :class:`MetricSpec`).
    needs_mixture : bool
        Pass the mixture as ``mixture=``.
    **kwargs
        Keyword arguments of every call.

    Returns
    -------
    MetricSpec
    """
    if not isinstance(name, str) or not name:
        raise EvaluationError(f"a metric name must be a non-empty string, got {name!r}")
    if not callable(target) and not (isinstance(target, str) and target):
        raise EvaluationError(f"metric {name!r}: target must be a callable or 'module:function', got {target!r}")
    spec = MetricSpec(name, target, bool(needs_mixture), dict(kwargs))
    METRICS[name] = spec
    return spec


def get_metric(metric) -> MetricSpec:
    """A :class:`MetricSpec` from a name of :data:`METRICS`, a ``'module:function'``
    path, a callable or a spec.

    Raises
    ------
    EvaluationError
        For an unknown name (the message lists the known ones).
    """
    if isinstance(metric, MetricSpec):
        return metric
    if callable(metric):
        return MetricSpec(getattr(metric, "__name__", "metric"), metric)
    if isinstance(metric, str) and metric in METRICS:
        return METRICS[metric]
    if isinstance(metric, str) and ":" in metric:
        return MetricSpec(metric.rpartition(":")[2], metric)
    raise EvaluationError(f"unknown metric {metric!r}: expected one of {sorted(METRICS)} or 'module:function'")
