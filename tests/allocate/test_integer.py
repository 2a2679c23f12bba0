"""Whole-sample plans against exhaustive search on small studies, under every utility."""

from __future__ import annotations

import importlib
import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from allocate.curves import Curve
from allocate.errors import InfeasibleStudy
from allocate.optimise import AllocationProblem
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec

UTILITIES = ("weighted", "maximin", "power-mean", "target")


def brute_force(problem: AllocationProblem) -> float:
    """The best objective (loss sense) over every whole allocation, by enumeration."""
    lower = np.ceil(problem.lower)
    most = np.minimum(problem.upper, lower + np.floor((problem.budget - problem.spend(lower))
                                                      / problem.cost))
    axes = [np.arange(lo, hi + 1) for lo, hi in zip(lower, most, strict=True)]
    grid = np.array(list(itertools.product(*axes)), dtype=float)
    grid = grid[(grid - problem.have) @ problem.cost <= problem.budget + 1e-9]
    pooled = grid.sum(axis=1, keepdims=True)
    losses = problem.c + problem.a * grid ** (-problem.b) + problem.t * pooled ** (-problem.q)
    grid, losses = grid[np.all(losses <= problem.cap, axis=1)], losses[
        np.all(losses <= problem.cap, axis=1)]
    w = problem.normalised_weight
    if problem.utility == "weighted":
        values = losses @ w
    elif problem.utility == "maximin":
        values = np.max(losses + problem.shift, axis=1)
    elif problem.utility == "power-mean":
        values = (losses**problem.p @ w) ** (1 / problem.p)
    else:
        values = (grid - problem.have) @ problem.cost
    return float(values.min())


def random_study(rng: np.random.Generator, groups: int, utility: str, *, equal_costs: bool,
                 sense: str = "loss") -> StudySpec:
    specs = []
    for g in range(groups):
        curve = Curve(a=float(rng.uniform(0.5, 5.0)), b=float(rng.uniform(0.3, 1.5)),
                      c=float(rng.choice([0.0, rng.uniform(0.0, 0.1)])), sense=sense)
        have = int(rng.integers(0, 6))
        minimum = int(rng.choice([0, have + int(rng.integers(1, 8))]))
        pool = float(rng.choice([math.inf, max(have, minimum) + int(rng.integers(2, 25))]))
        target = None
        if utility == "target" or rng.random() < 0.25:
            n_target = max(have, minimum, 1) + int(rng.integers(0, 10))
            if math.isfinite(pool):
                n_target = min(n_target, int(pool))
            target = float(curve.predict(n_target))
        specs.append(GroupSpec(
            name=f"g{g}", curve=curve, weight=float(rng.uniform(0.2, 2.0)), have=have,
            min=minimum, max=pool, target=target,
            cost=1.0 if equal_costs else float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0])),
        ))
    quota = sum(s.cost * (max(s.have, s.min, 1) - s.have) for s in specs)
    budget = quota + float(rng.integers(0, 40 if groups == 3 else 90))
    if utility == "target":
        budget = budget + (30.0 if groups == 3 else 60.0)
    return StudySpec(groups=tuple(specs), budget=budget, utility=utility, p=2.5)


