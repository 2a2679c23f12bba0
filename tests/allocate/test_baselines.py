"""The equal and proportional baselines against their definitions, computed independently.

Equal gives every group the same total unless a bound holds it; proportional makes totals
proportional to the weights within the bounds; both spend the budget to within one more step of
their shape. The references (``allocation_reference``) read the study's groups directly.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from allocate import plan
from allocate.curves import Curve
from allocate.study_file import GroupSpec, StudySpec
from tests.allocate.allocation_reference import (
    baseline,
    bounds,
    spend,
    target_baseline,
    targets_met,
)


def study_of(rows, budget, *, integer=True, utility="weighted"):
    groups = tuple(
        GroupSpec(f"g{i}", Curve(a=1.0 + i, b=0.4 + 0.1 * i), cost=cost, weight=weight,
                  have=have, min=least, max=most)
        for i, (cost, weight, have, least, most) in enumerate(rows)
    )  # fmt: skip
    return StudySpec(groups=groups, budget=budget, utility=utility, integer=integer)


#: (cost, weight, have, min, max) per group: unequal costs and weights, samples in hand, a quota
#: above the level, a pool below it.
STUDIES = {
    "free": ([(1, 1, 0, 0, math.inf), (2, 3, 0, 0, math.inf), (1.5, 6, 0, 0, math.inf)], 500),
    "bounded": ([(1, 5, 40, 0, math.inf), (3, 1, 0, 120, math.inf), (1, 2, 0, 0, 30),
                 (2, 4, 10, 0, math.inf)], 900),
    "seven": ([(1 + (i % 3), 1 + i, i * 5, 0, 400 if i == 6 else math.inf) for i in range(7)],
              1234.5),
}  # fmt: skip


def baseline_totals(result, name):
    return np.array([group.total for group in result.baselines[name].groups])


def planned_baseline(case: str, name: str, *, integer: bool = True):
    """Study ``case`` planned: the study, its budget, baseline ``name``'s totals and the
    groups' lower and upper bounds on a total."""
    rows, budget = STUDIES[case]
    study = study_of(rows, budget, integer=integer)
    lower, upper = bounds(study.groups)
    return study, budget, baseline_totals(plan(study), name), lower, upper


@pytest.mark.parametrize("name", ["equal", "proportional"])
@pytest.mark.parametrize("case", sorted(STUDIES))
def test_whole_sample_baselines_equal_their_definition(case, name):
    rows, budget = STUDIES[case]
    study = study_of(rows, budget)
    result = plan(study)
    expected, next_level = baseline(study.groups, name, budget)
    totals = baseline_totals(result, name)
    # The definition's totals, or (round-off at a level where two groups step at once) some of
    # the next level's steps, but never a sample beyond them and never over budget.
    assert np.all(expected <= totals) and np.all(totals <= next_level)
    assert np.sum(totals - expected) <= 1
    assert result.baselines[name].spent == pytest.approx(spend(study.groups, totals))
    assert result.baselines[name].spent <= budget


@pytest.mark.parametrize("case", sorted(STUDIES))
def test_equal_totals_are_equal_unless_a_bound_holds_them(case):
    study, budget, totals, lower, upper = planned_baseline(case, "equal")
    free = (totals > lower) & (totals < upper)
    assert free.sum() >= 2
    level = totals[free][0]
    np.testing.assert_array_equal(totals[free], level)
    assert np.all(lower[totals == lower] >= level) and np.all(upper[totals == upper] <= level)
    _spends_to_within_one_step(study, totals, np.ones(len(totals)), budget)


@pytest.mark.parametrize("case", sorted(STUDIES))
def test_proportional_totals_follow_the_weights_within_bounds(case):
    study, budget, totals, lower, upper = planned_baseline(case, "proportional")
    share = np.array([g.weight for g in study.groups]) / sum(g.weight for g in study.groups)
    free = (totals > lower) & (totals < upper)
    assert free.sum() >= 2
    # Whole samples: each free total is floor(m * share) for one common level m.
    level_low = np.max(totals[free] / share[free])
    level_high = np.min((totals[free] + 1) / share[free])
    assert level_low <= level_high * (1 + 1e-9)  # (1e-9: round-off where two groups step)
    assert not np.allclose(totals[free], totals[free][0])  # not equal shares
    _spends_to_within_one_step(study, totals, share, budget)


def _spends_to_within_one_step(study, totals, share, budget):
    """Within budget, and the next level at which some total grows costs more than it."""
    lower, upper = bounds(study.groups)
    assert spend(study.groups, totals) <= budget
    growing = totals < upper
    if not growing.any():
        return
    level = np.min(((totals + 1) / share)[growing & (totals >= lower)])
    after = np.clip(np.floor(level * share + 1e-9), lower, upper)
    assert np.any(after > totals)
    assert spend(study.groups, after) > budget


