"""The evaluation harness: every method on every item of a dataset, scored, one JSON per result.

Results are written as ``<out_dir>/<method>/<item>.json``, each atomically (a temporary
file in the same folder, then :func:`os.replace`), so a killed run never leaves a
half-written result and a rerun redoes only what is missing. See
``docs/evaluation/harness.rst`` for the file format.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import re
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field

from ..core import AudioSignal, EvaluationError
from ..core.validation import check_choice, is_int
from .registry import MetricSpec, get_metric

__all__ = ["evaluate", "EvaluationSummary", "result_path", "read_result", "write_json_atomic", "SCHEMA"]

#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 5

#: Version tag of the result files.
SCHEMA = "sepkit.evaluation.result/1"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.+=-]+", "_", str(text)).strip("_.")
    return slug or "_"


def result_path(out_dir, method: str, item: str) -> str:
    """Path of the result file of ``(item, method)``: ``<out_dir>/<method>/<item>.json``
    (characters other than letters, digits and ``_.+=-`` become ``_``)."""
    return os.path.join(os.fspath(out_dir), _slug(method), _slug(item) + ".json")


def write_json_atomic(path, data) -> None:
    """Write ``data`` as JSON to ``path`` atomically.

    The JSON goes to a temporary file in the same folder (a hidden name ending in
    ``.tmp``, never ``.json``), is flushed to disk, then renamed over ``path`` with
    :func:`os.replace`: readers see either the old file, or the complete new one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1, allow_nan=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_result(path) -> dict | None:
    """Read a result file; ``None`` if it does not exist or is not valid JSON."""
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


@dataclass
class EvaluationSummary:
    """What :func:`evaluate` did.

    Attributes
    ----------
    out_dir : str
    done : int
        Results computed and written with status ``'ok'``.
    skipped : int
        Results already in ``out_dir`` and kept.
    failed : int
        Results that failed: error records written (status ``'error'``), plus tasks lost
        with no record (e.g. a worker that died every time), which a rerun redoes.
    errors : list of dict
        ``{'item', 'method', 'error_type', 'message'}`` per failure.
    elapsed : float
        Wall time in seconds.
    """

    out_dir: str
    done: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)
    elapsed: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.done} results written, {self.skipped} skipped (already done), "
            f"{self.failed} failed, in {self.elapsed:.1f} s -> {self.out_dir}"
        )


class _ListDataset:
    """A dataset from a list of ``(name, mixture, sources)`` tuples."""

    def __init__(self, items):
        self.items = list(items)
        self.names = [str(item[0]) for item in self.items]

    def __len__(self):
        return len(self.items)

    def load(self, index):
        return self.items[index]


def _as_dataset(dataset):
    if hasattr(dataset, "names") and (hasattr(dataset, "load") or hasattr(dataset, "__getitem__")):
        return dataset
    if isinstance(dataset, (list, tuple)) and all(isinstance(item, (list, tuple)) and len(item) == 3 for item in dataset):
        return _ListDataset(dataset)
    raise EvaluationError(
        "dataset must be a FolderDataset (or an object with .names and .load(i)) or a list of "
        f"(name, mixture, sources) tuples, got {type(dataset).__name__}"
    )


def _load_item(dataset, index):
    item = dataset.load(index) if hasattr(dataset, "load") else dataset[index]
    name, mix, sources = item
    if not isinstance(mix, AudioSignal):
        raise EvaluationError(f"item {name!r}: the mixture is a {type(mix).__name__}, not an AudioSignal")
    if not isinstance(sources, dict):
        sources = {s.label or f"source_{j}": s for j, s in enumerate(sources)}
    return str(name), mix, sources