def check_against_brute_force(study: StudySpec) -> None:
    try:
        result = plan(study)
    except InfeasibleStudy as error:  # an infeasible draw must be infeasible for brute force too
        problem = AllocationProblem.from_study(study, budget=study.budget)
        with pytest.raises(ValueError):
            brute_force(problem)  # min() of an empty set
        assert "target" in str(error) or "quota" in str(error)
        return
    problem = AllocationProblem.from_study(study, budget=study.budget)
    n = result.totals
    assert np.all(n == np.round(n))
    assert np.all(n >= problem.lower) and np.all(n <= problem.upper)
    assert result.spent <= study.budget + 1e-9
    assert problem.meets_caps(n)
    assert result.status == "optimal"
    best = brute_force(problem)
    assert problem.objective(n) == pytest.approx(best, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("utility", UTILITIES)
@pytest.mark.parametrize("groups", [2, 3])
@pytest.mark.parametrize("equal_costs", [True, False], ids=["equal-costs", "unequal-costs"])
def test_whole_sample_plan_matches_exhaustive_search(utility, groups, equal_costs):
    rng = np.random.default_rng([groups, UTILITIES.index(utility), int(equal_costs)])
    for _ in range(25):
        check_against_brute_force(random_study(rng, groups, utility, equal_costs=equal_costs))


@pytest.mark.parametrize("utility", ["maximin", "weighted"])
def test_score_studies_match_exhaustive_search(utility):
    rng = np.random.default_rng(7)
    for _ in range(20):
        check_against_brute_force(random_study(rng, 2, utility, equal_costs=False,
                                               sense="score"))


def coupled(study: StudySpec, rng: np.random.Generator) -> StudySpec:
    groups = tuple(
        replace(g, curve=replace(g.curve, t=float(rng.uniform(0.1, 2.0)),
                                 q=float(rng.uniform(0.2, 1.0))))
        for g in study.groups
    )
    return replace(study, groups=groups)


@pytest.mark.parametrize("utility", UTILITIES)
def test_coupled_groups_round_and_repair_near_exhaustive_search(utility):
    # Not proven optimal (the groups share the pooled term), so: always feasible, never worse
    # than 1 % off the exhaustive optimum, and on these seeded draws the optimum itself.
    rng = np.random.default_rng(11)
    gaps = []
    for k in range(16):
        study = coupled(random_study(rng, 3 if k % 2 else 2, utility,
                                     equal_costs=k % 3 == 0), rng)
        problem = AllocationProblem.from_study(study, budget=study.budget)
        try:
            result = plan(study)
        except InfeasibleStudy:
            with pytest.raises(ValueError):
                brute_force(problem)
            continue
        n = result.totals
        assert result.status == "feasible"
        assert np.all(n == np.round(n)) and problem.meets_caps(n)
        assert np.all(n >= problem.lower) and np.all(n <= problem.upper)
        assert result.spent <= study.budget + 1e-9
        best = brute_force(problem)
        gaps.append((problem.objective(n) - best) / abs(best))
    assert len(gaps) >= 5
    assert max(gaps) <= 0.01
    assert np.median(gaps) <= 1e-12


def test_unequal_costs_defeat_the_ratio_rule_but_not_the_dynamic_programme():
    # One sample of the dear group gains more than the cheap group can, yet the cheap group's
    # first samples have the better gain per cost: the ratio rule would spend the budget there.
    dear = GroupSpec("dear", Curve(a=100.0, b=1.0), cost=10.0, have=1)
    cheap = GroupSpec("cheap", Curve(a=12.0, b=3.0), cost=1.0, have=1)
    study = StudySpec(groups=(dear, cheap), budget=10.0)
    result = plan(study)
    # the ratio rule buys ten cheap samples (first gain 10.5 per unit, 12 in all); one dear
    # sample gains 50
    assert result.totals.tolist() == [2.0, 1.0]
    assert "dynamic programme" in result.method and result.status == "optimal"
    problem = AllocationProblem.from_study(study, budget=10.0)
    assert problem.objective(result.totals) == pytest.approx(brute_force(problem))


@pytest.mark.parametrize("utility", ["weighted", "power-mean"])
def test_lagrangian_ranges_never_cut_off_the_optimum(utility, monkeypatch):
    # Against the dynamic programme over every total (no ranges), on budgets too large to
    # enumerate: the confined search must find the same optimum.
    integer = importlib.import_module("allocate.integer")
    rng = np.random.default_rng(5)
    for _ in range(6):
        groups = tuple(
            GroupSpec(f"g{g}", Curve(a=float(rng.uniform(0.5, 5.0)), b=float(rng.uniform(0.3, 1.5)),
                                     c=float(rng.uniform(0.0, 0.05))),
                      cost=float(rng.choice([0.5, 1.0, 1.5, 2.5])), have=int(rng.integers(0, 30)),
                      weight=float(rng.uniform(0.2, 2.0)),
                      max=float(rng.choice([math.inf, 300])))
            for g in range(4)
        )
        study = StudySpec(groups=groups, budget=float(rng.integers(300, 900)), utility=utility,
                          p=3.0)
        problem = AllocationProblem.from_study(study, budget=study.budget)
        solution = integer.solve_separable(problem)
        assert solution.exact and "Lagrangian" in solution.method
        monkeypatch.setattr(integer, "DP_WORK_LIMIT", 10**12)
        start = integer._start(problem)
        full = integer._dynamic_programme(problem, start, problem.upper + 0.0 * start,
                                          integer.SumTerms(problem, problem.rule))
        monkeypatch.undo()
        assert problem.objective(solution.n) == pytest.approx(problem.objective(full), rel=1e-12)
        assert problem.spend(solution.n) <= study.budget + 1e-9
