"""run_threaded: Python threads over a serial nogil kernel give the serial result."""

import numba
import numpy as np
import pytest

from sepkit.kernels.threaded import run_threaded


@numba.njit(nogil=True)
def _cumulative_rows(x, out, start, stop):
    # row t: cumulative sum of x[t]; a loop per row so that each index's work is serial
    for t in range(start, stop):
        acc = 0.0
        for j in range(x.shape[1]):
            acc += x[t, j]
            out[t, j] = acc


@numba.njit(nogil=True)
def _fails_at(index, out, start, stop):
    for t in range(start, stop):
        if t == index:
            raise ValueError("bad index")
        out[t] = t


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [0, 1, 5, 37])
def test_every_index_once_and_equal_to_numpy(n, n_threads):
    x = np.random.default_rng(n).standard_normal((n, 11))
    out = np.full_like(x, np.nan)
    run_threaded(_cumulative_rows, n, x, out, n_threads=n_threads, chunks_per_thread=3)
    np.testing.assert_array_equal(out, np.cumsum(x, axis=1))


def test_kernel_errors_are_raised_after_all_threads_stop():
    out = np.zeros(40)
    with pytest.raises(ValueError, match="bad index"):
        run_threaded(_fails_at, 40, 25, out, n_threads=2)
