"""Speed of sepkit's separable NMF (SNPA, XRAY-greedy) against a plain numpy/scipy implementation.

Workloads:

* a random separable matrix, 100 x 400, r = 6 anchors planted among the columns (seeded,
  columns permuted, 2 % noise);
* the mono magnitude STFT (n_fft 2048, hop 512: 1025 x 2584) of the 30-s synthetic mixture
  of ``bench_wiener_idealmask.synthetic_sources`` (as ``bench_nmf.py``), r = 8.

The peer is written here from the formulas of the team's notes (section 3), the way one
would port Gillis' MATLAB code to numpy: SNPA normalises the columns to unit sum, runs a
numpy FPGM (simplex projection by sorting, vectorised over columns) after every extraction
and updates the residual norms by the Gram formula; the final H is scipy's
``optimize.nnls`` column by column on the unnormalised data. XRAY-greedy forms the residual
R, scores ``||R.T x_j||^2 / (1.T x_j)^2`` and solves an NNLS (``scipy.optimize.nnls`` per
column) after every extraction. sepkit is called with the matching settings: SNPA with its
defaults, XRAY with ``normalize=False, proj='nonneg'`` (XRAY's conic NNLS).

Times are minima over ``--repeats`` runs after a warm-up (numba compilation excluded),
with BLAS limited to each of ``--blas-threads`` in turn (the peer's time depends on it;
sepkit limits BLAS to one thread itself). The script prints whether both select the same
columns and the final relative residuals ``||V - W H||_F / ||V||_F``. Usage::

    python benchmarks/bench_snpa.py [--repeats 3] [--seconds 30] [--blas-threads 2 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

from sepkit import AudioSignal, STFTParams
from sepkit.decomposition import snpa


def best_time(fn, repeats):
    """Minimum wall time and last result of ``fn()`` over ``repeats`` runs, after a warm-up run."""
    fn()
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


# ---------------------------------------------------------------- the numpy/scipy peer


def np_project_delta(Y):
    """Project every column of Y onto {x >= 0, sum x <= 1} (sort-based, vectorised)."""
    k, n = Y.shape
    U = -np.sort(-Y, axis=0)
    C = np.cumsum(U, axis=0) - 1
    rho = k - 1 - np.argmax((U - C / np.arange(1, k + 1)[:, None] > 0)[::-1], axis=0)
    theta = C[rho, np.arange(n)] / (rho + 1)
    P = np.maximum(Y, 0)
    return np.where(P.sum(axis=0) <= 1, P, np.maximum(Y - theta, 0))


def np_fpgm(G, B, H, simplex, max_iter=200, tol=1e-6):
    """Gillis' nnls_FPGM in numpy: min ||X - U H||^2 from G = U.T U, B = U.T X."""
    proj = np_project_delta if simplex else (lambda A: np.maximum(A, 0))
    L = np.linalg.norm(G, 2)
    H = proj(H)
    Y = H.copy()
    alpha = 0.05
    first = None
    for _ in range(max_iter):
        Hn = proj(Y - (G @ Y - B) / L)
        alpha_n = (np.sqrt(alpha**4 + 4 * alpha**2) - alpha**2) / 2
        beta = alpha * (1 - alpha) / (alpha**2 + alpha_n)
        Y = Hn + beta * (Hn - H)
        diff = np.linalg.norm(Hn - H)
        H, alpha = Hn, alpha_n
        if first is None:
            first = diff
        if diff <= tol * first:
            break
    return H


def nnls_columns(W, V):
    return np.stack([nnls(W, V[:, j])[0] for j in range(V.shape[1])], axis=1)


