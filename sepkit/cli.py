"""Command-line interface: ``sepkit demo``, ``sepkit separate``, ``sepkit evaluate`` and ``sepkit report``."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

__all__ = ["main", "build_parser"]

def _method_help() -> str:
    """One line per registered separator: name, description, what it needs."""
    from .separation import registry

    items = registry.entries()
    width = max(len(entry.name) for entry in items)
    return "\n".join(
        f"  {entry.name:<{width}}  {entry.description} [needs {entry.needs_text()}]"
        + (" (oracle)" if entry.oracle and "oracle" not in entry.description else "")
        for entry in items
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``sepkit`` command."""
    import sepkit

    parser = argparse.ArgumentParser(
        prog="sepkit",
        description="Audio source separation with classic methods.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sepkit {sepkit.__version__}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add = commands.add_parser

    def add_parser(*args, **kwargs):  # every command also takes --debug
        sub = _add(*args, **kwargs)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the Python traceback of an error")
        return sub

    commands.add_parser = add_parser

    demo = commands.add_parser(
        "demo",
        help="separate the bundled example with every separator and print SI-SDR and times",
        description=(
            "Separate the bundled example (J. S. Bach, BWV 255, first 10 s: violin, clarinet, "
            "saxophone, bassoon) with every separator, and print the SI-SDR of each source and "
            "the time each method took. Nothing is written unless --out is given."
        ),
    )
    demo.add_argument("--out", metavar="DIR", help="write the estimates to DIR/<method>/<source>.wav")

    separate = commands.add_parser(
        "separate",
        help="separate an audio file and write one file per source",
        description="Separate MIX with one method and write one WAV file per estimated source.",
        epilog="methods:\n" + _method_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    separate.add_argument("mix", metavar="MIX", help="mixture audio file (wav, flac, ogg, ...)")
    separate.add_argument("--method", required=True, choices=_method_names(), metavar="NAME",
                          help="separation method (see the list below)")
    separate.add_argument("--num-sources", type=int, metavar="N",
                          help="number of sources (methods that need it: see the list below)")
    separate.add_argument("--cutoff-hz", type=float, metavar="HZ",
                          help="cutoff frequency of high-low-pass in Hz (default: 150)")
    separate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="set a parameter of the separator, e.g. --param n_iter=50 (repeatable; "
                               "VALUE is a Python literal: 3, 0.5, 'soft', True)")
    separate.add_argument("--references", nargs="+", metavar="FILE",
                          help="true source files, for the oracle masks")
    separate.add_argument("--estimates", nargs="+", metavar="FILE",
                          help="estimated source files, for wiener")
    separate.add_argument("--score", metavar="CSV",
                          help="notes file (stem, onset_s, offset_s, midi_pitch columns), for nmf-score")
    separate.add_argument("--samples", metavar="DIR",
                          help="folder with one sub-folder of one-shot samples per drum, for nmfd")
    separate.add_argument("--onsets", metavar="FILE",
                          help="onset annotations, time<TAB>class (1 kick, 2 snare, 3 hihat), for nmfd")
    separate.add_argument("--seed", type=int, default=0, metavar="N",
                          help="random seed of the stochastic methods (default: 0)")
    separate.add_argument("--out", metavar="DIR",
                          help="output folder (default: ./<mix name>_<method>)")
    _add_evaluation_commands(commands)
    return parser


def _evaluation_method_help() -> str:
    from .separation.presets import default_separators

    methods = default_separators()
    width = max(len(name) for name in methods)
    return "\n".join(f"  {name:<{width}}  {method.description}" for name, method in methods.items()) + (
        "\n  (and by name with --methods: any method of `sepkit separate --help` that a dataset item can feed)"
    )


def _add_evaluation_commands(commands) -> None:
    from .evaluation.registry import METRICS

    evaluate = commands.add_parser(
        "evaluate",
        help="run separators on a folder dataset and write one JSON result per item and method",
        description=(
            "Run every chosen method on every item of a folder dataset (one sub-folder per item "
            "holding the mixture and one file per source), score the estimates and write "
            "OUT/<method>/<item>.json, each file atomically. A rerun skips the results already "
            "written, so an interrupted run resumes; a broken item gives an error record and the "
            "run goes on. Then run `sepkit report OUT`."
        ),
        epilog=(
            "methods:\n" + _evaluation_method_help() + "\n\nmetrics:\n  "
            + ", ".join(METRICS) + ", or any 'package.module:function' returning sepkit Scores\n\n"
            "examples:\n"
            "  sepkit evaluate musdb18hq/test --mixture mixture.wav --out results --jobs 4\n"
            "  sepkit evaluate chorales --sources violin clarinet saxophone bassoon --out results\n"
            "  sepkit evaluate chorales --out results --scheduler tcp://10.0.0.5:8786"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("dataset", metavar="DATASET", help="dataset folder: one sub-folder per item")
    evaluate.add_argument("--out", required=True, metavar="DIR", help="results folder")
    evaluate.add_argument("--methods", nargs="+", metavar="NAME",
                          help="methods to run (default: all, see the list below)")
    evaluate.add_argument("--metrics", nargs="+", metavar="NAME", default=["scale_invariant"],
                          help="metrics (default: scale_invariant)")
    evaluate.add_argument("--mixture", default="mix.wav", metavar="FILE",
                          help="mixture file name in each item folder (default: mix.wav; MUSDB18-HQ: mixture.wav)")
    evaluate.add_argument("--sources", nargs="+", metavar="NAME",
                          help="source names (e.g. vocals drums bass other) or one glob pattern ('*.flac'); "
                               "default: every audio file but the mixture and files named <mixture stem>_*")
    evaluate.add_argument("--jobs", type=int, default=1, metavar="N",
                          help="parallel worker processes (default: 1; -1: one per CPU)")
    evaluate.add_argument("--scheduler", metavar="ADDR",
                          help="run on a Dask cluster: scheduler address such as tcp://host:8786")
    evaluate.add_argument("--no-permutation", action="store_true",
                          help="score estimates in output order instead of finding the best assignment")
    evaluate.add_argument("--overwrite", action="store_true", help="recompute results that already exist")
    evaluate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="set a parameter of every chosen method, e.g. --param n_iter=50 (repeatable)")

    report = commands.add_parser(
        "report",
        help="aggregate a results folder: tidy CSV, report card (Markdown, CSV) and box plots",
        description=(
            "Read every DIR/<method>/<item>.json, write DIR/results.csv (one row per item, method, "
            "source and metric), DIR/report_card.csv, DIR/report.md and one box plot per metric "
            "(with matplotlib), and print the Markdown report card."
        ),
    )
    report.add_argument("dir", metavar="DIR", help="results folder written by `sepkit evaluate`")
    report.add_argument("--baseline", metavar="NAME", help="method to compare every other method with")
    report.add_argument("--aggregate", choices=("median", "mean"), default="median",
                        help="reduction of per-frame/per-channel values per item and source (default: median)")
    report.add_argument("--metrics", nargs="+", metavar="KEY",
                        help="metric keys to show, e.g. SI-SDR SDR (default: all but the mixture's MIX-* scores; "
                             "the CSV files hold every metric)")
    report.add_argument("--no-plots", action="store_true", help="do not write the box plots")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _output_folder(folder: str, flag: str = "--out") -> str:
    """Create ``folder`` if needed and check that it can be written, else one clear error."""
    from .core import SepkitError

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SepkitError(f"{flag} {folder}: exists and is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise SepkitError(f"{flag} {folder}: cannot create the folder ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SepkitError(f"{flag} {folder}: the folder is not writable")
    return folder


def _write_all(signals, folder: str) -> list[str]:
    _output_folder(folder)
    paths = []
    for j, signal in enumerate(signals):
        path = os.path.join(folder, f"{_slug(signal.label or f'source_{j}')}.wav")
        signal.write(path, subtype="FLOAT")
        paths.append(path)
    return paths


def _method_names() -> list[str]:
    from .separation import available

    return available()


def _load_files(paths):
    from .core import AudioSignal

    return None if not paths else [AudioSignal(path) for path in paths]


def _samples(folder):
    """One-shot sample files per sub-folder of ``folder`` (``--samples``), or None."""
    from .core import SepkitError

    if not folder:
        return None
    if not os.path.exists(folder):
        raise SepkitError(f"--samples {folder}: no such folder")
    if not os.path.isdir(folder):
        raise SepkitError(f"--samples {folder}: not a folder (expected one sub-folder of one-shot samples per source)")
    names = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    samples = {d: sorted(os.path.join(folder, d, f) for f in os.listdir(os.path.join(folder, d))) for d in names}
    if not samples:
        raise SepkitError(f"--samples {folder} holds no sub-folder of one-shot samples")
    return samples


def _params(pairs) -> dict:
    """``--param NAME=VALUE`` pairs as a dict; VALUE is a Python literal (else a string)."""
    import ast

    from .core import SepkitError

    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise SepkitError(f"--param {pair!r}: expected NAME=VALUE, e.g. --param n_iter=50")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def _separator(args, mix):
    """The separator of ``sepkit separate``, built from the registry entry of ``--method``."""
    from .separation.registry import Inputs, get_separator

    entry = get_separator(args.method)
    inputs = Inputs(
        num_sources=args.num_sources,
        references=_load_files(args.references),
        estimates=_load_files(args.estimates),
        score=args.score,
        samples=_samples(args.samples),
        onsets=args.onsets,
        seed=args.seed,
    )
    params = _params(args.param)
    if args.cutoff_hz is not None:
        params["cutoff_hz"] = args.cutoff_hz
    if "verbose" in entry.parameters():  # the separator draws its own progress bars
        params.setdefault("verbose", True)
    return entry.build(mix, inputs, **params)


def run_separate(args) -> int:
    """``sepkit separate``: separate one file and write the estimates."""
    from .core import AudioSignal

    from .core import SepkitError

    if args.num_sources is not None and args.num_sources < 1:
        raise SepkitError(f"--num-sources must be a whole number >= 1, got {args.num_sources}")
    folder = args.out or f"{_slug(os.path.splitext(os.path.basename(args.mix))[0])}_{args.method}"
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SepkitError(f"--out {folder}: exists and is not a folder")
    mix = AudioSignal(args.mix)
    from .core.progress import FIRST_RUN_NOTE, ticking

    separator = _separator(args, mix)
    own_bars = bool(getattr(separator, "verbose", False))
    start = time.perf_counter()
    with ticking(f"{args.method}: separating ({FIRST_RUN_NOTE})", disable=True if own_bars else None):
        estimates = separator()
    elapsed = time.perf_counter() - start
    for path in _write_all(estimates, folder):
        print(path)
    print(f"{args.method}: {len(estimates)} sources in {elapsed:.2f} s", file=sys.stderr)
    return 0


def run_demo(args) -> int:
    """``sepkit demo``: every registered separator on the bundled examples (rows from the registry)."""
    from .demo import run_demo as demo

    if args.out:
        _output_folder(args.out)
    return demo(args.out, _write_all)


def run_evaluate(args) -> int:
    """``sepkit evaluate``: every method on every item of a folder dataset."""
    from .datasets import FolderDataset
    from .evaluation.harness import evaluate

    sources = args.sources
    if sources is not None and len(sources) == 1 and any(c in sources[0] for c in "*?["):
        sources = sources[0]
    from .separation.presets import default_separators, registry_method

    defaults = default_separators()
    names = args.methods or list(defaults)
    params = _params(args.param)
    methods = {name: registry_method(name, **params) if params or name not in defaults else defaults[name]
               for name in names}
    dataset = FolderDataset(args.dataset, mixture=args.mixture, sources=sources)
    _output_folder(args.out)
    summary = evaluate(
        dataset,
        methods,
        metrics=args.metrics,
        out_dir=args.out,
        n_jobs=args.jobs,
        backend="dask" if args.scheduler else "loky",
        scheduler=args.scheduler,
        compute_permutation=not args.no_permutation,
        overwrite=args.overwrite,
    )
    print(summary)
    for error in summary.errors:
        print(f"  {error['item']} / {error['method']}: {error['error_type']}: {error['message']}", file=sys.stderr)
    return 0


def run_report(args) -> int:
    """``sepkit report``: aggregate a results folder and print the report card."""
    from .evaluation.report import report

    if os.path.isdir(args.dir):
        _output_folder(args.dir, "DIR")
    result = report(args.dir, baseline=args.baseline, aggregate=args.aggregate, plots=not args.no_plots,
                    metrics=args.metrics)
    print(result.markdown, end="")
    print("\nwritten: " + ", ".join(sorted(result.files.values())), file=sys.stderr)
    return 0


_COMMANDS = {"demo": run_demo, "separate": run_separate, "evaluate": run_evaluate, "report": run_report}


def main(argv=None) -> int:
    """Entry point of the ``sepkit`` command; returns the exit status."""
    from .core import SepkitError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "debug", False):
        return _COMMANDS[args.command](args)
    try:
        return _COMMANDS[args.command](args)
    except SepkitError as err:
        print(f"sepkit {args.command}: error: {_one_line(err)}", file=sys.stderr)
    except OSError as err:  # unreadable or unwritable paths, unreachable schedulers
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        print(f"sepkit {args.command}: error: {where}{err.strerror or _one_line(err)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"sepkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so in one line, the traceback is one flag away
        print(f"sepkit {args.command}: internal error: {type(err).__name__}: {_one_line(err)} "
              "(rerun with --debug for the traceback, and please report it)", file=sys.stderr)
    return 1


def _one_line(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
