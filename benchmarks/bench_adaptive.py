"""Regret against the oracle of every strategy on synthetic studies with known curves.

50 replicates (fixed seeds 0..49) of random 2-5 group studies with unequal costs, for the maximin
and weighted utilities; prints the mean regret with a 95% interval per strategy and a one-sided
paired Wilcoxon test of adaptive against each baseline (Holm-corrected). Run:

    .venv/bin/python benchmarks/bench_adaptive.py [--replicates 50]

Checks, printed; the script exits 1 if one fails: every strategy ends with whole-sample totals
within the pools and spends at most the budget, and no strategy beats the oracle (which plans
the whole-sample optimum on the true curves) by more than round-off: every regret is finite and
at least -1e-9.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from allocate.sequential import run_strategy
from allocate.sources import random_synthetic_study

STRATEGIES = ("adaptive", "optimistic", "equal", "proportional", "worst-group")


def regrets(utility: str, replicates: int, failures: list[str] | None = None
            ) -> dict[str, np.ndarray]:
    """Regret per strategy and replicate; problems with a run's answer go to ``failures``."""
    failures = [] if failures is None else failures
    table: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    for seed in range(replicates):
        study, source = random_synthetic_study(seed, utility=utility)
        best = run_strategy("oracle", source, study, seed=seed).true_objective
        for name in STRATEGIES:
            trajectory = run_strategy(name, source, study, seed=seed)
            failures.extend(f"{utility}, seed {seed}, {name}: {problem}"
                            for problem in _problems(trajectory, study, best))  # fmt: skip
            table[name].append(trajectory.true_objective - best)
    return {name: np.array(values) for name, values in table.items()}


def _problems(trajectory, study, best: float) -> list[str]:
    totals = trajectory.final_totals
    pools = np.array([group.max for group in study.groups])
    problems = []
    if not np.all((totals == np.round(totals)) & (totals <= pools)):
        problems.append(f"totals {totals} not whole or beyond the pools")
    if trajectory.spent > study.budget * (1 + 1e-12):
        problems.append(f"spent {trajectory.spent:g} of a budget of {study.budget:g}")
    regret = trajectory.true_objective - best
    if not np.isfinite(regret) or regret < -1e-9:
        problems.append(f"regret {regret:g}: better than the oracle's optimum")
    return problems


def report(utility: str, result: dict[str, np.ndarray]) -> None:
    print(f"\n{utility}: regret against the oracle (loss units; lower is better)")
    print(f"  {'strategy':<13}{'mean':>10}{'95% CI':>24}{'median':>10}")
    for name, values in result.items():
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        interval = f"[{values.mean() - half:.4f}, {values.mean() + half:.4f}]"
        print(f"  {name:<13}{values.mean():>10.4f}{interval:>24}{np.median(values):>10.4f}")
    baselines = [n for n in STRATEGIES if n != "adaptive"]
    pvalues = [
        stats.wilcoxon(result[b] - result["adaptive"], alternative="greater").pvalue
        for b in baselines
    ]
    reject, corrected, _, _ = multipletests(pvalues, alpha=0.05, method="holm")
    for name, p, significant in zip(baselines, corrected, reject, strict=True):
        verdict = "adaptive better" if significant else "no significant difference"
        print(f"  adaptive vs {name:<13} Holm-corrected p = {p:.2g}  ({verdict})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    args = parser.parse_args()
    failures: list[str] = []
    for utility in ("maximin", "weighted"):
        start = time.perf_counter()
        result = regrets(utility, args.replicates, failures)
        report(utility, result)
        print(f"  ({args.replicates} replicates in {time.perf_counter() - start:.1f} s)")
    for failure in failures:
        print(f"check FAILED: {failure}")
    runs = 2 * args.replicates * len(STRATEGIES)
    print(f"check: {runs} runs whole, within pools and budget, no regret below -1e-9: "
          f"{'ok' if not failures else 'FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
