"""Primitive separators: foreground/background by repetition (REPET, REPET-SIM, 2DFT), and more."""

from .repet import Repet
from .repet_sim import RepetSim
from .ft2d import FT2D
from .hpss import HPSS
from .timbre_clustering import TimbreClustering
from .melody import Melody
