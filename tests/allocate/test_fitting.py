"""Learning-curve fits: recovery of known parameters, interval coverage, and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocate.curves import Curve
from allocate.errors import FitError, InputError
from allocate.fitting import _Cells, _fit_cells, _profile_fit, fit_curves

SIZES = np.array([50, 100, 200, 400, 800, 1600, 3200, 6400])


def simulate_points(
    curve: Curve, *, noise: float, replicates: int, seed: int, group="A", pooled=None
):
    rng = np.random.default_rng(seed)
    n = np.repeat(SIZES, replicates).astype(float)
    total = n if pooled is None else np.repeat(pooled, replicates)
    value = curve.loss(n, total) + rng.normal(0, noise, n.size)
    return pd.DataFrame({"group": group, "n": n, "n_total": total, "value": value})


def test_noiseless_power_law_is_recovered_exactly():
    truth = Curve(a=3.0, b=0.7)
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": truth.loss(SIZES)})
    fit = fit_curves(points, family="power")["A"]
    assert fit.curve.a == pytest.approx(3.0, rel=1e-6)
    assert fit.curve.b == pytest.approx(0.7, rel=1e-6)
    assert fit.residual_error < 1e-9


@pytest.mark.parametrize("log_space", [False, True])
def test_power_offset_truth_lies_in_bootstrap_intervals(log_space):
    truth = Curve(a=2.0, b=0.5, c=0.1)
    points = simulate_points(truth, noise=0.003, replicates=5, seed=11)
    fit = fit_curves(points, bootstrap=300, seed=3, log_space=log_space, level=0.99)["A"]
    for name in ("a", "b", "c"):
        low, high = fit.intervals[name]
        assert low <= getattr(truth, name) <= high, (name, fit.intervals)
    assert fit.bootstrap_samples.shape == (300, 3)
    assert fit.bootstrap_method == "within-size"


def test_transfer_family_recovers_the_pooled_term():
    truth = Curve(a=1.5, b=0.6, c=0.05, t=3.0, q=0.4)
    rng = np.random.default_rng(5)
    n = np.repeat(SIZES, 4).astype(float)
    pooled = n * rng.choice([1.0, 3.0, 10.0, 30.0], size=n.size)
    value = truth.loss(n, pooled) + rng.normal(0, 0.001, n.size)
    points = pd.DataFrame({"group": "A", "n": n, "n_total": pooled, "value": value})
    fit = fit_curves(points, family="transfer")["A"]
    for name in ("a", "b", "c", "t", "q"):
        low, high = fit.intervals[name]
        assert low <= getattr(truth, name) <= high, (name, fit.estimates, fit.intervals)


def test_scores_are_fitted_as_losses_and_reported_as_scores():
    # R^2 that rises to 0.6: S = 0.6 - 2 n^-0.5, i.e. a loss 1 - S = 0.4 + 2 n^-0.5.
    n = np.repeat(SIZES, 2).astype(float)
    points = pd.DataFrame({"group": "A", "n": n, "value": 0.6 - 2 * n**-0.5})
    fit = fit_curves(points, sense="score")["A"]
    assert fit.curve.c == pytest.approx(0.4, abs=1e-6)
    assert fit.asymptote == pytest.approx(0.6, abs=1e-6)
    assert float(fit.predict(400)) == pytest.approx(0.6 - 2 / 20, abs=1e-6)
    low, high = fit.predict_interval(400)
    assert low <= fit.predict(400) <= high


def test_bulk_profile_fit_equals_scipy_least_squares():
    rng = np.random.default_rng(7)
    truth = Curve(a=2.0, b=0.45, c=0.2)
    count = np.full(SIZES.size, 3.0)
    means = truth.loss(SIZES) + rng.normal(0, 0.01, size=(20, SIZES.size))
    b, a, c = _profile_fit(SIZES.astype(float), count, means, offset=True)
    for row in range(20):
        cells = _Cells(SIZES.astype(float), SIZES.astype(float), count, means[row], (), 0.0, False)
        reference = _fit_cells(cells, "power-offset", False, "A")
        sse = [
            np.sum(count * (means[row] - (cc + aa * SIZES**-bb)) ** 2)
            for aa, bb, cc in ((a[row], b[row], c[row]), reference)
        ]
        assert sse[0] <= sse[1] * (1 + 1e-6) + 1e-15


def test_single_measurements_switch_to_a_residual_bootstrap():
    points = simulate_points(Curve(a=2.0, b=0.5, c=0.1), noise=0.003, replicates=1, seed=2)
    fit = fit_curves(points, bootstrap=100, seed=1)["A"]
    assert fit.bootstrap_method == "residual"
    assert any("resamples residuals" in w for w in fit.warnings)
    assert np.ptp(fit.bootstrap_samples[:, 1]) > 0


def test_same_seed_gives_identical_intervals_and_other_seeds_differ():
    points = simulate_points(Curve(a=2.0, b=0.5, c=0.1), noise=0.003, replicates=3, seed=4)
    first = fit_curves(points, bootstrap=50, seed=9)["A"]
    again = fit_curves(points, bootstrap=50, seed=9)["A"]
    other = fit_curves(points, bootstrap=50, seed=10)["A"]
    assert first.intervals == again.intervals
    assert first.intervals != other.intervals


def test_flat_points_warn_that_the_exponent_is_at_its_bound():
    rng = np.random.default_rng(0)
    n = np.repeat(SIZES, 3).astype(float)
    points = pd.DataFrame({"group": "A", "n": n, "value": 0.3 + rng.normal(0, 0.01, n.size)})
    fit = fit_curves(points)["A"]
    assert any("poorly identified" in w or "bound" in w for w in fit.warnings)


def test_groups_are_fitted_separately_in_table_order():
    first = simulate_points(
        Curve(a=2.0, b=0.5, c=0.1), noise=0.002, replicates=2, seed=1, group="Y"
    )
    second = simulate_points(
        Curve(a=5.0, b=0.3, c=0.0), noise=0.002, replicates=2, seed=2, group="X"
    )
    fits = fit_curves(pd.concat([first, second]))
    assert fits.groups == ["Y", "X"]
    assert fits["X"].curve.b == pytest.approx(0.3, abs=0.05)
    assert set(fits.to_frame()["group"]) == {"X", "Y"}
    assert "Y:" in fits.summary()


@pytest.mark.slow
def test_ninety_percent_intervals_cover_the_truth_about_ninety_percent_of_the_time():
    truth = Curve(a=2.0, b=0.5, c=0.1)
    wald, boot = [], []
    for seed in range(150):
        points = simulate_points(truth, noise=0.004, replicates=5, seed=1000 + seed)
        wald_fit = fit_curves(points)["A"]
        boot_fit = fit_curves(points, bootstrap=200, seed=seed)["A"]
        wald.append(wald_fit.intervals["b"][0] <= 0.5 <= wald_fit.intervals["b"][1])
        boot.append(boot_fit.intervals["b"][0] <= 0.5 <= boot_fit.intervals["b"][1])
    # 150 trials: a true 90% rate lies in [0.83, 0.95] with probability > 0.99.
    assert 0.83 <= np.mean(wald) <= 0.96
    # Within-size resampling of 5 replicates shrinks the spread by sqrt(4/5): slight undercover.
    assert 0.78 <= np.mean(boot) <= 0.96


@pytest.mark.parametrize(
    ("family", "sizes", "message"),
    [
        ("power-offset", [100, 200], "2 distinct training sizes but the power-offset family has 3"),
        ("power", [100], "1 distinct training sizes but the power family has 2"),
    ],
)
def test_too_few_sizes_are_refused(family, sizes, message):
    points = pd.DataFrame(
        {"group": "G", "n": sizes * 3, "value": [0.3, 0.2] * 3 if len(sizes) == 2 else [0.3] * 3}
    )
    with pytest.raises(FitError, match=message):
        fit_curves(points, family=family)


def test_transfer_needs_pooled_sizes_that_vary_on_their_own():
    points = simulate_points(Curve(a=2.0, b=0.5, c=0.1), noise=0.001, replicates=1, seed=0)
    with pytest.raises(FitError, match="n_total varies independently of n"):
        fit_curves(points, family="transfer")


def test_log_space_refuses_non_positive_losses():
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 0.05 - 0.01 * np.arange(SIZES.size)})
    with pytest.raises(FitError, match="log-space fit cannot take"):
        fit_curves(points, log_space=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="value"), "missing column"),
        (
            lambda f: f.assign(n=f["n"].astype(object).where(f.index != 2, "lots")),
            "'lots' is not a number",
        ),
        (lambda f: f.assign(n=f["n"].where(f.index != 1, 0)), "training sizes must be positive"),
        (lambda f: f.assign(value=f["value"].where(f.index != 3, np.nan)), "row 4, column value"),
        (lambda f: f.assign(value=f["value"].where(f.index != 0, np.inf)), "must be finite"),
        (lambda f: f.assign(n_total=f["n"] - 1), "n_total < n"),
    ],
)
def test_bad_points_are_refused_in_words(change, message):
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 2 * SIZES**-0.5})
    with pytest.raises(InputError, match=message):
        fit_curves(change(points))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"family": "exp"}, "family must be one of"),
        ({"level": 1.5}, "level must be between 0 and 1"),
        ({"bootstrap": -1}, "bootstrap must be a whole number"),
        ({"sense": "gain"}, "sense must be"),
    ],
)
def test_bad_options_are_refused(options, message):
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 2 * SIZES**-0.5})
    with pytest.raises(InputError, match=message):
        fit_curves(points, **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"score_max": -0.5}, r"score_max must be a finite number >= 0"),
        ({"bootstrap": 1}, r"bootstrap must be 0 \(Wald intervals\) or at least 20 resamples"),
        ({"bootstrap": 19}, r"at least 20 resamples at level 0.9"),
        ({"bootstrap": 100, "level": 0.99}, r"at least 200 resamples at level 0.99"),
    ],
)
def test_nonsense_options_are_refused(options, message):
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 2 * SIZES**-0.5})
    with pytest.raises(InputError, match=message):
        fit_curves(points, **options)


def test_the_fewest_resamples_leave_one_in_each_tail():
    from allocate.fitting import min_resamples

    for level in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        fewest = min_resamples(level)
        assert fewest >= 20 and fewest * (1 - level) / 2 >= 1 - 1e-9
        assert fewest == 20 or (fewest - 1) * (1 - level) / 2 < 1
    points = pd.DataFrame({"group": "A", "n": np.repeat(SIZES, 2),
                           "value": 2 * np.repeat(SIZES, 2) ** -0.5 * (1 + 0.01 * np.tile(
                               [1, -1], SIZES.size))})
    fit = fit_curves(points, family="power", bootstrap=20, seed=1)["A"]
    assert fit.bootstrap_samples.shape == (20, 2)


def test_scores_above_score_max_are_refused():
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 0.5 - SIZES**-0.5})
    points.loc[3, "value"] = 1.01
    with pytest.raises(InputError, match=r"score of 1.01 at n = 400, above score_max = 1"):
        fit_curves(points, sense="score")
    assert fit_curves(points, sense="score", score_max=1.5)["A"].sense == "score"


def test_library_messages_name_parameters_not_command_line_options(monkeypatch):
    from scipy.optimize import OptimizeResult

    from allocate import fitting

    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 2 * SIZES**-0.5 - 0.05})
    with pytest.raises(FitError, match="log-space fit cannot take") as refused:
        fit_curves(points, log_space=True)
    assert "--" not in str(refused.value)
    monkeypatch.setattr(fitting.optimize, "least_squares",
                        lambda fun, x0, **kw: OptimizeResult(x=x0, status=0, message="gave up"))
    with pytest.raises(FitError, match="did not converge") as failed:
        fit_curves(points)
    assert "--" not in str(failed.value)


def test_goodness_of_fit_equals_statsmodels_ols_on_the_log_log_line():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    n = np.repeat(SIZES, 3).astype(float)
    value = 2 * n**-0.4 * np.exp(rng.normal(0, 0.05, n.size))
    fit = fit_curves(pd.DataFrame({"group": "A", "n": n, "value": value}), family="power",
                     log_space=True)["A"]
    # log a n^-b is the line log a - b log n: the same least squares as OLS of log y on log n
    ols = sm.OLS(np.log(value), sm.add_constant(np.log(n))).fit()
    assert fit.curve.b == pytest.approx(-ols.params[1], rel=1e-6)
    assert fit.residual_dof == ols.df_resid == n.size - 2
    assert fit.r_squared == pytest.approx(ols.rsquared, rel=1e-9)
    assert fit.log_likelihood == pytest.approx(ols.llf, rel=1e-9)
    assert fit.aic == pytest.approx(ols.aic, rel=1e-9)
    assert fit.bic == pytest.approx(ols.bic, rel=1e-9)
    assert fit.residual_error == pytest.approx(np.sqrt(ols.ssr / n.size), rel=1e-6)
    assert fit.std_errors["b"] == pytest.approx(ols.bse[1], rel=1e-4)


def test_goodness_of_fit_of_a_nonlinear_fit_has_its_closed_forms():
    truth = Curve(a=2.0, b=0.5, c=0.1)
    points = simulate_points(truth, noise=0.003, replicates=3, seed=5)
    fit = fit_curves(points)["A"]
    y = points["value"].to_numpy()
    ssr = float(np.sum((y - fit.predict(points["n"].to_numpy())) ** 2))
    k, m = 3, y.size
    llf = -m / 2 * (np.log(2 * np.pi) + np.log(ssr / m) + 1)
    assert fit.residual_dof == m - k
    assert fit.r_squared == pytest.approx(1 - ssr / np.sum((y - y.mean()) ** 2), rel=1e-9)
    assert fit.aic == pytest.approx(-2 * llf + 2 * k, rel=1e-9)
    assert fit.bic == pytest.approx(-2 * llf + k * np.log(m), rel=1e-9)
    assert fit.fitted_sizes == (50.0, 6400.0)
    # the information criteria prefer the true family to one without the asymptote
    power = fit_curves(points, family="power")["A"]
    assert fit.aic < power.aic and fit.bic < power.bic


def test_zero_residual_dof_is_warned_about():
    points = pd.DataFrame({"group": "A", "n": [50, 100, 400],
                           "value": 0.1 + 2 * np.array([50, 100, 400]) ** -0.5})
    fit = fit_curves(points)["A"]
    assert fit.residual_dof == 0
    assert any("no residual degrees of freedom (3 points, 3 parameters)" in w
               for w in fit.warnings)
    replicated = fit_curves(pd.concat([points, points]))["A"]
    assert replicated.residual_dof == 3
    assert not any("residual degrees" in w for w in replicated.warnings)


@pytest.mark.parametrize(("sense", "direction"), [("loss", 1), ("score", -1)])
def test_points_that_go_the_wrong_way_are_warned_about(sense, direction):
    rng = np.random.default_rng(7)
    n = np.repeat(SIZES, 2).astype(float)
    worse = 0.5 + direction * 0.02 * np.log(n) + rng.normal(0, 0.002, n.size)
    better = 0.5 - direction * 0.02 * np.log(n) + rng.normal(0, 0.002, n.size)
    verb = "rises" if sense == "loss" else "falls"
    fit = fit_curves(pd.DataFrame({"group": "A", "n": n, "value": worse}), sense=sense)["A"]
    assert any(f"the measured {sense} {verb} as n grows" in w for w in fit.warnings)
    good = fit_curves(pd.DataFrame({"group": "A", "n": n, "value": better}), sense=sense)["A"]
    assert not any("as n grows" in w for w in good.warnings)


def test_flat_noisy_points_are_not_called_a_wrong_way_trend():
    rng = np.random.default_rng(8)
    n = np.repeat(SIZES, 3).astype(float)
    rejected = 0
    for _ in range(40):  # under no trend the one-sided test fires about 5% of the time
        points = pd.DataFrame({"group": "A", "n": n, "value": 0.3 + rng.normal(0, 0.01, n.size)})
        rejected += any("as n grows" in w for w in fit_curves(points)["A"].warnings)
    assert rejected <= 8


def test_the_summary_reports_dof_fit_quality_and_criteria():
    points = simulate_points(Curve(a=2.0, b=0.5, c=0.1), noise=0.003, replicates=2, seed=6)
    fits = fit_curves(points)
    fit = fits["A"]
    line = fits.summary().splitlines()[2]
    assert line.strip() == (
        f"residual dof {fit.residual_dof}, RMSE {fit.residual_error:.4g}, "
        f"R^2 {fit.r_squared:.4f}, AIC {fit.aic:.4g}, BIC {fit.bic:.4g}"
    )
    assert fit.residual_dof == 16 - 3
    frame = fits.to_frame()
    assert set(frame["aic"]) == {fit.aic} and set(frame["residual_dof"]) == {13}


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_a_bad_seed_is_refused(seed):
    points = pd.DataFrame({"group": "A", "n": SIZES, "value": 2 * SIZES**-0.5})
    with pytest.raises(InputError, match="seed must be a whole number >= 0"):
        fit_curves(points, bootstrap=20, seed=seed)


def test_an_estimate_outside_its_bootstrap_interval_is_warned_about():
    from allocate.fitting import _outside_interval_warnings

    notes = _outside_interval_warnings(np.array([2.0, 0.5]), {"a": (2.1, 2.5), "b": (0.4, 0.6)},
                                       ("a", "b"))
    assert notes == ["the estimate a = 2 lies outside its bootstrap interval [2.1, 2.5]; the "
                     "resamples are skewed: use more resamples or Wald intervals"]
