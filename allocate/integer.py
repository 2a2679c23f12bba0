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
    """Whole-sample totals ``n``, the method that found them, whether it is proven exact and,
    when not, a certified lower bound on the whole-sample optimum (loss sense; ``None`` when
    the method gives none) and the budget multiplier it came with."""

    n: np.ndarray
    method: str
    exact: bool
    bound: float | None = None
    budget_multiplier: float | None = None


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
        n = _priority_fill(problem, n, left, SumTerms(problem, UTILITIES["weighted"]))
        return IntegerSolution(n, "level bisection + worst-group steps", exact=True)
    terms = SumTerms(problem, problem.rule)
    left = problem.budget - problem.spend(start)
    if np.ptp(problem.cost) <= 1e-12 * problem.cost.max():
        return IntegerSolution(_priority_fill(problem, start, left, terms),
                               "priority rule (equal costs)", exact=True)
    fill = _priority_fill_crossing(problem, start, left, terms)
    heuristic = fill.n
    scaled = terms.scaled_for(heuristic)
    crossing = fill.crossing - scaled.power * math.log(scaled.reference)  # in scaled units
    terms = scaled
    ranges = _lagrangian_ranges(problem, start, left, terms, heuristic, crossing)
    exact = None if ranges is None else _dynamic_programme(problem, *ranges[:2], terms)
    if exact is not None:
        return IntegerSolution(exact, "Lagrangian bounds + dynamic programme", exact=True)
    if problem.size <= EXCHANGE_SEARCH_GROUPS:
        heuristic = _exchange_search(problem, heuristic)
    bound = multiplier = None
    if ranges is not None:
        bound, multiplier = terms.to_aggregate(ranges[2]), ranges[3]
    return IntegerSolution(heuristic, "priority rule by gain per cost + exchanges", exact=False,
                           bound=bound, budget_multiplier=multiplier)


