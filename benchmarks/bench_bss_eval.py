"""Speed and memory of sepkit's BSS Eval against museval, mir_eval and fast_bss_eval.

One synthetic workload (default 30 s, 44.1 kHz, stereo, 4 sources from
``bench_wiener_idealmask.synthetic_sources``, fixed seed), references quantised to 16 bits
as real recordings are (without it the band-limited synthetic references give a
numerically singular Gram matrix). Estimates: ``0.8 s_j + 0.15 s_{j+1} + noise`` (seeded
leakage and white noise at about -30 dB). In the same process:

* BSS Eval v4, images mode, 1 s non-overlapping frames, filters over the whole signal:
  ``sepkit.evaluation.bss_eval.bss_eval_v4`` vs ``museval.evaluate`` (``mode='v4'``);
* BSS Eval v3 ``bss_eval_sources`` (512 taps, with permutation) on the mono mix-down
  (mean of the channels): sepkit vs ``fast_bss_eval.bss_eval_sources`` (numpy backend)
  vs ``mir_eval.separation.bss_eval_sources`` (run once: it takes minutes).

Times are the minimum over ``--repeats`` runs after a warm-up run (numba compilation
excluded); slow peers (over 20 s per run) are run once. The largest absolute difference
between the libraries' values is printed. Peak memory is measured with ``tracemalloc`` (numpy
arrays and Python objects; FFT and LAPACK work buffers are not traced) in separate runs.

museval needs ffmpeg on PATH to import (``apt-get install ffmpeg``). Usage::

    python benchmarks/bench_bss_eval.py [--repeats 3] [--seconds 30] [--skip-mir-eval]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

from sepkit.evaluation.bss_eval import bss_eval_sources, bss_eval_v4

SEED = 20261121


def workload(seconds: float):
    """References and estimates, shape (4, 2, n_samples), float64."""
    refs = synthetic_sources(seconds)
    refs = np.round(refs / np.abs(refs).max() * 0.9 * 32767) / 32768  # 16-bit grid
    rng = np.random.default_rng(SEED)
    ests = 0.8 * refs + 0.15 * np.roll(refs, -1, axis=0)
    ests += 0.03 * refs.std() * rng.standard_normal(refs.shape)
    return refs, ests


def timed(fn, repeats):
    """(minimum time, result) over ``repeats`` runs after a warm-up; one run if slow."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    if first > 20.0:
        return first, result, 1
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result, repeats


def peak_memory(fn):
    """Peak traced allocation (MiB) during ``fn()``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--skip-mir-eval", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    import fast_bss_eval
    import museval

    refs, ests = workload(args.seconds)
    refs_t, ests_t = refs.transpose(0, 2, 1).copy(), ests.transpose(0, 2, 1).copy()  # (src, samples, chan)
    mono_refs, mono_ests = refs.mean(axis=1), ests.mean(axis=1)
    print(f"workload: {refs.shape[0]} sources, {refs.shape[1]} channels, {args.seconds:g} s at {SAMPLE_RATE} Hz")

    rows = []

    # --- v4 images, 1 s frames
    sk = lambda: bss_eval_v4(refs, ests, sample_rate=SAMPLE_RATE, window=1.0, hop=1.0)
    mu = lambda: museval.evaluate(refs_t, ests_t, win=SAMPLE_RATE, hop=SAMPLE_RATE, mode="v4")
    t_sk, r_sk, n_sk = timed(sk, args.repeats)
    t_mu, r_mu, n_mu = timed(mu, args.repeats)
    diffs = {k: float(np.nanmax(np.abs(r_sk.values[k] - v))) for k, v in zip(("SDR", "ISR", "SIR", "SAR"), r_mu)}
    print(f"\nv4 images, 1 s frames ({r_sk.values['SDR'].shape[1]} frames)")
    print(f"  sepkit bss_eval_v4   {t_sk:8.2f} s  (min of {n_sk})")
    print(f"  museval.evaluate     {t_mu:8.2f} s  (min of {n_mu})   museval / sepkit = {t_mu / t_sk:.1f}x")
    print("  max |sepkit - museval| dB: " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    rows.append(("v4", sk, mu))

    # --- v3 sources, mono, with permutation
    sk3 = lambda: bss_eval_sources(mono_refs, mono_ests, compute_permutation=True)
    fb = lambda: fast_bss_eval.bss_eval_sources(mono_refs, mono_ests, compute_permutation=True)
    t_sk3, r_sk3, n_sk3 = timed(sk3, args.repeats)
    t_fb, r_fb, n_fb = timed(fb, args.repeats)
    sdr, sir, sar, perm = r_fb
    print("\nv3 bss_eval_sources, mono, 512 taps, with permutation")
    print(f"  sepkit               {t_sk3:8.2f} s  (min of {n_sk3})")
    print(f"  fast_bss_eval        {t_fb:8.2f} s  (min of {n_fb})   fast_bss_eval / sepkit = {t_fb / t_sk3:.1f}x")
    print(f"  same permutation: {np.array_equal(np.asarray(perm), r_sk3.assignment)}; max |sepkit - fast_bss_eval| dB: "
          + ", ".join(f"{k} {float(np.max(np.abs(r_sk3.values[k][:, 0] - np.asarray(v)))):.2e}"
                      for k, v in zip(("SDR", "SIR", "SAR"), (sdr, sir, sar))))
    rows.append(("v3 sources", sk3, fb))
    if not args.skip_mir_eval:
        import mir_eval

        start = time.perf_counter()
        m_sdr, m_sir, m_sar, m_perm = mir_eval.separation.bss_eval_sources(mono_refs, mono_ests)
        t_me = time.perf_counter() - start
        print(f"  mir_eval             {t_me:8.2f} s  (1 run)          mir_eval / sepkit = {t_me / t_sk3:.1f}x")
        print(f"  same permutation: {np.array_equal(m_perm, r_sk3.assignment)}; max |sepkit - mir_eval| dB: "
              + ", ".join(f"{k} {float(np.max(np.abs(r_sk3.values[k][:, 0] - v))):.2e}"
                          for k, v in zip(("SDR", "SIR", "SAR"), (m_sdr, m_sir, m_sar))))

    if not args.skip_memory:
        print("\npeak traced memory (tracemalloc, one run each)")
        for name, ours, peer in rows:
            print(f"  {name:11s} sepkit {peak_memory(ours):8.1f} MiB   peer {peak_memory(peer):8.1f} MiB")


if __name__ == "__main__":
    main()
