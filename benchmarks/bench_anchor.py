"""Does anchoring the adaptive strategy's curves to its latest measurements help? Measured.

Run from the repository root (about 10 minutes for 30 replicates on one core)::

    .venv/bin/python benchmarks/bench_anchor.py --replicates 30 --out bench-anchor

The quick preset's benchmark runs adaptive, adaptive with ``anchor=True``, equal, worst-group
and the oracle on the same replicates (held-out scoring). The anchored strategy takes the
``optimistic`` slot of the benchmark, so in the printed tables "optimistic" is the anchored
adaptive. Figures are in ``benchmarks/bench_results.md``.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=30)
    parser.add_argument("--out", default="bench-anchor", help="benchmark folder (resumable)")
    args = parser.parse_args()

    import simulate.benchmark as benchmark
    from allocate.strategies import Adaptive

    plain = benchmark._strategy

    def with_anchored(name, config, oracle_curves):
        if name == "optimistic":
            return Adaptive(batch=config.batch, pilot=config.pilot, anchor=True)
        return plain(name, config, oracle_curves)

    benchmark._strategy = with_anchored
    config = benchmark.preset_config(
        "quick",
        replicates=args.replicates,
        strategies=("adaptive", "optimistic", "equal", "worst-group", "oracle"),
    )
    start = time.perf_counter()
    result = benchmark.run_benchmark(config, args.out, workers=1)
    print(result.summary())
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
