"""The solvers behind plan(): compiled-problem reuse, the coupled maximin fallback, staying
light (no cvxpy) where an exact method needs none, and the docstring examples."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

from allocate.curves import Curve
from allocate.optimise import AllocationProblem, clear_problem_cache, solve_continuous
from allocate.study_file import GroupSpec, StudySpec
from tests.paths import ROOT

# modules by name, as the package exports functions lazily
optimise = importlib.import_module("allocate.optimise")


def coupled_study(seed: int, size: int = 3, utility: str = "maximin") -> StudySpec:
    rng = np.random.default_rng(seed)
    groups = tuple(
        GroupSpec(f"g{i}", Curve(a=float(rng.uniform(0.5, 5)), b=float(rng.uniform(0.3, 1.2)),
                                 c=float(rng.uniform(0, 0.1)), t=float(rng.uniform(0.05, 0.5)),
                                 q=float(rng.choice([0.3, 0.5]))),
                  cost=float(rng.choice([0.5, 1.0, 2.0])), have=int(rng.integers(0, 50)),
                  max=float(rng.choice([np.inf, 400])))
        for i in range(size)
    )
    return StudySpec(groups=groups, budget=300.0 * size, utility=utility)


@pytest.mark.parametrize("seed", range(4))
def test_coupled_maximin_fallback_agrees_with_the_conic_solver(seed):
    problem = AllocationProblem.from_study(coupled_study(seed), budget=300.0 * 3)
    conic = solve_continuous(problem)
    assert conic.status == "optimal"
    fallback = optimise._lowest_level_coupled(problem)
    level = np.max(problem.losses(conic.n) + problem.shift)
    # the fallback's search over the pooled total is not exact (hence "inaccurate"): close
    worst = np.max(problem.losses(fallback) + problem.shift)
    assert level * (1 - 1e-8) <= worst <= level * (1 + 1e-3)
    assert problem.spend(fallback) <= problem.budget * (1 + 1e-9)
    assert np.all(fallback >= problem.lower - 1e-9) and np.all(fallback <= problem.upper + 1e-9)


def test_re_solves_reuse_the_compiled_problem():
    clear_problem_cache()
    for seed in range(3):
        study = coupled_study(0, utility="weighted")
        rng = np.random.default_rng(seed)
        groups = tuple(
            GroupSpec(g.name, Curve(a=g.curve.a * rng.uniform(0.8, 1.2), b=g.curve.b,
                                    c=g.curve.c * rng.uniform(0.8, 1.2), t=g.curve.t,
                                    q=g.curve.q),
                      cost=g.cost, have=g.have + seed, max=g.max)
            for g in study.groups
        )
        problem = AllocationProblem.from_study(
            StudySpec(groups=groups, budget=800.0 + 50 * seed, utility="weighted"),
            budget=800.0 + 50 * seed)
        assert solve_continuous(problem).status == "optimal"
    assert len(optimise._CACHE) == 1  # same exponents and shape: one compilation


def test_a_separable_whole_sample_plan_never_imports_cvxpy():
    code = (
        "import sys\n"
        "from allocate.study_file import read_study\n"
        "from allocate.planning import plan\n"
        "for utility in ('weighted', 'maximin', 'power-mean'):\n"
        "    plan(read_study('examples/genomic_study.toml'), utility=utility)\n"
        "print('cvxpy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
