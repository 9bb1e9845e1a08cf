"""The demo's warm-up: every row once before any is timed, part of it in a second process on a first run."""

import subprocess
import sys

import sepkit.demo as demo


def test_background_scenes_exist():
    assert set(demo.BACKGROUND_SCENES) <= set(demo.SCENES)
    assert all(demo.demo_rows(scene) for scene in demo.BACKGROUND_SCENES)


def test_warm_up_all_waits_for_the_second_process_then_loads_its_scenes(monkeypatch):
    """The second process's rows are awaited, then warmed up here (from the cache); the others here first."""
    calls = []
    monkeypatch.setattr(demo, "_run_row", lambda entry, row, *args, warmup=False: calls.append((row.scene, warmup)))
    monkeypatch.setattr(demo, "_scene", lambda scene, seconds=None: (None, {}, None))
    helper = []

    def fake_helper(scenes):
        assert list(scenes) == ["duet"]
        lines = "".join(f"print('duet: row {i}')\n" for i in range(3))
        helper.append(subprocess.Popen([sys.executable, "-c", lines], stdout=subprocess.PIPE, text=True))
        return helper[0]

    monkeypatch.setattr(demo, "start_background_warm_up", fake_helper)
    demo._warm_up_all(["chorale", "duet"], disable=True)
    scenes = [scene for scene, _ in calls]
    assert all(warmup for _, warmup in calls)
    n_chorale, n_duet = len(demo.demo_rows("chorale")), len(demo.demo_rows("duet"))
    assert scenes == ["chorale"] * n_chorale + ["duet"] * n_duet  # the helper's scene after it finished
    assert helper[0].poll() == 0


def test_warm_cache_starts_no_second_process(monkeypatch):
    monkeypatch.setattr(demo, "kernel_cache_is_cold", lambda threshold=0.5: False)
    assert demo.start_background_warm_up(["room"]) is None


def test_without_a_terminal_the_warm_up_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(demo, "_run_row", lambda entry, row, *args, warmup=False: None)
    monkeypatch.setattr(demo, "_scene", lambda scene, seconds=None: (None, {}, None))
    demo._warm_up_all(["chorale"], disable=None, background=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warming up" in err and "compiles numba kernels" in err
