"""Viterbi decoding of an HMM whose transitions are banded (pYIN's pitch HMM).

The states are two copies (voiced, unvoiced) of ``n_pitch`` pitch bins. From pitch ``q``
the chain moves only to pitches within ``half`` bins of it (in either copy); every other
transition has probability 0, which the caller has already mapped to the finite
``log_zero`` (the log of the smallest normal float64, as librosa does). So for each state
the best predecessor is the best of (a) the ``2 (2 half + 1)`` in-band states, scanned
one by one, and (b) the best state outside the band plus ``log_zero``, read from running
maxima: ``O(n_states (half + 1))`` per frame instead of ``O(n_states ** 2)`` for the
dense matrix, with the same decoded path.

Pure functions on float64/int64 arrays; nothing from sepkit is imported.
"""

import numba
import numpy as np

__all__ = ["banded_viterbi"]


@numba.njit(cache=True)
def banded_viterbi(log_obs, log_init, log_stay, log_switch, log_zero):
    """The most likely state sequence of a two-copy HMM with banded pitch transitions.

    Parameters
    ----------
    log_obs : numpy.ndarray of float64, shape (n_frames, 2 n_pitch)
        Log-likelihood of each frame's observation in each state (voiced copy first).
    log_init : numpy.ndarray of float64, shape (2 n_pitch,)
        Log initial probabilities.
    log_stay, log_switch : numpy.ndarray of float64, shape (n_pitch, 2 half + 1)
        ``[p, d]``: log probability of the move from pitch ``q = p + d - half`` to pitch
        ``p``, within one copy (``log_stay``) or across copies (``log_switch``); entries
        with ``q`` outside ``[0, n_pitch)`` are never read.
    log_zero : float
        Log probability of every move between pitches more than ``half`` bins apart.

    Returns
    -------
    numpy.ndarray of int64, shape (n_frames,)
        The decoded state of each frame. Ties go to the lowest state index, as
        ``numpy.argmax`` over a dense matrix would break them.
    """
    n_frames, n_states = log_obs.shape
    n_pitch = n_states // 2
    half = log_stay.shape[1] // 2
    states = np.zeros(n_frames, dtype=np.int64)
    if n_frames == 0:
        return states
    ptr = np.zeros((n_frames, n_states), dtype=np.int64)
    value = np.empty(n_states)
    new = np.empty(n_states)
    for j in range(n_states):
        value[j] = log_obs[0, j] + log_init[j]
    # Running maxima of each copy: prefix over [0, a) and suffix over [b, n_pitch), with
    # the first index reaching them (the out-of-band predecessors of a pitch are a prefix
    # and a suffix of each copy).
    pre_val = np.empty((2, n_pitch + 1))
    pre_arg = np.zeros((2, n_pitch + 1), dtype=np.int64)
    suf_val = np.empty((2, n_pitch + 1))
    suf_arg = np.zeros((2, n_pitch + 1), dtype=np.int64)
    for t in range(1, n_frames):
        for c in range(2):
            base = c * n_pitch
            pre_val[c, 0] = -np.inf
            for a in range(n_pitch):
                if value[base + a] > pre_val[c, a]:
                    pre_val[c, a + 1] = value[base + a]
                    pre_arg[c, a + 1] = base + a
                else:
                    pre_val[c, a + 1] = pre_val[c, a]
                    pre_arg[c, a + 1] = pre_arg[c, a]
            suf_val[c, n_pitch] = -np.inf
            for b in range(n_pitch - 1, -1, -1):
                if value[base + b] >= suf_val[c, b + 1]:  # >=: the lower index wins ties
                    suf_val[c, b] = value[base + b]
                    suf_arg[c, b] = base + b
                else:
                    suf_val[c, b] = suf_val[c, b + 1]
                    suf_arg[c, b] = suf_arg[c, b + 1]
        for j in range(n_states):
            target = j // n_pitch
            p = j - target * n_pitch
            lo = max(0, p - half)
            hi = min(n_pitch - 1, p + half)
            best = -np.inf
            arg = 0
            # Predecessors in ascending index order, strict '>' so that ties keep the first.
            for c in range(2):
                base = c * n_pitch
                if lo > 0:
                    cand = pre_val[c, lo] + log_zero
                    if cand > best:
                        best, arg = cand, pre_arg[c, lo]
                for q in range(lo, hi + 1):
                    if c == target:
                        cand = value[base + q] + log_stay[p, q - p + half]
                    else:
                        cand = value[base + q] + log_switch[p, q - p + half]
                    if cand > best:
                        best, arg = cand, base + q
                if hi < n_pitch - 1:
                    cand = suf_val[c, hi + 1] + log_zero
                    if cand > best:
                        best, arg = cand, suf_arg[c, hi + 1]
            ptr[t, j] = arg
            new[j] = log_obs[t, j] + best
        value, new = new, value
    last = 0
    for j in range(1, n_states):
        if value[j] > value[last]:
            last = j
    states[n_frames - 1] = last
    for t in range(n_frames - 2, -1, -1):
        states[t] = ptr[t + 1, states[t + 1]]
    return states
