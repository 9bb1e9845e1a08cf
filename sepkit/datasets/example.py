"""The bundled examples: 10 s of a Bach chorale (mixture and four stems) and a drum loop."""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..core import AudioSignal

__all__ = ["load_example", "load_example_notes", "EXAMPLE_SOURCES", "load_drum_example"]

#: Source names of the bundled example, in score order (soprano to bass).
EXAMPLE_SOURCES = ("violin", "clarinet", "saxophone", "bassoon")


def load_example(sources=EXAMPLE_SOURCES, stereo: bool = False) -> tuple[AudioSignal, dict[str, AudioSignal]]:
    """Load the bundled example: J. S. Bach, BWV 255, first 10 s, four instruments.

    Parameters
    ----------
    sources : sequence of str
        Which stems to load, among ``'violin'``, ``'clarinet'``, ``'saxophone'`` and
        ``'bassoon'``. The mixture is the sum of these stems: the stored four-voice mix
        when all four are asked for, else the sum of the chosen stems.

    Returns
    -------
    mix : AudioSignal
        Mixture, mono (two channels with ``stereo=True``), 44.1 kHz, 441,000 samples,
        label ``'mix'``.
    sources : dict of str to AudioSignal
        The stems in the order asked for, labelled by instrument.

    Raises
    ------
    DatasetError
        For an unknown source name.

    Examples
    --------
    >>> mix, sources = load_example()
    >>> list(sources), mix.signal_duration
    (['violin', 'clarinet', 'saxophone', 'bassoon'], 10.0)
    """
    from ..core import DatasetError

    sources = tuple(sources)
    unknown = [name for name in sources if name not in EXAMPLE_SOURCES]
    if unknown or not sources or len(set(sources)) != len(sources):
        raise DatasetError(
            f"sources must be distinct names among {EXAMPLE_SOURCES}, got {sources!r}"
        )
    folder = resources.files("sepkit") / "data"
    stems = {name: AudioSignal(folder / f"bwv255_{name}.flac", label=name) for name in sources}
    if stereo:
        if not isinstance(stereo, (bool, np.bool_)):
            raise DatasetError(f"stereo must be True or False, got {stereo!r}")
        angles = np.linspace(0.15, 0.85, len(sources)) * np.pi / 2 if len(sources) > 1 else [np.pi / 4]
        stems = {
            name: AudioSignal(
                np.vstack([np.cos(angle) * sig.audio_data[0], np.sin(angle) * sig.audio_data[0]]),
                sig.sample_rate,
                label=name,
            )
            for angle, (name, sig) in zip(angles, stems.items())
        }
        return sum(stems.values()).with_label("mix"), stems
    if set(sources) == set(EXAMPLE_SOURCES):
        mix = AudioSignal(folder / "bwv255_mix.flac", label="mix")
    else:
        mix = sum(stems.values()).with_label("mix")
    return mix, stems


def load_example_notes(sources=EXAMPLE_SOURCES):
    """The notes of the bundled example: what each instrument plays, and when.

    From the MIDI files that drove the synthesiser, so the onsets are exact; each
    instrument sounds on for its release time (tens to hundreds of ms) after a note's
    offset. Suited to score-informed separation: ``NMF(mix, score=load_example_notes())``.

    Parameters
    ----------
    sources : sequence of str
        The stems whose notes to return, among ``'violin'``, ``'clarinet'``,
        ``'saxophone'`` and ``'bassoon'``.

    Returns
    -------
    list of sepkit.separation.nmf.score.Note
        Every note of those stems that starts within the 10 s of the example (stem,
        onset and offset in seconds, MIDI pitch, voice), in the file's order.

    Raises
    ------
    DatasetError
        For an unknown source name.

    Examples
    --------
    >>> notes = load_example_notes(("violin",))
    >>> notes[0].stem, notes[0].onset_s, notes[0].midi_pitch
    ('violin', 0.2, 72.0)
    """
    from ..core import DatasetError
    from ..core.annotations import read_notes

    sources = tuple(sources)
    if not sources or any(name not in EXAMPLE_SOURCES for name in sources):
        raise DatasetError(f"sources must be names among {EXAMPLE_SOURCES}, got {sources!r}")
    notes = read_notes(resources.files("sepkit") / "data" / "bwv255_notes.csv")
    return [n for n in notes if n.stem in sources and n.onset_s < 10.0]


def load_drum_example():
    """Load the bundled drum loop ("Funky", 4.95 s), its stems, onsets and one-shot samples.

    The material of the NMF Toolbox's drum examples (MIT, see ``sepkit/data/drums/README.md``):
    a kick + snare + hi-hat loop with its three stems, the annotated onset of every hit, and
    five one-shot samples per drum class for learning NMFD templates.

    Returns
    -------
    mix : AudioSignal
        The loop, mono, 44.1 kHz, 218,232 samples, label ``'mix'``.
    sources : dict of str to AudioSignal
        ``'kick'``, ``'snare'``, ``'hihat'`` stems (their sum equals ``mix`` up to 16-bit rounding).
    onsets : dict of str to numpy.ndarray of float64
        Onset times in seconds of every hit, per class (8 kick, 8 snare, 32 hi-hat).
    samples : dict of str to list of AudioSignal
        Five one-shots per class (60-160 ms each, mono, 44.1 kHz).

    Examples
    --------
    >>> mix, sources, onsets, samples = load_drum_example()
    >>> list(sources), [len(onsets[k]) for k in onsets], [len(samples[k]) for k in samples]
    (['kick', 'snare', 'hihat'], [8, 8, 32], [5, 5, 5])
    """
    from ..core.annotations import read_drum_onsets

    folder = resources.files("sepkit") / "data" / "drums"
    mix = AudioSignal(folder / "funky_mix.flac", label="mix")
    onsets = read_drum_onsets(folder / "funky_onsets.txt")  # classes 1, 2, 3: kick, snare, hihat
    sources = {name: AudioSignal(folder / f"funky_{name}.flac", label=name) for name in onsets}
    samples = {
        name: [
            AudioSignal(path, label=f"{name}/{path.name.rsplit('.', 1)[0]}")
            for path in sorted((folder / name).iterdir(), key=lambda p: p.name)
            if path.name.endswith(".flac")
        ]
        for name in onsets
    }
    return mix, sources, onsets, samples