def _versions() -> dict:
    import numpy
    import scipy

    import sepkit

    return {
        "sepkit": sepkit.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def _error_info(err: BaseException, stage: str) -> dict:
    return {
        "stage": stage,
        "type": type(err).__name__,
        "message": str(err),
        "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-8)),
    }


def _accepts(function, name: str) -> bool:
    """Whether ``function`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _fresh(signal: AudioSignal) -> AudioSignal:
    """A copy with an empty STFT cache, so every method pays for its own STFTs."""
    return AudioSignal._trusted(signal.audio_data, signal.sample_rate, label=signal.label, path=signal.path)


def _run_method(name, method, mix, sources, metrics, compute_permutation, record):
    stage = "separate"
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            separator = method(_fresh(mix), {k: _fresh(v) for k, v in sources.items()})
            estimates = list(separator())
            record["run_time_s"] = time.perf_counter() - start
            if not estimates or not all(isinstance(e, AudioSignal) for e in estimates):
                raise EvaluationError(f"method {name!r} must return a non-empty list of AudioSignals")
            record["estimates"] = [e.label or f"estimate_{j}" for j, e in enumerate(estimates)]
            references = list(sources.values())
            if len(estimates) < len(references):
                # e.g. HighLowPassFilter (2 estimates) on 4 sources: each estimate may be
                # matched to ceil(S / E) references.
                repeats = -(-len(references) // len(estimates))
                estimates = estimates * repeats
                record["estimates_repeated"] = repeats
            stage = "score"
            record["metrics"] = {}
            record["scoring_time_s"] = {}
            for spec in metrics:
                function = spec.resolve()
                kwargs = dict(spec.kwargs)
                if spec.needs_mixture:
                    kwargs["mixture"] = mix
                if _accepts(function, "sample_rate"):
                    kwargs["sample_rate"] = mix.sample_rate
                tick = time.perf_counter()
                scores = function(references, estimates, compute_permutation=compute_permutation, **kwargs)
                record["scoring_time_s"][spec.name] = time.perf_counter() - tick
                record["metrics"][spec.name] = scores.to_dict()
            record["status"] = "ok"
        messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
        if messages:
            record["warnings"] = messages
    except Exception as err:  # any failure of a method is recorded, the run goes on
        record.pop("metrics", None)
        record.pop("scoring_time_s", None)
        record["status"] = "error"
        record["error"] = _error_info(err, stage)
    record["total_time_s"] = time.perf_counter() - start
    return record


def _evaluate_item(dataset, index, item_name, methods, metrics, out_dir, compute_permutation):
    """Evaluate the pending methods on one item; write one JSON per method; return
    ``[(method, status, error_type, message), ...]``. Runs in worker processes."""
    versions = _versions()
    base = {
        "schema": SCHEMA,
        "item": item_name,
        "versions": versions,
        "sepkit_version": versions["sepkit"],
        "host": platform.node(),
    }
    outcomes = []
    try:
        name, mix, sources = _load_item(dataset, index)
    except Exception as err:  # unreadable file, NaN samples, length mismatch, ...
        error = _error_info(err, "load")
        for method_name, method in methods.items():
            record = {
                **base,
                "method": method_name,
                "parameters": dict(getattr(method, "params", {}) or {}),
                "metric_names": [m.name for m in metrics],
                "status": "error",
                "error": error,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            write_json_atomic(result_path(out_dir, method_name, item_name), record)
            outcomes.append((method_name, "error", error["type"], error["message"]))
        return outcomes
    params = mix.stft_params
    for method_name, method in methods.items():
        record = {
            **base,
            "method": method_name,
            "parameters": dict(getattr(method, "params", {}) or {}),
            "oracle": getattr(method, "oracle", None),
            "sample_rate": mix.sample_rate,
            "n_channels": mix.num_channels,
            "n_samples": mix.signal_length,
            "stft_params": {
                "window_length": params.window_length,
                "hop_length": params.hop_length,
                "window_type": params.window_type,
            },
            "sources": list(sources),
            "metric_names": [m.name for m in metrics],
            "compute_permutation": bool(compute_permutation),
        }
        record = _run_method(method_name, method, mix, sources, metrics, compute_permutation, record)
        record["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json_atomic(result_path(out_dir, method_name, item_name), record)
        error = record.get("error", {})
        outcomes.append((method_name, record["status"], error.get("type"), error.get("message")))
    return outcomes


def _as_methods(separators) -> dict:
    if not isinstance(separators, dict) or not separators:
        raise EvaluationError(
            "separators must be a non-empty dict {name: factory(mix, sources) -> separator}, e.g. "
            f"sepkit.separation.presets.default_separators(); got {separators!r}"
        )
    for name, value in separators.items():
        if not callable(value):
            raise EvaluationError(f"separator {name!r} must be callable as factory(mix, sources), got {value!r}")
    return {str(name): value for name, value in separators.items()}


def _as_metrics(metrics) -> list[MetricSpec]:
    if isinstance(metrics, (str, MetricSpec)) or callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, dict):
        specs = [get_metric(name).with_kwargs(**(kwargs or {})) for name, kwargs in metrics.items()]
    else:
        specs = [get_metric(metric) for metric in metrics]
    if not specs:
        raise EvaluationError("give at least one metric")
    for spec in specs:
        spec.resolve()  # fail now for an unknown metric, not once per item
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise EvaluationError(f"metric names must be distinct, got {names}")
    return specs


def evaluate(
    dataset,
    separators,
    metrics=("scale_invariant",),
    out_dir=None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler=None,
    compute_permutation: bool = True,
    overwrite: bool = False,
    retry_errors: bool = True,
    progress: bool | None = None,
) -> EvaluationSummary:
    """Run every method on every item of a dataset, score the estimates, write one JSON per result.

    Each ``(item, method)`` result goes to ``<out_dir>/<method>/<item>.json``, written
    atomically as soon as it is ready. A rerun skips results already written, so an
    interrupted run resumes where it stopped. An item that cannot be loaded (missing or
    unreadable file, NaN samples, length mismatch) or a method that fails gives an
    *error record* (``"status": "error"``) and the run goes on.

    Parameters
    ----------
    dataset : FolderDataset, or list of (name, mixture, sources)
        Any object with ``.names`` (item names) and ``.load(i)`` (or ``[i]``) returning
        ``(name, mixture, sources)``, where ``sources`` maps labels to AudioSignals.
    separators : dict of str to callable
        Methods by name: factories ``factory(mix, sources) -> separator`` (a callable
        returning the estimates), such as the :class:`~sepkit.separation.presets.Method`
        objects of :func:`~sepkit.separation.presets.default_separators`; a factory's
        ``params`` attribute, if any, is written into the results. With the loky or Dask backends the methods must be picklable (module-level
        functions or :func:`functools.partial` of them).
    metrics : sequence of str or callable, or dict of str to dict
        Metric names of :data:`~sepkit.evaluation.registry.METRICS`,
        ``'module:function'`` paths or functions returning
        :class:`~sepkit.evaluation.common.Scores`; a dict maps names to keyword
        arguments (``{'bss_eval_v4': {'window': 1.0}}``).
    out_dir : str or os.PathLike
        Results folder (created if needed).
    n_jobs : int
        Parallel workers for ``backend='loky'`` (``-1``: one per CPU); 1 runs in this
        process. With ``backend='dask'`` and no ``scheduler``, the size of the local cluster.
    backend : {'loky', 'dask'}
        ``'loky'``: :mod:`joblib` processes on this machine. ``'dask'``: tasks submitted to
        a :class:`dask.distributed.Client`.
    scheduler : str, dask.distributed.Client or None
        For ``backend='dask'``: a scheduler address (``'tcp://host:8786'``) or a client;
        ``None`` starts a local cluster on 127.0.0.1 for this run.
    compute_permutation : bool
        Let each metric find the best assignment of estimates to references (the
        assignment is written in the results).
    overwrite : bool
        Recompute results that already exist.
    retry_errors : bool
        Recompute existing error records (default), else keep them like finished results.
    progress : bool or None
        Show a tqdm progress bar (items done and failed); ``None``: only on a terminal.

    Returns
    -------
    EvaluationSummary
        Counts of results done, skipped and failed, the failures, and ``out_dir``.

    Raises
    ------
    EvaluationError
        For an unknown method, metric or backend, or a missing ``out_dir``. Failures of
        single items or methods are recorded, never raised.
    """
    if out_dir is None:
        raise EvaluationError("out_dir is required: the folder that receives one JSON per (item, method)")
    backend = check_choice("backend", backend, ("loky", "dask"), error=EvaluationError)
    if not is_int(n_jobs) or n_jobs == 0 or n_jobs < -1:
        raise EvaluationError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    dataset = _as_dataset(dataset)
    methods = _as_methods(separators)
    specs = _as_metrics(metrics)
    out_dir = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    summary = EvaluationSummary(out_dir)
    start = time.perf_counter()

    tasks = _pending_tasks(dataset, methods, out_dir, overwrite, retry_errors, summary)

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(tasks),
        desc="evaluate",
        unit="item",
        disable=(not sys.stderr.isatty()) if progress is None else not progress,
    )

    def collect(item, pending, outcomes=None, lost=None):
        if lost is not None:
            outcomes = [(m, "lost", type(lost).__name__, str(lost)) for m in pending]
        for method_name, status, error_type, message in outcomes:
            if status == "ok":
                summary.done += 1
            else:
                summary.failed += 1
                summary.errors.append(
                    {"item": item, "method": method_name, "error_type": error_type, "message": message}
                )
        bar.update(1)
        bar.set_postfix(failed=summary.failed)

    args = (specs, out_dir, compute_permutation)
    try:
        if backend == "dask":
            _run_dask(dataset, tasks, args, n_jobs, scheduler, collect)
        else:
            _run_loky(dataset, tasks, args, n_jobs, collect)
    finally:
        bar.close()
    summary.elapsed = time.perf_counter() - start
    return summary


def _pending_tasks(dataset, methods, out_dir, overwrite, retry_errors, summary) -> list:
    """``(index, item, {method name: factory})`` for every item with something left to do;
    counts the (item, method) pairs already done in ``summary.skipped``. A result file
    that exists but holds no complete result (see :func:`_incomplete`) is redone, with a
    ``RuntimeWarning`` naming it."""
    names = [str(name) for name in dataset.names]
    slugs = [_slug(name) for name in names]
    if len(set(slugs)) != len(slugs):
        raise EvaluationError("item names must stay distinct as file names (letters, digits and _.+=-)")
    tasks = []
    for index, item in enumerate(names):
        pending = {}
        for method_name, method in methods.items():
            existing = None
            if not overwrite:
                path = result_path(out_dir, method_name, item)
                existing = read_result(path)
                problem = _incomplete(existing) if os.path.exists(path) else None
                if problem:
                    warnings.warn(f"result file {path} {problem}: redoing it", RuntimeWarning, stacklevel=3)
                    existing = None
            if existing is not None and (existing.get("status") == "ok" or not retry_errors):
                summary.skipped += 1
            else:
                pending[method_name] = method
        if pending:
            tasks.append((index, item, pending))
    return tasks


def _incomplete(record) -> str | None:
    """Why ``record`` (a parsed result file, None if unreadable) is not a complete result,
    or None if it is: an ``'ok'`` record needs its ``metrics`` (every one of its
    ``metric_names``), an ``'error'`` record its ``error``."""
    if record is None:
        return "is not valid JSON"
    if not isinstance(record, dict):
        return f"holds a JSON {type(record).__name__}, not a result object"
    status = record.get("status")
    if status == "ok":
        metrics = record.get("metrics")
        if not isinstance(metrics, dict):
            return "has status 'ok' but no metrics"
        names = record.get("metric_names")
        names = names if isinstance(names, list) else []
        missing = [name for name in names if not isinstance(metrics.get(str(name)), dict)]
        if missing:
            return f"has status 'ok' but lacks the metrics {', '.join(map(repr, missing))}"
        return None
    if status == "error":
        return None if isinstance(record.get("error"), dict) else "has status 'error' but no error details"
    return f"has no valid status (got {status!r})"


def _run_loky(dataset, tasks, args, n_jobs, collect) -> None:
    """Run the tasks in this process (``n_jobs == 1``) or in loky worker processes."""
    if n_jobs == 1:
        for index, item, pending in tasks:
            collect(item, pending, _evaluate_item(dataset, index, item, pending, *args))
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    results = parallel(
        delayed(_tagged)(item, pending, dataset, index, item, pending, *args) for index, item, pending in tasks
    )
    for item, pending, outcomes in results:
        collect(item, pending, outcomes)


def _tagged(item, pending, *args):
    return item, pending, _evaluate_item(*args)


def _run_dask(dataset, tasks, args, n_jobs, scheduler, collect) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as err:  # pragma: no cover - dask is an optional dependency
        raise EvaluationError(f"backend='dask' needs dask[distributed] installed: {err}") from None
    cluster = None
    if isinstance(scheduler, Client):
        client = scheduler
        own_client = False
    else:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=max(1, n_jobs if n_jobs > 0 else os.cpu_count() or 1),
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
            )
            scheduler = cluster
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as err:  # nothing listens there: fail in seconds, naming the address
            raise EvaluationError(
                f"cannot reach the Dask scheduler {scheduler!r} within {CONNECT_TIMEOUT_S} s: {err}"
            ) from None
        own_client = True
    try:
        run = uuid.uuid4().hex[:8]
        futures = {}
        for index, item, pending in tasks:
            future = client.submit(
                _evaluate_item, dataset, index, item, pending, *args, key=f"sepkit-evaluate-{run}-{index}", pure=False
            )
            futures[future] = (item, pending)
        for future in as_completed(list(futures)):
            item, pending = futures[future]
            try:
                outcomes = future.result()
            except Exception as err:  # e.g. KilledWorker: nothing written, a rerun redoes it
                collect(item, pending, lost=err)
            else:
                collect(item, pending, outcomes)
            future.release()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
