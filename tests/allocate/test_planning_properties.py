"""Property: for random feasible studies a plan keeps every constraint and is no worse than the
equal and proportional baselines on its own objective."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocate.curves import Curve
from allocate.optimise import AllocationProblem
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec


@st.composite
def groups(draw, coupled: bool):
    a = draw(st.floats(0.1, 10.0))
    b = draw(st.floats(0.2, 2.0))
    c = draw(st.sampled_from([0.0, 0.01, 0.1]))
    t = draw(st.floats(0.01, 1.0)) if coupled else 0.0
    have = draw(st.integers(0, 50))
    minimum = draw(st.sampled_from([0, have + draw(st.integers(0, 30))]))
    pool = draw(st.sampled_from([math.inf, max(have, minimum, 1) + draw(st.integers(0, 200))]))
    cost = draw(st.sampled_from([1.0, 2.0, draw(st.floats(0.1, 10.0))]))
    weight = draw(st.floats(0.05, 3.0))
    return dict(curve=Curve(a=a, b=b, c=c, t=t, q=0.5), have=have, min=minimum, max=pool,
                cost=cost, weight=weight)


@st.composite
def studies(draw, coupled: bool = False):
    fields = draw(st.lists(groups(coupled), min_size=1, max_size=5))
    specs = tuple(GroupSpec(name=f"g{i}", **f) for i, f in enumerate(fields))
    quota = sum(g.cost * (max(g.have, g.min, 1) - g.have) for g in specs)
    budget = quota + draw(st.floats(0.0, 2000.0))
    utility = draw(st.sampled_from(["weighted", "maximin", "power-mean"]))
    p = draw(st.floats(1.0, 6.0))
    integer = draw(st.booleans())
    return StudySpec(groups=specs, budget=budget, utility=utility, p=p, integer=integer)


def check_plan(study: StudySpec) -> None:
    result = plan(study)
    problem = AllocationProblem.from_study(study, budget=study.budget)
    n = result.totals
    assert np.all(n >= problem.lower - 1e-9) and np.all(n <= problem.upper + 1e-9)
    assert result.spent <= study.budget * (1 + 1e-12) + 1e-9
    if study.integer:
        assert np.all(n == np.round(n))
    objective = problem.objective(n)
    slack = 1e-9 if study.integer else 1e-6
    for name, base in result.baselines.items():
        totals = np.array([g.total for g in base.groups])
        assert base.spent <= study.budget * (1 + 1e-12) + 1e-9, name
        assert np.all(totals >= problem.lower - 1e-9) and np.all(totals <= problem.upper + 1e-9)
        assert objective <= problem.objective(totals) * (1 + slack) + 1e-12, name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_separable_plans_respect_constraints_and_beat_the_baselines(study):
    check_plan(study)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies(coupled=True))
def test_coupled_plans_respect_constraints_and_beat_the_baselines(study):
    check_plan(study)
