"""DictSep end to end on a 30-s two-source mixture: wall time per stage and peak memory.

The issue's target: a 30-s two-source mixture separated in ``mode='fast'`` (default
settings: 2000 training steps per dictionary, 4 dictionaries, the lowest pursuit loss kept)
in under 2 minutes on 2 cores, with peak memory under 2 GB. Two mixtures:

* ``synthetic``: the two-instrument signal of ``notes/dictsep.md`` section 10
  (``synthetic_parts(seconds=30)``, sparse spectra);
* ``chorale``: real instrument samples, the violin + clarinet duet of the bundled BWV 255
  example (10 s) and of the BWV 256 stems in ``tests/data/chorales`` (6 s), concatenated
  as 255, 256, 255, 256 and cut at 30 s (dense spectra: the log spectrogram hits the
  1000-peak cap in faithful mode).

Each case runs in a fresh process, so its peak resident memory (``ru_maxrss``, including the
interpreter, numpy, numba and the compiled kernels, about 0.3 GB) is its own. Numba
compilation is excluded by a warm-up on 1 s of the same mixture. The stages are timed inside
one ``DictSep`` call (STFT + log spectrogram, training, separation of every candidate,
linear spectra, masking + inverse STFT).

The original (Musisep) cannot run here; for scale, its single-threaded per-stage figures of
``notes/dictsep.md`` section 6 (1.1 s per log frame, 0.07 s per training step, 0.05 s per
separation frame) give about 2 hours for the same settings, and about 20 hours at the
paper's (100000 steps, 10 dictionaries).

Usage::

    python benchmarks/dictsep_end_to_end.py [--case synthetic chorale] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = {"log frame": 1.1, "training step": 0.07, "separation frame": 0.05}


def _mixture(case: str, seconds: float):
    """``(mix, [source_a, source_b])`` of ``seconds`` seconds at 44.1 kHz."""
    import sepkit
    from sepkit import AudioSignal
    from sepkit.separation.dictsep import synthetic_parts

    rate = 44100
    n = int(round(seconds * rate))
    if case == "synthetic":
        part_a, part_b = synthetic_parts(seconds=seconds)
        parts = [part_a, part_b]
    else:
        _, sources = sepkit.datasets.load_example(["violin", "clarinet"])
        first = [sources[name].audio_data[0] for name in ("violin", "clarinet")]
        second = [AudioSignal(ROOT / "tests" / "data" / "chorales" / f"bwv256_{name}.flac").audio_data[0]
                  for name in ("violin", "clarinet")]
        parts = []
        for a, b in zip(first, second):
            track = np.concatenate([a, b] * (n // (a.size + b.size) + 1))
            parts.append(track[:n])
    refs = [AudioSignal(p, sample_rate=rate) for p in parts]
    return AudioSignal(parts[0] + parts[1], sample_rate=rate), refs


def run_case(case: str, seconds: float) -> dict:
    from sepkit.evaluation import si_sdr_signals
    from sepkit.separation import DictSep

    mix, refs = _mixture(case, seconds)
    DictSep(mix.truncate(mix.sample_rate), 2, n_iter=20, lifetime=20, num_dicts=2, mode="fast", seed=0,
            verbose=False)()  # warm-up: numba compilation
    sep = DictSep(mix, 2, mode="fast", seed=0, verbose=False)
    times = {}
    start = time.perf_counter()
    sep._log_spectrogram()
    times["STFT + log spectrogram"] = time.perf_counter() - start
    mark = time.perf_counter()
    dicts, _ = sep._train(sep.log_spect)
    times["training"] = time.perf_counter() - mark
    sep._train = lambda Y: (dicts, _)  # reuse the dictionaries just timed
    mark = time.perf_counter()
    sep._learn()
    times["separation pursuit (all candidates)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    sep.run()
    times["linear spectra"] = time.perf_counter() - mark
    mark = time.perf_counter()
    estimates = sep.make_audio_signals()
    times["masks + inverse STFT"] = time.perf_counter() - mark
    total = time.perf_counter() - start
    direct = si_sdr_signals(refs, estimates)[:, 0]
    swapped = si_sdr_signals(refs, estimates[::-1])[:, 0]
    scores = direct if direct.mean() >= swapped.mean() else swapped
    n_frames = sep.log_spect.shape[1]
    original = (ORIGINAL["log frame"] * n_frames + ORIGINAL["training step"] * sep.n_iter * sep.num_dicts
                + ORIGINAL["separation frame"] * n_frames * sep.num_dicts)
    return {
        "case": case, "seconds": seconds, "frames": n_frames, "n_iter": sep.n_iter, "num_dicts": sep.num_dicts,
        "times": times, "total": total, "si_sdr": scores.tolist(),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "original_estimate_s": original,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs="+", default=["synthetic", "chorale"], choices=["synthetic", "chorale"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_case(args.case[0], args.seconds)))
        return
    import numba

    print(f"DictSep fast mode end to end, {args.seconds:g} s, 2 sources, {numba.get_num_threads()} numba threads")
    for case in args.case:
        out = subprocess.run([sys.executable, __file__, "--child", "--case", case, "--seconds", str(args.seconds)],
                             capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n{case}: {res['frames']} frames, n_iter={res['n_iter']}, num_dicts={res['num_dicts']}")
        for stage, seconds in res["times"].items():
            print(f"  {stage:<38}{seconds:8.1f} s")
        print(f"  {'total':<38}{res['total']:8.1f} s   (target < 120 s)")
        print(f"  peak resident memory {res['peak_rss_gb']:.2f} GB (target < 2 GB)")
        print(f"  SI-SDR {res['si_sdr'][0]:.2f} / {res['si_sdr'][1]:.2f} dB")
        print(f"  the original's per-stage figures at these settings: about {res['original_estimate_s'] / 3600:.1f} h "
              f"({res['original_estimate_s'] / res['total']:.0f}x)")


if __name__ == "__main__":
    main()
