"""The bundled example: 10 s of a Bach chorale, mixture and four stems."""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..core import AudioSignal

__all__ = ["load_example", "EXAMPLE_SOURCES"]

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
