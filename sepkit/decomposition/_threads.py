"""Per-iteration choice between numba's thread count and one thread (see :class:`ThreadChooser`)."""

import time

import numba

from ._common import blas_controller

__all__ = ["ThreadChooser"]
#: Base interval (iterations) at which the thread count not in use is re-timed.
_PROBE_EVERY = 16
#: Iterations timed with each thread count at the start (alternately; the minimum is kept).
_WARMUP = 2


class ThreadChooser:
    """Runs each iteration on the current thread count or on one thread, whichever was faster lately.

    A parallel region ends when its last thread does: on a loaded machine a descheduled
    worker thread makes a 3-ms pass last a scheduler time slice (measured: 16 ms on the
    shared 2-core machine, where one thread took 3 ms), while on a quiet machine two threads
    halve the time. The first ``2 * _WARMUP`` iterations alternate the two settings (the
    fastest of each is kept), then moving averages of the wall time per iteration are kept
    for both; the slower one is re-timed after ``_PROBE_EVERY`` iterations times its
    slowness (at most 8 times), so that the probes cost about 1 / ``_PROBE_EVERY`` of the time.

    ``pool`` is ``'numba'`` (the fused KL passes, bit-identical on any number of threads)
    or ``'blas'`` (the Gram-form products of beta = 2), for which the count is never changed:
    OpenBLAS's results differ in the last bits between thread counts (measured), and the
    results must not depend on the machine's load.
    """

    def __init__(self, pool):
        self.pool = pool
        if pool == "numba":
            self.initial = numba.get_num_threads()
        else:
            self.controller = blas_controller()
            blas = self.controller.select(user_api="blas")
            self.initial = min((lib.num_threads for lib in blas.lib_controllers), default=1)
        # OpenBLAS results change with its thread count (last bits): switching by timing
        # would make beta = 2 results depend on the machine's load, so BLAS keeps its count.
        self.options = [self.initial, 1] if self.initial > 1 and pool == "numba" else [self.initial]
        self.avg = [None] * len(self.options)
        self.first_limiter = None
        self.count = 0
        self.next_probe = _PROBE_EVERY
        self.current = 0
        self.start = 0.0

    def _set(self, n):
        if self.pool == "numba":
            numba.set_num_threads(n)
        else:
            limiter = self.controller.limit(limits=n, user_api="blas")
            if self.first_limiter is None:  # remembers every library's original count
                self.first_limiter = limiter

    def begin(self):
        if len(self.options) > 1:
            if self.count < 2 * _WARMUP:  # alternate at first: a first timing alone is noisy
                choice = self.count % 2
            else:
                best = min(range(len(self.options)), key=lambda i: self.avg[i])
                choice = best
                if self.count >= self.next_probe:
                    choice = 1 - best
                    # probes of a setting r times slower are r times rarer: they cost at
                    # most about 1 / _PROBE_EVERY of the run time
                    ratio = self.avg[1 - best] / max(self.avg[best], 1e-9)
                    self.next_probe = self.count + int(_PROBE_EVERY * min(max(ratio, 1.0), 8.0))
            if choice != self.current or self.count == 0:
                self._set(self.options[choice])
            self.current = choice
        self.count += 1
        self.start = time.perf_counter()

    def end(self):
        elapsed = time.perf_counter() - self.start
        a = self.avg[self.current]
        if a is None or self.count <= 2 * _WARMUP:
            self.avg[self.current] = elapsed if a is None else min(a, elapsed)
        else:  # moving average, a single spike counting for at most 3 times the average
            self.avg[self.current] = 0.7 * a + 0.3 * min(elapsed, 3.0 * a)

    def restore(self):
        if self.pool == "numba":
            if len(self.options) > 1:
                numba.set_num_threads(self.initial)
        elif self.first_limiter is not None:
            self.first_limiter.restore_original_limits()
