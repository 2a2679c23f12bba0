"""A data source backed by a simulated cohort: learning-curve points from real PRS training.

:class:`GenomicSource` answers ``measure(counts, *, seed)`` like the other sources of
:mod:`allocate.sources`: given how many training samples each group has, it trains polygenic
scores on nested subsamples (fractions of each count) and returns each group's metric on its
held-out test set, as rows ``group, n, n_total, value, seed`` of a points table. Every metric is
a score (higher is better): R^2, AUC or the decision utility.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from allocate import InputError
from simulate.cohort import Cohort
from simulate.config import DEFAULT_FRACTIONS, METRICS, GenomicWorld, Metric
from simulate.phenotype import Phenotype
from simulate.prs import (
    CohortSplit,
    PolygenicScore,
    ScoreTrainer,
    TrainingMode,
    evaluate_score,
)
from simulate.training_data import TrainingData

__all__ = ["GenomicSource", "Metric", "METRIC_BEST"]

_BINARY_METRICS = ("auc", "utility", "utility_expected")
#: The best possible value of each metric (the utility's depends on prevalence and payoffs).
METRIC_BEST = {"r2": 1.0, "r2_genetic": 1.0, "auc": 1.0}
_MINIMUM_TRAINING = 10


class GenomicSource:
    """Measures per-group PRS performance at given training counts.

    A source is immutable: its settings are read-only attributes and :meth:`with_fractions`,
    :meth:`on_split` and :meth:`with_held_out_test` return new sources. What it computes is
    kept, explicitly: the trainers and trained scores of its world and training mode (one
    :class:`_TrainedScores`, shared by every source made from this one) and its measurements
    by training set (shared by the sources that score the same test people).

    Parameters
    ----------
    cohort, phenotype, split
        The simulated world and its fixed split into reference panels, test sets and pools.
    metric : {"r2", "r2_genetic", "auc", "utility", "utility_expected"}
        What is measured: R^2 with the phenotype, R^2 with the true genetic value, AUC, the
        decision utility over observed outcomes, or its expectation given each test person's
        genetic value (see :func:`simulate.prs.evaluate_score`). All are scores.
    training : {"own", "pooled", "meta"}
        ``own``: each group's score is trained on that group's samples only; ``pooled`` /
        ``meta``: one score trained on all groups' samples together.
    fractions : sequence of float
        Nested subsample fractions of each count measured per call (1 = all samples in hand).
    benefit, cost : float
        Payoffs of the decision utility.
    trainer_options : mapping, optional
        Passed to :class:`simulate.prs.ScoreTrainer` (``r2``, ``window``, ``thresholds``).

    Attributes
    ----------
    final : GenomicSource or None
        Where a benchmark scores final allocations: the same world on test people this source
        never measures (set by :meth:`with_held_out_test`).
    """

    __slots__ = (
        "cohort", "phenotype", "split", "metric", "training", "fractions", "benefit", "cost",
        "trainer_options", "final", "_trained", "_memo",
    )  # fmt: skip

    def __init__(
        self,
        cohort: Cohort,
        phenotype: Phenotype,
        split: CohortSplit,
        *,
        metric: Metric = "r2",
        training: TrainingMode = "own",
        fractions: Sequence[float] = DEFAULT_FRACTIONS,
        benefit: float = 100.0,
        cost: float = 5.0,
        trainer_options: Mapping | None = None,
    ) -> None:
        settings = dict(
            cohort=cohort, phenotype=phenotype, split=split, metric=metric, training=training,
            fractions=tuple(fractions), benefit=benefit, cost=cost,
            trainer_options=MappingProxyType(dict(trainer_options or {})), final=None,
        )  # fmt: skip
        for name, value in settings.items():
            object.__setattr__(self, name, value)
        self._check()
        object.__setattr__(self, "_trained", _TrainedScores(cohort, phenotype, split))
        object.__setattr__(self, "_memo", {})

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"a GenomicSource is immutable; {name} cannot be set")

    def __repr__(self) -> str:
        return (
            f"GenomicSource(metric={self.metric!r}, training={self.training!r}, "
            f"fractions={self.fractions}, groups={self.cohort.groups}, "
            f"held_out_test={self.final is not None})"
        )

    def _check(self) -> None:
        if self.metric not in METRICS:
            raise InputError(f"metric must be one of {', '.join(METRICS)}; got {self.metric!r}")
        if self.metric in _BINARY_METRICS and not self.phenotype.binary:
            raise InputError(f"metric {self.metric} needs a binary trait (give a prevalence)")
        if self.training not in ("own", "pooled", "meta"):
            raise InputError(f"training must be own, pooled or meta; got {self.training!r}")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise InputError(f"fractions must lie in (0, 1]; got {list(self.fractions)}")

    def _derived(self, *, memo: dict, **changes) -> GenomicSource:
        """A copy with ``changes`` to its settings, sharing this one's trained scores and
        keeping the measurements ``memo``."""
        source = object.__new__(GenomicSource)
        for name in self.__slots__:
            object.__setattr__(source, name, changes.get(name, getattr(self, name)))
        object.__setattr__(source, "_memo", memo)
        source._check()
        return source

    @property
    def sense(self) -> str:
        """Every metric here is a score: higher is better."""
        return "score"

    def pools(self) -> dict[str, int]:
        """The most training samples each group can supply."""
        return {g: self.split.max_training(g, self.phenotype) for g in self.cohort.groups}

    def with_fractions(self, fractions: Sequence[float]) -> GenomicSource:
        """The same source measuring other nested fractions; it shares this one's trained
        scores and measurements, so a training set measured by either is computed once."""
        return self._derived(fractions=tuple(fractions), memo=self._memo)

    def on_split(self, split: CohortSplit) -> GenomicSource:
        """The same source scoring on ``split``'s test sets (same pools and panels). It shares
        this one's trainers and trained scores, not its measurements."""
        return self._derived(split=split, final=None, memo={})

    def with_held_out_test(self) -> GenomicSource:
        """This source measuring on half of each test set, with :attr:`final` scoring on the
        other half: decisions taken on measurements never see the people results are
        reported on (:meth:`simulate.prs.CohortSplit.halved_tests`)."""
        measured, held_out = self.split.halved_tests()
        on_measured = self.on_split(measured)
        return on_measured._derived(final=self.on_split(held_out), memo=on_measured._memo)

    def measure(self, counts: Mapping[str, int], *, seed: int) -> pd.DataFrame:
        """Train on nested fractions of ``counts`` and measure each group on its test set.

        The pools are fixed by the split, so the same counts give the same values; ``seed`` is
        recorded with every row. Sizes under 10 samples, and subsamples too small to score
        (a metric that comes out NaN), give no row.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, n, n_total, value, seed``; ``value`` is the metric (a score).
        """
        unknown = sorted(set(counts) - set(self.cohort.groups))
        if unknown:
            raise InputError(f"the cohort has no group(s) {', '.join(unknown)}")
        pools = self.pools()
        for group, n in counts.items():
            if not 0 <= int(n) <= pools[group]:
                raise InputError(
                    f"group {group} can supply at most {pools[group]} training samples; "
                    f"asked for {n}"
                )
        rows = []
        for fraction in sorted(self.fractions):
            sizes = {g: int(np.floor(fraction * n)) for g, n in counts.items() if n > 0}
            n_total = float(sum(sizes.values()))
            if self.training == "own":
                for group, n in sizes.items():
                    if n >= _MINIMUM_TRAINING:
                        value = self._remembered((group, n))[group]
                        rows.append((group, float(n), n_total, value, seed))
            else:
                usable = {g: n for g, n in sizes.items() if n >= _MINIMUM_TRAINING}
                if usable:
                    values = self._remembered(tuple(sorted(usable.items())))
                    for group, n in usable.items():
                        rows.append((group, float(n), n_total, values[group], seed))
        table = pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])
        # A subsample too small to score (no case in a validation split, say) gives no point.
        return table[np.isfinite(table["value"].to_numpy(float))].reset_index(drop=True)

    def _remembered(self, key: tuple) -> dict[str, float]:
        """The values of one training set, computed once: the split fixes the training order,
        so the same counts always give the same score (strategies share pilots and sizes)."""
        if key not in self._memo:
            if self.training == "own":
                group, n = key
                counts, kind = {group: n}, group
            else:
                counts, kind = dict(key), "*"
            score = self._trained.score(kind, counts, self)
            self._memo[key] = self._values(score, tuple(counts))
        return self._memo[key]

    def _values(self, score: PolygenicScore, groups: Sequence[str]) -> dict[str, float]:
        table = evaluate_score(
            score, self.cohort, self.phenotype, self.split,
            groups=groups, benefit=self.benefit, cost=self.cost, data=self._trained.data,
        ).table  # fmt: skip
        return dict(zip(table["group"], table[self.metric].astype(float), strict=True))


