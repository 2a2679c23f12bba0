"""Sequential collection in memory: run a strategy against a data source, round by round.

``run_strategy`` is the adaptive loop as a simulation: a study kept in memory
(:class:`allocate.study.Study` over :class:`~allocate.study_storage.InMemoryStorage`) is asked
for a batch, the source "collects" it by measuring at the new sizes, the study is told, and so
on until the strategy has nothing more to collect. It is the same ask and tell a persisted
study runs one round at a time, so both drivers share the seeding rule, the checks of every
proposal and the checks of every measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from allocate.errors import InputError
from allocate.sources import Source
from allocate.strategies import STRATEGIES, Proposal, Strategy, StudyState, make_strategy
from allocate.study_checks import checked_seed
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
    "measured_objective",
]


@dataclass(frozen=True)
class Trajectory:
    """The record of one run of a strategy.

    The tables and arrays are the trajectory's own copies (the arrays read-only), so the
    record cannot be changed through what was passed in or what its attributes return.

    Attributes
    ----------
    strategy : str
        The strategy's name.
    rounds : pandas.DataFrame
        One row per round and group: ``round, group, collect, total, spent, note``.
    measurements : pandas.DataFrame
        Every measurement the source returned: ``group, n, n_total, value, seed``.
    final_totals : numpy.ndarray
        Samples per group at the end (in hand before plus collected), in study order.
    spent : float
        Budget spent.
    true_losses : numpy.ndarray or None
        Each group's loss under the source's true curves at the final totals.
    true_objective : float or None
        The study's utility under the true curves, in the loss sense (lower is better).
    groups : tuple of str
        The group names, in the order of ``final_totals``.
    """

    strategy: str
    rounds: pd.DataFrame
    measurements: pd.DataFrame
    final_totals: np.ndarray
    spent: float
    true_losses: np.ndarray | None = field(default=None, repr=False)
    true_objective: float | None = None
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounds", self.rounds.copy())
        object.__setattr__(self, "measurements", self.measurements.copy())
        object.__setattr__(self, "final_totals", _read_only(self.final_totals))
        if self.true_losses is not None:
            object.__setattr__(self, "true_losses", _read_only(self.true_losses))
        object.__setattr__(self, "groups", tuple(self.groups))

    @property
    def n_rounds(self) -> int:
        """Batches collected."""
        return int(self.rounds["round"].max() + 1) if len(self.rounds) else 0

    def to_dict(self) -> dict:
        """Plain-data form (JSON-ready): the totals, spending and the score under the truth."""
        return {
            "strategy": self.strategy,
            "groups": list(self.groups),
            "final_totals": self.final_totals.tolist(),
            "spent": self.spent,
            "true_objective": self.true_objective,
            "rounds": self.n_rounds,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per group: the final total and, when the truth is known, its true loss."""
        frame = pd.DataFrame({"group": list(self.groups) or range(len(self.final_totals)),
                              "final_total": self.final_totals})
        if self.true_losses is not None:
            frame["true_loss"] = self.true_losses
        return frame.set_index("group")

    def summary(self) -> str:
        """A plain-text report for a person: rounds, spending, and where each group ended."""
        lines = [f"{self.strategy} strategy: {self.n_rounds} round(s), spent {self.spent:.6g}"]
        if self.true_objective is not None:
            lines.append(f"true objective (loss sense, lower is better):"
                         f" {self.true_objective:.6g}")
        frame = self.to_frame()
        header = f"{'group':<16}{'final total':>12}"
        lines.append(header + (f"{'true loss':>12}" if "true_loss" in frame else ""))
        for group, row in frame.iterrows():
            line = f"{str(group)[:15]:<16}{int(row['final_total']):>12}"
            if "true_loss" in frame:
                line += f"{row['true_loss']:>12.4g}"
            lines.append(line)
        return "\n".join(lines)


