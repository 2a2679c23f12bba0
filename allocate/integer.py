"""Whole-sample allocation: exact methods for separable studies, round-and-repair otherwise.

Separable studies (every ``t == 0``), where a group's loss depends on its own total only:

- **target**: each group's least total reaching its target is found group by group: exact.
  Targets under the other utilities are the same per-group lower bounds.
- **maximin**: the least cost of holding every loss at or below a level ``tau`` is reached by
  giving each group its least total ``n_g(tau)`` meeting the level, and that cost only grows as
  ``tau`` falls. The optimum is the lowest attainable level whose cost fits the budget: found by
  bisection on ``tau``, then by raising the worst group one sample at a time (each step moves to
  the next attainable level) until the worst group is at its pool or unaffordable: exact for any
  costs. Budget that cannot lower the worst loss is then spent by the weighted priority rule
  (it lowers other groups' losses and never raises the worst).
- **weighted** and **power-mean** minimise a sum of per-group convex terms (``w L`` or
  ``w L^p``). With equal costs the priority rule (next sample to the largest gain) is exact
  (the classic result for separable convex resource allocation). With unequal costs the
  problem is a non-linear knapsack and the priority rule by gain per unit cost is *not* exact
  (a cheap group can use up the budget a dear one needed); when the costs share a common unit
  and the problem is small enough, an exact dynamic programme over budget units is used, and
  otherwise the priority rule by gain per cost (flagged as not proven optimal).

Non-separable studies are solved continuously, rounded down and repaired: targets restored, then
the leftover budget spent one sample at a time where the true objective improves most per unit
of cost.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from allocate.errors import InfeasibleStudy
from allocate.optimise import AllocationProblem

__all__ = [
    "IntegerSolution",
    "solve_separable",
    "round_and_repair",
    "least_totals_for_levels",
]

#: Largest (groups x choices x budget units) workload the exact dynamic programme takes on.
DP_WORK_LIMIT = 30_000_000


@dataclass(frozen=True)
class IntegerSolution:
    """Whole-sample totals ``n``, the method that found them and whether it is proven exact."""

    n: np.ndarray
    method: str
    exact: bool


def _own_loss(problem: AllocationProblem, n: np.ndarray, index: np.ndarray | slice) -> np.ndarray:
    return problem.c[index] + problem.a[index] * np.asarray(n, dtype=float) ** (-problem.b[index])


def least_totals_for_levels(problem: AllocationProblem, levels: np.ndarray) -> np.ndarray:
    """Each group's least whole total whose own loss is at most ``levels`` (separable curves).

    Returns ``inf`` where the level is at or below the asymptote ``c``. The answer is checked by
    evaluating the loss itself, so it agrees with :meth:`AllocationProblem.losses` exactly.
    """
    levels = np.asarray(levels, dtype=float)
    room = levels - problem.c
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(room > 0, (problem.a / np.where(room > 0, room, 1.0)) ** (1 / problem.b),
                         np.inf)
    out = np.full(problem.size, np.inf)
    finite = np.isfinite(guess) & (guess < 1e15)
    index = np.flatnonzero(finite)
    m = np.maximum(np.ceil(guess[index]), 1.0)
    all_groups = np.arange(problem.size)
    for _ in range(3):  # correct floating round-off in the closed form, both ways
        too_low = _own_loss(problem, m, all_groups[index]) > levels[index]
        m = m + too_low
        smaller = np.maximum(m - 1, 1.0)
        can_drop = (m > 1) & (_own_loss(problem, smaller, all_groups[index]) <= levels[index])
        m = m - can_drop
    out[index] = m
    return out


def _start(problem: AllocationProblem) -> np.ndarray:
    """The least whole totals: quotas, one sample each, and (separable) every target."""
    start = np.ceil(problem.lower - 1e-9)
    if np.any(np.isfinite(problem.cap)):
        needed = least_totals_for_levels(problem, problem.cap)
        start = np.where(np.isfinite(problem.cap), np.maximum(start, needed), start)
    if np.any(start > problem.upper) or problem.spend(start) > problem.budget * (1 + 1e-12):
        raise InfeasibleStudy("the quotas and targets cannot all be met within the budget")
    return start


def solve_separable(problem: AllocationProblem) -> IntegerSolution:
    """The best whole-sample totals of a separable problem (see the module docstring).

    Parameters
    ----------
    problem : AllocationProblem
        A separable problem whose quotas and targets fit in the budget and pools.

    Returns
    -------
    IntegerSolution
    """
    start = _start(problem)
    if problem.utility == "target":
        return IntegerSolution(start, "least totals per target", exact=True)
    if problem.utility == "maximin":
        n = _lowest_level(problem, start)
        left = problem.budget - problem.spend(n)
        n = _priority_fill(problem, n, left, _values_function(problem, "weighted"))
        return IntegerSolution(n, "level bisection + worst-group steps", exact=True)
    values = _values_function(problem, problem.utility)
    left = problem.budget - problem.spend(start)
    if np.ptp(problem.cost) <= 1e-12 * problem.cost.max():
        return IntegerSolution(_priority_fill(problem, start, left, values),
                               "priority rule (equal costs)", exact=True)
    dp = _dynamic_programme(problem, start, left, values)
    if dp is not None:
        return IntegerSolution(dp, "dynamic programme over budget units", exact=True)
    return IntegerSolution(_priority_fill(problem, start, left, values),
                           "priority rule by gain per cost", exact=False)


def _values_function(problem: AllocationProblem, utility: str):
    """Per-group terms ``v_g(m)`` whose sum the utility minimises (separable problems)."""
    weight = problem.normalised_weight
    power = problem.p if utility == "power-mean" else 1.0

    def values(m: np.ndarray, index: np.ndarray) -> np.ndarray:
        return weight[index] * _own_loss(problem, m, index) ** power

    return values


def _units_above(problem, start, cap_total, ratio, values) -> np.ndarray:
    """Per group, the largest total in ``[start, cap_total]`` whose every step's gain per unit
    cost is at least ``ratio`` (gains shrink with size, so a binary search finds it)."""
    index = np.arange(problem.size)
    low, high = start.copy(), cap_total.copy()  # answer in [low, high]
    while np.any(high > low):
        mid = np.maximum(np.floor((low + high + 1) / 2), low + 1)
        mid = np.minimum(mid, np.maximum(high, low + 1))
        gain = values(mid - 1, index) - values(mid, index)
        ok = (gain >= ratio * problem.cost) & (mid <= high)
        low = np.where(ok, mid, low)
        high = np.where(ok, high, mid - 1)
    return low


def _priority_fill(problem, n, left, values) -> np.ndarray:
    """Spend ``left`` one sample at a time on the largest gain per unit cost, skipping groups
    whose next sample no longer fits. A threshold search first jumps to where the greedy order
    would be when the budget nearly runs out, so large budgets take few steps."""
    n = np.asarray(n, dtype=float).copy()
    index = np.arange(problem.size)
    cap_total = np.minimum(problem.upper, n + np.floor(max(left, 0.0) / problem.cost + 1e-9))
    open_ = cap_total > n
    if not np.any(open_):
        return n
    first_ratio = np.where(open_, (values(n, index) - values(n + 1, index)) / problem.cost, 0.0)
    high_ratio, low_ratio = float(first_ratio.max()) * 2.0, 0.0
    if high_ratio <= 0:
        return n
    best = n
    for _ in range(100):
        mid = 0.5 * (high_ratio + low_ratio)
        candidate = _units_above(problem, n, cap_total, mid, values)
        if problem.cost @ (candidate - n) <= left:
            best, high_ratio = candidate, mid
        else:
            low_ratio = mid
        if high_ratio - low_ratio <= 1e-13 * high_ratio:
            break
    left -= float(problem.cost @ (best - n))
    n = best
    heap = [(-(values(n[[g]], [g]) - values(n[[g]] + 1, [g]))[0] / problem.cost[g], g)
            for g in range(problem.size) if n[g] < problem.upper[g]]
    heapq.heapify(heap)
    while heap:
        _, g = heapq.heappop(heap)
        if problem.cost[g] > left + 1e-9 * max(1.0, abs(problem.budget)):
            continue
        n[g] += 1
        left -= problem.cost[g]
        if n[g] < problem.upper[g]:
            gain = (values(n[[g]], [g]) - values(n[[g]] + 1, [g]))[0]
            heapq.heappush(heap, (-gain / problem.cost[g], g))
    return n


def _lowest_level(problem: AllocationProblem, start: np.ndarray) -> np.ndarray:
    """Whole totals achieving the lowest attainable maximin level (see the module docstring)."""
    shift = problem.shift

    def totals_at(level: float) -> np.ndarray:
        return np.maximum(start, least_totals_for_levels(problem, level - shift))

    def affordable(n: np.ndarray) -> bool:
        return bool(np.all(n <= problem.upper)) and problem.spend(n) <= problem.budget

    high = float(np.max(_own_loss(problem, start, slice(None)) + shift))  # feasible: start
    pool_floor = _own_loss(problem, np.minimum(problem.upper, 1e300), slice(None)) + shift
    low = float(max(np.max(problem.c + shift), np.max(pool_floor)))
    for _ in range(200):
        if high - low <= 1e-12 * max(1.0, abs(high)):
            break
        mid = 0.5 * (high + low)
        if affordable(totals_at(mid)):
            high = mid
        else:
            low = mid
    n = totals_at(high)
    if not affordable(n):  # only when the bisection never moved: start itself
        n = start.copy()
    left = problem.budget - problem.spend(n)
    heap = [(-(float(level)), g) for g, level in
            enumerate(_own_loss(problem, n, slice(None)) + shift)]
    heapq.heapify(heap)
    tolerance = 1e-9 * max(1.0, abs(problem.budget))
    while heap:
        _, g = heapq.heappop(heap)  # the worst group
        if n[g] >= problem.upper[g] or problem.cost[g] > left + tolerance:
            break  # the worst loss cannot fall: the level is optimal
        n[g] += 1
        left -= problem.cost[g]
        level = _own_loss(problem, n[[g]], [g])[0] + shift[g]
        heapq.heappush(heap, (-float(level), g))
    return n


def _common_unit(costs: np.ndarray) -> Fraction | None:
    """The largest unit every cost is a whole multiple of, when the costs are simple fractions."""
    fractions = []
    for cost in costs:
        fraction = Fraction(float(cost)).limit_denominator(1000)
        if abs(float(fraction) - cost) > 1e-12 * cost:
            return None
        fractions.append(fraction)
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(int(f * denominator) for f in fractions))
    return Fraction(numerator, denominator)


def _dynamic_programme(problem, start, left, values) -> np.ndarray | None:
    """Exact minimum of ``sum_g v_g(n_g)`` over whole totals when the costs share a unit.

    ``best[u]`` is the least sum over the groups so far using at most ``u`` budget units.
    Returns ``None`` when the costs share no simple unit or the work would be too large.
    """
    unit = _common_unit(problem.cost)
    if unit is None:
        return None
    units = int(math.floor(left / float(unit) + 1e-9))
    steps = np.array([int(round(c / float(unit))) for c in problem.cost])
    choices = np.minimum(problem.upper - start, units // steps).astype(int) + 1
    if float(choices.sum()) * (units + 1) > DP_WORK_LIMIT:
        return None
    best = np.zeros(units + 1)
    picks = []
    for g in range(problem.size):
        terms = values(start[g] + np.arange(choices[g]), np.full(choices[g], g))
        new = np.full(units + 1, np.inf)
        pick = np.zeros(units + 1, dtype=np.int64)
        for j in range(choices[g]):
            used = j * steps[g]
            trial = best[: units + 1 - used] + terms[j]
            better = trial < new[used:]
            new[used:][better] = trial[better]
            pick[used:][better] = j
        best = new
        picks.append(pick)
    n = start.copy()
    u = units
    for g in reversed(range(problem.size)):
        j = picks[g][u]
        n[g] += j
        u -= j * steps[g]
    return n


def round_and_repair(problem: AllocationProblem, continuous: np.ndarray) -> IntegerSolution:
    """Whole totals near a continuous optimum of a (possibly non-separable) problem.

    Rounds down (never over the budget or a bound), restores any target the rounding broke by
    adding samples to the group that misses it, then spends the leftover one sample at a time
    where the objective improves most per unit of cost (for the target utility, nothing more).

    Raises
    ------
    InfeasibleStudy
        When the targets cannot be restored within the budget.
    """
    lower = np.ceil(problem.lower - 1e-9)
    n = np.clip(np.floor(continuous + 1e-7), lower, problem.upper)
    if problem.spend(n) > problem.budget:
        n = np.clip(np.floor(continuous), lower, problem.upper)
    tolerance = 1e-9 * max(1.0, abs(problem.budget))
    left = problem.budget - problem.spend(n)
    while True:  # restore targets
        gap = problem.losses(n) - problem.cap
        missing = np.flatnonzero((gap > 0) & (n < problem.upper))
        if not np.any(gap > 0):
            break
        if missing.size == 0 or np.min(problem.cost[missing]) > left + tolerance:
            raise InfeasibleStudy(
                "no whole-sample plan meets every target within the budget;"
                " raise the budget or plan with --continuous"
            )
        g = missing[np.argmax(gap[missing])]
        n[g] += 1
        left -= problem.cost[g]
    if problem.utility == "target":
        return IntegerSolution(n, "continuous optimum rounded and repaired", exact=False)
    while True:  # spend the leftover where it helps most per unit cost
        current = problem.objective(n)
        room = (n < problem.upper) & (problem.cost <= left + tolerance)
        if not np.any(room):
            break
        gains = _step_gains(problem, n, current)
        gains = np.where(room, gains / problem.cost, -np.inf)
        g = int(np.argmax(gains))
        if gains[g] <= 0:
            break
        n[g] += 1
        left -= problem.cost[g]
    return IntegerSolution(n, "continuous optimum rounded and repaired", exact=False)


def _step_gains(problem: AllocationProblem, n: np.ndarray, current: float) -> np.ndarray:
    """The objective's fall from one more sample in each group, for all groups at once."""
    size = problem.size
    pooled = float(n.sum()) + 1.0
    base = problem.c + problem.a * n ** (-problem.b) + problem.t * pooled ** (-problem.q)
    stepped = base - problem.a * (n ** (-problem.b) - (n + 1) ** (-problem.b))
    new_shifted = stepped + problem.shift
    base_shifted = base + problem.shift
    if problem.utility == "maximin":
        order = np.argsort(base_shifted)
        top, second = base_shifted[order[-1]], base_shifted[order[-2]] if size > 1 else -np.inf
        others = np.where(np.arange(size) == order[-1], second, top)
        new_objective = np.maximum(others, new_shifted)
    elif problem.utility == "power-mean":
        w = problem.normalised_weight
        total = float(w @ base**problem.p)
        new_objective = (total - w * base**problem.p + w * stepped**problem.p) ** (1 / problem.p)
    else:
        w = problem.normalised_weight
        new_objective = float(w @ base) - w * (base - stepped)
    return current - new_objective
