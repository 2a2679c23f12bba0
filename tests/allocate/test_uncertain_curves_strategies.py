"""The strategies that plan on curve draws: in memory, through ask/tell, and in the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocate.cli import main
from allocate.curves import Curve
from allocate.errors import InputError
from allocate.sequential import StudyState, run_strategy
from allocate.sources import SyntheticSource
from allocate.strategies import Adaptive, make_strategy
from allocate.study_file import GroupSpec, StudySpec
from allocate.study_store import Study
from allocate.uncertain_curves import Cautious, Expected

TRUTH = {
    "CEU": Curve(a=2.0, b=0.5, c=0.05),
    "YRI": Curve(a=5.0, b=0.35, c=0.1),
    "CHB": Curve(a=3.0, b=0.45, c=0.07),
}


def make_study(utility="maximin", budget=3000.0, **extra) -> StudySpec:
    groups = tuple(
        GroupSpec(name=n, curve=Curve(a=1.0, b=0.5), cost=c, weight=w, **extra.get(n, {}))
        for n, c, w in zip(TRUTH, (1.0, 2.0, 1.5), (0.6, 0.2, 0.2), strict=True)
    )
    return StudySpec(groups=groups, budget=budget, utility=utility)


def state_after_pilot(seed=0) -> StudyState:
    study = make_study()
    state = StudyState.start(study)
    source = SyntheticSource(TRUTH, noise=0.05, replicates=2)
    counts = np.array([60, 60, 60])
    measured = source.measure(dict(zip(state.names, counts.tolist(), strict=True)), seed=seed)
    return state.after(counts, measured)


@pytest.mark.parametrize("name", ["expected", "cautious"])
def test_every_draw_strategy_spends_within_budget_and_pools(name):
    study = make_study(**{"YRI": {"max": 900, "have": 30}})
    trajectory = run_strategy(name, SyntheticSource(TRUTH, noise=0.03), study, seed=2)
    assert 3000.0 - 4.5 <= trajectory.spent <= 3000.0 + 1e-9
    assert trajectory.final_totals[1] <= 900
    notes = set(trajectory.rounds["note"])
    assert notes == {"pilot: every group up to 66 samples", name}


@pytest.mark.parametrize("name", ["expected", "cautious"])
def test_same_seed_same_numbers(name):
    study, source = make_study(), SyntheticSource(TRUTH, noise=0.05)
    first = run_strategy(name, source, study, seed=5)
    again = run_strategy(name, source, study, seed=5)
    pd.testing.assert_frame_equal(first.rounds, again.rounds)
    pd.testing.assert_frame_equal(first.measurements, again.measurements)


def test_without_draws_expected_proposes_what_adaptive_proposes():
    state = state_after_pilot()
    plain = Adaptive().propose(state, rng=np.random.default_rng(1))
    drawn = Expected(draws=0).propose(state, rng=np.random.default_rng(1))
    assert drawn.counts.tolist() == plain.counts.tolist()
    assert drawn.target_totals.tolist() == plain.target_totals.tolist()


def test_draws_come_from_the_rng_and_enter_the_plan():
    state = state_after_pilot()
    one = Expected(draws=40).propose(state, rng=np.random.default_rng(1))
    same = Expected(draws=40).propose(state, rng=np.random.default_rng(1))
    assert one.counts.tolist() == same.counts.tolist()
    assert all(len(fit.bootstrap_samples) == 40 for fit in one.fits)
    plain = Adaptive().propose(state, rng=np.random.default_rng(1))
    assert one.target_totals.tolist() != plain.target_totals.tolist()


def test_settings_round_trip_and_bad_settings_are_refused():
    strategy = make_strategy("cautious", draws=30, level=0.8, batch=0.5)
    assert isinstance(strategy, Cautious)
    assert make_strategy("cautious", **strategy.settings()) == strategy
    for draws in (-1, 5, 2.5):
        with pytest.raises(InputError, match="draws must be 0 .* refits >= 20"):
            Expected(draws=draws)
    with pytest.raises(InputError, match="family must be power or power-offset"):
        Expected(family="transfer")
    with pytest.raises(InputError, match="anchor is a setting of the adaptive strategy"):
        Cautious(anchor=True)
    with pytest.raises(InputError, match="level must be between 0 and 1"):
        Cautious(level=1.5)


def run_persisted(path, study: StudySpec, name: str) -> list[list[int]]:
    """Ask and tell until the study is finished; the batches asked for."""
    source = SyntheticSource(TRUTH, noise=0.03)
    stored = Study.create(path, study, strategy=name, seed=4, draws=30)
    asked = []
    for round_number in range(40):
        batch = stored.ask()
        if batch.finished:
            break
        asked.append(list(batch.counts.values()))
        totals = stored.state().totals + np.array(asked[-1])
        measured = source.measure(dict(zip(study.names, totals.tolist(), strict=True)),
                                  seed=round_number)
        stored.tell(batch.counts, measured)
    return asked


@pytest.mark.parametrize("name", ["expected", "cautious"])
def test_a_persisted_study_runs_the_strategy_by_ask_and_tell(tmp_path, name):
    study = make_study(budget=1500.0)
    asked = run_persisted(tmp_path / "study.sqlite", study, name)
    reopened = Study.load(tmp_path / "study.sqlite")
    assert reopened.strategy_name == name and reopened.strategy_settings["draws"] == 30
    assert 1500.0 - 4.5 <= reopened.state().spent <= 1500.0
    assert len(asked) >= 3  # the pilot, then batches planned on the draws
    # the same seed and the same measurements ask for the same batches
    assert run_persisted(tmp_path / "again.sqlite", study, name) == asked


def test_the_study_command_accepts_the_strategies(tmp_path, capsys):
    study_file = tmp_path / "study.toml"
    study_file.write_text(
        'budget = 600.0\nutility = "maximin"\n'
        '[[groups]]\nname = "A"\ncost = 1.0\n[[groups]]\nname = "B"\ncost = 2.0\n'
    )
    code = main(["study", "init", str(study_file), "--db", str(tmp_path / "s.sqlite"),
                 "--strategy", "cautious"])  # fmt: skip
    assert code in (0, None)
    assert "(cautious strategy" in " ".join(capsys.readouterr().out.split())
    stored = Study.load(tmp_path / "s.sqlite")
    assert stored.strategy_name == "cautious"
    assert stored.strategy_settings["level"] == 0.9 and stored.strategy_settings["draws"] == 100
