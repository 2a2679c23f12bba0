"""Planning on uncertain learning curves: curve draws, the expected-loss plan, a cautious step.

A fitted curve is an estimate. Bootstrap refits (:func:`allocate.fitting.fit_group` with
``bootstrap``) give draws of each group's curve that fit its measurements about as well as the
estimate does. Two strategies plan on those draws instead of the point estimate:

- ``expected``: each round, plan the remaining budget on each group's *expected* loss, the mean
  over the draws ``Lbar_g(n) = mean_d (c_d + a_d n^-b_d)``. Under the weighted utility that is
  exactly the expected utility over the draws (the mean of a weighted sum of losses is the
  weighted sum of their means). Under maximin it is the worst of the groups' expected losses,
  not the mean over draws of the worst loss: each group is judged by the loss it is expected to
  reach, the problem stays separable (each ``Lbar_g`` is convex and decreasing in its own total),
  so the whole-sample optimum is found exactly as for plain curves, and with one draw it is the
  plain plan. The mean of the worst loss is convex too, but couples the groups in every draw.
- ``cautious``: as ``expected``, but each round moves away from the current composition only as
  far as the predicted gain is sure. Along the line from "spend the rest keeping the current
  shares" to the expected plan, it takes the point where the gain over keeping the shares has
  the largest lower quantile over the draws (at ``level``); when no point's gain is sure, the
  batch keeps the current shares.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from allocate.curves import Curve
from allocate.errors import FairallocError, InfeasibleStudy, InputError
from allocate.fitting import CurveFits, min_resamples
from allocate.optimise import AllocationProblem, bisect_monotone
from allocate.strategies import Adaptive, StudyState, fit_measurements

__all__ = [
    "CurveDraws",
    "expected_totals",
    "composition_totals",
    "cautious_totals",
    "draw_objectives",
    "Expected",
    "Cautious",
]

_LARGEST_TOTAL = 1e15


@dataclass(frozen=True)
class CurveDraws:
    """Draws of every group's learning curve ``c + a n^-b``: one row per draw, one column per
    group, in the study's group order.

    Examples
    --------
    >>> draws = CurveDraws.from_curves([[Curve(a=1.0, b=1.0)], [Curve(a=3.0, b=1.0)]])
    >>> draws.expected_losses(np.array([10.0])).tolist()
    [0.2]
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.atleast_2d(np.asarray(x, dtype=float)) for x in (self.a, self.b, self.c)]
        if len({x.shape for x in arrays}) > 1 or arrays[0].shape[0] < 1:
            raise InputError("curve draws need arrays a, b, c of one shape (draws, groups)")
        a, b, c = arrays
        if not (np.all(np.isfinite(arrays)) and np.all(a > 0) and np.all(b > 0)
                and np.all(c >= 0)):
            raise InputError("curve draws need finite a > 0, b > 0 and c >= 0")
        for name, value in zip("abc", arrays, strict=True):
            object.__setattr__(self, name, value)

    @classmethod
    def from_curves(cls, draws: Sequence[Sequence[Curve]]) -> CurveDraws:
        """Draws from curves: ``draws[d][g]`` is group ``g``'s curve in draw ``d``."""
        curves = [list(row) for row in draws]
        if any(curve.t > 0 for row in curves for curve in row):
            raise InputError("curve draws take separable curves (t = 0)")
        def column(name: str) -> np.ndarray:
            return np.array([[getattr(curve, name) for curve in row] for row in curves], float)
        return cls(a=column("a"), b=column("b"), c=column("c"))

    @classmethod
    def from_fits(cls, fits: CurveFits) -> CurveDraws:
        """Each group's bootstrap refits as draws (its point estimate alone when it has none).

        Raises
        ------
        InputError
            A transfer-family fit, or groups with different numbers of refits.
        """
        rows = []
        for fit in fits:
            params = fit.curve.params()
            if fit.family == "transfer":
                raise InputError("curve draws take separable curves: fit family power or"
                                 " power-offset, not transfer")
            samples = fit.bootstrap_samples
            if samples is None or len(samples) == 0:
                samples = np.array([[fit.estimates[k] for k in fit.estimates]])
            full = {k: np.full(len(samples), v) for k, v in params.items()}
            for j, name in enumerate(fit.estimates):
                full[name] = np.asarray(samples[:, j], dtype=float)
            rows.append(full)
        if len({len(row["a"]) for row in rows}) > 1:
            raise InputError("every group needs the same number of curve draws")
        return cls(*(np.column_stack([row[k] for row in rows]) for k in "abc"))

    @property
    def draws(self) -> int:
        """The number of draws."""
        return self.a.shape[0]

    @property
    def groups(self) -> int:
        """The number of groups."""
        return self.a.shape[1]

    def losses(self, n: np.ndarray) -> np.ndarray:
        """Every draw's losses at totals ``n`` of shape ``(..., groups)``: ``(..., draws,
        groups)``."""
        n = np.asarray(n, dtype=float)[..., None, :]
        return self.c + self.a * n ** (-self.b)

    def expected_losses(self, n: np.ndarray) -> np.ndarray:
        """Each group's loss at totals ``n`` averaged over the draws: ``(..., groups)``."""
        return self.losses(n).mean(axis=-2)

    def group_expected_loss(self, group: int, n: np.ndarray | float) -> np.ndarray:
        """Group ``group``'s expected loss at its own totals ``n`` (any shape)."""
        n = np.asarray(n, dtype=float)[..., None]
        a, b, c = self.a[:, group], self.b[:, group], self.c[:, group]
        return (c + a * n ** (-b)).mean(axis=-1)


