"""`fairalloc fit` end to end: tables, JSON, the curves file `plan` reads, and one-line errors."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from allocate.cli import main
from allocate.curves import Curve

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


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


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
