"""Sampling strategies: given the state of a study, the next batch to collect.

A strategy looks at what a study has collected, what it has measured and the budget left, and
proposes the next batch, in whole samples per group, within the budget and every pool
(docs/method.md, "The adaptive loop"). The same strategies drive a persisted study (ask/tell)
and the in-memory loop :func:`allocate.sequential.run_strategy`.

- ``adaptive``: a pilot, then each round refit every group's curve and re-plan the whole
  remaining budget; collect one batch toward that plan (the paper's method).
- ``optimistic``: as adaptive, but plans on a lower confidence bound of each group's loss.
- ``equal``, ``proportional``: the baselines, collected in one batch.
- ``worst-group``: each batch goes to the group whose latest measurement is worst.
- ``oracle``: the one-shot optimum under the true curves (only where they are known).
- ``expected``, ``cautious``: adaptive on bootstrap curve draws (:mod:`allocate.uncertain_curves`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import pandas as pd

from allocate.curves import Curve
from allocate.errors import FitError, InfeasibleStudy, InputError
from allocate.fitting import CurveFits, fit_group, fit_rows
from allocate.study_checks import MEASUREMENT_COLUMNS
from allocate.study_file import StudySpec

__all__ = [
    "StudyState",
    "Proposal",
    "Strategy",
    "Adaptive",
    "Optimistic",
    "Baseline",
    "WorstGroup",
    "Oracle",
    "STRATEGIES",
    "make_strategy",
    "damp",
    "fit_measurements",
]

STRATEGIES: tuple[str, ...] = (
    "adaptive",
    "optimistic",
    "equal",
    "proportional",
    "worst-group",
    "oracle",
    "expected",
    "cautious",
)


@dataclass(frozen=True)
class StudyState:
    """What a study has done so far.

    Attributes
    ----------
    study : StudySpec
        The groups (``have`` = samples in hand before the study), costs, bounds, the total
        collection budget and the utility.
    collected : numpy.ndarray
        New samples collected so far per group, in ``study.groups`` order.
    measurements : pandas.DataFrame
        Every measurement so far: ``group, n, n_total, value, seed``.
    rounds : int
        Batches collected so far.
    """

    study: StudySpec
    collected: np.ndarray
    measurements: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(MEASUREMENT_COLUMNS))
    )
    rounds: int = 0

    @classmethod
    def start(cls, study: StudySpec) -> StudyState:
        """The state of a study that has collected nothing yet."""
        if study.budget is None:
            raise InputError("a sequential study needs a budget; give the StudySpec a budget")
        return cls(study=study, collected=np.zeros(len(study.groups), dtype=np.int64))

    @property
    def names(self) -> list[str]:
        return [g.name for g in self.study.groups]

    @property
    def have(self) -> np.ndarray:
        return np.array([g.have for g in self.study.groups], dtype=np.int64)

    @property
    def totals(self) -> np.ndarray:
        """Samples per group now: in hand before the study plus collected."""
        return self.have + self.collected

    @property
    def costs(self) -> np.ndarray:
        return np.array([g.cost for g in self.study.groups], dtype=float)

    @property
    def pools(self) -> np.ndarray:
        return np.array([g.max for g in self.study.groups], dtype=float)

    @property
    def spent(self) -> float:
        return float(self.costs @ self.collected)

    @property
    def remaining(self) -> float:
        return float(self.study.budget) - self.spent

    def after(self, batch: np.ndarray, measurements: pd.DataFrame | None = None) -> StudyState:
        """The state once ``batch`` is collected and ``measurements`` are recorded."""
        table = self.measurements
        if measurements is not None and len(measurements):
            parts = [table, measurements] if len(table) else [measurements]
            table = pd.concat(parts, ignore_index=True)
        return replace(
            self,
            collected=self.collected + np.asarray(batch, np.int64),
            measurements=table,
            rounds=self.rounds + 1,
        )


@dataclass(frozen=True)
class Proposal:
    """A strategy's answer: the batch to collect now and the plan behind it.

    Attributes
    ----------
    counts : numpy.ndarray
        New samples to collect now per group (all zero: the study is finished).
    target_totals : numpy.ndarray or None
        The totals the strategy aims for with the whole remaining budget.
    fits : CurveFits or None
        The curves fitted this round.
    note : str
        Why this batch: "pilot", "adaptive", "equal fallback: ...".
    """

    counts: np.ndarray
    target_totals: np.ndarray | None = None
    fits: CurveFits | None = None
    note: str = ""

    @property
    def finished(self) -> bool:
        return not np.any(self.counts)


class Strategy(Protocol):
    """What every strategy offers: a name, its settings and a proposal for a state."""

    name: str

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal: ...

    def settings(self) -> dict: ...


# --- shared pieces -----------------------------------------------------------------------------


def affordable_counts(state: StudyState, wanted: np.ndarray, budget: float) -> np.ndarray:
    """Whole samples toward ``wanted`` (>= 0, real) costing at most ``budget``, within pools.

    Scales ``wanted`` down to the budget, floors it, then spends what is left one sample at a
    time on the groups furthest below their scaled share.
    """
    costs = state.costs
    room = np.maximum(state.pools - state.totals, 0)
    wanted = np.minimum(np.maximum(np.asarray(wanted, float), 0), room)
    price = float(costs @ wanted)
    if price <= budget:
        share = wanted
    else:
        share = wanted * (budget / price)
    counts = np.floor(share + 1e-9).astype(np.int64)
    left = budget - float(costs @ counts)
    while True:
        deficit = np.where(
            (counts < np.floor(wanted + 1e-9)) & (costs <= left + 1e-9), share - counts, -np.inf
        )
        best = int(np.argmax(deficit))
        if not np.isfinite(deficit[best]) or deficit[best] <= 0:
            return counts
        counts[best] += 1
        left -= costs[best]


def equal_counts(state: StudyState, budget: float) -> np.ndarray:
    """The same number of new samples from each group that still has room, within ``budget``."""
    room = np.maximum(state.pools - state.totals, 0)
    counts = np.zeros(len(room), dtype=np.int64)
    costs = state.costs
    while True:
        open_groups = (room - counts) > 0
        price = float(costs[open_groups].sum())
        left = budget - float(costs @ counts)
        if not open_groups.any() or price > left + 1e-9:
            break
        step = max(1, int(left // price))
        step = int(min(step, (room - counts)[open_groups].min()))
        counts[open_groups] += step
    return affordable_counts(state, counts, budget)


def damp(totals: np.ndarray, batch: np.ndarray, ratio_growth: float) -> np.ndarray:
    """Shrink ``batch`` so the max/min ratio of group sizes grows by at most ``ratio_growth``.

    Slice Tuner's imbalance limit: the batch is scaled by the largest ``l`` in [0, 1] with
    ``max(n + l x) <= (r + ratio_growth) * min(n + l x)``, ``r`` the current ratio, then floored.

    Examples
    --------
    >>> damp(np.array([10, 10]), np.array([10, 40]), 1.0).tolist()
    [5, 20]
    """
    n = np.asarray(totals, dtype=float)
    x = np.asarray(batch, dtype=float)
    if np.any(n <= 0):
        return np.asarray(batch, dtype=np.int64)
    limit = n.max() / n.min() + ratio_growth
    # For every pair (i, j): n_i + l x_i <= limit (n_j + l x_j), linear in l.
    slope = x[:, None] - limit * x[None, :]
    room = limit * n[None, :] - n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where(slope > 0, room / slope, np.inf)
    scale = min(1.0, float(bounds.min()))
    return np.floor(scale * x + 1e-9).astype(np.int64)


def batch_budget(state: StudyState, batch: float | Sequence[float], rounds_done: int) -> float:
    """The budget of the next batch: a fraction of what is left, or the schedule's next step.

    A schedule gives each round's budget as a fraction of the total budget; once it runs out the
    rest is spent in one batch. A fraction-of-remaining batch that would be smaller than 5% of
    the total budget takes everything left, so a study ends in a few rounds.
    """
    total = float(state.study.budget)
    if isinstance(batch, int | float):
        amount = batch * state.remaining
        return state.remaining if amount < 0.05 * total else amount
    if rounds_done < len(batch):
        return min(batch[rounds_done] * total, state.remaining)
    return state.remaining


def pilot_size(state: StudyState, pilot: int | None) -> int:
    """Samples every group has after the pilot: ``pilot``, or by default the largest equal
    count costing at most 10% of the budget, and at least 8 (four distinct nested sizes)."""
    if pilot is not None:
        return int(pilot)
    return max(8, int(0.1 * float(state.study.budget) // state.costs.sum()))


def rounds_after_pilot(state: StudyState, pilot: int | None) -> int:
    """Batches collected since the pilot (the pilot is round 0 when it was needed)."""
    piloted = bool(np.any(state.have < pilot_size(state, pilot)))
    return max(state.rounds - int(piloted), 0)


def opening_proposal(state: StudyState, pilot: int | None) -> Proposal | None:
    """The proposal a strategy that learns from measurements makes before it can learn:
    nothing once the budget cannot buy a sample, the pilot in round 0; otherwise None."""
    if state.remaining < state.costs.min():
        return Proposal(counts=np.zeros(len(state.names), dtype=np.int64), note="budget spent")
    size = pilot_size(state, pilot)
    short = np.maximum(size - state.totals, 0)
    if np.any(short > 0) and state.rounds == 0:
        counts = affordable_counts(state, short, state.remaining)
        return Proposal(counts=counts, note=f"pilot: every group up to {size} samples")
    return None


def latest_value(measurements: pd.DataFrame, group: str, n: int) -> tuple[float, float] | None:
    """The mean of ``group``'s measurements at own size ``n`` (metric sense) and their pooled
    size, or None when it has none there."""
    rows = measurements[(measurements["group"] == group) & (measurements["n"] == n)]
    if rows.empty:
        return None
    return float(rows["value"].astype(float).mean()), float(rows["n_total"].astype(float).mean())


def anchor_curve(curve: Curve, n: float, value: float, n_total: float | None = None) -> Curve:
    """``curve`` shifted to pass through a measurement ``value`` (metric sense) at size ``n``.

    The asymptote ``c`` moves by the measurement's residual, so the planned gains of further
    samples keep the fitted shape. Where that would take ``c`` below 0, ``c`` is 0 and the
    scale ``a`` absorbs the rest; a measurement no curve of this shape reaches leaves the
    curve as it is.

    Examples
    --------
    >>> round(anchor_curve(Curve(a=1.0, b=0.5, c=0.1), 100, 0.3).c, 6)
    0.2
    """
    observed = float(curve.from_metric(value))
    shifted = curve.c + observed - float(curve.loss(n, n_total))
    if shifted >= 0:
        return replace(curve, c=shifted)
    pooled = float(curve.loss(n, n_total)) - curve.c - curve.a * n ** (-curve.b)
    own = observed - pooled  # what a * n^-b must be with c = 0
    if own <= 0:
        return curve
    return replace(curve, c=0.0, a=own * n**curve.b)


def _check_batch(batch: float | Sequence[float]) -> float | tuple[float, ...]:
    if isinstance(batch, int | float) and not isinstance(batch, bool):
        if not 0 < batch <= 1:
            raise InputError(
                f"batch must be a fraction of the remaining budget in (0, 1]; got {batch}"
            )
        return float(batch)
    schedule = tuple(float(b) for b in batch)
    if not schedule or any(not 0 < b <= 1 for b in schedule) or sum(schedule) > 1 + 1e-9:
        raise InputError(
            "a batch schedule lists each round's share of the total budget, each in (0, 1], "
            f"summing to at most 1; got {list(schedule)}"
        )
    return schedule


def _study_with(state: StudyState, curves: list[Curve], budget: float) -> StudySpec:
    """The study re-based on the current totals, with new curves and the budget left."""
    groups = tuple(
        replace(group, curve=curve, have=int(total), min=max(group.min, int(total)))
        for group, curve, total in zip(state.study.groups, curves, state.totals, strict=True)
    )
    return replace(state.study, groups=groups, budget=max(budget, 0.0))


def _plan_totals(study: StudySpec) -> np.ndarray:
    from allocate.planning import plan

    return np.asarray(plan(study).totals, dtype=float)


def _plan_or_relax(study: StudySpec) -> tuple[np.ndarray, str | None]:
    """Plan ``study``; if its targets cannot be met under the curves fitted so far, plan
    without them (the target utility becomes maximin) rather than stop the study.

    Returns the totals and, when relaxed, a note saying why.
    """
    try:
        return _plan_totals(study), None
    except InfeasibleStudy as error:
        if not any(g.target is not None for g in study.groups):
            raise
        groups = tuple(replace(g, target=None) for g in study.groups)
        from allocate.utilities import utility_named

        utility = utility_named(study.utility).without_targets
        relaxed = replace(study, groups=groups, utility=utility)
        return _plan_totals(relaxed), f"targets out of reach so far, planned without them: {error}"


# --- the adaptive family -----------------------------------------------------------------------


@dataclass(frozen=True)
class Adaptive:
    """The paper's adaptive strategy: refit, re-plan the rest of the budget, collect a batch.

    Parameters
    ----------
    batch : float or sequence of float
        Each round's budget: a fraction of the remaining budget (default 0.25), or a schedule of
        fractions of the total budget.
    pilot : int or None
        Samples every group must have before curves are fitted; by default the largest equal
        count that costs at most 10% of the budget (and at least 8, the fewest that give four
        distinct nested sizes).
    damping : float or None
        Per-round cap on how much the max/min ratio of group sizes may grow (None: no cap).
    family : {"power", "power-offset", "transfer"}
        The curve family fitted each round.
    log_space : bool
        Fit log residuals.
    anchor : bool
        Shift each fitted curve so it passes through the group's latest measurement at its
        current size: the fit gives the shape of what more samples add, the measurement gives
        where this training set stands (see :func:`anchor_curve`).
    """

    batch: float | tuple[float, ...] = 0.25
    pilot: int | None = None
    damping: float | None = None
    family: str = "power-offset"
    log_space: bool = False
    anchor: bool = False
    name: str = field(default="adaptive", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch", _check_batch(self.batch))
        if self.pilot is not None and (int(self.pilot) != self.pilot or self.pilot < 1):
            raise InputError(f"pilot must be a whole number >= 1; got {self.pilot}")
        if self.damping is not None and not self.damping > 0:
            raise InputError(f"damping must be a positive ratio growth; got {self.damping}")

    def settings(self) -> dict:
        batch = list(self.batch) if isinstance(self.batch, tuple) else self.batch
        return {
            "batch": batch,
            "pilot": self.pilot,
            "damping": self.damping,
            "family": self.family,
            "log_space": self.log_space,
            "anchor": self.anchor,
        }

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal:
        opening = opening_proposal(state, self.pilot)
        if opening is not None:
            return opening
        budget = batch_budget(state, self.batch, rounds_after_pilot(state, self.pilot))
        try:
            fits = self._fit(state, rng)
        except FitError as error:
            return Proposal(counts=equal_counts(state, budget), note=f"equal fallback: {error}")
        target, relaxed = self.planned_totals(fits, state)
        counts = affordable_counts(state, target - state.totals, budget)
        if self.damping is not None:
            counts = damp(state.totals, counts, self.damping)
        if not counts.any():  # the plan is reached (or damping froze it): spend what is left
            counts = affordable_counts(state, target - state.totals, state.remaining)
        note = self.name if relaxed is None else f"{self.name} ({relaxed})"
        return Proposal(counts=counts, target_totals=target, fits=fits, note=note)

    def planned_totals(
        self, fits: CurveFits, state: StudyState
    ) -> tuple[np.ndarray, str | None]:
        """The totals this round moves toward, and a note when the targets had to be dropped."""
        curves = self.planning_curves(fits, state)
        return _plan_or_relax(_study_with(state, curves, state.remaining))

    def planning_curves(self, fits: CurveFits, state: StudyState) -> list[Curve]:
        """The curves the allocation is planned on: the fitted ones, anchored if asked."""
        curves = [fit.curve for fit in fits]
        if not self.anchor:
            return curves
        anchored = []
        for curve, name, total in zip(curves, state.names, state.totals, strict=True):
            latest = latest_value(state.measurements, name, int(total))
            anchored.append(curve if latest is None else anchor_curve(curve, total, *latest))
        return anchored

    def _fit(self, state: StudyState, rng: np.random.Generator | None = None) -> CurveFits:
        """This round's fits: point estimates here (``rng`` serves subclasses that resample)."""
        return fit_measurements(state, family=self.family, log_space=self.log_space)


