"""PoolSource and the replay: collection on an existing pool never exceeds it, and is honest."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor

from allocate import Study, run_strategy
from allocate.errors import InputError
from allocate.pool_source import PoolSource, replay_collection
from allocate.water_filling import WaterFilling, water_filling_counts
from tests.allocate.measure_helpers import RECORD, RecordingRegressor, mean_data

SIGMAS = {"A": 1.0, "B": 3.0, "C": 2.0}


@pytest.fixture(scope="module")
def pool():
    X, y, labels = mean_data(SIGMAS, rows=200, seed=2)
    return X, y, labels


def source_of(pool, **options):
    X, y, labels = pool
    options = {"estimator": DummyRegressor(), "scoring": "neg_mean_squared_error"} | options
    return PoolSource.from_data(X, y, labels, test_size=60, seed=3, **options)


# --- water filling ---------------------------------------------------------------------------


def greedy_water_filling(totals, costs, budget, pools):
    """The definition, one sample at a time: the smallest group that has room and that the
    budget left can pay for gets the next sample (ties to the first listed)."""
    counts = [0] * len(totals)
    left = budget
    while True:
        open_ = [i for i in range(len(totals))
                 if totals[i] + counts[i] < pools[i] and costs[i] <= left + 1e-9]
        if not open_:
            return counts
        smallest = min(open_, key=lambda i: (totals[i] + counts[i], i))
        counts[smallest] += 1
        left -= costs[smallest]


@pytest.mark.parametrize("case", range(40))
def test_water_filling_matches_its_one_sample_at_a_time_definition(case):
    rng = np.random.default_rng(case)
    k = int(rng.integers(1, 6))
    totals = rng.integers(0, 30, size=k)
    costs = rng.choice([1.0, 1.5, 2.0, 3.0, 7.0], size=k)
    pools = totals + rng.integers(0, 40, size=k)
    budget = float(rng.uniform(0, 150))
    got = water_filling_counts(totals, costs, budget, pools)
    assert got.tolist() == greedy_water_filling(totals.tolist(), costs.tolist(), budget,
                                                pools.tolist())
    assert costs @ got <= budget + 1e-9 and np.all(totals + got <= pools)


def test_slice_tuners_published_water_filling_example():
    have = [int(np.floor(800 / np.sqrt(10 - i))) for i in range(10)]
    assert water_filling_counts(np.array(have), np.ones(10), 4000).tolist() == [
        550, 535, 519, 499, 475, 444, 401, 340, 236, 1
    ]  # fmt: skip


# --- the source ------------------------------------------------------------------------------


def test_the_source_never_hands_out_more_than_a_groups_pool(pool):
    source = source_of(pool)
    assert source.pools() == {"A": 140, "B": 140, "C": 140}
    with pytest.raises(InputError, match="group B can supply at most 140 .*; asked for 141"):
        source.measure({"A": 10, "B": 141}, seed=0)
    with pytest.raises(InputError, match="no group"):
        source.measure({"D": 10}, seed=0)


def test_collecting_more_draws_the_next_samples_and_never_trains_on_test_rows(pool):
    RECORD.clear()
    X, y, labels = pool
    group_of = dict(enumerate(labels))
    source = PoolSource.from_data(X, y, labels, estimator=RecordingRegressor(),
                                  scoring="neg_mean_squared_error", test_size=60,
                                  fractions=(0.5, 1.0))
    source.measure({"A": 40, "B": 20}, seed=0)
    source.measure({"A": 80, "B": 20}, seed=1)  # B's sets are remembered, not retrained
    source.final.with_fractions((1.0,)).measure({"A": 80}, seed=2)
    trained_a = sorted((t for t, s, _ in RECORD if group_of[next(iter(s))] == "A"), key=len)
    assert [len(t) for t in trained_a] == [20, 40, 80, 80]
    assert trained_a[0] <= trained_a[1] <= trained_a[2] == trained_a[3]
    measured = {frozenset(s) for t, s, _ in RECORD[:-1]}
    reported = RECORD[-1][1]
    for trained, scored, _ in RECORD:
        assert not trained & scored
        assert {group_of[i] for i in trained | scored} in ({"A"}, {"B"})
    assert all(not s & reported for s in measured)  # final scores on rows never measured
    assert len(RECORD) == 6  # A 20, 40, 80; B 10, 20; A 80 on the final rows: none twice


def test_the_same_totals_give_the_same_values(pool):
    source = source_of(pool)
    first = source.measure({"A": 100, "C": 50}, seed=0)
    again = source_of(pool).measure({"A": 100, "C": 50}, seed=0)
    assert first.equals(again)
    assert first["value"].gt(0).all() and set(first["group"]) == {"A", "C"}


@pytest.mark.parametrize("training", ["own", "pooled"])
def test_the_replayed_studys_final_allocation_never_exceeds_a_pool(pool, training):
    source = source_of(pool, training=training)
    costs = {"A": 1.0, "B": 2.0, "C": 1.0}
    # The budget buys more than every pool holds: every strategy must stop at the pools.
    study = source.study(costs=costs, budget=1000.0, utility="maximin")
    result = replay_collection(source, study, seed=4)
    pools = source.pools()
    for name, trajectory in result.trajectories.items():
        assert np.all(trajectory.final_totals <= [pools[g] for g in costs]), name
        assert trajectory.spent <= 1000.0 + 1e-9
    assert (result.table["total"] <= result.table["group"].map(pools)).all()
    assert set(result.table["strategy"]) == {"adaptive", "equal", "proportional",
                                              "water-filling", "oracle"}
    # Maximin's objective is the worst group's value; regret is the oracle's objective less it.
    table = result.table
    for name, rows in table.groupby("strategy"):
        worst = rows["value"].min() if result.sense == "score" else rows["value"].max()
        assert (rows["objective"] == worst).all(), name
    best = table.loc[table["strategy"] == "oracle", "objective"].iloc[0]
    better = 1.0 if result.sense == "score" else -1.0
    np.testing.assert_allclose(table["regret"], better * (best - table["objective"]))


def test_a_tight_budget_is_spent_as_each_baseline_defines(pool):
    source = source_of(pool)
    costs = {"A": 1.0, "B": 2.0, "C": 1.0}
    study = source.study(costs=costs, budget=200.0, utility="weighted",
                         have={"A": 40, "B": 10, "C": 20})
    result = replay_collection(source, study, strategies=("water-filling", "equal"), seed=0)
    totals = result.table.set_index(["strategy", "group"])["total"]
    expected = np.array([40, 10, 20]) + water_filling_counts(
        np.array([40, 10, 20]), np.array([1.0, 2.0, 1.0]), 200.0, np.array([140] * 3))
    assert [totals["water-filling", g] for g in "ABC"] == expected.tolist()
    assert result.table["spent"].max() <= 200.0


def test_oracle_curves_come_from_the_whole_pool_on_held_out_rows():
    X, y, labels = mean_data(SIGMAS, rows=1200, seed=5)
    source = PoolSource.from_data(X, y, labels, estimator=DummyRegressor(),
                                  scoring="neg_mean_squared_error", test_size=400, seed=1)
    curves = source.true_curves
    assert set(curves) == set(SIGMAS)
    # A training-mean model's loss at the whole pool (800) is sigma^2 (1 + 1/800), measured on
    # 200 held-out rows (a relative sampling error of about 10%).
    for group, sigma in SIGMAS.items():
        assert float(curves[group].loss(800)) == pytest.approx(sigma**2, rel=0.25)
        assert curves[group].sense == "loss"
    at_pool = {g: float(c.loss(800)) for g, c in curves.items()}
    assert at_pool["B"] > at_pool["C"] > at_pool["A"]


def test_a_persisted_study_runs_on_the_pool(pool, tmp_path):
    source = source_of(pool)
    spec = source.study(costs={"A": 1.0, "B": 2.0, "C": 1.0}, budget=300.0, utility="maximin")
    study = Study.create(tmp_path / "study.sqlite", spec, strategy="adaptive", seed=1)
    totals = dict.fromkeys(source.pools(), 0)
    for _ in range(30):
        batch = study.ask()
        if batch.finished:
            break
        totals = {g: totals[g] + batch.counts[g] for g in totals}
        study.tell(batch.counts, source.measure(totals, seed=batch.number))
    assert batch.finished
    state = study.state()
    assert np.all(state.totals <= 140) and state.spent <= 300.0 + 1e-9
    memory = run_strategy("adaptive", source, spec, seed=1)
    assert memory.spent == pytest.approx(state.spent, abs=2.0)


def test_run_strategy_takes_the_water_filling_baseline(pool):
    source = source_of(pool)
    spec = source.study(costs={"A": 1.0, "B": 1.0, "C": 1.0}, budget=90.0)
    trajectory = run_strategy(WaterFilling(), source.with_fractions((1.0,)), spec)
    assert trajectory.final_totals.tolist() == [30, 30, 30]


def test_a_study_beyond_the_pool_and_bad_costs_are_refused(pool):
    from dataclasses import replace

    source = source_of(pool)
    spec = source.study(costs={"A": 1.0, "B": 1.0, "C": 1.0}, budget=90.0)
    wide = replace(spec, groups=tuple(replace(g, max=500) for g in spec.groups))
    with pytest.raises(InputError, match="may grow to 500 .* pool holds 140"):
        replay_collection(source, wide)
    with pytest.raises(InputError, match="missing: C"):
        source.study(costs={"A": 1.0, "B": 1.0}, budget=90.0)
