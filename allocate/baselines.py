"""The naive allocations every plan is compared with: equal and proportional sampling.

Both scale one common shape to the budget. With shares ``s_g`` (1 for every group for *equal*,
``w_g / sum w`` for *proportional*, the weights read as population shares), a level ``m`` gives
the totals::

    n_g(m) = clip(m * s_g, lower_g, upper_g)        (rounded down to whole samples)

where ``lower_g = max(have_g, min_g, 1)`` and ``upper_g = max_g``. So *equal* brings every group
to the same total ``m`` unless its quota or what it already has holds it above, or its pool below;
*proportional* makes totals proportional to the shares under the same bounds. The level is the
largest whose collection cost fits the budget; what is left over (less than one more step of the
shape) is not spent. Baselines ignore targets; under the target utility the level is instead the
smallest at which every target is met (the budget is then not a limit: the baseline reports what
it would cost).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from allocate.optimise import AllocationProblem, bisect_monotone

__all__ = ["BASELINES", "baseline_totals", "baseline_shares"]

BASELINES: tuple[str, ...] = ("equal", "proportional")


def baseline_shares(problem: AllocationProblem, name: str) -> np.ndarray:
    """The shares of baseline ``name`` ("equal" or "proportional")."""
    if name == "equal":
        return np.ones(problem.size)
    return problem.normalised_weight


def _totals_at(problem: AllocationProblem, shares: np.ndarray, integer: bool
               ) -> Callable[[float], np.ndarray]:
    lower = np.ceil(problem.lower - 1e-9) if integer else problem.lower

    def totals(level: float) -> np.ndarray:
        raw = level * shares
        if integer:
            raw = np.floor(raw + 1e-9)
        return np.clip(raw, lower, problem.upper)

    return totals


def baseline_totals(problem: AllocationProblem, name: str, *, integer: bool) -> np.ndarray | None:
    """The totals of baseline ``name`` on ``problem`` (see the module docstring).

    Returns ``None`` only under the target utility when the shape cannot meet every target
    within the pools.
    """
    shares = baseline_shares(problem, name)
    totals = _totals_at(problem, shares, integer)
    positive = shares > 0
    if problem.rule.form == "cost":  # the least level that meets every target
        def meets(level: float) -> bool:
            return problem.meets_caps(totals(level))
        high = 1.0
        while not meets(high):
            if np.all(totals(high)[positive] >= problem.upper[positive]):
                return None
            high *= 2.0
        return totals(bisect_monotone(meets, 0.0, high, want_high=False))

    def fits(level: float) -> bool:
        return problem.spend(totals(level)) <= problem.budget

    high = 1.0
    while fits(high):
        if np.all(totals(high)[positive] >= problem.upper[positive]):
            return totals(high)
        high *= 2.0
    if not integer:
        return totals(bisect_monotone(fits, 0.0, high, want_high=True))
    # whole samples change only where some level * share crosses a whole number: bisect
    # roughly, then step from breakpoint to breakpoint while the next one still fits
    level = bisect_monotone(fits, 0.0, high, want_high=True, rel_tol=1e-6)
    share = shares[positive]
    for _ in range(64):
        following = float(np.min((np.floor(level * share + 1e-9) + 1.0 - 1e-9) / share))
        if not following > level:  # no room left in floating point
            break
        if not fits(following):
            return totals(level)
        level = following
    return totals(bisect_monotone(fits, level, high, want_high=True))
