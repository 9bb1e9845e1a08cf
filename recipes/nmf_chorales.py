"""Compare the three NMF modes on a chorale: supervised, score-informed and blind.

Supervised NMF runs twice: with the learned templates, and with them transposed by up to
``--pitch-shifts`` semitones (:func:`sepkit.separation.nmf.nmf.shift_templates`).

Usage::

    # the data shipped with sepkit: the bundled BWV 255 example (10 s) as the mixture,
    # templates learned on 6 s of the BWV 256 stems from tests/data/chorales, BWV 255's bundled notes
    python recipes/nmf_chorales.py --out results/nmf_chorales

    # a chorales folder (one sub-folder per piece with violin.wav, clarinet.wav, ..., notes.csv)
    python recipes/nmf_chorales.py --data path/to/chorales-dev --piece bwv255 --train-piece bwv256 \\
        --sources violin clarinet --out results/nmf_chorales

The mixture is the sum of the chosen stems of ``--piece``. Supervised NMF keeps templates
learned on the same stems of ``--train-piece`` fixed; score-informed NMF builds comb
templates and gated activations from the piece's ``notes.csv``; blind NMF groups
``8 * num_sources`` components by MFCC + KMeans. Prints a table of SI-SDR (dB) per source
and method (with ``MixAsEstimate`` as the lower baseline; blind estimates are matched to
the references by the best permutation) and saves ``templates.png``, ``activations.png``
and ``masks.png`` in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import sepkit
from sepkit.evaluation import si_sdr_matched
from sepkit.separation.benchmark import MixAsEstimate
from sepkit.separation.nmf import NMF
from sepkit.core.annotations import read_notes

BUNDLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "chorales"


def load(args):
    """Return ``(mix, sources, train, notes, description)``."""
    if args.data is None:
        _, sources = sepkit.datasets.load_example(args.sources)
        train = {}
        for name in args.sources:
            path = BUNDLED / f"bwv256_{name}.flac"
            if not path.exists():
                sys.exit(f"no bundled training stem for {name!r} ({path}); give --data")
            train[name] = [sepkit.AudioSignal(path, label=name)]
        notes_path = Path(sepkit.__file__).resolve().parent / "data" / "bwv255_notes.csv"
        what = "bundled BWV 255 (10 s) / templates from tests/data/chorales BWV 256 (6 s)"
    else:
        root = Path(args.data)
        sources = {name: sepkit.AudioSignal(root / args.piece / f"{name}.wav", label=name) for name in args.sources}
        train = {name: [sepkit.AudioSignal(root / args.train_piece / f"{name}.wav", label=name)]
                 for name in args.sources}
        notes_path = root / args.piece / "notes.csv"
        what = f"{root / args.piece} / templates from {root / args.train_piece}"
    if args.seconds is not None:
        n = int(round(args.seconds * next(iter(sources.values())).sample_rate))
        sources = {k: v.truncate(min(n, v.signal_length)) for k, v in sources.items()}
        train = {k: [s.truncate(min(n, s.signal_length)) for s in v] for k, v in train.items()}
    mix = sum(sources.values()).with_label("mix")
    notes = [note for note in read_notes(notes_path) if note.stem in sources]
    return mix, sources, train, notes, what


def plots(out: Path, runs: dict, labels: list[str], sample_rate: int, hop: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in runs if runs[name]["sep"] is not None]
    db = lambda a: 20 * np.log10(np.maximum(a, 1e-8 * a.max()))

    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        sep = runs[name]["sep"]
        order = np.argsort(sep.groups, kind="stable")
        W = sep.W[:, order]
        fmax = 5000 * W.shape[0] * 2 // sample_rate
        ax.imshow(db(W[:fmax]), aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                  extent=(-0.5, W.shape[1] - 0.5, 0, fmax * sample_rate / (2 * (W.shape[0] - 1))))
        bounds = np.flatnonzero(np.diff(sep.groups[order])) + 0.5
        for b in bounds:
            ax.axvline(b, color="cyan", lw=1)
        ax.set(title=f"{name}: templates (dB)", xlabel="component (grouped by source)", ylabel="Hz")
    fig.tight_layout()
    fig.savefig(out / "templates.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(len(names), 1, figsize=(10, 2.6 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        sep = runs[name]["sep"]
        order = np.argsort(sep.groups, kind="stable")
        H = sep.unfold(sep.H)[..., 0][order]  # first channel, (K, N)
        ax.imshow(H / max(H.max(), 1e-12), aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
                  extent=(0, H.shape[1] * hop / sample_rate, -0.5, H.shape[0] - 0.5))
        for b in np.flatnonzero(np.diff(sep.groups[order])) + 0.5:
            ax.axhline(b, color="red", lw=1)
        ax.set(title=f"{name}: activations", xlabel="s", ylabel="component")
    fig.tight_layout()
    fig.savefig(out / "activations.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(len(names), len(labels), figsize=(4.5 * len(labels), 2.8 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        sep, perm = runs[name]["sep"], runs[name]["perm"]
        for j, label in enumerate(labels):
            mask = sep.result_masks[perm[j]].mask[..., 0]
            fmax = 5000 * mask.shape[0] * 2 // sample_rate
            ax = axes[i, j]
            ax.imshow(mask[:fmax], aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest",
                      extent=(0, mask.shape[1] * hop / sample_rate, 0, fmax * sample_rate / (2 * (mask.shape[0] - 1))))
            ax.set(title=f"{name}: mask of {label}", xlabel="s", ylabel="Hz")
    fig.tight_layout()
    fig.savefig(out / "masks.png", dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", metavar="DIR", help="chorales folder (default: the data shipped with sepkit)")
    parser.add_argument("--piece", default="bwv255", help="piece to separate (default: bwv255)")
    parser.add_argument("--train-piece", default="bwv256", help="piece to learn templates on (default: bwv256)")
    parser.add_argument("--sources", nargs="+", default=["violin", "clarinet"], metavar="NAME",
                        help="stems to mix and separate (default: violin clarinet)")
    parser.add_argument("--seconds", type=float, help="use only the first SECONDS of every signal")
    parser.add_argument("--n-iter", type=int, default=200, help="NMF iterations (default: 200)")
    parser.add_argument("--templates", type=int, default=8, help="templates per source, supervised (default: 8)")
    parser.add_argument("--pitch-shifts", type=int, default=6, metavar="SEMITONES",
                        help="also run supervised NMF with templates transposed by up to this many "
                             "semitones (default: 6; 0 to skip)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default="nmf_chorales", help="folder for the plots (default: nmf_chorales)")
    args = parser.parse_args(argv)

    mix, sources, train, notes, what = load(args)
    labels = list(sources)
    references = list(sources.values())
    print(f"{what}: {mix.signal_duration:.2f} s, sources {labels}, n_iter={args.n_iter}", file=sys.stderr)

    runs = {}
    t0 = time.perf_counter()
    templates = NMF.learn_templates(train, n_components=args.templates, n_iter=args.n_iter, seed=args.seed)
    learn_time = time.perf_counter() - t0
    shifted = None
    if args.pitch_shifts:
        shifted = NMF.learn_templates(train, n_components=args.templates, n_iter=args.n_iter, seed=args.seed,
                                      pitch_shifts=args.pitch_shifts)
    separators = {
        "supervised": lambda: NMF(mix, templates=templates, n_iter=args.n_iter, seed=args.seed),
        "score-informed": lambda: NMF(mix, score=notes, n_iter=args.n_iter, seed=args.seed),
        "blind": lambda: NMF(mix, len(labels), n_iter=args.n_iter, seed=args.seed),
        "mix-as-estimate": lambda: MixAsEstimate(mix, len(labels)),
    }
    if shifted is not None:
        separators = {f"supervised ±{args.pitch_shifts} st": lambda: NMF(mix, templates=shifted, n_iter=args.n_iter,
                                                                          seed=args.seed), **separators}
    for name, make in separators.items():
        sep = make()
        t0 = time.perf_counter()
        estimates = sep()
        elapsed = time.perf_counter() - t0
        scores, assignment = si_sdr_matched(references, estimates)
        perm = tuple(int(j) for j in assignment)
        runs[name] = {"scores": scores, "perm": perm, "time": elapsed,
                      "sep": sep if isinstance(sep, NMF) else None}

    width = max(10, *(len(label) for label in labels))
    cells = " | ".join(f"{label:>{width}}" for label in labels)
    header = f"| {'method':<18} | {cells} | {'mean':>6} | time (s) |"
    print(header)
    print("|" + "|".join("-" * (len(part) + 0) for part in header.split("|")[1:-1]) + "|")
    for name, run in runs.items():
        cells = " | ".join(f"{s:>{width}.2f}" for s in run["scores"])
        extra = f" (+{learn_time:.1f} learning)" if name == "supervised" else ""
        print(f"| {name:<18} | {cells} | {run['scores'].mean():>6.2f} | {run['time']:.1f}{extra} |")
    print("SI-SDR in dB (mean over channels)", file=sys.stderr)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots(out, runs, labels, mix.sample_rate, mix.stft_params.hop_length)
    print("written: " + ", ".join(str(out / f) for f in ("templates.png", "activations.png", "masks.png")),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
