"""Strategies and the in-memory adaptive loop, on synthetic sources with known curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from allocate.curves import Curve
from allocate.errors import InputError
from allocate.sequential import StudyState, run_strategy
from allocate.sources import SyntheticSource, random_synthetic_study
from allocate.strategies import (
    Adaptive,
    affordable_counts,
    anchor_curve,
    damp,
    equal_counts,
    make_strategy,
)
from allocate.study_file import GroupSpec, StudySpec


def make_study(
    costs=(1.0, 2.0, 1.5), weights=(0.6, 0.2, 0.2), budget=3000.0, utility="maximin", **extra
):
    names = ["CEU", "YRI", "CHB"][: len(costs)]
    groups = tuple(
        GroupSpec(name=n, curve=Curve(a=1.0, b=0.5), cost=c, weight=w, **extra.get(n, {}))
        for n, c, w in zip(names, costs, weights, strict=True)
    )
    return StudySpec(groups=groups, budget=budget, utility=utility)


TRUTH = {
    "CEU": Curve(a=2.0, b=0.5, c=0.05),
    "YRI": Curve(a=5.0, b=0.35, c=0.1),
    "CHB": Curve(a=3.0, b=0.45, c=0.07),
}


def test_damping_reproduces_slice_tuners_example():
    assert damp(np.array([10, 10]), np.array([10, 40]), 1.0).tolist() == [5, 20]


def test_damping_leaves_a_batch_that_keeps_the_ratio_alone():
    assert damp(np.array([10, 20]), np.array([10, 20]), 0.5).tolist() == [10, 20]


def test_affordable_counts_respect_budget_and_pools():
    study = make_study(**{"YRI": {"max": 50}})
    state = StudyState.start(study)
    counts = affordable_counts(state, np.array([100.0, 100.0, 100.0]), 200.0)
    assert state.costs @ counts <= 200.0
    assert counts[1] <= 50
    assert equal_counts(state, 90.0).tolist() == [20, 20, 20]


@pytest.mark.parametrize(
    "name", ["adaptive", "optimistic", "equal", "proportional", "worst-group", "oracle"]
)
def test_every_strategy_spends_within_budget_and_pools(name):
    study = make_study(**{"YRI": {"max": 900, "have": 30}})
    trajectory = run_strategy(name, SyntheticSource(TRUTH, noise=0.03), study, seed=2)
    assert trajectory.spent <= 3000.0 + 1e-9
    assert trajectory.spent >= 3000.0 - 4.5  # at most one sample of each group is left unspent
    assert trajectory.final_totals[1] <= 900
    assert np.all(trajectory.final_totals >= np.array([0, 30, 0]))


def test_same_seed_same_trajectory_and_another_seed_differs():
    study, source = make_study(), SyntheticSource(TRUTH, noise=0.05)
    first = run_strategy("adaptive", source, study, seed=5)
    again = run_strategy("adaptive", source, study, seed=5)
    other = run_strategy("adaptive", source, study, seed=6)
    pd.testing.assert_frame_equal(first.rounds, again.rounds)
    assert first.final_totals.tolist() == again.final_totals.tolist()
    assert not first.measurements["value"].equals(other.measurements["value"])


def test_adaptive_starts_with_a_pilot_then_plans():
    trajectory = run_strategy(Adaptive(pilot=20), SyntheticSource(TRUTH), make_study(), seed=1)
    notes = trajectory.rounds.drop_duplicates("round")["note"].tolist()
    assert notes[0].startswith("pilot") and set(notes[1:]) == {"adaptive"}
    first = trajectory.rounds[trajectory.rounds["round"] == 0]
    assert first["collect"].tolist() == [20, 20, 20]


def test_adaptive_with_noiseless_curves_lands_near_the_oracle():
    source, study = SyntheticSource(TRUTH, noise=0.0), make_study()
    oracle = run_strategy("oracle", source, study, seed=0)
    adaptive = run_strategy("adaptive", source, study, seed=0)
    assert adaptive.true_objective <= oracle.true_objective * 1.01


@pytest.mark.parametrize(
    ("curve", "value", "n_total"),
    [
        (Curve(a=2.0, b=0.5, c=0.05), 0.4, None),  # worse than fitted: c rises
        (Curve(a=2.0, b=0.5, c=0.05), 0.2, None),  # a little better: c falls, stays >= 0
        (Curve(a=2.0, b=0.5, c=0.05), 0.1, None),  # much better: c = 0, a shrinks
        (Curve(a=2.0, b=0.5, c=0.3, t=1.0, q=0.5), 0.6, 400.0),  # with a pooled term
        (Curve(a=0.1, b=0.5, sense="score", score_max=1.0), 0.9, None),  # a score
    ],
)
def test_an_anchored_curve_passes_through_the_measurement_and_keeps_its_exponent(
    curve, value, n_total
):
    anchored = anchor_curve(curve, 100, value, n_total)
    assert anchored.predict(100, n_total) == pytest.approx(value, abs=1e-12)
    assert anchored.c >= 0 and (anchored.b, anchored.t, anchored.q) == (curve.b, curve.t, curve.q)
    if anchored.a == curve.a:  # only c moved: every further sample gains what the fit says
        gain = curve.loss(100, n_total) - curve.loss(400, n_total)
        assert anchored.loss(100, n_total) - anchored.loss(400, n_total) == pytest.approx(gain)


def test_a_measurement_no_curve_of_the_shape_reaches_leaves_the_curve():
    curve = Curve(a=2.0, b=0.5, c=0.05, t=1.0, q=0.5)  # the pooled term alone is 0.05 at 400
    assert anchor_curve(curve, 100, 0.01, 400.0) == curve


def test_anchored_adaptive_plans_on_curves_through_the_latest_measurements():
    source, study = SyntheticSource(TRUTH, noise=0.05), make_study(budget=1500.0)
    strategy = Adaptive(pilot=40, anchor=True)
    state = StudyState.start(study)
    for seed, counts in enumerate(([40, 40, 40], [60, 30, 50])):
        batch = np.array(counts)
        totals = state.totals + batch
        measured = source.measure(dict(zip(state.names, totals.tolist(), strict=True)), seed=seed)
        state = state.after(batch, measured)
    curves = strategy.planning_curves(strategy._fit(state), state)
    for curve, name, total in zip(curves, state.names, state.totals, strict=True):
        rows = state.measurements[(state.measurements.group == name)
                                  & (state.measurements.n == total)]  # fmt: skip
        assert curve.predict(total) == pytest.approx(rows["value"].mean(), abs=1e-9)
    unanchored = Adaptive(pilot=40).planning_curves(strategy._fit(state), state)
    assert curves != unanchored and strategy.settings()["anchor"] is True


def test_a_schedule_sets_each_rounds_budget():
    strategy = Adaptive(batch=(0.2, 0.3), pilot=10)
    trajectory = run_strategy(strategy, SyntheticSource(TRUTH), make_study(budget=1000.0), seed=0)
    spent = trajectory.rounds.drop_duplicates("round")["spent"].to_numpy()
    assert spent[0] == pytest.approx(45.0)  # the pilot: 10 of each group at 1 + 2 + 1.5
    assert spent[1] - spent[0] == pytest.approx(200.0, abs=2.0)
    assert spent[2] - spent[1] == pytest.approx(300.0, abs=2.0)
    assert len(spent) == 4 and spent[-1] == pytest.approx(1000.0, abs=2.0)


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("greedy", {}, "unknown strategy 'greedy'"),
        ("adaptive", {"batch": 1.5}, "batch must be a fraction"),
        ("adaptive", {"batch": (0.6, 0.6)}, "summing to at most 1"),
        ("adaptive", {"pilot": 0}, "pilot must be a whole number"),
        ("adaptive", {"damping": -1.0}, "damping must be a positive"),
        ("optimistic", {"anchor": True}, "anchor is a setting of the adaptive strategy"),
        ("equal", {"batch": 0.5}, "takes no settings"),
    ],
)
def test_bad_strategy_settings_are_refused(name, settings, message):
    with pytest.raises(InputError, match=message):
        make_strategy(name, **settings)


def regrets(utility: str, replicates: int) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {s: [] for s in ("adaptive", "equal", "proportional")}
    for seed in range(replicates):
        study, source = random_synthetic_study(seed, utility=utility)
        best = run_strategy("oracle", source, study, seed=seed).true_objective
        for name in out:
            out[name].append(run_strategy(name, source, study, seed=seed).true_objective - best)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.slow
@pytest.mark.parametrize("utility", ["maximin", "weighted"])
def test_adaptive_has_less_regret_than_equal_and_proportional(utility):
    result = regrets(utility, replicates=12)
    for baseline in ("equal", "proportional"):
        difference = result[baseline] - result["adaptive"]
        assert difference.mean() > 0
        assert stats.wilcoxon(difference, alternative="greater").pvalue < 0.05


def test_unreachable_targets_do_not_stop_an_adaptive_study():
    # YRI's true asymptote is 0.1: a target of 0.05 can never be met, whatever is collected.
    study = make_study(**{"YRI": {"target": 0.05}})
    trajectory = run_strategy("adaptive", SyntheticSource(TRUTH, noise=0.02), study, seed=3)
    notes = set(trajectory.rounds["note"])
    assert any("targets out of reach so far" in note for note in notes)
    assert trajectory.spent >= 3000.0 - 4.5


def test_a_trajectory_is_a_record_that_prints_and_cannot_be_changed():
    study = make_study(budget=300.0)
    trajectory = run_strategy("equal", SyntheticSource(TRUTH, noise=0.0), study, seed=0)
    # equal: the same new samples from each group, 300 / (1 + 2 + 1.5) = 66 each (297 spent)
    assert trajectory.final_totals.tolist() == [66, 66, 66] and trajectory.spent == 297.0
    with pytest.raises(ValueError, match="read-only"):
        trajectory.final_totals[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        trajectory.true_losses[0] = 1.0
    with pytest.raises(AttributeError):
        trajectory.spent = 0.0
    losses = [TRUTH[g].loss(66.0) for g in ("CEU", "YRI", "CHB")]
    assert trajectory.true_losses.tolist() == pytest.approx(losses, rel=1e-12)
    frame = trajectory.to_frame()
    assert frame.index.tolist() == ["CEU", "YRI", "CHB"]
    assert frame["final_total"].tolist() == [66, 66, 66]
    summary = trajectory.summary()
    assert summary.splitlines()[0] == "equal strategy: 1 round(s), spent 297"
    assert f"true objective (loss sense, lower is better): {max(losses):.6g}" in summary
    assert "YRI" in summary and f"{losses[1]:.4g}" in summary
    assert trajectory.to_dict()["groups"] == ["CEU", "YRI", "CHB"]


def test_a_trajectory_keeps_its_own_copies_of_what_it_was_given():
    from allocate.sequential import Trajectory

    rounds = pd.DataFrame({"round": [0], "group": ["A"], "collect": [5], "total": [5],
                           "spent": [5.0], "note": ["x"]})
    totals = np.array([5])
    trajectory = Trajectory(strategy="x", rounds=rounds, measurements=pd.DataFrame(),
                            final_totals=totals, spent=5.0, groups=("A",))
    rounds.loc[0, "collect"] = 99
    totals[0] = 99
    assert trajectory.rounds["collect"].tolist() == [5]
    assert trajectory.final_totals.tolist() == [5]


def test_run_strategy_refuses_a_source_that_measures_more_samples_than_exist():
    class Overcounting:
        true_curves = TRUTH

        def measure(self, totals, *, seed):
            return pd.DataFrame({"group": ["CEU"], "n": [float(totals["CEU"] + 1)],
                                 "value": [0.3], "seed": [seed]})

    with pytest.raises(InputError, match="CEU is measured at n = 67, but only 66 of its"):
        run_strategy("equal", Overcounting(), make_study(budget=300.0), seed=0)
