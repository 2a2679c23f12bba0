"""R^2, AUC, Platt scaling and decision utility against their definitions, computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from allocate.errors import InputError
from simulate.metrics import PlattScaling, auc, decision_utility, fit_platt, r_squared


def test_r_squared_is_the_squared_pearson_correlation():
    rng = np.random.default_rng(1)
    score = rng.normal(size=50)
    target = 0.5 * score + rng.normal(size=50)
    assert r_squared(score, target) == pytest.approx(stats.pearsonr(score, target)[0] ** 2)
    # Spreads of exactly 1 are nothing special.
    unit = np.array([-1.0, 1.0, -1.0, 1.0])
    other = np.array([-2.0, 1.5, 0.0, 1.0])
    assert unit.std() == 1.0
    assert r_squared(unit, other) == pytest.approx(stats.pearsonr(unit, other)[0] ** 2)
    assert r_squared(other, unit) == pytest.approx(stats.pearsonr(unit, other)[0] ** 2)


@pytest.mark.parametrize("constant", ["score", "target"])
def test_r_squared_is_zero_when_one_side_is_constant(constant):
    varying = np.array([0.1, 0.5, 0.2, 0.9])
    flat = np.full(4, 3.0)
    pair = (flat, varying) if constant == "score" else (varying, flat)
    assert r_squared(*pair) == 0.0


def test_auc_with_a_single_case_or_control_is_the_share_of_pairs_ordered():
    score = np.array([0.1, 0.4, 0.35, 0.8])
    assert auc(score, np.array([0, 1, 0, 0])) == pytest.approx(2 / 3)  # above 0.1 and 0.35
    assert auc(score, np.array([1, 0, 1, 1])) == pytest.approx(1 / 3)  # only 0.8 is above 0.4


@pytest.mark.parametrize("label", [np.zeros(4), np.ones(4)])
def test_auc_is_nan_without_both_classes(label):
    assert np.isnan(auc(np.array([0.1, 0.2, 0.3, 0.4]), label))


def test_platt_probability_is_the_logistic_of_the_linear_score():
    platt = PlattScaling(intercept=-1.5, slope=2.0)
    score = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    expected = 1 / (1 + np.exp(-(-1.5 + 2.0 * score)))
    np.testing.assert_allclose(platt.probability(score), expected, rtol=1e-12)


@pytest.mark.parametrize("label", [np.zeros(6), np.ones(6)])
def test_platt_scaling_refuses_a_single_class(label):
    with pytest.raises(InputError, match="^Platt scaling needs both cases and controls"):
        fit_platt(np.arange(6.0), label, prevalence=0.1)


def _many_of_each_class():
    rng = np.random.default_rng(3)
    label = np.repeat([1.0, 0.0], 200)
    return rng.normal(label, 1.0), label


def _one_case():
    # One case inside the controls' range (a case above them all would separate the classes).
    return np.array([0.0, 1, 2, 3, 2.5, 1.5]), np.array([0.0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize(("data", "prevalence", "rel"),
                         [(_many_of_each_class, 0.05, 1e-7), (_one_case, 0.2, 1e-8)])
def test_platt_scaling_is_the_prevalence_weighted_logistic_regression(data, prevalence, rel):
    score, label = data()
    platt = fit_platt(score, label, prevalence=prevalence)
    cases = label.sum()
    weights = np.where(label == 1, prevalence / cases, (1 - prevalence) / (label.size - cases))
    glm = sm.GLM(label, sm.add_constant(score), family=sm.families.Binomial(),
                 var_weights=weights * label.size).fit(tol=1e-13)  # fmt: skip
    assert [platt.intercept, platt.slope] == pytest.approx(list(glm.params), rel=rel)


def test_decision_utility_by_hand():
    # benefit 100, cost 5: treat when 100 p > 5; each treated person scores 100 y - 5.
    probability = np.array([0.055, 0.2, 0.01, 0.05, 0.9])  # treat, treat, no, no (tie), treat
    outcome = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    assert decision_utility(probability, outcome) == pytest.approx((95 - 5 + 95) / 5)
    # Other benefit and cost: treat when 4 p > 1.
    assert decision_utility(np.array([0.25, 0.3, 0.2]), np.array([1.0, 0.0, 1.0]), benefit=4,
                            cost=1) == pytest.approx(-1 / 3)  # fmt: skip
