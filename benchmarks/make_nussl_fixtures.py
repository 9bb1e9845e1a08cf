"""Write nussl 1.1.9's masks and estimates to ``tests/data/nussl/`` (parity fixtures, issue 11).

Runs nussl in its own venv through :mod:`nussl_peer` (build it with ``benchmarks/nussl_env.sh``).
For each case below it saves ``tests/data/nussl/<case>.npz`` holding everything a test needs:

``mix`` (float32, ``(1, n_samples)``: 16-bit samples, so exact), ``sample_rate``
    the input: an excerpt (<= 2.5 s, from the start) of a bundled example of
    :func:`sepkit.datasets.load_foreground_background_example`;
``masks`` (float32, or bool for binary masks, ``(n_freq, n_frames, n_channels, n_sources)``)
    nussl's ``[m.mask for m in sep.run()]`` stacked on the last axis, in nussl's output order;
``estimates`` (float32, ``(n_sources, n_channels, n_samples)``)
    ``sep.make_audio_signals()`` (``repet_period`` and ``hpss`` only, to keep the files small);
``params``
    the keyword arguments given to nussl, as a JSON string;
method extras
    Repet ``beat_spectrum`` (float64), ``period`` (frames); RepetSim ``similarity_matrix``,
    ``similarity_indices`` (int, -1 padded); RPCA ``error`` and, for the default case, ``low_rank``
    (float32), its singular values and ``sparse_nonzero`` (the count of non-zero entries of S); TimbreClustering ``components`` (K x F), ``activations`` (K x T x C),
    ``mfcc`` (K x n_mfcc), ``cluster_centers``, and ``features`` at every 32nd frequency bin
    (``feature_bins``).

``--quality`` also runs each method with its default parameters on the full 10-s examples
(``loop`` and ``drums``) and writes ``quality.json``: SI-SDR (whole signal) and BSS Eval v4
SDR (median over 1-s frames) of each source, with MixAsEstimate beside them, as the floors
for sepkit's quality tests. Usage::

    python benchmarks/make_nussl_fixtures.py [--cases repet ft2d ...] [--quality] [--out tests/data/nussl]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nussl_peer import run_nussl  # noqa: E402

from sepkit import AudioSignal  # noqa: E402
from sepkit.datasets import load_foreground_background_example  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "data", "nussl"))

CLASSES = {
    "repet": "nussl.separation.primitive.Repet",
    "repet_sim": "nussl.separation.primitive.RepetSim",
    "ft2d": "nussl.separation.primitive.FT2D",
    "hpss": "nussl.separation.primitive.HPSS",
    "rpca": "nussl.separation.factorization.RPCA",
    "timbre": "nussl.separation.primitive.TimbreClustering",
}
TIMBRE_DEFAULTS = {"num_sources": 2, "n_components": 16, "random_state": 0, "n_init": 10}

# case name -> (method, example kind, seconds, nussl keyword arguments, save estimates)
CASES = {
    "repet": ("repet", "loop", 2.5, {}, False),
    "repet_range": ("repet", "loop", 1.0, {"min_period": 0.1, "max_period": 0.3, "high_pass_cutoff": 300.0}, False),
    "repet_period": ("repet", "loop", 1.0, {"period": 0.3}, True),
    "repet_binary": ("repet", "loop", 2.5, {"mask_type": "binary"}, False),
    "repet_sim": ("repet_sim", "loop", 1.5, {}, False),
    "repet_sim_params": ("repet_sim", "loop", 1.0, {
        "similarity_threshold": 0.2, "min_distance_between_frames": 0.25, "max_repeating_frames": 20,
        "high_pass_cutoff": 50.0}, False),
    "ft2d": ("ft2d", "loop", 1.0, {}, False),
    "ft2d_original": ("ft2d", "loop", 1.0, {
        "filter_approach": "original", "neighborhood_size": (3, 15), "quadrants_to_keep": (0, 2),
        "use_bg_2dft": False}, False),
    "hpss": ("hpss", "drums", 1.0, {}, True),
    "hpss_kernels": ("hpss", "drums", 0.5, {"kernel_size": (17, 41)}, False),
    "hpss_binary": ("hpss", "drums", 1.0, {"mask_type": "binary"}, False),
    "rpca": ("rpca", "loop", 1.0, {}, False),
    "rpca_params": ("rpca", "loop", 1.0, {"num_iterations": 20, "high_pass_cutoff": 200.0}, False),
    "timbre": ("timbre", "loop", 1.0, {"num_sources": 2, "n_components": 8, "random_state": 0, "n_init": 10}, False),
}

HEADER = """
import json, warnings
warnings.filterwarnings("ignore")
import importlib
import nussl, scipy, sklearn, librosa
VERSIONS = np.array([nussl.__version__, np.__version__, scipy.__version__, sklearn.__version__,
                     librosa.__version__])
