"""``sepkit demo``'s first-run helper: a second process compiling the last scenes' kernels."""

import os
import subprocess
import sys

import sepkit.demo as demo


def test_cold_cache_is_told_from_the_index_files(monkeypatch):
    from sepkit.kernels.hpss import median_rows

    assert demo._has_cache_index(median_rows) == os.path.exists(median_rows._cache._cache_file._index_path)
    assert not demo._has_cache_index(object())
    seen = []
    monkeypatch.setattr(demo, "_has_cache_index", lambda d: seen.append(d) or False)
    assert demo.kernel_cache_is_cold()
    assert median_rows in seen and len(seen) >= 50  # every kernel of sepkit.kernels
    monkeypatch.setattr(demo, "_has_cache_index", lambda d: True)
    assert not demo.kernel_cache_is_cold()


def test_background_warm_up_only_on_a_cold_cache_with_two_cores(monkeypatch):
    started = []

    class FakePopen:
        def __init__(self, command, **kwargs):
            started.append((command, kwargs))

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(demo, "kernel_cache_is_cold", lambda: False)
    assert demo.start_background_warm_up(["room"]) is None
    monkeypatch.setattr(demo, "kernel_cache_is_cold", lambda: True)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert demo.start_background_warm_up(["room"]) is None
    assert started == []
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert isinstance(demo.start_background_warm_up(["room", "loop"]), FakePopen)
    (command, kwargs), = started
    assert command[:2] == [sys.executable, "-c"]
    assert "_warm_up(['room', 'loop'])" in command[2]
    assert kwargs["stdout"] is subprocess.DEVNULL and kwargs["stderr"] is subprocess.DEVNULL


def test_warm_up_runs_every_row_of_the_scenes_in_order(monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "_warmup_input", lambda scene: (scene, None, None))
    monkeypatch.setattr(demo, "_run_row", lambda entry, row, mix, sources, inputs, warmup=False:
                        calls.append((mix, row.label, warmup)))
    demo._warm_up(["drums", "loop"])
    expected = [(scene, row.label, True) for scene in ("drums", "loop") for _, row in demo.demo_rows(scene)]
    assert calls == expected and len(expected) >= 6


def test_the_demo_stops_its_helper_process(monkeypatch):
    class Helper:
        killed = waited = False

        def poll(self):
            return None

        def kill(self):
            self.killed = True

        def wait(self):
            self.waited = True

    helper = Helper()
    seen = []
    monkeypatch.setattr(demo, "start_background_warm_up", lambda scenes: seen.append(scenes) or helper)
    monkeypatch.setattr(demo, "_table", lambda scene, out, write, disable=None: None)
    assert demo.run_demo() == 0
    assert seen == [list(demo.SCENES)[::-1]]
    assert helper.killed and helper.waited
