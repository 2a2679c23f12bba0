"""Mutation score of the numerical core, module by module, with mutmut 3.

Each module is measured in its own scratch copy of the checkout: ``[tool.mutmut]`` is
appended to the copy's ``pyproject.toml`` so that only that module's files are mutated
and only the tests that exercise them run. Optionally a fixed-seed sample of mutants
per file is run instead of all of them (``random.Random(16)``), which keeps a module
to tens of minutes. The script prints, per module, the
mutants killed, survived, timed out and without tests, and the score
``(killed + timeout) / checked``. It exits non-zero when mutmut cannot run, a test
pattern matches no file, or the unmutated tests fail.

Run it from the repository root, in an environment with the ``mutation`` extra
(``pip install -e '.[test,mutation]'``); it runs one mutant at a time and takes minutes
to hours per module, so run it niced on a shared machine::

    nice -n 10 python benchmarks/mutation_score.py --sample 150 baselines allocation
    nice -n 10 python benchmarks/mutation_score.py              # every module, every mutant

The scratch copies stay under ``--scratch`` (default: ``<tmp>/fairalloc-mutation``) so
that a mutant can be inspected afterwards::

    cd /tmp/fairalloc-mutation/metrics && mutmut show simulate.metrics.x_auc__mutmut_3
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
COPIED = ("allocate", "simulate", "tests", "examples", "benchmarks", "pyproject.toml")
MARKER = ".fairalloc-mutation"
SAMPLE_SEED = 16


@dataclass(frozen=True)
class Module:
    """The files mutated for one module and the test files that cover it.

    Each test entry is a file-name pattern matched anywhere under ``tests/``; every entry
    must match at least one file.
    """

    files: tuple[str, ...]
    tests: tuple[str, ...]


MODULES = {
    "allocation": Module(
        ("allocate/integer.py", "allocate/optimise.py"),
        (
            "test_planning_closed_forms.py",
            "test_planning_infeasible.py",
            "test_integer.py",
            "test_planning_properties.py",
            "test_integer_*.py",
            "test_optimise_*.py",
        ),
    ),
    "fitting": Module(("allocate/fitting.py",), ("test_fitting.py", "test_fitting_*.py")),
    "baselines": Module(
        ("allocate/baselines.py",),
        (
            "test_planning_properties.py",
            "test_planning_results.py",
            "test_baselines.py",
        ),
    ),
    "metrics": Module(
        ("simulate/metrics.py",),
        ("test_prs.py", "test_metrics_*.py"),
    ),
    "association": Module(
        ("simulate/association.py",),
        (
            "test_association.py",
            "test_export_plink.py",
            "test_association_*.py",
        ),
    ),
}


class MutationRunError(RuntimeError):
    """mutmut could not produce a score for a module."""


def selected_tests(tests_root: Path, entries: tuple[str, ...]) -> list[str]:
    """Test files (relative to the copy) matching each entry of :attr:`Module.tests`."""
    selected: list[str] = []
    for entry in entries:
        found = sorted(tests_root.rglob(entry))
        if not found:
            raise MutationRunError(
                f"no test file matches {entry!r} under {tests_root}; update MODULES in "
                f"{Path(__file__).name}"
            )
        selected += [str(path.relative_to(tests_root.parent)) for path in found]
    return list(dict.fromkeys(selected))


def toml_list(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def prepare_copy(name: str, module: Module, scratch: Path) -> Path:
    """A fresh copy of the checkout configured to mutate ``module`` only."""
    run_dir = scratch / name
    if run_dir.exists():
        if not (run_dir / MARKER).exists():
            raise MutationRunError(f"{run_dir} exists and was not made by this script")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / MARKER).touch()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for item in COPIED:
        source = REPOSITORY / item
        if source.is_dir():
            shutil.copytree(source, run_dir / item, ignore=ignore)
        else:
            shutil.copy2(source, run_dir / item)
    tests = selected_tests(run_dir / "tests", module.tests)
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["allocate", "simulate"]\n'
        'also_copy = ["examples", "benchmarks"]\n'
        f"only_mutate = {toml_list(module.files)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
    )
    with open(run_dir / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write(config)
    return run_dir


def mutmut(run_dir: Path, *args: str, check: bool = True) -> str:
    """Run mutmut in ``run_dir``; its progress goes to ``mutmut.log`` there."""
    command = [sys.executable, "-m", "mutmut", *args]
    with open(run_dir / "mutmut.log", "a", encoding="utf-8") as log:
        result = subprocess.run(
            command, cwd=run_dir, stdout=subprocess.PIPE, stderr=log, text=True, check=False
        )
        log.write(result.stdout)
    if check and result.returncode != 0:
        raise MutationRunError(
            f"`mutmut {' '.join(args[:2])} ...` exited with {result.returncode}; "
            f"see {run_dir / 'mutmut.log'}"
        )
    return result.stdout


def mutant_statuses(run_dir: Path) -> dict[str, str]:
    """Every generated mutant's name and status (``not checked`` until it is run)."""
    output = mutmut(run_dir, "results", "--all", "true")
    statuses = {}
    for line in output.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            statuses[name] = status
    return statuses