"""

SCRIPT = """
def case_{case}(outputs):
    Separator = getattr(importlib.import_module({module!r}), {name!r})
    params = json.loads({params!r})
    for key in ("neighborhood_size", "quadrants_to_keep", "kernel_size"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    mix = nussl.AudioSignal(audio_data_array=inputs["{case}__mix"], sample_rate=int(inputs["{case}__sample_rate"]))
    sep = Separator(mix, **params)
    masks = sep.run()
    outputs["masks"] = np.stack([m.mask for m in masks], axis=-1)
    if {estimates}:
        outputs["estimates"] = np.stack([e.audio_data for e in sep.make_audio_signals()])
    outputs["versions"] = VERSIONS
{extra}
_out = {{}}
case_{case}(_out)
outputs.update({{"{case}__" + _k: _v for _k, _v in _out.items()}})
"""

EXTRAS = {
    "repet": """
    outputs["beat_spectrum"] = sep.beat_spectrum if sep.beat_spectrum is not None else np.zeros(0)
    outputs["period"] = np.array(int(sep.repeating_period))
""",
    "repet_sim": """
    outputs["similarity_matrix"] = sep.similarity_matrix
    width = max([len(i) for i in sep.similarity_indices] + [1])
    idx = -np.ones((len(sep.similarity_indices), width), dtype=np.int64)
    for row, ind in enumerate(sep.similarity_indices):
        idx[row, :len(ind)] = ind
    outputs["similarity_indices"] = idx
""",
    "rpca": """
    outputs["error"] = np.array(float(sep.error))
    if not params:
        low_rank, sparse = sep.decompose(np.abs(sep.stft[..., 0]))
        outputs["low_rank"] = low_rank
        outputs["low_rank_singular_values"] = np.linalg.svd(low_rank, compute_uv=False)
        outputs["sparse_nonzero"] = np.array(int(np.count_nonzero(sparse)))
""",
    "timbre": """
    model, components, activations = sep.fit(sep.audio_signal, sep.n_components, **sep.nmf_kwargs)
    outputs["components"], outputs["activations"] = components, activations
    mel = librosa.feature.melspectrogram(S=components.T ** 2, sr=sep.sample_rate)
    outputs["mfcc"] = librosa.feature.mfcc(S=mel, n_mfcc=sep.n_mfcc).T
    outputs["cluster_centers"] = sep.clusterer.cluster_centers_
    features = sep.extract_features()
    outputs["feature_bins"] = np.arange(0, features.shape[0], 32)
    outputs["features"] = features[::32]
""",
}
FLOAT32 = ("masks", "estimates", "low_rank", "features")


def nussl_script(case, method, params, estimates):
    module, name = CLASSES[method].rsplit(".", 1)
    extra = EXTRAS.get(method, "")
    return SCRIPT.format(case=case, module=module, name=name, params=json.dumps(params), estimates=estimates,
                         extra=extra)


def case_input(case):
    method, kind, seconds, params, estimates = CASES[case]
    mix, _ = load_foreground_background_example(kind, duration=seconds)
    return mix


def run_cases(cases, timeout=3600.0):
    """Run every case in one nussl process (one import); return {case: arrays to save}."""
    inputs, script = {}, HEADER
    for case in cases:
        method, kind, seconds, params, estimates = CASES[case]
        mix = case_input(case)
        inputs[f"{case}__mix"], inputs[f"{case}__sample_rate"] = mix.audio_data, np.array(mix.sample_rate)
        script += nussl_script(case, method, params, estimates)
    out = run_nussl(script, inputs, timeout=timeout)
    return {case: to_saved(case, {k.split("__", 1)[1]: v for k, v in out.items() if k.startswith(case + "__")})
            for case in cases}


def to_saved(case, out):
    """The arrays of one case as saved: the input, the parameters, nussl's outputs (float32 where large)."""
    method, kind, seconds, params, estimates = CASES[case]
    mix = case_input(case)
    arrays = {"mix": mix.audio_data.astype(np.float32), "sample_rate": np.array(mix.sample_rate), "method": np.array(method),
              "params": np.array(json.dumps(params)), "example": np.array(f"{kind}, first {seconds} s")}
    for key, value in out.items():
        if key == "masks" and value.dtype == bool:
            arrays[key] = value
        elif key in FLOAT32:
            arrays[key] = value.astype(np.float32)
        else:
            arrays[key] = value
    if out["masks"].dtype != bool:  # float32 storage must keep 1e-6 parity
        rounding = float(np.abs(arrays["masks"].astype(np.float64) - out["masks"]).max())
        if rounding > 1e-7:
            raise RuntimeError(f"{case}: float32 masks differ from nussl's by {rounding}")
    return arrays


def nussl_estimates(kind, method, mix, params, cache, timeout):
    """nussl's estimates of ``method`` on the full ``kind`` example (cached as npz in ``cache``)."""
    path = os.path.join(cache, f"{kind}_{method}.npz") if cache else None
    if path and os.path.exists(path):
        with np.load(path) as f:
            return f["estimates"]
    out = run_nussl(HEADER + nussl_script("q", method, params, True),
                    {"q__mix": mix.audio_data, "q__sample_rate": np.array(mix.sample_rate)}, timeout=timeout)
    if path:
        os.makedirs(cache, exist_ok=True)
        np.savez(path, estimates=out["q__estimates"])
    return out["q__estimates"]


def quality(out_dir, timeout, cache=None):
    """nussl's SDR / SI-SDR on the full 10-s examples (default parameters), to quality.json."""
    from sepkit.evaluation import bss_eval_v4, si_sdr_matched

    results = {}
    for kind in ("loop", "drums"):
        mix, sources = load_foreground_background_example(kind)
        refs = list(sources.values())
        entry = {"sources": list(sources), "duration_s": mix.signal_duration}
        for method in ["mix_as_estimate", *CLASSES]:
            params = dict(TIMBRE_DEFAULTS) if method == "timbre" else {}
            if method == "mix_as_estimate":
                estimates = [mix.with_label(label) for label in sources]
            else:
                out = nussl_estimates(kind, method, mix, params, cache, timeout)
                estimates = [AudioSignal(e, mix.sample_rate) for e in out]
            si, assignment = si_sdr_matched(refs, estimates)  # which output is which source
            estimates = [estimates[i] for i in assignment]
            v4 = bss_eval_v4(refs, estimates, mix.sample_rate, window=1.0, hop=1.0)
            sdr = np.nanmedian(v4.values["SDR"], axis=1)
            entry[method] = {
                "params": params,
                "si_sdr": {label: round(float(x), 3) for label, x in zip(sources, si)},
                "sdr_v4_median": {label: round(float(x), 3) for label, x in zip(sources, sdr)},
                "estimate_order": [int(i) for i in assignment],
            }
            print(kind, method, entry[method]["si_sdr"], entry[method]["sdr_v4_median"], list(assignment), flush=True)
        results[kind] = entry
    results["note"] = ("nussl 1.1.9 with default parameters (TimbreClustering: num_sources=2, n_components=16, "
                       "KMeans random_state=0, n_init=10) on the full bundled examples; SI-SDR over the whole "
                       "signal, SDR = BSS Eval v4 (images, 1-s windows and hops) median over frames; both by "
                       "sepkit.evaluation on nussl's estimates. Each source is scored against the nussl output "
                       "matched to it (Hungarian algorithm on SI-SDR): estimate_order[i] is the index, in nussl's "
                       "output order, of the estimate of source i (for REPET on 'drums', the repeating background "
                       "is the drum loop: estimate_order [1, 0]).")
    results["date"] = datetime.date.today().isoformat()
    with open(os.path.join(out_dir, "quality.json"), "w") as f:
        json.dump(results, f, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--quality", action="store_true", help="also write quality.json (slow: RPCA)")
    parser.add_argument("--no-fixtures", action="store_true", help="only quality.json")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "sepkit-nussl-quality"),
                        help="where nussl's 10-s estimates are kept between runs (default: %(default)s)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = {} if args.no_fixtures else run_cases(args.cases, args.timeout)
    for case, arrays in results.items():
        path = os.path.join(args.out, f"{case}.npz")
        np.savez_compressed(path, **arrays)
        print(f"{case}: masks {arrays['masks'].shape} {arrays['masks'].dtype}, "
              f"{os.path.getsize(path) / 1e6:.2f} MB, versions {list(arrays['versions'])}", flush=True)
    if args.quality:
        quality(args.out, args.timeout, args.cache)


if __name__ == "__main__":
    main()
