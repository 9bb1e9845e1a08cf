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

import numpy as np

from ...core import SeparationError
from ...core.annotations import REQUIRED_COLUMNS, Note, notes_by_stem, read_notes
from ...core.validation import check_int, check_nonneg, check_positive, check_real

__all__ = [
    "Note",
    "REQUIRED_COLUMNS",
    "read_notes",
    "notes_by_stem",
    "midi_to_hz",
    "comb_templates",
    "gated_activations",
]

#: Slack (s) of the gate boundaries, so that a frame exactly on a boundary counts despite roundoff.
_TIME_EPS = 1e-9


def midi_to_hz(pitch):
    """Frequency in Hz of a MIDI pitch: ``440 * 2 ** ((pitch - 69) / 12)`` (array-aware)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


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
    check_positive("sample_rate", sample_rate, error=SeparationError)
    n_fft = check_int("n_fft", n_fft, 1, error=SeparationError)
    num_harmonics = check_int("num_harmonics", num_harmonics, 1, error=SeparationError)
    tolerance = check_real("tolerance (semitones)", tolerance, 0, 12, inclusive=False, error=SeparationError)
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
        n = check_int("num_frames", n, 1, error=SeparationError)
        hop = check_positive("hop_seconds", hop, error=SeparationError)
        return np.arange(n) * hop
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
        check_nonneg(f"{name} the notes (seconds)", value, error=SeparationError)
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
