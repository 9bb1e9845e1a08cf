"""OverlapAdd's memory does not grow with the recording: 1 minute against 3 minutes (issue 11).

The bundled ``loop`` example (10 s) is tiled to each length and separated by
``OverlapAdd(mix, Repet, window_duration=15)`` in a fresh subprocess per length. Reported:
the peak of Python-traced allocations (``tracemalloc``, numpy's buffers included) during the
call, the part of it beyond the output buffers (the estimates: unavoidable, linear in the
length), and the process's peak RSS. The working memory (the second figure) should be the same
within 20 % at both lengths. Usage::

    python benchmarks/bench_overlap_add_memory.py [--minutes 1 3] [--window 15]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time, tracemalloc
import numpy as np
import sepkit
from sepkit.separation.composite import OverlapAdd
from sepkit.separation.primitive import Repet

minutes, window = float(sys.argv[1]), float(sys.argv[2])
mix, _ = sepkit.datasets.load_foreground_background_example("loop")
Repet(mix, period=2.5)()  # warm-up: numba kernels loaded before measuring
reps = int(np.ceil(minutes * 60 / mix.signal_duration))
long = sepkit.AudioSignal(np.tile(mix.audio_data, reps)[:, : int(minutes * 60 * mix.sample_rate)], mix.sample_rate)
tracemalloc.start()
t0 = time.perf_counter()
estimates = OverlapAdd(long, Repet, window_duration=window)()
seconds = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
outputs = sum(e.audio_data.nbytes for e in estimates)
print(json.dumps({"minutes": minutes, "seconds": seconds, "peak_traced": peak, "outputs": outputs,
                  "working": peak - outputs, "input": long.audio_data.nbytes,
                  "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def measure(minutes: float, window: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(minutes), str(window)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="*", default=[1.0, 3.0])
    parser.add_argument("--window", type=float, default=15.0)
    args = parser.parse_args(argv)
    rows = [measure(m, args.window) for m in args.minutes]
    mb = 1 / 2 ** 20
    print(f"OverlapAdd(Repet, window {args.window:g} s) on the loop example tiled; MiB")
    print(f"{'minutes':>8} {'time s':>8} {'input':>8} {'outputs':>8} {'peak traced':>12} {'working':>8} {'max RSS':>8}")
    for r in rows:
        print(f"{r['minutes']:8.1f} {r['seconds']:8.1f} {r['input'] * mb:8.1f} {r['outputs'] * mb:8.1f} "
              f"{r['peak_traced'] * mb:12.1f} {r['working'] * mb:8.1f} {r['max_rss'] * mb:8.1f}")
    ratio = rows[-1]["working"] / rows[0]["working"]
    print(f"working memory, {rows[-1]['minutes']:g} min / {rows[0]['minutes']:g} min: {ratio:.3f}")


if __name__ == "__main__":
    main()
