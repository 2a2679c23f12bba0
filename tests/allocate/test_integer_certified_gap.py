"""A 1,000-group separable study: the whole-sample objective lies between the continuous optimum
and that optimum plus a certified gap.

The continuous optimum is computed here from its optimality conditions (no cvxpy, no
``AllocationProblem``): for the weighted utility every unbounded group's marginal loss per unit
cost equals one multiplier; for maximin every group sits at one loss level. It bounds every
whole-sample plan from below. Rounding it down (for maximin, then spending what is left on the
worst group) gives an affordable whole-sample plan, so the best whole-sample objective is at most
the objective there: that difference is the certified gap.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize

from allocate import plan
from allocate.curves import Curve
from allocate.study_file import GroupSpec, StudySpec
from tests.allocate.allocation_reference import bounds, losses, objective, spend

GROUPS = 1000


@pytest.fixture(scope="module")
def groups():
    rng = np.random.default_rng(16)
    return tuple(
        GroupSpec(f"g{i}", Curve(a=rng.uniform(0.5, 5), b=rng.uniform(0.3, 1.2),
                                 c=rng.uniform(0, 0.2)),
                  cost=float(rng.choice([1.0, 1.5, 2.0, 4.0])), weight=rng.uniform(0.1, 3),
                  have=int(rng.integers(0, 20)), min=int(rng.integers(0, 30)),
                  max=float(rng.integers(200, 2000)))
        for i in range(GROUPS)
    )  # fmt: skip


def continuous_weighted(groups, budget):
    a, b, c, cost, weight = (np.array([getattr(g.curve, k) if k in "abc" else getattr(g, k)
                                       for g in groups]) for k in ("a", "b", "c", "cost", "weight"))
    lower, upper = bounds(groups)
    share = weight / weight.sum()

    def totals(log_multiplier):
        free = (share * a * b / (np.exp(log_multiplier) * cost)) ** (1 / (b + 1))
        return np.clip(free, lower, upper)

    root = optimize.brentq(lambda x: spend(groups, totals(x)) - budget, -60, 60, xtol=1e-14)
    return totals(root)


def continuous_maximin(groups, budget):
    lower, upper = bounds(groups)
    a, b, c = (np.array([getattr(g.curve, k) for g in groups]) for k in "abc")

    def totals(level):
        return np.clip((a / np.maximum(level - c, 1e-300)) ** (1 / b), lower, upper)

    top = max(objective(groups, lower, "maximin"), 1.0)
    level = optimize.brentq(lambda v: spend(groups, totals(v)) - budget, c.max() + 1e-12, top,
                            xtol=1e-15, rtol=1e-15)  # fmt: skip
    return totals(level)


def raise_the_worst(groups, totals, budget):
    """Spend what rounding down left over on the worst group, one sample at a time, while it
    fits: still an affordable whole-sample plan, so still a certificate."""
    cost = np.array([g.cost for g in groups])
    totals = totals.copy()
    while True:
        worst = int(np.argmax(losses(groups, totals)))
        if spend(groups, totals) + cost[worst] > budget:
            return totals
        totals[worst] += 1


@pytest.mark.parametrize(("utility", "solve"), [("weighted", continuous_weighted),
                                                ("maximin", continuous_maximin)])
def test_whole_sample_objective_lies_within_the_certified_gap(groups, utility, solve):
    if utility == "maximin":  # unlimited pools, or a group at its pool's end sets the worst loss
        groups = tuple(replace(group, max=math.inf) for group in groups)
    lower, upper = bounds(groups)
    budget = spend(groups, lower) + 150_000.0
    relaxed = solve(groups, budget)
    assert spend(groups, relaxed) == pytest.approx(budget, rel=1e-9)
    assert np.sum((relaxed > lower) & (relaxed < upper)) > GROUPS // 3  # the budget binds
    floor_ = np.floor(relaxed)
    assert spend(groups, floor_) <= budget and np.all(floor_ >= lower)
    if utility == "maximin":
        floor_ = raise_the_worst(groups, floor_, budget)
    low = objective(groups, relaxed, utility)
    gap = objective(groups, floor_, utility) - low
    assert 0 < gap < 0.01 * low
    result = plan(StudySpec(groups=groups, budget=budget, utility=utility, integer=True))
    totals = result.totals
    assert np.all(totals == np.round(totals)) and np.all((lower <= totals) & (totals <= upper))
    assert spend(groups, totals) <= budget
    value = objective(groups, totals, utility)
    assert value == pytest.approx(result.objective, rel=1e-12)
    assert low * (1 - 1e-9) <= value <= low + gap
    if utility == "maximin":  # the level binds: every group not at its quota sits at it
        at_level = np.isclose(losses(groups, relaxed), low, rtol=1e-9)
        assert np.all(at_level | (relaxed == lower)) and at_level.sum() > GROUPS // 3
    # Against the library's own continuous solution: the same optimum.
    continuous = plan(StudySpec(groups=groups, budget=budget, utility=utility, integer=False))
    assert continuous.objective == pytest.approx(low, rel=1e-6)