# --- the expected-loss plan in whole samples ----------------------------------------------------


def expected_totals(problem: AllocationProblem, draws: CurveDraws) -> np.ndarray:
    """Whole-sample totals that optimise the utility of the groups' expected losses.

    The constraints (``have``, bounds, costs, budget, targets) come from ``problem``; the losses
    from ``draws`` (``problem``'s own curve is not used). Maximin and targets are solved exactly
    for any costs: the lowest level every group's expected loss can be held at is found by
    bisection over each group's least whole total meeting it. Budget left at that level, and the
    weighted and power-mean utilities, are spent one sample at a time where the (weighted, or
    p-th power) expected loss falls most per unit of cost: exact when the costs are equal (a
    separable convex problem), a priority rule otherwise.

    Parameters
    ----------
    problem : AllocationProblem
        A separable problem with a finite budget (or the target utility).
    draws : CurveDraws
        One column per group of ``problem``.

    Returns
    -------
    numpy.ndarray
        Whole totals per group.

    Raises
    ------
    InputError
        Draws for another number of groups, or a coupled (transfer) problem.
    InfeasibleStudy
        The quotas cost more than the budget, or a target is out of reach under the draws.

    Examples
    --------
    >>> from allocate.study_file import GroupSpec, StudySpec
    >>> study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=1.0)),
    ...                           GroupSpec("B", Curve(a=4.0, b=1.0))),
    ...                   budget=30, utility="maximin")
    >>> problem = AllocationProblem.from_study(study, budget=30)
    >>> draws = CurveDraws.from_curves([[Curve(a=1.0, b=1.0), Curve(a=4.0, b=1.0)]])
    >>> expected_totals(problem, draws).tolist()
    [6.0, 24.0]
    """
    _check_draws(problem, draws)
    lower = np.ceil(problem.lower - 1e-9)
    if problem.spend(lower) > problem.budget * (1 + 1e-12) + 1e-9:
        raise InfeasibleStudy(
            f"the quotas cost {problem.spend(lower):.6g}, more than the budget"
            f" {problem.budget:g}; raise the budget or lower min"
        )
    lower = _meet_targets(problem, draws, lower)
    if problem.rule.form == "cost":
        return lower
    upper = _affordable_upper(problem, lower)
    if problem.rule.form == "worst":
        lower = _lowest_level(problem, draws, lower, upper)
    totals = _priority_fill(problem, draws, lower, upper)
    if not np.all(np.isfinite(totals)):  # pragma: no cover - a bug here, not the input
        raise FairallocError(f"internal error: planned totals {totals.tolist()}")
    return totals


