"""Blind harmonic-dictionary separation (DictSep, Schulze & King 2021) of chorales.

DictSep learns one column of relative harmonic amplitudes per instrument from the mixture
itself and separates by sparse pursuit. This recipe runs it blind on a 2-source mix, transfers
dictionaries between two pieces, runs it blind on the 4-source mix, and compares with blind
NMF and ``MixAsEstimate`` on the same mixes.

Usage::

    # the data shipped with sepkit: the bundled BWV 255 example (10 s) as the piece,
    # 6 s of the BWV 256 stems from tests/data/chorales as the train piece
    python recipes/dictsep_chorales.py --out results/dictsep_chorales

    # a quick check (about 3 minutes on 2 cores; the default run takes about 5)
    python recipes/dictsep_chorales.py --seconds 4 --n-iter 1000 --num-dicts 2 --out /tmp/dictsep_check

    # a chorales folder (one sub-folder per piece with violin.wav, clarinet.wav, saxophone.wav, bassoon.wav)
    python recipes/dictsep_chorales.py --data path/to/chorales-dev --piece bwv255 --train-piece bwv256 \\
        --sources violin clarinet --n-iter 10000 --num-dicts 4 --out results/dictsep_chorales

Experiments (one row each in the table, grouped by mixture):

1. ``dictsep blind``: ``DictSep(mix, 2)`` on the sum of the ``--sources`` stems of ``--piece``;
2. ``dictsep transfer``: a dictionary learned by ``DictSep.fit`` on the same stems of
   ``--train-piece``, applied to the piece with ``dictionary=``; and the reverse direction,
   the piece's dictionary (the one learned by experiment 1, which is what ``DictSep.fit`` on
   the piece's mix with the same settings returns) applied to the train piece;
3. ``dictsep blind`` with ``num_sources=4`` on the mix of all four voices of the piece
   (``--four``, on by default when the data has the four stems);
4. baselines on every mixture scored above: blind ``NMF(mix, n)`` (sepkit's defaults,
   ``--seed``) and ``MixAsEstimate``.

Scores: SI-SDR in dB per source (mean over channels) for the best assignment of estimates to
references (DictSep's column order is arbitrary), and the gain-only SDR of the Musisep papers
(:func:`sepkit.evaluation.bss_eval_gain`, with its own assignment rule: the best sum of SIR;
a ``*`` after the gain mean marks a different assignment from the SI-SDR one). The wall-clock time of
each experiment is in the last column (DictSep transfer: applying the dictionary, plus the
``DictSep.fit`` time in brackets). Then, for each learned dictionary, the total pursuit loss
of every candidate (``seed_losses``; the lowest is ``best_seed``) and the sources its columns
were matched to.

Written to ``--out``: ``dictionaries.png`` (a bar chart of the harmonic amplitudes of every
column of every learned dictionary, titled with the source it was matched to), ``models.png``
(log-frequency spectrogram and model spectra of the 2-source blind run, first seconds, up to
5 kHz) and every learned dictionary as ``dict_<piece>_<n>src.npz`` (``Dictionary.load``;
its columns are labelled with the matched sources, which the matching learned from the
references).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import sepkit
from sepkit.core.errors import DatasetError
from sepkit.evaluation import bss_eval_gain, si_sdr_matched
from sepkit.separation import NMF, DictSep
from sepkit.separation.benchmark import MixAsEstimate
from sepkit.separation.dictsep.logspect import log_frequencies

BUNDLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "chorales"
STEMS = ("violin", "clarinet", "saxophone", "bassoon")
#: Seconds and top frequency (Hz) shown in models.png.
PLOT_SECONDS = 4.0
PLOT_FMAX = 5000.0


def load(args):
    """Return ``(piece, train, four, names, description)``: stem dicts of the piece and the train
    piece (``--sources``), the piece's four stems (``None`` without them or with ``--no-four``),
    and the names of the two pieces."""
    if args.data is None:
        names = ("bwv255", "bwv256")
        try:
            _, piece = sepkit.datasets.load_example(args.sources)
        except DatasetError as err:
            sys.exit(f"bundled example: {err}")
        train = {}
        for name in args.sources:
            path = BUNDLED / f"bwv256_{name}.flac"
            if not path.exists():
                sys.exit(f"no bundled training stem for {name!r} ({path}); give --data")
            train[name] = sepkit.AudioSignal(path, label=name)
        four = None if args.four is False else sepkit.datasets.load_example(STEMS)[1]
        what = "bundled BWV 255 (10 s) / train piece tests/data/chorales BWV 256 (6 s)"
    else:
        root = Path(args.data)
        names = (args.piece, args.train_piece)
        if not root.is_dir():
            sys.exit(f"--data {root}: no such folder")

        def stems(piece, which):
            folder = root / piece
            if not folder.is_dir():
                sys.exit(f"{folder}: no such piece folder")
            missing = [str(folder / f"{name}.wav") for name in which if not (folder / f"{name}.wav").exists()]
            if missing:
                sys.exit(f"missing stems: {', '.join(missing)}")
            return {name: sepkit.AudioSignal(folder / f"{name}.wav", label=name) for name in which}

        piece = stems(args.piece, args.sources)
        train = stems(args.train_piece, args.sources)
        has_four = all((root / args.piece / f"{name}.wav").exists() for name in STEMS)
        if args.four and not has_four:
            sys.exit(f"--four: {root / args.piece} does not hold all of {', '.join(f'{s}.wav' for s in STEMS)}")
        four = stems(args.piece, STEMS) if has_four and args.four is not False else None
        what = f"{root / args.piece} / train piece {root / args.train_piece}"
    if args.seconds is not None:
        n = round(args.seconds * next(iter(piece.values())).sample_rate)
        cut = lambda d: None if d is None else {k: v.truncate(min(n, v.signal_length)) for k, v in d.items()}
        piece, train, four = cut(piece), cut(train), cut(four)
    return piece, train, four, names, what


def score(references, estimates):
    """SI-SDR (best permutation) and the gain-only SDR (Musisep's SIR rule) per source."""
    si, assignment = si_sdr_matched(references, estimates)
    perm = tuple(int(j) for j in assignment)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="estimates .* are identical")  # MixAsEstimate
        gain = bss_eval_gain(references, estimates, compute_permutation=True)
    return {"si": si, "perm": perm, "gain": gain.values["SDR"][:, 0],
            "gain_perm": tuple(int(j) for j in gain.assignment)}


