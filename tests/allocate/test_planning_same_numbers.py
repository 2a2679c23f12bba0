"""The same study gives the same plan before and after the utilities refactor (issue 14).

The expected values below were produced by commit 6dc6b87 (main before ``allocate.utilities``
existed), by running :func:`cases` through :func:`allocate.planning.plan` and printing each plan's
totals, objective, marginal value of budget and status.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from allocate.curves import Curve
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec

# key: (totals, objective, marginal value, status), produced by commit 6dc6b87
RECORDED = {
    "weighted-int-sep": (
        [410.0, 368.0, 250.0, 88.0],
        0.290197804421306,
        5.97210985666045e-05,
        "optimal",
    ),
    "weighted-int-coupled": (
        [419.0, 362.0, 249.0, 97.0],
        0.308279061021968,
        6.465682816820807e-05,
        "feasible",
    ),
    "weighted-cont-sep": (
        [410.3799884094088, 367.9712932885826, 249.63369057068135, 88.4537782011173],
        0.2901976886635122,
        6.014369042671803e-05,
        "optimal",
    ),
    "weighted-cont-coupled": (
        [419.2419007658146, 362.1514297421551, 248.94700199211695, 96.06947345384378],
        0.3082788391358087,
        6.465594030386469e-05,
        "optimal",
    ),
    "maximin-int-sep": ([378.0, 400.0, 230.0, 84.0], 0.7141140130578952, 0.0, "optimal"),
    "maximin-int-coupled": (
        [10.0, 400.0, 31.0, 1417.0],
        0.7288881789383458,
        6.35243901335061e-06,
        "feasible",
    ),
    "maximin-cont-sep": (
        [378.87324398459583, 400.0, 229.83133789369046, 82.75949834972172],
        0.7141140130578952,
        0.0,
        "optimal",
    ),
    "maximin-cont-coupled": (
        [9.069321838814908, 399.9999999944827, 30.534913874458486, 1420.2566138765828],
        0.7288822643575426,
        6.3524648052772465e-06,
        "optimal",
    ),
    "power-mean-int-sep": (
        [263.0, 400.0, 324.0, 32.0],
        0.43183500134705516,
        1.8505520687247164e-05,
        "optimal",
    ),
    "power-mean-int-coupled": (
        [276.0, 400.0, 313.0, 39.0],
        0.44553317191913655,
        2.511549392250363e-05,
        "feasible",
    ),
    "power-mean-cont-sep": (
        [262.9735140875805, 399.99999998868833, 324.1563293075748, 31.583983649676387],
        0.4318349214299498,
        1.8889587090600983e-05,
        "optimal",
    ),
    "power-mean-cont-coupled": (
        [275.34143585072496, 399.9999999770605, 313.5728371456423, 38.59861650852873],
        0.4455330593231768,
        2.511520645308949e-05,
        "optimal",
    ),
    "score-maximin-int": ([378.0, 400.0, 230.0, 84.0], 0.28588598694210476, 0.0, "optimal"),
    "score-weighted-cont": (
        [410.377374695729, 367.9759107794242, 249.6285095052268, 88.45607876845865],
        0.7098023113294669,
        6.014386603959055e-05,
        "optimal",
    ),
    "target-int": ([100.0, 30.0, 302.0, 10.0], 553.0, None, "optimal"),
    "weighted-targets-int": (
        [384.0, 343.0, 302.0, 84.0],
        0.29104448862215504,
        6.559191558883996e-05,
        "optimal",
    ),
    "target-cont": (
        [99.99999999900001, 30.0, 301.05929587376266, 10.0],
        551.588943809644,
        None,
        "optimal",
    ),
    "weighted-targets-cont": (
        [385.3007744651094, 343.0733621731033, 301.0592959100331, 83.92711457165176],
        0.29101551560542366,
        6.611044952582467e-05,
        "optimal",
    ),
}

CURVES = [(2.0, 0.5, 0.05), (5.0, 0.35, 0.1), (3.0, 0.45, 0.07), (1.2, 0.8, 0.02)]
COSTS = [1.0, 2.0, 1.5, 0.5]
WEIGHTS = [0.5, 0.2, 0.2, 0.1]
TARGETS = (0.25, None, 0.3, None)


def groups(t=0.0, targets=(None,) * 4, sense="loss"):
    have, pools = (0, 30, 0, 10), (math.inf, 400, math.inf, math.inf)
    return tuple(
        GroupSpec(
            name=f"g{i}",
            curve=Curve(a=a, b=b, c=c, t=t, q=0.4, sense=sense),
            cost=COSTS[i],
            weight=WEIGHTS[i],
            have=have[i],
            max=pools[i],
            target=targets[i],
        )
        for i, (a, b, c) in enumerate(CURVES)
    )


def cases() -> dict[str, tuple[StudySpec, bool]]:
    out = {}
    for utility in ("weighted", "maximin", "power-mean"):
        for integer in (True, False):
            for coupled in (False, True):
                key = f"{utility}-{'int' if integer else 'cont'}-{'coupled' if coupled else 'sep'}"
                out[key] = (
                    StudySpec(
                        groups=groups(t=0.3 if coupled else 0.0),
                        budget=1500.0,
                        utility=utility,
                        p=3.0,
                    ),
                    integer,
                )
    out["score-maximin-int"] = (
        StudySpec(groups=groups(sense="score"), budget=1500.0, utility="maximin"),
        True,
    )
    out["score-weighted-cont"] = (
        StudySpec(groups=groups(sense="score"), budget=1500.0, utility="weighted"),
        False,
    )
    for integer in (True, False):
        kind = "int" if integer else "cont"
        out[f"target-{kind}"] = (
            StudySpec(groups=groups(targets=TARGETS), budget=None, utility="target"),
            integer,
        )
        out[f"weighted-targets-{kind}"] = (
            StudySpec(groups=groups(targets=TARGETS), budget=1500.0, utility="weighted"),
            integer,
        )
    return out


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_a_plan_gives_the_numbers_it_gave_before_the_refactor(key):
    study, integer = cases()[key]
    totals, objective, marginal, status = RECORDED[key]
    result = plan(study, integer=integer)
    if integer:  # whole samples: identical
        assert result.totals.tolist() == totals
        assert result.objective == pytest.approx(objective, rel=1e-12)
    else:  # the conic solver's answer on a flat optimum moves by its tolerance between runs
        # (a warm DPP re-solve and a fresh compile differ by ~1e-5 in the totals)
        np.testing.assert_allclose(result.totals, totals, rtol=1e-4)
        assert result.objective == pytest.approx(objective, rel=1e-8)
    assert result.status == status
    if marginal is None:
        assert result.marginal_value is None
    else:
        # issue 15 changed how whole-sample plans of separable studies get it: the relaxation's
        # budget multiplier at the plan, where 6dc6b87 re-solved with a larger budget (a step of
        # 1 % of it); the two agree to a few per cent
        tolerance = 0.05 if integer and "coupled" not in key else 1e-4
        assert result.marginal_value == pytest.approx(marginal, rel=tolerance, abs=1e-15)
