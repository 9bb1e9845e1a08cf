"""Python threads over a serial ``nogil`` kernel, instead of a numba ``prange`` loop.

A ``parallel=True`` kernel whose loop body calls a deep graph of jitted functions (DictSep's
pursuit, peak fitting and training) costs several times the compile time of the same loop
compiled serially (measured: ``pursue_frames_into`` 16 s against 4 s on a cold cache), and
for loops of a few hundred expensive iterations numba's scheduler gains nothing over a few
Python threads. Such kernels are compiled serially with ``nogil=True`` and take the range
``[start, stop)`` of outer indices they handle as their last two arguments;
:func:`run_threaded` splits the range into chunks handed out to threads as they finish, so a
thread descheduled by another process does not hold the others back.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["run_threaded"]

_pool = None
_pool_lock = threading.Lock()


def _helpers(count):
    """A thread pool with at least ``count`` workers, kept between calls (iterative kernels call
    :func:`run_threaded` every few milliseconds; starting threads each time would show)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < count:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="sepkit-kernel")
        return _pool


def run_threaded(kernel, n, *args, n_threads=None, chunks_per_thread=4, chunk=None) -> None:
    """Run ``kernel(*args, start, stop)`` over ``[0, n)`` on up to ``n_threads`` threads.

    Parameters
    ----------
    kernel : numba dispatcher
        Compiled with ``nogil=True``; each outer index must write only its own part of the
        outputs (the calls run concurrently, in any order).
    n : int
        Number of outer indices (frames, dictionaries...).
    *args
        The kernel's arguments before ``start`` and ``stop``.
    n_threads : int or None
        Threads to use; None: ``numba.get_num_threads()`` (so ``NUMBA_NUM_THREADS`` and
        ``numba.set_num_threads`` apply as to ``prange`` loops).
    chunks_per_thread : int, default 4
        Chunks per thread: more balance the load, fewer cost fewer calls.
    chunk : int or None
        Indices per chunk instead (the last chunk may be shorter); overrides
        ``chunks_per_thread``.

    Notes
    -----
    The results do not depend on the number of threads: every index is computed by the
    same serial code. The calling thread works too; an exception raised by a kernel call is
    re-raised here once all threads have stopped.
    """
    n = int(n)
    threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    threads = max(1, min(threads, n))
    if threads == 1:
        if n > 0:
            kernel(*args, 0, n)
        return
    if chunk is not None:
        bounds = list(range(0, n, max(1, int(chunk)))) + [n]
    else:
        n_chunks = min(n, threads * chunks_per_thread)
        bounds = [n * i // n_chunks for i in range(n_chunks + 1)]
    n_chunks = len(bounds) - 1
    next_chunk = iter(range(n_chunks))
    lock = threading.Lock()
    failed = threading.Event()

    def work():
        while not failed.is_set():
            with lock:
                i = next(next_chunk, None)
            if i is None:
                return
            try:
                kernel(*args, bounds[i], bounds[i + 1])
            except BaseException:
                failed.set()
                raise

    pool = _helpers(threads - 1)
    helpers = [pool.submit(work) for _ in range(threads - 1)]
    error = None
    try:
        work()
    except BaseException as exc:  # re-raised after the helpers stop
        error = exc
    for future in helpers:
        exc = future.exception()
        if error is None and exc is not None:
            error = exc
    if error is not None:
        raise error
