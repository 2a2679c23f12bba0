"""The allocation problem in array form, and its continuous optimum with cvxpy.

:class:`AllocationProblem` is a study reduced to NumPy arrays in the loss sense, with the bounds
and the budget already resolved; :mod:`allocate.integer` and :mod:`allocate.planning` work on it.
:func:`solve_continuous` solves the convex relaxation with exact power cones and Clarabel, as a
parametrised (DPP) problem cached by its shape and exponents, so a re-solve with new curve
scales, asymptotes, costs, bounds or budget skips recompilation.

``cvxpy`` is imported inside :func:`solve_continuous` only: planning in whole samples for
separable studies never needs it.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocate.curves import size_for_own_term
from allocate.errors import FairallocError, InfeasibleStudy
from allocate.study_file import StudySpec
from allocate.utilities import Utility, utility_named

__all__ = ["AllocationProblem", "ContinuousSolution", "solve_continuous", "clear_problem_cache"]


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """A study as arrays, in the loss sense, ready for a solver.

    The decision is each group's total ``n_g = have_g + collect_g`` with ``lower <= n <= upper``
    and ``cost @ (n - have) <= budget``. ``lower`` is ``max(have, min, 1)``: a group needs at
    least one sample for its loss to be defined. ``cap`` holds each group's target as a loss
    (``inf`` where there is none). ``shift`` is added to every loss before the maximin
    aggregate: ``-score_max`` for score curves, so that maximin raises the lowest *score*.
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    t: np.ndarray
    q: np.ndarray
    cost: np.ndarray
    weight: np.ndarray
    have: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cap: np.ndarray
    shift: np.ndarray
    budget: float
    utility: str
    p: float

    @classmethod
    def from_study(cls, study: StudySpec, *, budget: float | None) -> AllocationProblem:
        """Reduce ``study`` to arrays, with ``budget`` (``None`` only for the target utility)."""
        groups = study.groups

        def column(values: Any) -> np.ndarray:
            return np.array(list(values), dtype=float)

        have = column(g.have for g in groups)
        # a target counts as met within 1e-12 (relative), so round-off never costs a sample
        cap = column(math.inf if g.target is None else g.target_loss for g in groups)
        cap = cap + 1e-12 * np.maximum(1.0, np.abs(cap))
        score = study.sense == "score"
        return cls(
            a=column(g.curve.a for g in groups),
            b=column(g.curve.b for g in groups),
            c=column(g.curve.c for g in groups),
            t=column(g.curve.t for g in groups),
            q=column(g.curve.q for g in groups),
            cost=column(g.cost for g in groups),
            weight=column(g.weight for g in groups),
            have=have,
            lower=np.maximum.reduce([have, column(g.min for g in groups), np.ones(len(groups))]),
            upper=column(g.max for g in groups),
            cap=cap,
            shift=column(-g.curve.score_max if score else 0.0 for g in groups),
            budget=math.inf if budget is None else float(budget),
            utility=study.utility,
            p=float(study.p),
        )

    @property
    def size(self) -> int:
        """The number of groups."""
        return len(self.a)

    @property
    def separable(self) -> bool:
        """True when no group's loss depends on the pooled total (every ``t == 0``)."""
        return not np.any(self.t > 0)

    @property
    def rule(self) -> Utility:
        """The utility being optimised (see :mod:`allocate.utilities`)."""
        return utility_named(self.utility)

    @property
    def normalised_weight(self) -> np.ndarray:
        """Weights scaled to sum to one."""
        return self.weight / self.weight.sum()

    def losses(self, n: np.ndarray) -> np.ndarray:
        """Each group's loss at totals ``n`` (pooled total ``n.sum()``)."""
        n = np.asarray(n, dtype=float)
        value = self.c + self.a * n ** (-self.b)
        if not self.separable:
            value = value + self.t * float(n.sum()) ** (-self.q)
        return value

    def spend(self, n: np.ndarray) -> float:
        """The cost of collecting up to totals ``n``."""
        return float(self.cost @ (np.asarray(n, dtype=float) - self.have))

    def aggregate(self, losses: np.ndarray) -> float:
        """The utility's aggregate of per-group ``losses`` (lower is better; see
        :mod:`allocate.utilities`)."""
        return self.rule.aggregate(self, losses)

    def objective(self, n: np.ndarray) -> float:
        """The objective at totals ``n`` in the loss sense (the spend for the target utility)."""
        return self.rule.objective(self, n)

    def meets_caps(self, n: np.ndarray) -> bool:
        """True when every group with a target reaches it at totals ``n``."""
        return bool(np.all(self.losses(n) <= self.cap))

    def affordable(self, n: np.ndarray) -> bool:
        """True when totals ``n`` stay within every pool and cost at most the budget."""
        return bool(np.all(n <= self.upper)) and self.spend(n) <= self.budget

    def with_budget(self, budget: float) -> AllocationProblem:
        """The same problem with another budget."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return AllocationProblem(**{**fields, "budget": float(budget)})


@dataclass(frozen=True)
class ContinuousSolution:
    """The continuous optimum: totals ``n``, the solver status, the budget's dual value (the
    objective's improvement per unit of budget; ``None`` when not available) and the method."""

    n: np.ndarray
    status: str
    budget_dual: float | None
    method: str = "cvxpy + Clarabel (exact power cones)"


