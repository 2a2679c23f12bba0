"""Plans against the closed forms of docs/method.md (separable, no bounds unless
stated), continuous and in whole samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from allocate.curves import Curve
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec


def study_of(a, b, *, cost=None, weight=None, c=None, have=None, pools=None, budget=600.0,
             utility="weighted", sense="loss", targets=None) -> StudySpec:
    size = len(a)
    cost = cost or [1.0] * size
    weight = weight or [1.0] * size
    c = c or [0.0] * size
    have = have or [0] * size
    pools = pools or [math.inf] * size
    targets = targets or [None] * size
    b = b if isinstance(b, list | tuple) else [b] * size
    groups = tuple(
        GroupSpec(name=f"g{i}", curve=Curve(a=a[i], b=b[i], c=c[i], sense=sense), cost=cost[i],
                  weight=weight[i], have=have[i], max=pools[i], target=targets[i])
        for i in range(size)
    )
    return StudySpec(groups=groups, budget=budget, utility=utility)


def scaled_to_budget(shape, cost, budget):
    shape = np.asarray(shape, float)
    return shape * budget / (np.asarray(cost, float) @ shape)


@pytest.mark.parametrize("b", [0.5, 1.0, 1.7])
def test_weighted_shared_exponent_closed_form_with_unequal_costs(b):
    a, w, cost = [1.0, 3.0, 0.5], [0.5, 0.3, 0.2], [1.0, 2.5, 0.4]
    result = plan(study_of(a, b, cost=cost, weight=w), integer=False)
    shape = (np.array(w) * np.array(a) / np.array(cost)) ** (1 / (b + 1))
    expected = scaled_to_budget(shape, cost, 600.0)
    np.testing.assert_allclose(result.totals, expected, rtol=2e-4)
    assert result.spent == pytest.approx(600.0, rel=1e-9)
    assert result.status == "optimal"


def test_neyman_allocation_is_the_b_equal_one_case():
    # Stratified sampling: minimise sum W_h^2 S_h^2 / n_h at cost sum c_h n_h = B.
    shares, spread, cost = np.array([0.5, 0.3, 0.2]), np.array([10.0, 20.0, 40.0]), [1.0, 4.0, 9.0]
    study = study_of(list(spread**2), 1.0, cost=cost, weight=list(shares**2), budget=1000.0)
    result = plan(study, integer=False)
    expected = scaled_to_budget(shares * spread / np.sqrt(cost), cost, 1000.0)
    np.testing.assert_allclose(result.totals, expected, rtol=2e-4)


def test_maximin_published_example():
    result = plan(study_of([1.0, 4.0, 9.0], 1.0, utility="maximin"), integer=False)
    np.testing.assert_allclose(result.totals, [42.857, 171.429, 385.714], atol=2e-3)
    assert result.objective == pytest.approx(14.0 / 600.0, rel=1e-7)
    # the level falls as sum(a) / B: d(level)/dB = -sum(a) / B^2
    assert result.marginal_value == pytest.approx(14.0 / 600.0**2, rel=1e-4)


def test_maximin_whole_samples_sit_next_to_the_continuous_optimum():
    result = plan(study_of([1.0, 4.0, 9.0], 1.0, utility="maximin"))
    assert result.totals.sum() == 600
    assert np.all(np.abs(result.totals - [42.857, 171.429, 385.714]) <= 1.0)
    assert result.objective == pytest.approx(max(np.array([1.0, 4.0, 9.0]) / result.totals))


def test_maximin_with_unequal_costs_and_exponents():
    a, b, cost = [1.0, 2.0, 0.5], [0.5, 1.0, 0.8], [1.0, 3.0, 0.2]
    result = plan(study_of(a, b, cost=cost, utility="maximin"), integer=False)

    def spend(level):
        return float(np.dot(cost, (np.array(a) / level) ** (1 / np.array(b)))) - 600.0

    level = brentq(spend, 1e-6, 10.0, xtol=1e-14)
    np.testing.assert_allclose(result.totals, (np.array(a) / level) ** (1 / np.array(b)),
                               rtol=1e-5)
    assert result.objective == pytest.approx(level, rel=1e-7)


def test_maximin_pours_the_budget_into_a_group_with_a_higher_asymptote():
    result = plan(study_of([1.0, 1.0, 1.0], 1.0, c=[0.0, 0.0, 0.3], budget=1000.0,
                           utility="maximin"), integer=False)
    # all at one level tau = 0.3 + 1/n3 with n1 = n2 = 1/tau and n1 + n2 + n3 = 1000
    n3 = brentq(lambda n: 2.0 / (0.3 + 1.0 / n) + n - 1000.0, 1.0, 1000.0, xtol=1e-12)
    level = 0.3 + 1.0 / n3
    np.testing.assert_allclose(result.totals, [1 / level, 1 / level, n3], rtol=1e-4)
    assert result.objective == pytest.approx(level, rel=1e-7)
    assert result.totals[2] > 0.99 * 1000.0  # the corner is reported, not "fixed"


def test_maximin_corner_at_a_pool_limit():
    study = study_of([1.0, 4.0, 9.0], 1.0, pools=[math.inf, math.inf, 100], utility="maximin")
    for integer in (True, False):
        result = plan(study, integer=integer)
        assert result.totals[2] == pytest.approx(100.0)
        assert result.objective == pytest.approx(9.0 / 100.0, rel=1e-6)
        assert result.spent <= 600.0 + 1e-9
        assert result.spent >= 599.0  # what cannot help the worst group helps the others
    continuous = plan(study, integer=False)
    assert continuous.marginal_value == 0.0  # the worst group is at its pool: money cannot help
    # the leftover goes by the weighted rule, n proportional to sqrt(a), above the level's sizes
    rest = continuous.totals[:2]
    np.testing.assert_allclose(rest / rest.sum(), [1 / 3, 2 / 3], rtol=1e-6)


def test_weighted_with_a_pool_and_samples_in_hand_splits_the_rest_by_the_closed_form():
    a, w, cost = [1.0, 3.0, 2.0, 5.0], [0.4, 0.3, 0.2, 0.1], [1.0, 2.0, 0.5, 1.5]
    have, pools = [2000, 10, 0, 0], [math.inf, math.inf, math.inf, 60]
    result = plan(study_of(a, 0.5, cost=cost, weight=w, have=have, pools=pools), integer=False)
    assert result.totals[0] == pytest.approx(2000.0)  # already past its share: collects nothing
    assert result.totals[3] == pytest.approx(60.0, rel=1e-6)  # its pool binds
    rest = np.array([1, 2])
    shape = (np.array(w)[rest] * np.array(a)[rest] / np.array(cost)[rest]) ** (1 / 1.5)
    budget = 600.0 - 1.5 * 60 + 2.0 * 10  # what is left, counted on totals
    expected = scaled_to_budget(shape, np.array(cost)[rest], budget)
    np.testing.assert_allclose(result.totals[rest], expected, rtol=2e-4)


def test_score_groups_optimise_the_loss_and_report_scores():
    loss = plan(study_of([1.0, 4.0, 9.0], 1.0, utility="maximin"), integer=False)
    score = plan(study_of([1.0, 4.0, 9.0], 1.0, utility="maximin", sense="score"),
                 integer=False)
    np.testing.assert_allclose(score.totals, loss.totals, rtol=1e-6)
    assert score.objective == pytest.approx(1.0 - 14.0 / 600.0, rel=1e-7)  # the worst score
    np.testing.assert_allclose(score.predicted, 1.0 - loss.predicted, rtol=1e-9)


def test_target_utility_buys_each_group_its_least_total():
    a, b, c, cost = [1.0, 2.0, 0.5], [0.5, 1.0, 0.7], [0.0, 0.05, 0.1], [1.0, 2.0, 3.0]
    targets = [0.05, 0.1, 0.2]
    study = study_of(a, b, c=c, cost=cost, targets=targets, utility="target", have=[50, 0, 0])
    exact = (np.array(a) / (np.array(targets) - np.array(c))) ** (1 / np.array(b))
    continuous = plan(study, integer=False)
    np.testing.assert_allclose(continuous.totals, exact, rtol=1e-9)
    whole = plan(study)
    np.testing.assert_array_equal(whole.totals, np.ceil(exact - 1e-9))
    assert whole.objective == pytest.approx(float(np.dot(cost, whole.totals - [50, 0, 0])))


def test_power_mean_with_p_one_is_the_weighted_plan():
    a, w, cost = [1.0, 3.0, 0.5], [0.5, 0.3, 0.2], [1.0, 2.5, 0.4]
    weighted = plan(study_of(a, 0.8, cost=cost, weight=w), integer=False)
    power = plan(study_of(a, 0.8, cost=cost, weight=w, utility="power-mean"), p=1.0,
                 integer=False)
    np.testing.assert_allclose(power.totals, weighted.totals, rtol=2e-4)
    assert power.objective == pytest.approx(weighted.objective, rel=1e-7)


def test_a_dpp_re_solve_with_new_scales_gives_the_new_closed_form():
    first = plan(study_of([1.0, 4.0, 9.0], 1.0, utility="maximin"), integer=False)
    second = plan(study_of([2.0, 4.0, 2.0], 1.0, utility="maximin", budget=800.0),
                  integer=False)
    np.testing.assert_allclose(first.totals, np.array([1, 4, 9]) * 600 / 14, rtol=1e-5)
    np.testing.assert_allclose(second.totals, np.array([2, 4, 2]) * 800 / 8, rtol=1e-5)


def test_slice_tuners_published_water_filling_example():
    # docs/method.md, the adaptive loop: ten groups of initial sizes floor(800 / sqrt(10 - i)),
    # unit costs, B = 4000. With identical curves maximin is water filling.
    have = [math.floor(800 / math.sqrt(10 - i)) for i in range(10)]
    groups = tuple(
        GroupSpec(name=f"g{i}", curve=Curve(a=1.0, b=0.5), have=h) for i, h in enumerate(have)
    )
    result = plan(StudySpec(groups=groups, budget=4000.0, utility="maximin"))
    assert result.collect.astype(int).tolist() == [550, 535, 519, 499, 475, 444, 401, 340, 236, 1]