def peer_snpa(V, r):
    X = V / np.maximum(V.sum(axis=0), 1e-16)
    n0 = np.sum(X * X, axis=0)
    nR = n0.copy()
    idx = []
    H = np.zeros((0, X.shape[1]))
    while len(idx) < r and np.sqrt(nR.max() / n0.max()) > 1e-6:
        top = nR.max()
        tied = np.flatnonzero(top - nR <= 1e-6 * top)
        b = int(tied[np.argmax(n0[tied])])
        idx.append(b)
        U = X[:, idx]
        G, B = U.T @ U, U.T @ X
        H0 = np.vstack([H, np.zeros((1, X.shape[1]))])
        H0[:, b] = 0
        H0[-1, b] = 1
        H = np_fpgm(G, B, H0, True)
        nR = n0 - 2 * np.sum(H * B, axis=0) + np.sum(H * (G @ H), axis=0)
    W = V[:, idx]
    return np.array(idx), W, nnls_columns(W, V)


def peer_xray_greedy(V, r):
    l1sq = V.sum(axis=0) ** 2
    l1sq[l1sq == 0] = np.inf
    R = V
    idx = []
    H = None
    for _ in range(r):
        score = np.sum((R.T @ V) ** 2, axis=0) / l1sq
        score[idx] = -np.inf
        idx.append(int(np.argmax(score)))
        W = V[:, idx]
        H = nnls_columns(W, V)
        R = V - W @ H
    return np.array(idx), V[:, idx], H


# ---------------------------------------------------------------- workloads


def separable(seed=0, m=100, r=6, n=400, noise=0.02):
    rng = np.random.default_rng(seed)
    W = rng.random((m, r))
    H = np.hstack([np.eye(r), rng.dirichlet(np.full(r, 0.5), n - r).T])
    X = (W @ H)[:, rng.permutation(n)]
    E = rng.standard_normal(X.shape)
    return np.maximum(X + noise * np.linalg.norm(X) / np.linalg.norm(E) * E, 0)


def table(name, V, r, repeats):
    print(f"\n{name}: V {V.shape}, r = {r}, min of {repeats} runs")
    print(f"{'case':<40}{'time (s)':>10}{'t / t_sepkit':>14}{'rel. residual':>16}{'same columns':>14}")
    cases = [
        ("SNPA", lambda: snpa(V, r, return_indices=True), lambda: peer_snpa(V, r)),
        ("XRAY-greedy", lambda: snpa(V, r, variant="xray-greedy", normalize=False, proj="nonneg",
                                     return_indices=True), lambda: peer_xray_greedy(V, r)),
    ]
    v_norm = np.linalg.norm(V)
    for label, ours, peer in cases:
        t_ours, (W, H, _costs, idx) = best_time(ours, repeats)
        t_peer, (idx_p, Wp, Hp) = best_time(peer, repeats)
        same = "yes" if set(idx.tolist()) == set(idx_p.tolist()) else "no"
        res = np.linalg.norm(V - W @ H) / v_norm
        print(f"{'sepkit ' + label:<40}{t_ours:>10.3f}{'1.0x':>14}{res:>16.8f}{same:>14}")
        print(f"{'numpy/scipy ' + label:<40}{t_peer:>10.3f}{t_peer / t_ours:>13.1f}x"
              f"{np.linalg.norm(V - Wp @ Hp) / v_norm:>16.8f}{'':>14}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="duration of the spectrogram workload in seconds")
    parser.add_argument("--blas-threads", type=int, nargs="+", default=[2, 1],
                        help="BLAS thread limits to run the tables under")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    mono = synthetic_sources(args.seconds).sum(axis=0).mean(axis=0, keepdims=True)
    mix = AudioSignal(mono, SAMPLE_RATE, label="mix")
    V = np.ascontiguousarray(np.abs(mix.stft(STFTParams(window_length=2048, hop_length=512))[:, :, 0]))
    for threads in args.blas_threads:
        print(f"\n-- BLAS limited to {threads} thread(s) for every case "
              "(sepkit itself runs 1-thread BLAS throughout)")
        with threadpool_limits(threads, user_api="blas"):
            table("separable 2 % noise", separable(), 6, args.repeats)
            table(f"{args.seconds:g}-s spectrogram", V, 8, args.repeats)


if __name__ == "__main__":
    main()
