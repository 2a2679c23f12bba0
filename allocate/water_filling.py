"""Slice Tuner's water-filling baseline: spend the budget so group sizes end up as equal as can be.

Tae and Whang (Slice Tuner, SIGMOD 2021) compare against "water filling": acquire data so that
the slices end up with sizes as similar as possible, smallest first, whatever their learning
curves. With per-sample costs the budget buys ``c_g`` per sample: the groups below a common
level are raised to it, the level as high as the budget allows, and what is left goes one
sample at a time to the smallest group that can still afford one and has room in its pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from allocate.errors import InputError
from allocate.strategies import Proposal, StudyState

__all__ = ["water_filling_counts", "WaterFilling"]


def water_filling_counts(
    totals: np.ndarray, costs: np.ndarray, budget: float, pools: np.ndarray | None = None
) -> np.ndarray:
    """New samples per group that bring the smallest groups up to one level within ``budget``.

    Parameters
    ----------
    totals : array of int
        Samples each group has now.
    costs : array of float
        Cost of one new sample per group (> 0).
    budget : float
        What may be spent.
    pools : array, optional
        The most each group can ever have (default unlimited).

    Returns
    -------
    numpy.ndarray of int
        Samples to collect per group; ties go to the group listed first.

    Examples
    --------
    Slice Tuner's published example: ten slices of ``floor(800 / sqrt(10 - i))`` samples, unit
    costs, a budget of 4000.

    >>> have = np.floor(800 / np.sqrt(10 - np.arange(10)))
    >>> water_filling_counts(have, np.ones(10), 4000).tolist()
    [550, 535, 519, 499, 475, 444, 401, 340, 236, 1]
    """
    n = np.asarray(totals, dtype=np.int64)
    costs = np.asarray(costs, dtype=float)
    pools = np.full(len(n), np.inf) if pools is None else np.asarray(pools, dtype=float)
    if len(costs) != len(n) or len(pools) != len(n):
        raise InputError("totals, costs and pools need one entry per group")
    if np.any(costs <= 0) or not np.all(np.isfinite(costs)):
        raise InputError(f"costs must be positive numbers; got {costs.tolist()}")
    if not budget >= 0:
        raise InputError(f"budget must be >= 0; got {budget}")
    most = np.floor(budget / costs.min()) + 1  # no group can take more than the budget buys
    room = np.clip(np.floor(pools) - n, 0, most).astype(np.int64)
    counts = np.zeros(len(n), dtype=np.int64)
    left = float(budget)
    while True:
        open_ = (counts < room) & (costs <= left + 1e-9)
        if not open_.any():
            return counts
        extra = _raise_to_level(n + counts, np.where(open_, costs, 0.0), left,
                                np.where(open_, room - counts, 0))
        if not extra.any():  # no whole level is affordable: one sample to the smallest
            extra[int(np.argmin(np.where(open_, n + counts, np.iinfo(np.int64).max)))] = 1
        counts += extra
        left -= float(costs @ extra)


def _raise_to_level(n: np.ndarray, costs: np.ndarray, budget: float, room: np.ndarray):
    """Samples raising every group with room to the highest whole level ``budget`` buys."""
    def adds(level: int) -> np.ndarray:
        return np.clip(level - n, 0, room)

    active = room > 0
    low = int(n[active].min())
    high = low + int(budget / costs[active].min()) + 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if costs @ adds(middle) <= budget + 1e-9 else (low, middle)
    return adds(low).astype(np.int64)


@dataclass(frozen=True)
class WaterFilling:
    """Slice Tuner's water-filling baseline as a strategy: one batch, the whole budget.

    Usable wherever a strategy is (``run_strategy``, the pool replay); it fits no curves.
    """

    name: str = field(default="water-filling", init=False)

    def settings(self) -> dict:
        return {}

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal:
        counts = water_filling_counts(state.totals, state.costs, state.remaining, state.pools)
        return Proposal(counts=counts, target_totals=state.totals + counts, note=self.name)
