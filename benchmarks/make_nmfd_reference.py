"""Make ``tests/data/nmfd/libnmfd_nmfd_reference.npz``: libnmfd 1.0.0 ``nmfd`` on a small drum excerpt.

Input: the magnitude STFT (sepkit, window 2048 sqrt-Hann, hop 512) of the libnmfd drum loop
``runningExample_808Mixture.wav`` (MIT, see ``../shared/data/drums/README.md``), cut to the
first 128 bins and frames 10..109 (128 x 100). libnmfd's ``nmfd`` runs 30 iterations with
K = 3, T = 8 from seeded initial templates (uniform [0, 1), ``numpy.random.default_rng(0)``)
and H = ones (libnmfd's ``'uniform'``):

* case ``learn``: W and H both updated (libnmfd defaults);
* case ``fixW``: the templates learned in ``learn`` kept fixed (``fix_W=True``), H from ones.

The archive holds ``V``, ``W0`` (K, F, T), ``H0`` (K, N), and per case ``W_<case>``,
``H_<case>`` (libnmfd's outputs: templates stacked to (K, F, T), activations on libnmfd's
scale ``V / (2**-52 + sum(V))``), ``cost_<case>`` (libnmfd's own cost), plus ``sum_V`` and the
libnmfd version. libnmfd is not a sepkit dependency; install it apart with::

    pip install --no-deps libnmfd==1.0.0
    python benchmarks/make_nmfd_reference.py [--drums ../shared/data/drums] [--out tests/data/nmfd]

Its loops use ``tqdm.tnrange`` (a notebook widget): this script replaces that name in
``libnmfd.core.nmfconv`` by ``range``.
"""

from __future__ import annotations

import argparse
import os
from importlib.metadata import version

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
K, T, N_ITER = 3, 8, 30
BINS, FRAMES = slice(0, 128), slice(10, 110)


def libnmfd_nmfd():
    """libnmfd's ``nmfd`` with its notebook progress bar replaced by ``range``."""
    from libnmfd.core import nmfconv

    nmfconv.tnrange = lambda n, *args, **kwargs: range(n)
    return nmfconv.nmfd


def drum_spectrogram(drums_dir):
    from sepkit import AudioSignal, STFTParams

    mix = AudioSignal(os.path.join(drums_dir, "runningExample_808Mixture.wav"))
    X = mix.stft(STFTParams(window_length=2048, hop_length=512))[:, :, 0]
    return np.ascontiguousarray(np.abs(X)[BINS, FRAMES])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drums", default=os.path.join(ROOT, "..", "shared", "data", "drums"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "nmfd"))
    args = parser.parse_args(argv)
    nmfd = libnmfd_nmfd()

    V = drum_spectrogram(args.drums)
    F, N = V.shape
    rng = np.random.default_rng(0)
    W0 = rng.random((K, F, T))
    H0 = np.ones((K, N))
    out = {"V": V, "W0": W0, "H0": H0, "sum_V": V.sum(), "libnmfd_version": version("libnmfd"),
           "n_iter": N_ITER}

    W, H, _, cost, _ = nmfd(V.copy(), num_comp=K, num_iter=N_ITER, num_template_frames=T,
                            init_W=[w.copy() for w in W0], init_H=H0.copy())
    out.update(W_learn=np.stack(W), H_learn=H, cost_learn=cost)
    Wl = np.stack(W)
    W, H, _, cost, _ = nmfd(V.copy(), num_comp=K, num_iter=N_ITER, num_template_frames=T,
                            init_W=[w.copy() for w in Wl], init_H=H0.copy(), fix_W=True)
    out.update(W_fixW=np.stack(W), H_fixW=H, cost_fixW=cost)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "libnmfd_nmfd_reference.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} kB): V {V.shape}, K = {K}, T = {T}, "
          f"{N_ITER} iterations, libnmfd {out['libnmfd_version']}")


if __name__ == "__main__":
    main()
