"""Kernels of the STFT: windowed framing (forward) and windowed overlap-add (inverse)."""

import numba

__all__ = ["windowed_frames", "windowed_overlap_add"]

@numba.njit(parallel=True, cache=True)
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
    for c in numba.prange(n_channels):
        for t in range(n_frames):
            start = t * hop
            for n in range(win):
                out[c, start + n] += window[n] * frames[c, t, n]


@numba.njit(parallel=True, cache=True)
def windowed_frames(audio, window, hop, frames):
    """Cut centred, windowed frames out of multichannel audio into ``frames``.

    Parameters
    ----------
    audio : numpy.ndarray, shape (n_channels, n_samples)
        Real samples.
    window : numpy.ndarray, shape (window_length,)
        Analysis window (same dtype as ``audio``).
    hop : int
        Hop between frames in samples.
    frames : numpy.ndarray, shape (n_channels, n_frames, window_length)
        Output, allocated by the caller (large allocations inside a parallel kernel are
        slow): ``frames[c, t, n] = window[n] * audio[c, t * hop + n - window_length // 2]``,
        zero outside the signal; frame ``t`` is centred on sample ``t * hop``.
    """
    n_channels, n_samples = audio.shape
    n_frames = frames.shape[1]
    win = window.shape[0]
    half = win // 2
    for ct in numba.prange(n_channels * n_frames):
        c = ct // n_frames
        t = ct % n_frames
        start = t * hop - half
        for n in range(win):
            index = start + n
            if 0 <= index < n_samples:
                frames[c, t, n] = window[n] * audio[c, index]
            else:
                frames[c, t, n] = 0.0
