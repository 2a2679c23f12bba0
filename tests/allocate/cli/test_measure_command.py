"""`fairalloc measure` end to end: points that `fit` reads, Parquet input, one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocate.points import read_points
from tests.allocate.cli.running import run


@pytest.fixture
def table(tmp_path):
    """Two groups with a binary outcome that depends on x1 and x2; group B is noisier."""
    rng = np.random.default_rng(0)
    rows = 300
    group = np.repeat(["A", "B"], rows)
    x = rng.normal(size=(2 * rows, 2))
    noise = np.where(group == "A", 0.5, 1.5)
    outcome = (x[:, 0] - x[:, 1] + noise * rng.normal(size=2 * rows) > 0).astype(int)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "site": group, "case": outcome})
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    return path


def test_measure_writes_points_that_fit_reads(capsys, table, tmp_path):
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "measure", table, "--target", "case", "--group", "site",
                         "--sizes", "20,40,80,160", "--replicates", 2, "-o", points)
    assert code == 0, err
    assert "roc_auc (score)" in out and "--sense score" in out
    frame = read_points(points)
    assert set(frame["group"]) == {"A", "B"} and len(frame) == 2 * 4 * 2
    assert frame["value"].between(0, 1).all()
    mean = frame.groupby("group")["value"].mean()
    assert mean["A"] > mean["B"]  # the noisier group is harder to predict
    code, out, err = run(capsys, "fit", points, "--sense", "score", "--family", "power")
    assert code == 0, err and "A" in out


def test_measure_reads_parquet_and_repeated_options(capsys, table, tmp_path):
    parquet = tmp_path / "cohort.parquet"
    pd.read_csv(table).to_parquet(parquet)
    points = tmp_path / "points.csv"
    code, _, err = run(capsys, "measure", parquet, "--target", "case", "--group", "site",
                       "--features", "x1", "--features", "x2", "--model", "random-forest",
                       "--metric", "neg_log_loss", "--fractions", "0.25,0.5", "--fractions",
                       "1", "--training", "pooled", "--replicates", 1, "-o", points)
    assert code == 0, err
    frame = read_points(points)
    assert (frame["n_total"] > frame["n"]).all()
    assert frame["value"].gt(0).all()  # the log loss itself, a loss


BAD_INPUT = [
    (["--target", "cases", "--group", "site"], "no target column 'cases'; did you mean 'case'"),
    (["--target", "case", "--group", "sites"], "no group column 'sites'; did you mean 'site'"),
    (["--target", "case", "--group", "site", "--sizes", "100,250"],
     "group 'A' has 300 rows: 75 test rows leave 225 for training, fewer than the largest"),
    (["--target", "case", "--group", "site", "--model", "logistc"],
     "unknown model 'logistc'; did you mean 'logistic'?"),
    (["--target", "case", "--group", "site", "--metric", "roc_acu"],
     "unknown scoring 'roc_acu'; did you mean 'roc_auc'"),
    (["--target", "case", "--group", "site", "--model",
      "tests.allocate.measure_helpers:failing_model", "--metric", "r2", "--sizes", "20,40"],
     "failed to fit: ValueError: cannot fit 40 rows for group 'A' at size 40"),
    (["--target", "case", "--group", "site", "--model", "tests.allocate.measure_helpers:missing"],
     "module 'tests.allocate.measure_helpers' has no 'missing'"),
    (["--target", "case", "--group", "site", "--sizes", "10,x"], "--sizes: 'x' is not a number"),
]


@pytest.mark.parametrize(("options", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, table, tmp_path, options,
                                                          message):
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "measure", table, *options, "-o", points)
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not points.exists() and list(tmp_path.iterdir()) == [table]


def test_a_single_class_target_and_text_features_are_refused(capsys, tmp_path):
    frame = pd.DataFrame({"x": np.arange(80.0), "colour": ["red", "blue"] * 40,
                          "g": np.repeat(["A", "B"], 40), "y": 1})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    points = tmp_path / "points.csv"
    code, _, err = run(capsys, "measure", path, "--target", "y", "--group", "g", "--features",
                       "x", "--metric", "accuracy", "--sizes", "10", "-o", points)
    assert code == 2 and "y has a single class" in err
    frame["y"] = np.tile([0, 1], 40)
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "measure", path, "--target", "y", "--group", "g", "--sizes", "10",
                       "-o", points)
    assert code == 2 and "feature column(s) colour are not numeric" in err
    assert len(err.strip().splitlines()) == 1
    assert not points.exists()


def test_a_missing_or_unreadable_data_file_is_refused(capsys, tmp_path):
    points = tmp_path / "points.csv"
    code, _, err = run(capsys, "measure", tmp_path / "none.csv", "--target", "y", "--group",
                       "g", "-o", points)
    assert code == 2 and "does not exist" in err
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    code, _, err = run(capsys, "measure", other, "--target", "y", "--group", "g", "-o", points)
    assert code == 2 and "expected .csv" in err
    assert not points.exists()


def test_every_option_has_help(capsys):
    import inspect
    import typing

    from allocate.cli.measure_command import measure_command

    hints = typing.get_type_hints(measure_command, include_extras=True)
    for name in inspect.signature(measure_command).parameters:
        info = typing.get_args(hints[name])[1]
        assert info.help, name