class SumTerms:
    """The per-group terms ``v_g(m) = w_g (L_g(m) / R)^p`` whose sum a sum-form utility
    minimises (``p = 1`` for weighted), for separable problems, and the logarithm of each
    step's gain ``v_g(m) - v_g(m + 1)``.

    Gains are compared in log space, so no power of a loss is ever formed there and any ``p``
    is safe. Sums of terms (the Lagrangian bound and the dynamic programme) use the reference
    ``R``: 1 unless ``p`` is large enough for ``L^p`` to leave floating point, when it is the
    worst loss of a good plan (see :meth:`scaled_for`), so terms near the optimum are of
    order one.
    """

    def __init__(self, problem: AllocationProblem, utility, reference: float = 1.0) -> None:
        self.problem = problem
        self.utility = utility
        self.power = float(utility.exponent(problem))
        self.reference = float(reference)
        with np.errstate(divide="ignore"):
            self.log_weight = np.log(problem.normalised_weight)

    def scaled_for(self, n: np.ndarray) -> SumTerms:
        """These terms with the reference set for sums near totals ``n``."""
        worst = float(np.max(_own_loss(self.problem, n, slice(None))))
        if self.power == 1.0 or self.power * abs(math.log(worst)) < 300.0:
            return self
        return SumTerms(self.problem, self.utility, reference=worst)

    def values(self, m: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The terms ``v_g(m)`` of groups ``index``."""
        losses = _own_loss(self.problem, m, index)
        if self.reference != 1.0:
            losses = losses / self.reference
        with np.errstate(over="ignore"):
            return self.utility.terms(self.problem, losses, index)

    def log_gains(self, m: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``log(v_g(m) - v_g(m + 1))`` for groups ``index`` at totals ``m >= 1``."""
        p = self.problem
        m = np.asarray(m, dtype=float)
        own = p.a[index] * m ** (-p.b[index])
        drop = own * -np.expm1(-p.b[index] * np.log1p(1.0 / m))  # L(m) - L(m + 1) > 0
        with np.errstate(divide="ignore"):
            if self.power == 1.0:
                return self.log_weight[index] + np.log(drop) - math.log(self.reference)
            loss = p.c[index] + own
            step = self.power * np.log1p(-drop / loss)  # p log(L(m + 1) / L(m)) < 0
            return (self.log_weight[index] + self.power * (np.log(loss) - math.log(self.reference))
                    + np.log(-np.expm1(step)))

    def stationary_size(self, log_threshold: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Per group, the fractional size ``x`` where the term's slope ``-v_g'(x)`` falls to
        ``exp(log_threshold)`` (closed form for ``p = 1``; Newton steps in ``log x`` otherwise,
        all in log space)."""
        p = self.problem
        a, b, c = p.a[index], p.b[index], p.c[index]
        with np.errstate(divide="ignore"):
            scale = self.log_weight[index] + np.log(a * b * self.power) - math.log(self.reference)
        # weighted: log(-v') = log(w a b) - (b + 1) log x
        if self.power == 1.0:
            return np.exp((scale - log_threshold) / (b + 1.0))
        # power: h(u) = scale + (p-1) log(L(e^u) / R) - (b+1) u - threshold, u = log x, is
        # convex and falling; the roots with L replaced by a x^-b or by c lie at or left of its
        # root, and Newton steps from there rise to it without overshooting
        power, log_r = self.power, math.log(self.reference)
        with np.errstate(divide="ignore"):
            from_own = (scale + (power - 1.0) * (np.log(a) - log_r) - log_threshold) / (
                (power - 1.0) * b + b + 1.0)
            from_floor = (scale + (power - 1.0) * (np.log(c) - log_r) - log_threshold) / (b + 1.0)
        u = np.maximum(from_own, from_floor)
        for _ in range(60):
            own = a * np.exp(-b * u)
            value = (scale + (power - 1.0) * (np.log(c + own) - log_r) - (b + 1.0) * u
                     - log_threshold)
            step = value / ((power - 1.0) * b * own / (c + own) + (b + 1.0))
            u = u + step
            if np.all(np.abs(step) <= 1e-13 * np.maximum(1.0, np.abs(u))):
                break
        return np.exp(u)

    def to_aggregate(self, total: float) -> float:
        """The utility's aggregate (loss sense) for a sum of terms ``total``."""
        if self.power == 1.0:
            return total * self.reference
        return self.reference * max(total, 0.0) ** (1.0 / self.power)


def _units_above(problem, start, cap_total, log_ratio, terms) -> np.ndarray:
    """Per group, the largest total in ``[start, cap_total]`` whose every step's gain per unit
    cost is at least ``exp(log_ratio)``.

    Gains shrink with size. By convexity the step ``m - 1 -> m`` gains between ``-v'(m)`` and
    ``-v'(m - 1)``, so with ``x`` where ``-v'(x)`` meets the threshold the answer is
    ``floor(x)`` or ``floor(x) + 1``; the exact gains decide (and guard against round-off).
    """
    index = np.arange(problem.size)
    threshold = log_ratio + np.log(problem.cost)
    with np.errstate(over="ignore", invalid="ignore"):
        guess = terms.stationary_size(threshold, index)
    if not np.all(np.isfinite(guess) | (guess == np.inf)):
        return _units_above_by_search(problem, start, cap_total, threshold, terms)
    m = np.clip(np.floor(np.minimum(guess, 1e300)), start, cap_total)
    for _ in range(4):
        grow = (m < cap_total) & (terms.log_gains(np.maximum(m, 1.0), index) >= threshold)
        shrink = (m > start) & (terms.log_gains(np.maximum(m - 1, 1.0), index) < threshold)
        if not (np.any(grow) or np.any(shrink)):
            return m
        m = m + grow - shrink
    return _units_above_by_search(problem, start, cap_total, threshold, terms)


def _units_above_by_search(problem, start, cap_total, threshold, terms) -> np.ndarray:
    """:func:`_units_above` by binary search (when the closed-form guess is off by round-off)."""
    index = np.arange(problem.size)
    low, high = start.copy(), cap_total.copy()  # answer in [low, high]
    while np.any(high > low):
        mid = np.maximum(np.floor((low + high + 1) / 2), low + 1)
        mid = np.minimum(mid, np.maximum(high, low + 1))
        ok = (terms.log_gains(mid - 1, index) >= threshold) & (mid <= high)
        low = np.where(ok, mid, low)
        high = np.where(ok, high, mid - 1)
    return low


def _log_ratio_bracket(problem, start, cap_total, terms) -> tuple[float, float] | None:
    """Log gain-per-cost ratios above every first step and below every last one (``None``
    when no group can grow)."""
    index = np.flatnonzero(cap_total > start)
    if index.size == 0:
        return None
    log_cost = np.log(problem.cost[index])
    first = terms.log_gains(start[index], index) - log_cost
    last = terms.log_gains(np.maximum(cap_total[index] - 1, start[index]), index) - log_cost
    high = float(np.max(first)) + 1.0
    low = float(np.min(last[np.isfinite(last)], initial=high - 50.0)) - 1.0
    return (low, high) if math.isfinite(high) else None


@dataclass(frozen=True)
class _Fill:
    """The priority rule's totals and the log gain per cost of the first step the budget could
    not pay for (``-inf`` when every step fitted): the budget's multiplier, in log."""

    n: np.ndarray
    crossing: float


def _priority_fill(problem, n, left, terms) -> np.ndarray:
    """Spend ``left`` one sample at a time on the largest gain per unit cost, skipping groups
    whose next sample no longer fits (see :func:`_priority_fill_crossing`)."""
    return _priority_fill_crossing(problem, n, left, terms).n


def _priority_fill_crossing(problem, n, left, terms) -> _Fill:
    """The priority rule, and where its order crosses the budget.

    A jump first: the continuous stationary sizes give the gain per cost at which the budget
    runs out; the whole-sample totals just above that threshold (a point of the greedy order,
    found by raising the threshold until they fit) are where the one-sample steps start, so a
    large budget takes few steps. The steps from there are the greedy rule's own.
    """
    n = np.asarray(n, dtype=float).copy()
    cap_total = np.minimum(problem.upper, n + np.floor(max(left, 0.0) / problem.cost + 1e-9))
    bracket = _log_ratio_bracket(problem, n, cap_total, terms)
    if bracket is None:
        return _Fill(n, -math.inf)
    best = _greedy_point(problem, n, cap_total, left, terms, bracket)
    left -= float(problem.cost @ (best - n))
    n = best
    log_cost = np.log(problem.cost)
    open_ = np.flatnonzero(n < problem.upper)
    keys = terms.log_gains(n[open_], open_) - log_cost[open_]
    heap = [(-float(key), int(g)) for key, g in zip(keys, open_, strict=True)]
    heapq.heapify(heap)
    tolerance = 1e-9 * max(1.0, abs(problem.budget))
    crossing = -math.inf
    while heap:
        key, g = heapq.heappop(heap)
        if problem.cost[g] > left + tolerance:
            crossing = max(crossing, -key)
            continue
        n[g] += 1
        left -= problem.cost[g]
        if n[g] < problem.upper[g]:
            key = terms.log_gains(n[[g]], [g])[0] - log_cost[g]
            heapq.heappush(heap, (-float(key), g))
    return _Fill(n, crossing)


def _greedy_point(problem, start, cap_total, left, terms, bracket) -> np.ndarray:
    """Whole totals on the greedy order that fit ``left``, close to where it runs out."""
    index = np.arange(problem.size)
    log_cost = np.log(problem.cost)
    low, high = bracket

    def smooth_spend(log_ratio: float) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            x = terms.stationary_size(log_ratio + log_cost, index)
        return float(problem.cost @ (np.clip(np.nan_to_num(x, posinf=1e300), start, cap_total)
                                     - start))

    # the continuous threshold, to 1e-6 in log, by regula falsi (Illinois): the smooth spend
    # falls with the threshold, over budget at low and within it at high
    over, under = smooth_spend(low) - left, smooth_spend(high) - left
    side = 0
    for _ in range(60):
        if high - low <= 1e-6 or not over > 0 or under > 0:
            break
        mid = high - under * (high - low) / (under - over)
        if not low < mid < high:
            mid = 0.5 * (low + high)
        value = smooth_spend(mid) - left
        if value > 0:
            low, over = mid, value
            under = under * 0.5 if side == -1 else under
            side = -1
        else:
            high, under = mid, value
            over = over * 0.5 if side == 1 else over
            side = 1
    margin = 1e-6
    while True:  # whole samples just above it; raise it until they fit
        threshold = high + margin
        candidate = _units_above(problem, start, cap_total, threshold, terms)
        if problem.cost @ (candidate - start) <= left or threshold >= bracket[1]:
            return candidate if problem.cost @ (candidate - start) <= left else start.copy()
        margin *= 8.0


def _lowest_level(problem: AllocationProblem, start: np.ndarray) -> np.ndarray:
    """Whole totals achieving the lowest attainable maximin level (see the module docstring)."""
    shift = problem.shift

    def totals_at(level: float) -> np.ndarray:
        return np.maximum(start, least_totals_for_levels(problem, level - shift))

    high = float(np.max(_own_loss(problem, start, slice(None)) + shift))  # feasible: start
    pool_floor = _own_loss(problem, np.minimum(problem.upper, 1e300), slice(None)) + shift
    low = float(max(np.max(problem.c + shift), np.max(pool_floor)))
    # a level near the optimum is enough: the worst-group steps below reach it exactly
    high = bisect_monotone(
        lambda level: problem.affordable(totals_at(level)), low, high, want_high=False,
        rel_tol=1e-7,
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


def _lagrangian_ranges(problem, start, left, terms, incumbent, crossing: float
                       ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """Per-group ranges of totals that can hold an optimum, from a Lagrangian bound.

    For a multiplier ``lam >= 0`` on the budget, with ``phi_g = min_m v_g(m) + lam cost_g
    (m - start_g)`` (``m`` within the group's bounds and what the budget alone allows), every
    allocation within the budget has objective at least ``L = sum phi_g - lam * left``, and a
    group at total ``m`` adds ``excess_g(m) = v_g(m) + lam cost_g (m - start_g) - phi_g >= 0``
    to that bound. An optimum is no worse than ``incumbent``, so its totals satisfy
    ``excess_g(m) <= value(incumbent) - L``: a (usually short) interval around the minimiser.
    Returns the ranges' ends, the bound ``L`` (a sum of terms) and its multiplier, or ``None``
    when the bound is useless (a non-finite value).
    """
    index = np.arange(problem.size)
    values = terms.values
    cap_total = np.minimum(problem.upper, start + np.floor(max(left, 0.0) / problem.cost + 1e-9))
    incumbent_value = float(values(incumbent, index).sum())
    best = None
    # the dual function is concave and peaks where the greedy order crosses the budget: at the
    # gain per cost of the first step it could not pay for (either side of it, for round-off)
    for log_lam in (crossing, crossing + 1e-12, crossing - 1e-12):
        lam = math.exp(log_lam) if log_lam > -math.inf else 0.0
        minimiser = _units_above(problem, start, cap_total, log_lam, terms)
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
    return lower, upper, bound, lam


def _common_unit(costs: np.ndarray) -> Fraction | None:
    """The largest unit every cost is a whole multiple of, when the costs are simple fractions."""
    fractions = []
    for cost in np.unique(costs):
        fraction = Fraction(float(cost)).limit_denominator(1000)
        if abs(float(fraction) - cost) > 1e-12 * cost:
            return None
        fractions.append(fraction)
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(int(f * denominator) for f in fractions))
    return Fraction(numerator, denominator)


def _dynamic_programme(problem, start, high, terms) -> np.ndarray | None:
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
    terms = [terms.values(start[g] + np.arange(choices[g]), np.full(choices[g], g))
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
                give_back = max(1, math.ceil(short / problem.cost[g])) if math.isfinite(
                    short) else 1  # no budget (the target utility): one sample
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
