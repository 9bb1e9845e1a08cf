"""Write nussl 1.1.9's DUET and SpatialClustering outputs to ``tests/data/nussl/`` (parity fixtures, issue 12).

Runs nussl in its own venv through :mod:`nussl_peer` (build it with ``benchmarks/nussl_env.sh``).
The input of every case is the anechoic stereo example
(:func:`sepkit.datasets.load_spatial_example`, 44.1 kHz), cut to a few seconds and stored as
float32 (``mix``): nussl and the tests both use exactly these samples.

Fixtures (``np.savez_compressed``):

``duet.npz``, ``duet_wide.npz``, ``duet3.npz``
    ``Duet`` on 2 voices with nussl's defaults, 2 voices with ``attenuation_min=-5,
    attenuation_max=5``, 3 voices with the same wide range (nussl's K >= 3 masks). Keys:
    ``mix``, ``params`` (JSON), ``histogram`` (the raw weighted histogram), ``normalized``
    (scaled and smoothed), ``attenuation_bins``, ``delay_bins`` (edges), ``peak_indices``,
    ``atn_peak``, ``delay_peak``, ``masks`` (bool, ``(n_freq, n_frames, K)``, nussl's order).
``spatial_clustering.npz``
    ``SpatialClustering`` on 2 voices, ``random_state=0, n_init=10``: ``ipd``, ``ild`` (float64,
    every 8th frequency bin, ``feature_bins``), ``cluster_centers``, ``masks`` (float32,
    ``(n_freq, n_frames, n_channels, K)``).

``--quality`` also writes ``quality_spatial.json``: nussl's SI-SDR and BSS Eval v4 SDR (median
over 1-s frames) on 3 s of the example with 2 and with 3 voices (Duet with its defaults and
with the wide attenuation range; SpatialClustering with its defaults, ``random_state=0``),
MixAsEstimate beside them, estimates matched to the sources by the Hungarian algorithm.

Usage::

    python benchmarks/make_nussl_spatial_fixtures.py [--quality] [--no-fixtures] [--out tests/data/nussl]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nussl_peer import run_nussl  # noqa: E402

from sepkit import AudioSignal  # noqa: E402
from sepkit.datasets import load_spatial_example  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "data", "nussl"))
TWO = ("violin", "clarinet")
THREE = ("violin", "clarinet", "saxophone")
WIDE = {"attenuation_min": -5, "attenuation_max": 5}
FEATURE_STEP = 8

# case -> (class, voices, seconds, nussl keyword arguments)
CASES = {
    "duet": ("Duet", TWO, 2.0, {"num_sources": 2}),
    "duet_wide": ("Duet", TWO, 2.0, {"num_sources": 2, **WIDE}),
    "duet3": ("Duet", THREE, 2.0, {"num_sources": 3, **WIDE}),
    "spatial_clustering": ("SpatialClustering", TWO, 2.0, {"num_sources": 2, "random_state": 0, "n_init": 10}),
}

HEADER = """
import json, warnings
warnings.filterwarnings("ignore")
import nussl, scipy, sklearn
VERSIONS = np.array([nussl.__version__, np.__version__, scipy.__version__, sklearn.__version__])
from nussl.separation.spatial import Duet, SpatialClustering

def build(name, key, params):
    mix = nussl.AudioSignal(audio_data_array=inputs[key].astype(np.float64), sample_rate=44100)
    return mix, {"Duet": Duet, "SpatialClustering": SpatialClustering}[name](mix, **params)
"""

CASE_SCRIPT = """
mix, sep = build({name!r}, {key!r}, json.loads({params!r}))
masks = sep.run()
o = {{"versions": VERSIONS}}
if {name!r} == "Duet":
    o["masks"] = np.stack([m.mask[:, :, 0] for m in masks], axis=-1).astype(bool)
    o["histogram"] = sep.attenuation_delay_histogram
    o["normalized"] = sep.normalized_attenuation_delay_histogram
    o["attenuation_bins"], o["delay_bins"] = sep.attenuation_bins, sep.delay_bins
    o["peak_indices"] = np.array(sep.peak_indices, dtype=np.int64)
    o["atn_peak"], o["delay_peak"] = np.asarray(sep.atn_peak), np.asarray(sep.delay_peak)
