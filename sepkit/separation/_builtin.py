"""TEMPORARY: registrations, to be moved next to each class."""

from .dictsep import DictSep
from .registry import DemoRow, register

register(
    "dictsep", DictSep,
    "DictSep, fast mode: harmonic dictionary learned from the mixture, sparse pursuit "
    "(44.1 kHz material; about 3 s of computing per second of audio on 2 cores)",
    needs=("num_sources",), defaults={"mode": "fast", "verbose": False}, evaluate=False,
    demo=(DemoRow("duet", "DictSep blind (fast, 4 x 2000 steps)", {"runs": 2000, "num_dicts": 4}, blind=True,
                  order=10),),
    quick={"runs": 20, "lifetime": 20, "num_dicts": 2},
)
