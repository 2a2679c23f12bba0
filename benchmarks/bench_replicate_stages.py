"""Where one benchmark replicate spends its time, by stage, on a cached cohort.

Run from the repository root::

    .venv/bin/python benchmarks/bench_replicate_stages.py --cache bench-quick/cache
    .venv/bin/python benchmarks/bench_replicate_stages.py --replicate 1 --target 4

The quick preset's replicate ``--replicate`` runs on the cohort cache in ``--cache`` (simulated
first if absent, which is not timed, with replicate 0 run to warm the page cache), once as it
is and once under ``cProfile``; the inclusive time of each stage under the profiler is printed
as a Markdown table with both runs' wall and CPU times. With ``--code DIR`` the
replicate runs on another checkout's ``allocate``/``simulate`` (an earlier version, for a
before/after table). ``--results FILE`` writes the replicate's results table, so two versions'
numbers can be compared (``--expect FILE``: exit 1 unless they are identical). Exits 1 when the
replicate, without the profiler, takes longer than ``--target`` seconds of wall time (the CPU
time and the load are printed beside it: on a shared machine the wall time is the CPU time
stretched by the load).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

#: (label, file suffix, function name): inclusive time of each stage.
STAGES = [
    ("whole replicate", "simulate/benchmark.py", "run_replicate"),
    ("world: cohort, trait, split, oracle curves", "simulate/source.py",
     "genomic_source_for_benchmark"),
    ("load the cohort from the cache", "simulate/cache.py", "_load"),
    ("read genotypes (matrix, store or trees)", "simulate/cohort_data.py", "dosages"),
    ("accumulate scan statistics", "simulate/association.py", "add"),
    ("association tests", "simulate/association.py", "scan"),
    ("reference panels", "simulate/clumping.py", "standardised_panel"),
    ("clumping", "simulate/clumping.py", "clump"),
    ("threshold on validation rows", "simulate/prs.py", "_choose_threshold"),
    ("score test sets", "simulate/prs.py", "evaluate_score"),
]  # fmt: skip

_CHILD = """
import cProfile, json, sys, time
from simulate.benchmark import preset_config, run_replicate
config = preset_config("quick", replicates=int(sys.argv[2]) + 1)
run_replicate(config, 0, sys.argv[1])  # make sure the cohort is cached (not timed)
start, cpu = time.perf_counter(), time.process_time()
results, _ = run_replicate(config, int(sys.argv[2]), sys.argv[1])
plain = {"plain_wall_s": time.perf_counter() - start, "plain_cpu_s": time.process_time() - cpu}
profile = cProfile.Profile()
start, cpu = time.perf_counter(), time.process_time()
profile.enable()
results, _ = run_replicate(config, int(sys.argv[2]), sys.argv[1])
profile.disable()
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
profile.dump_stats(sys.argv[3])
if sys.argv[4]:
    results.to_csv(sys.argv[4], index=False)
print(json.dumps({"wall_s": wall, "cpu_s": cpu, **plain}))
"""


def stage_times(stats_file: str) -> dict[str, float]:
    """Inclusive seconds of each stage in a cProfile dump (0 where absent)."""
    stats = pstats.Stats(stats_file).stats  # type: ignore[attr-defined]
    times = {}
    for label, suffix, name in STAGES:
        times[label] = sum(
            cumulative for (path, _, function), (_, _, _, cumulative, _) in stats.items()
            if function == name and path.endswith(suffix)
        )  # fmt: skip
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-quick/cache", help="cohort cache folder")
    parser.add_argument("--replicate", type=int, default=1)
    parser.add_argument("--code", default=None, help="another checkout to run instead")
    parser.add_argument("--results", default="", help="write the replicate's results here")
    parser.add_argument("--expect", default=None, help="results that must come out identical")
    parser.add_argument("--target", type=float, default=None, help="seconds the replicate may take")
    args = parser.parse_args()

    env, folder = None, None
    if args.code:  # run there: ``python -c`` puts its working folder first on sys.path
        folder = Path(args.code).resolve()
        env = dict(os.environ, PYTHONPATH=str(folder))
    stats_file = Path(args.results or "replicate").with_suffix(".prof")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(Path(args.cache).resolve()), str(args.replicate),
         str(stats_file.resolve()), str(Path(args.results).resolve()) if args.results else ""],
        stdout=subprocess.PIPE, text=True, check=True, env=env, cwd=folder,
    )  # fmt: skip
    timing = json.loads(completed.stdout.strip().splitlines()[-1])
    wall = timing["wall_s"]
    times = stage_times(str(stats_file))
    stats_file.unlink(missing_ok=True)
    print(f"quick preset, replicate {args.replicate}, cached cohort "
          f"({time.perf_counter() - started:.0f} s in all)\n")  # fmt: skip
    print("| stage (inclusive, under cProfile) | seconds |\n| --- | --- |")
    for label, seconds in times.items():
        print(f"| {label} | {seconds:.2f} |")
    print(f"\nreplicate under cProfile: wall {wall:.2f} s, CPU {timing['cpu_s']:.2f} s; without "
          f"it: wall {timing['plain_wall_s']:.2f} s, CPU {timing['plain_cpu_s']:.2f} s (load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
    failed = False
    if args.expect:
        import pandas as pd

        same = pd.read_csv(args.expect).equals(pd.read_csv(args.results))
        print(f"results identical to {args.expect}: {same}")
        failed |= not same
    plain = timing["plain_wall_s"]
    if args.target is not None and plain > args.target:
        print(f"FAIL: the replicate took {plain:.2f} s, over the target of {args.target:g} s")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
