"""Continuous maximin plans of separable groups against the curves alone (scipy references).

When the worst group cannot improve (its pool is used up), the maximin level is its loss at its
pool, and the budget left is spent by the weighted rule with every other loss held at or below
that level: the reference is SLSQP on that weighted problem. A group with a target below the
level gets exactly the target's total, the others share the rest at one common loss: the
reference is that loss found by root-finding on the budget.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from allocate import plan
from allocate.curves import Curve
from allocate.study_file import GroupSpec, StudySpec

#: (a, b, c, cost, weight, max): the first group is the worst even with its whole pool of 50.
ROWS = [(40.0, 0.5, 0.2, 1.0, 1.0, 50.0), (2.0, 0.4, 0.1, 1.0, 2.0, math.inf),
        (5.0, 0.7, 0.05, 2.5, 1.0, math.inf), (1.0, 0.6, 0.0, 1.5, 3.0, math.inf)]  # fmt: skip
BUDGET = 3000.0


def test_a_maximin_plan_spends_what_the_worst_group_cannot_use_by_the_weighted_rule():
    groups = tuple(GroupSpec(f"g{i}", Curve(a=a, b=b, c=c), cost=cost, weight=w, max=most)
                   for i, (a, b, c, cost, w, most) in enumerate(ROWS))  # fmt: skip
    result = plan(StudySpec(groups=groups, budget=BUDGET, utility="maximin", integer=False))
    a, b, c, cost, weight, _ = map(np.array, zip(*ROWS, strict=True))
    level = c[0] + a[0] * 50 ** -b[0]
    floor = (a[1:] / (level - c[1:])) ** (1 / b[1:])  # the least totals at that level
    left = BUDGET - cost[0] * 50
    reference = optimize.minimize(
        lambda n: weight[1:] @ (a[1:] * n ** -b[1:]),
        x0=floor + (left - cost[1:] @ floor) / cost[1:].sum(),
        constraints=[{"type": "eq", "fun": lambda n: cost[1:] @ n - left}],
        bounds=[(least, None) for least in floor], method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )  # fmt: skip
    assert reference.success
    assert result.totals[0] == 50.0 and result.objective == level
    np.testing.assert_allclose(result.totals[1:], reference.x, rtol=1e-4)  # measured: 4e-6


def test_a_target_below_the_maximin_level_is_met_and_the_others_share_the_rest():
    #: (a, b, c, cost, target)
    rows = [(2.0, 0.5, 0.1, 1.0, 0.15), (3.0, 0.6, 0.05, 2.0, None), (1.5, 0.4, 0.12, 1.5, None)]
    groups = tuple(GroupSpec(f"g{i}", Curve(a=a, b=b, c=c), cost=cost, target=target)
                   for i, (a, b, c, cost, target) in enumerate(rows))  # fmt: skip
    result = plan(StudySpec(groups=groups, budget=2000.0, utility="maximin", integer=False))
    a, b, c, cost = (np.array([row[k] for row in rows]) for k in range(4))
    targeted = (a[0] / (0.15 - c[0])) ** (1 / b[0])  # 1600

    def others(level):
        return (a[1:] / (level - c[1:])) ** (1 / b[1:])

    level = optimize.brentq(lambda m: cost[0] * targeted + cost[1:] @ others(m) - 2000.0,
                            c[1:].max() + 1e-9, 10.0, xtol=1e-15)  # fmt: skip
    np.testing.assert_allclose(result.totals, [targeted, *others(level)], rtol=1e-7)
    assert result.objective == pytest.approx(level, rel=1e-9)