def sample_mutants(names: list[str], per_file: int, seed: int = SAMPLE_SEED) -> list[str]:
    """``per_file`` mutants of each source module (all of them if it has fewer), seeded."""
    by_file = collections.defaultdict(list)
    for name in names:
        by_file[name.rsplit(".", 1)[0]].append(name)
    rng = random.Random(seed)
    picked: list[str] = []
    for key in sorted(by_file):
        group = sorted(by_file[key])
        picked += group if len(group) <= per_file else rng.sample(group, per_file)
    return picked


def measure(name: str, scratch: Path, per_file: int) -> collections.Counter:
    """Statuses of the mutants run for one module."""
    run_dir = prepare_copy(name, MODULES[name], scratch)
    if per_file:
        # Generate the mutants and collect which tests cover them without running any
        # (the pattern matches no mutant), then run the sample.
        mutmut(run_dir, "run", "--max-children", "1", "no-such-mutant", check=False)
        names = sorted(mutant_statuses(run_dir))
        if not names:
            raise MutationRunError(f"mutmut generated no mutant; see {run_dir / 'mutmut.log'}")
        mutmut(run_dir, "run", "--max-children", "1", *sample_mutants(names, per_file))
    else:
        mutmut(run_dir, "run", "--max-children", "1")
    statuses = mutant_statuses(run_dir)
    (run_dir / "results.txt").write_text(
        "".join(f"{mutant}: {status}\n" for mutant, status in sorted(statuses.items()))
    )
    return collections.Counter(status for status in statuses.values() if status != "not checked")


def score_row(name: str, counts: collections.Counter) -> str:
    checked = sum(counts.values())
    caught = counts["killed"] + counts["timeout"]
    others = checked - caught - counts["survived"] - counts["no tests"]
    score = caught / checked if checked else float("nan")
    return (
        f"{name:<12} {counts['killed']:>6} {counts['survived']:>8} {counts['timeout']:>7} "
        f"{counts['no tests']:>8} {others:>6} {checked:>7} {score:>7.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument(
        "--sample", type=int, default=0, help="mutants run per file (0 = all), seed 16"
    )
    parser.add_argument(
        "--scratch", type=Path, default=Path(tempfile.gettempdir()) / "fairalloc-mutation"
    )
    parser.add_argument(
        "--list-survivors", action="store_true", help="print the surviving mutants' names"
    )
    args = parser.parse_args(argv)
    if args.sample < 0:
        parser.error("--sample must be 0 (all mutants) or a positive number per file")
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    names = args.modules or list(MODULES)
    print(
        f"mutmut, one mutant at a time, sample {args.sample or 'all'} per file, in {args.scratch}"
    )
    print(
        f"{'module':<12} {'killed':>6} {'survived':>8} {'timeout':>7} {'no tests':>8} "
        f"{'other':>6} {'checked':>7} {'score':>7}"
    )
    failed = False
    for name in names:
        try:
            counts = measure(name, args.scratch, args.sample)
        except MutationRunError as error:
            print(f"{name:<12} failed: {error}", flush=True)
            failed = True
            continue
        print(score_row(name, counts), flush=True)
        if args.list_survivors:
            results = (args.scratch / name / "results.txt").read_text().splitlines()
            for line in results:
                if line.endswith(": survived"):
                    print(f"    {line.rpartition(':')[0]}")
    print("score = (killed + timeout) / checked; 'other' = suspicious, skipped or segfault")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
