"""Allocation references built straight from a study's groups, independent of the library.

Nothing here touches ``AllocationProblem`` or the solvers: bounds, costs and objectives are read
from each :class:`GroupSpec` and its :class:`Curve` as the study file documents them, baselines
follow the definitions in :mod:`allocate.baselines` by exact integer arithmetic, and the whole-
sample optimum is found by enumerating every affordable allocation.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from allocate.study_file import GroupSpec


def bounds(groups: tuple[GroupSpec, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each group's least and largest total: ``max(have, min, 1)`` and its pool ``max``."""
    lower = np.array([max(g.have, g.min, 1) for g in groups], dtype=float)
    upper = np.array([g.max for g in groups], dtype=float)
    return lower, upper


def spend(groups: tuple[GroupSpec, ...], totals: np.ndarray) -> np.ndarray:
    """The cost of reaching ``totals`` (rows of allocations, or one allocation)."""
    cost = np.array([g.cost for g in groups])
    have = np.array([g.have for g in groups], dtype=float)
    return (np.asarray(totals, dtype=float) - have) @ cost


def losses(groups: tuple[GroupSpec, ...], totals: np.ndarray) -> np.ndarray:
    """Each group's loss at ``totals`` (last axis: groups), the pooled size the row's sum."""
    totals = np.asarray(totals, dtype=float)
    pooled = totals.sum(axis=-1)
    return np.stack([g.curve.loss(totals[..., i], pooled) for i, g in enumerate(groups)], axis=-1)


def objective(groups, totals, utility: str, p: float = 2.0) -> np.ndarray:
    """The utility's objective in the loss sense (docs/method.md), per row of ``totals``.

    weighted: ``sum w L / sum w``; maximin: the worst loss (for scores ``S = score_max - L``,
    minus the worst score); power-mean:
    ``(sum w L^p / sum w)^(1/p)``; target: the spend.
    """
    if utility == "target":
        return spend(groups, totals)
    weight = np.array([g.weight for g in groups])
    value = losses(groups, totals)
    if utility == "maximin":  # the worst loss, or minus the worst score for score curves
        best = np.array([g.curve.score_max if g.curve.sense == "score" else 0.0 for g in groups])
        return (value - best).max(axis=-1)
    if utility == "power-mean":
        return ((value**p) @ weight / weight.sum()) ** (1.0 / p)
    return value @ weight / weight.sum()


def targets_met(groups, totals) -> np.ndarray:
    """Per row of ``totals``: every group with a target reaches it (its loss at most the
    target's loss)."""
    limit = np.array([math.inf if g.target is None else g.target_loss for g in groups])
    return np.all(losses(groups, totals) <= limit * (1 + 1e-12), axis=-1)


def all_allocations(groups, budget: float) -> np.ndarray:
    """Every whole-sample allocation within the bounds whose cost is at most ``budget``."""
    lower, upper = bounds(groups)
    cost = np.array([g.cost for g in groups])
    left = budget - spend(groups, lower)
    assert left >= 0, "the quotas alone exceed the budget"
    rows = np.zeros((1, 0))
    for i in range(len(groups)):
        most = int(min(upper[i] - lower[i], math.floor(left / cost[i] + 1e-9)))
        room = left - rows @ cost[:i]
        grown = []
        for extra in range(most + 1):
            fits = rows[room >= extra * cost[i] - 1e-9]
            grown.append(np.column_stack([fits, np.full(len(fits), extra)]))
        rows = np.concatenate(grown)
    return lower + rows


def brute_force(groups, budget: float, utility: str, p: float = 2.0) -> tuple[float, np.ndarray]:
    """The best objective over every affordable whole-sample allocation meeting the targets."""
    totals = all_allocations(groups, budget)
    totals = totals[targets_met(groups, totals)]
    assert len(totals), "no allocation meets the targets"
    values = objective(groups, totals, utility, p)
    best = int(np.argmin(values))
    return float(values[best]), totals[best]


def _shape(groups, name: str):
    """The baseline's exact shares and its totals at a level (see :func:`baseline`)."""
    lower, upper = bounds(groups)
    if name == "equal":
        share = [Fraction(1)] * len(groups)
    else:
        weights = [Fraction(int(g.weight)) for g in groups]
        assert all(w == g.weight for w, g in zip(weights, groups, strict=True))
        share = [w / sum(weights) for w in weights]

    def totals(level: Fraction) -> np.ndarray:
        raw = np.array([math.floor(level * s) for s in share], dtype=float)
        return np.clip(raw, lower, upper)

    return share, totals


def _levels(share, most: float) -> list[Fraction]:
    """Every level at which some total ``floor(m * s_g)`` reaches a whole number up to
    ``most``."""
    levels = {Fraction(0)}
    for s in share:
        if s > 0:
            levels.update(Fraction(k) / s for k in range(int(most) + 2))
    return sorted(levels)


def baseline(groups, name: str, budget: float) -> tuple[np.ndarray, np.ndarray]:
    """The whole-sample ``name`` baseline by its definition, in exact arithmetic.

    Totals at level ``m`` are ``clip(floor(m * s_g), lower_g, upper_g)`` with shares ``s_g`` 1
    (equal) or ``w_g / sum w`` (proportional); the level is the largest whose cost fits the
    budget. Totals only change where some ``m * s_g`` crosses a whole number, so the largest
    affordable of those levels gives the baseline. Returns its totals and those of the next
    level (which some round-off tolerance may reach in part at a level shared by two groups).
    Weights must be whole numbers (exact shares).
    """
    lower, upper = bounds(groups)
    cost = np.array([g.cost for g in groups])
    share, totals = _shape(groups, name)
    levels = _levels(share, min(upper.max(), budget / cost.min() + lower.max()))
    last = max(k for k, m in enumerate(levels) if spend(groups, totals(m)) <= budget * (1 + 1e-12))
    after = levels[min(last + 1, len(levels) - 1)]
    return totals(levels[last]), totals(after)


def target_baseline(groups, name: str, most: float) -> np.ndarray | None:
    """Under the target utility: the ``name`` shape at the least level that meets every target
    (``None`` if no level up to totals of ``most`` does)."""
    share, totals = _shape(groups, name)
    for level in _levels(share, most):
        if targets_met(groups, totals(level)):
            return totals(level)
    return None
