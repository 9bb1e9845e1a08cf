"""The bundled foreground/background examples: a looped accompaniment with a melody, and drums with a voice."""

from __future__ import annotations

from importlib import resources

from ..core import AudioSignal, DatasetError
from ..core.validation import check_positive

__all__ = ["load_foreground_background_example", "FOREGROUND_BACKGROUND_SOURCES", "LOOP_PERIOD_SAMPLES"]

#: Source labels of each example, in the output order of the separators made for it
#: (REPET, REPET-SIM, 2DFT, RPCA: background then foreground; HPSS: harmonic then percussive).
FOREGROUND_BACKGROUND_SOURCES = {"loop": ("background", "foreground"), "drums": ("harmonic", "percussive")}

#: Period of the ``'loop'`` example's background: 110,250 samples (2.5 s at 44.1 kHz).
LOOP_PERIOD_SAMPLES = 110250


def load_foreground_background_example(
    kind: str = "loop", duration: float | None = None
) -> tuple[AudioSignal, dict[str, AudioSignal]]:
    """Load a bundled mixture of a repeating (or percussive) background and a melody.

    Made from the sepkit team's chorale renderings and the NMF Toolbox's drum loop by
    ``benchmarks/make_foreground_background_example.py`` (provenance and licenses in
    ``sepkit/data/foreground_background/README.md``). Both are mono, 44.1 kHz, 16-bit.

    ``'loop'`` (10.0 s, 441,000 samples), for REPET, REPET-SIM, 2DFT and RPCA
        ``'background'``: 2.5 s of the two lower voices (tenor saxophone and bassoon) of
        Bach's chorale BWV 256, looped four times, exactly periodic with a period of
        :data:`LOOP_PERIOD_SAMPLES`; ``'foreground'``: the violin (soprano) of BWV 255, a
        melody that does not repeat.
    ``'drums'`` (9.90 s, 436,464 samples), for HPSS
        ``'harmonic'``: the clarinet (alto) of BWV 255; ``'percussive'``: the "Funky" drum
        loop (kick, snare, hi-hat) played twice.

    Parameters
    ----------
    kind : {'loop', 'drums'}
        Which example.
    duration : float or None
        Keep only the first ``duration`` seconds (rounded down to whole samples) of the
        mixture and of every source; ``None`` keeps all.

    Returns
    -------
    mix : AudioSignal
        The mixture, shape ``(1, n_samples)``, label ``'mix'``; exactly the sum of the sources.
    sources : dict of str to AudioSignal
        The sources in the order of :data:`FOREGROUND_BACKGROUND_SOURCES`, labelled by role.

    Raises
    ------
    DatasetError
        For an unknown ``kind``, or a ``duration`` that is not a positive number of seconds.

    Examples
    --------
    >>> mix, sources = load_foreground_background_example("loop")
    >>> list(sources), mix.signal_duration
    (['background', 'foreground'], 10.0)
    >>> mix, sources = load_foreground_background_example("drums", duration=2.0)
    >>> list(sources), mix.signal_length
    (['harmonic', 'percussive'], 88200)
    """
    if not isinstance(kind, str) or kind not in FOREGROUND_BACKGROUND_SOURCES:
        raise DatasetError(f"kind must be one of {tuple(FOREGROUND_BACKGROUND_SOURCES)}, got {kind!r}")
    folder = resources.files("sepkit") / "data" / "foreground_background"
    mix = AudioSignal(folder / f"{kind}_mix.flac", label="mix")
    sources = {
        label: AudioSignal(folder / f"{kind}_{label}.flac", label=label)
        for label in FOREGROUND_BACKGROUND_SOURCES[kind]
    }
    if duration is None:
        return mix, sources
    duration = check_positive("duration", duration, error=DatasetError)
    length = int(duration * mix.sample_rate)
    if length < 1:
        raise DatasetError(f"duration must be at least one sample (1/{mix.sample_rate} s), got {duration!r}")
    if length >= mix.signal_length:
        return mix, sources
    return mix.truncate(length), {label: sig.truncate(length) for label, sig in sources.items()}
