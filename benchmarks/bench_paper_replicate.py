"""One replicate of the paper preset, measured: wall time per stage and peak memory.

Run from the repository root (on 2 cores: about 12 minutes to simulate the cohort and 57 to write
its 30.6 GB genotype store, then 11.6 minutes for the replicate on one core, 13 GiB of anonymous
memory; see ``benchmarks/bench_results.md``)::

    .venv/bin/python benchmarks/bench_paper_replicate.py --out bench-paper-1
    .venv/bin/python benchmarks/bench_paper_replicate.py --budgets 10000 --cost-ratio 2

The paper preset's cohort (2 x 200,000 individuals, 21 x 3 Mb) is simulated with every core
and cached, then one replicate runs every strategy in the settings given (default: maximin,
budget 10,000, YRI samples at twice the cost; the full preset grid is 27 settings). The
process reports the time to simulate the cohort, the time of the replicate, and the peak
resident memory of this process and of its cohort workers.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

SIX = ("adaptive", "optimistic", "equal", "proportional", "worst-group", "oracle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="10000", help="comma-separated budgets")
    parser.add_argument("--cost-ratio", default="2", help="comma-separated cost ratios")
    parser.add_argument("--utility", default="maximin", help="comma-separated utilities")
    parser.add_argument("--strategies", default=",".join(SIX),
                        help="comma-separated strategies (default: the six of the 2026-11-28 "
                             "measurement)")  # fmt: skip
    parser.add_argument("--out", default=None, help="benchmark folder (default: a temporary one)")
    args = parser.parse_args()

    from simulate.benchmark import preset_config, run_benchmark
    from simulate.cache import COMPLETE_MARKER

    config = preset_config(
        "paper",
        budgets=tuple(float(b) for b in args.budgets.split(",")),
        cost_ratios=tuple(float(r) for r in args.cost_ratio.split(",")),
        utilities=tuple(args.utility.split(",")),
        strategies=tuple(args.strategies.split(",")),
        replicates=1,
    )
    start = time.time()
    steps = 0

    def report_step() -> None:
        nonlocal steps
        steps += 1
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{time.time() - start:8.1f} s  strategy run {steps}  peak {peak:.0f} MiB",
              file=sys.stderr, flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or scratch)
        summary = run_benchmark(config, out, on_step=report_step).summary()
        total = time.time() - start
        # The cohort is stored in the cache, completion marker last, before any strategy runs;
        # a marker older than this run means the cohort came from the cache (--out reused).
        markers = list((out / "cache").glob(f"cohorts/*/{COMPLETE_MARKER}"))
        stored = markers[0].stat().st_mtime if markers else float("nan")
        cohort = stored - start if stored >= start else 0.0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(summary)
    print(json.dumps({
        "settings": len(config.settings()), "strategies": len(config.strategies),
        "total_s": round(total, 1), "cohort_s": round(cohort, 1), "cohort_cached": cohort == 0,
        "replicate_s": round(total - cohort, 1), "peak_mib": round(own),
        "peak_worker_mib": round(workers),
    }))  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
