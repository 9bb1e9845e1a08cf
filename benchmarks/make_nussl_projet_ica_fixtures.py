"""nussl 1.1.9's PROJET, ICA and EnsembleClustering as fixtures and quality floors (issue 12, helper S2).

Runs nussl in its own venv through :mod:`nussl_peer` (``benchmarks/nussl_env.sh``) and writes to
``tests/data/nussl/``:

``projet.npz`` (parity of the multiplicative updates)
    nussl's ``Projet`` on 0.4 s of ``load_spatial_example('anechoic')`` with a 512-sample window
    (hop 128), 2 sources, 10 iterations, after ``np.random.seed(0)``: so its random start is
    ``abs(RandomState(0).randn(F, T, 2))`` for P then ``abs(randn(30, 17, 2))`` for Q (the legacy
    generator, the same draws in every numpy). Arrays: ``mix`` (float64, the input), ``P``
    ``(F, T, J)`` and ``Q`` ``(L_pan, L_delay, J)`` after the iterations (float64),
    ``stft_max_abs_diff`` (max ``|nussl STFT - sepkit STFT / sum(window)|``: the two framings agree),
    ``params`` (JSON).
``ica.npz``
    nussl's ``ICA(random_state=0)`` on 1 s of an instantaneous (pan-only) mix of the violin and
    clarinet stems (left gains ``cos(theta)``, right ``sin(theta)``, ``theta = 0.15 pi/2, 0.85 pi/2``):
    ``output`` (float32, ``(2, n_samples)``, nussl's rescaled components), ``mixing`` (``mixing_``),
    ``mean`` (``mean_``), ``mix_sum`` (``sum |mix|``, to check the test rebuilt the same input).
``quality_projet_ica.json``
    SI-SDR (whole signal, channels averaged, estimates matched to references by the Hungarian
    algorithm) and BSS Eval v4 SDR (images, 1-s frames, median) of nussl's PROJET (default
    parameters, seed 0) and EnsembleClustering (Repet + HPSS + SpatialClustering, seed 0) on 3 s of
    ``load_spatial_example('anechoic')``, of nussl's ICA on 3 s of the instantaneous mix (SI-SDR of
    each component against the left channel of each image), with MixAsEstimate beside them, and
    whether nussl's output was finite (PROJET also on the four voices); ``ica_drums``: nussl's ICA on
    3 s of the drums example's harmonic and percussive stems mixed by ``DRUMS_MIXING`` (no delay).

Usage::

    python benchmarks/make_nussl_projet_ica_fixtures.py [--only projet ica quality ica_drums] [--out tests/data/nussl]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nussl_peer import run_nussl

import sepkit
from sepkit import AudioSignal, STFTParams
from sepkit.core.stft_params import get_window
from sepkit.datasets import load_example, load_spatial_example

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "data", "nussl"))
PAN = (0.15 * np.pi / 2, 0.85 * np.pi / 2)

DRUMS_MIXING = np.array([[0.9, 0.4], [0.3, 0.95]])

PROJET_PARITY = {"duration": 0.4, "window_length": 512, "hop_length": 128, "num_sources": 2,
                 "num_iterations": 10}


def instantaneous_mix(duration, sources=("violin", "clarinet")):
    """The pan-only stereo mix of the ICA cases: ``(mix, images)`` (images: dict of AudioSignal)."""
    _, stems = load_example(sources=tuple(sources))
    n = int(duration * 44100)
    images = {}
    for angle, (name, stem) in zip(PAN, stems.items()):
        mono = stem.audio_data[0, :n]
        images[name] = AudioSignal(np.vstack([np.cos(angle) * mono, np.sin(angle) * mono]), 44100, label=name)
    return sum(images.values()).with_label("mix"), images


def projet_parity(out_dir):
    p = PROJET_PARITY
    mix, _ = load_spatial_example("anechoic", duration=p["duration"])
    res = run_nussl(f"""
import nussl
from nussl.separation.spatial import Projet
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100,
                        stft_params=nussl.STFTParams(window_length={p['window_length']}, hop_length={p['hop_length']}))