def plots(out: Path, dicts: dict, sep, perm, labels: list[str]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # dictionaries.png: one row per learned dictionary, one bar chart per column
    width = max(d["dictionary"].num_sources for d in dicts.values())
    fig, axes = plt.subplots(len(dicts), width, figsize=(3.2 * width, 2.6 * len(dicts)), squeeze=False)
    for row, (name, d) in zip(axes, dicts.items()):
        values = d["dictionary"].values
        h = np.arange(1, values.shape[0] + 1)
        for i, ax in enumerate(row):
            if i >= values.shape[1]:
                ax.axis("off")
                continue
            ax.bar(h, values[:, i], color=f"C{i}")
            ax.set(title=f"{name}: {d['matched'][i]}", xlabel="harmonic h", ylim=(0, 1.05))
            if i == 0:
                ax.set_ylabel("relative amplitude")
    fig.tight_layout()
    fig.savefig(out / "dictionaries.png", dpi=100)
    plt.close(fig)

    # models.png: log spectrogram and the model of each source (2-source blind run)
    s = sep.settings
    frame_s = s["hop"] / sep.sample_rate
    n_t = min(sep.log_spect.shape[1], round(PLOT_SECONDS / frame_s))
    t_max = n_t * frame_s
    db = lambda a, ref: 20 * np.log10(np.maximum(a, 1e-6 * ref) / ref)
    fig, axes = plt.subplots(1 + len(labels), 1, figsize=(10, 2.6 * (1 + len(labels))), squeeze=False)
    freqs = log_frequencies(s["n_bins"], s["fmin"], s["fmax"])
    m_max = int(np.searchsorted(freqs, PLOT_FMAX))
    Y = sep.log_spect[:m_max, :n_t]
    ax = axes[0, 0]
    ax.imshow(db(Y, max(sep.log_spect.max(), 1e-30)), aspect="auto", origin="lower", cmap="magma", vmin=-60,
              vmax=0, interpolation="nearest", extent=(0, t_max, -0.5, m_max - 0.5))
    ticks = [f for f in (50, 100, 200, 500, 1000, 2000, 5000) if freqs[0] <= f <= freqs[m_max - 1]]
    ax.set_yticks(np.interp(np.log(ticks), np.log(freqs), np.arange(len(freqs))), [str(f) for f in ticks])
    ax.set(title="log-frequency spectrogram of the mix (dB)", xlabel="s", ylabel="Hz")
    models = sep.models
    f_max = int(PLOT_FMAX * 2 * s["height"] / sep.sample_rate)
    ref = max(models[:f_max, :n_t].max(), 1e-30)
    for j, label in enumerate(labels):
        ax = axes[1 + j, 0]
        ax.imshow(db(models[:f_max, :n_t, perm[j]], ref), aspect="auto", origin="lower", cmap="magma", vmin=-60,
                  vmax=0, interpolation="nearest", extent=(0, t_max, 0, f_max * sep.sample_rate / (2 * s["height"])))
        ax.set(title=f"model of column {perm[j]} (matched to {label}), dB", xlabel="s", ylabel="Hz")
    fig.tight_layout()
    fig.savefig(out / "models.png", dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", metavar="DIR", help="chorales folder (default: the data shipped with sepkit)")
    parser.add_argument("--piece", default="bwv255", help="piece to separate (default: bwv255)")
    parser.add_argument("--train-piece", default="bwv256",
                        help="piece to learn the transferred dictionary on (default: bwv256)")
    parser.add_argument("--sources", nargs="+", default=["violin", "clarinet"], metavar="NAME",
                        help="stems of the 2-source experiments (default: violin clarinet)")
    parser.add_argument("--four", action=argparse.BooleanOptionalAction, default=None,
                        help="also separate the mix of all four voices (default: when the piece has them)")
    parser.add_argument("--seconds", type=float, help="use only the first SECONDS of every signal")
    parser.add_argument("--n-iter", type=int, default=None,
                        help="DictSep training steps per dictionary, at least 500 (default: DictSep's for the "
                             "mode, 2000 in fast mode)")
    parser.add_argument("--num-dicts", type=int, default=None,
                        help="DictSep candidate dictionaries per learning (default: DictSep's for the mode, "
                             "4 in fast mode)")
    parser.add_argument("--mode", choices=DictSep.MODES, default="fast", help="DictSep mode (default: fast)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--verbose", action="store_true", help="show DictSep's progress bars")
    parser.add_argument("--out", default="dictsep_chorales",
                        help="folder for the plots and dictionaries (default: dictsep_chorales)")
    args = parser.parse_args(argv)
    if args.n_iter is not None and args.n_iter < 500:
        parser.error("--n-iter must be at least 500 (DictSep's column lifetime)")
    if args.num_dicts is not None and args.num_dicts < 1:
        parser.error("--num-dicts must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be positive")

    piece, train, four, (piece_name, train_name), what = load(args)
    labels = list(piece)
    mix = sum(piece.values()).with_label("mix")
    train_mix = sum(train.values()).with_label("mix")
    print(f"{what}: {mix.signal_duration:.2f} s / {train_mix.signal_duration:.2f} s, sources {labels}, "
          f"n_iter={args.n_iter or 'default'}, num_dicts={args.num_dicts or 'default'}, mode={args.mode}, "
          f"seed={args.seed}", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"n_iter": args.n_iter, "num_dicts": args.num_dicts, "mode": args.mode, "seed": args.seed,
               "verbose": args.verbose}
    start = time.perf_counter()

    rows = []  # one per experiment
    dicts = {}  # learned dictionaries: name -> dictionary, matched labels, losses

    def timed(make):
        t0 = time.perf_counter()
        result = make()
        return result, time.perf_counter() - t0

    def add(method, mixture, references, estimates, elapsed, extra=""):
        row = {"method": method, "mix": mixture, "labels": [r.label for r in references], "time": elapsed,
               "extra": extra, **score(references, estimates)}
        rows.append(row)
        print(f"[{time.perf_counter() - start:7.1f} s] {mixture:<14} {method:<28} {elapsed:7.1f} s, "
              f"mean SI-SDR {row['si'].mean():6.2f} dB", file=sys.stderr)
        return row

    def learned(name, dictionary, row, how, sep=None):
        matched = [None] * dictionary.num_sources
        for j, column in enumerate(row["perm"]):
            matched[column] = row["labels"][j]
        dicts[name] = {"dictionary": dictionary, "perm": row["perm"], "matched": matched, "how": how,
                       "seed_losses": None if sep is None else sep.seed_losses,
                       "best_seed": None if sep is None else sep.best_seed,
                       "training_losses": None if sep is None else sep.training_losses}

    def baselines(mixture_name, mixture, references):
        n = len(references)
        estimates, elapsed = timed(lambda: NMF(mixture, n, seed=args.seed)())
        add("nmf blind", mixture_name, references, estimates, elapsed)
        estimates, elapsed = timed(lambda: MixAsEstimate(mixture, n)())
        add("mix-as-estimate", mixture_name, references, estimates, elapsed)

    n = len(labels)
    two = f"{n}src"
    references = list(piece.values())
    train_references = list(train.values())

    # 1. blind on the piece
    sep2 = DictSep(mix, n, **options)
    estimates, elapsed = timed(sep2)
    blind2 = add("dictsep blind", f"{piece_name} {two}", references, estimates, elapsed)
    learned(f"{piece_name} {two}", sep2.dictionary, blind2, "DictSep blind", sep2)

    # 2. transfer train piece -> piece, and piece -> train piece
    d_train, fit_time = timed(lambda: DictSep.fit(train_mix, n, **options))
    estimates, elapsed = timed(DictSep(mix, n, dictionary=d_train, mode=args.mode, verbose=args.verbose))
    row = add(f"dictsep transfer <- {train_name}", f"{piece_name} {two}", references, estimates, elapsed,
              extra=f"(+{fit_time:.1f} fit)")
    learned(f"{train_name} {two}", d_train, row, f"DictSep.fit, columns matched on {piece_name}")
    baselines(f"{piece_name} {two}", mix, references)

    estimates, elapsed = timed(DictSep(train_mix, n, dictionary=sep2.dictionary, mode=args.mode,
                                       verbose=args.verbose))
    reverse = add(f"dictsep transfer <- {piece_name}", f"{train_name} {two}", train_references, estimates, elapsed)
    baselines(f"{train_name} {two}", train_mix, train_references)

    # 3. blind on the four voices
    if four is not None and set(four) != set(labels):  # (with all four in --sources, 1. is the 4-source run)
        four_refs = list(four.values())
        mix4 = sum(four_refs).with_label("mix")
        sep4 = DictSep(mix4, len(four_refs), **options)
        estimates, elapsed = timed(sep4)
        blind4 = add("dictsep blind", f"{piece_name} 4src", four_refs, estimates, elapsed)
        learned(f"{piece_name} 4src", sep4.dictionary, blind4, "DictSep blind", sep4)
        del sep4, estimates
        baselines(f"{piece_name} 4src", mix4, four_refs)
    total = time.perf_counter() - start

    # the table
    columns = labels + [s for s in STEMS if s not in labels and any(s in r["labels"] for r in rows)]
    width = max(9, *(len(c) for c in columns))
    m_width = max(len(r["method"]) for r in rows)
    x_width = max(len(r["mix"]) for r in rows)
    cells = " | ".join(f"{c:>{width}}" for c in columns)
    header = (f"| {'mix':<{x_width}} | {'method':<{m_width}} | {cells} | {'mean':>6} || {cells} | {'mean':>7} | "
              f"time (s) |")
    print("SI-SDR (dB, best permutation) per source and mean || gain-only SDR (dB, bss_eval_gain, "
          "Musisep's assignment) per source and mean")
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for r in rows:
        by = lambda values, r=r: " | ".join(
            f"{values[r['labels'].index(c)]:>{width}.2f}" if c in r["labels"] else " " * width for c in columns)
        flag = "*" if tuple(r["gain_perm"]) != tuple(r["perm"]) else " "
        time_cell = f"{r['time']:.1f}" + (f" {r['extra']}" if r["extra"] else "")
        print(f"| {r['mix']:<{x_width}} | {r['method']:<{m_width}} | {by(r['si'])} | {r['si'].mean():>6.2f} || "
              f"{by(r['gain'])} | {r['gain'].mean():>6.2f}{flag} | {time_cell} |")
    if any(tuple(r["gain_perm"]) != tuple(r["perm"]) for r in rows):
        print("* bss_eval_gain's assignment (best sum of SIR) differs from the best-SI-SDR one")
    same_order = [r for r in rows if tuple(r["gain_perm"]) == tuple(r["perm"])]
    if same_order:
        gap = max(float(np.max(np.abs(r["gain"] - r["si"]))) for r in same_order)
        print(f"largest |gain SDR - SI-SDR| over the rows with the same assignment: {gap:.3f} dB")

    # per-seed figures and the saved dictionaries
    print()
    print("learned dictionaries (loss: total pursuit loss on the learning mix; the lowest candidate is chosen)")
    for name, d in dicts.items():
        dictionary, matched = d["dictionary"], d["matched"]
        piece_of, sources_of = name.split()
        path = dictionary.with_labels(matched).save(out / f"dict_{piece_of}_{sources_of}.npz")
        if d["seed_losses"] is not None:
            losses = ", ".join(f"{r}: {loss:.6g}{' (best)' if r == d['best_seed'] else ''}"
                               for r, loss in enumerate(d["seed_losses"]))
            training = ", ".join(f"{loss:.6g}" for loss in d["training_losses"])
            print(f"  {name} ({d['how']}): best_seed {d['best_seed']}; seed_losses {losses}; "
                  f"training_losses {training}")
        else:
            print(f"  {name} ({d['how']}): loss of the chosen candidate {dictionary.loss:.6g} "
                  f"(DictSep.fit returns only the chosen dictionary)")
        print(f"    columns matched to {matched}; saved {path}")
    piece_dict = dicts[f"{piece_name} {two}"]
    same = tuple(reverse["perm"]) == tuple(piece_dict["perm"])
    print(f"  the {piece_name} {two} dictionary's columns match the same sources on {train_name} "
          f"(reverse transfer): {'yes' if same else 'no'}")

    plots(out, dicts, sep2, blind2["perm"], labels)
    print(f"written: {out / 'dictionaries.png'}, {out / 'models.png'}", file=sys.stderr)
    print(f"total time {total:.1f} s (experiments), {time.perf_counter() - start:.1f} s (with plots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