else:
    ipd, ild = sep.audio_signal.ipd_ild_features()
    o["ipd"], o["ild"] = ipd[::{step}], ild[::{step}]
    o["cluster_centers"] = sep.clusterer.cluster_centers_
    o["masks"] = np.stack([m.mask for m in masks], axis=-1).astype(np.float32)
outputs.update({{{case!r} + "__" + k: v for k, v in o.items()}})
"""

QUALITY_SCRIPT = """
mix, sep = build({name!r}, {key!r}, json.loads({params!r}))
sep.run()
outputs[{tag!r}] = np.stack([e.audio_data for e in sep.make_audio_signals()])
"""


def example(voices, seconds):
    """The anechoic example cut to ``seconds``, as float32 samples (what nussl and the tests use)."""
    mix, sources = load_spatial_example("anechoic", sources=voices, duration=seconds)
    return mix.audio_data.astype(np.float32), sources


def fixtures(out_dir, timeout):
    inputs, script = {}, HEADER
    for case, (name, voices, seconds, params) in CASES.items():
        inputs[case + "__mix"] = example(voices, seconds)[0]
        script += CASE_SCRIPT.format(name=name, key=case + "__mix", params=json.dumps(params), case=case,
                                     step=FEATURE_STEP)
    out = run_nussl(script, inputs, timeout=timeout)
    stamp = datetime.date.today().isoformat()
    for case, (name, voices, seconds, params) in CASES.items():
        arrays = {k.split("__", 1)[1]: v for k, v in out.items() if k.startswith(case + "__")}
        arrays.update(mix=inputs[case + "__mix"], params=np.array(json.dumps(params)), method=np.array(name),
                      voices=np.array(list(voices)), seconds=np.array(seconds), written=np.array(stamp))
        if name == "SpatialClustering":
            arrays["feature_bins"] = np.arange(0, arrays["masks"].shape[0], FEATURE_STEP)
        path = os.path.join(out_dir, case + ".npz")
        np.savez_compressed(path, **arrays)
        print(f"{path}: {', '.join(sorted(arrays))}")


def _scores(references, estimates):
    from sepkit.evaluation import bss_eval_v4, si_sdr_matched

    si, order = si_sdr_matched(references, estimates)
    matched = [estimates[i] for i in order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdr = np.nanmedian(bss_eval_v4(references, matched).values["SDR"], axis=1)
    return si, sdr, order


def quality(out_dir, timeout):
    """nussl's SI-SDR / SDR on 3 s of the anechoic example, 2 and 3 voices, to quality_spatial.json."""
    runs = {"duet": ("Duet", {}), "duet_wide": ("Duet", WIDE),
            "spatial_clustering": ("SpatialClustering", {"random_state": 0})}
    result = {}
    for voices in (TWO, THREE):
        key = f"{len(voices)}_voices"
        mix, sources = example(voices, 3.0)
        script = HEADER
        for tag, (name, params) in runs.items():
            script += QUALITY_SCRIPT.format(name=name, key="mix", params=json.dumps({"num_sources": len(voices),
                                                                                      **params}), tag=tag)
        out = run_nussl(script, {"mix": mix}, timeout=timeout)
        references = list(sources.values())
        entry = {"sources": list(voices), "duration_s": 3.0, "input": "load_spatial_example('anechoic', "
                 f"sources={list(voices)}, duration=3) as float32"}
        mix_signal = AudioSignal(mix.astype(np.float64), 44100)
        estimates = {"mix_as_estimate": ({}, [mix_signal] * len(voices))}
        for tag, (name, params) in runs.items():
            estimates[tag] = (params, [AudioSignal(e, 44100) for e in out[tag]])
        for tag, (params, signals) in estimates.items():
            si, sdr, order = _scores(references, signals)
            entry[tag] = {"params": params, "si_sdr": dict(zip(voices, np.round(si, 3).tolist())),
                          "sdr_v4_median": dict(zip(voices, np.round(sdr, 3).tolist())),
                          "estimate_order": order.tolist()}
        result[key] = entry
    result["versions"] = "nussl 1.1.9 (numpy 1.23.5, scipy 1.12.0, scikit-learn 1.7.2); scored by sepkit.evaluation"
    path = os.path.join(out_dir, "quality_spatial.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--quality", action="store_true", help="also write quality_spatial.json")
    parser.add_argument("--no-fixtures", action="store_true", help="only quality_spatial.json")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if not args.no_fixtures:
        fixtures(args.out, args.timeout)
    if args.quality or args.no_fixtures:
        quality(args.out, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
