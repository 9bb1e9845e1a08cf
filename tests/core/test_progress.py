"""The ticking progress bar keeps redrawing while a long step (numba compilation) runs."""

import io
import threading

from sepkit.core.progress import ticking


def test_bar_redraws_while_the_step_runs_and_stops_after():
    out = io.StringIO()
    step_done = threading.Event()
    with ticking("compiling", total=1, disable=False, interval=0.02, file=out) as bar:
        step_done.wait(0.5)  # a step that never updates the bar
        redraws_during_step = out.getvalue().count("\r")
        bar.update(1)
    assert redraws_during_step >= 3  # the elapsed time moved on its own
    assert not [t for t in threading.enumerate() if t.name == "sepkit-progress"]


def test_disabled_bar_writes_nothing_and_starts_no_thread():
    out = io.StringIO()
    with ticking("quiet", disable=True, file=out):
        assert not [t for t in threading.enumerate() if t.name == "sepkit-progress"]
    assert out.getvalue() == ""
