"""A data source backed by a simulated cohort: learning-curve points from real PRS training.

:class:`GenomicSource` answers ``measure(counts, *, seed)`` like the other sources of
:mod:`allocate.sources`: given how many training samples each group has, it trains polygenic
scores on nested subsamples (fractions of each count) and returns each group's metric on its
held-out test set, as rows ``group, n, n_total, value, seed`` of a points table. Every metric is
a score (higher is better): R^2, AUC or the decision utility.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from allocate.errors import InputError
from simulate.cohort import Cohort
from simulate.phenotype import Phenotype
from simulate.prs import CohortSplit, ScoreTrainer, TrainingMode, evaluate_score

__all__ = ["GenomicSource", "Metric", "METRIC_BEST"]

Metric = Literal["r2", "r2_genetic", "auc", "utility"]
#: The best possible value of each metric (the utility's depends on prevalence and payoffs).
METRIC_BEST = {"r2": 1.0, "r2_genetic": 1.0, "auc": 1.0}
_MINIMUM_TRAINING = 10


@dataclass(frozen=True, eq=False)
class GenomicSource:
    """Measures per-group PRS performance at given training counts.

    Parameters
    ----------
    cohort, phenotype, split
        The simulated world and its fixed split into reference panels, test sets and pools.
    metric : {"r2", "r2_genetic", "auc", "utility"}
        What is measured: R^2 with the phenotype, R^2 with the true genetic value, AUC, or the
        decision utility. All are scores (higher is better).
    training : {"own", "pooled", "meta"}
        ``own``: each group's score is trained on that group's samples only; ``pooled`` /
        ``meta``: one score trained on all groups' samples together.
    fractions : sequence of float
        Nested subsample fractions of each count measured per call (1 = all samples in hand).
    benefit, cost : float
        Payoffs of the decision utility.
    trainer_options : dict
        Passed to :class:`simulate.prs.ScoreTrainer` (``r2``, ``window``, ``thresholds``).
    """

    cohort: Cohort
    phenotype: Phenotype
    split: CohortSplit
    metric: Metric = "r2"
    training: TrainingMode = "own"
    fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0)
    benefit: float = 100.0
    cost: float = 5.0
    trainer_options: dict = field(default_factory=dict)
    _trainers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.metric not in ("r2", "r2_genetic", "auc", "utility"):
            raise InputError(
                f"metric must be r2, r2_genetic, auc or utility; got {self.metric!r}"
            )
        if self.metric in ("auc", "utility") and not self.phenotype.binary:
            raise InputError(f"metric {self.metric} needs a binary trait (give a prevalence)")
        if self.training not in ("own", "pooled", "meta"):
            raise InputError(f"training must be own, pooled or meta; got {self.training!r}")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise InputError(f"fractions must lie in (0, 1]; got {list(self.fractions)}")

    @property
    def sense(self) -> str:
        """Every metric here is a score: higher is better."""
        return "score"

    def pools(self) -> dict[str, int]:
        """The most training samples each group can supply."""
        return {g: self.split.max_training(g, self.phenotype) for g in self.cohort.groups}

    def measure(self, counts: Mapping[str, int], *, seed: int) -> pd.DataFrame:
        """Train on nested fractions of ``counts`` and measure each group on its test set.

        The pools are fixed by the split, so the same counts give the same values; ``seed`` is
        recorded with every row. Sizes under 10 samples are skipped.

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
                        value = self._value(self._trainer(group), {group: n}, group)
                        rows.append((group, float(n), n_total, value, seed))
            else:
                usable = {g: n for g, n in sizes.items() if n >= _MINIMUM_TRAINING}
                if usable:
                    values = self._values(self._trainer("*"), usable)
                    for group, n in usable.items():
                        rows.append((group, float(n), n_total, values[group], seed))
        return pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])

    def _trainer(self, key: str) -> ScoreTrainer:
        if key not in self._trainers:
            mode = "own" if self.training == "own" else self.training
            self._trainers[key] = ScoreTrainer(
                self.cohort, self.phenotype, self.split, mode=mode, **self.trainer_options
            )
        return self._trainers[key]

    def _value(self, trainer: ScoreTrainer, counts: dict[str, int], group: str) -> float:
        return self._values(trainer, counts, groups=(group,))[group]

    def _values(self, trainer, counts, groups: Sequence[str] | None = None) -> dict[str, float]:
        score = trainer.fit(counts)
        table = evaluate_score(
            score, self.cohort, self.phenotype, self.split,
            groups=groups or tuple(counts), benefit=self.benefit, cost=self.cost,
        ).table  # fmt: skip
        return dict(zip(table["group"], table[self.metric].astype(float), strict=True))
