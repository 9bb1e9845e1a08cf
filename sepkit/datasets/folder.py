"""Folder datasets: one sub-folder per item holding a mixture and one file per source.

Two layouts are read as they are:

* MUSDB18-HQ: ``<root>/<track>/mixture.wav`` with ``vocals.wav``, ``drums.wav``,
  ``bass.wav`` and ``other.wav``: ``FolderDataset(root, mixture='mixture.wav')``.
* Chorales (``chorales-dev``): ``<root>/<piece>/mix.wav`` with ``violin.wav``,
  ``clarinet.wav``, ``saxophone.wav``, ``bassoon.wav``, plus files that are not sources
  (``mix_violin_clarinet.wav``, ``*.mid``, ``notes.csv``, ``metadata.json``):
  ``FolderDataset(root)`` or, to fix the source order,
  ``FolderDataset(root, sources=['violin', 'clarinet', 'saxophone', 'bassoon'])``.
"""

from __future__ import annotations

import fnmatch
import os
from typing import NamedTuple

from ..core import AudioSignal, DatasetError, SepkitError

__all__ = ["FolderDataset", "DatasetItem", "AUDIO_EXTENSIONS"]

#: File extensions taken as audio (lower case); every other file is ignored.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".au", ".caf", ".w64", ".mp3")

_GLOB_CHARS = set("*?[")


class DatasetItem(NamedTuple):
    """One item of a dataset.

    Attributes
    ----------
    name : str
        The item's folder name.
    mixture : AudioSignal
        The mixture, labelled ``'mixture'``'s file stem.
    sources : dict of str to AudioSignal
        The true sources, in dataset order, keyed and labelled by source name.
    """

    name: str
    mixture: AudioSignal
    sources: dict


def _is_audio(filename: str) -> bool:
    return os.path.splitext(filename)[1].lower() in AUDIO_EXTENSIONS


