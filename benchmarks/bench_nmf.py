"""Speed of sepkit's beta-NMF against scikit-learn ``NMF`` (``solver='mu'`` and ``'cd'``) and a numpy loop.

Workload (issue 4): the mono magnitude STFT (n_fft 2048, hop 512: 1025 x 2585) of the
30-s synthetic mixture of ``bench_wiener_idealmask.synthetic_sources`` (seeded), K = 8,
200 iterations, the same initial W0, H0 (sepkit's NNDSVDa with seed 0) for everyone:

* ``sepkit.decomposition.nmf(V, 8, beta=..., n_iter=200, init=(W0, H0), normalize=False)``,
  which also records the cost of every iteration;
* ``sklearn.decomposition.NMF(8, solver='mu', beta_loss=..., max_iter=200, tol=0,
  init='custom')`` fit on V (F samples x N features, so sklearn's W is ours): the same
  multiplicative updates, so the same iterates up to roundoff;
* for Frobenius, ``NMF(8, solver='cd', max_iter=200, tol=0, init='custom')`` (coordinate
  descent, sklearn's default solver; a different algorithm, so its final cost differs);
* a plain numpy MU loop with the textbook formulas (``Lam = max(W @ H, eps)``, W then H).

Times are minima over ``--repeats`` rounds, each round running every case once (so that
all cases see the same changes of load on a shared machine), after a warm-up of 2
iterations per case (numba compilation excluded); first with BLAS limited to two threads for every case, then to one. sepkit's KL loop
runs numba kernels only (no BLAS product), on numba's threads (two here); the row
``1 thread`` limits them to one as well (``numba.set_num_threads(1)``). ``rel. cost`` is (cost - cost_sepkit) / cost_sepkit for the final
beta-divergence. ``peak MiB`` (``--memory``, on by default) is the peak of the memory
allocated through Python and numpy during one extra, untimed call, by ``tracemalloc``
(every numpy array, sepkit's private copy of V included; not counted: BLAS's internal
buffers and the few N-length scratch vectors of numba kernels, under 1 MiB here). V itself
(20.2 MiB) is allocated before the call and not counted. Usage::

    python benchmarks/bench_nmf.py [--repeats 3] [--seconds 30] [--blas-threads 2 1] [--no-memory]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

K = 8
N_ITER = 200
EPS32 = float(np.finfo(np.float32).eps)


def spectrogram(seconds):
    """The benchmark's magnitude spectrogram V (1025, n_frames) of the synthetic mixture."""
    from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

    from sepkit import AudioSignal, STFTParams

    mono = synthetic_sources(seconds).sum(axis=0).mean(axis=0, keepdims=True)
    mix = AudioSignal(mono, SAMPLE_RATE, label="mix")
    return np.ascontiguousarray(np.abs(mix.stft(STFTParams(window_length=2048, hop_length=512))[:, :, 0]))


def numpy_mu(V, W, H, beta, n_iter=N_ITER):
    """Plain numpy beta-NMF MU (beta in {1, 2}), W then H, as the textbook formulas."""
    W, H = W.copy(), H.copy()
    for _ in range(n_iter):
        if beta == 2:
            W *= (V @ H.T) / (W @ (H @ H.T))
            H *= (W.T @ V) / ((W.T @ W) @ H)
        else:
            L = np.maximum(W @ H, EPS32)
            W *= ((V / L) @ H.T) / H.sum(axis=1)[None, :]
            L = np.maximum(W @ H, EPS32)
            H *= (W.T @ (V / L)) / W.sum(axis=0)[:, None]
    return W, H


