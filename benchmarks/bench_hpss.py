"""Speed of ``sepkit.decomposition.hpss`` against ``librosa.decompose.hpss`` on the same spectrogram.

Workload: the magnitude STFT (n_fft 4096, hop 512: 2049 x 2585 for 30 s at 44.1 kHz) of the
mono downmix of the synthetic mixture of ``bench_wiener_idealmask.synthetic_sources``
(tones with vibrato and noise bursts), with librosa's defaults (``kernel_size=31``,
``power=2``, soft masks), and a second setting with margins (``kernel_size=17``,
``margin=(1, 3)``, the residual case of Driedger et al. 2014).

Both compute the same two median filters (31 frames along time, 31 bins along frequency)
and librosa's soft masks; librosa calls ``scipy.ndimage.median_filter`` (a generic filter
that sorts every window), sepkit a numba running median that keeps each window sorted
(rows in parallel). Times are minima over ``--repeats`` runs after a warm-up (numba
compilation excluded); the script also prints the largest difference between the outputs.
Usage::

    python benchmarks/bench_hpss.py [--repeats 3] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import librosa
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_wiener_idealmask import SAMPLE_RATE, synthetic_sources

from sepkit import AudioSignal, STFTParams
from sepkit.decomposition import hpss


def best_time(fn, repeats):
    """Minimum wall time and last result of ``fn()`` over ``repeats`` runs, after a warm-up run."""
    fn()
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the synthetic mixture")
    args = parser.parse_args()

    mono = synthetic_sources(args.seconds).sum(axis=0).mean(axis=0, keepdims=True)
    signal = AudioSignal(mono, SAMPLE_RATE)
    S = np.ascontiguousarray(np.abs(signal.stft(STFTParams(4096, 512))[:, :, 0]))
    print(f"S {S.shape} (n_freq, n_frames), float64, min of {args.repeats} runs")
    print(f"{'setting':<34}{'sepkit (s)':>12}{'librosa (s)':>13}{'ratio':>8}{'max |diff|':>12}")
    for name, kwargs in (
        ("defaults (31, power 2)", {}),
        ("kernel 17, margin (1, 3)", {"kernel_size": 17, "margin": (1.0, 3.0)}),
    ):
        t_ours, ours = best_time(lambda: hpss(S, **kwargs), args.repeats)
        t_ref, ref = best_time(lambda: librosa.decompose.hpss(S, **kwargs), args.repeats)
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, ref))
        print(f"{name:<34}{t_ours:>12.3f}{t_ref:>13.3f}{t_ref / t_ours:>7.1f}x{diff:>12.2e}")


if __name__ == "__main__":
    main()
