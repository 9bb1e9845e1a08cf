"""The evaluation harness: JSON results, resuming, error records, killed runs, loky and Dask."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial

import numpy as np
import pytest
import soundfile

import sepkit
from sepkit import EvaluationError
from sepkit.datasets import FolderDataset, load_example
from sepkit.evaluation.harness import evaluate, result_path
from sepkit.separation.presets import Method, default_separators
from sepkit.evaluation.report import report
from sepkit.evaluation.scale_invariant import scale_invariant
from sepkit.separation import IdealMask, MixAsEstimate

RATE = 44100
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(sepkit.__file__)))


def make_dataset(root, n_items=2, seconds=1.0, names=("violin", "clarinet")):
    """A chorale-layout dataset cut from the bundled example: item i is second i of it."""
    _, sources = load_example()
    for i in range(n_items):
        folder = root / f"item{i}"
        folder.mkdir(parents=True)
        a, b = int(i * seconds * RATE), int((i + 1) * seconds * RATE)
        stems = {name: sources[name].audio_data[:, a:b] for name in names}
        for name, audio in stems.items():
            soundfile.write(str(folder / f"{name}.wav"), audio.T, RATE, subtype="FLOAT")
        soundfile.write(str(folder / "mix.wav"), sum(stems.values()).T, RATE, subtype="FLOAT")
        (folder / "notes.csv").write_text("stem,onset\n")
    return root


# Methods for the tests: module-level functions, so worker processes can unpickle them.
def _slow_ideal_mask(mix, sources, delay=0.0):
    time.sleep(delay)
    return IdealMask(mix, sources, approach="ibm")


def _slow_mix(mix, sources, delay=0.0):
    time.sleep(delay)
    return MixAsEstimate(mix, num_sources=len(sources))


def _fails(mix, sources):
    raise RuntimeError("this separator always fails")


def slow_methods(delay=0.0):
    return {
        "ibm": Method(partial(_slow_ideal_mask, delay=delay), {"approach": "ibm"}),
        "mix": Method(partial(_slow_mix, delay=delay), {}),
    }


def tidy(out_dir):
    """The report's tidy table as sorted tuples (what a report is computed from)."""
    table = report(out_dir, plots=False).table
    return sorted(map(tuple, table.itertuples(index=False)))


def assert_same_results(a, b):
    """Same rows, values equal up to rounding: worker processes may run the numba and
    BLAS kernels with other thread counts, which changes the order of float sums."""
    ta, tb = tidy(a), tidy(b)
    assert [row[:4] + row[5:] for row in ta] == [row[:4] + row[5:] for row in tb]
    assert len(ta) > 0
    va, vb = np.array([row[4] for row in ta]), np.array([row[4] for row in tb])
    # Scores at the float64 noise floor (e.g. SI-SAR of the mixture of two exact stems,
    # about 300 dB) are ratios of rounding errors: only require them to stay there.
    floor = (va > 150) & (vb > 150)
    np.testing.assert_allclose(va[~floor], vb[~floor], rtol=1e-9, atol=1e-9)


@pytest.fixture
def dataset(tmp_path):
    return FolderDataset(make_dataset(tmp_path / "data"))


def test_end_to_end_json_content(dataset, tmp_path):
    methods = {name: default_separators()[name] for name in ("ibm", "mix-as-estimate")}
    out = tmp_path / "out"
    summary = evaluate(dataset, methods, ["scale_invariant"], out)
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, 0)
    assert summary.out_dir == str(out)
    for item in dataset.names:
        for method in methods:
            path = result_path(out, method, item)
            assert path == str(out / method / f"{item}.json")
            record = json.load(open(path))
            assert record["status"] == "ok" and record["item"] == item and record["method"] == method
            assert record["parameters"] == methods[method].params
            assert record["sepkit_version"] == sepkit.__version__
            assert record["sample_rate"] == RATE and record["n_samples"] == RATE and record["n_channels"] == 1
            assert record["stft_params"] == {"window_length": 2048, "hop_length": 512, "window_type": "sqrt_hann"}
            assert record["sources"] == ["clarinet", "violin"]
            assert record["run_time_s"] >= 0 and record["scoring_time_s"]["scale_invariant"] >= 0
            scores = record["metrics"]["scale_invariant"]
            assert scores["axis"] == "channel" and scores["info"]["improvement_reference"] == "mixture"
            assert np.array(scores["values"]["SI-SDR"]).shape == (2, 1)
    # The stored values are those of the metric called directly, with the assignment.
    _, mix, sources = dataset[1]
    estimates = IdealMask(mix, sources, approach="ibm")()
    direct = scale_invariant(list(sources.values()), estimates[::-1], RATE, mixture=mix, compute_permutation=True)
    stored = json.load(open(result_path(out, "ibm", "item1")))["metrics"]["scale_invariant"]
    assert stored["assignment"] == [0, 1]
    assert direct.assignment.tolist() == [1, 0]
    np.testing.assert_allclose(stored["values"]["SI-SDR"], direct.values["SI-SDR"], rtol=1e-12)
    assert stored["values"]["SI-SDR"][0][0] > 5  # the IBM separates clarinet well