def sklearn_nmf(V, W0, H0, beta, solver, n_iter=N_ITER):
    from sklearn.decomposition import NMF

    model = NMF(W0.shape[1], solver=solver, beta_loss="kullback-leibler" if beta == 1 else "frobenius",
                max_iter=n_iter, tol=0, init="custom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        W = model.fit_transform(V, W=W0.copy(), H=H0.copy())
    return W, model.components_


def sepkit_nmf(V, W0, H0, beta, n_iter=N_ITER):
    from sepkit.decomposition import nmf

    W, H, _ = nmf(V, W0.shape[1], beta=beta, n_iter=n_iter, init=(W0, H0), normalize=False)
    return W, H


#: (label, beta, implementation) of every case, in table order.
CASES = [
    ("sepkit nmf, KL", 1, "sepkit"),
    ("sepkit nmf, KL, 1 thread", 1, "sepkit1"),
    ("sklearn NMF mu, KL", 1, "mu"),
    ("numpy MU loop, KL", 1, "numpy"),
    ("sepkit nmf, Frobenius", 2, "sepkit"),
    ("sklearn NMF cd, Frobenius", 2, "cd"),
    ("sklearn NMF mu, Frobenius", 2, "mu"),
    ("numpy MU loop, Frobenius", 2, "numpy"),
]


def run_case(impl, V, W0, H0, beta, n_iter=N_ITER):
    if impl == "sepkit":
        return sepkit_nmf(V, W0, H0, beta, n_iter)
    if impl == "sepkit1":  # numba kernels on one thread
        import numba

        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return sepkit_nmf(V, W0, H0, beta, n_iter)
        finally:
            numba.set_num_threads(threads)
    if impl == "numpy":
        return numpy_mu(V, W0, H0, beta, n_iter)
    return sklearn_nmf(V, W0, H0, beta, impl, n_iter)


def peak_memory(fn):
    """Peak bytes allocated through Python/numpy (tracemalloc) during ``fn()``."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the workload in seconds")
    parser.add_argument("--blas-threads", type=int, nargs="+", default=[2, 1],
                        help="BLAS thread limits to run the table under")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-memory measurement (one extra call per case)")
    args = parser.parse_args(argv)

    import numba
    import threadpoolctl
    from threadpoolctl import threadpool_limits

    from sepkit.decomposition import nmf

    V = spectrogram(args.seconds)
    W0, H0, _ = nmf(V, K, n_iter=0, seed=0)
    blas = threadpoolctl.threadpool_info()
    blas_desc = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)"
                          for b in blas if b["user_api"] == "blas")
    print(f"V {V.shape} (n_freq, n_frames), K = {K}, {N_ITER} iterations, min of {args.repeats} runs; "
          f"BLAS: {blas_desc}; numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads)")
    for threads in args.blas_threads:
        print(f"\n-- BLAS limited to {threads} thread(s) for every case")
        with threadpool_limits(threads, user_api="blas"):
            table(V, W0, H0, args.repeats, args.memory)


def table(V, W0, H0, repeats, memory):
    """Time every case in round-robin (one run of each case per round), keep each case's minimum.

    Interleaving the cases exposes them alike to the load of a shared machine, which
    changes over minutes; a warm-up of 2 iterations per case comes first.
    """
    from sepkit.kernels.nmf import beta_divergence

    for label, beta, impl in CASES:
        run_case(impl, V, W0, H0, beta, 2)
    best = {label: np.inf for label, _, _ in CASES}
    results = {}
    for _ in range(repeats):
        for label, beta, impl in CASES:
            start = time.perf_counter()
            results[label] = run_case(impl, V, W0, H0, beta)
            best[label] = min(best[label], time.perf_counter() - start)
    print(f"{'case':<28}{'time (s)':>10}{'t / t_sepkit':>14}{'final cost':>16}{'rel. cost':>12}"
          f"{'peak MiB':>10}")
    ref_t = ref_c = None
    for label, beta, impl in CASES:
        t, (W, H) = best[label], results[label]
        c = beta_divergence(V, W @ H, float(beta), 0.0)
        if impl == "sepkit":
            ref_t, ref_c = t, c
        mem = (f"{peak_memory(lambda i=impl, b=beta: run_case(i, V, W0, H0, b)) / 2**20:10.1f}" if memory
               else f"{'-':>10}")
        print(f"{label:<28}{t:>10.3f}{t / ref_t:>13.2f}x{c:>16.6g}{(c - ref_c) / ref_c:>12.1e}{mem}",
              flush=True)


if __name__ == "__main__":
    main()
