"""Compare the spatial and multichannel separators on stereo and reverberant mixtures.

Two mixtures of the bundled chorale voices (:func:`sepkit.datasets.load_spatial_example`):

``anechoic``
    44.1 kHz stereo, each voice panned and delayed (DUET's mixing model);
``reverberant``
    16 kHz, two microphones 8 cm apart in a simulated room (RT60 0.25 s): the determined
    case of AuxIVA, ILRMA and FastMNMF2.

Every registered separator that needs two channels runs on both, beside the oracle ratio mask
(``IdealMask irm-msa``) and ``MixAsEstimate``. Estimates are matched to each voice's spatial
image by the best assignment (blind methods return their sources in no particular order) and
scored with BSS Eval v4 (SDR, median over 1-s frames) and SI-SDR (mean over channels). Prints a
table per mixture, writes ``results.md`` and, with matplotlib, ``duet_histogram.png`` (DUET's
weighted attenuation-delay histogram with its peaks) and ``masks.png`` (the masks of the mask
separators on the first channel) into ``--out``.

Usage::

    python recipes/spatial.py --out results/spatial [--seconds 10] [--voices violin clarinet]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import sepkit
from sepkit.evaluation import bss_eval_v4, si_sdr_matched
from sepkit.separation import available, get_separator
from sepkit.separation.registry import Inputs

#: Extra parameters per method (the registry's defaults otherwise). DUET's default attenuation
#: range (-3, 3) misses the outer voices of this example (symmetric attenuation about -3.9 and
#: 3.9 for two voices), so it gets (-5, 5).
PARAMS = {"duet": {"attenuation_min": -5.0, "attenuation_max": 5.0}}


def methods() -> list[str]:
    """The registered separators that need two channels, with the two references first."""
    spatial = [name for name in available() if "multichannel" in get_separator(name).flat_needs]
    return ["irm-msa", "mix-as-estimate"] + spatial


def run_one(name, mix, sources, seed):
    """``(separator, estimates, seconds)`` of one registered method on one mixture."""
    entry = get_separator(name)
    inputs = Inputs(num_sources=len(sources), references=sources, seed=seed)
    params = dict(PARAMS.get(name, {}))
    separator = entry.build(mix, inputs, **params)
    start = time.perf_counter()
    estimates = separator()
    return separator, estimates, time.perf_counter() - start


def score(sources, estimates):
    """SI-SDR and BSS Eval v4 SDR per voice, estimates matched by SI-SDR."""
    references = list(sources.values())
    if len(estimates) < len(references):
        return np.full(len(references), np.nan), np.full(len(references), np.nan), None
    si, assignment = si_sdr_matched(references, estimates)
    matched = [estimates[j] for j in assignment]
    sdr = bss_eval_v4(references, matched, window=1.0, hop=1.0).values["SDR"]
    return si, np.nanmedian(sdr, axis=1), assignment


def plots(out: Path, runs: dict, kind: str) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots")
        return []
    written = []
    duet = runs.get("duet", {}).get("separator")
    if duet is not None and getattr(duet, "histogram", None) is not None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        hist = np.asarray(duet.histogram)
        extent = (duet.delay_bins[0], duet.delay_bins[-1], duet.attenuation_bins[0], duet.attenuation_bins[-1])
        ax.imshow(hist, origin="lower", aspect="auto", extent=extent, cmap="magma")
        peaks = np.asarray(duet.peaks)
        if peaks.size:
            ax.plot(peaks[:, 1], peaks[:, 0], "c+", markersize=14, mew=2, label="peaks")
            ax.legend(loc="upper right")
        ax.set(xlabel="delay (samples)", ylabel="symmetric attenuation", title=f"DUET histogram ({kind})")
        fig.tight_layout()
        path = out / f"duet_histogram_{kind}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    masked = [n for n, r in runs.items() if getattr(r.get("separator"), "result_masks", None)]
    if masked:
        n_src = max(len(runs[n]["separator"].result_masks) for n in masked)
        fig, axes = plt.subplots(len(masked), n_src, figsize=(4 * n_src, 2.6 * len(masked)), squeeze=False)
        for i, name in enumerate(masked):
            sep, assignment = runs[name]["separator"], runs[name]["assignment"]
            order = list(assignment) if assignment is not None else list(range(len(sep.result_masks)))
            for j, k in enumerate(order[:n_src]):
                mask = sep.result_masks[k].mask[..., 0]
                axes[i, j].imshow(mask, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                                  interpolation="nearest")
                axes[i, j].set(title=f"{name}: source {j}", xlabel="frame", ylabel="bin")
        fig.tight_layout()
        path = out / f"masks_{kind}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(str(path))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/spatial", help="output folder (default: results/spatial)")
    parser.add_argument("--seconds", type=float, default=None, help="use the first SECONDS (default: all 10 s)")
    parser.add_argument("--voices", nargs="+", default=["violin", "clarinet"], metavar="NAME",
                        help="voices to mix (default: violin clarinet)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                        help="registered separators to run (default: every one that needs two channels)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.methods or methods()
    report = ["# Spatial and multichannel separators", ""]
    for kind in ("anechoic", "reverberant"):
        mix, sources = sepkit.datasets.load_spatial_example(kind, sources=args.voices, duration=args.seconds)
        title = (f"{kind}: {', '.join(sources)}; {mix.num_channels} channels, {mix.sample_rate} Hz, "
                 f"{mix.signal_duration:.1f} s")
        print(f"\n{title}")
        header = f"{'method':<22}" + "".join(f"{'SDR ' + v[:7]:>14}" for v in sources) \
            + "".join(f"{'SI-SDR ' + v[:7]:>16}" for v in sources) + f"{'time (s)':>10}"
        print(header + "\n" + "-" * len(header))
        report += [f"## {title}", "", "| method | " + " | ".join(f"SDR {v}" for v in sources) + " | "
                   + " | ".join(f"SI-SDR {v}" for v in sources) + " | time (s) |",
                   "|---|" + "---:|" * (2 * len(sources) + 1)]
        runs = {}
        for name in names:
            try:
                separator, estimates, seconds = run_one(name, mix, sources, args.seed)
            except sepkit.SepkitError as err:
                print(f"{name:<22} skipped: {err}")
                report.append(f"| {name} | skipped: {err} |")
                continue
            si, sdr, assignment = score(sources, estimates)
            runs[name] = {"separator": separator, "assignment": assignment}
            print(f"{name:<22}" + "".join(f"{v:>14.2f}" for v in sdr) + "".join(f"{v:>16.2f}" for v in si)
                  + f"{seconds:>10.2f}", flush=True)
            report.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in sdr) + " | "
                          + " | ".join(f"{v:.2f}" for v in si) + f" | {seconds:.2f} |")
        report.append("")
        for path in plots(out, runs, kind):
            print(f"wrote {path}")
    (out / "results.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"\nwrote {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
