"""Intervals on a score's accuracy cover the truth at their stated rate (Monte Carlo)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulate.metrics import auc, auc_interval, r_squared, r_squared_interval

REPEATS = 400
# 95% coverage measured over 400 draws: within three standard errors (0.011) of 0.95.
COVERED = (0.95 - 3 * 0.011, 0.95 + 3 * 0.011)


def test_the_r2_interval_covers_the_true_squared_correlation():
    rng = np.random.default_rng(1)
    rho, n = 0.3, 300
    covered = 0
    for _ in range(REPEATS):
        x = rng.standard_normal(n)
        y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        low, high = r_squared_interval(r_squared(x, y), n)
        covered += low <= rho**2 <= high
    assert COVERED[0] <= covered / REPEATS <= COVERED[1]


def test_the_auc_interval_covers_the_true_auc():
    rng = np.random.default_rng(2)
    shift, cases, controls = 0.8, 100, 300
    truth = stats.norm.cdf(shift / np.sqrt(2))  # binormal AUC
    covered = 0
    for _ in range(REPEATS):
        score = np.r_[rng.normal(shift, 1, cases), rng.standard_normal(controls)]
        label = np.r_[np.ones(cases), np.zeros(controls)]
        low, high = auc_interval(auc(score, label), cases, controls)
        covered += low <= truth <= high
    assert COVERED[0] <= covered / REPEATS <= COVERED[1]


def test_intervals_of_degenerate_inputs():
    assert np.isnan(r_squared_interval(0.2, 3)).all()
    assert r_squared_interval(0.0, 100)[0] == 0.0
    assert np.isnan(auc_interval(0.7, 0, 10)).all()
    low, high = auc_interval(1.0, 50, 50)
    assert low == high == 1.0
