"""The Plan object: every number as an attribute, summary(), to_dict() and to_frame()."""

from __future__ import annotations

import json

import numpy as np
import pytest

from allocate import Plan, plan, read_study
from tests.paths import EXAMPLES


@pytest.fixture(scope="module")
def genomic() -> Plan:
    return plan(read_study(EXAMPLES / "genomic_study.toml"))


def test_plan_attributes_agree_with_each_other(genomic):
    study = read_study(EXAMPLES / "genomic_study.toml")
    assert genomic.names == study.names
    np.testing.assert_array_equal(genomic.totals, [g.have for g in study.groups] + genomic.collect)
    costs = np.array([g.cost for g in study.groups])
    assert genomic.spent == pytest.approx(float(costs @ genomic.collect))
    assert genomic.objective == pytest.approx(genomic.predicted.min())  # maximin of scores
    assert genomic.totals[2] >= 1500  # CHB quota


def test_to_dict_is_json_and_round_trips_the_numbers(genomic):
    data = json.loads(json.dumps(genomic.to_dict()))
    assert data["objective"] == pytest.approx(genomic.objective)
    assert [g["total"] for g in data["groups"]] == genomic.totals.astype(int).tolist()
    assert data["baselines"]["equal"]["objective"] == pytest.approx(
        genomic.baselines["equal"].objective)


def test_to_frame_has_one_row_per_group_with_baselines(genomic):
    frame = genomic.to_frame()
    assert list(frame.index) == ["YRI", "CEU", "CHB"]
    for column in ("collect", "total", "cost", "predicted", "predicted_equal",
                   "predicted_proportional"):
        assert column in frame.columns
    np.testing.assert_allclose(frame["predicted"], genomic.predicted)


def test_summary_names_groups_objective_and_budget(genomic):
    text = genomic.summary()
    for word in ("maximin", "YRI", "CEU", "CHB", "objective", "budget 6000", "equal"):
        assert word in text


def test_the_image_labelling_example_meets_its_quota_pool_and_target():
    study = read_study(EXAMPLES / "image_labelling_study.toml")
    result = plan(study)
    assert result.status == "feasible"  # coupled groups: rounded and repaired
    vi = result.groups[-1]
    assert vi.total >= 500 and vi.total <= 4000 and vi.predicted <= 0.25
    assert result.groups[3].total <= 12000
    assert result.spent <= 20000.0
    for base in result.baselines.values():
        assert result.objective <= base.objective  # power-mean loss: lower is better


def test_curves_written_by_fit_plan_with_a_budget(tmp_path):
    import pandas as pd

    from allocate import curves_to_toml, fit_curves

    sizes = np.array([50, 100, 200, 400, 800, 1600])
    truth = {"A": (1.0, 0.5), "B": (3.0, 0.5)}
    points = pd.DataFrame([
        {"group": g, "n": n, "value": a * n ** -b} for g, (a, b) in truth.items() for n in sizes
    ])
    path = tmp_path / "curves.toml"
    path.write_text(curves_to_toml(fit_curves(points, family="power")))
    result = plan(read_study(path), budget=400, utility="maximin")
    # the file counts the 1600 measured per group as in hand; B stays the worse group even with
    # all 400 more (3 / sqrt(2000) > 1 / sqrt(1600)), so maximin gives B the whole budget
    assert [group.have for group in result.groups] == [1600, 1600]
    assert result.totals.tolist() == [1600.0, 2000.0]
    assert result.spent <= 400
