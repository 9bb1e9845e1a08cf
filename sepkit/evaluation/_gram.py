"""Energies of projections from Gram matrices: the engine of :func:`~sepkit.evaluation.scale_invariant`
and :func:`~sepkit.evaluation.bss_eval_gain`, and their small shared helpers.

Energies obtained by subtraction of Gram entries lose precision when the subtracted terms
are close (very good estimates); wherever the relative cancellation exceeds ``1e3`` the
pair is recomputed from the explicit residual signals.
"""

from __future__ import annotations

import numpy as np

from ..core import EvaluationError

# Relative cancellation above which an energy obtained by subtraction of Gram entries is
# recomputed from explicit signals (1e3: precision ~1e3 * eps * sqrt(n) relative).
_CANCELLATION_LIMIT = 1e3
# Eigenvalues of the references' Gram matrix below this fraction of the largest are
# treated as zero (duplicated, silent or linearly dependent references).
_RCOND = 1e-12


class _GramEngine:
    """Energies of projections of rows of ``Z`` onto the first ``n_ref`` rows.

    ``Z`` has shape ``(n_channels, n_rows, n_samples)``: rows ``0 .. n_ref - 1`` are the
    references, the others estimates (and possibly a mixture). Everything is per channel.
    """

    def __init__(self, Z: np.ndarray, n_ref: int):
        self.Z = Z
        self.S = n_ref
        self.gram = np.stack([z @ z.T for z in Z])  # (C, K, K), BLAS
        self._pinv = None

    @property
    def energies(self) -> np.ndarray:
        """``(C, K)`` energy of every row."""
        return np.einsum("ckk->ck", self.gram)

    def pinv(self):
        """Eigenvectors ``V`` (C, S, S) and inverted eigenvalues (C, S) of the
        references' Gram matrix, with small eigenvalues set to zero (pseudo-inverse)."""
        if self._pinv is None:
            S = self.S
            lam, V = np.linalg.eigh(self.gram[:, :S, :S])
            cut = _RCOND * np.maximum(lam.max(axis=-1, keepdims=True), 0.0)
            keep = lam > cut
            inv = np.zeros_like(lam)
            inv[keep] = 1.0 / lam[keep]
            self._pinv = (V, inv)
        return self._pinv

    def projected_energy(self, P: np.ndarray) -> np.ndarray:
        """``||R^+ ...||``: energy of the projection onto span(references) of vectors
        whose inner products with the references are ``P`` (C, S, ...) -> (C, ...)."""
        V, inv = self.pinv()
        W = np.einsum("cki,ck...->ci...", V, P)
        return np.einsum("ci,ci...->c...", inv, W * W)

    def decompose(self, rows: np.ndarray, projection: bool) -> dict:
        """Energies of the decomposition of row ``rows[j]`` against reference ``j``.

        Returns a dict of ``(C, S)`` arrays: ``rr`` = ||s||^2, ``tt`` = ||t||^2,
        ``rt`` = <s, t>, ``alpha`` = rt / rr, ``err_si`` = ||t - alpha s||^2,
        ``err_sn`` = ||t - s||^2 and, with ``projection``, ``e_i`` = ||P e||^2
        (interference: projection of e = t - alpha s onto the references) and
        ``e_a`` = ||e - P e||^2 (artifacts). Silent pairs (rr or tt zero) give
        meaningless values; the caller masks them.
        """
        S, G = self.S, self.gram
        j = np.arange(S)
        rows = np.asarray(rows)
        rr = G[:, j, j]
        tt = G[:, rows, rows]
        rt = G[:, j, rows]
        out = {"rr": rr.copy(), "tt": tt.copy(), "rt": rt.copy()}
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = rt / rr
            err_si = tt - alpha * rt
            err_sn = tt - 2.0 * rt + rr
            lossy = (tt > _CANCELLATION_LIMIT * err_si) | (tt + rr > _CANCELLATION_LIMIT * err_sn)
            if projection:
                # <r_k, e_j> = <r_k, t_j> - alpha_j <r_k, s_j>
                P = G[:, :S][:, :, rows] - G[:, :S, :S] * alpha[:, None, :]
                P[:, j, j] = 0.0  # <s_j, e_j> = 0 exactly by the choice of alpha
                e_i = self.projected_energy(P)
                e_a = err_si - e_i
                lossy |= tt > _CANCELLATION_LIMIT * e_a
        out.update(alpha=alpha, err_si=err_si, err_sn=err_sn)
        if projection:
            out.update(e_i=e_i, e_a=e_a)
        lossy &= (rr > 0) & (tt > 0)
        for c, jj in zip(*np.nonzero(lossy)):
            self._explicit(out, c, jj, rows[jj], projection)
        return out

    def _explicit(self, out: dict, c: int, j: int, row: int, projection: bool) -> None:
        """Recompute the energies of one (channel, reference) pair from signals."""
        Z = self.Z[c]
        s, t = Z[j], Z[row]
        rr, tt, rt = s @ s, t @ t, s @ t
        alpha = rt / rr
        e = t - alpha * s
        d = t - s
        out["rr"][c, j], out["tt"][c, j], out["rt"][c, j] = rr, tt, rt
        out["alpha"][c, j] = alpha
        out["err_si"][c, j] = e @ e
        out["err_sn"][c, j] = d @ d
        if projection:
            V, inv = self.pinv()
            R = Z[: self.S]
            p = R @ e
            p[j] = 0.0  # exactly orthogonal by the choice of alpha
            b = V[c] @ (inv[c] * (V[c].T @ p))
            interf = b @ R
            artif = e - interf
            out["e_i"][c, j] = interf @ interf
            out["e_a"][c, j] = artif @ artif

    def pairwise_si_sdr(self, first_est: int, n_est: int) -> np.ndarray:
        """SI-SDR (dB) of every (reference, estimate) pair, ``(S, E, C)``, from the Gram
        matrix (NaN where either signal is silent)."""
        S, G = self.S, self.gram
        j = np.arange(S)
        k = np.arange(first_est, first_est + n_est)
        rr = G[:, j, j][:, :, None]
        ee = G[:, k, k][:, None, :]
        re = G[:, :S][:, :, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            target = re * re / rr
            ratio = 10 * np.log10(target / np.maximum(ee - target, 0.0))
        ratio[np.broadcast_to((rr == 0) | (ee == 0), ratio.shape)] = np.nan
        return np.moveaxis(ratio, 0, -1)


def _mean_over_last(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN (NaN where every value is NaN), no warning."""
    valid = ~np.isnan(values)
    count = valid.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        total = np.where(valid, values, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _zero_constant_rows(Z: np.ndarray, energies: np.ndarray, means: np.ndarray) -> bool:
    """Set to zero the rows of ``Z`` that were constant before their mean was removed
    (rounding leaves ~eps-sized residues: they must count as silent). Only rows whose
    energy is negligible next to their removed mean are inspected. True if any changed."""
    n = Z.shape[-1]
    candidates = (energies > 0) & (energies <= 1e-24 * n * means**2)
    changed = False
    for c, k in zip(*np.nonzero(candidates)):
        if np.all(Z[c, k] == Z[c, k, 0]):
            Z[c, k] = 0.0
            changed = True
    return changed


def _rows_for(assignment: np.ndarray, first_est: int) -> np.ndarray:
    return first_est + np.asarray(assignment)


def _sample_rate(*rates) -> int | None:
    known = {int(r) for r in rates if r is not None}
    if len(known) > 1:
        raise EvaluationError(f"references, estimates, mixture and sample_rate disagree: {sorted(known)} Hz")
    return known.pop() if known else None


def _pairs(mask: np.ndarray) -> str:
    """'(reference 0, channel 1), ...' for a (S, C) boolean mask."""
    items = [f"(reference {j}, channel {c})" for j, c in zip(*np.nonzero(mask))]
    return ", ".join(items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")


def _db(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * np.log10(num / den)
