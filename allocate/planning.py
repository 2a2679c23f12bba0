"""Plan a study: how many samples to collect from each group, and what each group will reach.

:func:`plan` checks that the study can be satisfied (and says in words why not), solves it in
whole samples or continuously, and returns a :class:`Plan` with the equal and proportional
baselines on the same budget and the marginal value of budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocate.baselines import BASELINES, baseline_totals
from allocate.bounds import certified_bound, linearised_bound
from allocate.curves import size_for_own_term
from allocate.errors import InfeasibleStudy, InputError
from allocate.integer import least_totals_for_levels, round_and_repair, solve_separable
from allocate.optimise import AllocationProblem, solve_continuous
from allocate.study_file import StudySpec
from allocate.utilities import Utility, utility_named

__all__ = ["GroupAllocation", "BaselinePlan", "Plan", "plan", "metric_objective"]


@dataclass(frozen=True)
class GroupAllocation:
    """One group's line of a plan: samples in hand, to collect, the total, its cost and the
    predicted metric (in the metric's own sense) at the planned totals."""

    name: str
    have: float
    collect: float
    total: float
    cost: float
    predicted: float

    def to_dict(self, integer: bool) -> dict[str, Any]:
        """The JSON form (counts as whole numbers in whole-sample plans)."""
        count = int if integer else float
        return {
            "name": self.name,
            "have": count(self.have),
            "collect": count(self.collect),
            "total": count(self.total),
            "cost": _json_number(self.cost),
            "predicted": _json_number(self.predicted),
        }


@dataclass(frozen=True)
class BaselinePlan:
    """A naive allocation on the same study (see :mod:`allocate.baselines`)."""

    name: str
    objective: float | None
    spent: float
    groups: tuple[GroupAllocation, ...]

    def to_dict(self, integer: bool) -> dict[str, Any]:
        """The JSON form."""
        return {
            "objective": _json_number(self.objective),
            "spent": _json_number(self.spent),
            "groups": [group.to_dict(integer) for group in self.groups],
        }


@dataclass(frozen=True)
class Plan:
    """The planned allocation of a study, with its baselines.

    Attributes
    ----------
    status : {"optimal", "feasible"}
        "optimal" when the plan is certified optimal: in whole samples, by a method with a proof
        (the gap is then zero); continuously, when the certified gap is within
        :data:`CONTINUOUS_GAP` of the objective. "feasible" otherwise (rounding, or a rule not
        proven optimal): the plan meets every constraint and ``gap`` says how far from the best
        it can be.
    utility, p, sense, integer, method
        What was solved and how.
    objective : float
        The utility's value in the metric's sense: for a loss, the weighted mean loss, the worst
        loss, or the power mean of losses; for a score, the weighted mean score, the worst
        score, or the weighted mean ``score_max`` minus the power mean of the shortfalls
        ``score_max - S``; for the target utility, the cost of the plan.
    budget, spent : float
        The budget (``None`` for a target study without one) and the cost of the plan.
    bound : float
        A certified limit on the objective: no plan within the study's constraints does better
        (a lower bound for losses and costs, an upper bound for scores). From the continuous
        relaxation linearised at the plan or at the continuous optimum, or the Lagrangian dual
        of the budget (see :mod:`allocate.bounds`); a whole-sample method with a proof of
        optimality certifies its own objective.
    gap : float
        ``abs(objective - bound)``: how far the plan can be from the best possible.
    bound_method : str
        How ``bound`` was certified.
    marginal_value : float or None
        How much the objective improves per extra unit of budget (``None`` for the target
        utility or without a budget), read from the same solve: the conic solver's budget dual
        where the continuous problem was solved, otherwise the budget multiplier of the
        relaxation linearised at the plan (the rate at which the best plan improves, for
        fractional samples).
    groups : tuple of GroupAllocation
    baselines : mapping of str to BaselinePlan
        ``"equal"`` and ``"proportional"``.
    """

    status: str
    utility: str
    p: float | None
    sense: str
    integer: bool
    method: str
    objective: float
    budget: float | None
    spent: float
    marginal_value: float | None
    groups: tuple[GroupAllocation, ...]
    baselines: Mapping[str, BaselinePlan]
    bound: float = math.nan
    gap: float = math.nan
    bound_method: str = ""

    @property
    def rule(self) -> Utility:
        """The utility the plan optimises (see :mod:`allocate.utilities`)."""
        return utility_named(self.utility)

    @property
    def names(self) -> tuple[str, ...]:
        """Group names in study order."""
        return tuple(group.name for group in self.groups)

    @property
    def collect(self) -> np.ndarray:
        """Samples to collect per group."""
        return np.array([group.collect for group in self.groups])

    @property
    def totals(self) -> np.ndarray:
        """Planned totals per group."""
        return np.array([group.total for group in self.groups])

    @property
    def predicted(self) -> np.ndarray:
        """Predicted metric per group at the planned totals."""
        return np.array([group.predicted for group in self.groups])

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``fairalloc plan --json``."""
        return {
            "status": self.status,
            "utility": self.utility,
            "p": self.p,
            "sense": self.sense,
            "integer": self.integer,
            "method": self.method,
            "objective": _json_number(self.objective),
            "bound": _json_number(self.bound),
            "gap": _json_number(self.gap),
            "bound_method": self.bound_method,
            "budget": _json_number(self.budget),
            "spent": _json_number(self.spent),
            "marginal_value": _json_number(self.marginal_value),
            "groups": [group.to_dict(self.integer) for group in self.groups],
            "baselines": {name: base.to_dict(self.integer) for name, base in
                          self.baselines.items()},
        }

    def to_frame(self):
        """One row per group: the plan's columns and the baselines' predictions."""
        import pandas as pd

        frame = pd.DataFrame([group.to_dict(self.integer) for group in self.groups])
        for name, base in self.baselines.items():
            frame[f"total_{name}"] = [group.total for group in base.groups]
            frame[f"predicted_{name}"] = [group.predicted for group in base.groups]
        return frame.set_index("name")

    def summary(self) -> str:
        """A plain-text report for a person."""
        metric = "score" if self.sense == "score" else "loss"
        lines = [
            f"Plan ({self.utility}{f', p = {self.p:g}' if self.p else ''}; {self.status},"
            f" {self.method})",
            f"{'group':<16}{'have':>9}{'collect':>10}{'total':>10}{'cost':>11}"
            f"{'pred ' + metric:>12}" + "".join(f"{name[:5] + ' ' + metric:>13}"
                                              for name in self.baselines),
        ]
        for i, group in enumerate(self.groups):
            extra = "".join(f"{base.groups[i].predicted:>13.4g}"
                            for base in self.baselines.values())
            lines.append(
                f"{group.name[:15]:<16}{group.have:>9g}{group.collect:>10.6g}"
                f"{group.total:>10.6g}{group.cost:>11.6g}{group.predicted:>12.4g}{extra}"
            )
        lines.append(f"objective {self.objective:.6g}; " + "; ".join(
            f"{name} {_format(base.objective)}" for name, base in self.baselines.items()))
        # the spend (the cost form's objective) is lower-better whatever the metric's sense
        in_metric_sense = self.rule.form != "cost"
        limit = "at most" if self.sense == "score" and in_metric_sense else "at least"
        lines.append(f"certified: the best plan's objective is {limit} {_format(self.bound)}"
                     f" (gap {_format(self.gap)}; {self.bound_method})")
        lines.append(f"spent {self.spent:.6g} of budget {_format(self.budget)};"
                     f" marginal value of budget {_format(self.marginal_value)} per unit")
        return "\n".join(lines)


def _format(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _checked_overrides(study: StudySpec, budget, utility, p, integer) -> tuple:
    budget = study.budget if budget is None else budget
    utility = study.utility if utility is None else utility
    p = study.p if p is None else p
    integer = study.integer if integer is None else integer
    if budget is not None and not (
        isinstance(budget, int | float) and not isinstance(budget, bool)
        and math.isfinite(budget) and budget >= 0
    ):
        raise InputError(f"budget must be a number >= 0; got {budget!r}")
    rule = utility_named(utility)
    if not (isinstance(p, int | float) and math.isfinite(p) and p >= 1):
        raise InputError(f"p must be a number >= 1; got {p!r}")
    if budget is None and rule.needs_budget:
        raise InputError("the study has no budget: set budget in the study file or pass budget=")
    if not rule.needs_budget and all(group.target is None for group in study.groups):
        raise InputError(f"utility {utility!r} needs a target on at least one group")
    return budget, utility, float(p), bool(integer)


def _explain_infeasible(study: StudySpec, problem: AllocationProblem, integer: bool) -> None:
    """Raise :class:`InfeasibleStudy` in words when the study's constraints cannot all hold."""
    lower = np.ceil(problem.lower - 1e-9)
    quota_cost = problem.spend(lower)
    if quota_cost > problem.budget * (1 + 1e-12):
        raise InfeasibleStudy(
            f"the quotas cost {quota_cost:.6g} (each group's min total, and at least one sample"
            f" per group), more than the budget {problem.budget:g}; raise the budget or lower min"
        )
    pooled = float(problem.upper.sum())
    best = problem.c + problem.a * problem.upper ** (-problem.b) + problem.t * pooled ** (
        -problem.q)
    for i, group in enumerate(study.groups):
        if group.target is None:
            continue
        curve = group.curve
        if group.target_loss <= curve.c:
            if curve.sense == "score":
                raise InfeasibleStudy(
                    f"group {group.name!r}: target score {group.target:g} is at or above its best"
                    f" reachable score score_max - c = {curve.score_max - curve.c:g}; lower the"
                    " target"
                )
            raise InfeasibleStudy(
                f"group {group.name!r}: target {group.target:g} is at or below its asymptote"
                f" c = {curve.c:g}, which no sample size reaches; raise the target above it"
            )
        if best[i] > problem.cap[i]:
            raise InfeasibleStudy(
                f"group {group.name!r}: target {group.target:g} cannot be reached within its pool"
                f" of max = {group.max:g} samples (best possible"
                f" {float(curve.to_metric(best[i])):.4g}); relax the target or raise max"
            )
    if problem.separable and np.any(np.isfinite(problem.cap)) and math.isfinite(problem.budget):
        need = _least_totals_for_targets(problem, integer)
        cost = problem.spend(np.maximum(lower, need))
        if cost > problem.budget * (1 + 1e-12):
            raise InfeasibleStudy(
                f"reaching every target costs at least {cost:.6g}, more than the budget"
                f" {problem.budget:g}; raise the budget or relax the targets"
            )


def _least_totals_for_targets(problem: AllocationProblem, integer: bool) -> np.ndarray:
    capped = np.isfinite(problem.cap)
    if integer:
        need = least_totals_for_levels(problem, problem.cap)
    else:
        need = size_for_own_term(problem.a, problem.b, np.where(capped, problem.cap - problem.c,
                                                                1.0))
    return np.where(capped, need, problem.lower)


#: A continuous plan is "optimal" when its certified gap is within this fraction of the objective.
CONTINUOUS_GAP = 1e-5
#: A whole-sample plan whose certified gap is within this fraction of the objective (the
#: round-off of the sums behind the bound) is proven optimal.
WHOLE_SAMPLE_ROUND_OFF = 1e-12


@dataclass(frozen=True)
class _Solved:
    """What a solve found: totals, method, whether the method proves them optimal, the budget
    dual (conic solves), the continuous optimum (where it was solved) and any bound the
    method certified itself (loss sense)."""

    n: np.ndarray
    method: str
    exact: bool
    dual: float | None = None
    relaxed: np.ndarray | None = None
    bound: float | None = None


def _solve(problem: AllocationProblem, integer: bool) -> _Solved:
    if integer and problem.separable:
        solution = solve_separable(problem)
        return _Solved(solution.n, solution.method, solution.exact, bound=solution.bound)
    if not integer and problem.separable and problem.rule.form == "cost":
        need = np.maximum(problem.lower, _least_totals_for_targets(problem, integer=False))
        return _Solved(need, "least totals per target", True, relaxed=need)
    continuous = solve_continuous(problem)
    if not integer:
        converged = continuous.status == "optimal"
        return _Solved(continuous.n, continuous.method, converged, continuous.budget_dual,
                       relaxed=continuous.n)
    solution = round_and_repair(problem, continuous.n)
    return _Solved(solution.n, solution.method, solution.exact, continuous.budget_dual,
                   relaxed=continuous.n)


@dataclass(frozen=True)
class _Certificate:
    bound: float  # loss sense
    method: str
    optimal: bool
    multiplier: float | None


def _certify(problem: AllocationProblem, solved: _Solved, n: np.ndarray, integer: bool,
             proven: bool) -> _Certificate:
    """The certified bound on the plan at totals ``n`` and whether it proves the plan optimal."""
    objective = problem.objective(n)
    point = solved.relaxed if solved.relaxed is not None else n
    if integer and proven:  # the method's proof certifies it; the relaxation gives the rate
        found = linearised_bound(problem, point)
        return _Certificate(objective, f"exact: {solved.method}", True, found.budget_multiplier)
    found = certified_bound(problem, point)
    bound, method = found.value, found.method
    if solved.bound is not None and solved.bound > bound:
        bound, method = solved.bound, "Lagrangian bound in whole samples"
    bound = min(bound, objective)
    # whole samples: a gap within the round-off of the sums proves the plan; continuous plans
    # are solved to a tolerance
    tolerance = (WHOLE_SAMPLE_ROUND_OFF if integer else CONTINUOUS_GAP) * abs(objective)
    return _Certificate(bound, method, objective - bound <= tolerance, found.budget_multiplier)


def _allocation(problem: AllocationProblem, study: StudySpec, n: np.ndarray
                ) -> tuple[GroupAllocation, ...]:
    n = np.asarray(n, dtype=float)
    losses = problem.losses(n)
    if study.sense == "score":
        losses = np.array([g.curve.score_max for g in study.groups]) - losses
    collect = n - problem.have
    columns = zip(problem.have.tolist(), collect.tolist(), n.tolist(),
                  (problem.cost * collect).tolist(), losses.tolist(), strict=True)
    return tuple(
        GroupAllocation(name=group.name, have=have, collect=more, total=total, cost=cost,
                        predicted=predicted)
        for group, (have, more, total, cost, predicted) in zip(study.groups, columns, strict=True)
    )


def metric_objective(problem: AllocationProblem, value: float) -> float:
    """An objective value from the loss sense to the metric's own sense."""
    return problem.rule.to_metric(problem, value)


def _baseline(problem: AllocationProblem, study: StudySpec, name: str, integer: bool
              ) -> BaselinePlan:
    n = baseline_totals(problem, name, integer=integer)
    if n is None:  # target utility, unreachable with this shape: show it at the pools' limit
        n = np.clip(np.where(np.isfinite(problem.upper), problem.upper, problem.lower),
                    problem.lower, problem.upper)
        objective = None
    else:
        objective = metric_objective(problem, problem.objective(n))
    return BaselinePlan(name, objective, problem.spend(n), _allocation(problem, study, n))


def _marginal_value(problem: AllocationProblem, dual: float | None,
                    multiplier: float | None) -> float | None:
    if not problem.rule.needs_budget or not math.isfinite(problem.budget):
        return None
    value = dual if dual is not None else multiplier
    return None if value is None else max(value, 0.0)


def plan(
    study: StudySpec,
    *,
    budget: float | None = None,
    utility: str | None = None,
    p: float | None = None,
    integer: bool | None = None,
) -> Plan:
    """Plan how many samples to collect from each group of ``study``.

    Parameters
    ----------
    study : StudySpec
        The groups, their curves, costs and bounds (see :func:`allocate.read_study`).
    budget, utility, p, integer : optional
        Override the study's own values.

    Returns
    -------
    Plan
        Totals within every bound, cost within the budget, targets met.

    Raises
    ------
    InputError
        A bad override, or no budget for a utility that needs one.
    InfeasibleStudy
        Quotas dearer than the budget, a target below a group's asymptote or beyond its pool,
        or targets dearer than the budget (the message says which).

    Examples
    --------
    >>> from allocate.curves import Curve
    >>> from allocate.study_file import GroupSpec, StudySpec
    >>> study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=1.0)),
    ...                           GroupSpec("B", Curve(a=4.0, b=1.0))),
    ...                   budget=30, utility="maximin")
    >>> plan(study).totals.tolist()
    [6.0, 24.0]
    """
    budget, utility, p, integer = _checked_overrides(study, budget, utility, p, integer)
    problem = AllocationProblem.from_study(
        StudySpec(groups=study.groups, budget=budget, utility=utility, p=p, integer=integer),
        budget=budget,
    )
    _explain_infeasible(study, problem, integer)
    solved = _solve(problem, integer)
    n, method, exact = solved.n, solved.method, solved.exact
    baselines = {name: _baseline(problem, study, name, integer) for name in BASELINES}
    loss_objective = problem.objective(n)
    if not exact:  # a rule not proven optimal must at least match the baselines
        for name in BASELINES:
            base = baseline_totals(problem, name, integer=integer)
            if (base is not None and problem.meets_caps(base)
                    and problem.spend(base) <= problem.budget
                    and problem.objective(base) < loss_objective):
                n, loss_objective, method = base, problem.objective(base), f"{name} baseline"
    certificate = _certify(problem, solved, n, integer, proven=exact and n is solved.n)
    bound = metric_objective(problem, certificate.bound)
    objective = metric_objective(problem, loss_objective)
    return Plan(
        status="optimal" if certificate.optimal else "feasible",
        utility=utility,
        p=p if utility_named(utility).uses_p else None,
        sense=study.sense,
        integer=integer,
        method=method,
        objective=objective,
        budget=None if budget is None else float(budget),
        spent=problem.spend(n),
        marginal_value=_marginal_value(problem, solved.dual, certificate.multiplier),
        groups=_allocation(problem, study, n),
        baselines=baselines,
        bound=bound,
        gap=abs(objective - bound),
        bound_method=certificate.method,
    )