def fit_measurements(
    state: StudyState,
    *,
    family: str,
    log_space: bool,
    bootstrap: int = 0,
    rng: np.random.Generator | None = None,
) -> CurveFits:
    """Each group's curve fitted to the study's measurements so far.

    Parameters
    ----------
    state : StudyState
    family, log_space
        As for :func:`allocate.fitting.fit_group`.
    bootstrap : int
        Bootstrap refits per group (0: the point estimate only).
    rng : numpy.random.Generator, optional
        Drives the bootstrap (as for :func:`~allocate.fitting.fit_group`).

    Raises
    ------
    FitError
        A group has no measurements yet, or its curve cannot be fitted.
    """
    table = state.measurements
    fits = []
    for group in state.study.groups:
        rows = table[table["group"] == group.name]
        if rows.empty:
            raise FitError(f"{group.name!r} has no measurements yet")
        fits.append(fit_rows(rows, group=group.name, family=family, sense=group.curve.sense,
                             score_max=group.curve.score_max, log_space=log_space,
                             bootstrap=bootstrap, rng=rng))
    return CurveFits(fits=tuple(fits), family=family, sense=state.study.sense, level=0.9)


@dataclass(frozen=True)
class Optimistic(Adaptive):
    """Adaptive planning on a lower confidence bound of each group's loss.

    Each round the lower end of the fitted curve's interval (at ``level``, delta method) over the
    sizes the group could still reach is refitted as a curve of the same family, and the
    allocation is planned on those optimistic curves: groups whose curve is still uncertain get
    explored (Shekhar et al., 2021).
    """

    level: float = 0.9
    name: str = field(default="optimistic", init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.anchor:
            raise InputError("anchor is a setting of the adaptive strategy, not of optimistic")

    def settings(self) -> dict:
        return {**super().settings(), "level": self.level}

    def planning_curves(self, fits: CurveFits, state: StudyState) -> list[Curve]:
        curves = []
        for fit, total, cost, pool in zip(
            fits, state.totals, state.costs, state.pools, strict=True
        ):
            reach = min(pool, total + state.remaining / cost)
            grid = np.geomspace(max(total, 1), max(reach, total + 1), 24)
            low, high = fit.predict_interval(grid, level=self.level)
            best = fit.curve.from_metric(high if fit.sense == "score" else low)
            floor = 1e-6 * float(np.max(fit.curve.loss(grid)))
            try:
                optimistic = fit_group(
                    grid, np.maximum(best, floor), family=fit.family, group=fit.group
                ).curve
                curves.append(
                    replace(optimistic, sense=fit.curve.sense, score_max=fit.curve.score_max)
                )
            except FitError:
                curves.append(fit.curve)
        return curves


# --- baselines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """Equal or proportional sampling, collected in one batch with the whole remaining budget.

    ``equal`` gives every group the same total where bounds allow; ``proportional`` makes totals
    proportional to the groups' weights (population shares). See :mod:`allocate.baselines`.
    """

    name: str = "equal"

    def __post_init__(self) -> None:
        if self.name not in ("equal", "proportional"):
            raise InputError(f"a baseline is 'equal' or 'proportional'; got {self.name!r}")

    def settings(self) -> dict:
        return {}

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal:
        from allocate.baselines import baseline_totals
        from allocate.optimise import AllocationProblem

        study = _study_with(state, [g.curve for g in state.study.groups], state.remaining)
        problem = AllocationProblem.from_study(
            replace(study, utility="weighted"), budget=state.remaining
        )
        target = baseline_totals(problem, self.name, integer=True)
        counts = affordable_counts(state, target - state.totals, state.remaining)
        return Proposal(counts=counts, target_totals=target, note=self.name)


@dataclass(frozen=True)
class WorstGroup:
    """Each batch goes to the group whose latest measurement is worst (Abernethy et al. 2022).

    A pilot (as in :class:`Adaptive`) comes first so every group has a measurement. A group at
    its pool passes its batch to the next worst.
    """

    batch: float | tuple[float, ...] = 0.25
    pilot: int | None = None
    name: str = field(default="worst-group", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch", _check_batch(self.batch))

    def settings(self) -> dict:
        batch = list(self.batch) if isinstance(self.batch, tuple) else self.batch
        return {"batch": batch, "pilot": self.pilot}

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal:
        opening = opening_proposal(state, self.pilot)
        if opening is not None:
            return opening
        left = batch_budget(state, self.batch, rounds_after_pilot(state, self.pilot))
        counts = np.zeros(len(state.names), dtype=np.int64)
        for index in np.argsort(-self.latest_losses(state)):
            room = state.pools[index] - state.totals[index] - counts[index]
            take = int(min(room, left // state.costs[index]))
            counts[index] += max(take, 0)
            left -= max(take, 0) * state.costs[index]
        return Proposal(counts=counts, note="worst-group")

    @staticmethod
    def latest_losses(state: StudyState) -> np.ndarray:
        """Each group's loss at its largest measured size (mean of replicates); inf if none."""
        losses = []
        for group in state.study.groups:
            rows = state.measurements[state.measurements["group"] == group.name]
            if rows.empty:
                losses.append(np.inf)
                continue
            top = rows[rows["n"] == rows["n"].max()]["value"].mean()
            losses.append(float(group.curve.from_metric(top)))
        return np.array(losses)


@dataclass(frozen=True)
class Oracle:
    """The one-shot optimum under the true curves, collected in one batch."""

    curves: dict[str, Curve]
    name: str = field(default="oracle", init=False)

    def settings(self) -> dict:
        return {"curves": {k: v.params() for k, v in self.curves.items()}}

    def propose(self, state: StudyState, *, rng: np.random.Generator) -> Proposal:
        missing = [n for n in state.names if n not in self.curves]
        if missing:
            raise InputError(f"the oracle needs the true curve of every group; missing {missing}")
        truth = [
            replace(self.curves[g.name], sense=g.curve.sense, score_max=g.curve.score_max)
            for g in state.study.groups
        ]
        target = _plan_totals(_study_with(state, truth, state.remaining))
        counts = affordable_counts(state, target - state.totals, state.remaining)
        return Proposal(counts=counts, target_totals=target, note="oracle")


def make_strategy(name: str, **settings) -> Strategy:
    """Build a strategy by name: adaptive, optimistic, equal, proportional, worst-group, oracle.

    Examples
    --------
    >>> make_strategy("adaptive", batch=0.5).settings()["batch"]
    0.5
    """
    if name == "adaptive":
        return Adaptive(**settings)
    if name == "optimistic":
        return Optimistic(**settings)
    if name in ("equal", "proportional"):
        if settings:
            raise InputError(f"the {name} strategy takes no settings; got {sorted(settings)}")
        return Baseline(name=name)
    if name == "worst-group":
        return WorstGroup(**settings)
    if name == "oracle":
        return Oracle(**settings)
    if name in ("expected", "cautious"):  # planning on curve draws: allocate.uncertain_curves
        from allocate.uncertain_curves import Cautious, Expected

        return (Expected if name == "expected" else Cautious)(**settings)
    raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