def run_strategy(
    strategy: Strategy | str,
    source: Source,
    study: StudySpec,
    *,
    budget: float | None = None,
    seed: int = 0,
    max_rounds: int = 100,
) -> Trajectory:
    """Run ``strategy`` against ``source`` until it has nothing more to collect.

    Each round asks an in-memory :class:`~allocate.study.Study` for a batch, measures the
    source at the new totals and tells the study, so the rules are those of a persisted
    study: the strategy's random numbers for batch ``k`` come from
    ``SeedSequence(seed, spawn_key=(k,))``, every proposal is checked against the budget and
    the pools, and every measurement is checked against the samples in hand.

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
        Seeds the source's noise and the strategy's random choices, batch by batch.
    max_rounds : int
        A safety stop.

    Returns
    -------
    Trajectory

    Raises
    ------
    InputError
        A bad seed or strategy, or a source whose measurements the study refuses.

    Examples
    --------
    >>> from allocate.curves import Curve
    >>> from allocate.sources import SyntheticSource
    >>> from allocate.study_file import GroupSpec, StudySpec
    >>> study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=0.5)),
    ...                           GroupSpec("B", Curve(a=1.0, b=0.5), cost=2.0)), budget=90.0)
    >>> truth = {"A": Curve(a=1.0, b=0.5), "B": Curve(a=3.0, b=0.5)}
    >>> run_strategy("equal", SyntheticSource(truth), study, seed=1).final_totals.tolist()
    [30, 30]
    """
    from allocate.study import Study

    if budget is not None:
        study = replace(study, budget=float(budget))
    seed = checked_seed(seed)
    if isinstance(strategy, str):
        strategy = _named_strategy(strategy, source)
    names = list(study.names)
    have = {g.name: int(g.have) for g in study.groups if g.have > 0}
    in_hand = source.measure(have, seed=_measurement_seed(seed, 0)) if have else None
    memory = Study.create(None, study, strategy=strategy, seed=seed, measurements=in_hand)
    rows = []
    for round_number in range(max_rounds):
        batch = memory.ask()
        if batch.finished:
            break
        totals = memory.state().totals + np.array([batch.counts[g] for g in names])
        measured = source.measure(dict(zip(names, map(int, totals), strict=True)),
                                  seed=_measurement_seed(seed, batch.number))
        memory.tell(batch.counts, measured)
        spent = memory.state().spent
        rows += [(round_number, g, int(batch.counts[g]), int(n), spent, batch.note)
                 for g, n in zip(names, totals, strict=True)]
    state = memory.state()
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
        groups=tuple(names),
    )


def evaluate_totals(study: StudySpec, totals: np.ndarray) -> tuple[np.ndarray, float]:
    """Each group's loss and the study's objective (loss sense) at ``totals`` under its curves."""
    from allocate.optimise import AllocationProblem

    problem = AllocationProblem.from_study(study, budget=study.budget)
    totals = np.asarray(totals, dtype=float)
    return problem.losses(totals), problem.aggregate(problem.losses(totals))


def measured_objective(study: StudySpec, values: dict[str, float]) -> float:
    """The study's utility of measured per-group ``values``, in the metric's own sense.

    Parameters
    ----------
    study : StudySpec
        Its utility, weights and curves' sense (each value is read through its group's curve).
    values : dict of str to float
        Each group's measured metric (a score or a loss, as its curve says).

    Returns
    -------
    float
        The objective a plan reports, computed from the measurements instead of the curves.

    Examples
    --------
    >>> from allocate import Curve, GroupSpec, StudySpec
    >>> study = StudySpec(groups=(GroupSpec("A", Curve(a=1.0, b=0.5)),
    ...                           GroupSpec("B", Curve(a=2.0, b=0.5))), budget=10.0,
    ...                   utility="maximin")
    >>> measured_objective(study, {"A": 0.25, "B": 0.5})
    0.5
    """
    from allocate.optimise import AllocationProblem
    from allocate.planning import metric_objective

    problem = AllocationProblem.from_study(study, budget=study.budget)
    losses = np.array([float(g.curve.from_metric(values[g.name])) for g in study.groups])
    return float(metric_objective(problem, problem.aggregate(losses)))


def _named_strategy(name: str, source: Source) -> Strategy:
    if name != "oracle":
        return make_strategy(name)
    curves = getattr(source, "true_curves", None)
    if not curves:
        raise InputError("the oracle strategy needs a source that knows its true curves")
    return make_strategy("oracle", curves=curves)


def _measurement_seed(seed: int, number: int) -> int:
    """The source's seed for batch ``number`` (0: the samples in hand), from the run's seed."""
    child = np.random.SeedSequence(seed, spawn_key=(number, 7))
    return int(child.generate_state(1)[0])


def _read_only(values) -> np.ndarray:
    array = np.array(values, copy=True)
    array.setflags(write=False)
    return array


def _truth(source: Source, study: StudySpec, totals: np.ndarray):
    curves = getattr(source, "true_curves", None)
    if not curves:
        return None, None
    groups = tuple(
        replace(g, curve=replace(curves[g.name], sense=g.curve.sense, score_max=g.curve.score_max))
        for g in study.groups
    )
    return evaluate_totals(replace(study, groups=groups), totals)
