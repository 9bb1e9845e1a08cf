"""Drum separation with NMFD on the 808 and Funky loops: a table of SDR per drum and method,
and plots of templates, activations and masks.

Usage::

    python recipes/nmfd_drums.py [DATA] [--out DIR] [--seed N] [--window SECONDS]

    # the data bundled with the tests (libnmfd's loops and one-shots, MIT)
    python recipes/nmfd_drums.py
    python recipes/nmfd_drums.py path/to/drums --out results/nmfd

``DATA`` holds ``runningExample_{808,Funky}{Mixture,Kick,Snare,Hihat}.{flac,wav}``, the onset
annotations ``runningExample_{808,Funky}Drums.txt`` and one-shot folders ``kick/``,
``snare/``, ``hihat/`` (default: ``tests/data/drums`` of this repository, which holds the
808 loop; the Funky loop and the one-shots are read from the copies bundled with sepkit,
``sepkit/data/drums``, when ``DATA`` lacks them). Methods:

``nmfd templates+onsets``
    NMFD with 2-D templates learned from the one-shots (:meth:`NMFD.templates_from_samples`)
    and activations from the onset annotations (impulses plus NEMA decay 0.75);
``nmfd templates``
    the same templates, activations initialised to ones;
``nmfd blind``
    NMFD with random templates (3 components);
``nmf blind centroid``, ``nmf blind mfcc-kmeans``
    beta-NMF (KL, 24 components, 200 iterations) grouped into 3 sources by spectral
    centroid, or by k-means on the templates' MFCCs (the ``NMF`` default);
``mix-as-estimate``
    every estimate is the mixture.

Blind methods do not know which source is which, so each drum is scored against the estimate
the Hungarian algorithm assigns to it (on SI-SDR). The table gives SI-SDR over the whole
signal and the median BSS Eval v4 SDR over windows of ``--window`` seconds (0.5 by default;
the loops are short). Plots go to ``OUT/templates.png``, ``OUT/activations_<loop>.png`` and
``OUT/masks_<loop>.png``; the table also to ``OUT/table.md``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
import warnings

import numpy as np

import sepkit
from sepkit import AudioSignal
from sepkit.evaluation import bss_eval_v4, si_sdr_matched, si_sdr_signals
from sepkit.separation import MixAsEstimate
from sepkit.separation.nmf import NMF, NMFD, read_drum_onsets

DRUMS = ("kick", "snare", "hihat")
LOOPS = ("808", "Funky")
DEFAULT_DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "drums"


#: The Funky loop and the one-shots ship with sepkit under other names.
PACKAGE_DATA = pathlib.Path(sepkit.__file__).resolve().parent / "data" / "drums"
PACKAGE_NAMES = {
    "runningExample_FunkyMixture": "funky_mix",
    **{f"runningExample_Funky{d.capitalize()}": f"funky_{d}" for d in DRUMS},
}


def _find(folder: pathlib.Path, stem: str, suffixes=(".flac", ".wav")) -> pathlib.Path:
    for ext in suffixes:
        if (folder / (stem + ext)).exists():
            return folder / (stem + ext)
    if stem in PACKAGE_NAMES:
        return PACKAGE_DATA / (PACKAGE_NAMES[stem] + ".flac")
    if stem == "runningExample_FunkyDrums":
        return PACKAGE_DATA / "funky_onsets.txt"
    raise FileNotFoundError(f"{stem}{'/'.join(suffixes)} not found in {folder}")


def _one_shots(folder: pathlib.Path) -> dict:
    shots = {}
    for drum in DRUMS:
        files = sorted(p for p in (folder / drum).glob("*") if p.suffix.lower() in (".flac", ".wav"))
        files = files or sorted((PACKAGE_DATA / drum).glob("*.flac"))
        if not files:
            raise FileNotFoundError(f"no one-shot samples in {folder / drum}")
        shots[drum] = files
    return shots


METHODS = (
    "nmfd templates+onsets",
    "nmfd templates",
    "nmfd blind",
    "nmf blind centroid",
    "nmf blind mfcc-kmeans",
    "mix-as-estimate",
)


def _separator(name, mix, templates, onset_file, seed):
    """The separator of method ``name`` on ``mix`` (not yet run)."""
    if name == "nmfd templates+onsets":
        return NMFD(mix, templates=templates, activations=onset_file, seed=seed)
    if name == "nmfd templates":
        return NMFD(mix, templates=templates, seed=seed)
    if name == "nmfd blind":
        return NMFD(mix, n_components=3, seed=seed)
    if name.startswith("nmf blind "):
        return NMF(mix, num_sources=3, grouping=name.rsplit(" ", 1)[1], seed=seed)
    return MixAsEstimate(mix, 3)


def _matched(refs, estimates):
    """Estimates reordered so that estimate j is the one assigned to reference j (on SI-SDR)."""
    _, assignment = si_sdr_matched(refs, estimates)
    return [estimates[j] for j in assignment]


def _scores(refs, estimates, window):
    si = si_sdr_signals(refs, estimates).mean(axis=1)
    sdr = bss_eval_v4(refs, estimates, window=window, hop=window).values["SDR"]
    return si, np.nanmedian(sdr, axis=1)


def _plot_templates(templates, rate, hop, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(templates), figsize=(3.2 * len(templates), 3.6), sharey=True)
    for ax, (label, tpl) in zip(np.atleast_1d(axes), templates.items()):
        F, T = tpl.shape
        freqs = np.arange(F) * rate / (2 * (F - 1))
        ax.imshow(20 * np.log10(tpl + 1e-12 * tpl.max()), origin="lower", aspect="auto", cmap="magma",
                  extent=(0, T * hop / rate * 1000, 0, freqs[-1] / 1000), vmin=20 * np.log10(tpl.max()) - 60)
        ax.set_title(label)
        ax.set_xlabel("time (ms)")
    np.atleast_1d(axes)[0].set_ylabel("frequency (kHz)")
    fig.suptitle("NMFD templates learned from one-shots (dB, 60 dB range)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_activations(sep, onsets, rate, hop, loop, path):
    import matplotlib.pyplot as plt

    H = sep.unfold(sep.H)[..., 0]  # (K, N), first channel
    t = np.arange(H.shape[1]) * hop / rate
    fig, axes = plt.subplots(len(sep.source_labels), 1, figsize=(10, 1.6 * len(sep.source_labels) + 0.6),
                             sharex=True)
    for ax, label, row in zip(axes, sep.source_labels, H):
        ax.plot(t, row, lw=0.9, label="learned H")
        for j, x in enumerate(onsets.get(label, [])):
            ax.axvline(x, color="tab:red", lw=0.6, alpha=0.6, label="annotated onset" if j == 0 else None)
        ax.set_ylabel(label)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"{loop}: activations of NMFD (templates + onsets)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_masks(sep, rate, hop, loop, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sep.result_masks), figsize=(4 * len(sep.result_masks), 3.4), sharey=True)
    for ax, label, mask in zip(axes, sep.source_labels, sep.result_masks):
        m = mask.mask[..., 0]
        N = m.shape[1]
        ax.imshow(m, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                  extent=(0, N * hop / rate, 0, rate / 2000))
        ax.set_title(label)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.suptitle(f"{loop}: alpha-Wiener masks of NMFD (templates + onsets)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA), metavar="DATA",
                        help=f"folder with the loops, annotations and one-shots (default: {DEFAULT_DATA})")
    parser.add_argument("--out", default="nmfd_drums", metavar="DIR", help="output folder (default: nmfd_drums)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every randomised method (default: 0)")
    parser.add_argument("--window", type=float, default=0.5, metavar="SECONDS",
                        help="BSS Eval v4 window and hop in seconds (default: 0.5)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    data, out = pathlib.Path(args.data), pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    templates = NMFD.templates_from_samples(_one_shots(data), seed=args.seed)
    print(f"templates from one-shots: {time.perf_counter() - start:.2f} s", file=sys.stderr)

    rows = []
    for loop in LOOPS:
        mix = AudioSignal(_find(data, f"runningExample_{loop}Mixture"))
        refs = [AudioSignal(_find(data, f"runningExample_{loop}{d.capitalize()}"), label=d) for d in DRUMS]
        onset_file = _find(data, f"runningExample_{loop}Drums", suffixes=(".txt",))
        params = mix.stft_params
        for name in METHODS:
            tic = time.perf_counter()
            sep = _separator(name, mix, templates, onset_file, args.seed)
            estimates = sep()
            seconds = time.perf_counter() - tic
            if "blind" in name:
                estimates = _matched(refs, estimates)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # mix-as-estimate: identical estimates
                si, sdr = _scores(refs, estimates, args.window)
            rows.append((loop, name, si, sdr, seconds))
            if name == "nmfd templates+onsets":
                _plot_activations(sep, read_drum_onsets(onset_file), mix.sample_rate, params.hop_length, loop,
                                  out / f"activations_{loop}.png")
                _plot_masks(sep, mix.sample_rate, params.hop_length, loop, out / f"masks_{loop}.png")
            print(f"{loop:6s} {name:24s} {seconds:6.2f} s", file=sys.stderr)
    _plot_templates(templates, 44100, 512, out / "templates.png")

    header = ("| loop | method | " + " | ".join(f"{d} SI-SDR" for d in DRUMS) + " | "
              + " | ".join(f"{d} SDR" for d in DRUMS) + " | time (s) |")
    lines = [header, "|" + "---|" * (3 + 2 * len(DRUMS))]
    for loop, name, si, sdr, seconds in rows:
        cells = [f"{x:.2f}" for x in si] + [f"{x:.2f}" for x in sdr]
        lines.append(f"| {loop} | {name} | " + " | ".join(cells) + f" | {seconds:.2f} |")
    table = "\n".join(lines)
    (out / "table.md").write_text(
        f"SI-SDR (whole signal) and median BSS Eval v4 SDR ({args.window} s windows), dB; seed {args.seed}\n\n"
        + table + "\n"
    )
    print(table)
    print("written: " + ", ".join(sorted(str(p) for p in out.iterdir())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