def _check_draws(problem: AllocationProblem, draws: CurveDraws) -> None:
    if draws.groups != problem.size:
        raise InputError(f"curve draws have {draws.groups} groups; the study has {problem.size}")
    if not problem.separable:
        raise InputError("planning on curve draws takes separable studies (every t = 0)")
    if problem.rule.needs_budget and not math.isfinite(problem.budget):
        raise InputError("planning on curve draws needs a finite budget")


def _least_total(
    draws: CurveDraws, group: int, level: float, low: float, high: float, shift: float = 0.0
) -> float:
    """The least whole total in ``[low, high]`` whose expected loss plus ``shift`` is at most
    ``level`` (``inf`` if none); ``high`` may be ``inf``. Levels are compared exactly as
    :func:`_level_of` computes them, so a level taken from a total is met at that total."""
    def meets(n: float) -> bool:
        return bool(_level_of(draws, group, n, shift) <= level)

    if meets(low):
        return low
    top = min(high, _LARGEST_TOTAL)
    if not math.isfinite(high):
        top = max(2.0 * low, 1.0)
        while not meets(top):
            top *= 2.0
            if top > _LARGEST_TOTAL:
                return math.inf
    elif not meets(top):
        return math.inf
    bottom = low  # fails; top meets
    while top - bottom > 1:
        middle = math.floor((bottom + top) / 2)
        if meets(middle):
            top = middle
        else:
            bottom = middle
    return float(top)


def _level_of(draws: CurveDraws, group: int, n: float, shift: float = 0.0) -> float:
    return float(draws.group_expected_loss(group, n)) + shift


def _meet_targets(problem: AllocationProblem, draws: CurveDraws, lower: np.ndarray) -> np.ndarray:
    lower = lower.copy()
    for g in np.flatnonzero(np.isfinite(problem.cap)):
        need = _least_total(draws, int(g), float(problem.cap[g]), lower[g], problem.upper[g])
        if not math.isfinite(need):
            raise InfeasibleStudy(
                f"group {g + 1}'s target is out of reach within its pool under the curve draws"
            )
        lower[g] = need
    if problem.spend(lower) > problem.budget * (1 + 1e-12) + 1e-9:
        raise InfeasibleStudy(
            f"reaching every target costs at least {problem.spend(lower):.6g} under the curve"
            f" draws, more than the budget {problem.budget:g}"
        )
    return lower


def _affordable_upper(problem: AllocationProblem, lower: np.ndarray) -> np.ndarray:
    """Each group's most whole total with the others at ``lower``, within its pool."""
    left = max(problem.budget - problem.spend(lower), 0.0)
    reach = lower + np.floor(left / problem.cost + 1e-9)
    return np.minimum(np.floor(problem.upper + 1e-9), reach)


def _lowest_level(problem, draws: CurveDraws, lower, upper) -> np.ndarray:
    """The least totals holding every group's expected loss (plus its shift) at the lowest level
    the budget affords."""
    shift = problem.shift

    def need(level: float) -> np.ndarray:
        return np.array([
            _least_total(draws, g, level, lower[g], upper[g], shift[g])
            for g in range(problem.size)
        ])

    def affordable(level: float) -> bool:
        n = need(level)
        return bool(np.all(np.isfinite(n))) and problem.spend(n) <= problem.budget + 1e-9

    high = max(_level_of(draws, g, lower[g], shift[g]) for g in range(problem.size))
    low = max(_level_of(draws, g, upper[g], shift[g]) for g in range(problem.size))
    if affordable(low):
        return need(low)
    return need(bisect_monotone(affordable, low, high, want_high=False, rel_tol=1e-15))


