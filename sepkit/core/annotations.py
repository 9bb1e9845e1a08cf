"""Annotations read from files: note lists (scores) and drum onsets.

Readers and parsers only, with no separation logic, so that :mod:`sepkit.datasets` and the
separators share them without ``datasets`` importing ``separation``:

- :func:`read_notes` / :func:`notes_by_stem`: a score as a list of :class:`Note` (stem,
  onset and offset in seconds, MIDI pitch, voice), from a CSV file such as the chorales'
  ``notes.csv`` (columns ``stem, voice, onset_s, offset_s, midi_pitch, ...``) or rows in
  memory;
- :func:`read_drum_onsets`: onset times in seconds per drum class from an annotation file
  with one hit per line, ``time_in_seconds<TAB>class`` (libnmfd's ``*Drums.txt``; classes
  :data:`DRUM_CLASSES`).

Errors are :class:`~sepkit.SeparationError` (the readers were first written for the NMF
family's score- and onset-informed modes, and their callers catch that class).
"""

from __future__ import annotations

import csv
import math
import os
import types
from typing import NamedTuple

import numpy as np

from .errors import SeparationError
from .validation import is_int

__all__ = [
    "Note",
    "REQUIRED_COLUMNS",
    "read_notes",
    "notes_by_stem",
    "DRUM_CLASSES",
    "read_drum_onsets",
]

#: Columns every note must have (others, e.g. ``pitch_name`` or ``velocity``, are ignored).
REQUIRED_COLUMNS = ("stem", "onset_s", "offset_s", "midi_pitch")


class Note(NamedTuple):
    """One note of a score.

    Attributes
    ----------
    stem : str
        The source (instrument) that plays the note, e.g. ``'violin'``.
    onset_s, offset_s : float
        Start and end in seconds, ``0 <= onset_s < offset_s``.
    midi_pitch : float
        MIDI pitch (69 is A4 = 440 Hz); fractional values are allowed.
    voice : str
        Optional voice name (``''`` when absent).
    """

    stem: str
    onset_s: float
    offset_s: float
    midi_pitch: float
    voice: str = ""


