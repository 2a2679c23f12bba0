"""A data source over an existing pool: replay what collecting it round by round would have done.

A team that already holds a labelled pool can ask, before spending money, whether adaptive
collection pays on its own data. :class:`PoolSource` answers ``measure(totals, *, seed)`` like
:class:`allocate.sources.SyntheticSource`: each group's rows are put in one fixed, seeded order
with its test rows held out first, so "collecting ``n`` samples" of a group means its next
samples in that order; the model is trained on nested fractions of what is in hand and every
group is scored on its own held-out rows. It never hands out more than a group's pool.

:func:`replay_collection` runs adaptive collection, equal, proportional, Slice Tuner's water
filling and the oracle on the pool, and scores every final allocation on test rows no strategy
measured while collecting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from allocate.curves import Curve
from allocate.errors import InputError
from allocate.measure import (
    Metric,
    PreparedData,
    TrainingRun,
    replicate_seeds,
    resolve_metric,
    run_tasks,
)
from allocate.study_file import GroupSpec, StudySpec

__all__ = ["PoolSource", "ReplayResult", "replay_collection", "REPLAY_STRATEGIES"]

#: Fractions of each whole pool at which the oracle's curves are measured.
ORACLE_FRACTIONS: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1.0)
REPLAY_STRATEGIES: tuple[str, ...] = ("adaptive", "equal", "proportional", "water-filling",
                                      "oracle")


@dataclass(frozen=True, eq=False)
class PoolSource:
    """Measurements on an existing pool of labelled rows, as if it were collected in rounds.

    Build it with :meth:`from_data`. Its fixed split and order make the same counts always give
    the same values (a training set is trained once and remembered).

    Attributes
    ----------
    fractions : tuple of float
        The nested fractions of each group's count measured per call.
    training : {"own", "pooled"}
        Own-group models, or one model on every group's samples.
    minimum_size : int
        Smallest training set measured: own-group sizes below it give no row; pooled training
        scores every group with a sample once the pooled set reaches it.
    final : PoolSource or None
        Where final allocations are scored: the other half of each group's test rows
        (see ``held_out_test`` in :meth:`from_data`).
    """

    data: PreparedData = field(repr=False)
    metric: Metric = field(repr=False)
    estimator: object = field(repr=False)
    tests: dict[str, np.ndarray] = field(repr=False)
    orders: dict[str, np.ndarray] = field(repr=False)
    training: str = "own"
    fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    minimum_size: int = 10
    seed: int = 0
    n_jobs: int | None = 1
    final: PoolSource | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)
    _truth: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_data(
        cls,
        X,
        y,
        groups,
        *,
        estimator,
        scoring: str,
        training: str = "own",
        test_size: float | int = 0.25,
        fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
        held_out_test: bool = True,
        minimum_size: int = 10,
        seed: int = 0,
        n_jobs: int | None = 1,
    ) -> PoolSource:
        """A source over rows ``X, y`` labelled by ``groups``.

        Parameters
        ----------
        X, y, groups, estimator, scoring, training, test_size
            As in :func:`allocate.measure_curves`.
        fractions : sequence of float
            Nested fractions of each group's count measured per call (1 = all in hand).
        held_out_test : bool
            Measure on half of each group's test rows while collecting and score final
            allocations (:attr:`final`) on the other half.
        minimum_size : int
            Smallest training size measured.
        seed : int
            Seeds the split, the order in which each group's pool is drawn and the estimator.
        n_jobs : int or None
            Parallel training runs within one call.
        """
        from allocate.measure import _check_estimator, _check_options

        data = PreparedData.from_arrays(X, y, groups)
        metric = resolve_metric(scoring)
        _check_estimator(estimator, metric)
        _check_options(training, 1, test_size)
        data.check_classes(metric, estimator, training)
        _check_fractions(fractions)
        order_seed = replicate_seeds(seed, 1)[0]
        split = data.split(test_size, np.random.default_rng(order_seed))
        data.check_test_classes(metric, split)
        tests = {g: test for g, (test, _) in split.items()}
        orders = {g: train for g, (_, train) in split.items()}
        source = cls(data, metric, estimator, tests, orders, training, tuple(fractions),
                     int(minimum_size), order_seed, n_jobs)
        if not held_out_test:
            return source
        measured = {g: t[0::2] for g, t in tests.items()}  # the test order is stratified, so
        reported = {g: t[1::2] for g, t in tests.items()}  # both halves keep class shares
        return replace(source, tests=measured,
                       final=replace(source, tests=reported, _memo={}, _truth={}))

    @property
    def sense(self) -> str:
        """``loss`` or ``score``, from the scorer."""
        return self.metric.sense

    @property
    def score_max(self) -> float:
        return self.metric.score_max

    def pools(self) -> dict[str, int]:
        """The most training samples each group can supply."""
        return {g: len(order) for g, order in self.orders.items()}

    def with_fractions(self, fractions: Sequence[float]) -> PoolSource:
        """The same source measuring other nested fractions; trained results are shared."""
        _check_fractions(fractions)
        return replace(self, fractions=tuple(fractions))

    def measure(self, totals: Mapping[str, int], *, seed: int) -> pd.DataFrame:
        """Train on nested fractions of ``totals`` and score each group on its test rows.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, n, n_total, value, seed`` (``seed`` recorded as given).

        Raises
        ------
        InputError
            An unknown group, or more samples than a group's pool holds.
        """
        counts = self._checked(totals)
        steps = [self._usable(counts, fraction) for fraction in sorted(set(self.fractions))]
        runs = {key: self._run(sizes) for step in steps for key, sizes in step}
        self._train([(key, run) for key, run in runs.items() if key not in self._memo])
        rows = []
        for step in steps:
            for key, sizes in step:
                n_total = float(sum(sizes.values()))
                rows += [(g, float(n), n_total, self._memo[key][g], seed) for g, n in sizes.items()]
        return pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])

    def _usable(self, counts: dict[str, int], fraction: float) -> list[tuple[tuple, dict]]:
        """The training sets measured at ``fraction``: (memo key, sizes per group) each."""
        sizes = {g: int(np.floor(fraction * n)) for g, n in counts.items()}
        sizes = {g: n for g, n in sizes.items() if n > 0}
        if self.training == "own":
            return [((g, n), {g: n}) for g, n in sizes.items() if n >= self.minimum_size]
        if sum(sizes.values()) < self.minimum_size:
            return []
        return [(tuple(sorted(sizes.items())), sizes)]

    @property
    def true_curves(self) -> dict[str, Curve]:
        """Each group's curve fitted (power-offset) to measurements on nested fractions of
        its whole pool, scored where final allocations are: the oracle's knowledge."""
        if not self._truth:
            from allocate.fitting import fit_curves

            reported = self.final or self
            points = reported.with_fractions(ORACLE_FRACTIONS).measure(self.pools(), seed=0)
            fits = fit_curves(points, sense=self.sense, score_max=self.score_max)
            self._truth.update(fits.curves)
        return dict(self._truth)

    def study(
        self,
        *,
        costs: Mapping[str, float],
        budget: float,
        utility: str = "weighted",
        weights: Mapping[str, float] | None = None,
        have: Mapping[str, int] | None = None,
    ) -> StudySpec:
        """A study over this pool: every group's ``max`` is its pool, curves carry the sense.

        The curves are placeholders (strategies fit their own); ``weights`` default to each
        group's share of the pool.
        """
        pools = self.pools()
        unknown = sorted(set(costs) - set(pools))
        missing = [g for g in pools if g not in costs]
        if unknown or missing:
            wrong = f"unknown: {', '.join(unknown)}" if unknown else ""
            wrong = wrong or f"missing: {', '.join(missing)}"
            raise InputError(f"costs must name every group of the pool ({', '.join(pools)}); "
                             f"{wrong}")
        total = sum(pools.values())
        weights = weights or {g: n / total for g, n in pools.items()}
        have = have or {}
        placeholder = Curve(a=1.0, b=0.5, sense=self.sense, score_max=self.score_max)
        groups = tuple(
            GroupSpec(name=g, curve=placeholder, cost=float(costs[g]), weight=float(weights[g]),
                      have=int(have.get(g, 0)), max=pools[g])
            for g in pools
        )
        return StudySpec(groups=groups, budget=float(budget), utility=utility)

    # --- internals ---------------------------------------------------------------------------

    def _checked(self, totals: Mapping[str, int]) -> dict[str, int]:
        unknown = sorted(set(map(str, totals)) - set(self.orders))
        if unknown:
            raise InputError(f"the pool has no group(s) {', '.join(unknown)}")
        pools = self.pools()
        counts = {}
        for group, n in totals.items():
            group = str(group)
            if not 0 <= int(n) <= pools[group]:
                raise InputError(
                    f"group {group} can supply at most {pools[group]} training samples from the "
                    f"pool; asked for {n}"
                )
            counts[group] = int(n)
        return counts

    def _run(self, sizes: dict[str, int]) -> TrainingRun:
        train = np.concatenate([self.orders[g][:n] for g, n in sizes.items()])
        tests = {g: self.tests[g] for g in sizes}
        shown = ", ".join(f"{g} {n}" for g, n in sizes.items())
        return TrainingRun(train, tests, dict(sizes), self.seed, f"pool samples {shown}")

    def _train(self, pending: list[tuple[tuple, TrainingRun]]) -> None:
        if not pending:
            return
        results = run_tasks([run for _, run in pending], self.estimator, self.metric, self.data,
                            self.n_jobs, None)
        for (key, _), result in zip(pending, results, strict=True):
            self._memo[key] = {row[0]: row[3] for row in result.rows}