class FolderDataset:
    """A dataset stored as one folder per item, each holding a mixture and its sources.

    Items are the sub-folders of ``root`` (sorted by name; hidden folders are skipped).
    Nothing is read when the dataset is built: each item's audio is read and checked
    when the item is accessed, so one broken item does not stop a whole evaluation
    (see :func:`sepkit.evaluation.evaluate`).

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding one sub-folder per item.
    mixture : str
        File name of the mixture in every item folder, with or without extension
        (``'mix.wav'``, ``'mixture.wav'``, ``'mix'``).
    sources : None, list of str, or str
        Which files are the sources:

        * ``None`` (default): every audio file of the folder (extensions in
          :data:`AUDIO_EXTENSIONS`) except the mixture and *other mixtures*, i.e. files
          whose stem starts with the mixture's stem followed by ``'_'`` (such as
          ``mix_violin_clarinet.wav`` beside ``mix.wav``), sorted by name.
        * a list of source names, with or without extension (``['vocals', 'drums',
          'bass', 'other']``): exactly these, in this order; each must exist in every item.
        * a glob pattern (``'*.flac'``, ``'stem_*.wav'``): the matching audio files except
          the mixture, sorted by name.

        Source labels are the file stems.

    Attributes
    ----------
    root : str
    names : list of str
        Item names (folder names), in dataset order.

    Raises
    ------
    DatasetError
        If ``root`` is not a folder or holds no item folder, or an argument is invalid.
        Accessing an item raises :class:`DatasetError` naming the item and the file when
        the mixture or a source is missing or unreadable, holds NaN/inf samples, or the
        files disagree in sample rate, channel count or length.

    Examples
    --------
    >>> ds = FolderDataset("chorales-dev", sources=["violin", "clarinet", "saxophone", "bassoon"])
    >>> name, mix, sources = ds[0]
    >>> name, list(sources)
    ('bwv255', ['violin', 'clarinet', 'saxophone', 'bassoon'])
    """

    def __init__(self, root, mixture: str = "mix.wav", sources=None):
        if not isinstance(root, (str, os.PathLike)):
            raise DatasetError(f"root must be a path to a folder, got {root!r}")
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise DatasetError(f"dataset folder {self.root!r} does not exist or is not a folder")
        if not isinstance(mixture, str) or not mixture or os.sep in mixture or any(c in mixture for c in _GLOB_CHARS):
            raise DatasetError(f"mixture must be a file name such as 'mix.wav', got {mixture!r}")
        self.mixture = mixture
        if sources is not None and not isinstance(sources, str):
            if not isinstance(sources, (list, tuple)) or not sources or not all(
                isinstance(s, str) and s for s in sources
            ):
                raise DatasetError(
                    f"sources must be None, a non-empty list of names or a glob pattern, got {sources!r}"
                )
            stems = [self._stem(s) for s in sources]
            if len(set(stems)) != len(stems):
                raise DatasetError(f"sources must be distinct, got {list(sources)!r}")
            if self._stem(mixture) in stems:
                raise DatasetError(f"the mixture {mixture!r} cannot also be a source")
            sources = list(sources)
        elif isinstance(sources, str) and not sources:
            raise DatasetError("sources must not be an empty string")
        self.sources = sources
        self.names = sorted(
            entry.name for entry in os.scandir(self.root) if entry.is_dir() and not entry.name.startswith(".")
        )
        if not self.names:
            raise DatasetError(f"dataset folder {self.root!r} holds no item folder (one sub-folder per item)")

    @staticmethod
    def _stem(filename: str) -> str:
        base, ext = os.path.splitext(filename)
        return base if ext.lower() in AUDIO_EXTENSIONS else filename

    def __repr__(self) -> str:
        return (
            f"FolderDataset({self.root!r}, mixture={self.mixture!r}, sources={self.sources!r}) "
            f"with {len(self)} items"
        )

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, key) -> DatasetItem:
        """Load one item by position or by name: ``(name, mixture, {label: source})``."""
        return self.load(key)

    def _index(self, key) -> int:
        if isinstance(key, str):
            try:
                return self.names.index(key)
            except ValueError:
                raise DatasetError(f"no item named {key!r} in {self.root!r}") from None
        if isinstance(key, bool) or not hasattr(key, "__index__"):
            raise DatasetError(f"items are indexed by position or name, got {key!r}")
        index = key.__index__()
        if not -len(self) <= index < len(self):
            raise IndexError(f"item index {index} out of range for {len(self)} items")
        return index % len(self)

    # -- files ------------------------------------------------------------------------

    def _find(self, folder: str, name: str, files: list[str], what: str) -> str:
        """The file of ``folder`` called ``name`` (with extension) or ``name.<audio ext>``."""
        if name in files:
            return name
        candidates = sorted(f for f in files if _is_audio(f) and os.path.splitext(f)[0] == name)
        if len(candidates) == 1:
            return candidates[0]
        item = os.path.basename(folder)
        if not candidates:
            raise DatasetError(f"item {item!r}: {what} file {name!r} not found in {folder!r}")
        raise DatasetError(f"item {item!r}: {what} {name!r} is ambiguous, found {candidates}")

    def files(self, key) -> tuple[str, dict[str, str]]:
        """Paths of an item's mixture and sources, without reading any audio.

        Returns
        -------
        mixture : str
            Path of the mixture file.
        sources : dict of str to str
            Source label to path, in dataset order.

        Raises
        ------
        DatasetError
            If the item folder, the mixture or a source is missing, or no source is found.
        """
        name = self.names[self._index(key)]
        folder = os.path.join(self.root, name)
        try:
            files = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
        except OSError as err:
            raise DatasetError(f"item {name!r}: cannot list folder {folder!r}: {err}") from None
        mixture = self._find(folder, self.mixture, files, "mixture")
        mix_stem = os.path.splitext(mixture)[0]
        if self.sources is None:
            chosen = [
                f for f in files
                if _is_audio(f) and f != mixture and not f.startswith(mix_stem + "_") and not f.startswith(".")
            ]
        elif isinstance(self.sources, str):
            chosen = [f for f in files if fnmatch.fnmatch(f, self.sources) and _is_audio(f) and f != mixture]
        else:
            chosen = [self._find(folder, source, files, "source") for source in self.sources]
        if not chosen:
            raise DatasetError(
                f"item {name!r}: no source file found in {folder!r} "
                f"(sources={self.sources!r}, mixture={mixture!r})"
            )
        labels = [os.path.splitext(f)[0] for f in chosen]
        return os.path.join(folder, mixture), {label: os.path.join(folder, f) for label, f in zip(labels, chosen)}

    # -- loading ----------------------------------------------------------------------

    def load(self, key) -> DatasetItem:
        """Read and check one item (by position or name).

        Returns
        -------
        DatasetItem
            ``(name, mixture, sources)``; ``sources`` maps each label to its signal.

        Raises
        ------
        DatasetError
            Naming the item and the file, for a missing or unreadable file, NaN/inf
            samples, or a sample rate, channel count or length that differs from the
            mixture's.
        """
        name = self.names[self._index(key)]
        mix_path, source_paths = self.files(name)

        def read(path, label):
            try:
                return AudioSignal(path, label=label)
            except SepkitError as err:
                raise DatasetError(f"item {name!r}: cannot use {os.path.basename(path)!r}: {err}") from err

        mix = read(mix_path, os.path.splitext(os.path.basename(mix_path))[0])
        sources = {}
        for label, path in source_paths.items():
            signal = read(path, label)
            file = os.path.basename(path)
            for what, got, expected, unit in (
                ("sample rate", signal.sample_rate, mix.sample_rate, " Hz"),
                ("channel count", signal.num_channels, mix.num_channels, ""),
                ("length", signal.signal_length, mix.signal_length, " samples"),
            ):
                if got != expected:
                    raise DatasetError(
                        f"item {name!r}: {what} of {file!r} is {got}{unit}, but the mixture "
                        f"{os.path.basename(mix_path)!r} has {expected}{unit}"
                    )
            sources[label] = signal
        return DatasetItem(name, mix, sources)
