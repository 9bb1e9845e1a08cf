"""Reports: tidy table, report card statistics, baseline differences, files and plots."""

import csv
import json
import math
import os

import numpy as np
import pytest

from sepkit import EvaluationError
from sepkit.evaluation.harness import result_path, write_json_atomic
from sepkit.evaluation.report import bootstrap_ci, report


def _record(item, method, values, status="ok"):
    """A result file as the harness writes it, with one framewise metric 'SDR'."""
    if status != "ok":
        return {"item": item, "method": method, "status": "error",
                "error": {"stage": "load", "type": "DatasetError", "message": f"item {item!r}: broken | file"}}
    return {
        "item": item, "method": method, "status": "ok", "sources": ["vocals", "drums"],
        "metrics": {"bss": {"values": {"SDR": values}, "assignment": [0, 1], "axis": "frame", "info": {}}},
    }


@pytest.fixture
def results(tmp_path):
    out = tmp_path / "out"
    rng = np.random.default_rng(0)
    truth = {}
    for i in range(6):
        item = f"track{i}"
        base = rng.normal(0, 1, size=2)
        for method, offset in (("base", 0.0), ("good", 3.0)):
            frames = [[float(b + offset + d) for d in (-1.0, 0.0, 5.0)] + [None] for b in base]
            truth[(item, method)] = [b + offset for b in base]  # median of the non-NaN frames
            write_json_atomic(result_path(out, method, item), _record(item, method, frames))
    write_json_atomic(result_path(out, "good", "broken"), _record("broken", "good", None, status="error"))
    (out / "good" / ".track0.json.x1y2.tmp").write_text('{"half": ')  # a leftover temporary file
    return out, truth


def test_tidy_table_reduces_frames_with_nanmedian(results):
    out, truth = results
    result = report(out, plots=False)
    table = result.table
    assert list(table.columns) == ["item", "method", "source", "metric", "value", "function", "n_values"]
    assert len(table) == 6 * 2 * 2
    for row in table.itertuples():
        j = ["vocals", "drums"].index(row.source)
        assert row.value == pytest.approx(truth[(row.item, row.method)][j])
        assert row.metric == "SDR" and row.function == "bss" and row.n_values == 4
    mean = report(out, plots=False, aggregate="mean").table
    assert mean.value.iloc[0] == pytest.approx(table.value.iloc[0] + 4.0 / 3.0)


def test_report_card_statistics_ci_and_baseline(results):
    out, truth = results
    card = report(out, baseline="base", plots=False).card
    for (method, source), group in card.groupby(["method", "source"]):
        row = group.iloc[0]
        if source == "all":
            values = [v for (i, m), vs in truth.items() if m == method for v in vs]
        else:
            j = ["vocals", "drums"].index(source)
            values = [vs[j] for (i, m), vs in truth.items() if m == method]
        assert row["count"] == len(values)
        assert row["mean"] == pytest.approx(np.mean(values))
        assert row["std"] == pytest.approx(np.std(values, ddof=1))
        assert row["median"] == pytest.approx(np.median(values))
        assert row["ci_low"] < row["mean"] < row["ci_high"]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(bootstrap_ci(values))
        if method == "good":  # every paired difference is exactly 3 dB
            assert row["delta_mean"] == pytest.approx(3.0) and row["delta_count"] == len(values)
        else:
            assert row["delta_mean"] == pytest.approx(0.0)


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(1).normal(10, 2, size=50)
    low, high = bootstrap_ci(values)
    assert low < values.mean() < high and (low, high) == bootstrap_ci(values)
    assert high - low == pytest.approx(2 * 1.96 * values.std(ddof=1) / np.sqrt(50), rel=0.2)
    assert all(math.isnan(x) for x in bootstrap_ci([1.0]))


def test_files_markdown_errors_and_plots(results):
    out, _ = results
    result = report(out, baseline="base")
    for key in ("results", "card", "markdown"):
        assert os.path.isfile(result.files[key])
    with open(result.files["results"]) as file:
        assert len(list(csv.DictReader(file))) == 24
    with open(result.files["card"]) as file:
        rows = list(csv.DictReader(file))
    assert {r["method"] for r in rows} == {"base", "good"} and {r["source"] for r in rows} == {"vocals", "drums", "all"}
    text = open(result.files["markdown"]).read()
    assert text == result.markdown and "## SDR (bss)" in text and "Δ base" in text
    assert "## Errors (1)" in text and "broken \\| file" in text
    assert len(result.errors) == 1 and result.errors[0]["type"] == "DatasetError"
    pytest.importorskip("matplotlib")
    png = result.files["boxplot_SDR"]
    assert png == str(out / "boxplot_SDR.png")
    with open(png, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_markdown_rounds_instead_of_truncating(tmp_path):
    out = tmp_path / "out"
    for i, value in enumerate((1.006, 1.006)):
        write_json_atomic(result_path(out, "m", f"x{i}"), {
            "item": f"x{i}", "method": "m", "status": "ok", "sources": ["s"],
            "metrics": {"f": {"values": {"SI-SDR": [[value]]}, "assignment": [0], "axis": "channel", "info": {}}},
        })
    text = report(out, plots=False).markdown
    assert "| m | s | 2 | 1.01 ± 0.00 | 1.01 |" in text


def test_errors(tmp_path, results):
    with pytest.raises(EvaluationError, match="does not exist"):
        report(tmp_path / "missing")
    out, _ = results
    with pytest.raises(EvaluationError, match="baseline"):
        report(out, baseline="nope", plots=False)


def test_summary_table_one_line_per_method_with_time_and_oracle(results):
    out, truth = results
    for item in ("track0", "track1"):  # give two 'good' results a run time and mark the method an oracle
        path = result_path(out, "good", item)
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
        record.update(run_time_s=2.0 if item == "track0" else 4.0, oracle=True)
        write_json_atomic(path, record)
    result = report(out, plots=False)
    summary = result.summary.set_index("method")
    assert list(summary.index) == ["base", "good"]
    assert bool(summary.loc["good", "oracle"]) and not bool(summary.loc["base", "oracle"])
    assert summary.loc["good", "items"] == 6 and summary.loc["good", "errors"] == 1
    assert summary.loc["good", "run_time_s"] == pytest.approx(3.0)
    assert math.isnan(summary.loc["base", "run_time_s"])
    good = [v for (item, method), values in truth.items() if method == "good" for v in values]
    assert summary.loc["good", "SDR mean"] == pytest.approx(np.mean(good))
    assert summary.loc["good", "SDR median"] == pytest.approx(np.median(good))
    text = result.markdown
    assert text.index("## Summary") < text.index("## SDR")
    line = next(l for l in text.splitlines() if l.startswith("| good |"))
    assert "| oracle |" in line and "| 3.00 |" in line
    with open(result.files["summary"], newline="") as file:
        assert [row["method"] for row in csv.DictReader(file)] == ["base", "good"]


def test_missing_matplotlib_warns_and_says_so_in_report(results, monkeypatch):
    import importlib.util

    out, _ = results
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.warns(RuntimeWarning, match="matplotlib is not installed"):
        result = report(out, plots=True)
    assert "No box plots: matplotlib is not installed" in result.markdown
    assert not [k for k in result.files if k.startswith("boxplot")]
