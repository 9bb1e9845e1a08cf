"""The ticking progress bar keeps redrawing while a long step (numba compilation) runs."""

import io
import threading

from sepkit.core.progress import ticking


def test_bar_redraws_by_itself_while_a_step_runs_and_stops_after():
    out = io.StringIO()
    redrawn = threading.Event()
    with ticking("compiling", total=1, disable=False, interval=0.01, file=out) as bar:
        calls = []
        real_refresh = bar.refresh

        def counting_refresh(*args, **kwargs):
            calls.append(1)
            if len(calls) >= 3:
                redrawn.set()
            return real_refresh(*args, **kwargs)

        bar.refresh = counting_refresh
        assert redrawn.wait(30)  # the step never touches the bar: the timer thread redraws it
        bar.update(1)
    assert "compiling" in out.getvalue()
    assert not [t for t in threading.enumerate() if t.name == "sepkit-progress"]


def test_disabled_bar_writes_nothing_and_starts_no_thread():
    out = io.StringIO()
    with ticking("quiet", disable=True, file=out):
        assert not [t for t in threading.enumerate() if t.name == "sepkit-progress"]
    assert out.getvalue() == ""
