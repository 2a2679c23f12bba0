"""The marginal value of budget a continuous plan reports is the derivative of its optimum.

The solver's budget dual, rescaled to the study's units, against a central finite difference
of the optimal objective over the budget (two more plans), with and without the transfer term,
for every utility that spends a budget.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from allocate import plan
from allocate.study_file import StudySpec
from tests.allocate.test_optimise_continuous_reference import BUDGET, groups_of


@pytest.mark.parametrize("transfer", [True, False])
@pytest.mark.parametrize("utility", ["weighted", "power-mean", "maximin"])
def test_the_marginal_value_is_the_derivative_of_the_optimum_in_the_budget(utility, transfer):
    groups = groups_of()
    if not transfer:
        groups = tuple(replace(g, curve=replace(g.curve, t=0.0)) for g in groups)

    def optimum(budget):
        return plan(StudySpec(groups=groups, budget=budget, utility=utility, integer=False))

    step = 1e-3 * BUDGET
    derivative = (optimum(BUDGET - step).objective - optimum(BUDGET + step).objective) / (2 * step)
    # Measured agreement: 2e-5 relative; the solver's tolerance allows more.
    assert optimum(BUDGET).marginal_value == pytest.approx(derivative, rel=1e-3)