@dataclass
class _Compiled:
    problem: Any
    parameters: dict[str, Any]
    total: Any
    budget_constraint: Any


_CACHE: OrderedDict[tuple, _Compiled] = OrderedDict()
_CACHE_SIZE = 32
#: Clarabel's stopping tolerances, tighter than its defaults: allocations sit on flat optima.
_TOLERANCES = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def bisect_monotone(
    accept: Callable[[float], bool],
    low: float,
    high: float,
    *,
    want_high: bool,
    rel_tol: float = 1e-13,
) -> float:
    """Bisect ``[low, high]`` where ``accept`` flips once; return the accepted end.

    ``want_high``: ``accept`` holds below the flip (return the largest accepted value);
    otherwise it holds above it (return the smallest).

    Examples
    --------
    >>> round(bisect_monotone(lambda x: x * x <= 2, 0.0, 2.0, want_high=True), 9)
    1.414213562
    """
    for _ in range(300):
        if high - low <= rel_tol * max(1.0, abs(high)):
            break
        mid = 0.5 * (low + high)
        if accept(mid) == want_high:
            low = mid
        else:
            high = mid
    return low if want_high else high


def clear_problem_cache() -> None:
    """Forget every compiled problem (the next solve of each shape compiles afresh)."""
    _CACHE.clear()


