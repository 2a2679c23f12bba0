"""Speed and memory of the simulate package: cohorts, association scans, incremental updates.

Run from the repository root::

    .venv/bin/python benchmarks/bench_simulate.py                  # quick and study
    .venv/bin/python benchmarks/bench_simulate.py --presets quick  # just the quick preset
    .venv/bin/python benchmarks/bench_simulate.py --presets "" --no-scan --paper-probe

Each preset runs end to end (cohort, trait, portability table; no cache) in a fresh process,
which reports its wall time per stage and its peak resident memory. The scan figures use the
quick cohort: throughput of the sufficient-statistic update in variants x samples per second,
and the cost of growing a training set by a batch against rescanning the whole set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_CHILD = """
import json, resource, sys, time
from simulate.pipeline import run_simulation, simulation_config
start = time.perf_counter()

def progress(stage, done, total):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - start:8.1f} s  {stage} {done}/{total}  peak {peak:.0f} MiB",
          file=sys.stderr, flush=True)

report = run_simulation(simulation_config(sys.argv[1]), progress=progress)
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"total": total, **report.seconds, "peak_mib": peak,
                  "individuals": report.cohort.num_individuals,
                  "variants": report.cohort.num_variants,
                  "above_maf": report.cohort.variants_above_maf(),
                  "portability": report.portability.to_frame().to_dict(orient="records")}))
"""


def bench_preset(name: str) -> dict:
    """Run one preset in a fresh process; its wall times (s) and peak memory (MiB)."""
    result = subprocess.run(  # progress lines go to this process's stderr as they happen
        [sys.executable, "-c", _CHILD, name], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_scan(repeats: int = 3) -> dict:
    """Association-scan throughput and incremental-versus-rescan cost on the quick cohort."""
    import numpy as np

    from simulate.association import ScanStatistics
    from simulate.cohort import simulate_cohort
    from simulate.phenotype import simulate_phenotype

    cohort = simulate_cohort(n_per_group=2000, chromosomes=4, chromosome_length=2e6, seed=1)
    trait = simulate_phenotype(cohort, causal=100, seed=1)
    rows = cohort.individuals_of("CEU")
    dosages = cohort.dosages(rows)
    y = trait.values[rows]
    empty = ScanStatistics.empty(cohort.groups, cohort.num_variants)

    def best_time(function) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return min(times)

    full = best_time(lambda: empty.add("CEU", dosages, y).scan("linear"))
    base = empty.add("CEU", dosages[:1800], y[:1800])
    batch = best_time(lambda: base.add("CEU", dosages[1800:], y[1800:]).scan("linear"))
    update_only = best_time(lambda: base.add("CEU", dosages[1800:], y[1800:]))
    rescan_only = best_time(lambda: empty.add("CEU", dosages, y))
    cells = dosages.shape[0] * dosages.shape[1]
    return {
        "samples": int(dosages.shape[0]),
        "variants": int(dosages.shape[1]),
        "scan_seconds": full,
        "throughput_cells_per_second": cells / full,
        "update_200_seconds": update_only,
        "rescan_2000_seconds": rescan_only,
        "grow_200_and_test_seconds": batch,
        "rescan_over_update": rescan_only / update_only,
        "check_equal": bool(
            np.allclose(
                base.add("CEU", dosages[1800:], y[1800:]).scan("linear").p,
                empty.add("CEU", dosages, y).scan("linear").p,
                rtol=1e-8,
                equal_nan=True,
            )
        ),
    }


_PAPER_PROBE = """
import json, resource, time
import numpy as np
import tskit
from simulate.cohort import (CohortParameters, decode_dosages, sample_layout, select_variants,
                             simulate_chromosome)
from simulate.pipeline import simulation_config
c = simulation_config("paper")
p = CohortParameters(groups=c.groups, n_per_group=c.n_per_group, chromosomes=c.chromosomes,
                     chromosome_length=c.chromosome_length, seed=c.seed,
                     wright_fisher_generations=c.wright_fisher_generations)
start = time.perf_counter()
ts = simulate_chromosome(p, *p.chromosome_seeds()[0])
simulated = time.perf_counter()
group, nodes = sample_layout(ts, p.groups)
variants = select_variants([ts], group, nodes, p)
selected = time.perf_counter()
variant = tskit.Variant(ts, samples=nodes[:10000].ravel(), isolated_as_missing=False)
for site in variants["site"].to_numpy()[:2000]:
    variant.decode(int(site))
decoded = time.perf_counter()
dosages = decode_dosages([ts], variants, nodes[:10000], np.arange(len(variants)))
simplified = time.perf_counter()
print(json.dumps({"simulate": simulated - start, "select": selected - simulated,
                  "decode_2000_sites_10000_individuals": decoded - selected,
                  "decode_all_kept_10000_individuals_simplified": simplified - decoded,
                  "sites": ts.num_sites, "kept": len(variants),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_paper_probe() -> dict:
    """The paper preset's first chromosome: simulate, select variants, decode a sample."""
    result = subprocess.run(
        [sys.executable, "-c", _PAPER_PROBE], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="quick,study", help="comma-separated presets")
    parser.add_argument("--no-scan", action="store_true", help="skip the scan figures")
    parser.add_argument(
        "--paper-probe", action="store_true",
        help="also time one chromosome of the paper preset (about 5 minutes)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for name in [p for p in args.presets.split(",") if p]:
        figures = bench_preset(name)
        print(
            f"preset {name}: {figures['individuals']} individuals, {figures['variants']} "
            f"variants; total {figures['total']:.1f} s (cohort {figures['cohort']:.1f} s, "
            f"phenotype {figures['phenotype']:.1f} s, portability scores "
            f"{figures['scores']:.1f} s); peak memory {figures['peak_mib']:.0f} MiB"
        )
        print(f"  variants above the MAF floor: {figures['above_maf']}")
        for row in figures["portability"]:
            metrics = ", ".join(
                f"{k} {row[k]:.3f}" for k in ("r2", "r2_genetic", "auc", "utility")
                if row[k] == row[k]
            )
            print(f"  trained on {row['trained_on']} ({row['n_train']}), scored in "
                  f"{row['group']} ({row['n_test']}): {metrics}")
    if not args.no_scan:
        scan = bench_scan()
        print(
            f"association scan: {scan['samples']} samples x {scan['variants']} variants in "
            f"{scan['scan_seconds']:.3f} s = {scan['throughput_cells_per_second'] / 1e6:.0f} M "
            "variant-samples per second"
        )
        print(
            f"incremental: adding 200 samples to 1800 takes {scan['update_200_seconds']:.3f} s; "
            f"a rescan of all 2000 takes {scan['rescan_2000_seconds']:.3f} s "
            f"({scan['rescan_over_update']:.1f}x); grow + test "
            f"{scan['grow_200_and_test_seconds']:.3f} s; incremental p-values equal the "
            f"rescan's: {scan['check_equal']}"
        )
    if args.paper_probe:
        probe = bench_paper_probe()
        print(
            f"paper preset, one chromosome: simulate {probe['simulate']:.0f} s "
            f"({probe['sites']} sites), select variants {probe['select']:.0f} s "
            f"({probe['kept']} kept), decode 2000 sites x 10000 individuals "
            f"{probe['decode_2000_sites_10000_individuals']:.1f} s directly; all kept sites x "
            f"10000 individuals from simplified trees "
            f"{probe['decode_all_kept_10000_individuals_simplified']:.1f} s; peak memory "
            f"{probe['peak_mib']:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
