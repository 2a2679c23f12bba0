"""Polygenic risk scores by clumping and thresholding, trained on any allocation.

Each group's individuals are split once (:func:`split_cohort`) into a fixed LD reference panel,
a held-out test set and a training pool in random order; a training set of ``n`` from a group
is the first ``n`` of its pool (for a binary trait: the first ``n/2`` cases and ``n/2``
controls), so training sets for growing allocations are nested. Inside a training set every
fifth pool member (a fixed label) is the validation split: the p-value threshold is chosen on it,
the scan runs on the rest (discovery), and the final weights come from the whole training set.

:class:`ScoreTrainer` keeps the scan's sufficient statistics, so asking for a larger allocation
adds only the new samples. Training modes: ``own`` (one group), ``pooled`` (all training groups,
group-centred: one intercept per group) and ``meta`` (fixed-effects meta-analysis of per-group
scans).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocate import InputError
from simulate.association import AssociationResult, ScanStatistics, meta_analyse
from simulate.clumping import clump
from simulate.cohort import Cohort
from simulate.metrics import (
    auc,
    auc_interval,
    decision_utility,
    fit_platt,
    r_squared,
    r_squared_interval,
)
from simulate.phenotype import Phenotype
from simulate.training_data import TrainingData

__all__ = [
    "CohortSplit",
    "split_cohort",
    "PolygenicScore",
    "ScoreTrainer",
    "ScoreEvaluation",
    "evaluate_score",
    "Portability",
    "portability",
    "DEFAULT_THRESHOLDS",
    "TrainingMode",
    "Method",
]

TrainingMode = Literal["own", "pooled", "meta"]
Method = Literal["clumping", "ldpred-inf"]
#: P-value thresholds tried on the validation split.
DEFAULT_THRESHOLDS: tuple[float, ...] = (5e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.5)
_VALIDATION_EVERY = 5


@dataclass(frozen=True, eq=False)
class CohortSplit:
    """Each group's reference panel, test set and training pool (cohort individual indices).

    ``validation`` marks, per group, which pool members (by pool position) belong to the
    validation split of any training set that contains them.
    """

    reference: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    pool: dict[str, np.ndarray]
    seed: int

    def pool_size(self, group: str) -> int:
        return int(self.pool[group].size)

    def max_training(self, group: str, phenotype: Phenotype | None = None) -> int:
        """The largest training set of ``group``: its pool, or 1:1 case-control for a binary
        trait (every case in the pool and as many controls)."""
        if phenotype is None or not phenotype.binary:
            return self.pool_size(group)
        cases = int(phenotype.values[self.pool[group]].sum())
        return min(2 * cases, self.pool_size(group))

    def training(
        self, group: str, n: int, phenotype: Phenotype | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n`` of the group's pool: (individuals, is-validation flags).

        With a binary ``phenotype``, half cases and half controls in pool order (as many cases
        as the pool has, if fewer).
        """
        pool = self.pool[group]
        if not 0 <= n <= pool.size:
            raise InputError(
                f"group {group} has {pool.size} individuals in its training pool; asked for {n}"
            )
        rank = np.arange(pool.size)
        if phenotype is None or not phenotype.binary:
            chosen = rank[:n]
        else:
            is_case = phenotype.values[pool] == 1
            cases, controls = rank[is_case], rank[~is_case]
            n_cases = min(n // 2, cases.size)
            n_controls = n - n_cases
            if n_controls > controls.size:
                raise InputError(f"group {group} has too few controls for {n} training samples")
            chosen = np.sort(np.concatenate([cases[:n_cases], controls[:n_controls]]))
        validation = self._validation_flags(group, phenotype)[chosen]
        return pool[chosen], validation

    def training_order(
        self, group: str, phenotype: Phenotype | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The group's pool in the order its members enter growing training sets:
        ``training(group, n, phenotype)`` holds the first ``n`` (sorted back to pool order),
        for every ``n`` up to the length returned. (individuals, is-validation flags).

        With a binary ``phenotype`` training sets alternate a control and a case while both
        last (control ``j`` enters the set of ``2j + 1``, case ``i`` the set of ``2i + 2``),
        then take the remaining controls; the order stops where :meth:`training` would run
        out of controls.
        """
        pool = self.pool[group]
        if phenotype is None or not phenotype.binary:
            entry = np.arange(1, pool.size + 1)
        else:
            is_case = phenotype.values[pool] == 1
            cases = int(is_case.sum())
            entry = np.empty(pool.size, dtype=np.int64)
            entry[is_case] = 2 * np.arange(cases) + 2
            control = np.arange(pool.size - cases)
            entry[~is_case] = np.where(control < cases, 2 * control + 1, control + cases + 1)
        order = np.argsort(entry, kind="stable")
        gaps = np.flatnonzero(entry[order] != np.arange(1, pool.size + 1))
        order = order[: gaps[0]] if gaps.size else order
        return pool[order], self._validation_flags(group, phenotype)[order]

    def halved_tests(self) -> tuple[CohortSplit, CohortSplit]:
        """The same split twice, with each group's test set cut into two disjoint halves.

        A benchmark measures with the first half while strategies collect data, and scores
        the final allocations on the second, which no decision has seen (a strategy that
        chases the noise of the people it measures on gains nothing there).
        """
        first = {g: test[0::2] for g, test in self.test.items()}  # test sets are in random
        second = {g: test[1::2] for g, test in self.test.items()}  # order: alternate members
        return replace(self, test=first), replace(self, test=second)

    def _validation_flags(self, group: str, phenotype: Phenotype | None) -> np.ndarray:
        pool = self.pool[group]
        flags = np.zeros(pool.size, dtype=bool)
        if phenotype is None or not phenotype.binary:
            flags[_VALIDATION_EVERY - 1 :: _VALIDATION_EVERY] = True
            return flags
        is_case = phenotype.values[pool] == 1
        for members in (np.flatnonzero(is_case), np.flatnonzero(~is_case)):
            flags[members[_VALIDATION_EVERY - 1 :: _VALIDATION_EVERY]] = True
        return flags


def split_cohort(
    cohort: Cohort, *, reference: int = 200, test_fraction: float = 0.25, seed: int = 0
) -> CohortSplit:
    """Split each group into a reference panel, a test set and a shuffled training pool."""
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1); got {test_fraction}")
    rng = np.random.default_rng(seed)
    panels, tests, pools = {}, {}, {}
    for group in cohort.groups:
        members = rng.permutation(cohort.individuals_of(group))
        n_test = int(round(test_fraction * members.size))
        if reference < 10 or members.size - reference - n_test < 10:
            raise InputError(
                f"group {group} has {members.size} individuals: too few for a reference panel "
                f"of {reference} (at least 10), a test set of {n_test} and a training pool of 10"
            )
        panels[group] = np.sort(members[:reference])
        tests[group] = np.sort(members[reference : reference + n_test])
        pools[group] = members[reference + n_test :]
    return CohortSplit(panels, tests, pools, int(seed))


@dataclass(frozen=True, eq=False)
class PolygenicScore:
    """A trained score: variant indices (into ``cohort.variants``) and their weights."""

    variants: np.ndarray
    weights: np.ndarray
    threshold: float
    mode: str
    counts: dict[str, int]
    validation_metric: float
    platt: Any = None

    def score(self, cohort: Cohort, individuals: np.ndarray) -> np.ndarray:
        """The score of each of ``individuals`` (decodes only the score's variants)."""
        if self.variants.size == 0:
            return np.zeros(len(individuals))
        return cohort.dosages(individuals, self.variants).astype(np.float64) @ self.weights

    def summary(self) -> str:
        counts = ", ".join(f"{g} {n}" for g, n in self.counts.items())
        return (
            f"PRS ({self.mode}; {counts}): {self.variants.size} variants at p <= "
            f"{self.threshold:g}, validation metric {self.validation_metric:.4f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "counts": dict(self.counts),
            "variants": int(self.variants.size),
            "threshold": self.threshold,
            "validation_metric": self.validation_metric,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"variant": self.variants, "weight": self.weights})


class ScoreTrainer:
    """Trains clumping-and-thresholding scores on growing allocations, incrementally.

    Parameters
    ----------
    cohort, phenotype, split
        The data and its split.
    mode : {"own", "pooled", "meta"}
        How several training groups are combined (``own`` needs exactly one group).
    r2, window : float
        Clumping threshold and half-window (bp).
    ld : {"dosage", "haplotype"}
        The r^2 clumping measures in the reference panel. ``dosage`` (the default): the squared
        correlation of genotype dosages, what a study without phase has, and the value the
        benchmark's published figures were computed with. ``haplotype``: the true-phase
        haplotype r^2 the simulation knows (from the trees, as msprime's LD calculator gives
        it; the original pipeline's choice). The two agree closely (correlation 0.993 against
        PLINK's EM haplotype r^2) but can pick different index variants. Clumping only:
        LDpred-inf shrinks with the dosage LD.
    thresholds : sequence of float
        P-value thresholds tried on the validation split.
    method : {"clumping", "ldpred-inf"}
        Clumping and thresholding, or LDpred-inf shrinkage by LD block
        (:mod:`simulate.shrinkage`; weights from the whole training set, its Platt scaling
        fitted on the validation split with those weights).
    h2 : float, optional
        Heritability assumed by LDpred-inf (default: the trait's true h2).
    block_size : int
        Variants per LD block for LDpred-inf.
    panels : dict, optional
        A cache of standardised reference panels to share between trainers of one split.
    data : simulate.training_data.TrainingData, optional
        The split's shared work (training-prefix statistics, validation and test genotypes,
        panels), for trainers of one split to share; by default the trainer's own.
    """

    def __init__(
        self,
        cohort: Cohort,
        phenotype: Phenotype,
        split: CohortSplit,
        *,
        mode: TrainingMode = "own",
        r2: float = 0.2,
        window: float = 1e6,
        ld: Literal["dosage", "haplotype"] = "dosage",
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        method: Method = "clumping",
        h2: float | None = None,
        block_size: int = 500,
        panels: dict | None = None,
        data: TrainingData | None = None,
    ) -> None:
        if method not in ("clumping", "ldpred-inf"):
            raise InputError(f"method must be 'clumping' or 'ldpred-inf'; got {method!r}")
        self.method, self.block_size = method, int(block_size)
        self.h2 = None if h2 is None else float(h2)
        if ld not in ("dosage", "haplotype"):
            raise InputError(f"ld must be 'dosage' or 'haplotype'; got {ld!r}")
        if ld != "dosage" and method != "clumping":
            raise InputError(f"ld={ld!r} is clumping's LD measure; give it with "
                             f"method='clumping' ({method} uses the dosage LD)")
        self.ld = ld
        if mode not in ("own", "pooled", "meta"):
            raise InputError(f"mode must be 'own', 'pooled' or 'meta'; got {mode!r}")
        self.cohort, self.phenotype, self.split = cohort, phenotype, split
        self.mode, self.r2, self.window = mode, r2, window
        self.thresholds = tuple(sorted(thresholds))
        self.test = "logistic" if phenotype.binary else "linear"
        self._discovery = ScanStatistics.empty(cohort.groups, cohort.num_variants)
        self._validation = ScanStatistics.empty(cohort.groups, cohort.num_variants)
        self._added = dict.fromkeys(cohort.groups, 0)
        self.data = TrainingData(cohort, phenotype, split) if data is None else data
        if panels is not None:
            self.data.panels = panels

    def added(self) -> dict[str, int]:
        """How many training samples of each group the statistics hold."""
        return dict(self._added)

    def grow(self, counts: Mapping[str, int]) -> None:
        """Bring the statistics to ``counts`` per group.

        Each group's statistics are those of its training prefix, taken from the shared
        :class:`TrainingData`, which reads only the samples past the largest prefix it holds
        below ``n`` (so growing adds only the new samples, and shrinking costs no reading).
        """
        changed = False
        for group, n in counts.items():
            if group not in self.cohort.groups:
                raise InputError(f"unknown group {group!r}; the cohort has {self.cohort.groups}")
            n = int(n)
            if n != self._added[group]:
                self.split.training(group, n, self.phenotype)  # validates n
                self._added[group] = n
                changed = True
        if changed:
            parts = {g: self.data.prefix(g, n) for g, n in self._added.items() if n > 0}
            groups, variants = self.cohort.groups, self.cohort.num_variants
            self._discovery = ScanStatistics.stacked(
                groups, {g: part[0] for g, part in parts.items()}, variants
            )
            self._validation = ScanStatistics.stacked(
                groups, {g: part[1] for g, part in parts.items()}, variants
            )

    def fit(self, counts: Mapping[str, int]) -> PolygenicScore:
        """Train on ``counts`` training samples per group (groups with 0 are left out)."""
        counts = {g: int(n) for g, n in counts.items() if int(n) > 0}
        if not counts:
            raise InputError("training needs at least one group with samples")
        if self.mode == "own" and len(counts) != 1:
            raise InputError(f"mode 'own' trains on one group; got {sorted(counts)}")
        self.grow({g: counts.get(g, 0) for g in self.cohort.groups})
        groups = tuple(g for g in self.cohort.groups if g in counts)
        if self.method == "ldpred-inf":
            return self._fit_ldpred(counts, groups)
        discovery = self._discovery.only(groups)
        common = self._common(discovery)  # only these can enter the score: scan only them
        association = self._scan(discovery, groups, common)
        # Only variants under the largest threshold can be kept: clumping the others would
        # gather their reference columns for nothing (it never keeps them, and removing them
        # changes nothing).
        candidates = common[association.p[common] <= self.thresholds[-1]]
        kept = candidates[
            clump(
                association.p[candidates],
                self.cohort.variants["chromosome"].to_numpy()[candidates],
                self.cohort.variants["position"].to_numpy()[candidates],
                self.data.panel(groups, self.ld)[:, candidates],
                r2=self.r2,
                window=self.window,
                p_max=self.thresholds[-1],
            )
        ]
        threshold, metric, platt = self._choose_threshold(association, kept, groups)
        chosen = kept[association.p[kept] <= threshold]
        full = self._scan(discovery + self._validation.only(groups), groups, chosen)
        weights = np.nan_to_num(full.beta[chosen])
        return PolygenicScore(
            np.sort(chosen),
            weights[np.argsort(chosen)],
            threshold,
            self.mode,
            counts,
            metric,
            platt,
        )

    def _fit_ldpred(self, counts: dict[str, int], groups: tuple[str, ...]) -> PolygenicScore:
        from simulate.shrinkage import ld_blocks, ldpred_inf_weights, marginal_correlations

        statistics = self._discovery.only(groups) + self._validation.only(groups)
        candidates = self._common(statistics)
        b, sd = marginal_correlations(statistics)
        chromosome = self.cohort.variants["chromosome"].to_numpy()[candidates]
        weights = ldpred_inf_weights(
            b[candidates], sd[candidates], self._panel(groups)[:, candidates],
            ld_blocks(chromosome, block_size=self.block_size),
            n=int(statistics.n.sum()), h2=self._assumed_h2(groups),
        )  # fmt: skip
        used = weights != 0
        variants, weights = candidates[used], weights[used]
        metric, platt = self._validation_fit(variants, weights, groups)
        return PolygenicScore(variants, weights, float("nan"), self.mode, counts, metric, platt)

    def _assumed_h2(self, groups: tuple[str, ...]) -> float:
        """The heritability LDpred-inf assumes: the given one, else the trait's true one
        (averaged over the training groups)."""
        if self.h2 is not None:
            return self.h2
        return float(np.mean([self.phenotype.heritability(g) for g in groups]))

    def _validation_rows(self, groups: tuple[str, ...]) -> np.ndarray:
        chosen = [self.split.training(g, self._added[g], self.phenotype) for g in groups]
        return np.concatenate([rows[flags] for rows, flags in chosen])

    def _validation_fit(self, variants, weights, groups):
        rows = self._validation_rows(groups)
        if rows.size < 3 or variants.size == 0:
            return float("nan"), None
        y = self.phenotype.values[rows]
        score = self.data.validation_dosages(rows, variants).astype(np.float64) @ weights
        score = _centre_within(score, self.cohort.group[rows])
        if not self.phenotype.binary:
            return r_squared(score, y), None
        platt = None
        if 0 < y.sum() < y.size:
            platt = fit_platt(score, y, prevalence=self.phenotype.prevalence)
        return auc(score, y), platt

    def _scan(
        self, statistics: ScanStatistics, groups: tuple[str, ...], variants: np.ndarray
    ) -> AssociationResult:
        if self.mode == "meta" and len(groups) > 1:
            scans = [statistics.only((g,)).scan(self.test, variants) for g in groups]
            return meta_analyse(scans)
        return statistics.scan(self.test, variants)

    def _common(self, statistics: ScanStatistics) -> np.ndarray:
        """Variants at the cohort's MAF floor in the training samples."""
        frequency = statistics.allele_frequency()
        return np.flatnonzero(np.minimum(frequency, 1 - frequency) >= self.cohort.parameters.maf)

    def _panel(self, groups: tuple[str, ...]) -> np.ndarray:
        return self.data.panel(groups)

    def _choose_threshold(self, association, kept, groups):
        validation_rows = np.concatenate(
            [self.split.training(g, self._added[g], self.phenotype)[0] for g in groups]
        )
        flags = np.concatenate(
            [self.split.training(g, self._added[g], self.phenotype)[1] for g in groups]
        )
        rows = validation_rows[flags]
        if rows.size < 3 or kept.size == 0:
            return self.thresholds[-1], float("nan"), None
        dosages = self.data.validation_dosages(rows, kept).astype(np.float64)
        y = self.phenotype.values[rows]
        labels = self.cohort.group[rows]
        best = (-np.inf, self.thresholds[-1], None)
        for threshold in self.thresholds:
            use = association.p[kept] <= threshold
            if not use.any():
                continue
            score = _centre_within(dosages[:, use] @ association.beta[kept][use], labels)
            metric = auc(score, y) if self.phenotype.binary else r_squared(score, y)
            if np.isfinite(metric) and metric > best[0]:
                best = (metric, threshold, score)
        metric, threshold, score = best
        if score is None:
            return self.thresholds[-1], float("nan"), None
        platt = None
        if self.phenotype.binary and 0 < y.sum() < y.size:
            platt = fit_platt(score, y, prevalence=self.phenotype.prevalence)
        return threshold, float(metric), platt


def _centre_within(score: np.ndarray, labels: np.ndarray) -> np.ndarray:
    centred = score.copy()
    for label in np.unique(labels):
        centred[labels == label] -= score[labels == label].mean()
    return centred


@dataclass(frozen=True, eq=False)
class ScoreEvaluation:
    """A score's metrics in each group's test set."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"groups": self.table.to_dict(orient="records")}

    def summary(self) -> str:
        return self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def evaluate_score(
    score: PolygenicScore,
    cohort: Cohort,
    phenotype: Phenotype,
    split: CohortSplit,
    *,
    groups: Sequence[str] | None = None,
    benefit: float = 100.0,
    cost: float = 5.0,
    data: TrainingData | None = None,
) -> ScoreEvaluation:
    """R^2 with the phenotype and the genetic value, AUC and decision utility per test set.

    AUC and utility are NaN for a quantitative trait; the utility applies the score's Platt
    scaling (fitted on its validation split) to each group's centred score. ``utility`` pays
    each treated person by their observed outcome; ``utility_expected`` by their chance of being
    a case given their genetic value (:meth:`Phenotype.case_probability`): the same expected
    utility with the environment's noise integrated out (on a test set of a few thousand, that
    noise moves the observed utility by tenths). ``data`` (the split's
    :class:`~simulate.training_data.TrainingData`) keeps test genotypes between calls.
    """
    rows = []
    for group in groups or cohort.groups:
        test = split.test[group]
        if data is None or score.variants.size == 0:
            value = score.score(cohort, test)
        else:  # the same product, on genotypes read once per test set
            value = data.test_dosages(test, score.variants).astype(np.float64) @ score.weights
        value = value - value.mean()
        y = phenotype.values[test]
        auc_value = utility = expected = float("nan")
        if phenotype.binary:
            auc_value = auc(value, y)
            if score.platt is not None:
                probability = score.platt.probability(value)
                utility = decision_utility(probability, y, benefit=benefit, cost=cost)
                chance = phenotype.case_probability(test)
                expected = decision_utility(probability, chance, benefit=benefit, cost=cost)
        rows.append((
            group, test.size, r_squared(value, y),
            r_squared(value, phenotype.genetic_value[test]), auc_value, utility, expected,
        ))  # fmt: skip
    columns = ["group", "n_test", "r2", "r2_genetic", "auc", "utility", "utility_expected"]
    return ScoreEvaluation(pd.DataFrame(rows, columns=columns))


@dataclass(frozen=True, eq=False)
class Portability:
    """Scores trained on each group's whole training pool, evaluated in every group."""

    #: columns: trained_on, group, n_train, threshold (the score's p-value threshold), variants
    #: (in the score), n_test, r2 with its 95% interval r2_low/r2_high, r2_genetic, auc with
    #: auc_low/auc_high, utility, utility_expected
    table: pd.DataFrame

    def matrix(self, metric: str = "r2") -> pd.DataFrame:
        """Training group (rows) x test group (columns) of one metric."""
        return self.table.pivot(index="trained_on", columns="group", values=metric)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.table.to_dict(orient="records")}

    def summary(self) -> str:
        return self.matrix().to_string(float_format=lambda v: f"{v:.4f}")


