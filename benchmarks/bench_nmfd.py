"""Speed of sepkit's NMFD against libnmfd 1.0.0 ``nmfd`` on a 30-s spectrogram.

Workload: the mono magnitude STFT (n_fft 2048, hop 512) of the 30-s synthetic mixture of
``bench_wiener_idealmask.synthetic_sources`` (seeded), R = 4 components, T = 8 template
frames, 30 iterations, the same initial W0 (uniform [0, 1), ``default_rng(0)``) and H0 = ones
for both, in the same process:

* ``sepkit.decomposition.nmfd(V, 4, 8, 30, W=W0, H=H0)`` (defaults: libnmfd's KL scheme,
  averaged H update, unit-sum templates), which also records the KL cost after every
  iteration;
* ``libnmfd.core.nmfconv.nmfd(V, num_comp=4, num_iter=30, num_template_frames=8,
  init_W=list(W0), init_H=H0)`` (its notebook progress bar ``tnrange`` replaced by ``range``).

Times are minima over ``--repeats`` runs after a warm-up (numba compilation excluded), the
two libraries taking turns so that both see the same machine load, with
BLAS limited (threadpoolctl) to two threads and to one for both libraries; sepkit runs its
own products with one BLAS thread around numba's parallel kernels in either case. The
agreement of the final W and H (H of libnmfd times sum(V): libnmfd works on V / sum(V)) is
printed as max |a - b| / max |b|. Peak memory is tracemalloc's peak of the allocations
(numpy arrays included) made during one call, measured in a separate untimed run. libnmfd
is not a sepkit dependency::

    pip install --no-deps libnmfd==1.0.0
    python benchmarks/bench_nmfd.py [--repeats 3] [--seconds 30] [--blas-threads 2 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

from sepkit import AudioSignal, STFTParams
from sepkit.decomposition import nmfd

R, T, N_ITER = 4, 8, 30


def best_times(fns, repeats):
    """Minimum wall time and last result of each function, after a warm-up run of each.

    The functions are run in turns (a, b, a, b, ...) so that both see the same machine load.
    """
    outs = [fn() for fn in fns]
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best, outs


def peak_memory(fn):
    """tracemalloc peak (bytes) of the allocations made during one call of ``fn``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def libnmfd_nmfd():
    from libnmfd.core import nmfconv

    nmfconv.tnrange = lambda n, *args, **kwargs: range(n)
    return nmfconv.nmfd


def rel_diff(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the workload in seconds")
    parser.add_argument("--blas-threads", type=int, nargs="+", default=[2, 1],
                        help="BLAS thread limits to run the table under")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    ref_nmfd = libnmfd_nmfd()
    mono = synthetic_sources(args.seconds).sum(axis=0).mean(axis=0, keepdims=True)
    mix = AudioSignal(mono, SAMPLE_RATE, label="mix")
    V = np.ascontiguousarray(np.abs(mix.stft(STFTParams(window_length=2048, hop_length=512))[:, :, 0]))
    F, N = V.shape
    W0 = np.random.default_rng(0).random((R, F, T))
    H0 = np.ones((R, N))

    def ours():
        return nmfd(V, R, T, N_ITER, W=W0, H=H0)

    def theirs():
        W, H, _, _, _ = ref_nmfd(V, num_comp=R, num_iter=N_ITER, num_template_frames=T,
                                 init_W=[w.copy() for w in W0], init_H=H0.copy())
        return np.stack(W), H

    print(f"V {V.shape} (n_freq, n_frames), R = {R}, T = {T}, {N_ITER} iterations, "
          f"min of {args.repeats} runs")
    for threads in args.blas_threads:
        with threadpool_limits(threads, user_api="blas"):
            (t_ours, t_lib), ((W, H, costs), (Wl, Hl)) = best_times([ours, theirs], args.repeats)
        dW, dH = rel_diff(W, Wl), rel_diff(H, V.sum() * Hl)
        print(f"\n-- BLAS limited to {threads} thread(s)")
        print(f"{'case':<28}{'time (s)':>10}{'ratio':>9}")
        print(f"{'sepkit nmfd':<28}{t_ours:>10.3f}{'1.0x':>9}")
        print(f"{'libnmfd nmfd':<28}{t_lib:>10.3f}{t_lib / t_ours:>8.1f}x")
        print(f"final W, H: max |sepkit - libnmfd| / max |libnmfd| = {dW:.1e}, {dH:.1e}; "
              f"sepkit KL cost {costs[0]:.6g} -> {costs[-1]:.6g}")
    if not args.no_memory:
        m_ours, m_lib = peak_memory(ours), peak_memory(theirs)
        print(f"\npeak memory during one call (tracemalloc): sepkit {m_ours / 2**20:.0f} MiB, "
              f"libnmfd {m_lib / 2**20:.0f} MiB (V itself: {V.nbytes / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
