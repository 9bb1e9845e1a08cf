"""Write the pyroomacoustics parity and quality fixtures of AuxIVA and ILRMA.

``tests/data/pyroomacoustics/``:

- ``bss_parity.npz``: pyroomacoustics' ``pra.bss.auxiva`` (Laplace and Gauss priors) and
  ``pra.bss.ilrma`` run on sepkit's STFT of 0.75 s of ``load_spatial_example('reverberant')``
  (2 voices, 2 microphones), with their inputs, ILRMA's random initial factors and their
  outputs (see the README beside the fixtures for the keys);
- ``bss_quality.json``: SDR and SI-SDR of pyroomacoustics' AuxIVA and ILRMA run as a user
  would (its own STFT, synthesis and projection back onto microphone 0) on
  ``load_spatial_example('reverberant', duration=3)``, scored at microphone 0, next to
  MixAsEstimate; so the tests compare sepkit with pyroomacoustics without importing it.

pyroomacoustics is a ``bench`` extra (``pip install -e .[bench]``); the tests never import it.

Usage::

    python benchmarks/make_pra_bss_fixtures.py [--out tests/data/pyroomacoustics]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "data", "pyroomacoustics"))

#: Parity input: 0.75 s of the reverberant duet, sepkit's STFT with these parameters.
PARITY_SECONDS = 0.75
PARITY_STFT = (512, 256, "hann")
PARITY_ITER = 20
ILRMA_SEED = 3
ILRMA_COMPONENTS = 2

#: Quality input: 3 s of the reverberant example; both libraries' STFT 2048 / 512 Hann.
QUALITY_SECONDS = 3.0
QUALITY_WINDOW, QUALITY_HOP = 2048, 512
AUXIVA_ITER, ILRMA_ITER = 30, 100
ILRMA_QUALITY_SEEDS = (0, 1, 2, 3)


def pra_separate(audio, method, seed=0, window=QUALITY_WINDOW, hop=QUALITY_HOP):
    """pyroomacoustics as a user calls it: its STFT, ``auxiva``/``ilrma``, its synthesis.

    Parameters
    ----------
    audio : numpy.ndarray, shape (n_chan, n_samples)
    method : {'auxiva', 'ilrma'}
    seed : int
        Seed of numpy's global RNG before ILRMA (pyroomacoustics draws from it).

    Returns
    -------
    numpy.ndarray, shape (n_src, n_samples)
        Each source's image at microphone 0 (pyroomacoustics' projection back), aligned with
        the input (the input is zero padded by ``window - hop`` at the front and ``window``
        at the back, and the synthesis delay ``window - hop`` removed).
    """
    import pyroomacoustics as pra

    n = audio.shape[1]
    delay = window - hop
    padded = np.concatenate([np.zeros((audio.shape[0], delay)), audio, np.zeros((audio.shape[0], window))], axis=1)
    X = pra.transform.stft.analysis(padded.T, window, hop, win=pra.hann(window))
    if method == "auxiva":
        Y = pra.bss.auxiva(X, n_iter=AUXIVA_ITER, model="laplace")
    else:
        np.random.seed(seed)
        Y = pra.bss.ilrma(X, n_iter=ILRMA_ITER, n_components=ILRMA_COMPONENTS)
    synthesis = pra.transform.stft.compute_synthesis_window(pra.hann(window), hop)
    y = pra.transform.stft.synthesis(Y, window, hop, win=synthesis)
    return np.ascontiguousarray(y[2 * delay: 2 * delay + n].T)


def scores_at_mic0(images, estimates, rate):
    """(SDR, SI-SDR) per reference at microphone 0: BSS Eval v3 images with the best permutation."""
    from sepkit import AudioSignal
    from sepkit.evaluation import bss_eval_images, si_sdr_matched

    refs = [AudioSignal(np.asarray(im)[None], rate) for im in images]
    ests = [AudioSignal(np.asarray(e)[None], rate) for e in estimates]
    sdr = np.asarray(bss_eval_images(refs, ests).values["SDR"]).ravel()
    si = si_sdr_matched(refs, ests)[0]
    return [round(float(v), 3) for v in sdr], [round(float(v), 3) for v in si]


def parity(out):
    import pyroomacoustics as pra

    import sepkit

    mix, _ = sepkit.datasets.load_spatial_example("reverberant", duration=PARITY_SECONDS)
    params = sepkit.STFTParams(*PARITY_STFT)
    X = np.ascontiguousarray(mix.stft(params)).astype(np.complex64)  # stored; pra runs on its complex128 cast
    Xp = X.astype(np.complex128).transpose(1, 0, 2).copy()  # pyroomacoustics: (n_frames, n_freq, n_chan)
    result = {"X": X, "stft": np.array(json.dumps(PARITY_STFT)), "n_iter": PARITY_ITER}
    for model in ("laplace", "gauss"):
        Y, W = pra.bss.auxiva(Xp, n_iter=PARITY_ITER, model=model, return_filters=True)
        result[f"auxiva_{model}_W"] = W
        if model == "laplace":  # the projected-back output of one case is enough (the fixture stays small)
            result[f"auxiva_{model}_Y"] = Y.transpose(1, 0, 2).astype(np.complex64)
    n_freq, n_frames, n_chan = X.shape
    np.random.seed(ILRMA_SEED)  # pyroomacoustics draws T then V from the global RNG: rebuild the draws
    result["ilrma_bases0"] = 0.1 + 0.9 * np.random.rand(n_chan, n_freq, ILRMA_COMPONENTS)
    result["ilrma_activations0"] = 0.1 + 0.9 * np.random.rand(n_chan, n_frames, ILRMA_COMPONENTS)
    np.random.seed(ILRMA_SEED)
    Y, W = pra.bss.ilrma(Xp, n_iter=PARITY_ITER, n_components=ILRMA_COMPONENTS, return_filters=True)
    result["ilrma_W"] = W  # after pyroomacoustics' last (column) normalisation
    result["ilrma_Y"] = Y.transpose(1, 0, 2).astype(np.complex64)
    result["versions"] = np.array(json.dumps({"pyroomacoustics": pra.__version__, "numpy": np.__version__}))
    np.savez_compressed(os.path.join(out, "bss_parity.npz"), **result)


def quality(out):
    import pyroomacoustics as pra

    import sepkit

    record = {
        "input": f"load_spatial_example('reverberant', duration={QUALITY_SECONDS}) (violin, clarinet; 2 mics), "
                 "and sources=('violin', 'clarinet', 'bassoon') with 3 mics",
        "scoring": "microphone 0: BSS Eval v3 bss_eval_images SDR (512 taps, best permutation) and SI-SDR "
                   "(si_sdr_matched), per voice in the order asked for",
        "pyroomacoustics": pra.__version__,
        "stft": f"pyroomacoustics' own: analysis Hann {QUALITY_WINDOW}, hop {QUALITY_HOP}, matching synthesis",
        "auxiva": {"n_iter": AUXIVA_ITER, "model": "laplace"},
        "ilrma": {"n_iter": ILRMA_ITER, "n_components": ILRMA_COMPONENTS, "seeds": "np.random.seed(k), k in 0..3"},
        "cases": {},
    }
    for case, voices in (("2x2", ("violin", "clarinet")), ("3x3", ("violin", "clarinet", "bassoon"))):
        # (3 x 3: the parity of AuxIVA and the mix only are used by the tests; ILRMA is recorded too)
        mix, images = sepkit.datasets.load_spatial_example("reverberant", sources=voices, duration=QUALITY_SECONDS)
        refs = [im.audio_data[0] for im in images.values()]
        entry = {}
        sdr, si = scores_at_mic0(refs, [mix.audio_data[0]] * len(refs), mix.sample_rate)
        entry["mix_as_estimate"] = {"sdr": sdr, "si_sdr": si}
        est = pra_separate(mix.audio_data, "auxiva")
        sdr, si = scores_at_mic0(refs, list(est), mix.sample_rate)
        entry["auxiva"] = {"sdr": sdr, "si_sdr": si, "mean_sdr": round(float(np.mean(sdr)), 3)}
        runs = []
        for seed in ILRMA_QUALITY_SEEDS:  # ILRMA depends on its random start: several starts, and their mean
            est = pra_separate(mix.audio_data, "ilrma", seed=seed)
            sdr, si = scores_at_mic0(refs, list(est), mix.sample_rate)
            runs.append({"seed": seed, "sdr": sdr, "si_sdr": si})
        entry["ilrma"] = {"runs": runs, "mean_sdr": round(float(np.mean([r["sdr"] for r in runs])), 3)}
        record["cases"][case] = entry
        print(case, json.dumps(entry))
    with open(os.path.join(out, "bss_quality.json"), "w") as file:
        json.dump(record, file, indent=1)
        file.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", choices=("parity", "quality"), default=None)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.only in (None, "parity"):
        parity(args.out)
    if args.only in (None, "quality"):
        quality(args.out)


if __name__ == "__main__":
    main()
