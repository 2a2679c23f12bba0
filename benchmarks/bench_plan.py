"""Planning speed, in one run: small warm plans, 10,000 groups, the command line's cold start,
and the larger solves of issue 3. Exits non-zero when a stated target or check fails.

Targets, on the project's 2-core machine (shared: say so when quoting figures under load):

- a warm ``plan()`` of 2 to 10 groups in whole samples: under 5.6 ms of CPU time (the wall
  time is printed beside it; on a loaded machine it includes waiting for a core), 20 times
  faster than Slice Tuner's optimiser on the same inputs (113-374 ms, issue 15), and Slice
  Tuner's published water-filling example reproduced exactly. Slice Tuner's other curve sets
  are not in this repository; the other small studies are generated with fixed seeds;
- 10,000 groups (whole samples, separable, unequal costs): weighted and maximin each under 3 s
  (issue 15 measured 12 s and 9.5 s);
- ``fairalloc plan --json`` on a 3-group file, process start included: median under 0.8 s;
- a continuous solve for 1,000 groups: under 2 s; whole samples for 1,000 groups: under 1 s;
  a DPP re-solve faster than a fresh compile, with every re-solve succeeding.

Every plan must also carry a certified bound no better than its objective.

Run::

    .venv/bin/python benchmarks/bench_plan.py
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from allocate.curves import Curve
from allocate.errors import FairallocError
from allocate.integer import round_and_repair, solve_separable
from allocate.optimise import AllocationProblem, clear_problem_cache, solve_continuous
from allocate.planning import plan
from allocate.study_file import GroupSpec, StudySpec

ROOT = Path(__file__).resolve().parents[1]
FAIRALLOC = str(Path(sys.executable).with_name("fairalloc"))
STUDY = ROOT / "examples" / "genomic_study.toml"

SLICE_TUNER_FASTEST_MS = 113.0
SMALL_TARGET_MS = SLICE_TUNER_FASTEST_MS / 20
LARGE_TARGET_S = 3.0
COLD_START_TARGET_S = 0.8

FAILURES: list[str] = []


def check(ok: bool, what: str) -> str:
    """Record a target or check; return the mark printed beside its figure."""
    if not ok:
        FAILURES.append(what)
    return "ok" if ok else "FAILED"


def seconds(action, repeat: int = 1) -> float:
    """The fastest of ``repeat`` timings of ``action()`` (less noise from other processes)."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def median_seconds(action, repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def median_wall_and_cpu(action, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU (this process's) seconds of ``action()``. On a shared machine
    the wall time includes waiting for a core; the CPU time is the work itself."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


# --- small warm plans ----------------------------------------------------------------------

def water_filling() -> StudySpec:
    """Slice Tuner's published example (docs/method.md): ten identical curves ``n^-1/2``,
    sizes ``floor(800 / sqrt(10 - i))`` in hand, unit costs, budget 4,000."""
    have = [math.floor(800 / math.sqrt(10 - i)) for i in range(10)]
    groups = tuple(GroupSpec(name=f"g{i}", curve=Curve(a=1.0, b=0.5), have=h)
                   for i, h in enumerate(have))
    return StudySpec(groups=groups, budget=4000.0, utility="maximin")


WATER_FILLING_COLLECTS = [550, 535, 519, 499, 475, 444, 401, 340, 236, 1]


