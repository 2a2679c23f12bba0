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
  (a cheap group can use up the budget a dear one needed). So the priority rule by gain per
  cost (polished by single-sample exchanges for up to 12 groups) gives an incumbent; a
  Lagrangian bound on the budget then confines every optimum to a short range of totals per
  group, and when the costs share a common unit an exact dynamic programme over budget units
  searches those ranges. Without a common unit, or when the programme would be too large,
  the incumbent is returned, flagged as not proven optimal.

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

from allocate.curves import size_for_own_term
from allocate.errors import InfeasibleStudy
from allocate.optimise import AllocationProblem, bisect_monotone
from allocate.utilities import UTILITIES

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
    guess = size_for_own_term(problem.a, problem.b, levels - problem.c)
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
    form = problem.rule.form
    if form == "cost":
        return IntegerSolution(start, "least totals per target", exact=True)
    if form == "worst":
        n = _lowest_level(problem, start)
        left = problem.budget - problem.spend(n)
        n = _priority_fill(problem, n, left, _values_function(problem, UTILITIES["weighted"]))
        return IntegerSolution(n, "level bisection + worst-group steps", exact=True)
    values = _values_function(problem, problem.rule)
    left = problem.budget - problem.spend(start)
    if np.ptp(problem.cost) <= 1e-12 * problem.cost.max():
        return IntegerSolution(_priority_fill(problem, start, left, values),
                               "priority rule (equal costs)", exact=True)
    heuristic = _priority_fill(problem, start, left, values)
    if problem.size <= EXCHANGE_SEARCH_GROUPS:
        heuristic = _exchange_search(problem, heuristic)
    ranges = _lagrangian_ranges(problem, start, left, values, heuristic)
    exact = None if ranges is None else _dynamic_programme(problem, *ranges, values)
    if exact is not None:
        return IntegerSolution(exact, "Lagrangian bounds + dynamic programme", exact=True)
    return IntegerSolution(heuristic, "priority rule by gain per cost + exchanges", exact=False)


def _values_function(problem: AllocationProblem, utility):
    """Per-group terms ``v_g(m)`` whose sum ``utility`` (a sum-form utility of
    :mod:`allocate.utilities`) minimises, for separable problems."""

    def values(m: np.ndarray, index: np.ndarray) -> np.ndarray:
        return utility.terms(problem, _own_loss(problem, m, index), index)

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

    high = float(np.max(_own_loss(problem, start, slice(None)) + shift))  # feasible: start
    pool_floor = _own_loss(problem, np.minimum(problem.upper, 1e300), slice(None)) + shift
    low = float(max(np.max(problem.c + shift), np.max(pool_floor)))
    high = bisect_monotone(
        lambda level: problem.affordable(totals_at(level)), low, high, want_high=False,
        rel_tol=1e-12,
    )  # fmt: skip
    n = totals_at(high)
    if not problem.affordable(n):  # only when the bisection never moved: start itself
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


