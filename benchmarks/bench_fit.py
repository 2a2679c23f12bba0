"""Time to fit 100 groups x 10 sizes x 5 replicates with 200 bootstrap resamples.

Target (issue 2): under 10 seconds on a 2-core machine. Run:

    .venv/bin/python benchmarks/bench_fit.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from allocate import Curve, fit_curves

GROUPS, SIZES, REPLICATES, RESAMPLES = 100, 10, 5, 200


def make_points(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(50, 25_600, SIZES).round()
    frames = []
    for g in range(GROUPS):
        curve = Curve(a=rng.uniform(1, 5), b=rng.uniform(0.2, 0.9), c=rng.uniform(0, 0.3))
        n = np.repeat(sizes, REPLICATES)
        value = curve.loss(n) + rng.normal(0, 0.003, n.size)
        frames.append(pd.DataFrame({"group": f"g{g:03d}", "n": n, "value": value}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    points = make_points()
    for family, log_space in (("power-offset", False), ("power", False), ("power-offset", True)):
        resamples = RESAMPLES if not log_space else 20
        start = time.perf_counter()
        fits = fit_curves(points, family=family, log_space=log_space, bootstrap=resamples, seed=1)
        seconds = time.perf_counter() - start
        space = "log" if log_space else "linear"
        print(
            f"{family:>12} ({space:>6} space): {len(fits)} groups x {SIZES} sizes x "
            f"{REPLICATES} replicates, {resamples} resamples: {seconds:6.2f} s"
        )
    print("target: power-offset, linear space, 200 resamples under 10 s")


if __name__ == "__main__":
    main()