sep = Projet(sig, num_sources={p['num_sources']}, num_iterations={p['num_iterations']})
sep._preprocess_audio_signal()
np.random.seed(0)
P, Q = sep.initialize_parameters()
for _ in range(sep.num_iterations):
    P, Q = sep._update(P, Q)
outputs["P"] = P.numpy(); outputs["Q"] = Q.numpy(); outputs["stft"] = sep.stft
""", {"mix": mix.audio_data})
    params = STFTParams(window_length=p["window_length"], hop_length=p["hop_length"])
    ours = mix.stft(params) / get_window("sqrt_hann", p["window_length"]).sum()
    diff = float(np.abs(res["stft"] - ours).max()) if res["stft"].shape == ours.shape else float("inf")
    print(f"projet: STFT shapes nussl {res['stft'].shape} sepkit {ours.shape}, max |diff| {diff:.3g}")
    np.savez(os.path.join(out_dir, "projet.npz"), mix=mix.audio_data, P=res["P"], Q=res["Q"],
             stft_max_abs_diff=diff, params=json.dumps(p))


def ica_parity(out_dir):
    mix, _ = instantaneous_mix(1.0)
    res = run_nussl("""
import nussl
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
sep = nussl.separation.factorization.ICA(sig, random_state=0)
sep.run()
outputs["output"] = sep.ica_output; outputs["mixing"] = sep.estimated_mixing_params; outputs["mean"] = sep.mean
""", {"mix": mix.audio_data})
    np.savez(os.path.join(out_dir, "ica.npz"), mix_sum=np.abs(mix.audio_data).sum(), output=res["output"].astype(np.float32),
             mixing=res["mixing"], mean=res["mean"], params=json.dumps({"duration": 1.0, "random_state": 0, "pan": list(PAN)}))
    print("ica: mixing", res["mixing"].tolist())


def scores(refs, estimates):
    """SI-SDR (matched, channels averaged) and BSS Eval v4 SDR (median, same matching) per reference."""
    from sepkit.evaluation import bss_eval_v4, si_sdr_matched

    finite = all(np.all(np.isfinite(e.audio_data)) for e in estimates)
    if not finite:
        return {"finite": False}
    si, assignment = si_sdr_matched(refs, estimates)
    matched = [estimates[i] for i in assignment]
    sdr = np.nanmedian(bss_eval_v4(refs, matched).values["SDR"], axis=1)
    return {"finite": True, "si_sdr": [round(float(v), 3) for v in si], "sdr_v4": [round(float(v), 3) for v in sdr]}


def quality():
    record = {"nussl": "1.1.9", "date": datetime.date.today().isoformat(),
              "scoring": "sepkit.evaluation: si_sdr_matched (Hungarian on SI-SDR, channels averaged); "
                         "bss_eval_v4 SDR (images, 1-s frames, median) with the same matching"}
    mix, images = load_spatial_example("anechoic", duration=3)
    refs = list(images.values())
    record["input"] = {"anechoic": "load_spatial_example('anechoic', duration=3)", "sources": list(images)}
    record["mix_as_estimate"] = scores(refs, [mix, mix])
    res = run_nussl("""
import nussl
from nussl.separation.spatial import Projet
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
np.random.seed(0)
est = Projet(sig, num_sources=2)()
outputs["est"] = np.stack([e.audio_data for e in est])
""", {"mix": mix.audio_data}, timeout=7200)
    record["projet"] = scores(refs, [AudioSignal(e, 44100) for e in res["est"]])
    record["projet"]["params"] = "defaults (50 iterations), np.random.seed(0)"
    print("projet", record["projet"])

    res = run_nussl("""
