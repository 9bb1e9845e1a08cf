"""Compare every available separator on a folder dataset: results, report card and box plots.

Usage::

    python recipes/compare_methods.py DATASET OUT [--mixture mix.wav] [--sources ...] [--jobs N]
                                      [--metrics scale_invariant ...] [--baseline mix-as-estimate]

    # the chorales of chorales-dev (mix.wav + one WAV per instrument)
    python recipes/compare_methods.py chorales-dev results/chorales \\
        --sources violin clarinet saxophone bassoon
    # MUSDB18-HQ
    python recipes/compare_methods.py musdb18hq/test results/musdb --mixture mixture.wav --jobs 4

Writes ``OUT/<method>/<item>.json`` (one result per item and method; a rerun resumes an
interrupted run), then ``OUT/results.csv``, ``OUT/report_card.csv``, ``OUT/report.md`` and
``OUT/boxplot_<metric>.png``, and prints the report card. Everything is done by
:func:`sepkit.evaluation.harness.evaluate` and :func:`sepkit.evaluation.report.report`.
"""

from __future__ import annotations

import argparse
import sys

from sepkit.datasets import FolderDataset
from sepkit.evaluation.harness import evaluate
from sepkit.separation.presets import default_separators
from sepkit.evaluation.report import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", metavar="DATASET", help="folder with one sub-folder per item")
    parser.add_argument("out", metavar="OUT", help="results folder")
    parser.add_argument("--mixture", default="mix.wav", help="mixture file name (default: mix.wav)")
    parser.add_argument("--sources", nargs="+", metavar="NAME", help="source names, or one glob pattern")
    parser.add_argument("--metrics", nargs="+", default=["scale_invariant"], metavar="NAME",
                        help="metrics (default: scale_invariant)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    parser.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:port)")
    parser.add_argument("--baseline", default="mix-as-estimate", help="baseline method (default: mix-as-estimate)")
    args = parser.parse_args(argv)

    sources = args.sources
    if sources is not None and len(sources) == 1 and any(c in sources[0] for c in "*?["):
        sources = sources[0]
    dataset = FolderDataset(args.dataset, mixture=args.mixture, sources=sources)
    methods = default_separators()
    print(f"{len(dataset)} items, methods: {', '.join(methods)}", file=sys.stderr)
    summary = evaluate(
        dataset,
        methods,
        metrics=args.metrics,
        out_dir=args.out,
        n_jobs=args.jobs,
        backend="dask" if args.scheduler else "loky",
        scheduler=args.scheduler,
    )
    print(summary, file=sys.stderr)
    result = report(args.out, baseline=args.baseline if args.baseline in methods else None)
    print(result.markdown)
    print("written: " + ", ".join(sorted(result.files.values())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