@pytest.mark.parametrize("name", ["equal", "proportional"])
@pytest.mark.parametrize("case", sorted(STUDIES))
def test_continuous_baselines_spend_the_budget_in_their_shape(case, name):
    study, budget, totals, lower, upper = planned_baseline(case, name, integer=False)
    weight = np.array([g.weight for g in study.groups])
    share = np.ones(len(totals)) if name == "equal" else weight / weight.sum()
    assert spend(study.groups, totals) == pytest.approx(budget, rel=1e-7)
    free = (totals > lower * (1 + 1e-9)) & (totals < upper * (1 - 1e-9))
    assert free.sum() >= 2
    level = totals[free] / share[free]
    np.testing.assert_allclose(level, level[0], rtol=1e-7)
    held_low, held_high = ~free & (totals <= lower * (1 + 1e-9)), ~free & ~(totals <= lower)
    assert np.all(lower[held_low] >= level[0] * share[held_low] * (1 - 1e-7))
    assert np.all(upper[held_high] <= level[0] * share[held_high] * (1 + 1e-7))


#: Targets on three of four groups (loss sense); the baselines then take the least level that
#: meets them all and report its cost.
TARGETED = ([(1, 1, 0, 0, math.inf), (2, 3, 5, 0, math.inf), (1.5, 2, 0, 0, math.inf),
             (1, 4, 0, 10, math.inf)], [0.30, 0.40, None, 0.60])  # fmt: skip


def targeted_study(rows, targets, **options):
    groups = tuple(
        GroupSpec(f"g{i}", Curve(a=1.0 + i, b=0.4 + 0.1 * i), cost=cost, weight=weight,
                  have=have, min=least, max=most, target=targets[i])
        for i, (cost, weight, have, least, most) in enumerate(rows)
    )  # fmt: skip
    return StudySpec(groups=groups, budget=None, utility="target", **options)


@pytest.mark.parametrize("name", ["equal", "proportional"])
def test_target_baselines_take_the_least_level_that_meets_every_target(name):
    study = targeted_study(*TARGETED)
    result = plan(study)
    expected = target_baseline(study.groups, name, most=5000)
    totals = baseline_totals(result, name)
    # The definition's totals, or one sample less where the level is shared with the group
    # whose target binds (the baseline's 1e-9 round-off tolerance), still meeting every target.
    assert np.all((expected - 1 <= totals) & (totals <= expected))
    assert targets_met(study.groups, totals)
    assert result.baselines[name].objective == pytest.approx(spend(study.groups, totals))


def test_a_target_the_shape_cannot_meet_has_no_baseline_objective():
    rows, targets = TARGETED
    # g0 has no weight: proportional never grows it, so never meets its target; equal does.
    # (Pools of 500: with unlimited pools the shape's level search runs off to infinity.)
    pooled = [(cost, weight, have, least, 500) for cost, weight, have, least, _ in rows]
    study = targeted_study([(1, 0, 0, 0, 500), *pooled[1:]], targets)
    result = plan(study)
    assert target_baseline(study.groups, "proportional", most=5000) is None
    assert result.baselines["proportional"].objective is None
    assert result.baselines["equal"].objective == pytest.approx(
        spend(study.groups, target_baseline(study.groups, "equal", most=5000)))


def test_a_group_of_zero_weight_stays_at_its_least_under_proportional():
    rows = [(1, 0, 3, 0, math.inf), (1, 1, 0, 0, 40), (2, 2, 0, 0, 30)]
    study = study_of(rows, 10_000)  # more than the pools of the weighted groups can take
    totals = baseline_totals(plan(study), "proportional")
    np.testing.assert_array_equal(totals, [3, 40, 30])


def largest_affordable_totals(rows, name, budget):
    """Whole-sample baseline totals without pools or quotas, in exact arithmetic: the level
    lies between the continuous one ``B / sum c_g s_g`` and a few breakpoints above it."""
    costs = [Fraction(cost) for cost, *_ in rows]
    weights = [Fraction(weight) for _, weight, *_ in rows]
    shares = [Fraction(1)] * len(rows) if name == "equal" else [w / sum(weights) for w in weights]
    continuous = Fraction(budget) / sum(c * s for c, s in zip(costs, shares, strict=True))
    levels = {Fraction(k) / s for s in shares
              for k in range(math.floor(continuous * s), math.floor(continuous * s) + 20)}
    def totals(level):
        return [math.floor(level * s) for s in shares]
    def cost(level):
        return sum(c * n for c, n in zip(costs, totals(level), strict=True))
    return np.array(totals(max(m for m in levels if cost(m) <= budget)), dtype=float)


@pytest.mark.parametrize("name", ["equal", "proportional"])
def test_whole_sample_baselines_with_hundreds_of_millions_of_samples(name):
    # More breakpoints lie within the rough level search's tolerance than the stepping from
    # breakpoint to breakpoint takes (64): the last bisection decides the level.
    rows = [(1, 1, 0, 0, math.inf), (2, 2, 0, 0, math.inf), (1.5, 3, 0, 0, math.inf)]
    study = study_of(rows, 7e8)
    result = plan(study)
    np.testing.assert_array_equal(
        baseline_totals(result, name), largest_affordable_totals(rows, name, 7e8)
    )
