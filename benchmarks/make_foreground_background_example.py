"""Rebuild the bundled foreground/background examples in ``sepkit/data/foreground_background/``.

Two mixtures, made exactly and deterministically from the team's development data
(``../shared/data``, see its READMEs for provenance and licenses):

``loop`` (for REPET, REPET-SIM, 2DFT, RPCA)
    background: samples [8820, 8820 + 110250) (0.2 s to 2.7 s, three and a third beats) of
    ``chorales-dev/bwv256/saxophone.wav + bassoon.wav`` (the two lower voices), with 10-ms
    raised-cosine fades at both ends (no click at the seam), tiled 4 times: 441,000 samples
    (10.0 s), exactly periodic with a period of 110,250 samples (2.5 s).
    foreground: the first 441,000 samples of ``chorales-dev/bwv255/violin.wav`` (a melody that
    does not repeat).
``drums`` (for HPSS)
    percussive: ``drums/runningExample_FunkyMixture.wav`` (218,232 samples, 4.95 s) tiled twice:
    436,464 samples (9.90 s).
    harmonic: the first 436,464 samples of ``chorales-dev/bwv255/clarinet.wav``.

Levels: each example's two sources keep their relative level (the chorale stems have equal
RMS; the Funky loop is 0.2 dB above them) and get one common gain so that the loudest of
{sources, mixture} peaks at -1 dBFS; the sources are then rounded to int16 (the background
before tiling, so the tiled loop is exactly periodic), and the mixture is their integer sum.
Files are 16-bit mono 44.1 kHz FLAC (lossless). The script checks what it writes by reading it
back. Usage::

    python benchmarks/make_foreground_background_example.py [--data ../shared/data] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os

import numpy as np
import soundfile as sf

SAMPLE_RATE = 44100
LOOP_START = 8820  # 0.2 s: the first note of bwv256
LOOP_PERIOD = 110250  # 2.5 s
LOOP_REPEATS = 4
FADE = 441  # 10 ms
DRUM_REPEATS = 2
PEAK_DBFS = -1.0

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "sepkit", "data", "foreground_background"))


def read_int16(path):
    """Samples of a mono 16-bit 44.1 kHz WAV as float64 integers."""
    x, sr = sf.read(path, dtype="int16", always_2d=True)
    if sr != SAMPLE_RATE or x.shape[1] != 1:
        raise ValueError(f"{path}: expected mono {SAMPLE_RATE} Hz, got {x.shape[1]} channels at {sr} Hz")
    return x[:, 0].astype(np.float64)


def raised_cosine_fades(n, fade):
    """Gain of length n: 0 -> 1 over the first ``fade`` samples, 1 -> 0 over the last."""
    gain = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
    gain[:fade] = ramp
    gain[-fade:] = ramp[::-1]
    return gain


def common_gain(sources, mix):
    """One gain putting the loudest of the sources and the mixture at PEAK_DBFS (int16 scale)."""
    peak = max(np.abs(s).max() for s in list(sources) + [mix])
    return 32768.0 * 10 ** (PEAK_DBFS / 20) / peak


def quantise(x):
    q = np.round(x)
    if q.min() < -32768 or q.max() > 32767:
        raise ValueError("int16 overflow")
    return q.astype(np.int16)


def build_loop(data):
    """(background, foreground) int16 arrays of the loop example."""
    folder = os.path.join(data, "chorales-dev")
    lower = read_int16(os.path.join(folder, "bwv256", "saxophone.wav")) + read_int16(
        os.path.join(folder, "bwv256", "bassoon.wav")
    )
    segment = lower[LOOP_START : LOOP_START + LOOP_PERIOD] * raised_cosine_fades(LOOP_PERIOD, FADE)
    n = LOOP_PERIOD * LOOP_REPEATS
    violin = read_int16(os.path.join(folder, "bwv255", "violin.wav"))[:n]
    gain = common_gain([segment, violin], np.tile(segment, LOOP_REPEATS) + violin)
    background = np.tile(quantise(gain * segment), LOOP_REPEATS)
    return background, quantise(gain * violin)


def build_drums(data):
    """(percussive, harmonic) int16 arrays of the drums + voice example."""
    drums = np.tile(read_int16(os.path.join(data, "drums", "runningExample_FunkyMixture.wav")), DRUM_REPEATS)
    clarinet = read_int16(os.path.join(data, "chorales-dev", "bwv255", "clarinet.wav"))[: drums.size]
    gain = common_gain([drums, clarinet], drums + clarinet)
    return quantise(gain * drums), quantise(gain * clarinet)


def write_checked(path, samples):
    sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    back, sr = sf.read(path, dtype="int16")
    if sr != SAMPLE_RATE or not np.array_equal(back, samples):
        raise RuntimeError(f"{path}: read-back differs from what was written")
    return hashlib.sha256(back.tobytes()).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    examples = {
        "loop": dict(zip(("background", "foreground"), build_loop(args.data))),
        "drums": dict(zip(("harmonic", "percussive"), build_drums(args.data)[::-1])),
    }
    for kind, sources in examples.items():
        total = sum(s.astype(np.int32) for s in sources.values())
        files = {**{f"{kind}_{label}": s for label, s in sources.items()}, f"{kind}_mix": quantise(total)}
        for name, samples in files.items():
            digest = write_checked(os.path.join(args.out, name + ".flac"), samples)
            size = os.path.getsize(os.path.join(args.out, name + ".flac"))
            peak = 20 * np.log10(np.abs(samples.astype(float)).max() / 32768)
            print(f"{name}.flac  {samples.size} samples  peak {peak:.2f} dBFS  {size / 1e6:.2f} MB  int16 sha256 {digest}")


if __name__ == "__main__":
    main()