def _priority_fill(problem, draws: CurveDraws, n: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Spend what is left one sample at a time where the aggregate's term falls most per unit of
    cost (the weighted expected loss, or its p-th power for the power mean)."""
    n = n.copy()
    power = problem.rule.exponent(problem)
    weight = problem.normalised_weight

    def ratio(g: int) -> float:
        now, after = draws.group_expected_loss(g, np.array([n[g], n[g] + 1.0]))
        return float(weight[g] * (now**power - after**power) / problem.cost[g])

    left = problem.budget - problem.spend(n)
    queue = [(-ratio(g), g) for g in range(problem.size) if n[g] < upper[g]]
    heapq.heapify(queue)
    while queue:
        _, g = heapq.heappop(queue)
        if problem.cost[g] > left + 1e-9:
            continue  # never affordable again: what is left only shrinks
        n[g] += 1.0
        left -= problem.cost[g]
        if n[g] < upper[g]:
            heapq.heappush(queue, (-ratio(g), g))
    return n


# --- the cautious step ---------------------------------------------------------------------------


def composition_totals(problem: AllocationProblem) -> np.ndarray:
    """Totals that spend the budget keeping the groups' current shares (``problem.have``).

    Groups that reach their pool stop there and the others share what is left, in proportion
    to their current totals. Real-valued.
    """
    have = np.maximum(np.asarray(problem.have, dtype=float), 1.0)
    n = np.maximum(have, problem.lower).astype(float)
    free = n < problem.upper
    left = problem.budget - problem.spend(n)
    for _ in range(problem.size):
        price = float(problem.cost[free] @ have[free])
        if left <= 0 or price <= 0:
            break
        grown = np.where(free, n + have * left / price, n)
        over = free & (grown > problem.upper)
        if not over.any():
            return grown
        left -= float(problem.cost[over] @ (problem.upper[over] - n[over]))
        n[over] = problem.upper[over]
        free &= ~over
    return n


def draw_objectives(problem: AllocationProblem, draws: CurveDraws, n: np.ndarray) -> np.ndarray:
    """The utility's aggregate (loss sense, lower is better) under every draw, at totals ``n``
    of shape ``(..., groups)``: ``(..., draws)``."""
    return problem.rule.aggregates(problem, draws.losses(n))


def cautious_totals(
    problem: AllocationProblem,
    draws: CurveDraws,
    planned: np.ndarray,
    *,
    level: float = 0.9,
    steps: int = 20,
) -> np.ndarray:
    """The point on the line from :func:`composition_totals` to ``planned`` whose gain over the
    first, across the draws, has the largest lower ``1 - level`` quantile.

    The gain at the start is 0 in every draw, so the answer moves away from the current shares
    only where some move is better in at least a share ``level`` of the draws; among points
    equally sure, the one nearest the start.

    Parameters
    ----------
    problem : AllocationProblem
        The study re-based on the current totals (``have``), with the budget left.
    draws : CurveDraws
    planned : numpy.ndarray
        Totals to move toward (the expected plan).
    level : float
        In (0, 1): how sure a gain must be.
    steps : int
        The line is tried at ``steps + 1`` evenly spaced points.

    Returns
    -------
    numpy.ndarray
        Real-valued totals within the budget and the pools.
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, e.g. 0.9; got {level}")
    if problem.rule.form == "cost":  # least cost for the targets: nothing to trade off
        return np.asarray(planned, dtype=float)
    start = composition_totals(problem)
    fractions = np.linspace(0.0, 1.0, int(steps) + 1)[:, None]
    line = start + fractions * (np.asarray(planned, dtype=float) - start)
    values = draw_objectives(problem, draws, line)
    sure_gain = np.quantile(values[0] - values, 1.0 - level, axis=-1)
    return line[int(np.argmax(sure_gain))]


# --- the strategies -------------------------------------------------------------------------------


def without_targets(problem: AllocationProblem) -> AllocationProblem:
    """``problem`` with every target dropped, under the utility its own plans without targets."""
    return replace(problem, cap=np.full(problem.size, np.inf),
                   utility=problem.rule.without_targets)


def rebased_problem(state: StudyState, fits: CurveFits) -> AllocationProblem:
    """The study as arrays, re-based on the current totals, with the budget left."""
    groups = tuple(
        replace(group, curve=fit.curve, have=int(total), min=max(group.min, int(total)))
        for group, fit, total in zip(state.study.groups, fits, state.totals, strict=True)
    )
    study = replace(state.study, groups=groups, budget=max(state.remaining, 0.0))
    return AllocationProblem.from_study(study, budget=study.budget)


@dataclass(frozen=True)
class Expected(Adaptive):
    """Adaptive collection planned on each group's expected loss over bootstrap curve draws.

    Each round every group's curve is refitted ``draws`` times to its resampled measurements,
    and the remaining budget is planned on the mean of those curves (see the module docstring
    and :func:`expected_totals`); one batch is collected toward that plan, as in
    :class:`~allocate.strategies.Adaptive`. With ``draws = 0`` it plans on the point estimates,
    as adaptive does.

    Parameters
    ----------
    draws : int
        Bootstrap refits per group and round (0: the point estimate only).
    batch, pilot, damping, family, log_space
        As for :class:`~allocate.strategies.Adaptive` (``family`` power or power-offset).
    """

    draws: int = 100
    name: str = field(default="expected", init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.anchor:
            raise InputError(f"anchor is a setting of the adaptive strategy, not of {self.name}")
        if self.family not in ("power", "power-offset"):
            raise InputError(
                f"the {self.name} strategy plans on separable curves: family must be power or"
                f" power-offset; got {self.family!r}"
            )
        fewest = min_resamples(0.9)
        if (isinstance(self.draws, bool) or int(self.draws) != self.draws
                or not (self.draws == 0 or self.draws >= fewest)):
            raise InputError(
                f"draws must be 0 (plan on the point estimates) or a whole number of bootstrap"
                f" refits >= {fewest}; got {self.draws!r}"
            )
        object.__setattr__(self, "draws", int(self.draws))

    def settings(self) -> dict:
        return {**super().settings(), "draws": self.draws}

    def _fit(self, state: StudyState, rng: np.random.Generator | None = None) -> CurveFits:
        return fit_measurements(state, family=self.family, log_space=self.log_space,
                                bootstrap=self.draws, rng=rng)

    def planned_totals(
        self, fits: CurveFits, state: StudyState
    ) -> tuple[np.ndarray, str | None]:
        return self.target_totals(rebased_problem(state, fits), CurveDraws.from_fits(fits))

    def target_totals(
        self, problem: AllocationProblem, draws: CurveDraws
    ) -> tuple[np.ndarray, str | None]:
        """The totals this round aims for, and a note when the targets had to be dropped."""
        try:
            return expected_totals(problem, draws), None
        except InfeasibleStudy as error:
            if not np.any(np.isfinite(problem.cap)):
                raise
            relaxed = without_targets(problem)
            note = f"targets out of reach so far, planned without them: {error}"
            return expected_totals(relaxed, draws), note


@dataclass(frozen=True)
class Cautious(Expected):
    """Expected-loss planning that moves off the current composition only as far as the gain is
    sure: see :func:`cautious_totals`.

    Parameters
    ----------
    level : float
        In (0, 1): a move is taken only as far as its gain over keeping the current shares is
        positive in at least this share of the curve draws.
    draws, batch, pilot, damping, family, log_space
        As for :class:`Expected`.
    """

    level: float = 0.9
    name: str = field(default="cautious", init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.level < 1:
            raise InputError(f"level must be between 0 and 1, e.g. 0.9; got {self.level}")

    def settings(self) -> dict:
        return {**super().settings(), "level": self.level}

    def target_totals(
        self, problem: AllocationProblem, draws: CurveDraws
    ) -> tuple[np.ndarray, str | None]:
        planned, relaxed = super().target_totals(problem, draws)
        if relaxed is not None:
            problem = without_targets(problem)
        return cautious_totals(problem, draws, planned, level=self.level), relaxed
