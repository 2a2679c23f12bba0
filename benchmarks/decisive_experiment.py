"""The decisive experiment: every collection strategy against equal and proportional sampling.

Run from the repository root (resumes: a rerun with the same options computes only missing
replicates; the quick grid took 15 min 47 s on one core)::

    .venv/bin/python benchmarks/decisive_experiment.py --preset quick --out bench-decisive
    .venv/bin/python benchmarks/decisive_experiment.py --preset paper --out bench-decisive-paper \\
        --executor dask --scheduler tcp://HOST:8786

The grid is the three utilities (maximin, weighted, power-mean) x YRI cost ratios 1, 2 and 4 at
the preset's first budget, with adaptive, expected, cautious, equal, proportional and the oracle,
scored on held-out test people. The tidy results go to ``--results`` (default
``benchmarks/decisive/PRESET``):

- ``runs.csv``: one row per replicate, setting and strategy (objective, regret against the
  oracle and against the better heuristic, each group's samples);
- ``summary.csv``: per setting and strategy, the means with 95% intervals;
- ``versus_heuristics.csv``: each collecting strategy's gain over equal and over proportional
  per setting (paired t-test, Holm over that strategy's comparisons);
- ``power.csv``: the oracle's gain over each heuristic and the replicates that detect it;
- ``regret.png``: the regrets with their intervals.

It prints the tables as Markdown, as quoted in ``benchmarks/bench_results.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

COLLECTING = ("adaptive", "expected", "cautious")
STRATEGIES = (*COLLECTING, "equal", "proportional", "oracle")
UTILITIES = ("maximin", "weighted", "power-mean")
COST_RATIOS = (1.0, 2.0, 4.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("quick", "paper"), default="quick")
    parser.add_argument("--replicates", type=int, default=None,
                        help="default: 30 for quick, 20 for paper")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="benchmark folder (resumes)")
    parser.add_argument("--results", type=Path, default=None,
                        help="folder of the tidy results (default benchmarks/decisive/PRESET)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler", default=None)
    args = parser.parse_args()

    from simulate.bench_plots import plot_regret
    from simulate.benchmark import PRESETS, preset_config, run_benchmark

    replicates = args.replicates or (30 if args.preset == "quick" else 20)
    config = preset_config(
        args.preset, strategies=STRATEGIES, utilities=UTILITIES, cost_ratios=COST_RATIOS,
        budgets=PRESETS[args.preset]["budgets"][:1], replicates=replicates,
    )  # fmt: skip
    out = args.out or Path(f"bench-decisive-{args.preset}")
    result = run_benchmark(config, out, executor=args.executor, workers=args.workers,
                           scheduler=args.scheduler)  # fmt: skip
    folder = args.results or Path("benchmarks") / "decisive" / args.preset
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "runs.csv": runs_table(result.results),
        "summary.csv": result.summary_table,
        "versus_heuristics.csv": versus_heuristics(result.results),
        "power.csv": result.power,
    }
    for name, table in tables.items():
        table.to_csv(folder / name, index=False, float_format="%.6g")
    plot_regret(result.summary_table).savefig(folder / "regret.png", dpi=110)
    print(f"{replicates} replicates of the {args.preset} preset, {len(result.results)} rows; "
          f"{result.reused} replicates read back; tables in {folder}\n")  # fmt: skip
    print(markdown_regrets(result.summary_table), "\n")
    print(markdown_versus(tables["versus_heuristics.csv"]))


def runs_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate, setting and strategy, with each group's samples as columns."""
    from simulate.benchmark import SETTING, _heuristic_regret, _runs

    runs = _runs(results)
    runs = runs.assign(heuristic_regret=_heuristic_regret(runs))
    totals = results.pivot_table(index=["replicate", *SETTING, "strategy"], columns="group",
                                 values="total")  # fmt: skip
    totals.columns = [f"samples_{group}" for group in totals.columns]
    return runs.join(totals, on=["replicate", *SETTING, "strategy"])


def versus_heuristics(results: pd.DataFrame) -> pd.DataFrame:
    """Each collecting strategy's paired gain over equal and proportional, per setting; Holm
    over the comparisons of one strategy (``gain`` > 0: the strategy did better)."""
    from statsmodels.stats.multitest import multipletests

    from simulate.power_analysis import power_analysis

    tables = []
    for strategy in COLLECTING:
        if strategy not in set(results["strategy"]):
            continue
        table = power_analysis(results, strategy=strategy)
        table["p_holm"] = multipletests(table["p_value"], method="holm")[1]
        tables.append(table)
    columns = ["utility", "budget", "cost_ratio", "strategy", "against", "gain", "sd", "n",
               "p_value", "p_holm"]  # fmt: skip
    return pd.concat(tables, ignore_index=True)[columns]


def markdown_regrets(summary: pd.DataFrame) -> str:
    """Regret against the oracle and against the better heuristic, mean and 95% half-width."""
    lines = ["| utility | YRI cost | strategy | regret vs oracle | vs better heuristic |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in summary.itertuples():
        if row.strategy == "oracle":
            continue
        lines.append(
            f"| {row.utility} | x{row.cost_ratio:g} | {row.strategy} | "
            f"{row.regret:.3f} ± {(row.regret_high - row.regret_low) / 2:.3f} | "
            f"{row.heuristic_regret:.3f} ± "
            f"{(row.heuristic_regret_high - row.heuristic_regret_low) / 2:.3f} |"
        )
    return "\n".join(lines)


def markdown_versus(table: pd.DataFrame) -> str:
    """The paired gains over each heuristic, with raw and Holm p."""
    lines = ["| utility | YRI cost | strategy | over equal (p, Holm) "
             "| over proportional (p, Holm) |", "| --- | --- | --- | --- | --- |"]  # fmt: skip
    keys = ["utility", "cost_ratio", "strategy"]
    for key, rows in table.groupby(keys, sort=False):
        cells = []
        for against in ("equal", "proportional"):
            row = rows[rows["against"] == against].iloc[0]
            cells.append(f"{row['gain']:+.3f} ({row['p_value']:.2g}, {row['p_holm']:.2g})")
        lines.append(f"| {key[0]} | x{key[1]:g} | {key[2]} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
