"""Speed of sepkit's WienerFilter against norbert.wiener, and of every IdealMask variant.

One synthetic workload (default 30 s, 44.1 kHz, stereo, 4 sources: harmonic tones with
vibrato plus band-pass noise bursts, each source panned differently; the mixture is the
exact sum of the sources), built from a fixed seed. In the same process:

* sepkit ``WienerFilter(mix, true_sources, iterations=1)``: ``run()`` alone and
  ``run()`` + ``make_audio_signals()``, each on fresh AudioSignals (so STFTs are
  recomputed: they are part of the work);
* ``norbert.wiener(v, x, iterations=1)`` with ``v = |S_j|**2`` of the same sources and
  ``x`` the mixture STFT, frames first (norbert's layout) and precomputed -- norbert
  is timed on the filtering alone; x is copied before each call because norbert divides
  it in place;
* ``IdealMask(mix, sources, approach=...)()`` for every variant, STFTs and inverse
  STFTs included.

Times are the minimum over ``--repeats`` runs after a warm-up run (numba compilation
excluded). Usage::

    python benchmarks/bench_wiener_idealmask.py [--repeats 5] [--seconds 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import signal as sps

from sepkit import AudioSignal
from sepkit.separation import IdealMask, WienerFilter

SAMPLE_RATE = 44100
SEED = 20240611


def synthetic_sources(seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = SEED) -> np.ndarray:
    """Four stereo sources, shape (4, 2, n_samples): tones with vibrato plus noise bursts.

    Each source plays notes of 0.25-0.75 s in its own register (8 harmonics with 1/k
    amplitudes, 5-6 Hz vibrato of +-0.5 %, attack/decay envelope) and band-pass filtered
    noise bursts of 50 ms in its own band, and is panned to its own position
    (constant-power gains).
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    registers = [(440.0, 880.0), (260.0, 520.0), (150.0, 300.0), (70.0, 140.0)]
    bands = [(4000.0, 8000.0), (2000.0, 4000.0), (800.0, 1600.0), (100.0, 400.0)]
    pans = [0.1, 0.35, 0.65, 0.9]  # 0 = left, 1 = right
    out = np.zeros((4, 2, n))
    for j in range(4):
        mono = np.zeros(n)
        start = 0
        while start < n:
            length = int(rng.uniform(0.25, 0.75) * sample_rate)
            stop = min(n, start + length)
            f0 = rng.uniform(*registers[j])
            tt = t[: stop - start]
            vib = 1.0 + 0.005 * np.sin(2 * np.pi * rng.uniform(5.0, 6.0) * tt)
            phase = 2 * np.pi * f0 * np.cumsum(vib) / sample_rate
            env = np.minimum(1.0, tt / 0.02) * np.exp(-tt / rng.uniform(0.3, 1.0))
            note = sum(np.sin(k * phase) / k for k in range(1, 9) if k * f0 < sample_rate / 2)
            mono[start:stop] += 0.2 * env * note
            start = stop
        sos = sps.butter(4, bands[j], btype="bandpass", fs=sample_rate, output="sos")
        burst_len = int(0.05 * sample_rate)
        for onset in rng.integers(0, max(1, n - burst_len), size=int(2 * seconds)):
            burst = sps.sosfilt(sos, rng.standard_normal(burst_len)) * np.hanning(burst_len)
            mono[onset : onset + burst_len] += 0.3 * burst
        angle = pans[j] * np.pi / 2
        out[j, 0] = np.cos(angle) * mono
        out[j, 1] = np.sin(angle) * mono
    return out


def best_time(fn, repeats: int, setup=None) -> float:
    """Minimum wall time of ``fn(*setup())`` over ``repeats`` runs, after one warm-up run."""
    setup = setup or (lambda: ())
    fn(*setup())
    best = np.inf
    for _ in range(repeats):
        args = setup()
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (minimum is reported)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the workload in seconds")
    args = parser.parse_args(argv)

    import norbert  # test/benchmark oracle only

    sources_audio = synthetic_sources(args.seconds)
    mix_audio = sources_audio.sum(axis=0)
    labels = ["high", "mid", "tenor", "bass"]

    def fresh():
        mix = AudioSignal(mix_audio, SAMPLE_RATE, label="mix")
        sources = [AudioSignal(s, SAMPLE_RATE, label=label) for s, label in zip(sources_audio, labels)]
        return mix, sources

    mix, sources = fresh()
    x_frames_first = np.ascontiguousarray(mix.stft().transpose(1, 0, 2))
    v_frames_first = np.ascontiguousarray(
        np.stack([np.abs(s.stft()) ** 2 for s in sources], axis=-1).transpose(1, 0, 2, 3)
    )
    print(
        f"workload: {args.seconds:g} s, {SAMPLE_RATE} Hz, {mix.num_channels} channels, {len(sources)} sources; "
        f"STFT {mix.stft().shape} (n_freq, n_frames, n_channels); minimum of {args.repeats} runs"
    )

    # agreement check on this workload (not timed)
    ours = WienerFilter(mix, sources, iterations=1).run()
    theirs = norbert.wiener(v_frames_first, x_frames_first.copy(), iterations=1).transpose(1, 0, 2, 3)
    rel = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    del ours, theirs

    rows = []
    t_run = best_time(lambda m, s: WienerFilter(m, s, iterations=1).run(), args.repeats, fresh)
    t_full = best_time(lambda m, s: WienerFilter(m, s, iterations=1)(), args.repeats, fresh)
    t_norbert = best_time(
        lambda v, x: norbert.wiener(v, x, iterations=1),
        args.repeats,
        lambda: (v_frames_first, x_frames_first.copy()),
    )
    rows.append(("sepkit WienerFilter(iterations=1).run()", t_run, f"{t_norbert / t_run:.1f}x faster"))
    rows.append(("sepkit WienerFilter(iterations=1)() incl. iSTFT", t_full, f"{t_norbert / t_full:.1f}x faster"))
    rows.append(("norbert.wiener(v, x, iterations=1)", t_norbert, "reference"))

    variants = [
        ("ibm", dict(approach="ibm")),
        ("irm-msa", dict(approach="irm-msa")),
        ("irm-msa power=2", dict(approach="irm-msa", power=2)),
        ("irm-msa normalize='sources'", dict(approach="irm-msa", normalize="sources")),
        ("irm-psa", dict(approach="irm-psa")),
        ("irm-psa normalize='sources'", dict(approach="irm-psa", normalize="sources")),
        ("irm-psa truncate=False", dict(approach="irm-psa", truncate=False)),
        ("irm-msa mask_type='binary'", dict(approach="irm-msa", mask_type="binary")),
        ("irm-psa mask_type='binary'", dict(approach="irm-psa", mask_type="binary")),
    ]
    for name, kwargs in variants:
        elapsed = best_time(lambda m, s, kw=kwargs: IdealMask(m, s, **kw)(), args.repeats, fresh)
        rows.append((f"IdealMask {name}", elapsed, "ok (< 0.5 s)" if elapsed < 0.5 else "SLOW (>= 0.5 s)"))

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'time (s)':>9}  note")
    for name, elapsed, note in rows:
        print(f"{name:<{width}}  {elapsed:9.3f}  {note}")
    print(f"sepkit vs norbert: max |difference| / max |norbert| = {rel:.1e}")


if __name__ == "__main__":
    main()
