"""The numbers a curve fit reports, against their definitions computed from the points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocate.curves import Curve
from allocate.errors import InputError
from allocate.fitting import fit_curves, fit_group
from tests.allocate.test_fitting import SIZES, simulate_points

TRUTH = Curve(a=2.0, b=0.5, c=0.1)


@pytest.fixture(scope="module")
def points():
    return simulate_points(TRUTH, noise=0.004, replicates=3, seed=21)


def test_residual_error_is_the_root_mean_square_residual_of_the_points(points):
    fit = fit_curves(points)["A"]
    residuals = points["value"] - fit.predict(points["n"].to_numpy())
    assert fit.residual_error == pytest.approx(np.sqrt(np.mean(residuals**2)), rel=1e-9)
    assert fit.n_points == len(points) and fit.n_sizes == len(SIZES)


def test_log_space_residual_error_is_measured_in_log_space(points):
    fit = fit_curves(points, log_space=True)["A"]
    residuals = np.log(points["value"]) - np.log(fit.predict(points["n"].to_numpy()))
    assert fit.residual_error == pytest.approx(np.sqrt(np.mean(residuals**2)), rel=1e-9)


def test_a_score_fit_keeps_its_score_max(points):
    scores = points.assign(value=4.75 - points["value"])
    fit = fit_curves(scores, sense="score", score_max=4.75)["A"]
    assert fit.curve.score_max == 4.75 and fit.sense == "score"
    assert fit.predict(1e12) == pytest.approx(4.75 - fit.curve.c)
    assert fit.to_dict()["score_max"] == 4.75


def test_plain_data_forms_carry_the_fit(points):
    fits = fit_curves(points, bootstrap=20, seed=1)
    fit = fits["A"]
    data = fit.to_dict()
    assert data["group"] == "A" and data["curve"] == fit.curve.params()
    assert data["std_errors"] == fit.std_errors and data["level"] == 0.9
    assert data["intervals"] == {k: list(v) for k, v in fit.intervals.items()}
    assert data["asymptote"] == fit.curve.c and data["n_points"] == len(points)
    assert data["interval_method"] == f"bootstrap percentile ({fit.bootstrap_method}, 20 resamples)"
    frame = fits.to_frame().set_index("parameter")
    assert frame.loc["b", "estimate"] == fit.estimates["b"]
    assert frame.loc["b", "std_error"] == fit.std_errors["b"]
    assert tuple(frame.loc["b", ["lower", "upper"]]) == fit.intervals["b"]
    lines = fits.summary().splitlines()
    assert lines[0] == "Learning curves (power-offset, loss; 90% intervals)" and len(lines) > 2


def test_a_group_fitted_alone_is_named_group_by_default(points):
    fit = fit_group(points["n"].to_numpy(), points["value"].to_numpy())
    assert fit.group == "group"


def test_flat_points_fit_their_mean_and_warn_about_the_exponent():
    rng = np.random.default_rng(0)
    n = np.repeat(SIZES, 3).astype(float)
    values = 0.3 + rng.normal(0, 0.01, n.size)
    fit = fit_curves(pd.DataFrame({"group": "A", "n": n, "value": values}))["A"]
    np.testing.assert_allclose(fit.predict(SIZES), values.mean(), atol=3 * 0.01 / np.sqrt(3))
    assert any("b" in w for w in fit.warnings)


def test_a_well_identified_fit_has_no_warnings(points):
    assert fit_curves(points)["A"].warnings == ()


@pytest.mark.parametrize("score_max", [float("nan"), float("inf")])
def test_a_score_max_that_is_not_finite_is_refused(points, score_max):
    with pytest.raises(InputError, match="score_max must be a finite number"):
        fit_curves(points, sense="score", score_max=score_max)
