"""Score information for the NMF family: note lists, pitched comb templates, gated activations.

A *score* is a list of notes, each with the stem (instrument) that plays it, its onset and
offset in seconds and its MIDI pitch, such as the ``notes.csv`` of the chorale folders
(columns ``stem, voice, onset_s, offset_s, midi_pitch, ...``). From it:

- :func:`comb_templates` gives one harmonic comb template per pitch, shape ``(F, P)``;
- :func:`gated_activations` gives activations that are one while a note of that pitch
  sounds and zero elsewhere, shape ``(P, N)``.

Multiplicative updates never turn a zero into a nonzero value, so an NMF started from
these keeps its templates harmonic and its activations inside the notes (score-informed
NMF; Ewert & Mueller 2012, libnmfd's ``'pitched'`` initialisation).
"""

from __future__ import annotations

import csv
import math
import numbers
import os
from typing import NamedTuple

import numpy as np

from ...core import SeparationError
from .base import validate_int

__all__ = [
    "Note",
    "read_notes",
    "notes_by_stem",
    "midi_to_hz",
    "comb_templates",
    "gated_activations",
]

#: Slack (s) of the gate boundaries, so that a frame exactly on a boundary counts despite roundoff.
_TIME_EPS = 1e-9
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


def midi_to_hz(pitch):
    """Frequency in Hz of a MIDI pitch: ``440 * 2 ** ((pitch - 69) / 12)`` (array-aware)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


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


def _check_pitches(pitches) -> np.ndarray:
    try:
        p = np.asarray(pitches, dtype=np.float64)
    except (TypeError, ValueError):
        raise SeparationError(f"pitches must be a sequence of MIDI pitch numbers, got {pitches!r}") from None
    if p.ndim != 1 or p.size == 0:
        raise SeparationError(f"pitches must be a nonempty 1-D sequence of MIDI pitches, got shape {p.shape}")
    bad = p[~(np.isfinite(p) & (p >= 0) & (p <= 127))]
    if bad.size:
        raise SeparationError(f"MIDI pitches must be finite and in [0, 127], got {bad.tolist()}")
    return p


def comb_templates(pitches, sample_rate, n_fft, num_harmonics=25, tolerance=0.75) -> np.ndarray:
    r"""Harmonic comb templates, one per pitch (the score-informed NMF initialisation).

    Partial ``h = 1 .. num_harmonics`` of pitch ``p`` covers the frequency band
    ``[h f(p - tolerance), h f(p + tolerance)]`` with ``f(m) = 440 * 2**((m - 69) / 12)``;
    the bins ``k`` from ``round(h f(p - tolerance) / df)`` to ``round(h f(p + tolerance) /
    df)`` (inclusive, ``df = sample_rate / n_fft``) get the weight ``1 / h``. Where the
    bands of two partials overlap (high partials) a bin keeps the larger weight; bins above
    the Nyquist frequency are dropped; every other bin is zero. Columns are then scaled to
    unit sum.

    libnmfd (``init_templates(strategy='pitched')``) subtracts one from both bin indices, a
    leftover of MATLAB's 1-based indexing: with 0-based bins, bin ``k`` is centred on
    ``k df``, so its bands sit one bin (21.5 Hz at 44.1 kHz / 2048) too low, which for
    low notes misses the upper half of each partial. sepkit uses the bins that contain the
    partials.

    Parameters
    ----------
    pitches : sequence of float, length P
        MIDI pitches (fractional allowed), one template each, in this order.
    sample_rate : float
        Sample rate in Hz.
    n_fft : int
        FFT length (the STFT window length); ``F = n_fft // 2 + 1`` bins.
    num_harmonics : int, default 25
        Number of partials per template.
    tolerance : float, default 0.75
        Half-width of each partial's band in semitones (> 0, < 12).

    Returns
    -------
    numpy.ndarray of float64, shape (F, P)
        Nonnegative templates with unit-sum columns.

    Raises
    ------
    SeparationError
        For bad pitches, a nonpositive rate or length, a tolerance outside (0, 12), or a
        pitch whose fundamental band lies above the Nyquist frequency (its template would
        be empty).

    Examples
    --------
    >>> W = comb_templates([69], 44100, 2048, num_harmonics=2)
    >>> [int(k) for k in np.flatnonzero(W[:, 0])]   # 440 Hz and 880 Hz, +-0.75 semitone
    [20, 21, 39, 40, 41, 42, 43]
    """
    p = _check_pitches(pitches)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real) or not 0 < sample_rate < np.inf:
        raise SeparationError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
    n_fft = validate_int("n_fft", n_fft)
    num_harmonics = validate_int("num_harmonics", num_harmonics)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not 0 < tolerance < 12:
        raise SeparationError(f"tolerance must be a number of semitones in (0, 12), got {tolerance!r}")
    F = n_fft // 2 + 1
    df = float(sample_rate) / n_fft
    W = np.zeros((F, p.size))
    low = midi_to_hz(p - tolerance)
    high = midi_to_hz(p + tolerance)
    for j in range(p.size):
        for h in range(1, num_harmonics + 1):
            k0 = int(round(h * low[j] / df))
            k1 = min(int(round(h * high[j] / df)), F - 1)
            if k0 > F - 1:
                break
            np.maximum(W[k0 : k1 + 1, j], 1.0 / h, out=W[k0 : k1 + 1, j])
    sums = W.sum(axis=0)
    empty = p[sums == 0]
    if empty.size:
        raise SeparationError(
            f"pitches {empty.tolist()} lie above the Nyquist frequency ({sample_rate / 2} Hz): empty templates"
        )
    return W / sums


def _frame_times(frames) -> np.ndarray:
    if isinstance(frames, tuple) and len(frames) == 2:
        n, hop = frames
        n = validate_int("num_frames", n)
        if isinstance(hop, bool) or not isinstance(hop, numbers.Real) or not 0 < hop < np.inf:
            raise SeparationError(f"hop_seconds must be a positive number, got {hop!r}")
        return np.arange(n) * float(hop)
    try:
        t = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise SeparationError(
            f"frames must be frame times in seconds or a tuple (num_frames, hop_seconds), got {frames!r}"
        ) from None
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise SeparationError(f"frame times must be a nonempty 1-D array of finite seconds, got shape {t.shape}")
    return t


def gated_activations(notes, frames, pitches, margin=0.025) -> np.ndarray:
    """Binary activations from a score: one while a note of the row's pitch sounds.

    Row ``p`` is one at the frames whose time ``t`` satisfies ``onset_s - before <= t <=
    offset_s + after`` (up to 1 ns of roundoff) for some note of pitch ``pitches[p]`` and zero elsewhere (no
    wrap-around: a note at time 0 marks the first frames, never the last one, unlike
    libnmfd's ``init_activations``).

    Parameters
    ----------
    notes : anything :func:`read_notes` accepts
        The notes to gate with, usually those of one stem (see :func:`notes_by_stem`).
    frames : array_like of float, shape (N,), or tuple (num_frames, hop_seconds)
        Time in seconds of each frame (its centre), or ``num_frames`` frames every
        ``hop_seconds`` from 0 (sepkit's STFT frame ``n`` is centred on ``n * hop``).
    pitches : sequence of float, length P
        MIDI pitch of each row; every note's pitch must be one of them.
    margin : float or (float, float), default 0.025
        Seconds added before the onset and after the offset (one value for both, or
        ``(before, after)``); nonnegative. Sampled instruments keep sounding after the
        note-off for their release time, which a larger ``after`` covers.

    Returns
    -------
    numpy.ndarray of float64, shape (P, N)
        Zeros and ones.

    Raises
    ------
    SeparationError
        For bad notes, frames, pitches or margin, or a note whose pitch is not in
        ``pitches``.

    Examples
    --------
    >>> notes = [{"stem": "violin", "onset_s": 0.1, "offset_s": 0.2, "midi_pitch": 72}]
    >>> gated_activations(notes, (6, 0.05), [72], margin=0.0)
    array([[0., 0., 1., 1., 1., 0.]])
    """
    notes = read_notes(notes)
    times = _frame_times(frames)
    p = _check_pitches(pitches)
    if isinstance(margin, tuple) and len(margin) == 2:
        before, after = margin
    else:
        before = after = margin
    for name, value in (("margin before", before), ("margin after", after)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < np.inf:
            raise SeparationError(f"{name} the notes must be a nonnegative number of seconds, got {value!r}")
    H = np.zeros((p.size, times.size))
    for note in notes:
        rows = np.flatnonzero(p == note.midi_pitch)
        if rows.size == 0:
            raise SeparationError(
                f"note {note} has the pitch {note.midi_pitch!r}, which is not among the pitches {p.tolist()}"
            )
        inside = (times >= note.onset_s - before - _TIME_EPS) & (times <= note.offset_s + after + _TIME_EPS)
        H[np.ix_(rows, np.flatnonzero(inside))] = 1.0
    return H
