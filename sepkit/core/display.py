"""Notebook playback: an HTML5 audio player with the samples embedded, no ffmpeg needed."""

from __future__ import annotations

import base64
import html
import io

import numpy as np

__all__ = ["audio_html"]


def audio_html(audio: np.ndarray, sample_rate: int, label: str | None = None) -> str:
    """Return an ``<audio>`` element playing ``audio`` as an embedded 16-bit WAV.

    Parameters
    ----------
    audio : numpy.ndarray, shape (n_channels, n_samples)
        Float samples; they are peak-normalised when they exceed [-1, 1] so the player
        never clips.
    sample_rate : int
        Sample rate in Hz.
    label : str or None
        Caption shown before the player.

    Returns
    -------
    str
        HTML, suitable for ``IPython.display.HTML`` or a notebook's ``_repr_html_``.
    """
    import soundfile

    peak = float(np.max(np.abs(audio)))
    data = audio / peak if peak > 1.0 else audio
    buffer = io.BytesIO()
    soundfile.write(buffer, data.T, int(sample_rate), format="WAV", subtype="PCM_16")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    caption = f"<div>{html.escape(label)}</div>" if label else ""
    return (
        f'{caption}<audio controls preload="none" '
        f'src="data:audio/wav;base64,{encoded}"></audio>'
    )
