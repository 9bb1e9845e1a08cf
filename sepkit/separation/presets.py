"""Separation methods by name, with their parameters: what ``sepkit evaluate`` and the
recipes run, derived from the registry (:mod:`sepkit.separation.registry`).

A :class:`Method` is a factory ``factory(mix, sources) -> separator`` plus the
parameters written into every result file. Factories are module-level functions (or
:func:`functools.partial` of them), so methods can be sent to worker processes.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core import SeparationError
from .registry import Inputs, entries, get_separator

__all__ = ["Method", "default_separators", "registry_method", "evaluation_inputs"]

#: Needs that the harness can satisfy from a dataset item (see :func:`evaluation_inputs`).
_EVALUABLE = {"num_sources", "references", "estimates", "multichannel"}


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


def _notes_beside(mix, sources):
    """Notes of the item's sources from ``notes.csv`` in the mixture's folder, or None."""
    if not mix.path:
        return None
    path = os.path.join(os.path.dirname(os.fspath(mix.path)), "notes.csv")
    if not os.path.isfile(path):
        return None
    from ..core.annotations import read_notes

    return [note for note in read_notes(path) if note.stem in sources]


def evaluation_inputs(mix, sources, needs=("num_sources", "references"), seed=0) -> Inputs:
    """What the harness gives a separator on one dataset item.

    The number of sources and the true sources come from the item; ``estimates`` (for
    post-filters such as the Wiener filter) are the ideal binary mask's estimates, so a
    method that needs them is an oracle in an evaluation; ``score`` is read from a
    ``notes.csv`` beside the mixture (the chorale layout), when there is one. Only the
    inputs named in ``needs`` are computed.

    Parameters
    ----------
    mix : AudioSignal
        The item's mixture.
    sources : dict of str to AudioSignal
        The item's true sources.
    needs : sequence of str
        The inputs to compute (keys of :data:`~sepkit.separation.registry.NEEDS`).
    seed : int
        Seed of stochastic separators.
    """
    inputs = Inputs(num_sources=len(sources), references=sources, seed=seed)
    if "estimates" in needs:
        from .benchmark import IdealMask

        inputs.estimates = IdealMask(mix, sources, approach="ibm")()
    if "score" in needs:
        inputs.score = _notes_beside(mix, sources)
    return inputs


def _build(name, mix, sources, **params):
    entry = get_separator(name)
    return entry.build(mix, evaluation_inputs(mix, sources, entry.flat_needs), **params)


def _jsonable(value):
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def registry_method(name: str, **params) -> Method:
    """The harness method of a registered separator, with optional parameter overrides.

    Parameters
    ----------
    name : str
        A name of :func:`sepkit.separation.available`.
    **params
        Parameters overriding the entry's defaults.

    Returns
    -------
    Method
        Its factory builds the separator with :func:`evaluation_inputs` (seed 0).
    """
    entry = get_separator(name)
    unmet = [n for n in entry.needs if not set(n if isinstance(n, tuple) else (n,)) & (_EVALUABLE | {"score"})]
    if unmet:
        raise SeparationError(f"{name} needs {entry.needs_text()}, which a dataset item cannot give")
    unknown = sorted(set(params) - set(entry.cls._param_names()))
    if unknown:
        raise SeparationError(f"{name} ({entry.cls.__name__}) has no parameter {', '.join(map(repr, unknown))}")
    values = {"class": entry.cls.__name__, **entry.parameters(), **params}
    if "seed" in entry.cls._param_names():
        values["seed"] = 0
    if "estimates" in entry.flat_needs:
        values["estimates"] = {"class": "IdealMask", "approach": "ibm"}
    oracle = entry.oracle or "estimates" in entry.flat_needs
    description = entry.description + (" (on the IBM estimates: oracle)" if "estimates" in entry.flat_needs else "")
    return Method(functools.partial(_build, name, **params), _jsonable(values), description, oracle=oracle)


def default_separators() -> dict[str, Method]:
    """Every registered separator that a dataset item can feed, with its registered defaults.

    Returns
    -------
    dict of str to Method
        One method per registry entry whose needs a dataset item satisfies (the number of
        sources, the true sources, estimates from the ideal binary mask) and that is not
        marked slow (``evaluate=False``, e.g. DictSep, which can still be run by name).
        Blind methods get the number of sources from the item and seed 0; their estimates are
        matched to the references by the metrics. The names are those of
        ``sepkit separate --method``.
    """
    methods = {}
    for entry in entries():
        if not entry.evaluate:
            continue
        if all(set(n if isinstance(n, tuple) else (n,)) & _EVALUABLE for n in entry.needs):
            methods[entry.name] = registry_method(entry.name)
    return methods
