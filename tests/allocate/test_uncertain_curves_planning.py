"""Planning on curve draws: brute force on small cases, one draw is the plain plan, the cautious
step's two ends."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from allocate.curves import Curve
from allocate.errors import InfeasibleStudy, InputError
from allocate.optimise import AllocationProblem
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec
from allocate.uncertain_curves import (
    CurveDraws,
    cautious_totals,
    composition_totals,
    draw_objectives,
    expected_totals,
)


def random_case(seed: int, *, groups: int, draws: int, utility: str, unit_costs: bool,
                budget: float = 30.0):  # fmt: skip
    """A small study and curve draws: params[d][g] = (a, b, c)."""
    rng = np.random.default_rng(seed)
    params = [[(rng.uniform(0.5, 4), rng.uniform(0.3, 1.2), rng.uniform(0, 0.2))
               for _ in range(groups)] for _ in range(draws)]  # fmt: skip
    costs = np.ones(groups) if unit_costs else rng.choice([1.0, 2.0, 3.0], size=groups)
    have = rng.integers(0, 4, size=groups)
    pools = [math.inf if rng.random() < 0.5 else int(have[g] + rng.integers(3, 15))
             for g in range(groups)]  # fmt: skip
    specs = tuple(
        GroupSpec(name=f"g{g}", curve=Curve(a=1.0, b=0.5), cost=float(costs[g]),
                  weight=float(rng.uniform(0.2, 1.0)), have=int(have[g]), max=pools[g])
        for g in range(groups)
    )  # fmt: skip
    study = StudySpec(groups=specs, budget=budget, utility=utility, p=2.0)
    return study, params


def draws_of(params) -> CurveDraws:
    return CurveDraws.from_curves([[Curve(a=a, b=b, c=c) for a, b, c in row] for row in params])


def mean_loss(params, g: int, n: float) -> float:
    """Group g's loss at n averaged over the draws, written out from the curve formula."""
    return sum(row[g][2] + row[g][0] * n ** -row[g][1] for row in params) / len(params)


