"""Speed of the issue-11 separators against nussl 1.1.9 (and HPSS against librosa), same input, same run.

Workload: the bundled ``loop`` example (:func:`sepkit.datasets.load_foreground_background_example`:
2.5-s accompaniment looped, violin melody over it) tiled to ``--seconds`` (30 by default),
44.1 kHz mono. Every separator registered on main whose class has a nussl counterpart is
timed as a user calls it, ``Sep(mix)()`` (construction, ``run()`` and the estimates), with
every call on a fresh signal built from the samples (``AudioSignal(samples, rate)`` on both
sides, inside the timed call), so neither side reuses an STFT computed by an earlier run, with
default parameters (TimbreClustering: 2 sources, 16 NMF components, seeded k-means), and
nussl's on the same samples in its own venv (``benchmarks/nussl_env.sh``) through
:func:`nussl_peer.time_nussl` (import excluded). Times are minima over ``--repeats`` runs after
one warm-up run (numba compilation excluded; nussl's slow RPCA and TimbreClustering are run
``--slow-repeats`` times without warm-up). HPSS is also timed against
``librosa.decompose.hpss(S, kernel_size=31, mask=True)`` on the mixture's STFT (masks only,
no STFT or inverse: sepkit's figure includes both), with the largest mask difference.
Separators not on main yet are skipped, so the script runs whatever exists. Usage::

    python benchmarks/bench_primitives.py [--seconds 30] [--repeats 3] [--methods repet hpss ...] [--no-nussl]

nussl's RPCA takes a full SVD per iteration (about 5 minutes on 10 s under load, several times
that on 30 s): time it on its own, e.g. ``--seconds 10 --repeats 1 --methods rpca``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nussl_peer import NusslPeerError, time_nussl, venv_python

import sepkit.separation  # noqa: F401  (imports every family: registers the separators)
from sepkit import AudioSignal
from sepkit.datasets import load_foreground_background_example
from sepkit.separation.registry import Inputs, entries

# sepkit class name -> (nussl class, nussl keyword arguments, sepkit parameters, slow in nussl)
PEERS = {
    "Repet": ("nussl.separation.primitive.Repet", {}, {}, False),
    "RepetSim": ("nussl.separation.primitive.RepetSim", {}, {}, False),
    "FT2D": ("nussl.separation.primitive.FT2D", {}, {}, False),
    "HPSS": ("nussl.separation.primitive.HPSS", {}, {}, False),
    "RPCA": ("nussl.separation.factorization.RPCA", {}, {}, True),
    "TimbreClustering": ("nussl.separation.primitive.TimbreClustering",
                         {"num_sources": 2, "n_components": 16, "random_state": 0, "n_init": 10},
                         {"n_components": 16}, True),
}

NUSSL_SETUP = """
import warnings
warnings.filterwarnings("ignore")
import nussl
from {module} import {name} as Separator
samples, rate = inputs["mix"], int(inputs["sample_rate"])
"""
# a fresh signal per call (no STFT carried over between runs), as on sepkit's side
NUSSL_STMT = ("mix = nussl.AudioSignal(audio_data_array=samples, sample_rate=rate)\n"
              "estimates = Separator(mix, **{kwargs!r})()\n")


def workload(seconds):
    """The loop example tiled to ``seconds`` (mono, 44.1 kHz)."""
    mix, _ = load_foreground_background_example("loop")
    n = int(round(seconds * mix.sample_rate))
    reps = -(-n // mix.signal_length)
    return AudioSignal(np.tile(mix.audio_data, reps)[:, :n], mix.sample_rate, label="mix")


def best_time(fn, repeats, warmup=1):
    """Minimum wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs, and its last result."""
    out = None
    for _ in range(warmup):
        out = fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sepkit_call(entry, mix, params):
    kwargs = {k: v for k, v in params.items() if k in entry.cls._param_names()}
    inputs = Inputs(num_sources=2, seed=0)

    def call():
        fresh = AudioSignal(mix.audio_data, mix.sample_rate, label="mix")  # no cached STFT
        sep = entry.build(fresh, inputs, **kwargs)
        return sep, sep()

    return call


def bench_librosa_hpss(mix, sep, repeats):
    """librosa's HPSS masks on the same STFT: time, and the largest difference from sepkit's masks."""
    import librosa

    stft = mix.stft()[:, :, 0]
    t, (harmonic, percussive) = best_time(lambda: librosa.decompose.hpss(stft, kernel_size=31, mask=True), repeats)
    ours = np.stack([np.asarray(getattr(m, "mask", m))[:, :, 0] for m in sep.result_masks], axis=-1)
    diff = float(np.abs(ours - np.stack([harmonic, percussive], axis=-1)).max())
    return t, diff


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-repeats", type=int, default=1, help="nussl repeats for RPCA and TimbreClustering")
    parser.add_argument("--methods", nargs="*", help="registry names (default: every one with a nussl peer)")
    parser.add_argument("--no-nussl", action="store_true", help="time sepkit (and librosa) only")
    args = parser.parse_args(argv)

    mix = workload(args.seconds)
    todo = [e for e in entries() if e.cls.__name__ in PEERS and (not args.methods or e.name in args.methods)]
    missing = sorted(set(PEERS) - {e.cls.__name__ for e in entries()})
    print(f"workload: loop example tiled to {mix.signal_duration:.1f} s, {mix.sample_rate} Hz mono; "
          f"repeats {args.repeats} (min); not registered yet, skipped: {', '.join(missing) or 'none'}")
    nussl = not args.no_nussl
    if nussl:
        try:
            venv_python()
        except NusslPeerError as exc:
            print(f"nussl skipped: {exc}")
            nussl = False
    rows = []
    for entry in todo:
        module, name = PEERS[entry.cls.__name__][0].rsplit(".", 1)
        nussl_kwargs, params, slow = PEERS[entry.cls.__name__][1:]
        t_sep, (sep, _) = best_time(sepkit_call(entry, mix, params), args.repeats)
        row = {"method": entry.name, "class": entry.cls.__name__, "sepkit": t_sep}
        if nussl:
            reps, warm = (args.slow_repeats, 0) if slow else (args.repeats, 1)
            try:
                row["nussl"], _ = time_nussl(NUSSL_SETUP.format(module=module, name=name),
                                             NUSSL_STMT.format(kwargs=nussl_kwargs),
                                             {"mix": mix.audio_data, "sample_rate": np.array(mix.sample_rate)},
                                             repeats=reps, warmup=warm, timeout=7200.0)
            except NusslPeerError as exc:
                print(f"{entry.name}: nussl failed: {str(exc).splitlines()[-1]}")
        if entry.cls.__name__ == "HPSS":
            row["librosa"], row["librosa_mask_diff"] = bench_librosa_hpss(mix, sep, args.repeats)
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row):
    text = f"{row['method']:<18} sepkit {row['sepkit']:8.3f} s"
    if "nussl" in row:
        text += f"   nussl {row['nussl']:8.3f} s   nussl/sepkit {row['nussl'] / row['sepkit']:7.1f}x"
    if "librosa" in row:
        text += (f"   librosa.decompose.hpss (masks only) {row['librosa']:.3f} s   librosa/sepkit "
                 f"{row['librosa'] / row['sepkit']:.1f}x   max |mask diff| {row['librosa_mask_diff']:.1e}")
    return text


if __name__ == "__main__":
    main()
