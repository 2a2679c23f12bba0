"""Slice Tuner's setting on scikit-learn's bundled digits: which digits should we label more of?

Tae and Whang (Slice Tuner, SIGMOD 2021) slice MNIST by digit and ask how many more examples of
each slice to label. This script does the same on the 8x8 digits that ship with scikit-learn
(no download), with unequal labelling costs (digits 5-9 take twice as long to label):

1. measure each slice's learning curve: one model (standardised logistic regression) trained on
   nested subsamples of every slice, each slice scored by its log loss on its own held-out rows;
2. fit each slice's curve with intervals;
3. plan a labelling budget under the weighted (average) and maximin (worst slice) utilities,
   from a pilot of 20 labelled examples per digit;
4. replay collection on the pool itself: adaptive collection, equal, proportional (here: to
   each slice's pool) and Slice Tuner's water-filling baseline, against the oracle, every final
   allocation scored on held-out rows no strategy saw while collecting.

Run it with ``python examples/digits_slices.py`` (the test suite runs it too).
"""

from __future__ import annotations

import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from allocate import GroupSpec, PoolSource, StudySpec, measure_curves, plan, replay_collection

SEED = 0
PILOT = 20  # labelled examples per digit before the budget is spent
BUDGET = 900.0  # labelling time units
COSTS = {str(d): 1.0 if d < 5 else 2.0 for d in range(10)}


def model():
    """The classifier every slice shares (one model for all ten digits)."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, tol=1e-3))


def main() -> dict:
    started = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    slices = y.astype(str)

    # 1. Measure: pooled training (a slice is one digit), log loss on each slice's test rows.
    measured = measure_curves(
        X, y, slices, estimator=model(), scoring="neg_log_loss", training="pooled",
        fractions=(0.1, 0.2, 0.35, 0.6, 1.0), replicates=3, seed=SEED,
    )  # fmt: skip
    print(measured.summary(), "\n")

    # 2. Fit each slice's curve.
    fits = measured.fit(family="power-offset", bootstrap=100, seed=SEED)
    print(fits.summary(), "\n")

    # 3. Plan the budget from the pilot, each slice up to its pool.
    groups = tuple(
        GroupSpec(name=g, curve=fits[g].curve, cost=COSTS[g], weight=0.1, have=PILOT,
                  max=measured.pools[g])
        for g in fits.groups
    )  # fmt: skip
    plans = {}
    for utility in ("weighted", "maximin"):
        plans[utility] = plan(StudySpec(groups=groups, budget=BUDGET, utility=utility))
        print(plans[utility].summary(), "\n")

    # 4. Replay collection on the pool, from the same pilot, under both utilities.
    source = PoolSource.from_data(X, y, slices, estimator=model(), scoring="neg_log_loss",
                                  training="pooled", seed=SEED)
    replays = {}
    for utility in ("weighted", "maximin"):
        study = source.study(costs=COSTS, budget=BUDGET, utility=utility,
                             have=dict.fromkeys(COSTS, PILOT))
        replays[utility] = replay_collection(source, study, seed=SEED)
        print(f"{utility}:\n{replays[utility].summary()}\n")
    print(f"measured, fitted, planned and replayed in {time.perf_counter() - started:.1f} s")
    return {"measured": measured, "fits": fits, "plans": plans, "replays": replays,
            "source": source}


if __name__ == "__main__":
    main()
