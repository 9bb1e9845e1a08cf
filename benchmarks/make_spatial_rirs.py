"""Rebuild the bundled room impulse responses ``sepkit/data/spatial/rirs_16k.npz``.

The reverberant example of :func:`sepkit.datasets.load_spatial_example` convolves the bundled
chorale stems with these responses. They are simulated with pyroomacoustics' image-source
method (``pip install pyroomacoustics``; a ``bench`` extra, never needed at run time):

- shoebox room 6.0 x 4.5 x 3.0 m, RT60 0.25 s (Sabine: ``inverse_sabine`` gives the wall
  absorption and the image order);
- a linear array of 3 omnidirectional microphones, 8 cm apart, centred at (3.0, 2.0, 1.4) m,
  along the x axis;
- 4 sources 1.5 m from the array centre, at 1.4 m height, at azimuths 60, 120, 90 and 30 degrees
  (counted from the array axis), in the order of the chorale voices violin, clarinet,
  saxophone, bassoon;
- 16 kHz, fractional delays as pyroomacoustics draws them; every response is cut to the
  same length (the longest), zero padded, stored as float32.

Usage::

    python benchmarks/make_spatial_rirs.py [--out sepkit/data/spatial/rirs_16k.npz]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

SAMPLE_RATE = 16000
ROOM = (6.0, 4.5, 3.0)
RT60 = 0.25
ARRAY_CENTRE = np.array([3.0, 2.0, 1.4])
MIC_SPACING = 0.08
N_MICS = 3
SOURCE_DISTANCE = 1.5
AZIMUTHS_DEG = (60.0, 120.0, 90.0, 30.0)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "sepkit", "data", "spatial", "rirs_16k.npz"))


def simulate():
    """Impulse responses, shape (n_sources, n_mics, n_taps), and the geometry."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(RT60, ROOM)
    room = pra.ShoeBox(ROOM, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=max_order)
    offsets = (np.arange(N_MICS) - (N_MICS - 1) / 2) * MIC_SPACING
    mics = ARRAY_CENTRE[:, None] + np.outer([1.0, 0.0, 0.0], offsets)
    room.add_microphone_array(mics)
    sources = []
    for azimuth in np.deg2rad(AZIMUTHS_DEG):
        position = ARRAY_CENTRE + SOURCE_DISTANCE * np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
        room.add_source(position)
        sources.append(position)
    room.compute_rir()
    n_taps = max(len(room.rir[m][s]) for m in range(N_MICS) for s in range(len(sources)))
    rirs = np.zeros((len(sources), N_MICS, n_taps), dtype=np.float32)
    for s in range(len(sources)):
        for m in range(N_MICS):
            response = room.rir[m][s]
            rirs[s, m, : len(response)] = response
    return rirs, mics.T, np.array(sources), absorption, max_order, pra.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rirs, mics, sources, absorption, max_order, version = simulate()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    np.savez_compressed(
        args.out,
        rirs=rirs,
        sample_rate=np.int64(SAMPLE_RATE),
        mic_positions=mics,
        source_positions=sources,
        rt60=np.float64(RT60),
        absorption=np.float64(absorption),
        max_order=np.int64(max_order),
        pyroomacoustics_version=np.array(version),
    )
    print(f"{args.out}: {rirs.shape[0]} sources x {rirs.shape[1]} mics x {rirs.shape[2]} taps "
          f"({rirs.shape[2] / SAMPLE_RATE:.3f} s), absorption {absorption:.3f}, image order {max_order}, "
          f"pyroomacoustics {version}, {os.path.getsize(args.out) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
