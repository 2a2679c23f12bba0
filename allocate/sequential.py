"""Sequential collection in memory: run a strategy against a data source, round by round.

``run_strategy`` is the adaptive loop of docs/method.md without a database: ask the
strategy for a batch, "collect" it by asking the source for measurements at the new sizes,
record, repeat until the budget is spent. The persisted study (:mod:`allocate.study_store`)
runs the same strategies one round per ask/tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from allocate.errors import InputError
from allocate.sources import Source
from allocate.strategies import STRATEGIES, Proposal, Strategy, StudyState, make_strategy
from allocate.study_file import StudySpec

__all__ = [
    "StudyState",
    "Proposal",
    "Strategy",
    "STRATEGIES",
    "make_strategy",
    "run_strategy",
    "Trajectory",
    "evaluate_totals",
]


@dataclass(frozen=True)
class Trajectory:
    """The record of one run of a strategy.

    Attributes
    ----------
    strategy : str
        The strategy's name.
    rounds : pandas.DataFrame
        One row per round and group: ``round, group, collect, total, spent, note``.
    measurements : pandas.DataFrame
        Every measurement the source returned.
    final_totals : numpy.ndarray
        Samples per group at the end (in hand before plus collected).
    spent : float
        Budget spent.
    true_losses : numpy.ndarray or None
        Each group's loss under the source's true curves at the final totals.
    true_objective : float or None
        The study's utility under the true curves, in the loss sense (lower is better).
    """

    strategy: str
    rounds: pd.DataFrame
    measurements: pd.DataFrame
    final_totals: np.ndarray
    spent: float
    true_losses: np.ndarray | None = field(default=None, repr=False)
    true_objective: float | None = None

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "final_totals": self.final_totals.tolist(),
            "spent": self.spent,
            "true_objective": self.true_objective,
            "rounds": int(self.rounds["round"].max() + 1) if len(self.rounds) else 0,
        }


def run_strategy(
    strategy: Strategy | str,
    source: Source,
    study: StudySpec,
    *,
    budget: float | None = None,
    seed: int = 0,
    max_rounds: int = 100,
) -> Trajectory:
    """Run ``strategy`` against ``source`` until the budget is spent.

    Parameters
    ----------
    strategy : Strategy or str
        A strategy object, or a name for :func:`make_strategy` with default settings. The name
        ``"oracle"`` uses the source's ``true_curves``.
    source : Source
        Returns measurements at given per-group totals (e.g. :class:`SyntheticSource`).
    study : StudySpec
        Groups (their curves only give each group's sense; the adaptive strategies fit their
        own), costs, bounds and utility.
    budget : float, optional
        Override the study's budget.
    seed : int
        Seeds the source's noise and the strategy's random choices, round by round.
    max_rounds : int
        A safety stop.

    Returns
    -------
    Trajectory
    """
    if budget is not None:
        study = replace(study, budget=float(budget))
    if isinstance(strategy, str):
        strategy = _named_strategy(strategy, source)
    seeds = np.random.SeedSequence(seed)
    state = StudyState.start(study)
    names = state.names
    if np.any(state.totals > 0):  # what is already in hand can be measured before round 0
        have = {g: int(n) for g, n in zip(names, state.totals, strict=True) if n > 0}
        state = replace(state, measurements=source.measure(have, seed=_round_seed(seeds, 0)))
    rows = []
    for round_number in range(max_rounds):
        rng = np.random.default_rng(seeds.spawn(1)[0])
        proposal = strategy.propose(state, rng=rng)
        if proposal.finished:
            break
        _check_proposal(proposal, state)
        totals = state.totals + proposal.counts
        measured = source.measure(
            dict(zip(names, map(int, totals), strict=True)),
            seed=_round_seed(seeds, round_number + 1),
        )
        state = state.after(proposal.counts, measured)
        rows += [
            (round_number, g, int(x), int(n), state.spent, proposal.note)
            for g, x, n in zip(names, proposal.counts, totals, strict=True)
        ]
    rounds = pd.DataFrame(rows, columns=["round", "group", "collect", "total", "spent", "note"])
    true_losses, true_objective = _truth(source, study, state.totals)
    return Trajectory(
        strategy=strategy.name,
        rounds=rounds,
        measurements=state.measurements,
        final_totals=state.totals.copy(),
        spent=state.spent,
        true_losses=true_losses,
        true_objective=true_objective,
    )


def evaluate_totals(study: StudySpec, totals: np.ndarray) -> tuple[np.ndarray, float]:
    """Each group's loss and the study's objective (loss sense) at ``totals`` under its curves."""
    from allocate.optimise import AllocationProblem

    problem = AllocationProblem.from_study(study, budget=study.budget)
    totals = np.asarray(totals, dtype=float)
    return problem.losses(totals), problem.aggregate(problem.losses(totals))


def _named_strategy(name: str, source: Source) -> Strategy:
    if name != "oracle":
        return make_strategy(name)
    curves = getattr(source, "true_curves", None)
    if not curves:
        raise InputError("the oracle strategy needs a source that knows its true curves")
    return make_strategy("oracle", curves=curves)


def _round_seed(seeds: np.random.SeedSequence, round_number: int) -> int:
    child = np.random.SeedSequence(seeds.entropy, spawn_key=(round_number, 7))
    return int(child.generate_state(1)[0])


def _check_proposal(proposal: Proposal, state: StudyState) -> None:
    counts = proposal.counts
    if np.any(counts < 0) or state.costs @ counts > state.remaining + 1e-6:
        raise RuntimeError(f"strategy proposed an infeasible batch {counts.tolist()}")
    if np.any(state.totals + counts > state.pools):
        raise RuntimeError(f"strategy proposed a batch beyond a pool {counts.tolist()}")


def _truth(source: Source, study: StudySpec, totals: np.ndarray):
    curves = getattr(source, "true_curves", None)
    if not curves:
        return None, None
    groups = tuple(
        replace(g, curve=replace(curves[g.name], sense=g.curve.sense, score_max=g.curve.score_max))
        for g in study.groups
    )
    return evaluate_totals(replace(study, groups=groups), totals)
