"""Each group's learning curve of a polygenic score, measured on a genotype cohort.

:func:`measure_score_curves` does for a genotype cohort (a consortium's pilot, read with
:func:`simulate.plink_cohort.read_plink_cohort`, or a simulated one) what
:func:`allocate.measure_curves` does for a table and a scikit-learn model, with the project's
own polygenic-score training, the code the simulated source runs (:class:`simulate.prs.
ScoreTrainer`): an association scan on each training set, clumping against a reference panel,
the p-value threshold chosen on the training set's validation members, and the score measured
on the group's held-out people.

Who trains and who is tested is :mod:`simulate.score_design`'s: nested training sets from
each group's training pool, test people no score trains on, a reference panel drawn from the
pool. Each group is scored on its own test people, and every metric is a score (best 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from allocate import InputError, MeasuredCurves
from simulate.metrics import auc, r_squared
from simulate.prs import CohortSplit, PolygenicScore, ScoreTrainer
from simulate.score_design import replicate_splits, size_plan, training_limits
from simulate.training_data import TrainingData

__all__ = ["measure_score_curves", "SCORE_METRICS"]

#: Metrics of a score on a group's test people: R^2 with the phenotype, AUC (binary traits).
SCORE_METRICS: tuple[str, ...] = ("r2", "auc")


def measure_score_curves(
    cohort,
    trait=None,
    *,
    metric: str | None = None,
    sizes: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    fractions: Sequence[float] | None = None,
    training: str = "own",
    test_size: float | int = 0.25,
    replicates: int = 3,
    seed: int = 0,
    reference: int = 200,
    trainer_options: Mapping | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MeasuredCurves:
    """Measure each group's polygenic-score learning curve on a cohort and its trait.

    Parameters
    ----------
    cohort, trait
        A :class:`simulate.cohort.Cohort` and its :class:`simulate.phenotype.Phenotype`, or a
        :class:`simulate.plink_cohort.PlinkCohort` (``trait`` then defaults to its own).
    metric : {"r2", "auc"}, optional
        R^2 of the score with the phenotype, or its AUC (a binary trait). Default: ``auc``
        for a binary trait, ``r2`` for a quantitative one. Both are scores (best 1).
    sizes : sequence of int or mapping of group to sequence of int, optional
        Training sizes per group, at least 10 (for a binary trait, half cases). Pooled
        training needs the same number of sizes in every group.
    fractions : sequence of float, optional
        Instead of ``sizes``: fractions in (0, 1] of each group's largest training set.
        Default 1/16, 1/8, 1/4, 1/2, 1.
    training : {"own", "pooled"}
        ``own``: each group's score is trained on its own people; ``pooled``: one score per
        step on every group's training set at once (group-centred), ``n_total`` its size.
    test_size : float or int
        Held-out people per group: a fraction in (0, 1) or a number >= 2.
    replicates : int
        Independent repetitions (a new split, training order and reference panel).
    seed : int
        Seeds every random choice.
    reference : int
        People per group in the LD reference panel (at least 10; the whole training pool
        when it is smaller), drawn from the group's training pool.
    trainer_options : mapping, optional
        Passed to :class:`simulate.prs.ScoreTrainer` (``r2``, ``window``, ``thresholds``).
    progress : callable, optional
        Called as ``progress(done, total)`` after each score trained.

    Returns
    -------
    allocate.MeasuredCurves
        The points table and the metric (sense ``score``, best 1); for a PLINK cohort, its
        ``warnings`` say which individuals and variants the files held that were left out.

    Raises
    ------
    InputError
        An unknown metric, AUC of a quantitative trait, a trait of a single class, a group
        too small for the largest size plus its test people, test people of a single class
        for AUC, sizes under 10, or options out of range.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from simulate import simulate_cohort, simulate_phenotype, write_plink
    >>> cohort = simulate_cohort(("CEU", "YRI"), n_per_group=120, chromosomes=1,
    ...                          chromosome_length=2e5, seed=1)
    >>> trait = simulate_phenotype(cohort, h2=0.8, causal=5, seed=1)
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_plink(cohort, folder / "pilot", phenotype=trait.values)
    >>> _ = (folder / "groups.txt").write_text(
    ...     "IID group\\n" + "".join(f"{g}_{i} {g}\\n" for g in ("CEU", "YRI") for i in range(120)))
    >>> from simulate import read_plink_cohort
    >>> pilot = read_plink_cohort(folder / "pilot", groups=folder / "groups.txt")
    >>> measured = measure_score_curves(pilot, sizes=[20, 40, 80], replicates=2, reference=20)
    >>> measured.metric, measured.sense, measured.points.shape
    ('r2', 'score', (12, 5))
    """
    if trait is None:
        trait = getattr(cohort, "trait", None)
        if trait is None:
            raise InputError("measure_score_curves needs the trait of a simulated cohort")
    metric = _resolve_metric(metric, trait)
    if training not in ("own", "pooled"):
        raise InputError(f"training must be 'own' or 'pooled'; got {training!r}")
    _check_classes(cohort, trait, training)
    splits = replicate_splits(cohort, trait, test_size=test_size, reference=reference,
                              replicates=replicates, seed=seed)  # fmt: skip
    if metric == "auc":
        _check_test_classes(trait, splits)
    plan = size_plan(splits, trait, sizes=sizes, fractions=fractions, training=training)
    total = len(splits) * (sum(map(len, plan.values())) if training == "own"
                           else len(plan[cohort.groups[0]]))  # fmt: skip
    counter = _Counter(total, progress)
    rows = []
    for split in splits:
        scorer = _Scorer(cohort, trait, split, metric, dict(trainer_options or {}))
        rows += scorer.own(plan, counter) if training == "own" else scorer.pooled(plan, counter)
    return MeasuredCurves(
        points=_points_table(rows, cohort.groups), metric=metric, sense="score",
        score_max=1.0, training=training, test_rows={g: int(t.size) for g, t in
        splits[0].test.items()}, pools=training_limits(splits, trait),
        training_runs=counter.done, warnings=tuple(getattr(cohort, "notes", ())),
    )  # fmt: skip


class _Scorer:
    """Trains the scores of one split and measures each on its group's test people."""

    def __init__(self, cohort, trait, split: CohortSplit, metric: str, options: dict) -> None:
        self.cohort, self.trait, self.split, self.metric = cohort, trait, split, metric
        self.options = options
        self.data = TrainingData(cohort, trait, split)

    def trainer(self, mode: str) -> ScoreTrainer:
        return ScoreTrainer(self.cohort, self.trait, self.split, mode=mode, data=self.data,
                            **self.options)  # fmt: skip

    def own(self, plan: dict[str, list[int]], counter) -> list[tuple]:
        rows, seed = [], self.split.seed
        for group, wanted in plan.items():
            trainer = self.trainer("own")  # grows through the nested sizes
            for n in wanted:
                value = self.value(trainer.fit({group: n}), group)
                rows.append((group, float(n), float(n), value, seed))
                counter.step()
        return rows

    def pooled(self, plan: dict[str, list[int]], counter) -> list[tuple]:
        rows, trainer, seed = [], self.trainer("pooled"), self.split.seed
        for step in range(len(next(iter(plan.values())))):
            sizes = {g: wanted[step] for g, wanted in plan.items()}
            score = trainer.fit(sizes)
            total = float(sum(sizes.values()))
            rows += [(g, float(n), total, self.value(score, g), seed) for g, n in sizes.items()]
            counter.step()
        return rows

    def value(self, score: PolygenicScore, group: str) -> float:
        """The score's metric on ``group``'s test people, centred within them (as
        :func:`simulate.prs.evaluate_score` measures it)."""
        test = self.split.test[group]
        if score.variants.size == 0:
            value = np.zeros(test.size)
        else:
            value = self.data.test_dosages(test, score.variants).astype(np.float64)
            value = value @ score.weights
        value = value - value.mean()
        y = self.trait.values[test]
        return auc(value, y) if self.metric == "auc" else r_squared(value, y)


