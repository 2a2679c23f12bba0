"""Certified bounds on a plan's objective: the convex relaxation, linearised at the plan.

Every loss ``L_g(n) = c + a n^-b + t N^-q`` is convex in the totals (for ``n > 0``) and every
utility's objective ``f`` is a non-decreasing convex aggregate of the losses (or the spend), so
at any point ``x > 0``::

    f(y) >= f(x) + grad f(x) . (y - x)        for every y.

The least value of the right side over the relaxation's feasible set (fractional totals within
their bounds and the budget, each target ``L_g <= cap_g`` replaced by its own linearisation,
which only enlarges the set) is therefore a lower bound on the continuous optimum, and so on
every whole-sample plan too. At the continuous optimum it is tight (its KKT conditions say the
linearised problem is solved by the optimum itself), so ``objective - bound`` says how far any
plan can be from the best possible. The worst-loss form is bounded the same way, by the largest
of the groups' linearisations.

The linearised problem is a linear programme. Separable studies without targets (and any
sum-form study without targets) have closed forms: a fractional knapsack for sums, a
one-dimensional search for the worst loss. Otherwise it is solved with SciPy's HiGHS, and the
bound is its optimal value less the solver's tolerance.

The same linear programme gives the budget's multiplier: how fast the bound improves per unit
of budget, which is the plan's marginal value of budget (at the continuous optimum, the dual of
the budget constraint) without solving the plan again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocate.optimise import AllocationProblem, bisect_monotone

__all__ = ["Bound", "certified_bound", "linearised_bound", "separable_dual_bound"]

#: Relative safety margin taken off every bound for floating-point round-off.
ROUND_OFF = 1e-12
#: Relative safety margin taken off a bound that comes from the LP solver (its tolerances).
LP_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Bound:
    """A lower bound on the objective (loss sense), the budget's multiplier (the bound's fall
    per extra unit of budget; ``None`` where the budget does not enter) and how it was found."""

    value: float
    budget_multiplier: float | None
    method: str


@dataclass(frozen=True)
class _Linearised:
    """The losses at ``x`` and their derivatives in the own total and in the pooled total."""

    x: np.ndarray
    losses: np.ndarray
    own: np.ndarray
    pooled: np.ndarray
    lower: np.ndarray
    money: float


def _linearise(problem: AllocationProblem, x: np.ndarray) -> _Linearised:
    x = np.maximum(np.asarray(x, dtype=float), problem.lower)
    total = float(x.sum())
    own = -problem.a * problem.b * x ** (-problem.b - 1.0)
    pooled = -problem.t * problem.q * total ** (-problem.q - 1.0)
    losses = problem.losses(x)
    lower = problem.lower.copy()
    capped = np.isfinite(problem.cap)
    if problem.separable and np.any(capped):  # a linearised target is a least total
        need = x[capped] + (problem.cap[capped] - losses[capped]) / own[capped]
        lower[capped] = np.maximum(lower[capped], need)
    money = problem.budget + float(problem.cost @ problem.have)
    return _Linearised(x, losses, own, pooled, lower, money)


def linearised_bound(problem: AllocationProblem, x: np.ndarray) -> Bound:
    """A certified lower bound on ``problem``'s objective (loss sense) from its convex relaxation
    linearised at the totals ``x`` (any point with ``x >= lower``; see the module docstring).

    Parameters
    ----------
    problem : AllocationProblem
    x : numpy.ndarray
        Totals to linearise at: a plan's, or the continuous optimum's for the tightest bound.

    Returns
    -------
    Bound
    """
    lin = _linearise(problem, x)
    form = problem.rule.form
    targets_couple = not problem.separable and np.any(np.isfinite(problem.cap))
    if form == "sum" and not targets_couple:
        value, multiplier = _sum_knapsack(problem, lin)
        return Bound(_less_round_off(value), multiplier, "linearised relaxation (closed form)")
    if form == "worst" and problem.separable:
        value, multiplier = _worst_level(problem, lin)
        return Bound(_less_round_off(value), multiplier, "linearised relaxation (closed form)")
    if form == "cost" and problem.separable:
        value = float(problem.cost @ (lin.lower - problem.have))
        return Bound(_less_round_off(value), None, "least totals per target (closed form)")
    value, multiplier = _linear_programme(problem, lin)
    value -= LP_TOLERANCE * max(1.0, abs(value))
    return Bound(value, multiplier, "linearised relaxation (linear programme, HiGHS)")


def certified_bound(problem: AllocationProblem, x: np.ndarray) -> Bound:
    """The best certified lower bound available at totals ``x``: the linearised relaxation,
    and for separable sum-form studies also the Lagrangian dual at its budget multiplier
    (whose error is second order in the multiplier's, so it is the tighter one near the
    optimum)."""
    found = linearised_bound(problem, x)
    if problem.rule.form == "sum" and problem.separable and found.budget_multiplier is not None:
        dual = separable_dual_bound(problem, found.budget_multiplier, x)
        if dual > found.value:
            return Bound(dual, found.budget_multiplier, "Lagrangian dual of the budget")
    return found


def separable_dual_bound(problem: AllocationProblem, multiplier: float, x: np.ndarray) -> float:
    """The Lagrangian dual bound of a separable sum-form problem at budget ``multiplier``
    (objective units per unit of budget), in the loss sense.

    With terms ``v_g`` scaled by ``M``, the aggregate at ``x`` (``v_g = w_g L_g`` for weighted,
    ``w_g (L_g / M)^p`` for the power mean), ``min_n sum_g v_g(n_g) + mu (cost @ n - money)``
    over the bounds alone is at most the optimum's sum of terms for any ``mu >= 0``; each
    group's minimiser is where its term's slope meets ``-mu cost_g`` (a bisection in log size).
    """
    lin = _linearise(problem, x)
    power = float(problem.rule.exponent(problem))
    scale = problem.aggregate(lin.losses) if power != 1.0 else 1.0
    if not (math.isfinite(lin.money) and scale > 0 and multiplier >= 0):
        return -math.inf
    mu = multiplier * (power / scale if power != 1.0 else 1.0)  # in the terms' units
    w = problem.normalised_weight

    def terms(n: np.ndarray) -> np.ndarray:
        losses = (problem.c + problem.a * n ** (-problem.b)) / scale
        with np.errstate(over="ignore"):
            return w * losses**power

    def slope(n: np.ndarray) -> np.ndarray:  # d v_g / d n_g + mu cost_g, increasing in n
        losses = (problem.c + problem.a * n ** (-problem.b)) / scale
        with np.errstate(over="ignore", invalid="ignore"):
            grow = w * power * losses ** (power - 1.0) / scale
            return grow * -problem.a * problem.b * n ** (-problem.b - 1.0) + mu * problem.cost

    if power == 1.0 and mu > 0:  # the weighted terms' minimiser in closed form
        n = np.clip((w * problem.a * problem.b / (mu * problem.cost)) ** (1.0 / (problem.b + 1.0)),
                    lin.lower, problem.upper)
        return _less_round_off(float(terms(n).sum()) + mu * (float(problem.cost @ n) - lin.money))
    low = np.log(lin.lower)
    high = np.log(np.where(np.isfinite(problem.upper), problem.upper, 1.0))
    unbounded = ~np.isfinite(problem.upper)
    if np.any(unbounded):
        if mu <= 0:
            return -math.inf
        guess = np.log(np.maximum(lin.x, lin.lower))
        for _ in range(200):  # widen until every unbounded group's slope is positive
            guess = np.where(unbounded & (slope(np.exp(guess)) < 0), guess + 2.0, guess)
            if not np.any(unbounded & (slope(np.exp(guess)) < 0)):
                break
        high = np.where(unbounded, guess, high)
    high = np.maximum(high, low)
    for _ in range(80):
        mid = 0.5 * (low + high)
        below = slope(np.exp(mid)) < 0
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    n = np.exp(high)
    n = np.where(slope(np.exp(low)) >= 0, np.exp(low), n)  # at its lower bound
    dual = float(terms(n).sum()) + mu * (float(problem.cost @ n) - lin.money)
    if power == 1.0:
        return _less_round_off(dual)
    return _less_round_off(scale * max(dual, 0.0) ** (1.0 / power))


def _less_round_off(value: float) -> float:
    return value - ROUND_OFF * max(1.0, abs(value))


def _sum_weights(problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
    """The objective's derivative in each group's loss (sum-form utilities)."""
    return problem.rule.loss_gradient(problem, losses)


def _sum_knapsack(problem: AllocationProblem, lin: _Linearised) -> tuple[float, float | None]:
    """Minimise the linearised objective over bounds and budget: a fractional knapsack."""
    weight = _sum_weights(problem, lin.losses)
    slope = weight * lin.own + float(weight @ lin.pooled)  # d f / d x_h (the pooled part too)
    start = lin.lower
    value = problem.aggregate(lin.losses) + float(slope @ (start - lin.x))
    left = lin.money - float(problem.cost @ start)
    if not math.isfinite(left):
        return -math.inf, None
    order = np.argsort(slope / problem.cost, kind="stable")
    order = order[slope[order] < 0]
    room = (problem.upper - start)[order]
    spend = problem.cost[order] * room
    before = np.concatenate(([0.0], np.cumsum(spend)[:-1]))
    fill = np.clip((left - before) / problem.cost[order], 0.0, room)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    value += float(slope[order] @ fill)
    partial = np.flatnonzero(fill < room)  # the first group the budget does not fill
    multiplier = 0.0 if partial.size == 0 else float(-slope[order][partial[0]]
                                                      / problem.cost[order][partial[0]])
    return value, multiplier


def _worst_level(problem: AllocationProblem, lin: _Linearised) -> tuple[float, float | None]:
    """Separable worst loss: the lowest level ``tau`` whose linearised least totals fit."""
    shifted = lin.losses + problem.shift

    def need(level: float) -> np.ndarray:
        return np.maximum(lin.lower, lin.x + (level - shifted) / lin.own)

    def fits(level: float) -> bool:
        n = need(level)
        return bool(np.all(n <= problem.upper)) and float(problem.cost @ n) <= lin.money

    high = float(np.max(shifted))  # x itself fits
    at_pools = shifted + lin.own * (np.minimum(problem.upper, 1e300) - lin.x)
    low = float(np.max(np.where(np.isfinite(problem.upper), at_pools, -np.inf)))
    low = min(low, high) if math.isfinite(low) else high - max(1.0, abs(high))
    while fits(low):  # walk down until the level is out of reach
        if high - low > 1e6 * max(1.0, abs(high)):
            return -math.inf, None
        low -= 2.0 * (high - low) + 1e-12
    level = bisect_monotone(fits, low, high, want_high=False, rel_tol=1e-15)
    # the bisection's rejected end lies within its tolerance below: a level known not to fit
    bound = level - 1e-15 * max(1.0, abs(level))
    n = need(level)
    free = (n > lin.lower) & (n < problem.upper)
    if float(problem.cost @ n) < lin.money * (1 - 1e-9) or not np.any(free):
        return bound, 0.0
    return bound, float(1.0 / np.sum(problem.cost[free] / -lin.own[free]))


def _linear_programme(problem: AllocationProblem, lin: _Linearised) -> tuple[float, float | None]:
    """The linearised problem for coupled groups or coupled targets, with HiGHS.

    Variables are ``y_g = x_g / xhat_g`` and ``M = N / Nhat`` (scaled to order one) and, for
    the worst-loss form, the level ``tau``."""
    from scipy import sparse
    from scipy.optimize import linprog

    size = problem.size
    form = problem.rule.form
    xhat, nhat = lin.x, float(lin.x.sum())
    own = lin.own * xhat  # d L_g / d y_g
    pooled = lin.pooled * nhat  # d L_g / d M
    columns = size + 1 + (form == "worst")
    objective = np.zeros(columns)
    constant = 0.0
    if form == "sum":
        weight = _sum_weights(problem, lin.losses)
        objective[:size] = weight * own
        objective[size] = float(weight @ pooled)
        constant = problem.aggregate(lin.losses) - float(weight @ own) - float(weight @ pooled)
    elif form == "worst":
        objective[-1] = 1.0
    else:
        objective[:size] = problem.cost * xhat
        constant = -float(problem.cost @ problem.have)
    rows, rhs = [], []
    # linearised loss at (y, M): L + own (y - 1) + pooled (M - 1)
    base = lin.losses - own - pooled
    if form == "worst":  # own_g y_g + pooled_g M - tau <= -(base_g + shift_g)
        groups = np.arange(size)
        rows.append(sparse.coo_matrix(
            (np.concatenate([own, pooled, -np.ones(size)]),
             (np.tile(groups, 3), np.concatenate([groups, np.full(size, size),
                                                   np.full(size, size + 1)]))),
            shape=(size, columns)))
        rhs.append(-(base + problem.shift))
    capped = np.flatnonzero(np.isfinite(problem.cap))
    if capped.size:  # own_g y_g + pooled_g M <= cap_g - base_g
        lines = np.arange(capped.size)
        rows.append(sparse.coo_matrix(
            (np.concatenate([own[capped], pooled[capped]]),
             (np.tile(lines, 2), np.concatenate([capped, np.full(capped.size, size)]))),
            shape=(capped.size, columns)))
        rhs.append(problem.cap[capped] - base[capped])
    budget_row = None
    if math.isfinite(lin.money):
        budget_row = sum(block.shape[0] for block in rows)
        row = np.zeros(columns)
        row[:size] = problem.cost * xhat
        rows.append(sparse.csr_matrix(row))
        rhs.append(np.array([lin.money]))
    equality = np.zeros((1, columns))
    equality[0, :size] = xhat / nhat
    equality[0, size] = -1.0
    bounds = [(lo, up) for lo, up in zip(lin.lower / xhat, problem.upper / xhat, strict=True)]
    bounds += [(0.0, None)] + ([(None, None)] if form == "worst" else [])
    result = linprog(objective, A_ub=sparse.vstack(rows).tocsr() if rows else None,
                     b_ub=np.concatenate(rhs) if rhs else None, A_eq=equality, b_eq=[0.0],
                     bounds=bounds, method="highs")
    if result.status != 0:
        return -math.inf, None
    multiplier = None
    if budget_row is not None:
        multiplier = float(-result.ineqlin.marginals[budget_row])
    return float(result.fun) + constant, multiplier if form != "cost" else None
