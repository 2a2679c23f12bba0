"""Do the strategies that plan on curve draws beat plain adaptive on synthetic studies? Measured.

Run from the repository root (a few minutes on one core)::

    .venv/bin/python benchmarks/bench_robust.py --studies 20 --seeds 4 --noise 0.03 0.1

Each of ``--studies`` random studies (:func:`allocate.random_synthetic_study`: 2 to 5 groups,
known curves, costs 1, 2 or 4) is run ``--seeds`` times, each time with other measurement noise
and other bootstrap draws, by every strategy. Printed per utility and noise level:

- regret: the study's utility under the true curves, the oracle's minus the strategy's (loss
  sense, so > 0 means worse than the oracle), mean with a 95% interval over all runs;
- against adaptive: the paired difference of regrets, adaptive's minus the strategy's (> 0:
  the strategy did better), with its paired t-test p-value;
- spread: how much the final allocation moves with the noise alone, the standard deviation over
  the seeds of each group's share of the budget spent, averaged over groups and studies.

The script exits non-zero if a strategy overspends or leaves more than 5% of a budget unspent.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW

from allocate.sequential import run_strategy
from allocate.sources import random_synthetic_study

DEFAULT_STRATEGIES = ("adaptive", "expected", "cautious", "equal", "proportional")


def runs(utility: str, noise: float, studies: int, seeds: int, strategies) -> pd.DataFrame:
    """One row per study, seed, strategy and group: share of the spend and the run's regret."""
    rows = []
    for study_seed in range(studies):
        study, source = random_synthetic_study(study_seed, utility=utility, noise=noise)
        costs = np.array([g.cost for g in study.groups])
        have = np.array([g.have for g in study.groups])
        best = run_strategy("oracle", source, study, seed=0).true_objective
        for seed in range(seeds):
            for name in strategies:
                trajectory = run_strategy(name, source, study, seed=1000 * study_seed + seed)
                spend = costs * (trajectory.final_totals - have)
                for index, group in enumerate(study.groups):
                    rows.append((study_seed, seed, name, group.name,
                                 spend[index] / max(trajectory.spent, 1e-12),
                                 trajectory.true_objective - best, trajectory.spent,
                                 float(study.budget)))  # fmt: skip
    return pd.DataFrame(rows, columns=["study", "seed", "strategy", "group", "share", "regret",
                                       "spent", "budget"])  # fmt: skip


def table(frame: pd.DataFrame) -> pd.DataFrame:
    per_run = frame.drop_duplicates(["study", "seed", "strategy"])
    wide = per_run.pivot_table(index=["study", "seed"], columns="strategy", values="regret")
    spread = (frame.groupby(["strategy", "study", "group"])["share"].std(ddof=1)
              .groupby("strategy").mean())  # fmt: skip
    out = []
    for name in wide.columns:
        stats = DescrStatsW(wide[name].to_numpy())
        low, high = stats.tconfint_mean()
        row = {"strategy": name, "regret": stats.mean, "regret ±": high - stats.mean,
               "spread": spread[name]}  # fmt: skip
        if "adaptive" in wide.columns and name != "adaptive":
            difference = DescrStatsW((wide["adaptive"] - wide[name]).to_numpy())
            d_low, d_high = difference.tconfint_mean()
            row.update({"vs adaptive": difference.mean, "vs ±": d_high - difference.mean,
                        "p": difference.ttest_mean(0.0)[1]})  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.03, 0.1])
    parser.add_argument("--utilities", nargs="+", default=["maximin", "weighted"])
    parser.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES))
    args = parser.parse_args()
    failed = False
    for utility in args.utilities:
        for noise in args.noise:
            start = time.perf_counter()
            frame = runs(utility, noise, args.studies, args.seeds, args.strategies)
            seconds = time.perf_counter() - start
            print(f"\n{utility}, noise {noise:g}: {args.studies} studies x {args.seeds} seeds"
                  f" ({seconds:.0f} s)")
            print(table(frame).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            spent = frame.drop_duplicates(["study", "seed", "strategy"])
            bad = spent[(spent["spent"] > spent["budget"] + 1e-6)
                        | (spent["spent"] < 0.95 * spent["budget"])]
            if len(bad):
                failed = True
                print(f"CHECK FAILED: {len(bad)} runs overspent or left > 5% unspent")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
