"""Every plan's certified bound and gap (issue 15), checked against optima found independently:
brute force over every whole-sample allocation of small studies (the losses and aggregates are
written out here, not taken from the planner), and closed forms for continuous plans."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from allocate.curves import Curve
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec

CURVES = [(1.5, 0.5, 0.05), (4.0, 0.4, 0.1), (2.5, 0.7, 0.02)]


def small_study(utility: str, *, coupled: bool, sense: str = "loss", targets=(None,) * 3,
                budget: float | None = 60.0) -> StudySpec:
    groups = tuple(
        GroupSpec(name=f"g{i}", curve=Curve(a=a, b=b, c=c, t=0.4 if coupled else 0.0, q=0.5,
                                            sense=sense),
                  cost=[1.0, 2.0, 3.0][i], weight=[0.5, 0.3, 0.2][i], have=[2, 0, 1][i],
                  max=[40, 25, math.inf][i], target=targets[i])
        for i, (a, b, c) in enumerate(CURVES)
    )
    return StudySpec(groups=groups, budget=budget, utility=utility, p=3.0)


def brute_force(study: StudySpec) -> float:
    """The best objective (loss sense) over every whole-sample allocation, by enumeration."""
    groups = study.groups
    cost = np.array([g.cost for g in groups])
    weight = np.array([g.weight for g in groups]) / sum(g.weight for g in groups)
    spendable = 200.0 if study.budget is None else study.budget
    ranges = [range(max(g.have, 1), int(min(g.max, g.have + spendable // g.cost)) + 1)
              for g in groups]
    n = np.array(list(itertools.product(*ranges)), dtype=float)
    spend = (n - [g.have for g in groups]) @ cost
    a, b, c, t, q = (np.array([getattr(g.curve, k) for g in groups]) for k in "abctq")
    losses = c + a * n ** (-b) + t * n.sum(axis=1, keepdims=True) ** (-q)
    ok = spend <= spendable + 1e-9
    for i, group in enumerate(groups):
        if group.target is not None:
            ok &= losses[:, i] <= group.curve.from_metric(group.target)
    losses, spend = losses[ok], spend[ok]
    if study.utility == "weighted":
        values = losses @ weight
    elif study.utility == "power-mean":
        values = (losses**3 @ weight) ** (1 / 3)
    elif study.utility == "maximin":
        values = losses.max(axis=1)
    else:
        values = spend
    return float(values.min())


CASES = [
    ("weighted", False, (None,) * 3), ("weighted", True, (None,) * 3),
    ("maximin", False, (None,) * 3), ("maximin", True, (None,) * 3),
    ("power-mean", False, (None,) * 3), ("power-mean", True, (None,) * 3),
    ("weighted", False, (0.45, None, 0.5)), ("weighted", True, (0.45, None, 0.5)),
    ("target", False, (0.4, None, 0.3)), ("target", True, (0.5, 1.3, 0.4)),
]


@pytest.mark.parametrize("utility, coupled, targets", CASES)
def test_the_bound_never_exceeds_the_best_whole_sample_plan(utility, coupled, targets):
    study = small_study(utility, coupled=coupled, targets=targets,
                        budget=None if utility == "target" else 60.0)
    best = brute_force(study)
    result = plan(study)
    assert result.bound <= best * (1 + 1e-12)
    assert result.objective >= best * (1 - 1e-12)  # a plan is never better than the best
    assert result.gap == pytest.approx(result.objective - result.bound, abs=1e-15)
    if result.status == "optimal":  # a claimed optimum is the brute-force one, gap zero
        assert result.objective == pytest.approx(best, rel=1e-12)
        assert result.gap == 0.0
    else:
        assert result.gap > 0.0
    # the continuous relaxation is no worse than the best whole-sample plan, and certified
    relaxed = plan(study, integer=False)
    assert relaxed.bound <= relaxed.objective <= best * (1 + 1e-9)
    assert relaxed.gap <= 1e-5 * abs(relaxed.objective)
    assert relaxed.status == "optimal"


def test_a_score_plan_bounds_from_above():
    study = small_study("maximin", coupled=True, sense="score")
    best_loss = brute_force(study)  # the worst shortfall; the worst score is 1 - it
    result = plan(study)
    assert result.bound >= 1.0 - best_loss - 1e-12 >= result.objective - 1e-12


def test_a_continuous_bound_is_tight_at_the_closed_form_and_gives_the_marginal_value():
    # weighted, shared exponent b: n_g proportional to (w a / cost)^(1/(b+1)), scaled to the
    # budget; the optimum is f(B) = K B^-b, so df/dB = -b f / B
    a, w, cost, b, budget = np.array([1.0, 3.0, 0.5]), np.array([0.5, 0.3, 0.2]), \
        np.array([1.0, 2.5, 0.4]), 0.8, 600.0
    groups = tuple(GroupSpec(name=f"g{i}", curve=Curve(a=a[i], b=b), cost=cost[i], weight=w[i])
                   for i in range(3))
    shape = (w * a / cost) ** (1 / (b + 1))
    n = shape * budget / (cost @ shape)
    best = float(w @ (a * n ** (-b)))
    result = plan(StudySpec(groups=groups, budget=budget), integer=False)
    assert result.bound <= best * (1 + 1e-12)
    assert result.objective == pytest.approx(best, rel=1e-7)
    assert result.gap <= 1e-7 * best and result.status == "optimal"
    assert result.marginal_value == pytest.approx(b * best / budget, rel=1e-4)


def test_whole_sample_marginal_value_needs_no_second_solve(monkeypatch):
    from allocate import planning

    calls = []
    solve = planning._solve
    monkeypatch.setattr(planning, "_solve", lambda *args: calls.append(1) or solve(*args))
    result = plan(small_study("weighted", coupled=False))
    assert len(calls) == 1 and result.marginal_value > 0


def test_plans_print_and_serialise_their_bound():
    result = plan(small_study("power-mean", coupled=True))
    data = result.to_dict()
    assert data["bound"] == result.bound and data["gap"] == result.gap
    assert "certified" in result.summary() and result.bound_method in result.summary()


# --- power mean at large p -----------------------------------------------------------------

def hundred_groups(utility: str, p: float = 2000.0) -> StudySpec:
    rng = np.random.default_rng(5)
    groups = tuple(
        GroupSpec(name=f"g{i}", curve=Curve(a=float(rng.uniform(0.5, 5)),
                                            b=float(rng.uniform(0.3, 1.0)),
                                            c=float(rng.uniform(0, 0.1))),
                  cost=float(rng.choice([1.0, 2.0, 3.0])), weight=float(rng.uniform(0.1, 1)),
                  have=int(rng.integers(0, 50)))
        for i in range(100)
    )
    return StudySpec(groups=groups, budget=20000.0, utility=utility, p=p)


def test_power_mean_at_p_2000_on_100_groups_sits_next_to_maximin():
    # For weights w summing to one and any losses, w_min^(1/p) max L <= M_p(L) <= max L, so the
    # power-mean optimum lies between w_min^(1/p) and 1 times the maximin optimum.
    study = hundred_groups("power-mean")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        result = plan(study)
    maximin = plan(study, utility="maximin")
    weights = np.array([g.weight for g in study.groups])
    w_min = weights.min() / weights.sum()
    assert math.isfinite(result.objective)
    assert w_min ** (1 / 2000) * maximin.objective <= result.objective <= maximin.objective
    assert result.bound <= result.objective and result.spent <= 20000.0
    # the allocation is maximin's, give or take a few samples per group (not 345 vs 127)
    assert np.all(np.abs(result.totals - maximin.totals) <= 0.01 * maximin.totals + 2)


def test_power_mean_aggregate_is_stable_for_any_p():
    from allocate.optimise import AllocationProblem

    groups = tuple(GroupSpec(name=f"g{i}", curve=Curve(a=1.0, b=0.5), weight=w)
                   for i, w in enumerate([1.0, 3.0]))
    problem = AllocationProblem.from_study(
        StudySpec(groups=groups, budget=10.0, utility="power-mean", p=2000.0), budget=10.0)
    losses = np.array([1000.0, 2000.0])  # 2000^2000 overflows a double
    # (0.25 * 1000^p + 0.75 * 2000^p)^(1/p), in logs
    expected = math.exp(math.log(2000.0) + math.log(0.75) / 2000
                        + math.log1p(0.25 / 0.75 * 2.0**-2000) / 2000)
    assert problem.aggregate(losses) == pytest.approx(expected, rel=1e-13)
