"""REPET-SIM: repeating background by the median of each frame's most similar frames."""

from __future__ import annotations

import numpy as np

from ...core import SeparationError
from ...core.validation import check_int, check_real
from ..base import MaskSeparationBase
from ..registry import DemoRow, register
from .repet import (
    EPSILON,
    ForegroundBackgroundSignals,
    check_cutoff,
    empty_mask_like,
    foreground_background_masks,
    nussl_magnitude,
)

__all__ = ["RepetSim"]


class RepetSim(ForegroundBackgroundSignals, MaskSeparationBase):
    """REPET-SIM (Rafii and Pardo 2012): REPET for repetitions that are not periodic.

    Frames are compared by the cosine similarity of their magnitude spectra (the channels'
    magnitudes averaged). For every frame, the most similar frames at least
    ``min_distance_between_frames`` apart are picked greedily; the median of their
    magnitude spectra models the repeating background of that frame, and
    ``min(model, V) / V`` is the background mask (nussl's algorithm and defaults).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture.
    similarity_threshold : float
        In [0, 1]: frames whose similarity, min-max normalised over the row, is below it are
        never picked (as in nussl, the threshold applies to the normalised row, not to the cosine).
    min_distance_between_frames : float
        Minimum distance between picked frames, in seconds (kept fractional in frames,
        ``seconds * sample_rate / hop``).
    max_repeating_frames : int
        Number of picks per frame (>= 1), the frame itself included: at most
        ``max_repeating_frames - 1`` neighbours.
    high_pass_cutoff : float
        Bins below this frequency (Hz) go entirely to the background.
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        ``'binary'`` keeps the bins whose soft value exceeds ``mask_threshold``.
    mask_threshold : float
        In (0, 1).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Attributes
    ----------
    similarity_matrix : numpy.ndarray, shape (n_frames, n_frames)
        After :meth:`run`: the cosine similarity of the frames.
    similarity_indices : list of numpy.ndarray of int
        After :meth:`run`: the neighbours of every frame, most similar first.

    Notes
    -----
    Output order: ``[background, foreground]``. A silent frame has no neighbours (nussl
    normalises its zero row to NaN and picks arbitrary frames); it goes to the background.
    Frame ``i`` is always its own first pick: nussl drops the first pick as "itself", which
    is an earlier identical frame when similarities tie at 1 (exact digital repetition).

    References
    ----------
    Z. Rafii, B. Pardo, "Music/voice separation using the similarity matrix", ISMIR 2012.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> background, foreground = RepetSim(mix)()
    """

    def __init__(self, input_audio_signal, similarity_threshold=0.0, min_distance_between_frames=1.0,
                 max_repeating_frames=100, high_pass_cutoff=100.0, mask_type="soft", mask_threshold=0.5,
                 stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        self.similarity_threshold = check_real(
            "similarity_threshold", similarity_threshold, 0.0, 1.0, error=SeparationError)
        self.min_distance_between_frames = check_real(
            "min_distance_between_frames", min_distance_between_frames, 0.0, error=SeparationError)
        self.max_repeating_frames = check_int("max_repeating_frames", max_repeating_frames, 1, error=SeparationError)
        self.high_pass_cutoff = check_cutoff(self, high_pass_cutoff)
        self.source_labels = ["background", "foreground"]
        self.similarity_matrix = None
        self.similarity_indices = None

    @staticmethod
    def compute_similarity_matrix(matrix) -> np.ndarray:
        """Cosine similarity of the rows of ``matrix`` (nussl's formula; zero rows give zeros).

        Parameters
        ----------
        matrix : numpy.ndarray, shape (n_items, n_features)
            For frames: the magnitude spectrogram transposed, ``(n_frames, n_freq)``.

        Returns
        -------
        numpy.ndarray of float64, shape (n_items, n_items)
        """
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise SeparationError(f"matrix must be 2-D (n_items, n_features), got shape {matrix.shape}")
        gram = matrix @ matrix.T
        diagonal = np.diag(gram).copy()
        inv_mag = np.zeros_like(diagonal)
        positive = diagonal > 0
        inv_mag[positive] = np.sqrt(1.0 / diagonal[positive])
        cosine = gram * inv_mag
        cosine = cosine.T * inv_mag
        return cosine

    def get_similarity_matrix(self, magnitude=None) -> np.ndarray:
        """The frames' cosine similarity matrix, shape ``(n_frames, n_frames)`` (works before :meth:`run`).

        ``magnitude``: the mixture's magnitude on nussl's scale, when already at hand.
        """
        if magnitude is None:
            magnitude = nussl_magnitude(self)
        mean = magnitude[:, :, 0] if magnitude.shape[2] == 1 else np.mean(magnitude, axis=2)
        self.similarity_matrix = self.compute_similarity_matrix(mean.T)
        return self.similarity_matrix

    def min_distance_frames(self) -> float:
        """``min_distance_between_frames`` in frames, unrounded (nussl's conversion)."""
        return self.min_distance_between_frames * (self.sample_rate / self.stft_params.hop_length)

    def find_similarity_indices(self, similarity) -> tuple[np.ndarray, np.ndarray]:
        """Neighbours of every frame from a similarity matrix.

        Returns
        -------
        neighbours : numpy.ndarray of int64, shape (n_frames, K)
            Row ``t`` holds the neighbours of frame ``t`` in its first ``counts[t]`` entries.
        counts : numpy.ndarray of int64, shape (n_frames,)
        """
        from ...kernels.repet import similarity_peaks

        similarity = np.ascontiguousarray(similarity, dtype=np.float64)
        n_frames = similarity.shape[0]
        neighbours = np.zeros((n_frames, max(self.max_repeating_frames - 1, 1)), dtype=np.int64)
        counts = np.zeros(n_frames, dtype=np.int64)
        similarity_peaks(similarity, self.min_distance_frames(), self.similarity_threshold,
                         self.max_repeating_frames, neighbours, counts)
        return neighbours, counts

    def run(self):
        """Similarity matrix, neighbours of every frame, median model and masks.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``[background, foreground]``, each ``(n_freq, n_frames, n_channels)``.
        """
        from ...kernels.repet import neighbour_mask

        magnitude = nussl_magnitude(self)
        similarity = self.get_similarity_matrix(magnitude)
        neighbours, counts = self.find_similarity_indices(similarity)
        self.similarity_indices = [neighbours[t, :counts[t]].copy() for t in range(counts.size)]
        background = empty_mask_like(magnitude)
        for ch in range(magnitude.shape[2]):
            frames = np.ascontiguousarray(magnitude[:, :, ch].T)  # (T, F): a view of sepkit's STFT layout
            neighbour_mask(frames, neighbours, counts, EPSILON, background[:, :, ch].T)
        self.result_masks = foreground_background_masks(self, background)
        return self.result_masks


register(
    "repet-sim", RepetSim, "repeating background by the median of each frame's most similar frames (REPET-SIM)",
    quick={"min_distance_between_frames": 0.1, "max_repeating_frames": 5},
    demo=(DemoRow("loop", "RepetSim", order=11),),
)