class _TrainedScores:
    """The trainers and trained scores of one world: the cache every source made from one
    :class:`GenomicSource` shares (other fractions, other test people), so each training set
    is trained once.

    Training sets are nested, so a trainer grows through the fractions of one call and from one
    round's counts to the next. All trainers share the split's
    :class:`~simulate.training_data.TrainingData` (prefix statistics, validation and test
    genotypes, reference panels), which scoring uses too.
    """

    __slots__ = ("data", "trainers", "scores")

    def __init__(self, cohort: Cohort, phenotype: Phenotype, split: CohortSplit) -> None:
        self.data = TrainingData(cohort, phenotype, split)
        self.trainers: dict[str, list[ScoreTrainer]] = {}
        self.scores: dict[tuple, PolygenicScore] = {}

    def score(self, kind: str, counts: dict[str, int], source: GenomicSource) -> PolygenicScore:
        """The score ``source`` trains on ``counts`` (``kind``: the group, or ``*`` for one
        score of every group), trained once."""
        key = (kind, tuple(sorted(counts.items())))
        if key not in self.scores:
            self.scores[key] = self._trainer_for(kind, counts, source).fit(counts)
        return self.scores[key]

    def _trainer_for(self, kind: str, counts: dict[str, int], source: GenomicSource
                     ) -> ScoreTrainer:  # fmt: skip
        """A trainer that can reach ``counts`` by adding samples: the one holding the most
        samples without exceeding ``counts`` in any group, else a new one."""
        trainers = self.trainers.setdefault(kind, [])
        reachable = [
            trainer for trainer in trainers
            if all(n <= counts.get(g, 0) for g, n in trainer.added().items())
        ]  # fmt: skip
        if reachable:
            return max(reachable, key=lambda trainer: sum(trainer.added().values()))
        trainer = ScoreTrainer(
            source.cohort, source.phenotype, source.split, mode=source.training, data=self.data,
            **source.trainer_options,
        )  # fmt: skip
        trainers.append(trainer)
        return trainer


