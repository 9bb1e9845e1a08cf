"""Kernel of the inverse STFT: windowed overlap-add."""

import numba
import numpy as np

__all__ = ["windowed_overlap_add"]

@numba.njit(cache=True)
def windowed_overlap_add(frames, window, hop, out, weight):
    """Multiply frames by a window and overlap-add them; accumulate the squared window.

    Parameters
    ----------
    frames : numpy.ndarray, shape (n_channels, n_frames, window_length)
        Real frames (inverse FFTs).
    window : numpy.ndarray, shape (window_length,)
        Synthesis window.
    hop : int
        Hop between frames in samples.
    out : numpy.ndarray, shape (n_channels, (n_frames - 1) * hop + window_length)
        Zero-initialised output, accumulated in place.
    weight : numpy.ndarray, shape ((n_frames - 1) * hop + window_length,)
        Zero-initialised sum of squared windows, accumulated in place.
    """
    n_channels, n_frames, win = frames.shape
    for t in range(n_frames):
        start = t * hop
        for n in range(win):
            weight[start + n] += window[n] * window[n]
    for c in range(n_channels):
        for t in range(n_frames):
            start = t * hop
            for n in range(win):
                out[c, start + n] += window[n] * frames[c, t, n]
