"""measure_curves: known curves recovered, nesting, held-out own-group scoring, seeds, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression

from allocate import fit_curves, measure_curves, sizes_from_fractions
from allocate.errors import InputError
from allocate.measure import resolve_metric
from tests.allocate.measure_helpers import RECORD, FailsAtSize, mean_data, recorded_measure

SIGMAS = {"A": 1.0, "B": 2.0}


def test_measured_points_recover_a_known_curve_within_the_reported_intervals():
    # A training-mean model's held-out MSE is sigma^2 (1 + 1/n): a = c = sigma^2, b = 1.
    X, y, labels = mean_data(SIGMAS, rows=1500, seed=3)
    measured = measure_curves(
        X, y, labels, estimator=DummyRegressor(), scoring="neg_mean_squared_error",
        sizes=[2, 4, 8, 16, 32, 64, 128], test_size=1000, replicates=40, seed=5,
    )  # fmt: skip
    assert measured.sense == "loss" and (measured.points["value"] > 0).all()
    fits = fit_curves(measured.points, sense=measured.sense, level=0.95)
    for group, sigma in SIGMAS.items():
        truth = {"a": sigma**2, "b": 1.0, "c": sigma**2}
        for name, value in truth.items():
            low, high = fits[group].intervals[name]
            assert low <= value <= high, (group, name, low, high)
        # The data are one draw: its asymptote is the variance of the group's rows as drawn.
        assert fits[group].curve.c == pytest.approx(np.var(y[labels == group]), rel=0.03)


def test_training_sets_are_nested_never_hold_test_rows_and_each_group_scores_itself():
    measured, group_of = recorded_measure(SIGMAS, rows=120, data_seed=1, sizes=[5, 20, 60],
                                          test_size=30, replicates=3, seed=2)
    assert len(RECORD) == 2 * 3 * 3 == measured.training_runs
    by_run: dict[tuple, list] = {}
    for trained, scored, state in RECORD:
        assert not trained & scored  # no test row ever trained on
        owners = {group_of[i] for i in trained | scored}
        assert len(owners) == 1  # own-group training, scored on the own group only
        assert len(scored) == 30
        by_run.setdefault((owners.pop(), state), []).append(trained)
    assert len(by_run) == 2 * 3
    for sets in by_run.values():
        sets.sort(key=len)
        assert [len(s) for s in sets] == [5, 20, 60]
        assert sets[0] <= sets[1] <= sets[2]
    tests = {key: None for key in by_run}
    for _, scored, state in RECORD:
        key = (group_of[next(iter(scored))], state)
        tests[key] = scored if tests[key] is None else tests[key]
        assert tests[key] == scored  # one test set per group and replicate


def test_pooled_training_trains_one_model_on_every_group_and_reports_n_total():
    measured, group_of = recorded_measure(
        SIGMAS, rows=100, data_seed=1, sizes={"A": [10, 40], "B": [5, 20]}, training="pooled",
        test_size=20, replicates=2,
    )  # fmt: skip
    points = measured.points
    assert sorted(points["n_total"].unique()) == [15.0, 60.0]
    assert set(zip(points["group"], points["n"], points["n_total"], strict=True)) == {
        ("A", 10.0, 15.0), ("A", 40.0, 60.0), ("B", 5.0, 15.0), ("B", 20.0, 60.0)
    }  # fmt: skip
    for trained, scored, _ in RECORD:
        assert not trained & scored
        assert len({group_of[i] for i in scored}) == 1
        counts = pd.Series([group_of[i] for i in trained]).value_counts().to_dict()
        assert counts in ({"A": 10, "B": 5}, {"A": 40, "B": 20})


def test_the_same_seed_gives_the_same_points_and_another_seed_others():
    X, y, labels = mean_data(SIGMAS, rows=200, seed=4)
    options = dict(estimator=DummyRegressor(), scoring="r2", fractions=[0.25, 1.0],
                   replicates=2)
    first = measure_curves(X, y, labels, seed=7, **options).points
    again = measure_curves(X, y, labels, seed=7, **options).points
    other = measure_curves(X, y, labels, seed=8, **options).points
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["value"], other["value"])


def test_an_unset_random_state_is_seeded_per_replicate():
    measured, _ = recorded_measure({"A": 1.0}, rows=60, data_seed=0,
                                   scoring="neg_mean_absolute_error", sizes=[10], replicates=3)
    states = {state for _, _, state in RECORD}
    assert len(states) == 3 and None not in states
    assert set(measured.points["seed"] % 2**31) == states


def test_scorer_senses_follow_scikit_learn():
    assert (resolve_metric("neg_log_loss").sense, resolve_metric("r2").sense) == ("loss", "score")
    assert resolve_metric("neg_max_error").sense == "loss"
    assert resolve_metric("roc_auc").needs_two_classes
    assert resolve_metric("accuracy").classification and not resolve_metric("r2").classification


def test_log_loss_of_a_group_that_is_one_class_is_scored_against_every_class():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 80)
    X = rng.normal(size=(240, 2)) + y[:, None]
    measured = measure_curves(X, y, y, estimator=LogisticRegression(), scoring="neg_log_loss",
                              training="pooled", sizes=[10, 40], replicates=1)
    assert measured.sense == "loss" and (measured.points["value"] > 0).all()
    large = measured.points[measured.points["n"] == 40]["value"].to_numpy()
    small = measured.points[measured.points["n"] == 10]["value"].to_numpy()
    assert small.mean() > large.mean()


# --- bad input -------------------------------------------------------------------------------


def test_fractions_give_the_sizes_sizes_from_fractions_says_each_once():
    # 40 training rows a group: floor(0.1 * 40) = 4, floor(0.25 * 40) = floor(0.26 * 40) = 10
    assert sizes_from_fractions({"A": 40, "B": 7}, [1, 0.26, 0.1, 0.25]) == {
        "A": [4, 10, 40], "B": [0, 1, 7]}
    X, y, labels = mean_data({"A": 1.0, "B": 1.0}, rows=50, seed=0)
    measured = measure_curves(X, y, labels, estimator=DummyRegressor(), scoring="r2",
                              fractions=[1, 0.26, 0.1, 0.25], test_size=10, replicates=1)
    assert measured.pools == {"A": 40, "B": 40}
    for group, rows in measured.points.groupby("group"):
        assert sorted(rows["n"].unique()) == sizes_from_fractions(measured.pools, [
            1, 0.26, 0.1, 0.25])[group] == [4, 10, 40]


@pytest.mark.parametrize("fractions", [[], [0.5, 0], [1.5]])
def test_fractions_outside_zero_to_one_are_refused(fractions):
    with pytest.raises(InputError, match=r"fractions must lie in \(0, 1\]"):
        sizes_from_fractions({"A": 40}, fractions)


def test_a_group_too_small_for_the_largest_size_plus_its_test_rows_is_refused():
    X, y, labels = mean_data({"A": 1.0, "B": 1.0}, rows=50, seed=0)
    with pytest.raises(InputError, match=r"group 'A' has 50 rows: 13 test rows leave 37 .* 40"):
        measure_curves(X, y, labels, estimator=DummyRegressor(), scoring="r2", sizes=[10, 40])


def test_a_single_class_target_is_refused_for_a_classification_scorer():
    X = np.random.default_rng(0).normal(size=(80, 2))
    with pytest.raises(InputError, match="single class"):
        measure_curves(X, np.ones(80, int), np.repeat(["A", "B"], 40),
                       estimator=LogisticRegression(), scoring="accuracy", sizes=[10])
    y = np.tile([0, 1], 40)
    y[:40] = 0
    with pytest.raises(InputError, match="group 'A' has a single class"):
        measure_curves(X, y, np.repeat(["A", "B"], 40), estimator=LogisticRegression(),
                       scoring="accuracy", sizes=[10])


def test_an_unknown_scorer_gets_a_did_you_mean():
    X, y, labels = mean_data({"A": 1.0}, rows=40)
    with pytest.raises(InputError, match="unknown scoring 'roc_au'; did you mean 'roc_auc'"):
        measure_curves(X, y, labels, estimator=DummyRegressor(), scoring="roc_au", sizes=[5])


def test_an_estimator_that_fails_to_fit_is_named_with_its_group_and_size():
    X, y, labels = mean_data({"A": 1.0, "B": 2.0}, rows=100, seed=0)
    with pytest.raises(InputError, match=r"failed to fit: ValueError: cannot fit 40 rows for "
                                         r"group 'A' at size 40"):
        measure_curves(X, y, labels, estimator=FailsAtSize(size=40), scoring="r2",
                       sizes=[10, 40])


def test_non_numeric_features_are_named_when_the_model_cannot_take_them():
    X = pd.DataFrame({"colour": ["red", "blue"] * 50, "x": np.arange(100.0)})
    y = np.tile([0, 1], 50)
    with pytest.raises(InputError, match="non-numeric feature.*colour"):
        measure_curves(X, y, np.repeat(["A", "B"], 50), estimator=LogisticRegression(),
                       scoring="accuracy", sizes=[10])


def test_missing_targets_and_mismatched_lengths_are_refused():
    X, y, labels = mean_data({"A": 1.0}, rows=40)
    y[3] = np.nan
    with pytest.raises(InputError, match="1 missing value.*row 4"):
        measure_curves(X, y, labels, estimator=DummyRegressor(), scoring="r2", sizes=[5])
    with pytest.raises(InputError, match="one entry per row"):
        measure_curves(X, y[:10], labels, estimator=DummyRegressor(), scoring="r2", sizes=[5])


def test_planning_does_not_import_scikit_learn():
    code = (
        "import sys, allocate; allocate.plan; allocate.fit_curves; allocate.measure_curves; "
        "print('sklearn' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
