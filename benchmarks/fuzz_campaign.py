"""Fuzzing campaign over every registered separator and every metric (issue 13).

Runs the strategies of ``tests/test_hypothesis_inputs.py`` (random shapes, dtypes, levels
from 1e-300 to 1e300, NaN/inf, ragged lists, strings, bad sample rates) for many cases and
counts the outcomes of each call:

* ``ok``: finite estimates (or scores) of the right shape;
* ``sepkit-error``: a :class:`~sepkit.SepkitError` (the accepted answer to bad input);
* defects: ``other-exception`` (any other exception), ``hang`` (no answer within the
  per-case timeout), ``nan`` (non-finite estimates, or a NaN score without a warning),
  ``bad-shape`` and ``mutation`` (an input array changed).

Usage::

    python benchmarks/fuzz_campaign.py --cases 2000 [--timeout 60] [--seed 0] [--json out.json]

The cases are split evenly between separators and metrics. Every defect is printed with
its case (a reproducer). Exit status 1 if any defect was found.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))


def _campaign(strategy, n_cases, seed, timeout, record):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    import test_hypothesis_inputs as fuzz

    @hypothesis_seed(seed)
    @settings(max_examples=n_cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=("generate",))
    @given(case=strategy)
    def run(case):
        start = time.perf_counter()
        outcome, detail = fuzz.run_case(case, timeout=timeout)
        record(case, outcome, detail, time.perf_counter() - start)

    run()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="total number of cases (default 2000)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-case time limit in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the counts and the defects to this file")
    args = parser.parse_args(argv)

    import numpy as np

    import test_hypothesis_inputs as fuzz

    counts = collections.Counter()
    by_name = collections.defaultdict(collections.Counter)
    errors = collections.Counter()
    defects = []
    times = []

    def record(case, outcome, detail, seconds):
        counts[outcome] += 1
        by_name[f"{case['target']}:{case['name']}"][outcome] += 1
        times.append(seconds)
        if outcome == "sepkit-error":
            errors[detail.split(":")[0] + ": " + detail.split(":", 1)[1][:60].strip()] += 1
        elif outcome != "ok":
            shown = {k: (v.__name__ if isinstance(v, type) else v) for k, v in case.items()}
            defects.append({"outcome": outcome, "detail": detail[:300], "case": repr(shown)})
            print(f"DEFECT {outcome}: {detail[:200]}\n  case: {shown}", flush=True)
        total = sum(counts.values())
        if total % 200 == 0:
            print(f"{total} cases: {dict(counts)}", flush=True)

    start = time.perf_counter()
    half = args.cases // 2
    with np.errstate(all="ignore"):
        _campaign(fuzz.separator_cases(), half, args.seed, args.timeout, record)
        _campaign(fuzz.metric_cases(), args.cases - half, args.seed + 1, args.timeout, record)
    elapsed = time.perf_counter() - start

    print(f"\n{sum(counts.values())} cases in {elapsed:.0f} s (slowest case {max(times):.1f} s)")
    for outcome in fuzz.OUTCOMES:
        print(f"  {outcome:16s} {counts[outcome]}")
    print("\nper target:")
    for name in sorted(by_name):
        print(f"  {name:28s} " + ", ".join(f"{k} {v}" for k, v in sorted(by_name[name].items())))
    print("\nmost frequent SepkitErrors:")
    for message, n in errors.most_common(15):
        print(f"  {n:5d}  {message}")
    n_defects = sum(counts[o] for o in fuzz.OUTCOMES[2:])
    print(f"\ndefects: {n_defects}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"counts": dict(counts), "by_target": {k: dict(v) for k, v in by_name.items()},
                       "defects": defects, "elapsed_s": elapsed}, file, indent=1)
    return 1 if n_defects else 0


if __name__ == "__main__":
    sys.exit(main())
