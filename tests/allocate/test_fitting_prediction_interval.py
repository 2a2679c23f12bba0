"""``CurveFit.predict_interval`` equals its two methods computed from the fit's own numbers.

The delta-method interval is the curve's value +/- z * sqrt(g' C g), with ``g`` the gradient of
the curve's value in the free parameters, taken here by central differences on
:meth:`Curve.loss`, and ``C`` the fit's covariance. The bootstrap interval is the percentiles
of the refitted curves' values, each refit's curve rebuilt here from its parameters.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from allocate.curves import Curve
from allocate.fitting import fit_curves
from tests.allocate.test_fitting import SIZES, simulate_points

TRANSFER = Curve(a=1.5, b=0.6, c=0.05, t=3.0, q=0.4)
AT = np.array([120.0, 900.0, 20000.0])


def transfer_points(seed=5):
    rng = np.random.default_rng(seed)
    n = np.repeat(SIZES, 4).astype(float)
    pooled = n * rng.choice([1.0, 3.0, 10.0, 30.0], size=n.size)
    value = TRANSFER.loss(n, pooled) + rng.normal(0, 0.002, n.size)
    return pd.DataFrame({"group": "A", "n": n, "n_total": pooled, "value": value})


def value_at(curve, params, n, pooled):
    return replace(curve, **params).predict(n, pooled)


def numerical_gradient(fit, n, pooled):
    names = list(fit.estimates)
    columns = []
    for name in names:
        step = 1e-6 * max(abs(fit.estimates[name]), 1.0)
        up = value_at(fit.curve, {name: fit.estimates[name] + step}, n, pooled)
        down = value_at(fit.curve, {name: fit.estimates[name] - step}, n, pooled)
        columns.append((up - down) / (2 * step))
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize(
    ("sense", "family", "level"),
    [("loss", "power-offset", 0.9), ("score", "power-offset", 0.8), ("loss", "transfer", 0.95)],
)
def test_the_delta_method_interval_is_value_plus_minus_z_standard_errors(sense, family, level):
    if family == "transfer":
        points, pooled = transfer_points(), AT * 5
    else:
        points, pooled = simulate_points(Curve(a=2.0, b=0.5, c=0.1), noise=0.004,
                                         replicates=5, seed=4), AT  # fmt: skip
        if sense == "score":
            points = points.assign(value=1.0 - points["value"])
    fit = fit_curves(points, family=family, sense=sense)["A"]
    assert fit.bootstrap_samples is None
    gradient = numerical_gradient(fit, AT, pooled)
    spread = np.sqrt(np.einsum("ki,ij,kj->k", gradient, fit.covariance, gradient))
    z = stats.norm.isf((1 - level) / 2)
    centre = fit.predict(AT, pooled)
    low, high = fit.predict_interval(AT, pooled, level=level)
    np.testing.assert_allclose(low, centre - z * spread, rtol=1e-6)
    np.testing.assert_allclose(high, centre + z * spread, rtol=1e-6)


@pytest.mark.parametrize("sense", ["loss", "score"])
def test_the_bootstrap_interval_is_the_percentiles_of_the_refits(sense):
    points = transfer_points(seed=6)
    if sense == "score":
        points = points.assign(value=1.0 - points["value"])
    fit = fit_curves(points, family="transfer", sense=sense, bootstrap=60, seed=2)["A"]
    names, pooled = list(fit.estimates), AT * 3
    refits = np.array([
        value_at(fit.curve, dict(zip(names, row, strict=True)), AT, pooled)
        for row in fit.bootstrap_samples
    ])  # fmt: skip
    low, high = fit.predict_interval(AT, pooled, level=0.8)
    np.testing.assert_allclose(low, np.percentile(refits, 10, axis=0), rtol=1e-10)
    np.testing.assert_allclose(high, np.percentile(refits, 90, axis=0), rtol=1e-10)
