"""Growing training prefixes from the genotype store: packed training pools against the store.

Run from the repository root::

    .venv/bin/python benchmarks/bench_training_pools.py --cache bench-quick/cache

On the quick preset's cohort (simulated into ``--cache`` if absent), loaded without its decoded
matrix as a cohort too large to decode is, with a binary trait at 50% prevalence (so 1:1
case-control training sets reach 8,000 per group), each group's training prefix grows from
1,000 to ``--top`` in steps of 1,000 (:meth:`simulate.training_data.TrainingData.prefix`),
once summing the new discovery members from the store (``pool_bytes=0``: the path before
packed pools) and once from the packed training pool (the default, built on the first
prefix: its one pass over the group's bytes is in the first step, and timed apart). Per step
it prints the seconds of each prefix, of its sums alone, and the bytes of .bed each sum visits
(the store: every variant's bytes over the span the new rows cover; the pool: the new rows').
``--cold`` evicts the .bed from the page cache before each step (``posix_fadvise``), as a
store larger than memory (the paper preset's) is read. The two runs' statistics must be
identical (exit 1 otherwise). Validation members are decoded from the trees by both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np


def _world(cache: str, top: int):
    from simulate.benchmark import _replicate_seed, preset_config
    from simulate.cohort import simulate_cohort
    from simulate.config import world_settings
    from simulate.phenotype import simulate_phenotype
    from simulate.prs import split_cohort

    config = preset_config("quick", replicates=1)
    world = world_settings("genomic", config.cohort, config.groups)
    simulation = replace(world.simulation, seed=_replicate_seed(config, 0, "cohort"))
    parameters = simulation.cohort_parameters()
    cohort = simulate_cohort(
        parameters.groups, n_per_group=parameters.n_per_group,
        chromosomes=parameters.chromosomes, chromosome_length=parameters.chromosome_length,
        maf=parameters.maf, seed=parameters.seed,
        wright_fisher_generations=parameters.wright_fisher_generations,
        cache_dir=cache, max_decoded_bytes=0,
    )  # fmt: skip
    cohort = replace(cohort, genotypes=None)  # a cached cohort keeps its matrix: ignore it
    trait = simulate_phenotype(cohort, h2=0.5, causal=300, prevalence=0.5, seed=1)
    split = split_cohort(cohort, reference=200, test_fraction=0.25, seed=1)
    for group in cohort.groups:
        if split.max_training(group, trait) < top:
            raise SystemExit(f"group {group} trains on at most {split.max_training(group, trait)}")
    return cohort, trait, split


def _grow(cohort, trait, split, sizes, from_store: bool, cold: bool):
    """Seconds of each prefix and of its sums (summed over groups), the statistics, the .bed
    bytes visited."""
    from simulate.association import ScanStatistics
    from simulate.store import plink_files
    from simulate.training_data import TrainingData, _PackedPool

    summing, building = [0.0], [0.0]
    real, grow = ScanStatistics.add_store, _PackedPool.grow

    def timed_grow(self, *args):
        start = time.perf_counter()
        grow(self, *args)
        building[0] += time.perf_counter() - start

    def timed(self, *args):
        start = time.perf_counter()
        try:
            return real(self, *args)
        finally:
            summing[0] += time.perf_counter() - start

    ScanStatistics.add_store, _PackedPool.grow = timed, timed_grow
    data = TrainingData(cohort, trait, split, **({"pool_bytes": 0} if from_store else {}))
    seconds, sums, statistics, visited = [], [], [], []
    for n in sizes:
        if cold:  # the .bed out of the page cache, as a store larger than memory is
            with open(plink_files(cohort.store.prefix)[0], "rb") as bed:
                os.posix_fadvise(bed.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        summing[0] = 0.0
        start = time.perf_counter()
        statistics.append([data.prefix(g, n) for g in cohort.groups])
        seconds.append(time.perf_counter() - start)
        sums.append(summing[0])
        visited.append(sum(_visited(cohort, trait, split, g, n, from_store)
                           for g in cohort.groups))  # fmt: skip
    ScanStatistics.add_store, _PackedPool.grow = real, grow
    return seconds, sums, statistics, visited, building[0]


def _visited(cohort, trait, split, group, n, from_store: bool) -> int:
    """Bytes per the sum of the prefix ``n`` (from the prefix below it) visits."""
    step = n - 1000
    rows, flags = split.training(group, n, trait)
    before, _ = split.training(group, step, trait)
    new = rows[~flags & ~np.isin(rows, before)]
    if from_store:  # the store: the span of byte positions the new rows cover
        return cohort.num_variants * int(new.max() // 4 - new.min() // 4 + 1)
    return cohort.num_variants * (new.size + 3) // 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-quick/cache")
    parser.add_argument("--top", type=int, default=8000, help="largest prefix per group")
    parser.add_argument("--cold", action="store_true",
                        help="evict the .bed from the page cache before each step")  # fmt: skip
    args = parser.parse_args()
    cohort, trait, split = _world(args.cache, args.top)
    sizes = list(range(1000, args.top + 1, 1000))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{cohort.num_individuals} individuals x {cohort.num_variants} variants, groups "
          f"{', '.join(cohort.groups)}\n")  # fmt: skip
    store = _grow(cohort, trait, split, sizes, True, args.cold)
    pools = _grow(cohort, trait, split, sizes, False, args.cold)
    print(f"page cache: {'evicted before each step' if args.cold else 'as it is'}\n")
    print("| prefix per group | prefix (s): store / pool | its sums (s): store / pool "
          "| .bed bytes summed (MB): store / pool |")  # fmt: skip
    print("| --- | --- | --- | --- |")
    for k, n in enumerate(sizes):
        print(f"| {n} | {store[0][k]:.2f} / {pools[0][k]:.2f} | {store[1][k]:.2f} / "
              f"{pools[1][k]:.2f} | {store[3][k] / 1e6:.0f} / {pools[3][k] / 1e6:.1f} |")
    print(f"| total | {sum(store[0]):.2f} / {sum(pools[0]):.2f} | {sum(store[1]):.2f} / "
          f"{sum(pools[1]):.2f} | |")  # fmt: skip
    print(f"\nbuilding the packed pools (in the first step): {pools[4]:.2f} s")
    same = all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for ours, theirs in zip(store[2], pools[2], strict=True)
        for pair_a, pair_b in zip(ours, theirs, strict=True)
        for a, b in zip(pair_a, pair_b, strict=True)
        for name in ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_x2y")
    )
    print("\nstatistics identical" if same else "\nstatistics DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
