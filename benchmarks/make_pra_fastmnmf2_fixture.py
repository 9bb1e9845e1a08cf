"""Write pyroomacoustics 0.10.1's FastMNMF2 outputs to ``tests/data/pyroomacoustics/`` (parity and quality fixtures).

``pra.bss.fastmnmf2`` draws its initial NMF factors from numpy's *global* RNG; this script
seeds it, runs pyroomacoustics, and rebuilds the same draws (``H`` then ``W``, uniform in
[0, 1), with ``numpy.random.RandomState(seed)``) so that sepkit's kernels can start from
them. Files written:

``fastmnmf2.npz`` (parity)
    Per case (``<case>_`` prefix): ``x`` (complex64, ``(n_freq, n_frames, n_chan)``: the STFT
    (:data:`PARITY_STFT`, small so the file is) of the first seconds of
    ``load_spatial_example('reverberant')``, rounded to complex64; both libraries get exactly
    these values as complex128), ``h`` and ``w`` (float64: the initial draws), ``out``
    (complex64, ``(n_freq, n_frames, n_src)``: ``pra.bss.fastmnmf2(x, n_src, n_iter,
    n_components, mic_index=0)`` transposed to frequency first), ``params`` (JSON). Cases:
    ``det`` (2 voices, 2 mics, 0.5 s, 30 iterations, 8 components) and ``over`` (3 sources on
    2 mics, 0.25 s, 10 iterations, 4 components).
``fastmnmf2_quality.json`` (quality floor)
    pyroomacoustics' BSS Eval v4 SDR (images, median over 1-s frames, mean over sources,
    estimates matched to sources) and SI-SDR on ``load_spatial_example('reverberant',
    duration=3)`` (violin + clarinet, 2 mics), with the default STFT, 100 iterations and 8
    components (sepkit's defaults), for global seeds 0-4, beside MixAsEstimate.

Usage::

    python benchmarks/make_pra_fastmnmf2_fixture.py [--out tests/data/pyroomacoustics]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "data", "pyroomacoustics"))

# case -> (seconds, n_src, n_iter, n_components, seed)
CASES = {"det": (0.5, 2, 30, 8, 3), "over": (0.25, 3, 10, 4, 5)}
#: STFT of the parity cases (the algorithm does not depend on it; small keeps the file small).
PARITY_STFT = (512, 128, "hann")
QUALITY_SEEDS = range(5)
QUALITY = {"duration": 3.0, "n_src": 2, "n_iter": 100, "n_components": 8}


def initial_draws(seed, n_src, n_components, n_freq, n_frames):
    """The draws ``pra.bss.fastmnmf2`` makes after ``numpy.random.seed(seed)``: ``H`` then ``W``."""
    state = np.random.RandomState(seed)
    h = state.rand(n_src, n_components, n_frames)
    w = state.rand(n_src, n_freq, n_components)
    return h, w


def run_pra(x, n_src, n_iter, n_components, seed, mic_index=0):
    """pyroomacoustics on a frequency-first STFT; output frequency first, sources last."""
    import pyroomacoustics as pra

    np.random.seed(seed)
    try:
        out = pra.bss.fastmnmf2(np.ascontiguousarray(x.transpose(1, 0, 2)), n_src=n_src, n_iter=n_iter,
                                n_components=n_components, mic_index=mic_index)
    finally:
        np.random.seed(None)
    return out.transpose(1, 0, 2) if mic_index != "all" else out.transpose(2, 1, 0, 3)


def parity(out_dir):
    from sepkit import STFTParams
    from sepkit.datasets import load_spatial_example

    arrays = {}
    for case, (seconds, n_src, n_iter, n_components, seed) in CASES.items():
        mix, _ = load_spatial_example("reverberant", duration=seconds)
        params = STFTParams(*PARITY_STFT).resolve(mix.sample_rate)
        x = mix.stft(params).astype(np.complex64)
        x128 = x.astype(np.complex128)
        n_freq, n_frames, _ = x.shape
        h, w = initial_draws(seed, n_src, n_components, n_freq, n_frames)
        out = run_pra(x128, n_src, n_iter, n_components, seed)
        arrays.update({
            f"{case}_x": x, f"{case}_h": h, f"{case}_w": w, f"{case}_out": out.astype(np.complex64),
            f"{case}_params": json.dumps({
                "seconds": seconds, "n_src": n_src, "n_iter": n_iter, "n_components": n_components,
                "seed": seed, "mic_index": 0, "accelerate": True, "stft": repr(params),
            }),
        })
        print(f"{case}: x {x.shape}, out {out.shape}")
    path = os.path.join(out_dir, "fastmnmf2.npz")
    np.savez_compressed(path, **arrays)
    print("wrote", path, os.path.getsize(path) // 1024, "KiB")


def score(refs, estimates):
    """Mean over sources of BSS Eval v4 SDR (median over frames) and SI-SDR, estimates matched."""
    from sepkit.evaluation import bss_eval_v4, si_sdr_matched

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = bss_eval_v4(refs, estimates, compute_permutation=True)
        sdr = float(np.mean(np.nanmedian(scores.values["SDR"], axis=1)))
        si = float(np.mean(si_sdr_matched(refs, estimates)[0]))
    return sdr, si


def quality(out_dir):
    import pyroomacoustics as pra

    from sepkit.datasets import load_spatial_example
    from sepkit.separation.multichannel.fast_mnmf2 import DEFAULT_STFT

    mix, sources = load_spatial_example("reverberant", duration=QUALITY["duration"])
    refs = list(sources.values())
    params = DEFAULT_STFT.resolve(mix.sample_rate)
    x = mix.stft(params)
    runs = []
    for seed in QUALITY_SEEDS:
        out = run_pra(x, QUALITY["n_src"], QUALITY["n_iter"], QUALITY["n_components"], seed, mic_index="all")
        estimates = [mix.istft(out[..., n], params) for n in range(out.shape[-1])]
        sdr, si = score(refs, estimates)
        runs.append({"seed": seed, "sdr": round(sdr, 3), "si_sdr": round(si, 3)})
        print(f"pyroomacoustics seed {seed}: SDR {sdr:.2f} dB, SI-SDR {si:.2f} dB", flush=True)
    mix_sdr, mix_si = score(refs, [mix] * len(refs))
    record = {
        "input": "load_spatial_example('reverberant', duration=3): violin + clarinet, 2 mics, 16 kHz",
        "stft": repr(params),
        "parameters": QUALITY,
        "metric": "BSS Eval v4 images SDR (median over 1-s frames) and SI-SDR, mean over sources, matched",
        "pyroomacoustics": {
            "version": pra.__version__,
            "runs": runs,
            "mean_sdr": round(float(np.mean([r["sdr"] for r in runs])), 3),
            "mean_si_sdr": round(float(np.mean([r["si_sdr"] for r in runs])), 3),
        },
        "mix_as_estimate": {"sdr": round(mix_sdr, 3), "si_sdr": round(mix_si, 3)},
        "numpy": np.__version__,
        "written": datetime.date.today().isoformat(),
    }
    path = os.path.join(out_dir, "fastmnmf2_quality.json")
    with open(path, "w") as file:
        json.dump(record, file, indent=2)
        file.write("\n")
    print("wrote", path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    parity(args.out)
    if not args.skip_quality:
        quality(args.out)


if __name__ == "__main__":
    main()
