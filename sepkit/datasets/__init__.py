"""Datasets: the bundled example and folder datasets (one folder per item: a mixture and its sources)."""

from .example import EXAMPLE_SOURCES, load_drum_example, load_example, load_example_notes
from .folder import AUDIO_EXTENSIONS, DatasetItem, FolderDataset

__all__ = ["load_example", "load_example_notes", "EXAMPLE_SOURCES", "load_drum_example", "FolderDataset", "DatasetItem", "AUDIO_EXTENSIONS"]
