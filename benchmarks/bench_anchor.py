"""Does anchoring the adaptive strategy's curves to its latest measurements help? Measured.

Run from the repository root (about 10 minutes for 30 replicates on one core)::

    .venv/bin/python benchmarks/bench_anchor.py --replicates 30 --out bench-anchor

The quick preset's benchmark runs adaptive, ``adaptive-anchored`` (adaptive with
``anchor=True``), equal, worst-group and the oracle on the same replicates (held-out scoring).
The anchored variant is a strategy of its own name in the benchmark's configuration, so its
folder's key differs from any run without it: resuming into another run's folder is refused
instead of mixing strategies. (Figures measured before this, in ``benchmarks/bench_results.md``,
printed the anchored adaptive in the ``optimistic`` slot.)

Checks, each printed; the script exits 1 if one fails: every replicate has every strategy and
group, every allocation is whole and within the budget, every value and regret is finite, and
each strategy's regret equals the oracle's objective minus its own in the same replicate.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

STRATEGIES = ("adaptive", "adaptive-anchored", "equal", "worst-group", "oracle")


RUN = ["replicate", "utility", "budget", "cost_ratio", "training"]


def checks(result, config) -> list[tuple[str, bool]]:
    """(description, passed) for each check of the benchmark's answers."""
    table = result.results
    expected_rows = config.replicates * len(STRATEGIES) * len(config.groups) * len(
        config.settings())
    runs = table.drop_duplicates([*RUN, "strategy"]).set_index(RUN)
    oracle = runs[runs["strategy"] == "oracle"]["objective"]
    spent = table.groupby([*RUN, "strategy"])["spent"].sum()
    budget = spent.index.get_level_values("budget").to_numpy()
    return [
        (f"{expected_rows} rows: every replicate, setting, strategy and group",
         len(table) == expected_rows),
        ("whole-sample totals", bool(np.all(table["total"] == np.round(table["total"])))),
        ("every run within its budget", bool(np.all(spent.to_numpy() <= budget + 1e-9))),
        ("finite values and regrets",
         bool(np.isfinite(table["value"]).all() and np.isfinite(table["regret"]).all())),
        # The quick preset's metric is a score: higher is better, regret = oracle - strategy.
        ("regret = the oracle's objective in the same replicate - the strategy's",
         bool(np.allclose(runs["regret"], oracle.loc[runs.index].to_numpy()
                          - runs["objective"].to_numpy()))),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=30)
    parser.add_argument("--out", default="bench-anchor", help="benchmark folder (resumable)")
    args = parser.parse_args()

    from simulate.benchmark import preset_config, run_benchmark

    config = preset_config("quick", replicates=args.replicates, strategies=STRATEGIES)
    start = time.perf_counter()
    result = run_benchmark(config, args.out, workers=1)
    print(result.summary())
    print(f"{time.perf_counter() - start:.1f} s ({result.reused} replicates reused)")
    failed = 0
    for description, passed in checks(result, config):
        print(f"check: {description}: {'ok' if passed else 'FAILED'}")
        failed += not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
