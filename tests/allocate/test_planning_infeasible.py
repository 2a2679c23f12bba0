"""Studies that cannot be satisfied are explained in words, not with a solver status."""

from __future__ import annotations

import pytest

from allocate.curves import Curve
from allocate.errors import InfeasibleStudy, InputError
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec


def two_groups(budget=100.0, utility="weighted", sense="loss", t=0.0, **second) -> StudySpec:
    first = GroupSpec("A", Curve(a=1.0, b=0.5, t=t, sense=sense))
    fields = {"name": "B", "curve": Curve(a=2.0, b=0.5, c=0.1, t=t, sense=sense), **second}
    return StudySpec(groups=(first, GroupSpec(**fields)), budget=budget, utility=utility)


def test_quotas_dearer_than_the_budget():
    study = two_groups(budget=100.0, min=60, cost=2.0)
    with pytest.raises(InfeasibleStudy, match=r"the quotas cost 121 .* more than the budget 100"):
        plan(study)


def test_target_below_the_asymptote():
    with pytest.raises(InfeasibleStudy, match=r"group 'B': target 0.08 is at or below its"
                                              r" asymptote c = 0.1"):
        plan(two_groups(target=0.08))


def test_score_target_above_the_best_reachable_score():
    with pytest.raises(InfeasibleStudy, match=r"group 'B': target score 0.95 is at or above its"
                                              r" best reachable score score_max - c = 0.9"):
        plan(two_groups(sense="score", target=0.95))


def test_target_beyond_the_pool():
    with pytest.raises(InfeasibleStudy, match=r"group 'B': target 0.15 cannot be reached within"
                                              r" its pool of max = 500 samples"):
        plan(two_groups(budget=10_000.0, target=0.15, max=500))


def test_targets_dearer_than_the_budget():
    # B needs (2 / 0.05)^2 = 1600 samples to reach 0.15, and A one sample
    with pytest.raises(InfeasibleStudy, match=r"reaching every target costs at least 1601,"
                                              r" more than the budget 1000"):
        plan(two_groups(budget=1000.0, target=0.15))


def test_targets_dearer_than_the_budget_with_coupled_groups():
    with pytest.raises(InfeasibleStudy, match=r"no (allocation|whole-sample plan) meets every"
                                              r" target within the budget"):
        plan(two_groups(budget=300.0, target=0.15, t=0.01), integer=False)


def test_the_target_utility_needs_a_target():
    with pytest.raises(InputError, match=r"utility 'target' needs a target on at least one"):
        plan(two_groups(utility="target"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"budget": -1.0}, r"budget must be a number >= 0; got -1.0"),
        ({"utility": "fairest"}, r"utility must be one of"),
        ({"p": 0.2}, r"p must be a number >= 1; got 0.2"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(InputError, match=message):
        plan(two_groups(), **override)


def test_a_zero_budget_with_nothing_to_buy_is_a_plan_of_nothing():
    study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=0.5), have=10),), budget=0.0)
    result = plan(study)
    assert result.totals.tolist() == [10.0] and result.spent == 0.0
