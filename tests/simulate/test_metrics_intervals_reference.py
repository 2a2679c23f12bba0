"""The R^2 and AUC intervals equal independent computations of the methods they name.

The R^2 interval is scipy's Fisher-z interval of Pearson's r, squared; the AUC interval's
standard error is Hanley and McNeil's, which is exact when scores are exponential (their
Q1 = A / (2 - A) and Q2 = 2 A^2 / (1 + A) are then the true pair probabilities), so a Monte
Carlo over exponential scores checks the formula itself, not a copy of it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulate.metrics import auc_interval, r_squared_interval


@pytest.mark.parametrize(
    ("n", "rho", "level"),
    [(4, 0.9, 0.95), (30, 0.5, 0.9), (200, 0.3, 0.95), (1000, 0.1, 0.99), (40, 0.05, 0.95)],
)
def test_the_r2_interval_is_the_squared_fisher_z_interval_of_r(n, rho, level):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    for sign in (1, -1):  # a negative correlation has the interval of its absolute value
        result = stats.pearsonr(sign * x, y)
        interval = result.confidence_interval(confidence_level=level)
        low, high = sorted(sign * np.array([interval.low, interval.high]))
        expected = (max(low, 0.0) ** 2, high**2)  # 0 where the interval for |r| reaches 0
        assert r_squared_interval(result.statistic**2, n, level) == pytest.approx(expected)


def test_the_r2_interval_of_a_perfect_correlation_is_one():
    low, high = r_squared_interval(1.0, 50)
    assert (low, high) == pytest.approx((1.0, 1.0), abs=1e-12)


@pytest.mark.parametrize(("r2", "n"), [(np.nan, 50), (np.inf, 50), (0.3, 3), (0.3, 0)])
def test_the_r2_interval_is_nan_without_a_value_or_four_people(r2, n):
    assert np.isnan(r_squared_interval(r2, n)).all()


def hanley_mcneil_interval(a, cases, controls, level):
    """Hanley and McNeil (1982), equation 2, and the normal interval around the AUC."""
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    se = np.sqrt(
        (a * (1 - a) + (cases - 1) * (q1 - a**2) + (controls - 1) * (q2 - a**2))
        / (cases * controls)
    )
    z = stats.norm.isf((1 - level) / 2)
    return a - z * se, a + z * se


@pytest.mark.parametrize(
    ("a", "cases", "controls", "level"),
    [(0.75, 20, 60, 0.95), (0.6, 300, 40, 0.9), (0.7, 3, 4, 0.8), (0.55, 7, 2000, 0.99)],
)
def test_the_auc_interval_is_hanley_and_mcneils(a, cases, controls, level):
    expected = hanley_mcneil_interval(a, cases, controls, level)
    assert auc_interval(a, cases, controls, level) == pytest.approx(expected, rel=1e-12)


def test_the_auc_interval_is_cut_to_zero_and_one():
    low, high = auc_interval(0.97, 10, 10)
    assert high == 1.0 and low == pytest.approx(hanley_mcneil_interval(0.97, 10, 10, 0.95)[0])
    low, high = auc_interval(0.03, 10, 10)
    assert low == 0.0 and high == pytest.approx(hanley_mcneil_interval(0.03, 10, 10, 0.95)[1])


def test_the_auc_standard_error_is_the_spread_of_the_auc_over_exponential_samples():
    # Cases ~ Exp(1), controls ~ Exp(rate 3): P(case > control) = 3 / 4. Few cases and many
    # controls weigh Q1 and Q2 differently, so swapping them or the counts shows.
    rng = np.random.default_rng(16)
    repeats, cases, controls, a = 4000, 20, 60, 0.75
    scores = np.hstack([rng.exponential(1.0, (repeats, cases)),
                        rng.exponential(1 / 3, (repeats, controls))])  # fmt: skip
    ranks = stats.rankdata(scores, axis=1)[:, :cases]
    aucs = (ranks.sum(axis=1) - cases * (cases + 1) / 2) / (cases * controls)
    low, high = auc_interval(a, cases, controls, level=0.95)
    se = (high - low) / (2 * stats.norm.isf(0.025))
    # The sample standard deviation of 4000 draws is within 3 * 1.2% of the truth.
    assert aucs.std(ddof=1) == pytest.approx(se, rel=0.035)
    assert aucs.mean() == pytest.approx(a, abs=3 * se / np.sqrt(repeats))


@pytest.mark.parametrize(("cases", "controls"), [(1, 1), (1, 6), (6, 1)])
def test_one_case_or_one_control_has_an_auc_interval(cases, controls):
    low, high = hanley_mcneil_interval(0.6, cases, controls, 0.5)
    assert auc_interval(0.6, cases, controls, 0.5) == pytest.approx(
        (max(low, 0.0), min(high, 1.0)), rel=1e-12
    )


@pytest.mark.parametrize(
    ("value", "cases", "controls"), [(0.7, 10, 0), (0.7, 0, 10), (np.nan, 5, 5)]
)
def test_the_auc_interval_is_nan_without_both_classes_or_a_value(value, cases, controls):
    assert np.isnan(auc_interval(value, cases, controls)).all()