def portability(
    cohort: Cohort,
    phenotype: Phenotype,
    split: CohortSplit,
    *,
    train_groups: Sequence[str] | None = None,
    n_train: int | None = None,
    benefit: float = 100.0,
    cost: float = 5.0,
    **trainer_options,
) -> Portability:
    """Train on each group's pool (or its first ``n_train``) and evaluate in every group."""
    tables = []
    for group in train_groups or cohort.groups:
        trainer = ScoreTrainer(cohort, phenotype, split, mode="own", **trainer_options)
        n = split.max_training(group, phenotype) if n_train is None else n_train
        score = trainer.fit({group: n})
        table = evaluate_score(score, cohort, phenotype, split, benefit=benefit, cost=cost)
        tables.append(table.table.assign(
            trained_on=group, n_train=n, threshold=score.threshold, variants=score.variants.size,
        ))  # fmt: skip
    table = _with_intervals(pd.concat(tables, ignore_index=True), phenotype, split)
    order = ["trained_on", "group", "n_train", "threshold", "variants", "n_test", "r2", "r2_low",
             "r2_high", "r2_genetic", "auc", "auc_low", "auc_high", "utility",
             "utility_expected"]  # fmt: skip
    return Portability(table[order])


def _with_intervals(table: pd.DataFrame, phenotype: Phenotype, split: CohortSplit) -> pd.DataFrame:
    """95% intervals of each row's R^2 (Fisher z) and AUC (Hanley-McNeil) on its test set."""
    r2 = [r_squared_interval(v, int(n)) for v, n in zip(table["r2"], table["n_test"], strict=True)]
    cases = {g: int(phenotype.values[test].sum()) for g, test in split.test.items()}
    aucs = [
        auc_interval(v, cases[g], int(n) - cases[g]) if phenotype.binary else (np.nan, np.nan)
        for v, g, n in zip(table["auc"], table["group"], table["n_test"], strict=True)
    ]
    return table.assign(
        r2_low=[low for low, _ in r2], r2_high=[high for _, high in r2],
        auc_low=[low for low, _ in aucs], auc_high=[high for _, high in aucs],
    )  # fmt: skip
