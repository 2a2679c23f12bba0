"""`fairalloc fit` end to end: tables, JSON, the curves file `plan` reads, and one-line errors."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocate.curves import Curve
from tests.allocate.cli.running import run

TRUTH = {"CEU": Curve(a=2.0, b=0.5, c=0.1), "YRI": Curve(a=4.0, b=0.4, c=0.15)}


@pytest.fixture
def points_csv(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        (group, n, float(curve.loss(n)) + rng.normal(0, 0.002))
        for group, curve in TRUTH.items()
        for n in (50, 100, 200, 400, 800, 1600, 3200)
        for _ in range(3)
    ]
    path = tmp_path / "points.csv"
    pd.DataFrame(rows, columns=["group", "n", "value"]).to_csv(path, index=False)
    return path


def test_fit_prints_a_table_with_every_group(capsys, points_csv):
    code, out, err = run(capsys, "fit", points_csv, "--bootstrap", 50, "--seed", 1)
    assert code == 0, err
    assert "CEU" in out and "YRI" in out and "90% interval" in out


def test_fit_json_is_one_object_with_recovered_parameters(capsys, points_csv):
    code, out, _ = run(capsys, "fit", points_csv, "--json")
    assert code == 0
    result = json.loads(out)
    by_group = {g["group"]: g for g in result["groups"]}
    assert by_group["YRI"]["estimates"]["b"] == pytest.approx(0.4, abs=0.03)
    assert result["family"] == "power-offset"


def test_fit_writes_the_curves_file_that_plan_reads(capsys, points_csv, tmp_path):
    curves, figure = tmp_path / "curves.toml", tmp_path / "curves.png"
    code, out, err = run(capsys, "fit", points_csv, "-o", curves, "--plot", figure)
    assert code == 0, err
    study = tomllib.loads(curves.read_text())
    names = [g["name"] for g in study["groups"]]
    assert names == ["CEU", "YRI"]
    ceu = study["groups"][0]["curve"]
    assert ceu["b"] == pytest.approx(0.5, abs=0.03) and set(ceu) == {"a", "b", "c", "t", "q"}
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_score_sense_round_trips_through_the_file(capsys, tmp_path):
    n = np.repeat([100, 200, 400, 800, 1600], 2)
    path = tmp_path / "r2.csv"
    pd.DataFrame({"group": "A", "n": n, "value": 0.5 - 1.5 * n**-0.5}).to_csv(path, index=False)
    out_file = tmp_path / "curves.toml"
    code, _, err = run(capsys, "fit", path, "--sense", "score", "-o", out_file)
    assert code == 0, err
    group = tomllib.loads(out_file.read_text())["groups"][0]
    assert group["sense"] == "score" and group["score_max"] == 1.0
    assert group["curve"]["c"] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("group,n\nA,10\n", "missing column(s) value"),
        ("group,n,value\nA,ten,0.3\n", "'ten' is not a number"),
        ("group,n,value\nA,0,0.3\nA,10,0.2\nA,100,0.1\n", "training sizes must be positive"),
        ("group,n,value\nA,10,nan\nA,20,0.2\nA,100,0.1\n", "must be finite"),
        ("group,n,value\nA,10,inf\nA,20,0.2\nA,100,0.1\n", "must be finite"),
        ("group,n,value\nA,10,0.3\nA,100,0.1\nA,10,0.31\n", "2 distinct training sizes"),
    ],
)
def test_bad_points_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, csv_text, message):
    path = tmp_path / "bad.csv"
    path.write_text(csv_text)
    curves, figure = tmp_path / "curves.toml", tmp_path / "fig.png"
    code, out, err = run(capsys, "fit", path, "-o", curves, "--plot", figure)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not curves.exists() and not figure.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_transfer_points_without_independent_pooled_sizes_are_refused(capsys, tmp_path):
    path = tmp_path / "points.csv"
    rows = "".join(f"A,{n},{n},{0.3 * (10 / n) ** 0.5}\n" for n in (10, 20, 40, 80, 160, 320))
    path.write_text("group,n,n_total,value\n" + rows)
    code, _, err = run(capsys, "fit", path, "--family", "transfer")
    assert code == 2 and "transfer family needs points where n_total varies" in err


def test_a_fit_that_does_not_converge_is_reported(capsys, points_csv, monkeypatch):
    from scipy.optimize import OptimizeResult

    from allocate import fitting

    def gives_up(fun, x0, **kwargs):
        return OptimizeResult(x=x0, status=0, message="too many function evaluations")

    monkeypatch.setattr(fitting.optimize, "least_squares", gives_up)
    code, _, err = run(capsys, "fit", points_csv)
    assert code == 2 and "did not converge (too many function evaluations)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "cubic"], "'cubic' is not one of"),
        (["--plot", "fig.jpg"], "--plot must end in"),
        (["--bootstrap", "-3"], "--bootstrap"),
        (["--level", "2"], "level must be between 0 and 1"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, points_csv, args, message):
    code, _, err = run(capsys, "fit", points_csv, *args)
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_missing_file_is_named(capsys, tmp_path):
    code, _, err = run(capsys, "fit", tmp_path / "nope.csv")
    assert code == 2 and "does not exist" in err


# --- output paths: checked before anything is written ----------------------------------------

UNWRITABLE = Path("/sys")  # refuses new files even to root


def _bad_output_cases(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    return {
        "unwritable folder": (UNWRITABLE / "curves.toml", "refuses new files"),
        "a folder": (folder, "is a folder; give a file name inside it"),
        "missing parent": (tmp_path / "nowhere" / "curves.toml", "does not exist; create it"),
        "parent is a file": (tmp_path / "points.csv" / "curves.toml", "is a file, not a folder"),
    }


def _contents(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", ["unwritable folder", "a folder", "missing parent",
                                  "parent is a file"])
@pytest.mark.parametrize("option", ["-o", "--plot"])
def test_an_output_path_that_cannot_be_written_is_one_line_and_writes_nothing(
    capsys, points_csv, tmp_path, case, option
):
    if not UNWRITABLE.is_dir():
        pytest.skip("needs /sys")
    path, message = _bad_output_cases(tmp_path)[case]
    if option == "--plot":
        path = path if path.is_dir() else path.with_suffix(".png")
    before = _contents(tmp_path)
    code, out, err = run(capsys, "fit", points_csv, option, path)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err and str(path) in err
    assert _contents(tmp_path) == before


def test_a_good_plot_with_a_bad_output_writes_no_figure(capsys, points_csv, tmp_path):
    figure = tmp_path / "curves.png"
    code, _, err = run(capsys, "fit", points_csv, "--plot", figure, "-o", tmp_path)
    assert code == 2 and "--output" in err and "is a folder" in err
    assert not figure.exists() and _contents(tmp_path) == ["points.csv"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(capsys, points_csv, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = run(capsys, "fit", points_csv, "-o", locked / "curves.toml")
    finally:
        locked.chmod(0o755)
    assert code == 2 and "refuses new files" in err and not any(locked.iterdir())


def test_a_write_that_fails_after_the_checks_is_one_line(capsys, points_csv, tmp_path,
                                                          monkeypatch):
    from allocate import files

    def disk_full(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(files, "write_text_atomically", disk_full)
    code, _, err = run(capsys, "fit", points_csv, "-o", tmp_path / "curves.toml")
    assert code == 2 and err.count("\n") == 1
    assert "No space left on device" in err and "curves.toml" in err


# --- nonsense in the points or the options ---------------------------------------------------


def test_a_folder_given_as_the_points_file_is_called_a_folder(capsys, tmp_path):
    code, _, err = run(capsys, "fit", tmp_path)
    assert code == 2 and "is a folder" in err and "does not exist" not in err


@pytest.mark.parametrize(
    ("csv_text", "args", "message"),
    [
        ("group,n,value,n\nA,10,0.3,10\nA,20,0.2,20\nA,40,0.1,40\n", [],
         "the header names column(s) 'n' more than once"),
        ("group,n,value\nA,10,0.3\nA,20.5,0.2\nA,40,0.1\n", [],
         "row 2 has n = 20.5; training sizes count samples, so they must be whole numbers"),
        ("group,n,value\nA,10,0.3\nA,20,1.2\nA,40,0.5\nA,80,0.6\n", ["--sense", "score"],
         "has a score of 1.2 at n = 20, above --score-max = 1"),
        ("group,n,value\nA,10,0.3\nA,20,0.2\nA,40,0.1\n", ["--score-max", "-1"],
         "--score-max must be a finite number >= 0"),
        ("group,n,value\nA,10,0.3\nA,20,0.2\nA,40,0.1\nA,80,0.05\n", ["--bootstrap", "1"],
         "--bootstrap must be 0 (Wald intervals) or at least 20 resamples at --level 0.9"),
        ("group,n,value\nA,10,0.3\nA,20,0.2\nA,40,0.1\nA,80,0.05\n",
         ["--bootstrap", "50", "--level", "0.99"], "at least 200 resamples at --level 0.99"),
    ],
)
def test_nonsense_is_refused_in_one_line_and_writes_nothing(capsys, tmp_path, csv_text, args,
                                                             message):
    path = tmp_path / "points.csv"
    path.write_text(csv_text)
    curves, figure = tmp_path / "curves.toml", tmp_path / "fig.png"
    code, out, err = run(capsys, "fit", path, *args, "-o", curves, "--plot", figure)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert _contents(tmp_path) == ["points.csv"]


def test_the_cli_names_its_options_where_the_library_names_parameters(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("group,n,value\nA,10,0.3\nA,20,1.2\nA,40,0.5\n")
    code, _, err = run(capsys, "fit", path, "--sense", "score")
    assert code == 2 and err.count("\n") == 1
    assert err.rstrip().endswith("above --score-max = 1, the best possible score; raise "
                                 "--score-max or check the sense of the metric (--sense)")


def test_zero_residual_dof_prints_no_standard_errors_and_warns(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("".join(["group,n,value\n"] + [f"A,{n},{0.1 + 2 * n**-0.5}\n"
                                                    for n in (50, 100, 400)]))
    code, out, _ = run(capsys, "fit", path)
    assert code == 0
    assert "warning" in out and "no residual degrees of freedom (3 points, 3 parameters)" in out
    rows = [line for line in out.splitlines() if line.startswith("│") and " b " in line]
    assert rows and "n/a" in rows[0] and "e-0" not in rows[0]


@pytest.mark.parametrize(("sense", "slope", "words"), [("loss", 0.0001, "loss rises"),
                                                       ("score", -0.0001, "score falls")])
def test_points_going_the_wrong_way_warn_in_the_table(capsys, tmp_path, sense, slope, words):
    rng = np.random.default_rng(2)
    n = np.repeat([50, 100, 200, 400, 800], 2)
    value = 0.5 + slope * n + rng.normal(0, 0.002, n.size)
    path = tmp_path / "points.csv"
    pd.DataFrame({"group": "A", "n": n, "value": value}).to_csv(path, index=False)
    code, out, _ = run(capsys, "fit", path, "--sense", sense)
    assert code == 0 and f"the measured {words} as n grows" in " ".join(out.split())


# --- what the fit writes and says ------------------------------------------------------------


def test_the_curves_file_carries_have_sizes_and_says_what_it_assumed(capsys, points_csv,
                                                                     tmp_path):
    curves = tmp_path / "curves.toml"
    code, out, _ = run(capsys, "fit", points_csv, "-o", curves)
    assert code == 0
    text = curves.read_text()
    assert "ASSUMED defaults, not measured: cost = 1, weight = 1" in text
    groups = tomllib.loads(text)["groups"]
    for group in groups:  # the points measure every group at 50 ... 3200
        assert group["have"] == 3200 and group["fitted_sizes"] == [50.0, 3200.0]
        assert group["cost"] == 1.0 and group["weight"] == 1.0
        assert isinstance(group["fit_warnings"], list)
    assert text.count("1.0  # assumed") == 4
    assert "have = the largest n measured in each group; ASSUMED cost = 1, weight = 1" in out


def test_the_summary_shows_dof_fit_quality_and_information_criteria(capsys, points_csv):
    code, out, _ = run(capsys, "fit", points_csv)
    code_json, text, _ = run(capsys, "fit", points_csv, "--json")
    assert code == code_json == 0
    for column in ("residual dof", "RMSE", "R^2", "AIC", "BIC", "fitted n"):
        assert column in out
    ceu = json.loads(text)["groups"][0]
    assert ceu["residual_dof"] == 21 - 3  # 7 sizes x 3 replicates, 3 parameters
    assert f"{ceu['aic']:.2f}" in out and f"{ceu['bic']:.2f}" in out
    assert f"{ceu['r_squared']:.4f}" in out


def test_json_stays_one_object_and_the_assumed_defaults_go_to_stderr(capsys, points_csv,
                                                                     tmp_path):
    code, out, err = run(capsys, "fit", points_csv, "--json", "-o", tmp_path / "curves.toml")
    assert code == 0 and json.loads(out)["groups"][0]["fitted_sizes"] == [50.0, 3200.0]
    assert err.startswith("note: ") and "ASSUMED cost = 1, weight = 1" in err


def test_a_pipe_is_neither_read_as_points_nor_replaced_by_the_output(capsys, points_csv,
                                                                     tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, _, err = run(capsys, "fit", pipe)
    assert code == 2 and "is not a regular file" in err
    code, _, err = run(capsys, "fit", points_csv, "-o", pipe)
    assert code == 2 and "is not a regular file" in err and not pipe.is_file()


def test_a_negative_seed_is_one_line(capsys, points_csv):
    code, _, err = run(capsys, "fit", points_csv, "--bootstrap", 20, "--seed", -1)
    assert code == 2 and err.count("\n") == 1 and "seed must be a whole number >= 0" in err


def test_the_curve_figure_dashes_the_extrapolated_part(points_csv):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from allocate.fitting import fit_curves
    from allocate.plotting import plot_curves
    from allocate.points import read_points

    table = read_points(points_csv)
    figure = plot_curves(fit_curves(table), table)
    lines = figure.axes[0].get_lines()
    solid = [line for line in lines if line.get_linestyle() == "-"]
    dashed = [line for line in lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 2
    assert all(line.get_xdata().max() <= 3200 for line in solid)
    assert all(line.get_xdata().min() > 3200 for line in dashed)
    assert "dashed: beyond the measured sizes" in figure.axes[0].get_title()
    plt.close(figure)
