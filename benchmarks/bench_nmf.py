"""Speed of sepkit's beta-NMF against scikit-learn ``NMF(solver='mu')`` and a plain numpy loop.

Workload (issue 4): the mono magnitude STFT (n_fft 2048, hop 512: 1025 x 2584) of the
30-s synthetic mixture of ``bench_wiener_idealmask.synthetic_sources`` (seeded), K = 8,
200 iterations, the same initial W0, H0 (sepkit's NNDSVDa with seed 0) for everyone. In
the same process, for beta = 1 (KL) and beta = 2 (Frobenius):

* ``sepkit.decomposition.nmf(V, 8, beta=..., n_iter=200, init=(W0, H0), normalize=False)``;
* ``sklearn.decomposition.NMF(8, solver='mu', beta_loss=..., max_iter=200, tol=0,
  init='custom')`` fit on V (F samples x N features, so sklearn's W is ours);
* a plain numpy MU loop with the same formulas (``Lam = max(W @ H, eps)``, W then H).

Times are minima over ``--repeats`` runs after a warm-up (numba compilation excluded);
the relative difference of the final beta-divergences is printed beside them. The table
is run with BLAS limited to two threads and to one. sepkit computes the cost after every
iteration (``costs``); scikit-learn with ``tol=0`` and the numpy loop compute none. Usage::

    python benchmarks/bench_nmf.py [--repeats 3] [--seconds 30] [--blas-threads 2 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

from sepkit import AudioSignal, STFTParams
from sepkit.decomposition import nmf
from sepkit.kernels.nmf import beta_divergence

K = 8
N_ITER = 200
EPS32 = float(np.finfo(np.float32).eps)


def best_time(fn, repeats):
    """Minimum wall time and last result of ``fn()`` over ``repeats`` runs, after a warm-up run."""
    fn()
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def numpy_mu(V, W, H, beta, n_iter):
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


def sklearn_mu(V, W0, H0, beta):
    from sklearn.decomposition import NMF

    model = NMF(K, solver="mu", beta_loss="kullback-leibler" if beta == 1 else "frobenius",
                max_iter=N_ITER, tol=0, init="custom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = model.fit_transform(V, W=W0.copy(), H=H0.copy())
    return W, model.components_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the workload in seconds")
    parser.add_argument("--blas-threads", type=int, nargs="+", default=[2, 1],
                        help="BLAS thread limits to run the table under")
    args = parser.parse_args(argv)

    mono = synthetic_sources(args.seconds).sum(axis=0).mean(axis=0, keepdims=True)
    mix = AudioSignal(mono, SAMPLE_RATE, label="mix")
    V = np.ascontiguousarray(np.abs(mix.stft(STFTParams(window_length=2048, hop_length=512))[:, :, 0]))
    W0, H0, _ = nmf(V, K, n_iter=0, seed=0)
    try:
        import threadpoolctl

        blas = threadpoolctl.threadpool_info()
        blas_desc = ", ".join(f"{b['internal_api']} {b['num_threads']} threads" for b in blas if b["user_api"] == "blas")
    except ImportError:  # pragma: no cover
        blas_desc = "?"
    print(f"V {V.shape} (n_freq, n_frames), K = {K}, {N_ITER} iterations, min of {args.repeats} runs; BLAS: {blas_desc}")
    from threadpoolctl import threadpool_limits

    for threads in args.blas_threads:
        print(f"\n-- BLAS limited to {threads} thread(s) for every case "
              "(sepkit itself runs 1-thread BLAS around its parallel kernels when beta != 2)")
        with threadpool_limits(threads, user_api="blas"):
            table(V, W0, H0, args.repeats)


def table(V, W0, H0, repeats):
    print(f"{'case':<34}{'time (s)':>10}{'t / t_sepkit':>14}{'final cost':>16}{'rel. diff':>12}")
    for beta, name in ((1, "KL"), (2, "Frobenius")):
        t_ours, (_W, _H, costs) = best_time(
            lambda b=beta: nmf(V, K, beta=b, n_iter=N_ITER, init=(W0, H0), normalize=False), repeats)
        t_skl, (Ws, Hs) = best_time(lambda b=beta: sklearn_mu(V, W0, H0, b), repeats)
        t_np, (Wn, Hn) = best_time(lambda b=beta: numpy_mu(V, W0, H0, b, N_ITER), repeats)
        t_32, (W32, H32, _) = best_time(
            lambda b=beta: nmf(V.astype(np.float32), K, beta=b, n_iter=N_ITER, init=(W0, H0), normalize=False),
            repeats)
        c_ours = costs[-1]
        rows = [
            (f"sepkit nmf beta={beta} ({name})", t_ours, c_ours),
            (f"sepkit nmf beta={beta} float32", t_32,
             beta_divergence(V, W32.astype(np.float64) @ H32.astype(np.float64), float(beta), 0.0)),
            (f"sklearn NMF mu {name}", t_skl, beta_divergence(V, Ws @ Hs, float(beta), 0.0)),
            (f"numpy MU loop {name}", t_np, beta_divergence(V, Wn @ Hn, float(beta), 0.0)),
        ]
        for label, t, c in rows:
            ratio = "1.0x" if t is t_ours else f"{t / t_ours:.2f}x"
            print(f"{label:<34}{t:>10.3f}{ratio:>14}{c:>16.6g}{(c - c_ours) / c_ours:>12.2e}")


if __name__ == "__main__":
    main()
