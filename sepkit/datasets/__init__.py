"""Datasets: the bundled example and folder datasets (one folder per item: a mixture and its sources)."""

from .example import EXAMPLE_SOURCES, load_example
from .folder import AUDIO_EXTENSIONS, DatasetItem, FolderDataset

__all__ = ["load_example", "EXAMPLE_SOURCES", "FolderDataset", "DatasetItem", "AUDIO_EXTENSIONS"]
