"""`fairalloc plan`: the table, the JSON object, the figure and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from allocate.cli import main
from tests.paths import ROOT

GENOMIC = str(ROOT / "examples" / "genomic_study.toml")
IMAGES = str(ROOT / "examples" / "image_labelling_study.toml")
FAIRALLOC = str(Path(sys.executable).with_name("fairalloc"))

SMALL = """budget = 30.0
utility = "maximin"

[[groups]]
name = "A"
curve = { a = 1.0, b = 1.0 }

[[groups]]
name = "B"
curve = { a = 4.0, b = 1.0 }
"""


def run(capsys, *args):
    code = main(["plan", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_one_object_with_the_issue_keys(capsys):
    code, out, err = run(capsys, GENOMIC, "--json")
    assert code == 0 and err == ""
    result = json.loads(out)  # exactly one JSON document
    assert {"status", "utility", "objective", "budget", "spent", "groups", "baselines"} <= set(
        result)
    assert result["status"] == "optimal" and result["utility"] == "maximin"
    assert [g["name"] for g in result["groups"]] == ["YRI", "CEU", "CHB"]
    for group in result["groups"]:
        assert set(group) == {"name", "have", "collect", "total", "cost", "predicted"}
        assert isinstance(group["collect"], int) and group["total"] == group["have"] + group[
            "collect"]
    assert result["spent"] <= result["budget"]
    assert set(result["baselines"]) == {"equal", "proportional"}
    for base in result["baselines"].values():
        assert {"objective", "groups"} <= set(base) and len(base["groups"]) == 3
        assert result["objective"] >= base["objective"]  # maximin score: higher is better


def test_small_study_matches_the_closed_form(tmp_path, capsys):
    study = tmp_path / "small.toml"
    study.write_text(SMALL)
    code, out, _ = run(capsys, study, "--json")
    assert code == 0
    totals = [g["total"] for g in json.loads(out)["groups"]]
    assert totals == [6, 24]  # a = (1, 4), b = 1: n proportional to a, 30 in all
    code, out, _ = run(capsys, study, "--json", "--continuous", "--budget", "60",
                       "--utility", "weighted")
    result = json.loads(out)
    assert code == 0 and result["utility"] == "weighted" and result["budget"] == 60
    # weighted, b = 1: n proportional to sqrt(a)
    assert [g["total"] for g in result["groups"]] == pytest.approx([20.0, 40.0], rel=1e-4)


def test_the_table_shows_groups_baselines_objective_and_marginal_value(capsys):
    code, out, err = run(capsys, GENOMIC)
    assert code == 0 and err == ""
    for text in ("YRI", "CEU", "CHB", "equal", "proportional", "objective", "spent 6,000",
                 "marginal value of budget"):
        assert text in out


def test_power_mean_override_and_p(capsys):
    code, out, _ = run(capsys, GENOMIC, "--json", "--utility", "power-mean", "--p", "3")
    result = json.loads(out)
    assert code == 0 and result["utility"] == "power-mean" and result["p"] == 3.0
    # p changes the plan: p = 1 is the weighted plan; p = 3 serves the worst group better.
    first = json.loads(run(capsys, GENOMIC, "--json", "--utility", "power-mean", "--p", "1")[1])
    weighted = json.loads(run(capsys, GENOMIC, "--json", "--utility", "weighted")[1])

    def totals(plan):
        return [group["total"] for group in plan["groups"]]

    assert totals(first) == totals(weighted) and totals(result) != totals(first)
    score = result["sense"] == "score"

    def worst(plan):
        predicted = [group["predicted"] for group in plan["groups"]]
        return min(predicted) if score else -max(predicted)

    assert worst(result) > worst(first)


def test_plot_is_written(tmp_path, capsys):
    figure = tmp_path / "plan.png"
    code, out, _ = run(capsys, GENOMIC, "--plot", figure)
    assert code == 0 and "wrote" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.png"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.toml"], r"study file 'nowhere.toml' does not exist"),
        ([GENOMIC, "--budget", "-5"], r"error: --budget must be a number >= 0; got -5.0"),
        ([GENOMIC, "--p", "0.5"], r"error: --p must be a number >= 1; got 0.5"),
        ([GENOMIC, "--budget", "10"], r"the quotas cost .* more than the budget 10"),
        ([GENOMIC, "--plot", "plan.txt"], r"--plot must end in .png, .pdf, .svg"),
        ([GENOMIC, "--utility", "fair"], r"Invalid value for '--utility'"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert re.search(message, err)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_unknown_field_gets_a_did_you_mean(tmp_path, capsys):
    study = tmp_path / "typo.toml"
    study.write_text(SMALL.replace('utility = "maximin"', 'utilty = "maximin"'))
    code, _, err = run(capsys, study)
    assert code == 2
    assert "unknown field 'utilty' (did you mean 'utility'?)" in err


def test_the_installed_command_prints_json_and_fails_without_traceback():
    done = subprocess.run([FAIRALLOC, "plan", GENOMIC, "--json"], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["status"] == "optimal"
    failed = subprocess.run([FAIRALLOC, "plan", IMAGES, "--budget", "1"], capture_output=True,
                            text=True, cwd=ROOT)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith("error: the quotas cost")
    assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


# --- output paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda tmp: Path("/sys/plan.png"), "refuses new files"),
        (lambda tmp: tmp, "is a folder; give a file name inside it"),
        (lambda tmp: tmp / "nowhere" / "plan.png", "does not exist; create it first"),
    ],
    ids=["unwritable folder", "a folder", "missing parent"],
)
def test_a_plot_that_cannot_be_written_is_one_line_and_writes_nothing(
    capsys, tmp_path, make_path, message
):
    if not Path("/sys").is_dir():
        pytest.skip("needs /sys")
    path = make_path(tmp_path)
    code, out, err = run(capsys, GENOMIC, "--plot", path)
    assert code == 2 and out == ""
    assert err.startswith("error: --plot") and len(err.strip().splitlines()) == 1
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --- what a person sees before trusting the plan ---------------------------------------------

FITTED = """budget = 19800.0
utility = "maximin"

