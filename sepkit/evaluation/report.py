"""Reports from a results folder: a tidy table, report cards, Markdown, CSV and box plots."""

from __future__ import annotations

import csv
import glob
import importlib.util
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core import EvaluationError
from ..core.validation import check_int, check_probability, default_rng

__all__ = ["report", "Report", "read_results", "tidy_table", "report_card", "summary_table", "bootstrap_ci"]

TIDY_COLUMNS = ["item", "method", "source", "metric", "value", "function", "n_values"]
CARD_COLUMNS = [
    "function", "metric", "method", "source", "count", "mean", "std", "median", "ci_low", "ci_high",
    "baseline", "delta_mean", "delta_ci_low", "delta_ci_high", "delta_count",
]


def read_results(out_dir) -> tuple[list[dict], list[str]]:
    """Read every result file ``<out_dir>/<method>/<item>.json``.

    Hidden files and temporary files (which never end in ``.json``) are ignored.

    Returns
    -------
    records : list of dict
        The parsed results, sorted by method then item.
    unreadable : list of str
        Paths of ``.json`` files that could not be parsed.
    """
    out_dir = os.fspath(out_dir)
    if not os.path.isdir(out_dir):
        raise EvaluationError(f"results folder {out_dir!r} does not exist")
    records, unreadable = [], []
    for path in sorted(glob.glob(os.path.join(glob.escape(out_dir), "*", "*.json"))):
        try:
            with open(path, encoding="utf-8") as file:
                record = json.load(file)
        except (OSError, ValueError):
            unreadable.append(path)
            continue
        if isinstance(record, dict) and "item" in record and "method" in record:
            records.append(record)
    records.sort(key=lambda r: (str(r["method"]), str(r["item"])))
    return records, unreadable


def _value(x) -> float:
    if x is None:
        return math.nan
    if isinstance(x, str):
        return float(x)  # 'inf', '-inf'
    return float(x)


def _reduce(values, aggregate: str) -> float:
    array = np.array([_value(x) for x in values], dtype=np.float64)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return math.nan
    if aggregate == "median":
        return float(np.median(array))
    with np.errstate(invalid="ignore"):
        return float(np.mean(array))


def tidy_table(records, aggregate: str = "median") -> list[dict]:
    """One row per (item, method, source, metric) of the ``'ok'`` records.

    The per-frame or per-channel values of a source are reduced to one number with
    ``aggregate`` over the non-NaN values (``'median'``, as museval, or ``'mean'``);
    all-NaN gives NaN.

    Returns
    -------
    list of dict
        Keys ``item, method, source, metric`` (e.g. ``'SI-SDR'``), ``value`` (dB),
        ``function`` (the metric function's name) and ``n_values`` (values reduced).
    """
    if aggregate not in ("median", "mean"):
        raise EvaluationError(f"aggregate must be 'median' or 'mean', got {aggregate!r}")
    rows = []
    for record in records:
        if record.get("status") != "ok":
            continue
        sources = record.get("sources", [])
        for function, scores in record.get("metrics", {}).items():
            for metric, per_source in scores.get("values", {}).items():
                for j, values in enumerate(per_source):
                    rows.append(
                        {
                            "item": str(record["item"]),
                            "method": str(record["method"]),
                            "source": str(sources[j]) if j < len(sources) else f"source_{j}",
                            "metric": metric,
                            "value": _reduce(values, aggregate),
                            "function": function,
                            "n_values": len(values),
                            "_order": j,
                        }
                    )
    rows.sort(key=lambda r: (r["function"], r["metric"], r["method"], r["item"], r.pop("_order")))
    return rows


