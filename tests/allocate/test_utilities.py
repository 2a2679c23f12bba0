"""The utilities module: each utility's aggregate and terms against their definitions, the one
list of names, and library messages that name parameters rather than command-line flags."""

from __future__ import annotations

import numpy as np
import pytest

from allocate import study_file
from allocate.cli import main
from allocate.cli.plan_command import UtilityChoice
from allocate.curves import Curve, size_for_own_term
from allocate.errors import InputError
from allocate.optimise import AllocationProblem
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec
from allocate.utilities import UTILITIES, UTILITY_NAMES, utility_named


def problem(utility: str, sense: str = "loss", p: float = 3.0) -> AllocationProblem:
    groups = tuple(
        GroupSpec(name=f"g{i}", curve=Curve(a=a, b=0.5, sense=sense, score_max=1.0), weight=w)
        for i, (a, w) in enumerate([(1.0, 1.0), (2.0, 3.0)])
    )
    study = StudySpec(groups=groups, budget=100.0, utility=utility, p=p)
    return AllocationProblem.from_study(study, budget=100.0)


def test_the_names_are_defined_once_and_everyone_uses_them():
    assert UTILITY_NAMES == ("weighted", "maximin", "power-mean", "target")
    assert study_file.UTILITIES == UTILITY_NAMES
    assert tuple(choice.value for choice in UtilityChoice) == UTILITY_NAMES


@pytest.mark.parametrize(
    "name, expected",
    [
        ("weighted", (0.2 * 1 + 0.4 * 3) / 4),
        ("maximin", 0.4),
        ("power-mean", ((0.2**3 + 3 * 0.4**3) / 4) ** (1 / 3)),
        ("target", (0.2 * 1 + 0.4 * 3) / 4),
    ],
)
def test_each_aggregate_is_its_definition(name, expected):
    losses = np.array([0.2, 0.4])
    assert utility_named(name).aggregate(problem(name), losses) == pytest.approx(expected,
                                                                                 rel=1e-14)


def test_a_sum_form_utility_minimises_the_sum_of_its_terms():
    for name in ("weighted", "power-mean"):
        rule, case = UTILITIES[name], problem(name)
        losses = np.array([0.2, 0.4])
        total = rule.terms(case, losses).sum()
        power = 3.0 if name == "power-mean" else 1.0
        assert rule.aggregate(case, losses) == pytest.approx(total ** (1 / power), rel=1e-14)


def test_scores_come_back_in_their_own_sense():
    # score curves: losses are shortfalls 1 - S; the worst score is 1 - 0.4
    case = problem("maximin", sense="score")
    value = case.aggregate(np.array([0.2, 0.4]))
    assert case.rule.to_metric(case, value) == pytest.approx(0.6)
    case = problem("weighted", sense="score")
    assert case.rule.to_metric(case, case.aggregate(np.array([0.2, 0.4]))) == pytest.approx(
        1 - (0.2 + 3 * 0.4) / 4)


def test_the_curve_inverse_gives_the_size_at_a_loss():
    n = size_for_own_term([2.0, 2.0, 1.0], [0.5, 1.0, 0.5], [0.1, 0.1, -1.0])
    assert n.tolist() == pytest.approx([400.0, 20.0, np.inf])
    assert Curve(a=2.0, b=0.5, c=0.05).loss(n[0]) == pytest.approx(0.15)


def test_an_unknown_utility_is_named_with_the_choices():
    with pytest.raises(InputError, match="one of weighted, maximin, power-mean, target"):
        utility_named("fair")


def test_library_messages_name_parameters_and_the_command_line_adds_its_flag(tmp_path, capsys):
    groups = (GroupSpec(name="A", curve=Curve(a=1.0, b=0.5)),)
    with pytest.raises(InputError) as caught:
        plan(StudySpec(groups=groups, budget=None, utility="weighted"))
    assert "budget=" in str(caught.value) and "--" not in str(caught.value)
    study = tmp_path / "study.toml"
    study.write_text('utility = "weighted"\n[[groups]]\nname = "A"\ncurve = { a = 1.0, b = 0.5 }\n')
    assert main(["plan", str(study)]) == 2
    assert "pass --budget" in capsys.readouterr().err


@pytest.mark.parametrize("name", UTILITY_NAMES)
def test_the_aggregates_of_many_rows_are_each_rows_definition(name):
    rows = np.array([[[0.2, 0.4], [0.4, 0.2]], [[0.0, 0.0], [0.1, 0.3]]])  # (2, 2, groups)

    def definition(losses):
        low, high = losses
        return {"weighted": (low + 3 * high) / 4, "target": (low + 3 * high) / 4,
                "maximin": max(low, high),
                "power-mean": ((low**3 + 3 * high**3) / 4) ** (1 / 3)}[name]  # fmt: skip

    expected = [[definition(row) for row in block] for block in rows.tolist()]
    many = utility_named(name).aggregates(problem(name), rows)
    assert many.shape == (2, 2)
    assert many == pytest.approx(np.array(expected), rel=1e-14, abs=0)
