"""Spatial separators: where each source sits in a stereo or multichannel mixture (DUET, PROJET, spatial clustering)."""
from .duet import Duet
from .spatial_clustering import SpatialClustering
from .projet import Projet
