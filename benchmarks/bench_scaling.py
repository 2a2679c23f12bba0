"""How a benchmark replicate's time and memory grow with cohort size, and runs with replicates.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scaling.py        # 15,000 and 30,000; 2 and 4 replicates
    .venv/bin/python benchmarks/bench_scaling.py --sizes 15000 --replicates 2 3

Each measurement is a fresh process running the quick preset's benchmark (``fairalloc bench
--preset quick``: every strategy, one setting) with one worker, so its wall time is one core's
and its peak resident memory is that of one replicate. ``--sizes`` changes individuals per
group (the cohort's genome and trait stay the quick preset's); ``--replicates`` runs 1, 2, ...
replicates drawn from one cohort, which is simulated once and cached. The figures tell a user
what one replicate costs at a given size, and so when to spread replicates over a dask cluster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_CHILD = """
import json, resource, sys, time
from simulate.benchmark import PRESETS, preset_config, run_benchmark
size, replicates, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = preset_config("quick", replicates=replicates,
                       cohort={**PRESETS["quick"]["cohort"], "n_per_group": size})
start = time.perf_counter()
marks = []
run_benchmark(config, out, workers=1,
              progress=lambda done, total: marks.append(time.perf_counter() - start))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"size": size, "replicates": replicates, "total": time.perf_counter() - start,
                  "first": marks[1] if len(marks) > 1 else None, "peak_mib": peak}))
"""


def measure(size: int, replicates: int) -> dict:
    """One fresh process: the benchmark at ``size`` individuals per group."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, str(size), str(replicates), out],
            stdout=subprocess.PIPE, text=True, check=True,
        )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[15000, 30000],
                        help="individuals per group, one replicate each")  # fmt: skip
    parser.add_argument("--replicates", type=int, nargs="*", default=[2, 4],
                        help="replicate counts to time at the first size")  # fmt: skip
    args = parser.parse_args()
    print("| individuals per group | replicates | wall time (s) | first replicate (s) | peak MiB |")
    print("| --- | --- | --- | --- | --- |")
    runs = [(size, 1) for size in args.sizes]
    runs += [(args.sizes[0], r) for r in args.replicates if r != 1]
    for size, replicates in runs:
        row = measure(size, replicates)
        first = "" if row["first"] is None else f"{row['first']:.1f}"
        print(f"| {size:,} | {replicates} | {row['total']:.1f} | {first} | "
              f"{row['peak_mib']:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
