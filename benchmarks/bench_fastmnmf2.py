"""Time sepkit's FastMNMF2 against pyroomacoustics 0.10.1 on the same 30-s 16 kHz 2-mic input.

The input is the reverberant example (violin + clarinet in the simulated room, 2 mics,
``load_spatial_example('reverberant')``, 10 s) tiled three times, with its images tiled
likewise as references. Each library is called as its users call it:

- sepkit: ``FastMNMF2(mix, 2, n_iter=N, seed=0)()`` (STFT, fit, Wiener images, inverse STFT);
- pyroomacoustics: ``pra.transform.stft.analysis`` with the same window and hop (Hann),
  ``pra.bss.fastmnmf2(X, n_src=2, n_iter=N, mic_index='all')`` after ``np.random.seed(0)``,
  ``pra.transform.stft.synthesis`` with the matching synthesis window (output realigned).

Both run the same number of iterations (sepkit's default, 100, unless ``--n-iter``) and the
same number of NMF components (8). Reported: the minimum wall time over ``--repeats`` runs
(2 by default: pyroomacoustics is slow), the ratio, and the BSS Eval v4 SDR (images, median
over 1-s frames, mean over sources, estimates matched) and SI-SDR of both, from the same run.
A first short sepkit run compiles the kernels (not timed). Usage::

    python benchmarks/bench_fastmnmf2.py [--n-iter 100] [--repeats 2] [--seconds 30]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def make_input(seconds):
    """The reverberant duet tiled to ``seconds``: ``(mix, [image, image])``."""
    from sepkit import AudioSignal
    from sepkit.datasets import load_spatial_example

    mix, sources = load_spatial_example("reverberant")
    n = round(seconds * mix.sample_rate)
    reps = int(np.ceil(n / mix.signal_length))

    def tile(signal, label):
        return AudioSignal(np.tile(signal.audio_data, (1, reps))[:, :n], signal.sample_rate, label=label)

    return tile(mix, "mix"), [tile(s, k) for k, s in sources.items()]


def scores(refs, estimates):
    from sepkit.evaluation import bss_eval_v4, si_sdr_matched

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = bss_eval_v4(refs, estimates, compute_permutation=True)
        return float(np.mean(np.nanmedian(sc.values["SDR"], axis=1))), float(np.mean(si_sdr_matched(refs, estimates)[0]))


def run_sepkit(mix, n_iter):
    from sepkit.separation.multichannel.fast_mnmf2 import FastMNMF2

    return FastMNMF2(mix, 2, n_iter=n_iter, seed=0)()


def run_pra(mix, n_iter, window, hop):
    import pyroomacoustics as pra

    from sepkit import AudioSignal

    win_a = pra.hann(window)
    win_s = pra.transform.stft.compute_synthesis_window(win_a, hop)
    X = pra.transform.stft.analysis(mix.audio_data.T, window, hop, win=win_a)
    np.random.seed(0)
    Y = pra.bss.fastmnmf2(X, n_src=2, n_iter=n_iter, n_components=8, mic_index="all")  # (M, T, F, N)
    np.random.seed(None)
    out = []
    for n in range(Y.shape[-1]):
        y = pra.transform.stft.synthesis(Y[..., n].transpose(1, 2, 0), window, hop, win=win_s)[window - hop:]
        data = np.zeros_like(mix.audio_data)
        length = min(len(y), mix.signal_length)
        data[:, :length] = y[:length].T
        out.append(AudioSignal(data, mix.sample_rate, label=f"source_{n}"))
    return out


def best_of(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-iter", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)

    from sepkit.separation.multichannel.fast_mnmf2 import DEFAULT_STFT

    mix, refs = make_input(args.seconds)
    params = DEFAULT_STFT.resolve(mix.sample_rate)
    run_sepkit(mix.truncate(mix.sample_rate), 2)  # compile (cached afterwards)
    t_sep, est_sep = best_of(lambda: run_sepkit(mix, args.n_iter), args.repeats)
    t_pra, est_pra = best_of(lambda: run_pra(mix, args.n_iter, params.window_length, params.hop_length), args.repeats)
    sdr_sep, si_sep = scores(refs, est_sep)
    sdr_pra, si_pra = scores(refs, est_pra)
    mix_sdr, mix_si = scores(refs, [mix, mix])
    print(f"FastMNMF2 on {args.seconds:g} s, 16 kHz, 2 mics; {args.n_iter} iterations, 8 components, "
          f"STFT {params.window_length}/{params.hop_length} Hann; min of {args.repeats}")
    print(f"  sepkit          {t_sep:8.2f} s   SDR {sdr_sep:6.2f} dB   SI-SDR {si_sep:6.2f} dB")
    print(f"  pyroomacoustics {t_pra:8.2f} s   SDR {sdr_pra:6.2f} dB   SI-SDR {si_pra:6.2f} dB")
    print(f"  mix as estimate              SDR {mix_sdr:6.2f} dB   SI-SDR {mix_si:6.2f} dB")
    print(f"  speed-up (pyroomacoustics / sepkit): {t_pra / t_sep:.1f}x")
    return {"sepkit_s": t_sep, "pyroomacoustics_s": t_pra, "ratio": t_pra / t_sep,
            "sdr_sepkit": sdr_sep, "sdr_pyroomacoustics": sdr_pra, "si_sdr_sepkit": si_sep,
            "si_sdr_pyroomacoustics": si_pra}


if __name__ == "__main__":
    main()
