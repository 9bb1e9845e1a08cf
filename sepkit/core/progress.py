"""Progress that never goes silent: tqdm bars refreshed by a timer while a long step runs.

numba compiles a kernel on its first call, which can take tens of seconds in a fresh
environment; a plain progress bar would then sit still. :func:`ticking` refreshes its bar every
second from a background thread, so the elapsed time keeps moving.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

__all__ = ["ticking", "FIRST_RUN_NOTE"]

#: What a bar says while it may be compiling.
FIRST_RUN_NOTE = "the first run compiles numba kernels (cached for later runs)"


@contextmanager
def ticking(desc: str, total=None, unit: str = "step", disable=None, interval: float = 1.0, file=None):
    """A tqdm progress bar on stderr whose elapsed time is redrawn every ``interval`` seconds.

    Parameters
    ----------
    desc : str
        What is being done (the bar's prefix).
    total : int or None
        Number of steps, or None for a bar without a total.
    unit : str
        Name of a step.
    disable : bool or None
        True hides the bar; None shows it only on a terminal (tqdm's rule).
    interval : float
        Seconds between redraws while nothing else updates the bar.
    file : file object or None
        Where to draw (default ``sys.stderr``).

    Yields
    ------
    tqdm.tqdm
        The bar: call ``update(1)`` after each step and ``set_postfix_str(text)`` to say which.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False, file=file or sys.stderr,
               dynamic_ncols=True)
    stop = threading.Event()

    def redraw():
        while not stop.wait(interval):
            bar.refresh()

    thread = threading.Thread(target=redraw, name="sepkit-progress", daemon=True)
    if not bar.disable:
        thread.start()
    try:
        yield bar
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        bar.close()
