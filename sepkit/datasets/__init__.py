"""Datasets: the bundled example and folder datasets (one folder per item: a mixture and its sources)."""

from .example import EXAMPLE_SOURCES, load_drum_example, load_example, load_example_notes
from .foreground_background import FOREGROUND_BACKGROUND_SOURCES, LOOP_PERIOD_SAMPLES, load_foreground_background_example
from .spatial import SPATIAL_KINDS, load_spatial_example
from .folder import AUDIO_EXTENSIONS, DatasetItem, FolderDataset

__all__ = ["load_example", "load_example_notes", "EXAMPLE_SOURCES", "load_drum_example", "load_foreground_background_example", "FOREGROUND_BACKGROUND_SOURCES", "LOOP_PERIOD_SAMPLES", "load_spatial_example", "SPATIAL_KINDS", "FolderDataset", "DatasetItem", "AUDIO_EXTENSIONS"]
