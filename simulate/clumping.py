"""Greedy LD clumping: keep the most significant variant, drop its correlated neighbours.

Variants are visited from the smallest p-value up. Each kept variant removes every remaining
candidate on the same chromosome within ``window`` base pairs whose squared correlation with
it, measured in a fixed reference panel, reaches ``r2``. No two kept variants in one window
are therefore correlated at ``r2`` or more. LD never crosses chromosomes (they are separate
simulations).
"""

from __future__ import annotations

import numpy as np

from allocate import InputError

__all__ = ["clump", "standardised_panel"]


def standardised_panel(dosages: np.ndarray, group_labels: np.ndarray | None = None) -> np.ndarray:
    """Centre (within group, when labels are given) and scale reference dosages per variant.

    Columns that do not vary are left at zero, so their correlation with anything is zero.
    """
    panel = np.array(dosages, dtype=np.float64)  # a copy, whatever the input
    labels = np.zeros(panel.shape[0]) if group_labels is None else np.asarray(group_labels)
    for label in np.unique(labels):
        rows = labels == label
        if rows.all():  # one group: in place, no row gathers (the same sums, the same bits)
            panel -= panel.mean(axis=0)
        else:
            panel[rows] -= panel[rows].mean(axis=0)
    norm = np.sqrt((panel * panel).sum(axis=0))
    varying = norm > 1e-12
    panel /= np.where(varying, norm, 1.0)
    panel[:, ~varying] = 0.0
    return panel


def clump(
    p: np.ndarray,
    chromosome: np.ndarray,
    position: np.ndarray,
    panel: np.ndarray,
    *,
    r2: float = 0.2,
    window: float = 1e6,
    p_max: float = 1.0,
) -> np.ndarray:
    """Indices (into ``p``) of the variants kept by greedy clumping, most significant first.

    Parameters
    ----------
    p : numpy.ndarray
        P-values of the candidates (NaN: never kept).
    chromosome, position : numpy.ndarray
        Where each candidate lies.
    panel : numpy.ndarray, shape (reference samples, candidates)
        Reference dosages standardised by :func:`standardised_panel`: the correlation of two
        columns is their dot product.
    r2 : float
        Squared-correlation threshold in (0, 1].
    window : float
        Half-width in base pairs within which a kept variant removes correlated ones.
    p_max : float
        Only candidates with ``p <= p_max`` take part.
    """
    if not 0 < r2 <= 1:
        raise InputError(f"r2 must be in (0, 1]; got {r2}")
    if not window > 0:
        raise InputError(f"window must be positive; got {window}")
    p = np.asarray(p, dtype=float)
    if panel.shape[1] != p.size:
        raise InputError(f"the panel has {panel.shape[1]} variants; p has {p.size}")
    eligible = np.isfinite(p) & (p <= p_max)
    order = np.flatnonzero(eligible)
    order = order[np.argsort(p[order], kind="stable")]
    # Candidates in (chromosome, position) order, so that a window is one contiguous slice of
    # the reference columns (read in place, not gathered).
    by_place = np.lexsort((position, chromosome))
    place_of = np.empty_like(by_place)
    place_of[by_place] = np.arange(by_place.size)
    chromosome, position = chromosome[by_place], position[by_place]
    columns = np.ascontiguousarray(panel[:, by_place].T)  # one row per candidate
    removed = ~eligible[by_place]
    first = np.searchsorted(chromosome, chromosome, side="left")
    last = np.searchsorted(chromosome, chromosome, side="right")
    kept = []
    for index in order:
        here = place_of[index]
        if removed[here]:
            continue
        kept.append(index)
        removed[here] = True
        start, stop = first[here], last[here]
        low = start + np.searchsorted(position[start:stop], position[here] - window, "left")
        high = start + np.searchsorted(position[start:stop], position[here] + window, "right")
        # einsum, not BLAS: thousands of small products, where threaded BLAS on a busy
        # machine is many times slower.
        correlation = np.einsum("ij,j->i", columns[low:high], columns[here])
        removed[low:high] |= correlation**2 >= r2
    return np.asarray(kept, dtype=np.int64)
