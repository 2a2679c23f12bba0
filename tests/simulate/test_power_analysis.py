"""The paired t-test power: statsmodels where it is finite, an integral where it underflows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.stats.power import TTestPower

from simulate.power_analysis import paired_t_power, power_analysis


def miss_by_integral(effect: float, n: int, alpha: float = 0.05) -> float:
    """One minus the power, written out: with ``T = (Z + nc) / sqrt(V / dof)``, the test misses
    when ``|T| <= c``, that is when ``V > dof (Z + nc)^2 / c^2``; averaged over ``Z ~ N(0, 1)``
    (on [-12, 12], where all but 1e-32 of its mass lies)."""
    dof, shift = n - 1, effect * math.sqrt(n)
    critical = stats.t.isf(alpha / 2, dof)

    def miss(z: float) -> float:
        return stats.norm.pdf(z) * stats.chi2.sf(dof * (z + shift) ** 2 / critical**2, dof)

    kink = [-shift] if shift < 12 else None
    value, _ = integrate.quad(miss, -12, 12, points=kink, limit=400, epsabs=0, epsrel=1e-12)
    return value


@pytest.mark.parametrize(
    "effect, n",
    [(e, n) for e in (0.05, 0.3, 1.0, 2.5, 5.0) for n in (2, 3, 12)]
    + [(0.05, 60), (0.3, 60), (1.0, 60)],
)
def test_the_power_is_statsmodels_where_statsmodels_is_finite(effect, n):
    expected = TTestPower().power(effect_size=effect, nobs=n, alpha=0.05)
    assert math.isfinite(expected)
    assert paired_t_power(effect, n) == pytest.approx(expected, rel=1e-10)
    assert paired_t_power(-effect, n) == paired_t_power(effect, n)


@pytest.mark.parametrize("effect, n", [(7.0, 2), (10.0, 3), (20.0, 2), (40.0, 2), (2.5, 60),
                                       (5.0, 60)])
def test_the_power_where_the_lower_tail_underflows_is_the_integral(effect, n):
    # statsmodels 0.15 returns NaN at these effects: the noncentral t's lower-tail CDF underflows
    assert 1 - paired_t_power(effect, n) == pytest.approx(miss_by_integral(effect, n), rel=1e-8,
                                                          abs=1e-15)


def test_a_large_effect_is_detected_for_sure():
    assert paired_t_power(1e3, 3) == 1.0
    assert paired_t_power(12.0, 4) == 1.0  # misses with probability 2e-28
    assert miss_by_integral(12.0, 4) < 1e-27


def test_the_power_analysis_reports_a_large_effect_at_three_replicates():
    gains = [0.9, 1.0, 1.1]  # mean 1, sd 0.1: effect 10
    rows = [{"replicate": r, "utility": "maximin", "budget": 100.0, "cost_ratio": 1.0,
             "training": "own", "strategy": name, "regret": regret}
            for r, gain in enumerate(gains)
            for name, regret in (("oracle", 0.0), ("equal", gain))]  # fmt: skip
    row = power_analysis(pd.DataFrame(rows), against=["equal"]).iloc[0]
    assert row["effect_size"] == pytest.approx(10.0)
    assert np.isfinite(row["power"])
    assert 1 - row["power"] == pytest.approx(miss_by_integral(10.0, 3), rel=1e-6)
    assert row["replicates_needed"] == 2  # the least number of pairs a t-test can use