def test_rerun_skips_finished_results_and_overwrite_redoes_them(dataset, tmp_path):
    calls = []

    def counted(mix, sources):
        calls.append(1)
        return MixAsEstimate(mix, num_sources=len(sources))

    out = tmp_path / "out"
    evaluate(dataset, {"mix": counted}, "scale_invariant", out)
    paths = [result_path(out, "mix", item) for item in dataset.names]
    mtimes = [os.stat(p).st_mtime_ns for p in paths]
    summary = evaluate(dataset, {"mix": counted}, "scale_invariant", out)
    assert (summary.done, summary.skipped, len(calls)) == (0, 2, 2)
    assert [os.stat(p).st_mtime_ns for p in paths] == mtimes
    os.remove(paths[1])
    summary = evaluate(dataset, {"mix": counted}, "scale_invariant", out)
    assert (summary.done, summary.skipped, len(calls)) == (1, 1, 3)
    assert os.stat(paths[0]).st_mtime_ns == mtimes[0]
    summary = evaluate(dataset, {"mix": counted}, "scale_invariant", out, overwrite=True)
    assert (summary.done, summary.skipped, len(calls)) == (2, 0, 5)


def test_broken_items_give_error_records_and_the_run_goes_on(tmp_path):
    root = make_dataset(tmp_path / "data", n_items=4)
    (root / "item1" / "clarinet.wav").write_text("not audio")  # unreadable
    audio, _ = soundfile.read(str(root / "item2" / "violin.wav"), always_2d=True)
    soundfile.write(str(root / "item2" / "violin.wav"), audio[:-100], RATE, subtype="FLOAT")  # length
    audio[5] = np.nan
    soundfile.write(str(root / "item3" / "violin.wav"), audio, RATE, subtype="FLOAT")  # NaN samples
    out = tmp_path / "out"
    methods = {**slow_methods(), "broken": _fails}
    summary = evaluate(FolderDataset(root), methods, ["scale_invariant"], out)
    assert (summary.done, summary.failed) == (2, 10)
    for item, needle in (("item1", "clarinet.wav"), ("item2", "length of 'violin.wav'"), ("item3", "violin.wav")):
        for method in methods:
            record = json.load(open(result_path(out, method, item)))
            assert record["status"] == "error" and record["error"]["stage"] == "load"
            assert record["error"]["type"] == "DatasetError"
            assert item in record["error"]["message"] and needle in record["error"]["message"]
    failed = json.load(open(result_path(out, "broken", "item0")))
    assert failed["status"] == "error" and failed["error"]["stage"] == "separate"
    assert failed["error"]["type"] == "RuntimeError" and "always fails" in failed["error"]["message"]
    # The good item is scored as on a clean dataset.
    clean = tmp_path / "clean"
    evaluate(FolderDataset(make_dataset(tmp_path / "clean_data", n_items=1)), slow_methods(), ["scale_invariant"], clean)
    for method in ("ibm", "mix"):
        good = json.load(open(result_path(out, method, "item0")))
        assert good["status"] == "ok"
        assert good["metrics"] == json.load(open(result_path(clean, method, "item0")))["metrics"]
    result = report(out, plots=False)
    assert len(result.errors) == 10 and "## Errors (10)" in result.markdown
    # Error records are retried on a rerun (they still fail), ok results are skipped.
    summary = evaluate(FolderDataset(root), methods, ["scale_invariant"], out)
    assert (summary.done, summary.skipped, summary.failed) == (0, 2, 10)


