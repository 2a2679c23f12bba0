"""Reading genotypes: the memory-mapped decoded matrix against the PLINK genotype store.

Run from the repository root::

    .venv/bin/python benchmarks/bench_genotype_reads.py --cache bench-quick/cache

On the quick preset's cohort (simulated into ``--cache`` if absent), each shape a replicate
asks for is read twice from each copy: the first read may find the file outside the page cache
(``cold``), the second inside it (``warm``). The shapes are the trait's causal variants of every
individual, a half test set at a score's variants and at many variants, and a training set at
every variant. The two copies' genotypes must be identical (exit 1 otherwise). What it measures
decides :meth:`simulate.store.GenotypeStore.prefers` when the cohort also has the matrix.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

SHAPES = [(30000, 300), (1875, 300), (1875, 2000), (3000, None)]  # None: every variant


def _read(cohort, copy: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if copy == "matrix":
        return np.asarray(cohort.genotypes[np.ix_(rows, cols)], dtype=np.int8)
    return cohort.store.read(rows, cols)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-quick/cache")
    args = parser.parse_args()
    from simulate.benchmark import _make_source, preset_config

    config = preset_config("quick", replicates=1)
    cohort = _make_source(config, 0, "own", args.cache)[0].cohort
    rng = np.random.default_rng(1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| individuals x variants | matrix cold / warm (s) | store cold / warm (s) |")
    print("| --- | --- | --- |")
    failed = False
    for size, width in SHAPES:
        width = width or cohort.num_variants
        rows = np.sort(rng.choice(cohort.num_individuals, size, replace=False))
        cols = np.sort(rng.choice(cohort.num_variants, width, replace=False))
        seconds, values = {}, {}
        for name in ("matrix", "store"):
            seconds[name] = []
            for _ in range(2):
                start = time.perf_counter()
                values[name] = _read(cohort, name, rows, cols)
                seconds[name].append(time.perf_counter() - start)
        same = np.array_equal(values["matrix"], values["store"])
        failed |= not same
        cells = [" / ".join(f"{s:.3f}" for s in seconds[name]) for name in seconds]
        print(f"| {size} x {width} | {cells[0]} | {cells[1]} |" + ("" if same else " DIFFER"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
