"""A learned DictSep dictionary with the analysis settings it belongs to.

A :class:`Dictionary` holds the ``(K, I)`` array of relative harmonic amplitudes (one
column per instrument, entries in ``[0, 1]``) together with everything needed to use it on
another recording: the sample rate and the front end (linear bins ``H``, hop, window
parameter), the log axis (bins ``M``, frequency range) and the tone model constants
(``p``, ``q``, the inharmonicity bound). :meth:`Dictionary.save` writes all of it to one
``.npz`` file, :meth:`Dictionary.load` reads it back bit for bit, and
:meth:`Dictionary.check_sample_rate` refuses a mixture of another sample rate (the log axis
and the peak widths are in bins, so a dictionary does not transfer across rates).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ...core.errors import SeparationError
from ...core.validation import check_choice, check_int, check_positive, check_real
from .frontend import HOP, SIGMAS, SPECT_HEIGHT
from .logspect import FMAX, FMIN, LOG_BINS
from .pursuit import B_MAX

__all__ = ["Dictionary"]

_FORMAT = "sepkit.dictsep.Dictionary"
_VERSION = 1
_FLOATS = ("sigmas", "fmin", "fmax", "p", "q", "b_max")
_INTS = ("sample_rate", "height", "hop", "n_bins")
#: The log-frequency spectrograms a dictionary can belong to.
SPECT_METHODS = ("pursuit", "mel")


class Dictionary:
    """Relative harmonic amplitudes of the instruments, with their analysis settings.

    Parameters
    ----------
    values : array_like, shape (K, I)
        ``values[h - 1, i]``: amplitude of harmonic ``h`` of instrument ``i`` relative to the
        tone amplitude; finite, in ``[0, 1]``, no all-zero column. Copied.
    sample_rate : int
        Sample rate (Hz) of the audio the dictionary was learned from.
    height : int
        Linear-frequency bins ``H`` of the Gaussian-window STFT (window length ``2H``).
    hop : int
        STFT hop in samples.
    sigmas : float
        Window parameter (standard deviation ``H / sigmas`` samples); peaks have width
        ``sigmas / pi`` bins.
    n_bins : int
        Log-frequency bins ``M``.
    fmin, fmax : float
        Frequency range of the log axis in Hz.
    p, q : float
        Partial-addition and loss compression exponents.
    b_max : float
        Upper bound of the inharmonicity.
    spect_method : {'pursuit', 'mel'}
        The log-frequency spectrogram the dictionary was learned on (see
        :class:`~sepkit.separation.dictsep.DictSep`); tones are wider on the ``'mel'`` axis.
    labels : sequence of str, optional
        One name per instrument; default ``'source_0'``, ``'source_1'``, ...
    loss : float, optional
        Total pursuit loss of the learning mixture with this dictionary (the blind seed
        choice of :class:`~sepkit.separation.dictsep.DictSep`), for information.

    Attributes
    ----------
    values : numpy.ndarray, shape (K, I)
        Read-only float64 array.
    harmonics, num_sources : int
        ``K`` and ``I``.

    Examples
    --------
    >>> d = Dictionary(np.ones((25, 2)), 44100)
    >>> d.save("timbre.npz")                                 # doctest: +SKIP
    >>> Dictionary.load("timbre.npz").num_sources            # doctest: +SKIP
    2
    """

    def __init__(self, values, sample_rate, *, height=SPECT_HEIGHT, hop=HOP, sigmas=SIGMAS,
                 n_bins=LOG_BINS, fmin=FMIN, fmax=FMAX, p=1.0, q=0.5, b_max=B_MAX,
                 spect_method="pursuit", labels=None, loss=None):
        arr = np.asarray(values)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1 or arr.dtype.kind not in "biuf":
            raise SeparationError(
                f"dictionary values must be a real array of shape (harmonics, sources), got {arr.dtype} {arr.shape}"
            )
        arr = np.array(arr, dtype=np.float64, order="C", copy=True)
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
            raise SeparationError(
                f"dictionary values must be finite and in [0, 1], got range "
                f"[{float(np.nanmin(arr))!r}, {float(np.nanmax(arr))!r}]"
            )
        zero = np.flatnonzero(arr.max(axis=0) == 0)
        if zero.size:
            raise SeparationError(f"dictionary has all-zero columns {zero.tolist()}; every source needs a harmonic")
        arr.setflags(write=False)
        self._values = arr
        self.sample_rate = check_int("sample_rate", sample_rate, 1, error=SeparationError)
        self.height = check_int("height", height, 2, error=SeparationError)
        self.hop = check_int("hop", hop, 1, error=SeparationError)
        self.n_bins = check_int("n_bins", n_bins, 2, error=SeparationError)
        self.sigmas = check_positive("sigmas", sigmas, error=SeparationError)
        self.fmin = check_positive("fmin", fmin, error=SeparationError)
        self.fmax = check_positive("fmax", fmax, error=SeparationError)
        if not self.fmin < self.fmax:
            raise SeparationError(f"fmin must be below fmax, got fmin={fmin!r}, fmax={fmax!r}")
        self.p = check_positive("p", p, error=SeparationError)
        self.q = check_positive("q", q, error=SeparationError)
        self.b_max = check_positive("b_max", b_max, error=SeparationError)
        self.spect_method = check_choice("spect_method", spect_method, SPECT_METHODS, case_sensitive=True,
                                         error=SeparationError)
        if labels is None:
            labels = [f"source_{j}" for j in range(arr.shape[1])]
        labels = [str(label) for label in labels]
        if len(labels) != arr.shape[1]:
            raise SeparationError(f"expected {arr.shape[1]} labels (one per column), got {len(labels)}")
        self.labels = labels
        if loss is not None:
            loss = check_real("loss", loss, error=SeparationError)
        self.loss = loss

    @property
    def values(self) -> np.ndarray:
        """The ``(K, I)`` array (read-only)."""
        return self._values

    @property
    def harmonics(self) -> int:
        """Harmonics per tone ``K``."""
        return self._values.shape[0]

    @property
    def num_sources(self) -> int:
        """Instruments ``I`` (columns)."""
        return self._values.shape[1]

    def metadata(self) -> dict:
        """The analysis settings and tone model constants, as a dict of plain numbers."""
        out = {name: getattr(self, name) for name in _INTS + _FLOATS}
        out["spect_method"] = self.spect_method
        out["harmonics"] = self.harmonics
        return out

    def with_labels(self, labels) -> "Dictionary":
        """The same dictionary and settings with other column labels (e.g. after matching sources)."""
        settings = {name: value for name, value in self.metadata().items() if name != "harmonics"}
        return Dictionary(self._values, labels=labels, loss=self.loss, **settings)

    def check_sample_rate(self, sample_rate: int) -> None:
        """Raise :class:`~sepkit.core.errors.SeparationError` unless ``sample_rate`` is the dictionary's."""
        if int(sample_rate) != self.sample_rate:
            raise SeparationError(
                f"the dictionary was learned at {self.sample_rate} Hz but the mixture is at {sample_rate} Hz; "
                f"resample the mixture to {self.sample_rate} Hz (the log axis and peak widths are in bins)"
            )

    def save(self, path) -> str:
        """Write the dictionary and its metadata to a ``.npz`` file.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; ``.npz`` is appended if missing (as :func:`numpy.savez` does).

        Returns
        -------
        str
            The path written.
        """
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        fields = {name: np.asarray(getattr(self, name)) for name in _INTS + _FLOATS}
        np.savez(
            path,
            values=self._values,
            labels=np.asarray(self.labels, dtype=np.str_),
            loss=np.asarray(np.nan if self.loss is None else self.loss),
            format=np.asarray(_FORMAT),
            version=np.asarray(_VERSION),
            spect_method=np.asarray(self.spect_method),
            **fields,
        )
        return path

    @classmethod
    def load(cls, path) -> "Dictionary":
        """Read a dictionary written by :meth:`save`.

        Raises
        ------
        SeparationError
            If the file is not a sepkit DictSep dictionary or misses a field.
        """
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                content = {key: data[key] for key in data.files}
        except (OSError, ValueError) as err:
            raise SeparationError(f"cannot read a DictSep dictionary from {path!r}: {err}") from None
        if str(content.get("format", "")) != _FORMAT:
            raise SeparationError(f"{path!r} is not a sepkit DictSep dictionary (no format tag {_FORMAT!r})")
        if int(content.get("version", -1)) > _VERSION:
            raise SeparationError(f"{path!r} has dictionary format version {int(content['version'])}, "
                                  f"this sepkit reads up to {_VERSION}")
        missing = [key for key in ("values", "labels") + _INTS + _FLOATS if key not in content]
        if missing:
            raise SeparationError(f"{path!r} misses the dictionary fields {missing}")
        loss = float(content["loss"]) if "loss" in content else math.nan
        kwargs = {name: int(content[name]) for name in _INTS}
        kwargs.update({name: float(content[name]) for name in _FLOATS})
        kwargs["spect_method"] = str(content.get("spect_method", "pursuit"))  # files from before the mel variant
        return cls(content["values"], labels=[str(s) for s in content["labels"]],
                   loss=None if math.isnan(loss) else loss, **kwargs)

    def __eq__(self, other):
        if not isinstance(other, Dictionary):
            return NotImplemented
        return (self.metadata() == other.metadata() and self.labels == other.labels
                and np.array_equal(self._values, other._values))

    __hash__ = None

    def __repr__(self) -> str:
        return (f"Dictionary(harmonics={self.harmonics}, sources={self.num_sources}, "
                f"sample_rate={self.sample_rate}, labels={self.labels})")
