"""Reading study files: every field checked at the door, every error one clear line."""

from __future__ import annotations

import math

import pytest

from allocate.curves import Curve
from allocate.errors import InfeasibleStudy, InputError, StudyFileError
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec, read_study, study_from_dict
from tests.paths import EXAMPLES


def group(**fields):
    table = {"name": "A", "curve": {"a": 1.0, "b": 0.5}}
    table.update(fields)
    return table


def study(*groups, **fields):
    data = {"budget": 100.0, "groups": list(groups) or [group()]}
    data.update(fields)
    return data


def test_the_genomic_example_reads_with_every_field():
    spec = read_study(EXAMPLES / "genomic_study.toml")
    assert spec.names == ("YRI", "CEU", "CHB")
    assert spec.utility == "maximin" and spec.budget == 6000.0 and spec.integer
    yri = spec.groups[0]
    assert (yri.cost, yri.weight, yri.have, yri.max) == (1.5, 0.2, 200, 20000)
    assert yri.curve == Curve(a=12.6, b=0.5, c=0.35, sense="score", score_max=1.0)
    assert spec.groups[2].min == 1500 and spec.sense == "score"


def test_defaults_fill_missing_fields():
    spec = study_from_dict(study())
    only = spec.groups[0]
    assert (only.cost, only.weight, only.have, only.min, only.max, only.target) == (
        1.0, 1.0, 0, 0, math.inf, None)
    assert only.curve == Curve(a=1.0, b=0.5, c=0.0, t=0.0, q=0.5)
    assert (spec.utility, spec.p, spec.integer) == ("weighted", 2.0, True)


def test_a_fitted_curves_file_without_budget_plans_with_a_budget(tmp_path):
    path = tmp_path / "curves.toml"
    path.write_text(
        "# fitted\n[[groups]]\nname = \"A\"\nsense = \"score\"\nscore_max = 1.0\n"
        "curve = { a = 1.0, b = 0.5, c = 0.1, t = 0.0, q = 0.5 }\n\n"
        "[[groups]]\nname = \"B\"\nsense = \"score\"\nscore_max = 1.0\n"
        "curve = { a = 2.0, b = 0.5, c = 0.1, t = 0.0, q = 0.5 }\n"
    )
    spec = read_study(path)
    assert spec.budget is None
    result = plan(spec, budget=500)
    assert result.spent <= 500 and result.totals.sum() == 500
    with pytest.raises(InputError, match="no budget: set budget in the study file or pass"):
        plan(spec)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (study(budjet=5), r"study: unknown field 'budjet' \(did you mean 'budget'\?\)"),
        (study(group(cots=2.0)), r"group 'A': unknown field 'cots' \(did you mean 'cost'\?\)"),
        (study(group(curve={"a": 1.0, "bb": 0.5})),
         r"unknown field 'bb' \(did you mean 'b'\?\)"),
        (study(group(curve={"a": 1.0})), r"group 'A': curve needs b"),
        (study(group(curve=3.0)), r"curve must be a table"),
        (study(group(curve={"a": -1.0, "b": 0.5})), r"group 'A': curve needs a > 0 and b > 0"),
        (study(group(curve={"a": "x", "b": 0.5})), r"curve: a must be a number; got 'x'"),
        (study(utility="maximim"), r"utility must be one of .*\(did you mean 'maximin'\?\)"),
        (study(budget=-5), r"budget must be a number >= 0; got -5"),
        (study(budget="lots"), r"budget must be a number; got 'lots'"),
        (study(group(cost=-1.0)), r"group 'A': cost must be a positive number; got -1.0"),
        (study(group(cost="cheap")), r"group 'A': cost must be a number; got 'cheap'"),
        (study(group(weight=-0.1)), r"weight must be a number >= 0; got -0.1"),
        (study(group(have=1.5)), r"group 'A': have must be a whole number; got 1.5"),
        (study(group(min=-2)), r"group 'A': min must be a whole number >= 0; got -2"),
        (study(group(max="big")), r"group 'A': max must be a whole number; got 'big'"),
        (study(group(target="low")), r"group 'A': target must be a number"),
        (study(group(sense="scor")), r"sense must be 'loss' or 'score'.*did you mean 'score'"),
        (study(group(), group()), r"group names must be unique; repeated: A"),
        (study(group(), group(name="B", sense="score")), r"one metric sense"),
        (study(group(name="")), r"groups\[0\]: name must be a non-empty string"),
        (study(p=0.5), r"p must be a number >= 1; got 0.5"),
        (study(integer="yes"), r"integer must be true or false; got 'yes'"),
        ({"budget": 5}, r"needs at least one \[\[groups\]\] table"),
        (study(group(weight=0.0)), r"at least one group needs a positive weight"),
    ],
)
def test_bad_fields_are_refused_in_one_line(data, message):
    with pytest.raises(StudyFileError, match=message) as caught:
        study_from_dict(data)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"have": 50, "max": 40}, r"group 'A' already has 50 samples, more than its pool max = 40"),
        ({"min": 50, "max": 40}, r"group 'A' has quota min = 50 above its pool max = 40"),
    ],
)
def test_impossible_bounds_are_infeasible(fields, message):
    with pytest.raises(InfeasibleStudy, match=message):
        study_from_dict(study(group(**fields)))


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(StudyFileError, match=r"study file '.*nowhere.toml' does not exist"):
        read_study(tmp_path / "nowhere.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("budget = = 3\n")
    with pytest.raises(StudyFileError, match=r"broken.toml is not valid TOML"):
        read_study(broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("budget = 3\nutilty = 'maximin'\n[[groups]]\nname='A'\n"
                       "curve = {a = 1.0, b = 0.5}\n")
    with pytest.raises(StudyFileError, match=r"unknown.toml: study: unknown field 'utilty'"):
        read_study(unknown)


def test_specs_built_in_python_are_checked_too():
    curve = Curve(a=1.0, b=0.5)
    with pytest.raises(InputError, match="cost must be a positive number"):
        GroupSpec("A", curve, cost=0.0)
    with pytest.raises(InputError, match="utility must be one of"):
        StudySpec(groups=(GroupSpec("A", curve),), budget=10, utility="fair")
    with pytest.raises(InputError, match="a study needs at least one group"):
        StudySpec(groups=(), budget=10)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sense": "score", "score_max": -1.0}, r"group 'A': score_max must be a number >= 0"),
        ({"fitted_sizes": [100, 10]}, r"fitted_sizes must be \[smallest, largest\] positive"),
        ({"fitted_sizes": [0, 10]}, r"fitted_sizes must be"),
        ({"fitted_sizes": 10}, r"fitted_sizes must be"),
        ({"fit_warnings": "flat"}, r"fit_warnings must be a list of strings"),
        ({"fit_warnings": [3]}, r"fit_warnings must be a list of strings"),
    ],
)
def test_bad_curve_provenance_is_refused(fields, message):
    with pytest.raises(StudyFileError, match=message):
        study_from_dict(study(group(**fields)))


