"""How a benchmark replicate's time and memory grow with cohort size.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scaling.py                 # 15,000 and 50,000 per group
    .venv/bin/python benchmarks/bench_scaling.py --sizes 15000 --replicates 4

Each size is a fresh process running the quick preset's benchmark (``fairalloc bench --preset
quick``: every strategy, one setting) with one worker, from an empty folder, so its times are
one core's and its peak resident memory is that of one replicate plus the cohort's simulation.
``--sizes`` changes individuals per group (the cohort's genome and trait stay the quick
preset's); each process runs ``--replicates`` replicates drawn from one cohort, which the first
simulates and caches. The table gives the first replicate (with the cohort) and the mean of the
later ones (the cohort read from the cache): what one more replicate costs at that size, and so
when to spread replicates over a dask cluster. The paper preset's own replicate is
``benchmarks/bench_paper_replicate.py``.
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
print(json.dumps({"marks": marks, "peak_mib": peak}))
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
    parser.add_argument("--sizes", type=int, nargs="*", default=[15000, 50000],
                        help="individuals per group")  # fmt: skip
    parser.add_argument("--replicates", type=int, default=2,
                        help="replicates per size (at least 2: the first simulates the cohort)")
    args = parser.parse_args()
    if args.replicates < 2:
        parser.error("--replicates must be at least 2")
    print("| individuals per group | first replicate, with the cohort (s) "
          "| each later replicate (s) | peak MiB |\n| --- | --- | --- | --- |")  # fmt: skip
    for size in args.sizes:
        row = measure(size, args.replicates)
        # progress is called once before any replicate (0 done), then as each one finishes
        marks = row["marks"][-args.replicates - 1 :]
        first = marks[1] - marks[0]
        later = (marks[-1] - marks[1]) / (args.replicates - 1)
        print(f"| {size:,} | {first:.1f} | {later:.1f} | {row['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