def bootstrap_ci(values, n_resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean.

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite values (NaN are dropped).
    n_resamples : int
        Bootstrap resamples.
    level : float
        Coverage, e.g. 0.95.
    seed : int or numpy.random.Generator
        Seed (:func:`~sepkit.core.validation.default_rng`): the same values give the same interval.

    Raises
    ------
    EvaluationError
        For ``n_resamples < 1``, ``level`` outside (0, 1) or a bad seed.

    Returns
    -------
    (low, high) : tuple of float
        NaN for fewer than two values.
    """
    n_resamples = check_int("n_resamples", n_resamples, minimum=1, error=EvaluationError)
    level = check_probability("level", level, open_interval=True, error=EvaluationError)
    rng = default_rng(seed, error=EvaluationError)
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return math.nan, math.nan
    means = values[rng.integers(0, values.size, size=(n_resamples, values.size))].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def _stats(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"count": 0, "mean": math.nan, "std": math.nan, "median": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    with np.errstate(invalid="ignore"):
        low, high = bootstrap_ci(values)
        return {
            "count": int(values.size),
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
            "median": float(np.median(values)),
            "ci_low": low,
            "ci_high": high,
        }


def report_card(rows, baseline: str | None = None, overall: bool = True) -> list[dict]:
    """Statistics per (metric, method, source) of a tidy table.

    For each group: ``count`` (non-NaN values), ``mean``, ``std`` (sample standard
    deviation), ``median``, the 95 % bootstrap confidence interval of the mean
    (``ci_low``, ``ci_high``; 2000 resamples, seed 0), and, with a ``baseline`` method,
    the mean of the paired differences ``value - baseline value`` over the (item,
    source) pairs both methods have (``delta_mean``, its bootstrap interval and
    ``delta_count``). With ``overall``, a row with source ``'all'`` pools every source.
    """
    groups: dict = {}
    lookup = {}
    for row in rows:
        for source in (row["source"], "all") if overall else (row["source"],):
            groups.setdefault((row["function"], row["metric"], row["method"], source), []).append(row)
        lookup[(row["function"], row["metric"], row["method"], row["item"], row["source"])] = row["value"]
    methods = {row["method"] for row in rows}
    if baseline is not None and baseline not in methods:
        raise EvaluationError(f"baseline method {baseline!r} has no results; methods: {sorted(methods)}")
    card = []
    for (function, metric, method, source), members in groups.items():
        entry = {"function": function, "metric": metric, "method": method, "source": source, **_stats([m["value"] for m in members])}
        entry.update(baseline=baseline, delta_mean=math.nan, delta_ci_low=math.nan, delta_ci_high=math.nan, delta_count=0)
        if baseline is not None:
            deltas = []
            for m in members:
                other = lookup.get((function, metric, baseline, m["item"], m["source"]))
                if other is not None and not (math.isnan(other) or math.isnan(m["value"])):
                    deltas.append(m["value"] - other)
            if deltas:
                with np.errstate(invalid="ignore"):
                    deltas = np.asarray(deltas)
                    entry["delta_mean"] = float(deltas.mean())
                    entry["delta_ci_low"], entry["delta_ci_high"] = bootstrap_ci(deltas)
                    entry["delta_count"] = int(deltas.size)
        card.append(entry)
    # keep the source order of the results in each (metric, method)
    order = {}
    for row in rows:
        order.setdefault(row["source"], len(order))
    card.sort(key=lambda e: (e["function"], e["metric"], e["method"], e["source"] == "all", order.get(e["source"], 0)))
    return card


def _main_metrics(shown) -> list[tuple[str, str]]:
    """The first shown metric of each metric function (e.g. SDR of bss_eval_v4, SI-SDR of scale_invariant)."""
    main = {}
    for function, metric in shown:
        main.setdefault(function, (function, metric))
    return list(main.values())


def summary_table(card, records, shown) -> list[dict]:
    """One row per method: its main metrics pooled over sources, run time per item, oracle marker.

    Parameters
    ----------
    card : list of dict
        The report card (:func:`report_card`, with ``overall=True``).
    records : list of dict
        The result records (:func:`read_results`).
    shown : list of (str, str)
        ``(function, metric)`` pairs in display order; the first metric of each function is
        summarised.

    Returns
    -------
    list of dict
        Keys ``method``, ``oracle`` (True when the method used the true sources), ``items``
        (results), ``errors``, ``run_time_s`` (mean separation time per item, seconds), and
        for each main metric ``<metric> mean`` and ``<metric> median`` over every item and
        source (dB).
    """
    main = _main_metrics(shown)
    pooled = {(e["function"], e["metric"], e["method"]): e for e in card if e["source"] == "all"}
    rows = []
    for method in sorted({str(r["method"]) for r in records}):
        mine = [r for r in records if str(r["method"]) == method]
        ok = [r for r in mine if r.get("status") == "ok"]
        times = [float(r["run_time_s"]) for r in ok if isinstance(r.get("run_time_s"), (int, float))]
        row = {
            "method": method,
            "oracle": any(r.get("oracle") is True for r in mine),
            "items": len(ok),
            "errors": len(mine) - len(ok),
            "run_time_s": float(np.mean(times)) if times else math.nan,
        }
        for function, metric in main:
            entry = pooled.get((function, metric, method), {})
            row[f"{metric} mean"] = entry.get("mean", math.nan)
            row[f"{metric} median"] = entry.get("median", math.nan)
        rows.append(row)
    return rows


def _summary_markdown(summary, decimals: int) -> list[str]:
    if not summary:
        return []
    metric_keys = [k for k in summary[0] if k.endswith((" mean", " median"))]
    header = ["method", "oracle", "items", "errors", "run time per item (s)"] + metric_keys
    lines = ["", "## Summary", "", "Main metrics pooled over items and sources (dB); oracle methods use the true sources.", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|")
    for row in summary:
        cells = [row["method"], "oracle" if row["oracle"] else "", str(row["items"]), str(row["errors"]), _fmt(row["run_time_s"], 2)]
        cells += [_fmt(row[k], decimals) for k in metric_keys]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: Order of the metric sections of the Markdown report (others follow alphabetically).
PREFERRED_ORDER = ("SDR", "SIR", "SAR", "ISR", "SI-SDR", "SI-SIR", "SI-SAR", "SI-SDRi", "SD-SDR", "SD-SDRi", "SNR", "SNRi", "SRR")


def _shown(card, metrics) -> list[tuple[str, str]]:
    """(function, metric) pairs of the Markdown and the plots, in display order."""
    keys = sorted({(e["function"], e["metric"]) for e in card})
    if metrics is None:
        keys = [k for k in keys if not k[1].startswith("MIX-")]
    else:
        wanted = list(metrics)
        unknown = [m for m in wanted if m not in {k[1] for k in keys}]
        if unknown:
            raise EvaluationError(f"no results for metric(s) {unknown}; available: {sorted({k[1] for k in keys})}")
        keys = [k for k in keys if k[1] in wanted]
    rank = {name: i for i, name in enumerate(PREFERRED_ORDER)}
    return sorted(keys, key=lambda k: (rank.get(k[1], len(rank)), k[1], k[0]))


def _fmt(x, decimals: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{decimals}f}"  # rounded (on the binary value), never truncated
    return text.lstrip("-") if float(text) == 0 else text  # no "-0.00"


def _markdown(card, records, errors, unreadable, out_dir, baseline, aggregate, decimals, shown, summary, plots_note=None) -> str:
    ok = sum(r.get("status") == "ok" for r in records)
    items = sorted({str(r["item"]) for r in records})
    methods = sorted({str(r["method"]) for r in records})
    lines = [
        f"# Evaluation report: {os.path.basename(os.path.abspath(out_dir))}",
        "",
        f"{len(items)} items, {len(methods)} methods ({', '.join(methods)}): {ok} results, {len(errors)} errors"
        + (f", {len(unreadable)} unreadable files" if unreadable else "")
        + ".",
        f"Per-frame or per-channel values reduced with the {aggregate} per item and source; "
        "mean ± std (sample std), median and 95 % bootstrap CI of the mean (2000 resamples, seed 0) "
        f"over items; values in dB rounded to {decimals} decimals.",
    ]
    if baseline:
        lines.append(f"Δ {baseline}: mean of the paired differences to the baseline method (same item and source), with its 95 % CI.")
    hidden = sorted({e["metric"] for e in card} - {m for _, m in shown})
    if hidden:
        lines.append(f"Not shown here (see report_card.csv): {', '.join(hidden)}.")
    if plots_note:
        lines.append(plots_note)
    lines += _summary_markdown(summary, decimals)
    for function, metric in shown:
        lines += ["", f"## {metric} ({function})", ""]
        header = ["method", "source", "n", "mean ± std", "median", "95 % CI"]
        if baseline:
            header.append(f"Δ {baseline} [95 % CI]")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|")
        for e in (e for e in card if (e["function"], e["metric"]) == (function, metric)):
            cells = [
                e["method"],
                e["source"],
                str(e["count"]),
                f"{_fmt(e['mean'], decimals)} ± {_fmt(e['std'], decimals)}",
                _fmt(e["median"], decimals),
                f"[{_fmt(e['ci_low'], decimals)}, {_fmt(e['ci_high'], decimals)}]",
            ]
            if baseline:
                cells.append(
                    "–" if e["method"] == baseline or not e["delta_count"] else
                    f"{_fmt(e['delta_mean'], decimals)} [{_fmt(e['delta_ci_low'], decimals)}, {_fmt(e['delta_ci_high'], decimals)}]"
                )
            lines.append("| " + " | ".join(cells) + " |")
    if errors or unreadable:
        lines += ["", f"## Errors ({len(errors) + len(unreadable)})", "", "| item | method | stage | error |", "|---|---|---|---|"]
        for e in errors:
            message = str(e["message"]).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {e['item']} | {e['method']} | {e['stage']} | {e['type']}: {message} |")
        for path in unreadable:
            lines.append(f"| – | – | read | unreadable result file {path} |")
    return "\n".join(lines) + "\n"


def _write_csv(path, rows, columns) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)


def _boxplots(rows, out_dir, shown) -> list[str]:
    try:  # a bare Figure renders with Agg and never touches pyplot's global backend
        from matplotlib.figure import Figure
    except ImportError:
        return []

    paths = []
    keys = sorted({(r["function"], r["metric"]) for r in rows})
    shared = {metric for _, metric in keys if sum(m == metric for _, m in keys) > 1}
    for function, metric in shown:
        selected = [r for r in rows if (r["function"], r["metric"]) == (function, metric)]
        methods = sorted({r["method"] for r in selected})
        data = [[r["value"] for r in selected if r["method"] == m and np.isfinite(r["value"])] for m in methods]
        name = f"{function}_{metric}" if metric in shared else metric
        figure = Figure(figsize=(max(4.0, 1.2 * len(methods) + 1.5), 4.0), layout="constrained")
        axes = figure.add_subplot()
        axes.boxplot(data, showmeans=True)
        axes.set_xticks(range(1, len(methods) + 1), methods, rotation=30, ha="right")
        axes.set_ylabel(f"{metric} (dB)")
        axes.set_title(f"{metric} per item and source")
        axes.grid(axis="y", alpha=0.3)
        path = os.path.join(out_dir, f"boxplot_{re.sub(r'[^A-Za-z0-9_.+-]+', '_', name)}.png")
        figure.savefig(path, dpi=100)
        paths.append(path)
    return paths



@dataclass
class Report:
    """What :func:`report` returns.

    Attributes
    ----------
    table : pandas.DataFrame or list of dict
        The tidy table: one row per (item, method, source, metric) with columns
        ``item, method, source, metric, value, function, n_values``.
    card : pandas.DataFrame or list of dict
        The report card: one row per (metric, method, source), see :func:`report_card`.
    errors : list of dict
        Error records: ``item, method, stage, type, message``.
    markdown : str
        The Markdown report (also in ``report.md``).
    summary : pandas.DataFrame or list of dict
        One row per method (:func:`summary_table`; also in ``summary.csv``): main metrics,
        run time per item and whether the method is an oracle.
    files : dict of str to str
        Paths written: ``'results'``, ``'card'``, ``'markdown'`` and ``'boxplot_<metric>'``.
    """

    table: object
    card: object
    errors: list
    markdown: str
    files: dict = field(default_factory=dict)
    summary: object = None

    def __str__(self) -> str:
        return self.markdown


def report(
    out_dir,
    baseline: str | None = None,
    aggregate: str = "median",
    plots: bool = True,
    decimals: int = 2,
    metrics=None,
) -> Report:
    """Aggregate a results folder written by :func:`~sepkit.evaluation.evaluate`.

    Writes into ``out_dir``: ``results.csv`` (the tidy table), ``report_card.csv``,
    ``summary.csv`` (one line per method: main metrics, run time per item, oracle marker),
    ``report.md`` (the summary first, then tables per metric, errors listed) and, when
    matplotlib is installed and ``plots`` is true (else a ``RuntimeWarning`` and a line in
    ``report.md`` say the plots were skipped), one box plot per shown metric
    (``boxplot_<metric>.png``, methods on the x axis, values of every item and source).

    Parameters
    ----------
    out_dir : str or os.PathLike
        The results folder.
    baseline : str or None
        A method name: the card then gives each method's mean paired difference to it.
    aggregate : {'median', 'mean'}
        Reduction of the per-frame or per-channel values of one item and source
        (NaN ignored). Median over frames is museval's convention.
    plots : bool
        Write the box plots (needs matplotlib).
    decimals : int
        Decimals of the Markdown tables (values are rounded, not truncated).
    metrics : list of str or None
        Metric keys (``'SI-SDR'``, ``'SDR'``, ...) of the Markdown tables and box plots;
        ``None``: all but the mixture's own scores (``MIX-*``, the same for every method).
        The CSV files always hold every metric.

    Returns
    -------
    Report
        Tables as pandas DataFrames when pandas is installed, else lists of dicts.

    Raises
    ------
    EvaluationError
        If ``out_dir`` does not exist or ``baseline`` has no results.
    """
    out_dir = os.fspath(out_dir)
    records, unreadable = read_results(out_dir)
    rows = tidy_table(records, aggregate)
    card = report_card(rows, baseline)
    errors = [
        {
            "item": r["item"],
            "method": r["method"],
            "stage": r.get("error", {}).get("stage", "?"),
            "type": r.get("error", {}).get("type", "?"),
            "message": r.get("error", {}).get("message", ""),
        }
        for r in records
        if r.get("status") != "ok"
    ]
    shown = _shown(card, metrics)
    summary = summary_table(card, records, shown)
    plots_note = None
    if plots and rows and importlib.util.find_spec("matplotlib") is None:
        plots_note = "No box plots: matplotlib is not installed (`pip install matplotlib`)."
        warnings.warn(f"report: {plots_note}", RuntimeWarning, stacklevel=2)
    markdown = _markdown(card, records, errors, unreadable, out_dir, baseline, aggregate, decimals, shown, summary, plots_note)
    files = {
        "results": os.path.join(out_dir, "results.csv"),
        "card": os.path.join(out_dir, "report_card.csv"),
        "summary": os.path.join(out_dir, "summary.csv"),
        "markdown": os.path.join(out_dir, "report.md"),
    }
    _write_csv(files["results"], rows, TIDY_COLUMNS)
    _write_csv(files["card"], card, CARD_COLUMNS)
    _write_csv(files["summary"], summary, list(summary[0]) if summary else ["method"])
    with open(files["markdown"] + ".tmp", "w", encoding="utf-8") as file:
        file.write(markdown)
    os.replace(files["markdown"] + ".tmp", files["markdown"])
    if plots and rows and plots_note is None:
        for path in _boxplots(rows, out_dir, shown):
            files[os.path.splitext(os.path.basename(path))[0]] = path
    table, card_table, summary_frame = rows, card, summary
    try:
        import pandas
    except ImportError:
        pass
    else:
        table = pandas.DataFrame(rows, columns=TIDY_COLUMNS)
        card_table = pandas.DataFrame(card, columns=CARD_COLUMNS)
        summary_frame = pandas.DataFrame(summary)
    return Report(table, card_table, errors, markdown, files, summary_frame)
