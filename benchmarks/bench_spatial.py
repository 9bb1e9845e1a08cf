"""Every spatial and multichannel separator against its peer, on 30-s inputs, in one run (issue 12).

Runs, one after the other, with the same ``--seconds`` and ``--repeats``:

* ``bench_duet_spatial_clustering.py``: ``Duet`` and ``SpatialClustering`` vs nussl 1.1.9
  (44.1 kHz stereo, the anechoic example tiled);
* ``bench_projet_ica.py``: ``Projet``, ``ICA`` and ``EnsembleClustering`` vs nussl;
* ``bench_auxiva_ilrma.py``: ``AuxIVA`` and ``ILRMA`` vs pyroomacoustics (16 kHz, two
  microphones, the reverberant example tiled);
* ``bench_fastmnmf2.py``: ``FastMNMF2`` vs pyroomacoustics.

Each part times sepkit and its peer on the same input in the same process run, as a user calls
them (``Sep(mix)()``, the peer with its own STFT), prints the minimum over repeats of both,
their ratio and the SDR of both. nussl runs in its own venv (``benchmarks/nussl_env.sh``);
pyroomacoustics is a ``bench`` extra. Usage::

    python benchmarks/bench_spatial.py [--seconds 30] [--repeats 3] [--parts duet projet auxiva fastmnmf2]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

PARTS = {
    "duet": "bench_duet_spatial_clustering",
    "projet": "bench_projet_ica",
    "auxiva": "bench_auxiva_ilrma",
    "fastmnmf2": "bench_fastmnmf2",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    for part in args.parts:
        print(f"\n=== {PARTS[part]} ===", flush=True)
        module = importlib.import_module(PARTS[part])
        repeats = min(args.repeats, 2) if part == "fastmnmf2" else args.repeats  # the peer takes minutes
        module.main(["--seconds", str(args.seconds), "--repeats", str(repeats)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