def generated(size: int, seed: int) -> StudySpec:
    """A Slice Tuner-shaped study (power-law curves ``a n^-b``, samples in hand, costs of 1 to
    3, budget 4,000) with curves drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    groups = tuple(
        GroupSpec(name=f"s{i}", curve=Curve(a=float(rng.uniform(0.5, 5.0)),
                                            b=float(rng.uniform(0.3, 1.0))),
                  cost=float(rng.choice([1.0, 2.0, 3.0])), have=int(rng.integers(50, 800)))
        for i in range(size)
    )
    return StudySpec(groups=groups, budget=4000.0)


def small_plans() -> None:
    published = plan(water_filling())
    same = published.collect.astype(int).tolist() == WATER_FILLING_COLLECTS
    print(f"Slice Tuner's published water-filling example, maximin: collects"
          f" {published.collect.astype(int).tolist()} [{check(same, 'water filling')}]")
    cases = [("water filling (published curves, 10 groups)", water_filling())]
    cases += [(f"generated, {size} groups, seed {size}", generated(size, size))
              for size in (2, 3, 5, 10)]
    for label, study in cases:
        for utility in ("weighted", "maximin", "power-mean"):
            case = replace(study, utility=utility, p=3.0)
            result = plan(case)  # warm: imports and first-call costs paid
            wall, cpu = (1e3 * x for x in median_wall_and_cpu(lambda c=case: plan(c), 15))
            certified = result.bound <= result.objective + 1e-12 * abs(result.objective)
            mark = check(cpu < SMALL_TARGET_MS and certified, f"warm plan: {label}, {utility}")
            print(f"warm plan(), {label}, {utility:>10}: median CPU {cpu:5.2f} ms, wall"
                  f" {wall:5.2f} ms (target: CPU < {SMALL_TARGET_MS:.1f} ms;"
                  f" x{SLICE_TUNER_FASTEST_MS / cpu:.0f} faster than Slice Tuner's fastest)"
                  f" {result.status}, gap {result.gap:.2g} [{mark}]")


# --- 10,000 groups -------------------------------------------------------------------------

def many_groups(size: int, *, coupled: bool, seed: int = 0, utility: str = "weighted"
                ) -> StudySpec:
    rng = np.random.default_rng(seed)
    groups = tuple(
        GroupSpec(
            name=f"g{i:05d}",
            curve=Curve(a=float(rng.uniform(0.5, 5.0)), b=float(rng.uniform(0.3, 1.2)),
                        c=float(rng.uniform(0.0, 0.1)), t=0.2 if coupled else 0.0, q=0.4),
            cost=float(rng.choice([0.5, 1.0, 1.5, 2.0, 4.0])),
            weight=float(rng.uniform(0.1, 1.0)),
            have=int(rng.integers(0, 100)),
            max=float(rng.choice([np.inf, 5000])),
        )
        for i in range(size)
    )
    return StudySpec(groups=groups, budget=200.0 * size, utility=utility)


def ten_thousand_groups() -> None:
    for utility in ("weighted", "maximin"):
        study = many_groups(10_000, coupled=False, utility=utility)
        results = []
        taken = seconds(lambda s=study, out=results: out.append(plan(s)), 2)
        result = results[-1]
        mark = check(taken < LARGE_TARGET_S and result.bound <= result.objective,
                     f"10,000 groups, {utility}")
        print(f"plan(), 10,000 separable groups, whole samples, {utility:>8}: {taken:.2f} s"
              f" (target < {LARGE_TARGET_S:g} s) {result.status}, gap {result.gap:.2g},"
              f" [{result.method}] [{mark}]")


# --- the command line's cold start ---------------------------------------------------------

def command_line() -> None:
    walls = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([FAIRALLOC, "plan", str(STUDY), "--json"], check=True,
                       capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
    python = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
                            5)
    trace = subprocess.run([sys.executable, "-X", "importtime", "-c", "import allocate.cli"],
                           capture_output=True, text=True, check=True).stderr
    cumulative = {m.group(2).strip(): int(m.group(1)) / 1e6 for m in
                  re.finditer(r"import time:\s+\d+ \|\s+(\d+) \|(.*)", trace)}
    median = statistics.median(walls)
    mark = check(median < COLD_START_TARGET_S, "cold start of fairalloc plan --json")
    print(f"fairalloc plan --json, 3 groups ({STUDY.name}), process start included, 7 runs:"
          f" median {median:.2f} s, best {min(walls):.2f} s (target: median <"
          f" {COLD_START_TARGET_S} s) [{mark}]")
    heavy = [m for m in ("scipy", "pandas", "cvxpy", "matplotlib", "rich") if m in cumulative]
    print(f"    of which: bare python start {python:.2f} s (median of 5; it measures the"
          f" machine's load); importing allocate.cli {cumulative.get('allocate.cli', math.nan):.2f}"
          f" s, numpy {cumulative.get('numpy', math.nan):.2f} s, typer"
          f" {cumulative.get('typer', math.nan):.2f} s (heavy modules imported at start:"
          f" {', '.join(heavy) or 'none'})")
    check(not heavy, "no heavy module imported at start")


# --- issue 3's larger solves -----------------------------------------------------------------

def problem_of(study: StudySpec) -> AllocationProblem:
    return AllocationProblem.from_study(study, budget=study.budget)


def continuous_solves() -> None:
    import cvxpy  # noqa: F401  (import time is not solve time)

    for coupled in (False, True):
        for utility in ("weighted", "maximin", "power-mean"):
            problem = problem_of(many_groups(1000, coupled=coupled, utility=utility))
            solutions = []

            def fresh(problem=problem, solutions=solutions):
                clear_problem_cache()
                solutions.append(solve_continuous(problem))

            taken = seconds(fresh, 2)
            kind = "coupled" if coupled else "separable"
            mark = check(taken < 2.0, f"continuous solve, 1,000 {kind} groups, {utility}")
            print(f"continuous solve, 1,000 {kind:>9} groups, {utility:>10}, distinct exponents,"
                  f" compile + solve: {taken:.2f} s (target < 2 s) [{solutions[-1].method};"
                  f" {solutions[-1].status}] [{mark}]")


def dpp_speed_up() -> None:
    for size, utility in ((3, "maximin"), (3, "weighted"), (1000, "weighted"),
                          (1000, "power-mean")):
        study = many_groups(size, coupled=True, utility=utility)
        problem = problem_of(study)
        rng = np.random.default_rng(1)

        def fresh(problem=problem):
            clear_problem_cache()
            solve_continuous(problem)

        def new_round(study=study, rng=rng):  # what the adaptive sampler changes each round
            groups = tuple(
                replace(g, curve=replace(g.curve, a=g.curve.a * float(rng.uniform(0.8, 1.2)),
                                         c=g.curve.c * float(rng.uniform(0.8, 1.2))),
                        have=g.have + int(rng.integers(0, 5)))
                for g in study.groups
            )
            return problem_of(replace(study, groups=groups,
                                      budget=study.budget * float(rng.uniform(0.9, 1.1))))

        first = seconds(fresh, 3 if size == 3 else 1)
        solve_continuous(problem)  # compiled and cached
        again, statuses = np.inf, []
        for round_problem in (new_round() for _ in range(5)):
            start = time.perf_counter()
            try:
                statuses.append(solve_continuous(round_problem).status)
            except FairallocError:
                statuses.append("failed")
                continue
            again = min(again, time.perf_counter() - start)
        solved = "failed" not in statuses
        mark = check(solved and again < first, f"DPP re-solve, {size} groups, {utility}")
        speed_up = f"x{first / again:.1f}" if math.isfinite(again) else "n/a (no re-solve ran)"
        print(f"DPP re-solve, {size:>4} coupled groups ({utility:>10}): fresh"
              f" {1e3 * first:7.1f} ms, re-solve {1e3 * again:6.1f} ms, speed-up {speed_up}"
              f" (statuses of 5 re-solves: {', '.join(statuses)}) [{mark}]")


def whole_samples() -> None:
    equal_costs = many_groups(1000, coupled=False)
    equal_costs = replace(equal_costs, groups=tuple(replace(g, cost=1.0)
                                                    for g in equal_costs.groups))
    for label, study in (
        ("weighted, equal costs", equal_costs),
        ("weighted, unequal costs", many_groups(1000, coupled=False)),
        ("maximin, unequal costs", many_groups(1000, coupled=False, utility="maximin")),
        ("power-mean, unequal costs", many_groups(1000, coupled=False, utility="power-mean")),
    ):
        problem = problem_of(study)
        solutions = []
        taken = seconds(lambda p=problem, out=solutions: out.append(solve_separable(p)), 3)
        mark = check(taken < 1.0, f"whole samples, 1,000 groups, {label}")
        print(f"whole samples, 1,000 groups, {label}: {taken:.3f} s (target < 1 s)"
              f" [{solutions[-1].method}; {'exact' if solutions[-1].exact else 'not proven'}]"
              f" [{mark}]")
    for utility in ("weighted", "maximin", "power-mean"):
        problem = problem_of(many_groups(1000, coupled=True, utility=utility))
        continuous = solve_continuous(problem).n
        time_taken = seconds(lambda p=problem, c=continuous: round_and_repair(p, c), 3)
        mark = check(time_taken < 1.0, f"round and repair, 1,000 coupled groups, {utility}")
        print(f"round and repair, 1,000 coupled groups, {utility:>10}, from the continuous"
              f" optimum: {time_taken:.3f} s (target < 1 s) [{mark}]")


def main() -> int:
    small_plans()
    ten_thousand_groups()
    command_line()
    continuous_solves()
    dpp_speed_up()
    whole_samples()
    if FAILURES:
        print(f"{len(FAILURES)} target(s) or check(s) failed: {'; '.join(FAILURES)}")
        return 1
    print("every target and check met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