def _number(value, what: str, where: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SeparationError(f"{where}: {what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise SeparationError(f"{where}: {what} must be finite, got {value!r}")
    return x


def _note_from_row(row, where: str) -> Note:
    if isinstance(row, Note):
        stem, onset, offset, pitch, voice = row.stem, row.onset_s, row.offset_s, row.midi_pitch, row.voice
    elif isinstance(row, dict):
        missing = [c for c in REQUIRED_COLUMNS if c not in row or row[c] in (None, "")]
        if missing:
            raise SeparationError(f"{where}: missing {missing}; every note needs the columns {list(REQUIRED_COLUMNS)}")
        stem, onset, offset, pitch = (row[c] for c in REQUIRED_COLUMNS)
        voice = row.get("voice") or ""
    else:
        raise SeparationError(
            f"{where}: a note must be a dict with the keys {list(REQUIRED_COLUMNS)} or a Note, "
            f"got {type(row).__name__}"
        )
    stem = str(stem).strip()
    if not stem:
        raise SeparationError(f"{where}: the stem name is empty")
    onset = _number(onset, "onset_s", where)
    offset = _number(offset, "offset_s", where)
    pitch = _number(pitch, "midi_pitch", where)
    if onset < 0:
        raise SeparationError(f"{where}: onset_s must be >= 0, got {onset!r}")
    if not offset > onset:
        raise SeparationError(f"{where}: offset_s ({offset!r}) must be after onset_s ({onset!r})")
    if not 0 <= pitch <= 127:
        raise SeparationError(f"{where}: midi_pitch must lie in [0, 127], got {pitch!r}")
    return Note(stem, onset, offset, pitch, str(voice).strip())


def read_notes(path_or_rows) -> list[Note]:
    """Read and validate a score: a CSV file of notes or rows already in memory.

    Parameters
    ----------
    path_or_rows : str or os.PathLike or iterable of dict or Note
        A CSV file with a header line and at least the columns ``stem``, ``onset_s``,
        ``offset_s`` and ``midi_pitch`` (optional ``voice``; other columns are ignored),
        such as the chorales' ``notes.csv``; or an iterable of such rows as dicts, or of
        :class:`Note`.

    Returns
    -------
    list of Note
        In the given order.

    Raises
    ------
    SeparationError
        If the file cannot be read, a column is missing, the score is empty, or a note has
        a non-numeric or non-finite time or pitch, a negative onset, an offset not after
        its onset, or a pitch outside [0, 127]. The message names the file, the row and
        the value.

    Examples
    --------
    >>> notes = read_notes([{"stem": "violin", "onset_s": 0.2, "offset_s": 0.9, "midi_pitch": 72}])
    >>> notes[0].midi_pitch
    72.0
    """
    if isinstance(path_or_rows, (str, os.PathLike)):
        path = os.fspath(path_or_rows)
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                header = reader.fieldnames or []
                header = [h.strip() for h in header]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise SeparationError(
                        f"notes file {path!r} lacks the columns {missing} (header: {header}); "
                        f"expected at least {list(REQUIRED_COLUMNS)}"
                    )
                rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
        except OSError as exc:
            raise SeparationError(f"cannot read the notes file {path!r}: {exc}") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SeparationError(f"notes file {path!r} is not a readable CSV file: {exc}") from None
        name = f"notes file {path!r}"
        # row numbers as in the file (line 1 is the header)
        notes = [_note_from_row(row, f"{name}, line {i + 2}") for i, row in enumerate(rows)]
    else:
        if isinstance(path_or_rows, (bytes, dict)) or not hasattr(path_or_rows, "__iter__"):
            raise SeparationError(
                f"notes must be a CSV path or an iterable of note rows, got {type(path_or_rows).__name__}"
            )
        name = "notes"
        notes = [_note_from_row(row, f"notes[{i}]") for i, row in enumerate(path_or_rows)]
    if not notes:
        raise SeparationError(f"{name} holds no note: a score needs at least one")
    return notes


def notes_by_stem(notes) -> dict[str, list[Note]]:
    """Group notes by stem, stems in order of first appearance.

    Parameters
    ----------
    notes : anything :func:`read_notes` accepts

    Returns
    -------
    dict of str to list of Note
    """
    out: dict[str, list[Note]] = {}
    for note in read_notes(notes):
        out.setdefault(note.stem, []).append(note)
    return out


#: Class numbers of libnmfd's ``*Drums.txt`` annotations and the labels sepkit gives them.
DRUM_CLASSES = types.MappingProxyType({1: "kick", 2: "snare", 3: "hihat"})


def _check_classes(classes) -> dict[int, str]:
    if not isinstance(classes, (dict, types.MappingProxyType)) or not classes:
        raise SeparationError(
            f"classes must be a non-empty dict of class number to label, e.g. {dict(DRUM_CLASSES)}, got {classes!r}"
        )
    out = {}
    for number, label in classes.items():
        if not is_int(number):
            raise SeparationError(f"class numbers must be integers, got {number!r} in {classes!r}")
        if not isinstance(label, str) or not label:
            raise SeparationError(f"class labels must be non-empty strings, got {label!r} for class {number}")
        out[int(number)] = label
    if len(set(out.values())) != len(out):
        raise SeparationError(f"class labels must be distinct, got {list(out.values())}")
    return out


def read_drum_onsets(path, classes=DRUM_CLASSES) -> dict[str, np.ndarray]:
    """Read a drum onset annotation file: one hit per line, ``time_in_seconds<TAB>class``.

    Parameters
    ----------
    path : str or os.PathLike
        The annotation file, e.g. ``runningExample_808Drums.txt``. Fields may be separated
        by tabs, spaces or a comma; blank lines and lines starting with ``#`` are skipped.
        The class may be written as a float (``1.0000``) but must be a whole number.
    classes : dict of int to str, default ``{1: 'kick', 2: 'snare', 3: 'hihat'}``
        Label of each class number. Every class in the file must be listed.

    Returns
    -------
    dict of str to numpy.ndarray of float64, shape (n_onsets,)
        For every label of ``classes``, in its order, the sorted onset times in seconds
        (an empty array for a class without hits).

    Raises
    ------
    SeparationError
        If the file cannot be read, a line does not hold two numbers, a time is negative
        or not finite, or a class is not a whole number listed in ``classes``. The message
        names the file, the line and the value.

    Examples
    --------
    >>> onsets = read_drum_onsets("tests/data/drums/runningExample_808Drums.txt")  # doctest: +SKIP
    >>> {label: len(times) for label, times in onsets.items()}  # doctest: +SKIP
    {'kick': 12, 'snare': 8, 'hihat': 32}
    """
    classes = _check_classes(classes)
    if not isinstance(path, (str, os.PathLike)):
        raise SeparationError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SeparationError(f"cannot read the onset file {name!r}: {err}") from None
    found = {label: [] for label in classes.values()}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.replace(",", " ").split()
        where = f"{name!r}, line {number}"
        if len(fields) != 2:
            raise SeparationError(f"{where}: expected 'time<TAB>class', got {line!r}")
        try:
            time, cls = float(fields[0]), float(fields[1])
        except ValueError:
            raise SeparationError(f"{where}: expected two numbers 'time<TAB>class', got {line!r}") from None
        if not math.isfinite(time) or time < 0:
            raise SeparationError(f"{where}: the onset time must be a finite number of seconds >= 0, got {fields[0]!r}")
        if not math.isfinite(cls) or cls != round(cls) or round(cls) not in classes:
            raise SeparationError(
                f"{where}: unknown drum class {fields[1]!r}; expected one of {sorted(classes)} "
                f"({', '.join(f'{k} = {v}' for k, v in classes.items())}); pass classes= to map others"
            )
        found[classes[round(cls)]].append(time)
    if not any(found.values()):
        raise SeparationError(f"the onset file {name!r} holds no onsets")
    return {label: np.sort(np.asarray(times, dtype=np.float64)) for label, times in found.items()}
