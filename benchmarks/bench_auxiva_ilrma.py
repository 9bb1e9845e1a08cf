"""AuxIVA and ILRMA: sepkit against pyroomacoustics 0.10.1 on the same 30-s input, same run.

Input: the reverberant example (violin + clarinet, two microphones 8 cm apart, 16 kHz,
:func:`sepkit.datasets.load_spatial_example`) tiled three times, 30 s. Both libraries are timed
as a user calls them, the whole call (STFT, demixing, projection back onto microphone 0,
inverse STFT):

- sepkit: ``AuxIVA(mix, ref_mic=0)()`` (30 iterations, Laplace) and
  ``ILRMA(mix, seed=0, ref_mic=0)()`` (100 iterations, 2 components), STFT 2048 / 512 Hann;
- pyroomacoustics: its STFT (Hann 2048, hop 512), ``pra.bss.auxiva(X, n_iter=30)`` or
  ``pra.bss.ilrma(X, n_iter=100, n_components=2)``, its synthesis
  (``make_pra_bss_fixtures.pra_separate``).

The minimum over repeats is reported (numba compilation is excluded by a warm-up call), with
the ratio, and BSS Eval v3 SDR (``bss_eval_images``, best permutation) of both at microphone 0.

Usage::

    python benchmarks/bench_auxiva_ilrma.py [--repeats 3] [--seconds 30] [--methods auxiva ilrma] [--ilrma-seeds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def make_input(seconds=30.0):
    """The reverberant duet tiled to ``seconds``: ``(mix, [image at mic 0 of each voice])``."""
    import sepkit

    mix, images = sepkit.datasets.load_spatial_example("reverberant")
    n = int(seconds * mix.sample_rate)
    reps = -(-n // mix.signal_length)
    audio = np.tile(mix.audio_data, reps)[:, :n]
    refs = [np.tile(im.audio_data[0], reps)[:n] for im in images.values()]
    return sepkit.AudioSignal(audio, mix.sample_rate, label="mix"), refs


def _best(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats-ilrma", type=int, default=2, help="repeats of pyroomacoustics' ILRMA (slow)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--methods", nargs="+", default=["auxiva", "ilrma"], choices=["auxiva", "ilrma"])
    parser.add_argument("--no-sdr", action="store_true", help="skip the SDR (BSS Eval v3 on 30 s takes a while)")
    parser.add_argument("--ilrma-seeds", type=int, default=1,
                        help="ILRMA's SDR is the mean over seeds 0..N-1 on both sides (it depends on the start)")
    args = parser.parse_args(argv)

    import numba
    import pyroomacoustics as pra

    import sepkit
    from make_pra_bss_fixtures import pra_separate, scores_at_mic0
    from sepkit.separation.multichannel.aux_iva import AuxIVA
    from sepkit.separation.multichannel.ilrma import ILRMA

    mix, refs = make_input(args.seconds)
    rate = mix.sample_rate
    print(f"input: reverberant duet tiled to {mix.signal_length / rate:.0f} s, {mix.num_channels} mics, {rate} Hz; "
          f"pyroomacoustics {pra.__version__}, numba threads {numba.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    short = sepkit.AudioSignal(mix.audio_data[:, :rate], rate)
    rows = []
    for method in args.methods:
        if method == "auxiva":
            ours = lambda m, seed=0: AuxIVA(sepkit.AudioSignal(m.audio_data, rate), ref_mic=0)()  # noqa: E731
            peer_repeats, seeds = args.repeats, [0]
        else:
            ours = lambda m, seed=0: ILRMA(sepkit.AudioSignal(m.audio_data, rate), seed=seed, ref_mic=0)()  # noqa: E731
            peer_repeats, seeds = args.peer_repeats_ilrma, list(range(args.ilrma_seeds))
        ours(short)  # compile (or load the cache)
        t_ours, est = _best(lambda: ours(mix), args.repeats)
        t_peer, peer = _best(lambda: pra_separate(mix.audio_data, method, seed=0), peer_repeats)
        line = (f"{method:7s} sepkit {t_ours:7.2f} s   pyroomacoustics {t_peer:7.2f} s   "
                f"ratio {t_peer / t_ours:5.1f}x (min of {args.repeats} / {peer_repeats})")
        if not args.no_sdr:
            sdr_ours, sdr_peer = [], []
            for seed in seeds:
                if seed:
                    est = ours(mix, seed)
                    peer = pra_separate(mix.audio_data, method, seed=seed)
                sdr_ours.append(np.mean(scores_at_mic0(refs, [e.audio_data[0] for e in est], rate)[0]))
                sdr_peer.append(np.mean(scores_at_mic0(refs, list(peer), rate)[0]))
            line += (f"   SDR (mic 0, mean over voices{' and seeds' if len(seeds) > 1 else ''}) "
                     f"sepkit {np.mean(sdr_ours):5.2f} dB, pyroomacoustics {np.mean(sdr_peer):5.2f} dB")
            if len(seeds) > 1:
                line += f" (per seed: sepkit {np.round(sdr_ours, 2)}, pyroomacoustics {np.round(sdr_peer, 2)})"
        print(line, flush=True)
        rows.append(line)
    return rows


if __name__ == "__main__":
    main()
