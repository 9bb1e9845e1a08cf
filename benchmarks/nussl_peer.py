"""nussl 1.1.9 as a peer: run a script in nussl's own virtual environment and get arrays back.

sepkit never imports nussl (it no longer installs on current numpy and scipy). Fixture and
benchmark scripts call it through this module, as a subprocess of the venv that
``benchmarks/nussl_env.sh`` builds (default ``$HOME/.cache/sepkit-nussl-venv``, or
``$NUSSL_VENV``).

A *script* is Python source run by the venv's interpreter as
``python script.py INPUT.npz OUTPUT.npz``. A prelude defines, before the script runs:

``INPUT``, ``OUTPUT``
    the two paths (``sys.argv[1:3]``);
``inputs``
    ``dict`` of the arrays given to :func:`run_nussl` (loaded from ``INPUT``);
``outputs``
    an empty ``dict``: put arrays in it; after the script, it is saved to ``OUTPUT``
    (``numpy.savez``) unless the script wrote ``OUTPUT`` itself;
``np``
    numpy.

Example::

    from nussl_peer import run_nussl
    out = run_nussl('''
    import nussl
    mix = nussl.AudioSignal(audio_data_array=inputs["mix"], sample_rate=44100)
    sep = nussl.separation.primitive.Repet(mix)
    outputs["masks"] = np.stack([m.mask for m in sep.run()], axis=-1)
    ''', {"mix": mix_array})
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

__all__ = ["NusslPeerError", "venv_path", "venv_python", "nussl_available", "run_nussl", "time_nussl"]

DEFAULT_VENV = os.path.join(os.path.expanduser("~"), ".cache", "sepkit-nussl-venv")

_PRELUDE = """\
import os as _os, sys as _sys
import numpy as np
INPUT, OUTPUT = _sys.argv[1], _sys.argv[2]
with np.load(INPUT, allow_pickle=False) as _f:
    inputs = {_k: _f[_k] for _k in _f.files}
outputs = {}
"""

_EPILOGUE = """
if not _os.path.exists(OUTPUT):
    np.savez(OUTPUT, **{_k: np.asarray(_v) for _k, _v in outputs.items()})
"""

_TIMER = """
import time as _time
_stmt = compile({stmt!r}, "<timed>", "exec")
for _ in range({warmup}):
    exec(_stmt, globals())
_times = []
for _ in range({repeats}):
    _t0 = _time.perf_counter()
    exec(_stmt, globals())
    _times.append(_time.perf_counter() - _t0)
outputs["_times"] = np.array(_times)
"""


class NusslPeerError(RuntimeError):
    """The nussl venv is missing, or a script run in it failed or timed out."""


def venv_path(venv: str | None = None) -> str:
    """The nussl venv's folder: ``venv``, else ``$NUSSL_VENV``, else ``~/.cache/sepkit-nussl-venv``."""
    return venv or os.environ.get("NUSSL_VENV") or DEFAULT_VENV


def venv_python(venv: str | None = None) -> str:
    """Path of the venv's python; raises :class:`NusslPeerError` (with how to build it) if missing."""
    python = os.path.join(venv_path(venv), "bin", "python")
    if not os.access(python, os.X_OK):
        here = os.path.dirname(os.path.abspath(__file__))
        raise NusslPeerError(
            f"no nussl venv at {venv_path(venv)!r} (no executable {python!r}); build it with "
            f"`bash {os.path.join(here, 'nussl_env.sh')}` (or set NUSSL_VENV to an existing one)"
        )
    return python


def nussl_available(venv: str | None = None) -> bool:
    """True if the venv exists and ``import nussl`` works in it."""
    try:
        python = venv_python(venv)
    except NusslPeerError:
        return False
    probe = subprocess.run([python, "-c", "import nussl"], capture_output=True, timeout=300)
    return probe.returncode == 0


def _check_inputs(inputs) -> dict:
    if not isinstance(inputs, dict) or not all(isinstance(k, str) and k.isidentifier() for k in inputs):
        raise TypeError(f"inputs must be a dict of identifier names to arrays, got {inputs!r:.200}")
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    bad = [k for k, v in arrays.items() if v.dtype == object]
    if bad:
        raise TypeError(f"inputs {bad} are not numeric arrays")
    return arrays


def run_nussl(script: str, inputs: dict | None = None, timeout: float = 1800.0,
              venv: str | None = None) -> dict[str, np.ndarray]:
    """Run ``script`` in the nussl venv on ``inputs``; return the arrays it put in ``outputs``.

    Parameters
    ----------
    script : str
        Python source (dedented first); see the module docstring for the names it can use.
    inputs : dict of str to array_like, optional
        Arrays passed in through an ``.npz`` file (no pickles).
    timeout : float
        Seconds before the subprocess is killed.
    venv : str, optional
        The venv folder (default: :func:`venv_path`).

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    NusslPeerError
        No venv; the script failed (the message holds the end of its stderr); timeout.
    """
    python = venv_python(venv)
    arrays = _check_inputs(inputs or {})
    with tempfile.TemporaryDirectory(prefix="sepkit-nussl-") as tmp:
        in_path, out_path = os.path.join(tmp, "input.npz"), os.path.join(tmp, "output.npz")
        script_path = os.path.join(tmp, "script.py")
        np.savez(in_path, **arrays)
        with open(script_path, "w") as f:
            f.write(_PRELUDE + textwrap.dedent(script) + "\n" + _EPILOGUE)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
        env.pop("PYTHONPATH", None)
        try:
            proc = subprocess.run([python, script_path, in_path, out_path], capture_output=True,
                                  text=True, timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise NusslPeerError(f"nussl script timed out after {timeout} s") from exc
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
            raise NusslPeerError(f"nussl script failed (exit {proc.returncode}):\n{tail}")
        if not os.path.exists(out_path):
            raise NusslPeerError(f"nussl script wrote no output file {out_path!r}")
        with np.load(out_path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}


def time_nussl(setup: str, stmt: str, inputs: dict | None = None, repeats: int = 3, warmup: int = 1,
               timeout: float = 3600.0, venv: str | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """Time ``stmt`` inside the nussl venv: the minimum over ``repeats`` runs, imports excluded.

    ``setup`` runs once (imports, building the input signal: not timed); ``stmt`` then runs
    ``warmup`` times untimed and ``repeats`` times under ``time.perf_counter``, in the same
    namespace (so it sees what ``setup`` defined and can fill ``outputs``).

    Returns
    -------
    best : float
        The fastest run in seconds.
    outputs : dict of str to numpy.ndarray
        What the script put in ``outputs`` (after the last run), plus ``'_times'``: every run's time.
    """
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be an int >= 1 and warmup an int >= 0, got {repeats!r}, {warmup!r}")
    script = textwrap.dedent(setup) + _TIMER.format(stmt=textwrap.dedent(stmt), warmup=warmup, repeats=repeats)
    out = run_nussl(script, inputs, timeout=timeout, venv=venv)
    return float(out["_times"].min()), out


if __name__ == "__main__":  # smoke test: python benchmarks/nussl_peer.py
    res = run_nussl("import nussl, scipy\nprint(nussl.__version__)\noutputs['x'] = inputs['a'] * 2\n"
                    "outputs['versions'] = np.array([nussl.__version__, np.__version__, scipy.__version__])",
                    {"a": np.arange(3.0)})
    print(res)
    sys.exit(0 if np.array_equal(res["x"], [0.0, 2.0, 4.0]) else 1)