def test_bad_arguments(dataset, tmp_path):
    with pytest.raises(EvaluationError, match="unknown metric"):
        evaluate(dataset, slow_methods(), ["no_such_metric"], tmp_path / "o")
    with pytest.raises(EvaluationError, match="non-empty dict"):
        evaluate(dataset, ["ibm", "mix-as-estimate"], ["scale_invariant"], tmp_path / "o")
    with pytest.raises(EvaluationError, match="callable"):
        evaluate(dataset, {"ibm": "IdealMask"}, ["scale_invariant"], tmp_path / "o")
    with pytest.raises(EvaluationError, match="backend"):
        evaluate(dataset, slow_methods(), ["scale_invariant"], tmp_path / "o", backend="spark")
    with pytest.raises(EvaluationError, match="out_dir"):
        evaluate(dataset, slow_methods(), ["scale_invariant"])


def test_loky_parallel_run_equals_sequential_run(dataset, tmp_path):
    evaluate(dataset, slow_methods(), ["scale_invariant"], tmp_path / "seq")
    summary = evaluate(dataset, slow_methods(), ["scale_invariant"], tmp_path / "par", n_jobs=2)
    assert (summary.done, summary.failed) == (4, 0)
    assert_same_results(tmp_path / "par", tmp_path / "seq")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO, HERE, env.get("PYTHONPATH", "")])
    return env


def _json_files(out):
    return sorted(
        os.path.join(d, f) for d, _, files in os.walk(out) for f in files if f.endswith(".json")
    )


def test_killed_run_resumes_with_only_missing_results(tmp_path):
    root = make_dataset(tmp_path / "data", n_items=4)
    out = tmp_path / "out"
    script = (
        "from test_harness import slow_methods\n"
        "from sepkit.datasets import FolderDataset\n"
        "from sepkit.evaluation.harness import evaluate\n"
        f"evaluate(FolderDataset({str(root)!r}), slow_methods(0.4), ['scale_invariant'], {str(out)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=_env(), cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 60
        while not _json_files(out) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    finished = _json_files(out)
    assert 1 <= len(finished) < 8
    for path in finished:  # every result file is complete JSON
        assert json.load(open(path))["status"] == "ok"
    mtimes = {path: os.stat(path).st_mtime_ns for path in finished}

    summary = evaluate(FolderDataset(root), slow_methods(), ["scale_invariant"], out)
    assert summary.skipped == len(finished) and summary.done == 8 - len(finished)
    assert {path: os.stat(path).st_mtime_ns for path in finished} == mtimes
    assert len(_json_files(out)) == 8
    # Any temporary file left by the kill is hidden and does not end in .json.
    leftovers = [f for _, _, files in os.walk(out) for f in files if not f.endswith(".json")]
    assert all(f.startswith(".") and f.endswith(".tmp") for f in leftovers)

    evaluate(FolderDataset(root), slow_methods(), ["scale_invariant"], tmp_path / "uninterrupted")
    assert tidy(out) == tidy(tmp_path / "uninterrupted")
    card = report(out, plots=False).card
    reference_card = report(tmp_path / "uninterrupted", plots=False).card
    assert card.equals(reference_card)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_run_equals_loky_run(cluster, dataset, tmp_path):
    evaluate(dataset, slow_methods(), ["scale_invariant"], tmp_path / "loky")
    summary = evaluate(
        dataset, slow_methods(), ["scale_invariant"], tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address
    )
    assert (summary.done, summary.failed) == (4, 0)
    assert_same_results(tmp_path / "dask", tmp_path / "loky")
    hosts = {json.load(open(p))["host"] for p in _json_files(tmp_path / "dask")}
    assert len(hosts) == 1


def test_dask_worker_killed_mid_run_then_rerun_completes(cluster, tmp_path):
    root = make_dataset(tmp_path / "data", n_items=4)
    dataset = FolderDataset(root)
    out = tmp_path / "dask"
    outcome = {}

    def run():
        outcome["summary"] = evaluate(
            dataset, slow_methods(0.5), ["scale_invariant"], out, backend="dask", scheduler=cluster.scheduler_address
        )

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not _json_files(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _json_files(out), "no result appeared"
    nanny = next(iter(cluster.workers.values()))
    os.kill(nanny.process.process.pid, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    # The scheduler reran the lost tasks elsewhere, or the summary counts them as failed.
    first = outcome["summary"]
    assert first.done + first.failed == 8
    summary = evaluate(dataset, slow_methods(), ["scale_invariant"], out, backend="dask", scheduler=cluster.scheduler_address)
    assert summary.skipped == first.done and summary.done == 8 - first.done and summary.failed == 0
    evaluate(dataset, slow_methods(), ["scale_invariant"], tmp_path / "reference")
    assert_same_results(out, tmp_path / "reference")