#: Subsample fractions of each pool at which the oracle curves are measured.
ORACLE_FRACTIONS: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1.0)


def genomic_source_for_benchmark(
    world: GenomicWorld | Mapping,
    *,
    groups: Sequence[str],
    training: str = "own",
    seed: int = 0,
    split_seed: int | None = None,
    held_out_test: bool = False,
    cache_dir: str | Path | None = None,
    workers: int = 1,
):
    """A genomic world for the benchmark: its source, pools and oracle curves.

    Parameters
    ----------
    world : GenomicWorld or mapping
        The world's settings (:class:`simulate.config.GenomicWorld`), or a mapping read by
        :meth:`~simulate.config.GenomicWorld.from_settings` (``preset``, overrides of
        :class:`simulate.config.SimulationConfig` fields, ``metric``, ``fractions``).
    groups : sequence of str
        The groups of the study.
    training : {"own", "pooled"}
        How each group's score is trained.
    seed : int
        Seed of the cohort, trait and split.
    split_seed : int, optional
        Seed of the split alone (reference panels, test sets, training order), for replicates
        that are independent draws from one cohort; by default ``seed``.
    held_out_test : bool
        Measure on half of each test set and report on the other (the source's
        :attr:`GenomicSource.final`, where the oracle curves are measured too); see
        :meth:`GenomicSource.with_held_out_test`.
    cache_dir : path, optional
        The cohort cache (:func:`simulate.cohort.simulate_cohort`).
    workers : int
        Processes simulating the cohort's chromosomes.

    Returns
    -------
    (GenomicSource, dict, dict)
        The source; the most training samples each group can supply; and per group the
        "oracle" learning curve (score sense): a power-offset curve fitted to measurements on
        nested subsamples of the whole pool (:data:`ORACLE_FRACTIONS`). For pooled training
        every group grows in proportion, so the oracle is an approximation there.
    """
    from allocate import fit_curves
    from simulate.config import world_settings
    from simulate.world import build_world

    world = world_settings("genomic", world, groups)
    config = replace(world.simulation, seed=int(seed))
    built = build_world(config, split_seed=split_seed, cache_dir=cache_dir, workers=workers)
    trait = built.phenotype
    metric = world.metric or ("utility" if trait.binary else "r2")
    mode = "own" if training == "own" else "pooled"
    source = GenomicSource(
        built.cohort, trait, built.split, metric=metric, training=mode,
        fractions=world.fractions, trainer_options=config.trainer_options(),
    )  # fmt: skip
    if held_out_test:
        source = source.with_held_out_test()
    pools = source.pools()
    reported = source.final or source  # where results are scored
    points = reported.with_fractions(ORACLE_FRACTIONS).measure(pools, seed=int(seed))
    best = METRIC_BEST.get(metric, (trait.prevalence or 0.05) * (source.benefit - source.cost))
    fits = fit_curves(points, family="power-offset", sense="score", score_max=best)
    return source, pools, {group: fits[group].curve for group in groups}