import nussl
from nussl.separation.primitive import Repet, HPSS
from nussl.separation.spatial import SpatialClustering
from nussl.separation.composite import EnsembleClustering
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
np.random.seed(0)
seps = [Repet(sig), HPSS(sig), SpatialClustering(sig, num_sources=2)]
est = EnsembleClustering(sig, 2, seps)()
outputs["est"] = np.stack([e.audio_data for e in est])
""", {"mix": mix.audio_data}, timeout=3600)
    record["ensemble_clustering"] = scores(refs, [AudioSignal(e, 44100) for e in res["est"]])
    record["ensemble_clustering"]["params"] = "separators [Repet(), HPSS(), SpatialClustering(num_sources=2)], np.random.seed(0)"
    print("ensemble", record["ensemble_clustering"])

    imix, iimages = instantaneous_mix(3.0)
    left = [AudioSignal(s.audio_data[:1], 44100) for s in iimages.values()]
    record["ica"] = nussl_ica_scores(imix, left)
    record["ica"]["input"] = "instantaneous_mix(3.0): violin, clarinet panned at 0.15 and 0.85 pi/2, no delay; left channel"
    record["ica"]["params"] = "random_state=0"
    record["ica_mix_as_estimate"] = scores(left, [AudioSignal(imix.audio_data[:1], 44100)] * 2)
    print("ica", record["ica"])

    mix4, images4 = load_spatial_example("anechoic", sources=("violin", "clarinet", "saxophone", "bassoon"), duration=3)
    res = run_nussl("""
import nussl
from nussl.separation.spatial import Projet
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
np.random.seed(0)
sep = Projet(sig, num_sources=4)
est = sep()
outputs["est"] = np.stack([e.audio_data for e in est])
""", {"mix": mix4.audio_data}, timeout=7200)
    record["projet_four_voices"] = scores(list(images4.values()), [AudioSignal(e, 44100) for e in res["est"]])
    record["projet_four_voices"]["params"] = "num_sources=4, defaults, np.random.seed(0); input load_spatial_example('anechoic', 4 voices, duration=3)"
    record["projet_four_voices"]["non_finite_fraction"] = float(np.mean(~np.isfinite(res["est"])))
    record["mix_as_estimate_four_voices"] = scores(list(images4.values()), [mix4] * 4)
    print("projet 4 voices", record["projet_four_voices"])
    return record


def nussl_ica_scores(mix, left):
    """Scores of nussl's ICA (``random_state=0``) on ``mix`` against the references ``left`` (left channels)."""
    res = run_nussl("""
import nussl
sig = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
sep = nussl.separation.factorization.ICA(sig, random_state=0)
sep.run()
outputs["est"] = sep.ica_output
""", {"mix": mix.audio_data})
    return scores(left, [AudioSignal(e[None], 44100) for e in res["est"]])


def drums_instantaneous_mix(duration=3.0):
    """The drums example's harmonic and percussive stems mixed by the instantaneous matrix ``DRUMS_MIXING``."""
    from sepkit.datasets import load_foreground_background_example

    _, stems = load_foreground_background_example("drums")
    n = int(duration * 44100)
    images = {name: AudioSignal(np.outer(DRUMS_MIXING[:, j], stem.audio_data[0, :n]), 44100, label=name)
              for j, (name, stem) in enumerate(stems.items())}
    return sum(images.values()).with_label("mix"), images


def ica_drums_quality():
    """nussl's ICA on the pan-only drums mix (super-Gaussian percussive stem: FastICA's good case)."""
    mix, images = drums_instantaneous_mix(3.0)
    left = [AudioSignal(s.audio_data[:1], 44100) for s in images.values()]
    record = nussl_ica_scores(mix, left)
    record["input"] = ("load_foreground_background_example('drums'), first 3 s, stems mixed by "
                       f"{DRUMS_MIXING.tolist()} (rows: channels); left channel")
    record["params"] = "random_state=0"
    return record, scores(left, [AudioSignal(mix.audio_data[:1], 44100)] * 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["projet", "ica", "quality", "ica_drums"])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if "projet" in args.only:
        projet_parity(args.out)
    if "ica" in args.only:
        ica_parity(args.out)
    if "quality" in args.only:
        record = quality()
        with open(os.path.join(args.out, "quality_projet_ica.json"), "w") as f:
            json.dump(record, f, indent=1)
    if "ica_drums" in args.only:  # added to an existing quality_projet_ica.json
        path = os.path.join(args.out, "quality_projet_ica.json")
        record = json.load(open(path)) if os.path.exists(path) else {}
        record["ica_drums"], record["ica_drums_mix_as_estimate"] = ica_drums_quality()
        print("ica drums", record["ica_drums"])
        with open(path, "w") as f:
            json.dump(record, f, indent=1)
    print("sepkit", sepkit.__version__ if hasattr(sepkit, "__version__") else "")


if __name__ == "__main__":
    main()
