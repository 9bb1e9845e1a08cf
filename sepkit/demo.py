"""``sepkit demo``: every registered separator on the bundled examples, SI-SDR and time per method.

The rows come from the registry (:class:`~sepkit.separation.registry.DemoRow` of each entry);
this module only knows the scenes: the example chorale (4 voices, mono, then panned in
stereo), two of its voices, the drum loop, the foreground/background examples, and two voices
in stereo (panned and delayed) and in a simulated room.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from .core import AudioSignal
from .separation.registry import Inputs, entries

__all__ = ["run_demo", "demo_rows", "SCENES", "BACKGROUND_SCENES", "start_background_warm_up"]

#: Scene name -> (title printed above its table, whether rows show a time column).
SCENES = {
    "chorale": (
        "sepkit demo: J. S. Bach, BWV 255 (first 10 s), 4 sources, 44.1 kHz mono\n"
        "SI-SDR in dB per source (higher is better); time includes every STFT and inverse STFT.\n"
        "Blind rows (HighLowPassFilter gives 2 estimates) are matched to the sources by the best\n"
        "assignment. WienerFilter refines the IdealMask ibm estimates (not included in its time).\n"
    ),
    "stereo": (
        "\nIn mono the Wiener EM is only a power-ratio mask; with two channels it also uses where\n"
        "each source sits. Same stems panned from left to right (stereo), SI-SDR in dB:\n"
    ),
    "duet": (
        "\nTwo voices (violin + clarinet) of the same excerpt. Blind methods know nothing of the\n"
        "instruments: their estimates are matched to the sources by the best assignment. DictSep\n"
        "learns a harmonic dictionary from the mixture (4 seeds, the lowest pursuit loss kept).\n"
        "(On all four voices the blind methods score at or below MixAsEstimate.) SI-SDR in dB:\n"
    ),
    "drums": (
        "\nDrums: the bundled 'Funky' loop (kick + snare + hi-hat). NMFD templates are learned from\n"
        "5 one-shots per drum (included in the time). SI-SDR in dB:\n"
    ),
    "loop": (
        "\nForeground/background: 2.5 s of two chorale voices looped 4 times (a repeating\n"
        "accompaniment) under a violin melody that does not repeat (10 s, mono). SI-SDR in dB:\n"
    ),
    "drums_voice": (
        "\nHarmonic/percussive: the drum loop played twice under a clarinet voice (9.9 s, mono).\n"
        "SI-SDR in dB:\n"
    ),
    "spatial": (
        "\nSpatial: violin and clarinet panned and delayed in stereo (10 s, 44.1 kHz, DUET's model).\n"
        "Estimates are matched to each voice's stereo image by the best assignment. SI-SDR in dB:\n"
    ),
    "room": (
        "\nRoom: violin and clarinet recorded by two microphones 8 cm apart in a simulated room\n"
        "(RT60 0.25 s, 10 s, 16 kHz). Estimates are matched to each voice's image at the\n"
        "microphones by the best assignment. A hard case for blind BSS: the chorale's voices\n"
        "change notes together, so their activities are far from independent (pyroomacoustics\n"
        "scores the same; BSS Eval SDR is about 1 dB above the mixture). SI-SDR in dB:\n"
    ),
}


#: Scenes that a second process warms up on a first run (cold numba cache, two cores or more):
#: DictSep's kernels are disjoint from the other scenes' and about half of the first run's
#: compilation (measured: the duet scene 75-90 s, all the others together about 60 s).
BACKGROUND_SCENES = ("duet",)


def demo_rows(scene: str) -> list:
    """``(entry, row)`` pairs of one scene, in table order."""
    rows = [(i, entry, row) for i, entry in enumerate(entries()) for row in entry.demo if row.scene == scene]
    rows.sort(key=lambda t: (t[2].order, t[0]))
    return [(entry, row) for _, entry, row in rows]


def _fresh(signal: AudioSignal) -> AudioSignal:
    """A copy of ``signal`` with an empty STFT cache, so every method pays for its own STFTs."""
    return AudioSignal(signal.audio_data, signal.sample_rate, label=signal.label)


def _scene(scene: str, seconds=None):
    """``(mix, sources, inputs)`` of a scene, cut to ``seconds`` when given."""
    from .datasets import load_drum_example, load_example, load_example_notes, load_foreground_background_example

    if scene in ("spatial", "room"):
        from .datasets import load_spatial_example

        mix, sources = load_spatial_example("anechoic" if scene == "spatial" else "reverberant")
        inputs = Inputs(num_sources=len(sources))
    elif scene in ("loop", "drums_voice"):
        mix, sources = load_foreground_background_example("loop" if scene == "loop" else "drums")
        inputs = Inputs(num_sources=len(sources))
    elif scene == "drums":
        mix, sources, onsets, samples = load_drum_example()
        if seconds is not None:
            onsets = {k: t[t < seconds - 0.1] for k, t in onsets.items()}
            samples = {k: v[:1] for k, v in samples.items()}
        inputs = Inputs(num_sources=len(sources), samples=samples, onsets=onsets)
    else:
        names = ("violin", "clarinet") if scene == "duet" else None
        mix, sources = load_example(sources=names) if names else load_example(stereo=scene == "stereo")
        inputs = Inputs(num_sources=len(sources), score=load_example_notes(list(sources)))
    if seconds is not None:
        length = int(seconds * mix.sample_rate)
        mix = mix.truncate(length)
        sources = {k: v.truncate(length) for k, v in sources.items()}
    inputs.references = sources
    return mix, sources, inputs


def _run_row(entry, row, mix, sources, inputs, warmup=False):
    """Build and run one row on fresh copies; return ``(estimates, seconds)``."""
    from .separation import IdealMask

    mix = _fresh(mix)
    inputs = Inputs(**{**inputs.__dict__, "references": {k: _fresh(v) for k, v in sources.items()}})
    if "estimates" in entry.flat_needs:
        inputs.estimates = IdealMask(mix, inputs.references, approach="ibm")()
    if row.use is not None:
        inputs = inputs.only(row.use)
    params = {**row.params, **(entry.quick if warmup else {})}
    start = time.perf_counter()
    estimates = entry.build(mix, inputs, **params)()
    return estimates, time.perf_counter() - start


def _scores(references, estimates, blind=False) -> np.ndarray:
    """Mean-over-channels SI-SDR per reference. Estimates are paired with the references in
    order, or, for ``blind`` methods, by the assignment that maximises the total score (each
    reference gets its best estimate when there are fewer estimates than references)."""
    from .evaluation import assign, si_sdr

    refs = np.stack([r.audio_data for r in references])
    ests = np.stack([e.audio_data for e in estimates])
    if not blind:
        return si_sdr(refs, ests).mean(axis=-1)
    pairwise = si_sdr(*np.broadcast_arrays(refs[:, None], ests[None, :])).mean(axis=-1)
    if len(estimates) < len(references):
        return pairwise.max(axis=1)
    return pairwise[np.arange(len(references)), assign(pairwise)]


def _warm_up(scenes, bar=None, report=False) -> None:
    """Run every row of ``scenes`` once on a short excerpt, with its quick parameters.

    This compiles (or loads from numba's cache) every kernel the timed runs use.
    ``bar``: a progress bar to advance per row; ``report``: print each row's label on
    stdout when done (how the background process of :func:`start_background_warm_up`
    tells the demo where it is).
    """
    for scene in scenes:
        short = _scene(scene, 0.5 if scene == "drums" else 1.0)
        for entry, row in demo_rows(scene):
            if bar is not None:
                bar.set_postfix_str(f"{scene}: {row.label}", refresh=True)
            _run_row(entry, row, *short, warmup=True)
            if bar is not None:
                bar.update(1)
            if report:
                print(f"{scene}: {row.label}", flush=True)


def kernel_cache_is_cold(threshold: float = 0.5) -> bool:
    """True when numba's on-disk cache lacks more than ``threshold`` of sepkit's kernels (a first run).

    Looks only for each kernel's cache index file (nothing is compiled or loaded); a kernel
    whose cache cannot be located counts as missing.
    """
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    from . import kernels

    total = missing = 0
    for info in pkgutil.walk_packages(kernels.__path__, kernels.__name__ + "."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                total += 1
                try:
                    missing += not os.path.exists(obj._cache._cache_file._index_path)
                except AttributeError:  # not cached, or numba's layout changed
                    missing += 1
    return total > 0 and missing > threshold * total


def start_background_warm_up(scenes=BACKGROUND_SCENES):
    """On a first run, warm up ``scenes`` in a second Python process; return it (or None).

    numba compiles one kernel at a time, and a first demo is mostly compilation. A second
    process warming up scenes whose kernels the others do not use compiles them on another
    core into numba's on-disk cache, from which this process then loads them. The process
    prints one line per row done (see :func:`_warm_up`) and nothing else. Returns None
    (nothing started) on a single core or when the cache is already warm.
    """
    import subprocess

    if (os.cpu_count() or 1) < 2 or not kernel_cache_is_cold():
        return None
    code = f"from sepkit.demo import _warm_up; _warm_up({list(scenes)!r}, report=True)"
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _warm_up_all(scenes, disable=None, background=True) -> None:
    """Warm up every row of ``scenes`` before any is timed; on a first run, with a second process."""
    from .core.progress import FIRST_RUN_NOTE, ticking

    helper = start_background_warm_up([s for s in BACKGROUND_SCENES if s in scenes]) if background else None
    later = [s for s in scenes if helper is not None and s in BACKGROUND_SCENES]
    total = sum(len(demo_rows(s)) for s in scenes)
    try:
        with ticking(f"warming up ({FIRST_RUN_NOTE})", total=total, unit="method", disable=disable) as bar:
            if bar.disable and disable is None:  # not a terminal: one line instead of the bar
                print(f"sepkit demo: warming up {total} methods ({FIRST_RUN_NOTE})", file=sys.stderr, flush=True)
            _warm_up([s for s in scenes if s not in later], bar)
            if helper is not None:
                bar.set_postfix_str("waiting for the second process", refresh=True)
                for line in helper.stdout:  # its rows, as they finish
                    bar.set_postfix_str(f"second process: {line.strip()}", refresh=True)
                    bar.update(1)
                helper.wait()
                # its kernels now load from the cache (or compile here if it failed)
                bar.set_postfix_str("loading the second process's kernels", refresh=True)
                _warm_up(later)
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait()


def _table(scene: str, out, write, disable=None) -> None:
    from .core.progress import ticking

    rows = demo_rows(scene)
    if not rows:
        return
    mix, sources, inputs = _scene(scene)
    with ticking(f"{scene}: running", total=len(rows), unit="method", disable=disable) as bar:
        bar.set_postfix_str("first touch", refresh=True)
        _run_row(*rows[0], mix, sources, inputs)  # first-touch allocation at full size
        bar.write(SCENES[scene], file=sys.stdout)
        width = max(len(row.label) for _, row in rows) + 2
        header = f"{'method':<{width}}" + "".join(f"{n:>11}" for n in sources) + f"{'mean':>9}{'time (s)':>10}"
        bar.write(header + "\n" + "-" * len(header), file=sys.stdout)
        for entry, row in rows:
            bar.set_postfix_str(row.label, refresh=True)
            estimates, elapsed = _run_row(entry, row, mix, sources, inputs)
            scores = _scores(list(sources.values()), estimates, row.blind)
            bar.write(f"{row.label:<{width}}" + "".join(f"{s:>11.2f}" for s in scores)
                      + f"{scores.mean():>9.2f}{elapsed:>10.3f}", file=sys.stdout)
            sys.stdout.flush()
            bar.update(1)
            if out:
                write(estimates, os.path.join(out, scene, row.label))


def run_demo(out=None, write=None, progress=None, background=True) -> int:
    """Print the demo tables of every scene; write the estimates under ``out`` when given.

    Parameters
    ----------
    out : str or None
        Folder for ``<scene>/<method>/<source>.wav``.
    write : callable
        ``write(signals, folder)``, used with ``out``.
    progress : bool or None
        Show a progress bar on stderr while the rows warm up (numba compiles its kernels on
        the first run) and run; None: only on a terminal.
    background : bool
        On a first run (cold numba cache) with two cores or more, warm up
        ``BACKGROUND_SCENES`` in a second process meanwhile (:func:`start_background_warm_up`).
        Every row is warmed up before any is timed, so the times do not include compilation
        or the second process.
    """
    disable = None if progress is None else not progress
    scenes = [scene for scene in SCENES if demo_rows(scene)]
    _warm_up_all(scenes, disable, background)
    for scene in scenes:
        _table(scene, out, write, disable)
    if out:
        print(f"\nestimates written under {out}")
    return 0
