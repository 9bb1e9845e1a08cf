"""Speed of sepkit's ``scale_invariant`` (all 12 nussl keys) against a plain numpy loop.

Workload: the seeded synthetic sources of ``bench_wiener_idealmask.py`` (default 30 s,
44.1 kHz, stereo, 4 sources). The estimates are the sources with 10-20 % leakage from
the others plus white noise (seeded), so the scores are in the usual 5-25 dB range; the
mixture is the exact sum of the sources plus a little noise and is passed as the real
mixture.

In the same process, on the same arrays:

* ``scale_invariant(refs, ests, mixture=mix)``: every key, SI-SIR/SI-SAR included;
* the same with ``compute_permutation=True`` (adds the pairwise SI-SDR and the
  Hungarian assignment);
* a plain numpy version: a loop over sources and channels with nussl's formulas written
  out on explicit signals (mean removal, ``alpha``, residuals, the projection
  ``(R^T R)^-1 R^T e`` by ``np.linalg.solve``), as in nussl's ``BSSEvalScale``;
* if ``fast_bss_eval`` is installed, its ``si_sdr`` (SI-SDR only, one key) for scale.

Times are minimums over ``--repeats`` runs after a warm-up run. The script prints both
times, the ratio and the largest absolute difference between sepkit and the plain
version over all keys (dB). Usage::

    python benchmarks/bench_scale_invariant.py [--repeats 5] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_wiener_idealmask import synthetic_sources

from sepkit.evaluation.scale_invariant import SCALE_INVARIANT_KEYS, scale_invariant

SEED = 20261121


def plain_scale_invariant(refs: np.ndarray, ests: np.ndarray, mix: np.ndarray) -> dict:
    """nussl's BSSEvalScale formulas, one (source, channel) at a time."""
    refs = refs - refs.mean(axis=-1, keepdims=True)
    ests = ests - ests.mean(axis=-1, keepdims=True)
    mix = mix - mix.mean(axis=-1, keepdims=True)
    S, C, _ = refs.shape
    out = {k: np.zeros((S, C)) for k in SCALE_INVARIANT_KEYS}

    def db(num, den):
        return 10 * np.log10(num / den)

    for c in range(C):
        R = refs[:, c].T  # (N, S)
        for j in range(S):
            s, est, m = refs[j, c], ests[j, c], mix[c]
            alpha = (s @ est) / (s @ s)
            target = alpha * s
            e = est - target
            b = np.linalg.solve(R.T @ R, R.T @ e)
            e_interf = R @ b
            e_artif = e - e_interf
            t2 = np.sum(target**2)
            out["SI-SDR"][j, c] = db(t2, np.sum(e**2))
            out["SI-SIR"][j, c] = db(t2, np.sum(e_interf**2))
            out["SI-SAR"][j, c] = db(t2, np.sum(e_artif**2))
            out["SD-SDR"][j, c] = db(t2, np.sum((est - s) ** 2))
            out["SNR"][j, c] = db(np.sum(s**2), np.sum((est - s) ** 2))
            out["SRR"][j, c] = db(t2, np.sum((target - s) ** 2))
            alpha_m = (s @ m) / (s @ s)
            tm = alpha_m * s
            out["MIX-SI-SDR"][j, c] = db(np.sum(tm**2), np.sum((m - tm) ** 2))
            out["MIX-SD-SDR"][j, c] = db(np.sum(tm**2), np.sum((m - s) ** 2))
            out["MIX-SNR"][j, c] = db(np.sum(s**2), np.sum((m - s) ** 2))
    out["SI-SDRi"] = out["SI-SDR"] - out["MIX-SI-SDR"]
    out["SD-SDRi"] = out["SD-SDR"] - out["MIX-SD-SDR"]
    out["SNRi"] = out["SNR"] - out["MIX-SNR"]
    return out


def best_time(fn, repeats: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def workload(seconds: float):
    refs = synthetic_sources(seconds)
    rng = np.random.default_rng(SEED)
    S = refs.shape[0]
    leak = rng.uniform(0.1, 0.2, (S, S)) * (1 - np.eye(S)) + np.eye(S)
    ests = np.einsum("jk,kcn->jcn", leak, refs)
    ests += 0.02 * rng.standard_normal(ests.shape)
    mix = refs.sum(axis=0) + 0.01 * rng.standard_normal(refs.shape[1:])
    return refs, ests, mix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the workload in seconds")
    args = parser.parse_args(argv)

    refs, ests, mix = workload(args.seconds)
    S, C, N = refs.shape
    print(f"workload: {S} sources, {C} channels, {N} samples ({args.seconds:g} s at 44.1 kHz)")

    ours = scale_invariant(refs, ests, mixture=mix).values
    plain = plain_scale_invariant(refs, ests, mix)
    diffs = {k: float(np.max(np.abs(ours[k] - plain[k]))) for k in SCALE_INVARIANT_KEYS}
    worst = max(diffs, key=diffs.get)
    diff = diffs[worst]
    print("median scores (dB): " + ", ".join(f"{k} {np.median(ours[k]):.2f}" for k in ("SI-SDR", "SI-SIR", "SI-SAR")))

    t_ours = best_time(lambda: scale_invariant(refs, ests, mixture=mix), args.repeats)
    t_perm = best_time(lambda: scale_invariant(refs, ests, mixture=mix, compute_permutation=True), args.repeats)
    t_plain = best_time(lambda: plain_scale_invariant(refs, ests, mix), args.repeats)
    print(f"sepkit scale_invariant, 12 keys            {t_ours:8.3f} s")
    print(f"sepkit scale_invariant, + permutation      {t_perm:8.3f} s")
    print(f"plain numpy loop, 12 keys                  {t_plain:8.3f} s")
    print(f"ratio plain / sepkit                       {t_plain / t_ours:8.1f} x")
    print(f"max |sepkit - plain| over all keys         {diff:8.2e} dB ({worst})")

    try:
        import fast_bss_eval.numpy as fast_bss_eval  # optional peer (bench extra); numpy backend
    except ImportError:
        return
    # fast_bss_eval wants (..., n_sources, n_samples): channels first.
    r, e = refs.transpose(1, 0, 2).copy(), ests.transpose(1, 0, 2).copy()
    t_fast = best_time(lambda: fast_bss_eval.si_sdr(r, e, zero_mean=True), args.repeats)
    theirs = np.asarray(fast_bss_eval.si_sdr(r, e, zero_mean=True)).T
    print(
        f"fast_bss_eval.si_sdr (SI-SDR only)         {t_fast:8.3f} s   "
        f"max |diff| vs sepkit SI-SDR {np.max(np.abs(theirs - ours['SI-SDR'])):.2e} dB"
    )

if __name__ == "__main__":
    main()
