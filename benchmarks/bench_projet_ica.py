"""Speed and quality of sepkit's Projet, ICA and EnsembleClustering against nussl 1.1.9, same input, same run.

Input: ``load_spatial_example('anechoic')`` (violin + clarinet, 44.1 kHz stereo, 10 s) repeated to
``--seconds`` (30 by default); ICA on the same stems mixed without delay (pan only: ICA's model).
Each method is called as a user calls it (``Sep(mix, ...)()``); times are the minimum over
``--repeats`` runs (nussl's over ``--nussl-repeats``: its PROJET holds several (F, M, T) tensors
and takes minutes), after one warm-up run of sepkit (numba compilation). nussl runs in its venv
(``benchmarks/nussl_peer.py``). SI-SDR of both (matched to the references, channels averaged; ICA:
left channel).

Usage::

    python benchmarks/bench_projet_ica.py [--seconds 30] [--repeats 3] [--nussl-repeats 1]
                                          [--methods projet ica ensemble] [--no-nussl]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sepkit import AudioSignal
from sepkit.datasets import load_example, load_spatial_example
from sepkit.evaluation import si_sdr_matched

PAN = (0.15 * np.pi / 2, 0.85 * np.pi / 2)


def _tile(signal, n):
    reps = -(-n // signal.signal_length)
    return AudioSignal(np.tile(signal.audio_data, (1, reps))[:, :n], signal.sample_rate, label=signal.label)


def inputs(seconds):
    n = int(seconds * 44100)
    mix, images = load_spatial_example("anechoic")
    mix, images = _tile(mix, n), [_tile(s, n) for s in images.values()]
    _, stems = load_example(sources=("violin", "clarinet"))
    pan = [AudioSignal(np.vstack([np.cos(a) * s.audio_data[0], np.sin(a) * s.audio_data[0]]), 44100)
           for a, s in zip(PAN, stems.values())]
    pan = [_tile(p, n) for p in pan]
    return mix, images, sum(pan), pan


def best_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


NUSSL = {
    "projet": ("from nussl.separation.spatial import Projet\nnp.random.seed(0)",
               "est = Projet(sig, num_sources=2)()"),
    "ica": ("from nussl.separation.factorization import ICA",
            "sep = ICA(sig, random_state=0); sep.run(); est = [nussl.AudioSignal(audio_data_array=c[None], "
            "sample_rate=44100) for c in sep.ica_output]"),
    "ensemble": ("from nussl.separation.primitive import Repet, HPSS\n"
                 "from nussl.separation.spatial import SpatialClustering\n"
                 "from nussl.separation.composite import EnsembleClustering\nnp.random.seed(0)",
                 "est = EnsembleClustering(sig, 2, [Repet(sig), HPSS(sig), SpatialClustering(sig, num_sources=2)])()"),
}


def run_nussl_method(method, mix, repeats):
    from nussl_peer import time_nussl

    setup, stmt = NUSSL[method]
    best, out = time_nussl("import nussl\n" + setup + "\nsig = nussl.AudioSignal(audio_data_array=inputs['mix'], "
                           "sample_rate=44100)\n", stmt + "\noutputs['est'] = np.stack([e.audio_data for e in est])",
                           {"mix": mix.audio_data}, repeats=repeats, warmup=0, timeout=4 * 3600)
    return best, [AudioSignal(e, 44100) for e in out["est"]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nussl-repeats", type=int, default=1)
    parser.add_argument("--methods", nargs="*", default=["projet", "ica", "ensemble"])
    parser.add_argument("--no-nussl", action="store_true")
    args = parser.parse_args(argv)

    from sepkit.separation.composite.ensemble_clustering import EnsembleClustering
    from sepkit.separation.factorization.ica import ICA
    from sepkit.separation.spatial.projet import Projet

    mix, images, pan_mix, pan_images = inputs(args.seconds)
    short = mix.truncate(3 * 44100)
    ours = {
        "projet": (lambda m: Projet(m, num_sources=2, seed=0)(), mix, images),
        "ica": (lambda m: ICA(m, seed=0)(), pan_mix, pan_images),
        "ensemble": (lambda m: EnsembleClustering(m, 2, seed=0)(), mix, images),
    }
    rows = []
    for method in args.methods:
        fn, m, refs = ours[method]
        fn(short if method != "ica" else pan_mix.truncate(22050))  # warm-up (numba compilation)
        t_ours, est = best_time(lambda: fn(m), args.repeats)
        if method == "ica":
            refs_s = [AudioSignal(r.audio_data[:1], 44100) for r in refs]
            est = [AudioSignal(e.audio_data[:1], 44100) for e in est]
        else:
            refs_s = refs
        si_ours = si_sdr_matched(refs_s, est)[0]
        row = {"method": method, "seconds": args.seconds, "sepkit_s": t_ours, "sepkit_si_sdr": si_ours}
        if not args.no_nussl:
            t_n, est_n = run_nussl_method(method, m, args.nussl_repeats)
            if method == "ica":
                est_n = [AudioSignal(e.audio_data[:1], 44100) for e in est_n]
            finite = all(np.all(np.isfinite(e.audio_data)) for e in est_n)
            row.update(nussl_s=t_n, ratio=t_n / t_ours,
                       nussl_si_sdr=si_sdr_matched(refs_s, est_n)[0] if finite else "non-finite")
        rows.append(row)
        print(_fmt(row), flush=True)
    return rows


def _fmt(row):
    text = f"{row['method']:<9} {row['seconds']:.0f} s  sepkit {row['sepkit_s']:8.2f} s"
    if "nussl_s" in row:
        text += f"  nussl {row['nussl_s']:8.2f} s  ratio {row['ratio']:6.1f}x"
    text += f"  SI-SDR sepkit {np.round(row['sepkit_si_sdr'], 2)}"
    if "nussl_si_sdr" in row:
        text += f"  nussl {np.round(row['nussl_si_sdr'], 2) if not isinstance(row['nussl_si_sdr'], str) else row['nussl_si_sdr']}"
    return text


if __name__ == "__main__":
    main()