def _check_fractions(fractions: Sequence[float]) -> None:
    if not fractions or any(not 0 < float(f) <= 1 for f in fractions):
        raise InputError(f"fractions must lie in (0, 1]; got {list(fractions)}")


# --- the replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    """Every strategy's collection replayed on a pool, scored on held-out rows.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per strategy and group: ``strategy, group, total, collected, spent, value``
        (the group's metric at its final size, on rows no strategy measured), ``objective``
        (the study's utility of those values, in the metric's sense) and ``regret`` (how far
        the objective falls short of the oracle's; > 0 is worse).
    sense : {"loss", "score"}
    trajectories : dict
        Each strategy's :class:`allocate.Trajectory`.
    """

    table: pd.DataFrame
    sense: str
    trajectories: dict = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """One line per strategy: final totals per group, its objective and regret."""
        wide = self.table.pivot(index="strategy", columns="group", values="total")
        wide = wide.loc[list(dict.fromkeys(self.table["strategy"]))]
        per = self.table.groupby("strategy", sort=False)[["objective", "regret", "spent"]].first()
        lines = [f"Collection replayed on the pool (objective in the metric's sense, "
                 f"{self.sense}; regret > 0 is worse than the oracle)"]
        header = "  ".join(f"{g:>7}" for g in wide.columns)
        lines.append(f"  {'strategy':<14}{header}  {'spent':>8}  {'objective':>10}  regret")
        for name, row in wide.iterrows():
            counts = "  ".join(f"{int(v):>7d}" for v in row)
            r = per.loc[name]
            lines.append(f"  {name:<14}{counts}  {r['spent']:>8.0f}  {r['objective']:>10.4g}  "
                         f"{r['regret']:.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def replay_collection(
    source: PoolSource,
    study: StudySpec,
    *,
    strategies: Sequence[str] = REPLAY_STRATEGIES,
    seed: int = 0,
) -> ReplayResult:
    """Replay collection on the pool with each strategy and score the final allocations.

    Parameters
    ----------
    source : PoolSource
        The pool (with ``final`` for held-out scoring, the default of
        :meth:`PoolSource.from_data`).
    study : StudySpec
        Costs, budget and utility, e.g. from :meth:`PoolSource.study`; every group's ``max``
        must be within its pool.
    strategies : sequence of str
        Among ``adaptive, optimistic, worst-group, equal, proportional, water-filling, oracle``.
    seed : int
        Seeds the strategies' random choices.

    Returns
    -------
    ReplayResult
    """
    from allocate.sequential import measured_objective, run_strategy
    from allocate.strategies import make_strategy
    from allocate.water_filling import WaterFilling

    pools = source.pools()
    for group in study.groups:
        if group.max > pools.get(group.name, -1):
            raise InputError(
                f"group {group.name!r} may grow to {group.max:g} in the study but its pool holds "
                f"{pools.get(group.name, 0)}; set its max to the pool (PoolSource.study does)"
            )
    trajectories, rows = {}, []
    for name in strategies:
        if name == "water-filling":
            strategy = WaterFilling()
        elif name == "oracle":
            strategy = make_strategy("oracle", curves=source.true_curves)
        else:
            strategy = make_strategy(name)
        fits_curves = name not in ("equal", "proportional", "water-filling", "oracle")
        used = source if fits_curves else source.with_fractions((1.0,))
        trajectory = run_strategy(strategy, used, study, seed=seed)
        trajectories[name] = trajectory
        values = _final_values(source, study, trajectory.final_totals)
        objective = measured_objective(study, values)
        for group, total in zip(study.groups, trajectory.final_totals, strict=True):
            collected = int(total) - group.have
            rows.append((name, group.name, int(total), collected, group.cost * collected,
                         values[group.name], objective))
    table = pd.DataFrame(rows, columns=["strategy", "group", "total", "collected", "spent",
                                        "value", "objective"])
    table["spent"] = table.groupby("strategy")["spent"].transform("sum")
    if "oracle" in strategies:
        best = float(table.loc[table["strategy"] == "oracle", "objective"].iloc[0])
        better = 1.0 if source.sense == "score" else -1.0
        table["regret"] = better * (best - table["objective"]) + 0.0  # no negative zero
    else:
        table["regret"] = np.nan
    return ReplayResult(table=table, sense=source.sense, trajectories=trajectories)


def _final_values(source: PoolSource, study: StudySpec, totals: np.ndarray) -> dict[str, float]:
    """Each group's metric at its final size on the held-out rows (NaN for an own-group size
    below the source's minimum)."""
    reported = (source.final or source).with_fractions((1.0,))
    counts = {g.name: int(n) for g, n in zip(study.groups, totals, strict=True)}
    table = reported.measure(counts, seed=0)
    values = dict(zip(table["group"], table["value"], strict=True))
    return {g: values.get(g, np.nan) for g in counts}
