"""Regret against the oracle of every strategy on synthetic studies with known curves.

50 replicates (fixed seeds 0..49) of random 2-5 group studies with unequal costs, for the maximin
and weighted utilities; prints the mean regret with a 95% interval per strategy and a one-sided
paired Wilcoxon test of adaptive against each baseline (Holm-corrected). Run:

    .venv/bin/python benchmarks/bench_adaptive.py [--replicates 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from allocate.sequential import run_strategy
from allocate.sources import random_synthetic_study

STRATEGIES = ("adaptive", "optimistic", "equal", "proportional", "worst-group")


def regrets(utility: str, replicates: int) -> dict[str, np.ndarray]:
    table: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    for seed in range(replicates):
        study, source = random_synthetic_study(seed, utility=utility)
        best = run_strategy("oracle", source, study, seed=seed).true_objective
        for name in STRATEGIES:
            table[name].append(run_strategy(name, source, study, seed=seed).true_objective - best)
    return {name: np.array(values) for name, values in table.items()}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    args = parser.parse_args()
    for utility in ("maximin", "weighted"):
        start = time.perf_counter()
        result = regrets(utility, args.replicates)
        report(utility, result)
        print(f"  ({args.replicates} replicates in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