def brute_force(study: StudySpec, params) -> float:
    """The best objective over every whole allocation within the bounds and the budget."""
    groups = study.groups
    weights = np.array([g.weight for g in groups]) / sum(g.weight for g in groups)
    ranges = []
    for g in groups:
        low = max(g.have, g.min, 1)
        high = low + int(study.budget // g.cost)
        high = min(high, g.max) if math.isfinite(g.max) else high
        ranges.append(range(low, int(high) + 1))
    best = math.inf
    for n in itertools.product(*ranges):
        spend = sum(g.cost * (x - g.have) for g, x in zip(groups, n, strict=True))
        if spend > study.budget + 1e-9:
            continue
        losses = np.array([mean_loss(params, i, x) for i, x in enumerate(n)])
        if study.utility == "maximin":
            value = losses.max()
        elif study.utility == "power-mean":
            value = (weights @ losses**study.p) ** (1 / study.p)
        else:
            value = weights @ losses
        best = min(best, value)
    return best


def objective(study: StudySpec, params, n) -> float:
    problem = AllocationProblem.from_study(study, budget=study.budget)
    return problem.aggregate(np.array([mean_loss(params, i, x) for i, x in enumerate(n)]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "utility, unit_costs, groups",
    [("maximin", False, 2), ("maximin", False, 3), ("weighted", True, 3),
     ("power-mean", True, 2), ("weighted", True, 2)],
)  # fmt: skip
def test_the_plan_on_curve_draws_is_the_best_whole_allocation(seed, utility, unit_costs, groups):
    study, params = random_case(seed, groups=groups, draws=3, utility=utility,
                                unit_costs=unit_costs)
    problem = AllocationProblem.from_study(study, budget=study.budget)
    n = expected_totals(problem, draws_of(params))
    assert np.all(n == np.round(n)) and problem.affordable(n) and np.all(n >= problem.lower)
    assert objective(study, params, n) == pytest.approx(brute_force(study, params), abs=1e-12)


@pytest.mark.parametrize("left", [0.0, 1.0, 1.5, 3.0])
def test_scores_with_less_budget_than_a_dear_sample_keep_finite_totals(left):
    # score curves shift every loss by -score_max: levels must be compared as they are computed
    score = [Curve(a=13197.6, b=2.0, c=3.19, sense="score", score_max=4.75),
             Curve(a=19.2, b=0.57, c=2.94, sense="score", score_max=4.75)]
    groups = tuple(GroupSpec(name=name, curve=curve, cost=cost, have=have, min=have, max=1200)
                   for name, curve, cost, have in zip("AB", score, (1.0, 2.0), (265, 617),
                                                      strict=True))  # fmt: skip
    study = StudySpec(groups=groups, budget=left, utility="maximin")
    problem = AllocationProblem.from_study(study, budget=left)
    rng = np.random.default_rng(0)
    draws = CurveDraws.from_curves([[replace(c, a=c.a * rng.uniform(0.8, 1.2)) for c in score]
                                    for _ in range(30)])  # fmt: skip
    n = expected_totals(problem, draws)
    assert np.all(np.isfinite(n)) and problem.affordable(n)
    if left < 2:  # only A's samples are affordable
        assert n.tolist() == [265 + math.floor(left), 617]
    else:
        assert problem.spend(n) > left - 1


@pytest.mark.parametrize("seed", range(4))
def test_targets_are_met_at_least_cost_under_the_draws(seed):
    study, params = random_case(seed, groups=2, draws=3, utility="target", unit_costs=False,
                                budget=60.0)
    levels = [mean_loss(params, 0, 7.3), mean_loss(params, 1, 21.6)]
    groups = tuple(GroupSpec(name=g.name, curve=g.curve, cost=g.cost, have=g.have, max=math.inf,
                             target=level) for g, level in zip(study.groups, levels, strict=True))
    study = StudySpec(groups=groups, budget=None, utility="target")
    n = expected_totals(AllocationProblem.from_study(study, budget=None), draws_of(params))
    # the least whole total meeting each level, by counting up
    least = [next(x for x in range(1, 100) if mean_loss(params, g, x) <= levels[g])
             for g in range(2)]  # fmt: skip
    assert n.tolist() == [float(max(x, g.have)) for x, g in zip(least, groups, strict=True)]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("utility", ["maximin", "weighted"])
def test_with_one_draw_it_is_the_plain_plan(seed, utility):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(2, 5))
    curves = [Curve(a=rng.uniform(1, 6), b=rng.uniform(0.25, 0.7), c=rng.uniform(0, 0.1))
              for _ in range(k)]  # fmt: skip
    costs = rng.choice([1.0, 2.0, 4.0], size=k) if utility == "maximin" else np.ones(k)
    groups = tuple(GroupSpec(name=f"g{i}", curve=curve, cost=float(cost),
                             weight=float(rng.uniform(0.1, 1)), have=int(rng.integers(0, 30)))
                   for i, (curve, cost) in enumerate(zip(curves, costs, strict=True)))
    study = StudySpec(groups=groups, budget=float(rng.integers(200, 2000)), utility=utility)
    planned = plan(study)
    problem = AllocationProblem.from_study(study, budget=study.budget)
    n = expected_totals(problem, CurveDraws.from_curves([curves]))
    assert problem.objective(n) == pytest.approx(problem.objective(planned.totals), rel=1e-12)
    if utility == "weighted":  # a unique optimum
        assert n.tolist() == planned.totals.tolist()


def test_curve_draws_average_each_groups_losses():
    draws = CurveDraws.from_curves([[Curve(a=1.0, b=1.0), Curve(a=2.0, b=0.5, c=0.1)],
                                    [Curve(a=3.0, b=1.0), Curve(a=4.0, b=0.5, c=0.3)]])
    assert draws.expected_losses(np.array([10.0, 4.0])) == pytest.approx([0.2, 1.7])
    assert draws.losses(np.array([10.0, 4.0])).shape == (2, 2)


def test_bad_draws_and_unreachable_targets_are_refused():
    with pytest.raises(InputError, match="separable curves"):
        CurveDraws.from_curves([[Curve(a=1.0, b=1.0, t=0.5)]])
    with pytest.raises(InputError, match="a > 0"):
        CurveDraws(a=np.array([[-1.0]]), b=np.array([[1.0]]), c=np.array([[0.0]]))
    study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=1.0), target=0.05),), budget=5.0,
                      utility="maximin")
    problem = AllocationProblem.from_study(study, budget=5.0)
    with pytest.raises(InfeasibleStudy, match="reaching every target costs at least 20"):
        expected_totals(problem, CurveDraws.from_curves([[Curve(a=1.0, b=1.0)]]))
    with pytest.raises(InputError, match="2 groups; the study has 1"):
        expected_totals(problem, CurveDraws.from_curves([[Curve(a=1.0, b=1.0)] * 2]))