def _points_table(rows: list[tuple], groups: Sequence[str]) -> pd.DataFrame:
    """The points, sorted as :func:`allocate.measure_curves` sorts them."""
    points = pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])
    order = {g: i for i, g in enumerate(groups)}
    return points.sort_values(
        ["group", "seed", "n"], key=lambda c: c.map(order) if c.name == "group" else c,
        kind="stable",
    ).reset_index(drop=True)


class _Counter:
    def __init__(self, total: int, progress) -> None:
        self.total, self.progress, self.done = total, progress, 0

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _resolve_metric(metric: str | None, trait) -> str:
    if metric is None:
        return "auc" if trait.binary else "r2"
    if metric not in SCORE_METRICS:
        close = difflib.get_close_matches(str(metric), SCORE_METRICS, n=1, cutoff=0.3)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"unknown metric {metric!r}{hint} (a score's metric is "
                         f"{' or '.join(SCORE_METRICS)})")  # fmt: skip
    if metric == "auc" and not trait.binary:
        raise InputError("metric 'auc' needs a binary (case/control) trait; this one is "
                         "quantitative: use metric 'r2'")  # fmt: skip
    return metric


def _check_classes(cohort, trait, training: str) -> None:
    """A binary trait needs cases and controls, in each group for own-group training."""
    if not trait.binary:
        return
    values = trait.values
    if np.unique(values).size < 2:
        kind = "a case" if values.size and values[0] == 1 else "a control"
        raise InputError(f"the phenotype has a single class (everyone is {kind}); a binary "
                         "trait needs cases (coded 2) and controls (coded 1)")  # fmt: skip
    if training == "own":
        for group in cohort.groups:
            present = np.unique(values[cohort.individuals_of(group)])
            if present.size < 2:
                kind = "cases" if present[0] == 1 else "controls"
                raise InputError(f"group {group!r} holds only {kind}, so a score trained on "
                                 "that group alone cannot be; use training='pooled'")


def _check_test_classes(trait, splits: list[CohortSplit]) -> None:
    for group, test in splits[0].test.items():
        if np.unique(trait.values[test]).size < 2:
            raise InputError(f"group {group!r}: its test people are of a single class, where "
                             "'auc' is undefined; ask for a larger test_size")  # fmt: skip