def _lagrangian_ranges(problem, start, left, values, incumbent
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-group ranges of totals that can hold an optimum, from a Lagrangian bound.

    For a multiplier ``lam >= 0`` on the budget, with ``phi_g = min_m v_g(m) + lam cost_g
    (m - start_g)`` (``m`` within the group's bounds and what the budget alone allows), every
    allocation within the budget has objective at least ``L = sum phi_g - lam * left``, and a
    group at total ``m`` adds ``excess_g(m) = v_g(m) + lam cost_g (m - start_g) - phi_g >= 0``
    to that bound. An optimum is no worse than ``incumbent``, so its totals satisfy
    ``excess_g(m) <= value(incumbent) - L``: a (usually short) interval around the minimiser.
    Returns the ranges' ends, or ``None`` when the bound is useless (a non-finite value).
    """
    index = np.arange(problem.size)
    cap_total = np.minimum(problem.upper, start + np.floor(max(left, 0.0) / problem.cost + 1e-9))
    incumbent_value = float(values(incumbent, index).sum())
    best = None
    for lam in _budget_multipliers(problem, start, cap_total, left, values):
        minimiser = _units_above(problem, start, cap_total, lam, values)
        phi = values(minimiser, index) + lam * problem.cost * (minimiser - start)
        bound = float(phi.sum()) - lam * left
        if best is None or bound > best[0]:
            best = (bound, lam, minimiser, phi)
    if best is None or not np.isfinite(best[0]):
        return None
    bound, lam, minimiser, phi = best
    gap = incumbent_value - bound
    gap += 1e-9 * max(abs(incumbent_value), abs(bound), 1e-300)  # round-off: keep more

    def excess(m: np.ndarray) -> np.ndarray:
        return values(m, index) + lam * problem.cost * (m - start) - phi

    def search(low, high, keep_low_side: bool) -> np.ndarray:
        # excess falls towards the minimiser; find the furthest m from it with excess <= gap
        low, high = low.copy(), high.copy()
        while np.any(high > low):
            mid = np.floor((low + high + (0 if keep_low_side else 1)) / 2)
            ok = excess(mid) <= gap
            if keep_low_side:  # answer is the smallest ok m in [low, high]
                high = np.where(ok, mid, high)
                low = np.where(ok, low, mid + 1)
            else:  # answer is the largest ok m in [low, high]
                low = np.where(ok, mid, low)
                high = np.where(ok, high, mid - 1)
        return low

    with np.errstate(over="ignore", invalid="ignore"):
        lower = search(start.copy(), minimiser.copy(), keep_low_side=True)
        upper = search(minimiser.copy(), cap_total.copy(), keep_low_side=False)
    return lower, upper


def _budget_multipliers(problem, start, cap_total, left, values) -> list[float]:
    """Multipliers either side of where the per-group minimisers' cost crosses ``left``."""
    index = np.arange(problem.size)
    open_ = cap_total > start
    if not np.any(open_):
        return [0.0]
    first = np.where(open_, (values(start, index) - values(start + 1, index)) / problem.cost, 0.0)
    high, low = float(first.max()) * 2.0, 0.0
    for _ in range(100):
        mid = 0.5 * (high + low)
        spent = problem.cost @ (_units_above(problem, start, cap_total, mid, values) - start)
        if spent <= left:
            high = mid
        else:
            low = mid
        if high - low <= 1e-13 * high:
            break
    return [low, high]


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


def _dynamic_programme(problem, start, high, values) -> np.ndarray | None:
    """Exact minimum of ``sum_g v_g(n_g)`` over whole totals ``start <= n <= high`` within the
    budget, when the costs share a unit.

    ``best[u]`` is the least sum over the groups so far using at most ``u`` budget units. The
    first group needs no search (its terms fall with size: take all it can afford) and the
    last is only needed at the full budget, so the work is the middle groups' choices times
    the budget units. Returns ``None`` when the costs share no simple unit or the work would
    be too large.
    """
    unit = _common_unit(problem.cost)
    if unit is None:
        return None
    left = problem.budget - problem.spend(start)
    if left < -1e-9 * max(1.0, abs(problem.budget)):
        return None
    units = int(math.floor(max(left, 0.0) / float(unit) + 1e-9))
    steps = np.array([int(round(c / float(unit))) for c in problem.cost])
    choices = np.minimum(np.minimum(high, problem.upper) - start, units // steps).astype(int) + 1
    if float(choices[1:-1].sum()) * (units + 1) + choices.sum() > DP_WORK_LIMIT:
        return None
    terms = [values(start[g] + np.arange(choices[g]), np.full(choices[g], g))
             for g in range(problem.size)]
    budget_units = np.arange(units + 1)
    first_pick = np.minimum(budget_units // steps[0], choices[0] - 1)
    best = terms[0][first_pick]
    picks = [first_pick]
    for g in range(1, problem.size - 1):
        new = np.full(units + 1, np.inf)
        pick = np.zeros(units + 1, dtype=np.int64)
        for j in range(choices[g]):
            used = j * steps[g]
            trial = best[: units + 1 - used] + terms[g][j]
            better = trial < new[used:]
            new[used:][better] = trial[better]
            pick[used:][better] = j
        best = new
        picks.append(pick)
    n = start.copy()
    u = units
    if problem.size > 1:  # the last group, at the full budget only
        last = problem.size - 1
        j = np.arange(choices[last])
        totals = best[units - j * steps[last]] + terms[last]
        choice = int(np.argmin(totals))
        n[last] += choice
        u -= choice * steps[last]
    for g in reversed(range(len(picks))):
        j = picks[g][u]
        n[g] += j
        u -= j * steps[g]
    return n


def round_and_repair(problem: AllocationProblem, continuous: np.ndarray) -> IntegerSolution:
    """Whole totals near a continuous optimum of a (possibly non-separable) problem.

    Two roundings are tried: down (then any target the rounding broke is restored by adding
    samples to the group that misses it) and up (then samples are taken back, least harmful per
    unit of cost first, until the plan fits the budget; for the target utility, while every
    target still holds). The leftover budget is spent one sample at a time where the objective
    improves most per unit of cost, then single-sample exchanges between groups are made while
    they improve the objective (up to 12 groups, 50 rounds). The better result is returned; it
    is not proven optimal.

    Raises
    ------
    InfeasibleStudy
        When neither rounding can be repaired into a plan that meets every target within the
        budget.
    """
    results = []
    for start in (_round_down(problem, continuous), _round_up(problem, continuous)):
        if start is None:
            continue
        n = start if problem.rule.form == "cost" else _fill(problem, start)
        if problem.size <= EXCHANGE_SEARCH_GROUPS:
            n = _exchange_search(problem, n)
        results.append(n)
    if not results:
        raise InfeasibleStudy(
            "no whole-sample plan meets every target within the budget;"
            " raise the budget or plan continuously (integer=False)"
        )
    best = min(results, key=problem.objective)
    return IntegerSolution(best, "continuous optimum rounded and repaired", exact=False)


#: Up to this many groups, round-and-repair polishes its result by single-sample exchanges.
EXCHANGE_SEARCH_GROUPS = 12


def _tolerance(problem: AllocationProblem) -> float:
    return 1e-9 * max(1.0, abs(problem.budget)) if math.isfinite(problem.budget) else 0.0


def _round_down(problem: AllocationProblem, continuous: np.ndarray) -> np.ndarray | None:
    lower = np.ceil(problem.lower - 1e-9)
    n = np.clip(np.floor(continuous + 1e-7), lower, problem.upper)
    if problem.spend(n) > problem.budget:
        n = np.clip(np.floor(continuous), lower, problem.upper)
    return _restore_targets(problem, n)


def _restore_targets(problem: AllocationProblem, n: np.ndarray) -> np.ndarray | None:
    """Add samples to the groups that miss their targets, furthest first, within the budget;
    ``None`` when the budget or the pools run out first."""
    n = n.copy()
    left = problem.budget - problem.spend(n)
    while True:
        gap = problem.losses(n) - problem.cap
        if not np.any(gap > 0):
            return n
        missing = np.flatnonzero((gap > 0) & (n < problem.upper))
        if missing.size == 0 or np.min(problem.cost[missing]) > left + _tolerance(problem):
            return None
        g = missing[np.argmax(gap[missing])]
        n[g] += 1
        left -= problem.cost[g]


def _round_up(problem: AllocationProblem, continuous: np.ndarray) -> np.ndarray | None:
    lower = np.ceil(problem.lower - 1e-9)
    n = np.clip(np.ceil(continuous - 1e-7), lower, problem.upper)
    if not problem.meets_caps(n):
        return None
    while True:  # take samples back while over budget (target utility: while targets hold)
        over = problem.spend(n) > problem.budget + _tolerance(problem)
        least_cost = problem.rule.form == "cost"
        if not over and not least_cost:
            return n
        if least_cost:  # the dearest sample back first
            damage = -problem.cost
        else:  # the least harm per unit of cost saved first
            damage = (_stepped_objectives(problem, n, -1) - problem.objective(n)) / problem.cost
        candidates = np.flatnonzero(n > lower)
        for g in candidates[np.argsort(damage[candidates], kind="stable")]:
            n[g] -= 1
            if problem.meets_caps(n):
                break
            n[g] += 1
        else:
            return None if over else n


def _fill(problem: AllocationProblem, n: np.ndarray) -> np.ndarray:
    """Spend the leftover one sample at a time where the objective improves most per cost."""
    n = n.copy()
    left = problem.budget - problem.spend(n)
    tolerance = _tolerance(problem)
    while True:
        current = problem.objective(n)
        room = (n < problem.upper) & (problem.cost <= left + tolerance)
        if not np.any(room):
            return n
        gains = np.where(room, _step_gains(problem, n, current) / problem.cost, -np.inf)
        g = int(np.argmax(gains))
        if gains[g] <= 0:
            return n
        n[g] += 1
        left -= problem.cost[g]


def _lean_on(problem: AllocationProblem, n: np.ndarray, h: int) -> None:
    """While a target is missed, add samples to group ``h`` (in place) if budget and pool
    allow: with coupled groups, one group's data can carry another's target."""
    while (not problem.meets_caps(n) and n[h] < problem.upper[h]
           and problem.spend(n) + problem.cost[h] <= problem.budget + _tolerance(problem)):
        n[h] += 1


def _exchange_search(problem: AllocationProblem, n: np.ndarray, rounds: int = 50
                     ) -> np.ndarray:
    """Local search: give back samples of one group (as few as pay for one sample of another
    group, or just one), restore any target that breaks, re-spend the leftover; repeat while the
    objective improves."""
    lower = np.ceil(problem.lower - 1e-9)
    current = problem.objective(n)
    for _ in range(rounds):
        best, best_value = None, current - 1e-12 * max(1.0, abs(current))
        left = problem.budget - problem.spend(n)
        for g in np.flatnonzero(n > lower):
            for h in [None, *range(problem.size)]:
                if h is not None and (h == g or n[h] >= problem.upper[h]):
                    continue
                short = 0.0 if h is None else problem.cost[h] - left - _tolerance(problem)
                give_back = max(1, math.ceil(short / problem.cost[g]))
                if n[g] - give_back < lower[g]:
                    continue
                trial = n.copy()
                trial[g] -= give_back
                if h is not None:
                    trial[h] += 1
                    _lean_on(problem, trial, h)
                trial = _restore_targets(problem, trial)
                if trial is None:
                    continue
                if problem.rule.form != "cost":
                    trial = _fill(problem, trial)
                value = problem.objective(trial)
                if value < best_value:
                    best, best_value = trial, value
        if best is None:
            return n
        n, current = best, best_value
    return n


def _step_gains(problem: AllocationProblem, n: np.ndarray, current: float) -> np.ndarray:
    """The objective's fall from one more sample in each group, for all groups at once."""
    return current - _stepped_objectives(problem, n, +1)


def _stepped_objectives(problem: AllocationProblem, n: np.ndarray, step: int) -> np.ndarray:
    """The objective after ``n + step * e_g``, for every group ``g`` at once (``step = -1``
    needs ``n >= 2`` where it matters; other entries may be ``inf``)."""
    pooled = float(n.sum()) + step
    own = problem.a * n ** (-problem.b)
    with np.errstate(divide="ignore"):
        own_stepped = problem.a * np.maximum(n + step, 0.0) ** (-problem.b)
    base = problem.c + own + problem.t * pooled ** (-problem.q)
    stepped = base - own + own_stepped
    return problem.rule.stepped_objectives(problem, n, step, base, stepped)