[[groups]]
name = "A"
have = 100
fitted_sizes = [10.0, 100.0]
fit_warnings = ["the measured loss rises as n grows"]
curve = { a = 1.0, b = 0.5 }

[[groups]]
name = "B"
have = 100
fitted_sizes = [10.0, 5000.0]
curve = { a = 1.0, b = 0.5 }
"""


def test_fit_warnings_and_extrapolation_are_warned_in_the_table_and_the_json(capsys, tmp_path):
    study = tmp_path / "fitted.toml"
    study.write_text(FITTED)
    code, out, err = run(capsys, study)
    assert code == 0 and err == ""
    flat = " ".join(out.split())
    assert "warning: curve of 'A': the measured loss rises as n grows" in flat
    assert "group 'A' is planned at 10,000 samples, 100x the largest size its curve was fitted" \
        " on (100); beyond 10x the curve is an extrapolation" in flat
    assert "group 'B' is planned" not in flat  # 10,000 is 2x its largest fitted size
    code, out, _ = run(capsys, study, "--json")
    warnings = json.loads(out)["warnings"]
    assert code == 0 and len(warnings) == 2 and warnings[0].startswith("curve of 'A'")


def test_a_plan_within_the_fitted_range_has_no_warnings(capsys, tmp_path):
    study = tmp_path / "fitted.toml"
    study.write_text(FITTED.replace("budget = 19800.0", "budget = 1000.0")
                     .replace('fit_warnings = ["the measured loss rises as n grows"]\n', ""))
    code, out, _ = run(capsys, study, "--json")
    assert code == 0 and json.loads(out)["warnings"] == []


def test_plan_from_fit_output_counts_the_measured_samples_as_in_hand(capsys, tmp_path):
    import numpy as np
    import pandas as pd

    n = np.repeat([50, 100, 200, 400, 800], 2)
    points = pd.DataFrame({"group": np.repeat(["A", "B"], n.size), "n": np.tile(n, 2),
                           "value": np.concatenate([n**-0.5, 3 * n**-0.5])})
    points.to_csv(tmp_path / "points.csv", index=False)
    curves = tmp_path / "curves.toml"
    assert main(["fit", str(tmp_path / "points.csv"), "--family", "power", "-o", str(curves)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, curves, "--budget", 1000, "--json")
    groups = json.loads(out)["groups"]
    assert code == 0 and [g["have"] for g in groups] == [800, 800]
    assert sum(g["collect"] for g in groups) == 1000


def test_the_help_shows_the_groups_tables(capsys):
    code = main(["plan", "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "[[groups]]" in out and "[]" not in out


# --- the figure ------------------------------------------------------------------------------

TARGETED = """utility = "target"
budget = 50000.0

[[groups]]
name = "A"
target = 0.05
curve = { a = 1.0, b = 0.5 }

[[groups]]
name = "B"
target = 0.02
curve = { a = 1.0, b = 0.5 }
"""


def test_the_figure_has_readable_numbers_a_target_line_and_says_what_the_bars_mean(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from allocate.planning import plan
    from allocate.plotting_plan import plot_plan
    from allocate.study_file import read_study

    path = tmp_path / "target.toml"
    path.write_text(TARGETED)
    spec = read_study(path)
    result = plan(spec)
    assert result.spent == 400 + 2500  # (1 / target)^2 samples reach each target exactly
    figure = plot_plan(result, study=spec)
    sizes, metric = figure.axes
    assert sizes.get_title() == "Allocation (target); spent 2,900 of 50,000"
    assert "e+" not in sizes.get_title()
    lines = [c for c in metric.collections if c.get_label() == "target"]
    assert len(lines) == 1
    heights = sorted(segment[0][1] for segment in lines[0].get_segments())
    assert heights == pytest.approx([0.02, 0.05])
    note = figure.get_supxlabel()
    assert "equal: the same total for every group" in note
    assert "proportional: totals in proportion to the groups' weights" in note
    plt.close(figure)


def test_readable_numbers():
    from allocate.plotting_plan import readable_number

    assert [readable_number(v) for v in (20000.0, 6000, 1234.5, 12.25, 0.0001, 0)] == [
        "20,000", "6,000", "1,234.5", "12.25", "0.0001", "0"]