def two_group_problem(have, budget=100.0, pools=(math.inf, math.inf)) -> AllocationProblem:
    groups = tuple(GroupSpec(name=name, curve=Curve(a=1.0, b=0.5), have=h, min=h, max=pool)
                   for name, h, pool in zip("AB", have, pools, strict=True))
    study = StudySpec(groups=groups, budget=budget, utility="maximin")
    return AllocationProblem.from_study(study, budget=budget)


def test_keeping_the_current_shares_spends_the_budget_in_proportion():
    assert composition_totals(two_group_problem((50, 150))) == pytest.approx([75.0, 225.0])
    # B fills its pool of 160; A takes the rest of the budget
    capped = two_group_problem((50, 150), pools=(math.inf, 160))
    assert composition_totals(capped) == pytest.approx([140.0, 160.0])


def test_the_cautious_step_moves_only_where_every_draw_gains():
    problem = two_group_problem((50, 50))
    planned = np.array([60.0, 140.0])  # most of the budget to B
    b_worse = [Curve(a=1.0, b=0.5), Curve(a=4.0, b=0.5)]
    a_worse = [Curve(a=4.0, b=0.5), Curve(a=1.0, b=0.5)]
    sure = CurveDraws.from_curves([b_worse, b_worse])
    assert cautious_totals(problem, sure, planned) == pytest.approx(planned)
    split = CurveDraws.from_curves([b_worse, a_worse])  # half the draws lose by moving
    assert cautious_totals(problem, split, planned) == pytest.approx([100.0, 100.0])
    with pytest.raises(InputError, match="level must be between 0 and 1"):
        cautious_totals(problem, sure, planned, level=1.0)


@pytest.mark.parametrize("utility", ["weighted", "maximin", "power-mean"])
def test_each_draws_objective_is_the_utility_written_out(utility):
    groups = (GroupSpec(name="A", curve=Curve(a=1.0, b=1.0), weight=1.0),
              GroupSpec(name="B", curve=Curve(a=1.0, b=1.0), weight=3.0))  # fmt: skip
    study = StudySpec(groups=groups, budget=100.0, utility=utility, p=2.0)
    problem = AllocationProblem.from_study(study, budget=100.0)
    a = [[1.0, 4.0], [2.0, 1.0]]  # a[d][g]; every b = 1, c = 0: the loss is a / n
    draws = CurveDraws.from_curves([[Curve(a=x, b=1.0) for x in row] for row in a])
    lines = [[10.0, 20.0], [20.0, 10.0], [40.0, 40.0]]
    expected = []
    for n in lines:
        row = []
        for d in range(2):
            losses = [a[d][0] / n[0], a[d][1] / n[1]]
            row.append({"weighted": (losses[0] + 3 * losses[1]) / 4,
                        "maximin": max(losses),
                        "power-mean": math.sqrt((losses[0]**2 + 3 * losses[1]**2) / 4),
                        }[utility])  # fmt: skip
        expected.append(row)
    assert draw_objectives(problem, draws, np.array(lines)) == pytest.approx(np.array(expected),
                                                                             rel=1e-14)