def test_a_folder_given_as_the_study_file_is_called_a_folder(tmp_path):
    with pytest.raises(StudyFileError, match="is a folder; give the TOML file inside it"):
        read_study(tmp_path)


def test_curve_provenance_is_read_and_takes_no_part_in_comparisons():
    plain = study_from_dict(study())
    fitted = study_from_dict(study(group(fitted_sizes=[10, 400], fit_warnings=["flat"])))
    assert fitted.groups[0].fitted_sizes == (10.0, 400.0)
    assert fitted.groups[0].fit_warnings == ("flat",)
    assert fitted == plain  # where a curve came from does not change the study


def test_extrapolation_is_reported_beyond_ten_times_the_largest_fitted_size():
    from allocate.study_file import EXTRAPOLATION_FACTOR, extrapolation_warnings

    spec = study_from_dict(study(group(fitted_sizes=[10, 400]),
                                 group(name="B", fitted_sizes=[10, 4000]), group(name="C")))
    assert EXTRAPOLATION_FACTOR == 10
    assert extrapolation_warnings(spec, [4000, 4000, 10**9]) == []  # exactly 10x is not beyond
    notes = extrapolation_warnings(spec, [4001, 40001, 10**9])
    assert [note.split(" is planned")[0] for note in notes] == ["group 'A'", "group 'B'"]
    assert "planned at 4,001 samples, 10x the largest size its curve was fitted on (400)" \
        in notes[0]
    assert len(extrapolation_warnings(spec, [2001, 0, 0], factor=5)) == 1
    assert extrapolation_warnings(spec, [2000, 0, 0], factor=5) == []
    with pytest.raises(InputError, match="totals needs one value per group"):
        extrapolation_warnings(spec, [1, 2])
