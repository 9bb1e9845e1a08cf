"""Speed of DictSep's stages against the per-frame figures of the original (Musisep).

Workload: the 3-s, 44.1-kHz synthetic two-instrument signal of ``notes/dictsep.md``
section 10 (``sepkit.separation.dictsep.synthetic_parts``; 517 frames of the Gaussian-window
STFT, H = 6144, hop 256). Timed stages:

* A. the Gaussian-window STFT of the whole clip;
* B. the pursuit-based log-frequency spectrogram (``log_spectrogram``), per frame:
  Musisep's settings (``floor=0``: up to 1000 peaks per frame, 20 pursuit iterations) and
  DictSep's fast mode (``floor=1e-3``, i.e. candidates below -60 dB of the frame maximum are
  ignored, and 5 pursuit iterations), each with one numba thread (the original's figure is
  single-threaded) and with all threads (frames in parallel);
* C. dictionary training (``train_dictionaries``, ``I = 2``, ``n_iter`` steps, lifetime 500)
  on the log spectrogram of the fast setting, per step, with one seed and with one seed
  per thread in parallel, with L-BFGS-B's stopping rules of the refits (faithful) and with
  fast mode's looser ones (``ftol=1e-6``, ``gtol=1e-4`` instead of 2.2e-9 and 1e-5);
* D. separation per frame: the dictionary pursuit of every log frame (``pursue_frames``,
  Musisep's settings: ``tone_num=1``, ``beta=0.9``, ``2 tone_num C`` iterations) with the
  true two-column dictionary, alone and followed by drawing every instrument's tones on the
  linear axis (``linear_spectra``, H = 6144 bins): the original's 0.05 s per frame covers
  both;
* E+F. ratio masks, masking and the inverse STFT of the whole clip, per output signal
  (``DictSep.make_audio_signals`` with the true dictionary; the original: about 1 s).

The original cannot be run here (it needs its compiled Cython kernels and data layout), so
its figures are the ones measured in ``notes/dictsep.md`` section 6 on a 2-core machine,
single-threaded: 1.1 s per log-spectrogram frame, 0.07 s per training step, 0.05 s per
separation frame. The issue's targets are 100x, 50x and 50x faster.

Times are minima over ``--repeats`` runs after a warm-up on two frames (numba compilation
excluded).
Usage::

    python benchmarks/bench_dictsep.py [--repeats 1] [--seconds 3] [--frames 517] [--n-iter 1000]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from sepkit import AudioSignal
from sepkit.separation.dictsep import (DictSep, Dictionary, gaussian_stft, linear_spectra, log_spectrogram,
                                       pursue_frames, synthetic_parts)
from sepkit.separation.dictsep.learning import train_dictionaries
from sepkit.separation.dictsep.synthetic import part_a_amplitudes, part_b_amplitudes

ORIGINAL = {
    "log-spectrogram frame": 1.1,
    "training step": 0.07,
    "separation frame": 0.05,
}
TARGET = {"log-spectrogram frame": 100, "training step": 50, "separation frame": 50}


def _best(fn, repeats, warm=None):
    (warm or fn)()  # warm-up (compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--n-iter", type=int, default=1000, help="training steps per dictionary")
    parser.add_argument("--frames", type=int, default=None,
                        help="time the log spectrogram on the first FRAMES frames only")
    args = parser.parse_args(argv)

    part_a, part_b = synthetic_parts(seconds=args.seconds)
    mix = part_a + part_b
    t_stft = _best(lambda: gaussian_stft(mix), args.repeats)
    mag = np.abs(gaussian_stft(mix))
    if args.frames is not None:
        mag = np.ascontiguousarray(mag[:, : args.frames])
    n_frames = mag.shape[1]
    print(f"signal: {args.seconds:g} s synthetic mixture (notes section 10), 44.1 kHz, "
          f"{n_frames} frames timed; numba threads available: {numba.config.NUMBA_NUM_THREADS}")
    print("The original (Musisep) is not run here: its figures are taken from "
          "notes/dictsep.md section 6 (single-threaded, 2-core machine).")
    print(f"A. STFT of the whole clip: {t_stft:.3f} s (original: 0.2-1.1 s)")
    print()
    header = f"{'stage':44s} {'threads':>7s} {'s/frame':>10s} {'original':>9s} {'speed-up':>9s} {'target':>7s}"
    print(header)
    print("-" * len(header))
    settings = [
        ("B. log spectrogram, Musisep settings", {}),
        ("B. log spectrogram, fast mode", {"floor": 1e-3, "max_iter": 5}),
    ]
    all_threads = numba.config.NUMBA_NUM_THREADS
    for label, kwargs in settings:
        for threads in sorted({1, all_threads}):
            numba.set_num_threads(threads)
            t = _best(lambda: log_spectrogram(mag, 44100, **kwargs), args.repeats,
                      warm=lambda: log_spectrogram(mag[:, :2], 44100, **kwargs))
            per = t / n_frames
            ratio = ORIGINAL["log-spectrogram frame"] / per
            print(f"{label:44s} {threads:7d} {per:10.4f} {1.1:9.2f} {ratio:8.1f}x "
                  f"{TARGET['log-spectrogram frame']:6d}x")
        numba.set_num_threads(all_threads)
        _, counts = log_spectrogram(mag, 44100, return_counts=True, **kwargs)
        print(f"{'':44s} peaks per frame: mean {counts.mean():.0f}, max {counts.max()}")
    # D. separation: dictionary pursuit of every log frame with the true two-column
    # dictionary, then the tones of every instrument drawn on the linear axis
    Y = log_spectrogram(np.abs(gaussian_stft(mix)), 44100, floor=1e-3, max_iter=5)
    D2 = np.stack([part_a_amplitudes(), part_b_amplitudes()], axis=1)
    D2 /= D2.max(axis=0)

    def separate(Ys):
        return linear_spectra(pursue_frames(Ys, D2), D2, 44100)

    for label, fn in (("D. dictionary pursuit (I=2, 4 iterations)", lambda Ys: pursue_frames(Ys, D2)),
                      ("D. separation frame: pursuit + linear spectra", separate)):
        for threads in sorted({1, all_threads}):
            numba.set_num_threads(threads)
            t = _best(lambda: fn(Y), args.repeats, warm=lambda: fn(Y[:, :2]))
            per = t / Y.shape[1]
            print(f"{label:44s} {threads:7d} {per:10.4f} "
                  f"{ORIGINAL['separation frame']:9.2f} {ORIGINAL['separation frame'] / per:8.1f}x "
                  f"{TARGET['separation frame']:6d}x")
    numba.set_num_threads(all_threads)
    # C. training: `runs` steps per dictionary (2I = 4 columns), one or two seeds in parallel
    runs = args.n_iter
    for num_dicts in sorted({1, all_threads}):
        t = _best(lambda: train_dictionaries(Y, 2, n_iter=runs, lifetime=500, num_dicts=num_dicts, seed=0),
                  args.repeats,
                  warm=lambda: train_dictionaries(Y[:, :4], 2, n_iter=2, lifetime=2, num_dicts=num_dicts, seed=0))
        per = t / (runs * num_dicts)
        label = f"C. training step ({num_dicts} seed{'s' if num_dicts > 1 else ''} in parallel)"
        print(f"{label:44s} {min(num_dicts, all_threads):7d} {per:10.4f} {ORIGINAL['training step']:9.2f} "
              f"{ORIGINAL['training step'] / per:8.1f}x {TARGET['training step']:6d}x")
    loose = {"ftol": 1e-6, "gtol": 1e-4}  # DictSep's fast mode (FAST_TOLERANCES)
    for num_dicts in sorted({1, all_threads}):
        t = _best(lambda: train_dictionaries(Y, 2, n_iter=runs, lifetime=500, num_dicts=num_dicts, seed=0, **loose),
                  args.repeats,
                  warm=lambda: train_dictionaries(Y[:, :4], 2, n_iter=2, lifetime=2, num_dicts=num_dicts, seed=0,
                                                  **loose))
        per = t / (runs * num_dicts)
        label = f"C. training step, fast mode ({num_dicts} seed{'s' if num_dicts > 1 else ''})"
        print(f"{label:44s} {min(num_dicts, all_threads):7d} {per:10.4f} {ORIGINAL['training step']:9.2f} "
              f"{ORIGINAL['training step'] / per:8.1f}x {TARGET['training step']:6d}x")
    numba.set_num_threads(all_threads)
    # E+F. masks and resynthesis of the whole clip (ratio masks, inverse STFT), per output signal
    sep = DictSep(AudioSignal(mix, sample_rate=44100), 2, dictionary=Dictionary(D2, 44100), verbose=False)
    sep.run()
    t = _best(sep.make_audio_signals, args.repeats)
    print(f"E+F. ratio masks + inverse STFT of the clip: {t / 2:.3f} s per output signal (original: about 1 s)")
    print()
    print("Row C is the complete training step (pursuit with 2I = 4 columns, dictionary gradient, bounded")
    print("Adam, renewal); with several seeds, the time per step is wall time / (steps x seeds).")

if __name__ == "__main__":
    main()