def _masks(problem: AllocationProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    transfer = np.flatnonzero(problem.t > 0)
    bounded = np.flatnonzero(np.isfinite(problem.upper))
    capped = np.flatnonzero(np.isfinite(problem.cap))
    return transfer, bounded, capped


def _cache_key(problem: AllocationProblem) -> tuple:
    transfer, bounded, capped = _masks(problem)
    return (
        *problem.rule.cache_key(problem),
        problem.b.tobytes(),
        tuple(transfer),
        problem.q[transfer].tobytes(),
        tuple(bounded),
        tuple(capped),
        math.isfinite(problem.budget),
    )


def _compile(problem: AllocationProblem) -> _Compiled:
    import cvxpy as cp

    size = problem.size
    transfer, bounded, capped = _masks(problem)
    total = cp.Variable(size, name="total")
    own = cp.Variable(size, name="own_term")  # own >= total^-b, by a power cone
    par = {
        "scale": cp.Parameter(size, nonneg=True, name="a"),
        "base": cp.Parameter(size, name="c_plus_shift"),
        "cost": cp.Parameter(size, nonneg=True, name="cost"),
        "lower": cp.Parameter(size, name="lower"),
    }
    alpha = 1.0 / (1.0 + problem.b)
    constraints = [
        cp.PowCone3D(own, total, np.ones(size), alpha),
        total >= par["lower"],
    ]
    loss = par["base"] + cp.multiply(par["scale"], own)  # affine: the losses (+ shift)
    if transfer.size:
        # one cone per distinct q (identical cones would make the system degenerate), on one
        # scalar pooled total (which keeps the cones sparse)
        exponents, which = np.unique(problem.q[transfer], return_inverse=True)
        pooled_total = cp.Variable(name="pooled_total")
        pooled = cp.Variable(exponents.size, name="pooled_term")  # pooled >= N^-q
        par["transfer"] = cp.Parameter(size, nonneg=True, name="t")
        par["share"] = cp.Parameter(size, nonneg=True, name="size_share")
        constraints += [
            pooled_total == par["share"] @ total,
            cp.PowCone3D(pooled, pooled_total * np.ones(exponents.size),
                         np.ones(exponents.size), 1.0 / (1.0 + exponents)),
        ]
        pick = np.zeros((size, exponents.size))
        pick[transfer, which] = 1.0
        loss = loss + cp.multiply(par["transfer"], pick @ pooled)
    if bounded.size:
        par["upper"] = cp.Parameter(bounded.size, name="upper")
        constraints.append(total[bounded] <= par["upper"])
    if capped.size:
        par["cap"] = cp.Parameter(capped.size, name="cap_plus_shift")
        constraints.append(loss[capped] <= par["cap"])
    budget_constraint = None
    if math.isfinite(problem.budget):
        par["budget"] = cp.Parameter(name="budget_plus_have_cost")
        budget_constraint = par["cost"] @ total <= par["budget"]
        constraints.append(budget_constraint)
    objective, extra, parameters = problem.rule.convex_objective(cp, problem, loss,
                                                                 par["cost"] @ total)
    constraints += extra
    par.update(parameters)
    compiled = cp.Problem(cp.Minimize(objective), constraints)
    if not compiled.is_dcp(dpp=True):  # pragma: no cover - a bug in this module, not the input
        raise FairallocError("internal error: the allocation problem is not DPP")
    return _Compiled(compiled, par, total, budget_constraint)


@dataclass(frozen=True)
class _Scales:
    """Units that make the solver's numbers of order one: each group's total in ``size[g]``
    samples (the pooled total in ``size.sum()``), losses in ``loss`` units, money in ``money``
    units."""

    size: np.ndarray
    loss: float
    money: float


def _scales(problem: AllocationProblem) -> _Scales:
    if math.isfinite(problem.budget):
        even = (problem.budget + float(problem.cost @ problem.lower)) / problem.cost.sum()
    else:
        need = size_for_own_term(problem.a, problem.b, problem.cap - problem.c)
        need = need[np.isfinite(need)]
        even = float(need.max()) if need.size else float(problem.lower.max())
    size = np.clip(np.full(problem.size, max(1.0, even)), problem.lower, problem.upper)
    loss = float(np.mean(problem.losses(size)))
    return _Scales(size=size, loss=loss, money=float(problem.cost @ size))


def _set_parameters(compiled: _Compiled, problem: AllocationProblem) -> _Scales:
    transfer, bounded, capped = _masks(problem)
    units = _scales(problem)
    shift = problem.rule.loss_shift(problem)
    values = {
        "scale": problem.a * units.size ** (-problem.b) / units.loss,
        "base": (problem.c + shift) / units.loss,
        "cost": problem.cost * units.size / units.money,
        "lower": problem.lower / units.size,
        "transfer": problem.t * units.size.sum() ** (-problem.q) / units.loss,
        "share": units.size / units.size.sum(),
        "upper": problem.upper[bounded] / units.size[bounded],
        "cap": (problem.cap + shift)[capped] / units.loss,
        "budget": (problem.budget + float(problem.cost @ problem.have)) / units.money,
    }
    values.update(problem.rule.parameter_values(problem))
    for name, parameter in compiled.parameters.items():
        parameter.value = values[name]
    return units


def _fit_budget(problem: AllocationProblem, n: np.ndarray) -> np.ndarray:
    """Clip ``n`` to its bounds and shrink the excess over ``lower`` to respect the budget."""
    n = np.clip(n, problem.lower, problem.upper)
    over = problem.spend(n) - problem.budget
    if over > 0:
        extra = n - problem.lower
        room = problem.budget - problem.spend(problem.lower)
        n = problem.lower + extra * max(room, 0.0) / float(problem.cost @ extra)
    return n


def _run(compiled: _Compiled) -> None:
    """Solve with Clarabel: tight tolerances first, then its defaults (a first solve of a fresh
    compilation sometimes stalls where a second succeeds). An inaccurate solution is kept only
    when no attempt is optimal, and is reported by its status rather than a warning.

    Raises ``cvxpy.error.SolverError`` when every attempt fails.
    """
    import cvxpy as cp

    inaccurate, error = None, None
    for settings in (_TOLERANCES, {}, {}):
        with warnings.catch_warnings(), np.errstate(over="ignore"):
            # (cvxpy evaluates a large-p norm's value directly; an overflow there is harmless)
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            try:
                compiled.problem.solve(solver=cp.CLARABEL, **settings)
            except cp.error.SolverError as failure:
                error = failure
                continue
        if compiled.problem.status == cp.OPTIMAL:
            return
        if compiled.problem.status == cp.OPTIMAL_INACCURATE:
            inaccurate = settings
        else:
            return  # infeasible or unbounded: the caller reports it
    if inaccurate is None:
        raise error if error is not None else cp.error.SolverError("no solution")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        compiled.problem.solve(solver=cp.CLARABEL, **inaccurate)


def _lowest_level_continuous(problem: AllocationProblem) -> tuple[float, np.ndarray]:
    """Separable maximin, exactly: the lowest level ``tau`` whose least totals
    ``n_g(tau) = (a / (tau - shift - c))^(1/b)`` (at least ``lower`` and any target's total)
    fit the pools and the budget, by bisection. Returns the level and those totals."""
    floor = problem.lower.copy()
    capped = np.isfinite(problem.cap)
    if np.any(capped):
        room = np.where(capped, problem.cap - problem.c, 1.0)
        floor = np.where(capped, np.maximum(floor, size_for_own_term(problem.a, problem.b, room)),
                         floor)

    def totals(level: float) -> np.ndarray:
        need = size_for_own_term(problem.a, problem.b, level - problem.shift - problem.c)
        return np.maximum(floor, need)

    high = float(np.max(problem.losses(floor) + problem.shift))
    pool_limit = problem.c + problem.a * problem.upper ** (-problem.b) + problem.shift
    low = float(np.max(np.maximum(problem.c + problem.shift, pool_limit)))
    if problem.affordable(totals(low)):
        return low, totals(low)
    level = bisect_monotone(
        lambda m: problem.affordable(totals(m)), low, high, want_high=False, rel_tol=1e-15
    )
    return level, totals(level)


def _spend_weighted_separable(problem: AllocationProblem, floor: np.ndarray) -> np.ndarray:
    """The weighted optimum of a separable problem with totals at least ``floor``, exactly: the
    KKT conditions give ``n_g = clip((w_g a_g b_g / (lambda cost_g))^(1/(b_g+1)), floor_g,
    upper_g)``, with the multiplier ``lambda`` found by bisection so the budget is spent."""
    gain = problem.normalised_weight * problem.a * problem.b / problem.cost

    def totals(log_multiplier: float) -> np.ndarray:
        free = (gain / math.exp(log_multiplier)) ** (1.0 / (problem.b + 1.0))
        return np.clip(free, floor, problem.upper)

    if problem.spend(totals(-700.0)) <= problem.budget:  # every pool filled
        return totals(-700.0)
    low, high = -700.0, 700.0  # log multipliers: too cheap (over budget), too dear (floor)
    for _ in range(200):
        mid = 0.5 * (low + high)
        if problem.spend(totals(mid)) > problem.budget:
            low = mid
        else:
            high = mid
        if high - low <= 1e-13:
            break
    return totals(high)


class _CoupledLevel:
    """Least-cost totals holding every loss at or below a level, for coupled groups.

    For a pooled total ``N`` each group needs at least
    ``need_g(N) = (a_g / (bound_g - c_g - t_g N^-q_g))^(1/b_g)`` (and its quota), where
    ``bound_g`` is the level (less the group's shift) or its target, whichever is lower; more
    ``N`` lowers every need. Any pooled total at or above ``sum need(N)`` can be reached by adding
    the cheapest samples left in the pools, so the least cost at the level is the minimum over
    ``N`` of ``cost @ need(N) + (cheapest fill of N - sum need(N))``, a one-dimensional search.
    """

    def __init__(self, problem: AllocationProblem) -> None:
        self.problem = problem
        self.order = np.argsort(problem.cost, kind="stable")
        self.floor = problem.lower
        self.most = float(np.sum(problem.upper))

    def need(self, level: float, pooled: float) -> np.ndarray:
        p = self.problem
        bound = np.minimum(level - p.shift, p.cap)
        own = size_for_own_term(p.a, p.b, bound - p.c - p.t * pooled ** (-p.q))
        return np.maximum(self.floor, own)

    def totals(self, level: float, pooled: float) -> np.ndarray | None:
        """The cheapest totals at ``level`` with pooled total ``pooled`` (None: impossible)."""
        p = self.problem
        need = self.need(level, pooled)
        extra = pooled - need.sum()
        if not np.all(need <= p.upper) or extra < -1e-9 * pooled:
            return None
        room = (p.upper - need)[self.order]
        filled = np.minimum(room, np.maximum(extra - np.concatenate(([0.0], np.cumsum(room)[:-1])),
                                             0.0))
        if filled.sum() < extra - 1e-9 * pooled:
            return None
        n = need.copy()
        n[self.order] += filled
        return n

    def cost(self, level: float, pooled: float) -> float:
        n = self.totals(level, pooled)
        return math.inf if n is None else self.problem.spend(n)

    def least_pooled(self, level: float) -> float | None:
        """The least pooled total that covers every group's need (a fixed point)."""
        low = float(np.sum(self.floor))
        if np.sum(self.need(level, low)) <= low:
            return low
        high = max(2.0 * low, 1.0)
        while np.sum(self.need(level, high)) > high:
            high *= 2.0
            if high > min(self.most, 1e15):
                return None
        for _ in range(100):
            mid = 0.5 * (low + high)
            if np.sum(self.need(level, mid)) > mid:
                low = mid
            else:
                high = mid
            if high - low <= 1e-12 * high:
                break
        return high

    def best(self, level: float) -> tuple[float, float]:
        """The least cost at ``level`` and the pooled total reaching it."""
        start = self.least_pooled(level)
        if start is None:
            return math.inf, math.nan
        budget_room = self.problem.budget / float(self.problem.cost.min())
        stop = min(self.most, start + budget_room) if math.isfinite(budget_room) else self.most
        if not math.isfinite(stop) or stop <= start:
            return self.cost(level, start), start
        grid = np.geomspace(start, stop, 33)
        costs = [self.cost(level, x) for x in grid]
        k = int(np.argmin(costs))
        low, high = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
        ratio = (math.sqrt(5.0) - 1.0) / 2.0
        for _ in range(60):  # golden section on the bracket around the best grid point
            a = high - ratio * (high - low)
            b = low + ratio * (high - low)
            if self.cost(level, a) <= self.cost(level, b):
                high = b
            else:
                low = a
            if high - low <= 1e-10 * high:
                break
        candidates = [grid[k], 0.5 * (low + high)]
        values = [self.cost(level, x) for x in candidates]
        j = int(np.argmin(values))
        return values[j], candidates[j]


def _lowest_level_coupled(problem: AllocationProblem) -> np.ndarray:
    """Coupled maximin without cvxpy: bisection on the level, each level's least cost from
    :class:`_CoupledLevel`. Returns the totals at the lowest affordable level."""
    search = _CoupledLevel(problem)
    start = np.ceil(problem.lower - 1e-9)
    high = float(np.max(problem.losses(np.maximum(start, 1.0)) + problem.shift))
    high = max(high, float(np.max(problem.losses(problem.lower) + problem.shift)))
    while search.best(high)[0] > problem.budget:  # the quotas' own level may need targets
        high = high + max(1.0, abs(high))
        if high > 1e12:
            raise InfeasibleStudy("no allocation meets every target within the budget")
    low = float(np.max(problem.c + problem.shift))
    for _ in range(100):
        mid = 0.5 * (low + high)
        if search.best(mid)[0] <= problem.budget:
            high = mid
        else:
            low = mid
        if high - low <= 1e-12 * max(1.0, abs(high)):
            break
    _, pooled = search.best(high)
    return search.totals(high, pooled)


def _solve_maximin(problem: AllocationProblem) -> ContinuousSolution:
    """Maximin.

    Separable groups, without cvxpy, exactly: bisection on the worst loss, each level's least
    totals in closed form. If budget is left because the worst group cannot improve (its pool
    or quota binds), it is spent by the weighted rule with every loss held at the level (the
    maximin optimum is then not unique; this choice helps the other groups). Coupled groups:
    cvxpy; if Clarabel stalls (it can on large coupled maximin problems), bisection on the
    level with :class:`_CoupledLevel` (a one-dimensional search that is not guaranteed to find
    the least cost, so the result is marked inaccurate).
    """
    if not problem.separable:
        try:
            return _solve_with_cvxpy(problem)
        except InfeasibleStudy:
            raise
        except FairallocError:  # Clarabel can stall on large coupled maximin problems
            n = _lowest_level_coupled(problem)
            return ContinuousSolution(n=n, status="optimal_inaccurate", budget_dual=None,
                                      method="level bisection (coupled groups; the conic"
                                      " solver stalled)")
    level, n = _lowest_level_continuous(problem)
    if problem.budget - problem.spend(n) <= 1e-9 * max(1.0, abs(problem.budget)):
        return ContinuousSolution(n=n, status="optimal", budget_dual=None,
                                  method="level bisection")
    n = _spend_weighted_separable(problem, floor=n)
    return ContinuousSolution(n=n, status="optimal", budget_dual=0.0,
                              method="level bisection, leftover spent by the weighted rule")


def solve_continuous(problem: AllocationProblem) -> ContinuousSolution:
    """Solve the continuous allocation problem with cvxpy and Clarabel.

    Separable maximin is solved exactly without cvxpy (see :func:`_solve_maximin`).

    Parameters
    ----------
    problem : AllocationProblem
        A problem whose quotas fit in the budget (checked by the caller).

    Returns
    -------
    ContinuousSolution
        Totals within their bounds and the budget (solver round-off is trimmed), the solver
        status and the budget constraint's dual value (the objective's rate of improvement per
        unit of budget; ``None`` without a budget or when the method gives none).

    Raises
    ------
    InfeasibleStudy
        When the solver proves the targets, bounds and budget cannot all hold.
    FairallocError
        When the solver fails.
    """
    if problem.rule.form == "worst":
        return _solve_maximin(problem)
    return _solve_with_cvxpy(problem)


def _solve_with_cvxpy(problem: AllocationProblem) -> ContinuousSolution:
    import cvxpy as cp

    key = _cache_key(problem)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = _compile(problem)
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    units = _set_parameters(compiled, problem)
    try:
        _run(compiled)
    except cp.error.SolverError as error:
        raise FairallocError(f"the solver failed on this study: {error}") from None
    status = compiled.problem.status
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleStudy(
            "no allocation meets every target within the budget and the groups' bounds;"
            " raise the budget, relax a target or enlarge a pool"
        )
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise FairallocError(f"the solver did not find an optimum (status {status})")
    n = _fit_budget(problem, units.size * np.asarray(compiled.total.value, dtype=float))
    dual = None
    if compiled.budget_constraint is not None:
        scaled = float(np.asarray(compiled.budget_constraint.dual_value).item())
        dual = scaled * units.loss / units.money
    return ContinuousSolution(n=n, status=status, budget_dual=dual)
