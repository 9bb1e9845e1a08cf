"""The registry of separators: one entry per method name, from which everything else derives.

Each separator module registers its methods once, next to the class::

    register(
        "repet", Repet, "repeating background and non-repeating foreground (REPET)",
        needs=(), demo=(DemoRow("loop", "Repet"),),
    )

The CLI's method list, help text and argument checks (``sepkit separate``), the
evaluation presets (``sepkit evaluate``, :func:`sepkit.separation.presets.default_separators`),
the rows of ``sepkit demo`` and the methods table of the documentation are all read
from here. A separator's parameters are read from the object (its ``get_params()``),
never written down a second time.

>>> from sepkit.separation import available, get_separator
>>> "ibm" in available()
True
>>> get_separator("ibm").oracle
True
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

from ..core import AudioSignal, SeparationError

__all__ = [
    "NEEDS",
    "Inputs",
    "DemoRow",
    "SeparatorEntry",
    "register",
    "unregister",
    "available",
    "get_separator",
    "entries",
]

#: What a separator may need from the user, with the CLI flag that provides it.
NEEDS = {
    "num_sources": "--num-sources N",
    "references": "--references FILE [FILE ...] (the true sources)",
    "estimates": "--estimates FILE [FILE ...] (source estimates to refine)",
    "score": "--score CSV (a notes file)",
    "samples": "--samples DIR (one sub-folder of one-shot samples per source)",
    "onsets": "--onsets FILE (onset annotations)",
    "multichannel": "a mixture with at least two channels",
}


@dataclass
class Inputs:
    """What a user (the CLI, the harness, the demo) can give a separator besides its parameters.

    Attributes
    ----------
    num_sources : int or None
        Number of sources to estimate.
    references : dict of str to AudioSignal, or list of AudioSignal, or None
        The true sources (oracle methods).
    estimates : list of AudioSignal or None
        Source estimates to refine (post-filters such as the Wiener filter).
    score : str, path or list of notes, or None
        A notes file (``stem, onset_s, offset_s, midi_pitch`` columns) or notes.
    samples : dict of str to list of AudioSignal or paths, or None
        One-shot samples per source (drum templates).
    onsets : str, path or dict of str to array, or None
        Onset annotations.
    seed : int, numpy.random.Generator or None
        Seed of stochastic separators.
    """

    num_sources: int | None = None
    references: object = None
    estimates: object = None
    score: object = None
    samples: object = None
    onsets: object = None
    seed: object = 0

    def has(self, need: str, mix=None) -> bool:
        """Whether ``need`` (a key of :data:`NEEDS`) is satisfied for the mixture ``mix``."""
        if need == "multichannel":
            return getattr(mix, "num_channels", 0) >= 2
        return getattr(self, need) is not None

    def only(self, names) -> "Inputs":
        """A copy keeping only the inputs named in ``names`` (and the seed)."""
        kept = {name: getattr(self, name) for name in names if name != "multichannel"}
        return Inputs(**kept, seed=self.seed)


@dataclass(frozen=True)
class DemoRow:
    """One row of ``sepkit demo``.

    Attributes
    ----------
    scene : str
        The demo table it belongs to (:data:`sepkit.demo.SCENES`): ``'chorale'`` (4 voices,
        mono), ``'stereo'`` (the same stems panned), ``'duet'`` (violin + clarinet),
        ``'drums'`` (the bundled drum loop), ``'loop'`` (looped accompaniment + melody),
        ``'drums_voice'`` (drums + clarinet), ``'spatial'`` (violin + clarinet panned and
        delayed in stereo), ``'room'`` (violin + clarinet, two microphones in a simulated room).
    label : str
        Name printed in the table.
    params : dict
        Parameters overriding the entry's defaults for this row.
    use : tuple of str or None
        Inputs this row gives the separator (keys of :data:`NEEDS`); None: all the scene has.
    blind : bool
        Whether estimates come in no particular order (they are matched to the sources).
    order : int
        Position in its table (rows sort by it, then by registration).
    """

    scene: str
    label: str
    params: dict = field(default_factory=dict)
    use: tuple | None = None
    blind: bool = False
    order: int = 50


def _default_arguments(entry, inputs: "Inputs") -> dict:
    """Constructor arguments for a plain entry: each need passed under the argument of the same name."""
    names = entry.cls._param_names()
    kwargs = {}
    for need in entry.flat_needs:
        if need == "multichannel":
            continue
        argument = entry.argument_names.get(need, need)
        if argument in names:
            kwargs[argument] = getattr(inputs, need)
    if "seed" in names and inputs.seed is not None:
        kwargs["seed"] = inputs.seed
    return kwargs


@dataclass(frozen=True)
class SeparatorEntry:
    """A registered separator.

    Attributes
    ----------
    name : str
        The CLI and preset name (``sepkit separate --method NAME``).
    cls : type
        The separator class (a :class:`~sepkit.separation.SeparationBase`).
    description : str
        One line for listings.
    needs : tuple
        What the method needs (keys of :data:`NEEDS`); an element that is a tuple lists
        alternatives, any one of which suffices (``(("samples", "num_sources"),)``).
    oracle : bool
        Whether the method uses the true sources.
    defaults : dict
        Parameters the entry sets beyond the class's own defaults (e.g. ``approach='ibm'``).
    argument_names : dict
        Constructor argument receiving each need when it is not the need's own name
        (``{'references': 'sources'}``).
    arguments : callable or None
        ``arguments(mix, inputs) -> dict`` of constructor arguments, for entries whose inputs need
        preparing (NMFD learns templates from ``samples``); default: each need by name.
    demo : tuple of DemoRow
        Its rows in ``sepkit demo``.
    evaluate : bool
        Whether ``sepkit evaluate`` runs it when no ``--methods`` are given (slow methods opt out).
    quick : dict
        Parameters for a quick run on a short excerpt: the demo's warm-up (numba compilation)
        and the registry tests. They must exercise the same kernels as the defaults.
    """

    name: str
    cls: type
    description: str
    needs: tuple = ()
    oracle: bool = False
    defaults: dict = field(default_factory=dict)
    argument_names: dict = field(default_factory=dict)
    arguments: Callable | None = None
    demo: tuple = ()
    evaluate: bool = True
    quick: dict = field(default_factory=dict)

    @property
    def page(self) -> str:
        """The method's docs page, ``methods/<class name in snake case>`` (``DictSep``: ``methods/dict_sep``)."""
        name = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", self.cls.__name__)
        return "methods/" + name.lower()

    @property
    def flat_needs(self) -> list[str]:
        """Every need named, alternatives included."""
        out = []
        for need in self.needs:
            out.extend(need if isinstance(need, tuple) else (need,))
        return out

    def needs_text(self) -> str:
        """The needs as the CLI flags that satisfy them, e.g. ``--num-sources N``."""
        parts = []
        for need in self.needs:
            alternatives = need if isinstance(need, tuple) else (need,)
            parts.append(" or ".join(NEEDS[a].split(" (")[0] for a in alternatives))
        return ", ".join(parts) or "nothing"

    def missing(self, inputs: Inputs, mix=None) -> list[str]:
        """The needs that ``inputs`` (and the mixture) do not satisfy, as text."""
        out = []
        for need in self.needs:
            alternatives = need if isinstance(need, tuple) else (need,)
            if not any(inputs.has(a, mix) for a in alternatives):
                out.append(" or ".join(NEEDS[a] for a in alternatives))
        return out

    def parameters(self) -> dict:
        """The default parameters of the method: the class's signature defaults, then the entry's."""
        signature = inspect.signature(self.cls.__init__)
        inputs = {self.argument_names.get(n, n) for n in self.flat_needs}
        params = {
            name: p.default
            for name, p in list(signature.parameters.items())[2:]
            if p.default is not p.empty and name not in inputs and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        params.update(self.defaults)
        return params

    def build(self, mix, inputs: Inputs | None = None, **params):
        """Instantiate the separator on ``mix``.

        Parameters
        ----------
        mix : AudioSignal
            The mixture.
        inputs : Inputs or None
            What the user gives (number of sources, references, ...).
        **params
            Parameters overriding the entry's defaults.

        Returns
        -------
        SeparationBase
            The separator, not yet run.

        Raises
        ------
        SeparationError
            If ``mix`` is not an AudioSignal; naming what is missing (as the CLI flag that
            provides it) when ``inputs`` lack a need.
        """
        if not isinstance(mix, AudioSignal):
            raise SeparationError(f"{self.name}: the mixture must be an AudioSignal, got {type(mix).__name__} {_short(mix)}")
        inputs = inputs or Inputs()
        missing = self.missing(inputs, mix)
        if missing:
            raise SeparationError(f"{self.name} needs {'; and '.join(missing)}")
        kwargs = self.arguments(mix, inputs) if self.arguments else _default_arguments(self, inputs)
        known = self.cls._param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise SeparationError(
                f"{self.name} ({self.cls.__name__}) has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters: {', '.join(known)}"
            )
        kwargs = {**self.defaults, **kwargs, **params}
        return self.cls(mix, **kwargs)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_REGISTRY: dict[str, SeparatorEntry] = {}


def register(name: str, cls: type, description: str, **fields) -> SeparatorEntry:
    """Register a separator under ``name`` (see :class:`SeparatorEntry` for the fields).

    Raises
    ------
    SeparationError
        If ``name`` is taken by another class, or ``cls`` is not a separator.
    """
    from .base import SeparationBase

    if not (isinstance(cls, type) and issubclass(cls, SeparationBase)):
        raise SeparationError(f"register({name!r}, ...) needs a SeparationBase subclass, got {cls!r}")
    entry = SeparatorEntry(name, cls, description, **fields)
    for need in entry.flat_needs:
        if need not in NEEDS:
            raise SeparationError(f"unknown need {need!r} of {name!r}: expected one of {sorted(NEEDS)}")
    previous = _REGISTRY.get(name)
    if previous is not None and previous.cls is not cls:
        raise SeparationError(f"separator name {name!r} is already registered for {previous.cls.__name__}")
    _REGISTRY[name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (for tests and interactive experiments).

    Raises
    ------
    SeparationError
        For an unknown name.
    """
    get_separator(name)
    del _REGISTRY[name]


def available() -> list[str]:
    """Names of every registered separator, in registration order."""
    return list(_REGISTRY)


def entries() -> list[SeparatorEntry]:
    """Every registered entry, in registration order."""
    return list(_REGISTRY.values())


def get_separator(name: str) -> SeparatorEntry:
    """The registry entry of ``name``.

    Raises
    ------
    SeparationError
        For an unknown name, listing the known ones.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise SeparationError(f"unknown separator {name!r}: expected one of {', '.join(available())}") from None
