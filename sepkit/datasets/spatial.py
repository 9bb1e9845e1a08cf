"""The bundled spatial examples: chorale voices panned and delayed in stereo, or in a simulated room."""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..core import AudioSignal, DatasetError
from ..core.validation import check_positive
from .example import EXAMPLE_SOURCES

__all__ = ["load_spatial_example", "SPATIAL_KINDS"]

#: The kinds of :func:`load_spatial_example`.
SPATIAL_KINDS = ("anechoic", "reverberant")

#: Sample rate of the reverberant example (that of the bundled impulse responses).
REVERBERANT_SAMPLE_RATE = 16000


def _fractional_delay(x: np.ndarray, delay: float) -> np.ndarray:
    """``x`` delayed by ``delay`` samples (band-limited, zero padded, so nothing wraps round)."""
    pad = 64
    n = x.size + pad
    spectrum = np.fft.rfft(x, n) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * delay)
    return np.fft.irfft(spectrum, n)[: x.size]


def _anechoic(stems: dict) -> dict:
    """Each stem panned (constant power) and delayed: the right channel lags the left."""
    count = len(stems)
    angles = np.linspace(0.15, 0.85, count) * np.pi / 2 if count > 1 else np.array([np.pi / 4])
    delays = np.linspace(-1.5, 1.5, count) if count > 1 else np.array([0.0])
    images = {}
    for angle, delay, (name, stem) in zip(angles, delays, stems.items()):
        mono = stem.audio_data[0]
        images[name] = AudioSignal(
            np.vstack([np.cos(angle) * mono, np.sin(angle) * _fractional_delay(mono, delay)]),
            stem.sample_rate,
            label=name,
        )
    return images


def _reverberant(stems: dict, n_mics: int) -> dict:
    """Each stem at 16 kHz convolved with its bundled room impulse responses."""
    import soxr
    from scipy.signal import fftconvolve

    with (resources.files("sepkit") / "data" / "spatial" / "rirs_16k.npz").open("rb") as handle:
        rirs = np.load(handle)["rirs"].astype(np.float64)
    images = {}
    for name, stem in stems.items():
        mono = soxr.resample(stem.audio_data[0], stem.sample_rate, REVERBERANT_SAMPLE_RATE, quality="VHQ")
        responses = rirs[EXAMPLE_SOURCES.index(name), :n_mics]
        image = np.vstack([fftconvolve(mono, response)[: mono.size] for response in responses])
        images[name] = AudioSignal(image, REVERBERANT_SAMPLE_RATE, label=name)
    return images


def load_spatial_example(
    kind: str = "anechoic",
    sources=("violin", "clarinet"),
    duration: float | None = None,
    n_mics: int | None = None,
) -> tuple[AudioSignal, dict[str, AudioSignal]]:
    """Load a multichannel mixture of the bundled chorale voices, with each voice's spatial image.

    The stems are those of :func:`load_example` (J. S. Bach, BWV 255, first 10 s).

    ``'anechoic'`` (stereo, 44.1 kHz): DUET's mixing model
        Voice ``i`` of ``n`` is panned at the constant-power angle
        ``theta_i = (0.15 + 0.7 i / (n - 1)) pi / 2`` (left gain ``cos theta_i``, right gain
        ``sin theta_i``) and its right channel lags its left by
        ``delta_i = -1.5 + 3 i / (n - 1)`` samples (a band-limited fractional delay). With one
        voice: centre, no delay.
    ``'reverberant'`` (``n_mics`` channels, 16 kHz): a simulated room
        The stems, resampled to 16 kHz, convolved with impulse responses simulated by
        pyroomacoustics (image-source shoebox, 6 x 4.5 x 3 m, RT60 0.25 s, a linear array of
        microphones 8 cm apart, each voice 1.5 m away at its own azimuth; geometry and script:
        ``benchmarks/make_spatial_rirs.py``). The default is as many microphones as voices,
        the determined case of AuxIVA, ILRMA and FastMNMF2.

    Parameters
    ----------
    kind : {'anechoic', 'reverberant'}
        Which mixing.
    sources : sequence of str
        Distinct voices among ``'violin'``, ``'clarinet'``, ``'saxophone'``, ``'bassoon'``.
    duration : float or None
        Keep only the first ``duration`` seconds of the stems; ``None`` keeps all 10 s.
    n_mics : int or None
        ``'reverberant'`` only: number of microphones, 1 to 3 (default: the number of voices,
        at most 3).

    Returns
    -------
    mix : AudioSignal
        Shape ``(n_channels, n_samples)``, label ``'mix'``: exactly the sum of the images.
    sources : dict of str to AudioSignal
        Each voice's spatial image (what it contributes to every channel), shaped like the
        mixture, labelled by instrument, in the order asked for.

    Raises
    ------
    DatasetError
        For an unknown ``kind`` or voice, a ``duration`` that is not positive, or an
        ``n_mics`` out of range.

    Examples
    --------
    >>> mix, sources = load_spatial_example("anechoic", duration=1.0)
    >>> mix.num_channels, mix.sample_rate, list(sources)
    (2, 44100, ['violin', 'clarinet'])
    >>> mix, sources = load_spatial_example("reverberant", duration=1.0)
    >>> mix.num_channels, mix.sample_rate, mix.signal_length
    (2, 16000, 16000)
    """
    from .example import load_example

    if not isinstance(kind, str) or kind not in SPATIAL_KINDS:
        raise DatasetError(f"kind must be one of {SPATIAL_KINDS}, got {kind!r}")
    if isinstance(sources, str):
        raise DatasetError(f"sources must be a sequence of voice names, got the string {sources!r}")
    _, stems = load_example(sources=tuple(sources))
    if duration is not None:
        duration = check_positive("duration", duration, error=DatasetError)
        length = int(duration * 44100)
        if length < 1:
            raise DatasetError(f"duration must be at least one sample (1/44100 s), got {duration!r}")
        stems = {name: AudioSignal(s.audio_data[:, :length], s.sample_rate, label=name) for name, s in stems.items()}
    if kind == "anechoic":
        if n_mics is not None:
            raise DatasetError(f"n_mics applies to the 'reverberant' example only, got n_mics={n_mics!r}")
        images = _anechoic(stems)
    else:
        if n_mics is None:
            n_mics = min(len(stems), 3)
        if isinstance(n_mics, bool) or not isinstance(n_mics, (int, np.integer)) or not 1 <= n_mics <= 3:
            raise DatasetError(f"n_mics must be an integer from 1 to 3, got {n_mics!r}")
        images = _reverberant(stems, int(n_mics))
    mix = sum(images.values()).with_label("mix")
    return mix, images
