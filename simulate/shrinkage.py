"""LD-aware shrinkage: LDpred-inf (ridge on summary statistics) by LD block.

Under the infinitesimal model every variant has a small effect, and the posterior mean of the
standardised joint effects in a block given the standardised marginal effects ``b`` is
``(R + lambda I)^-1 b`` with ``R`` the block's LD (correlation) matrix and
``lambda = M / (N h2)`` (``M`` variants, ``N`` training samples; Vilhjalmsson et al., AJHG 2015).
``R`` comes from the fixed reference panel, blocks are runs of consecutive variants on one
chromosome (LD never crosses chromosomes), and the weights are converted back to per-allele
effects with the training standard deviation of each variant.
"""

from __future__ import annotations

import numpy as np

from allocate import InputError
from simulate.association import ScanStatistics

__all__ = ["marginal_correlations", "ldpred_inf_weights", "ld_blocks"]


def marginal_correlations(statistics: ScanStatistics) -> tuple[np.ndarray, np.ndarray]:
    """Group-centred marginal correlation of each variant with ``y``, and its per-allele sd.

    Returns ``(b, sd)``; both are 0 for a variant that does not vary in the training samples.
    """
    active = statistics.n > 0
    n = statistics.n[active][:, None]
    sum_x, sum_y = statistics.sum_x[active], statistics.sum_y[active][:, None]
    sxx = (statistics.sum_x2[active] - sum_x**2 / n).sum(axis=0)
    sxy = (statistics.sum_xy[active] - sum_x * sum_y / n).sum(axis=0)
    syy = float((statistics.sum_y2[active][:, None] - sum_y**2 / n).sum())
    varying = sxx > 1e-9 * statistics.n.sum()
    b = np.where(varying, sxy / np.sqrt(np.where(varying, sxx, 1.0) * syy), 0.0)
    sd = np.where(varying, np.sqrt(sxx / statistics.n.sum()), 0.0)
    return b, sd


def ld_blocks(chromosome: np.ndarray, *, block_size: int = 500) -> list[np.ndarray]:
    """Runs of at most ``block_size`` consecutive variants, never spanning two chromosomes."""
    if block_size < 1:
        raise InputError(f"block_size must be >= 1; got {block_size}")
    blocks = []
    for number in np.unique(chromosome):
        members = np.flatnonzero(chromosome == number)
        blocks.extend(np.array_split(members, max(1, -(-members.size // block_size))))
    return [block for block in blocks if block.size]


def ldpred_inf_weights(
    b: np.ndarray,
    sd: np.ndarray,
    panel: np.ndarray,
    blocks: list[np.ndarray],
    *,
    n: int,
    h2: float,
) -> np.ndarray:
    """Per-allele LDpred-inf weights.

    Parameters
    ----------
    b, sd : numpy.ndarray
        Marginal correlations and per-allele sds (:func:`marginal_correlations`).
    panel : numpy.ndarray
        Standardised reference dosages (columns of unit norm), one column per variant of ``b``.
    blocks : list of numpy.ndarray
        Column indices of each LD block.
    n : int
        Training sample size.
    h2 : float
        Heritability assumed by the prior, in (0, 1].
    """
    if not 0 < h2 <= 1:
        raise InputError(f"h2 must be in (0, 1]; got {h2}")
    if n < 1:
        raise InputError(f"the training sample size must be positive; got {n}")
    penalty = b.size / (n * h2)
    weights = np.zeros(b.size)
    for block in blocks:
        columns = np.asarray(panel[:, block], dtype=np.float64)
        ld = columns.T @ columns
        joint = np.linalg.solve(ld + penalty * np.eye(block.size), b[block])
        weights[block] = np.where(sd[block] > 0, joint / np.where(sd[block] > 0, sd[block], 1), 0)
    return weights
