"""Phenotypes: causal variants, per-group effects with a cross-group correlation, heritability.

Effects are per derived allele, drawn for every group jointly from a normal distribution with
unit variances and correlation ``rho`` between groups (``rho = 1``: the same effect in every
group, as in the paper's simulation). Genetic values are standardised so the heritability is
``h2`` within each group (default), or over the pooled cohort as older pipelines did (which
distorts within-group heritability). A binary trait thresholds the liability (genetic value
plus environment, variance 1) at the ``1 - prevalence`` quantile within each group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from allocate import InputError
from simulate.cohort import Cohort

__all__ = ["Phenotype", "simulate_phenotype", "CausalPool", "Standardise"]

CausalPool = Literal["common-all", "common-pooled", "any"]
_GRID = 2.0**30
_ROW_BLOCK = 20_000
Standardise = Literal["within", "pooled"]


@dataclass(frozen=True, eq=False)
class Phenotype:
    """A simulated trait on a cohort.

    Attributes
    ----------
    causal : numpy.ndarray
        Column indices (into ``cohort.variants``) of the causal variants.
    effects : numpy.ndarray, shape (groups, causal)
        Per-allele effect of each causal variant in each group (cohort group order).
    genetic_value : numpy.ndarray
        Each individual's standardised genetic value (variance ``h2`` within each group, or
        pooled).
    liability : numpy.ndarray
        Genetic value plus environment.
    values : numpy.ndarray
        The phenotype: the liability (rounded to a grid of 2^-30, so that sums over samples
        are exact whatever their order) for a quantitative trait, 1 (case) / 0 (control) for
        a binary one.
    groups : tuple of str
    group : numpy.ndarray
        Each individual's group.
    h2 : float or dict of str to float
        Heritability: one for every group, or one per group.
    rho : float
    prevalence : float or None
        ``None`` for a quantitative trait.
    seed : int
    """

    causal: np.ndarray
    effects: np.ndarray
    genetic_value: np.ndarray
    liability: np.ndarray
    values: np.ndarray
    groups: tuple[str, ...]
    group: np.ndarray
    h2: float | dict[str, float]
    rho: float
    prevalence: float | None
    standardise: str
    seed: int

    @property
    def binary(self) -> bool:
        return self.prevalence is not None

    def heritability(self, group: str) -> float:
        """The heritability of the trait in ``group``."""
        return _group_h2(self.h2, group)

    def realised_h2(self) -> dict[str, float]:
        """Within each group, variance of the genetic value over variance of the liability."""
        result = {}
        for name in self.groups:
            members = self.group == name
            result[name] = float(
                np.var(self.genetic_value[members]) / np.var(self.liability[members])
            )
        return result

    def case_probability(self, individuals: np.ndarray) -> np.ndarray:
        """Each individual's chance of being a case given its genetic value.

        The environment is normal with variance ``1 - h2`` (the group's), so the chance is
        ``P(genetic + environment > threshold of its group)``. Averaging a decision's payoff
        over this chance instead of over the observed cases gives the same expected utility
        with the environment's noise integrated out (known only in a simulation).

        Raises
        ------
        InputError
            For a quantitative trait.
        """
        if not self.binary:
            raise InputError("case probabilities need a binary trait (give a prevalence)")
        individuals = np.asarray(individuals)
        limit = _case_limits(self.liability, self.group, self.groups, self.prevalence)[individuals]
        spread = _environment_spread(self.group, self.groups, self.h2)[individuals]
        return stats.norm.sf((limit - self.genetic_value[individuals]) / spread)

    def summary(self) -> str:
        kind = f"binary (prevalence {self.prevalence:g})" if self.binary else "quantitative"
        realised = ", ".join(f"{g} {v:.3f}" for g, v in self.realised_h2().items())
        return (
            f"Phenotype: {kind}, {self.causal.size} causal variants, h2 {_describe(self.h2)} "
            f"({self.standardise}), rho {self.rho:g}, seed {self.seed}; realised h2: {realised}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "causal": int(self.causal.size),
            "h2": self.h2,
            "rho": self.rho,
            "prevalence": self.prevalence,
            "standardise": self.standardise,
            "seed": self.seed,
            "realised_h2": self.realised_h2(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per individual: group, genetic value, liability, phenotype."""
        return pd.DataFrame(
            {
                "group": self.group,
                "genetic_value": self.genetic_value,
                "liability": self.liability,
                "phenotype": self.values,
            }
        )


def simulate_phenotype(
    cohort: Cohort,
    *,
    h2: float | Mapping[str, float] = 0.5,
    causal: int = 100,
    rho: float = 1.0,
    causal_pool: CausalPool = "common-all",
    standardise: Standardise = "within",
    prevalence: float | None = None,
    seed: int = 0,
) -> Phenotype:
    """Simulate a trait on ``cohort``.

    Parameters
    ----------
    cohort : Cohort
    h2 : float or mapping of str to float
        Heritability in (0, 1): one for every group, or one per group (a trait measured less
        precisely, or more shaped by environment, in some groups). Per-group values need
        ``standardise="within"``.
    causal : int
        Number of causal variants.
    rho : float
        Cross-group correlation of effects; must keep the effect covariance positive
        semi-definite (``rho >= -1 / (groups - 1)``).
    causal_pool : {"common-all", "common-pooled", "any"}
        Which variants may be causal: common (MAF at the cohort's floor) in every group, common
        in the pooled cohort, or any kept variant.
    standardise : {"within", "pooled"}
        Scale genetic values to variance ``h2`` within each group, or over the pooled cohort.
    prevalence : float, optional
        Make the trait binary: the top ``prevalence`` of liability within each group are cases.
    seed : int

    Returns
    -------
    Phenotype

    Examples
    --------
    >>> from simulate.cohort import simulate_cohort
    >>> cohort = simulate_cohort(("CEU",), n_per_group=50, chromosomes=1,
    ...                          chromosome_length=2e5, seed=1)
    >>> trait = simulate_phenotype(cohort, h2=0.4, causal=10, seed=2)
    >>> round(float(trait.genetic_value.var()), 6)
    0.4
    """
    check_trait_settings(len(cohort.groups), h2=h2, causal=causal, rho=rho, prevalence=prevalence)
    if isinstance(h2, Mapping):
        h2 = {str(g): float(v) for g, v in h2.items()}
        if set(h2) != set(cohort.groups):
            raise InputError(
                f"give h2 for exactly the cohort's groups ({', '.join(cohort.groups)}); "
                f"got {', '.join(h2)}"
            )
        if standardise != "within":
            raise InputError("per-group h2 needs standardise='within'")
    else:
        h2 = float(h2)
    if causal_pool not in ("common-all", "common-pooled", "any"):
        raise InputError(
            f"causal_pool must be 'common-all', 'common-pooled' or 'any'; got {causal_pool!r}"
        )
    if standardise not in ("within", "pooled"):
        raise InputError(f"standardise must be 'within' or 'pooled'; got {standardise!r}")
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(_causal_mask(cohort, causal_pool))
    if candidates.size < causal:
        raise InputError(
            f"only {candidates.size} variants qualify as causal ({causal_pool}); ask for at most "
            f"that many causal variants or simulate a longer genome"
        )
    chosen = np.sort(rng.choice(candidates, size=causal, replace=False))
    groups = cohort.groups
    covariance = np.full((len(groups), len(groups)), rho) + (1 - rho) * np.eye(len(groups))
    effects = rng.multivariate_normal(np.zeros(len(groups)), covariance, size=causal).T
    dosages = cohort.dosages(None, chosen)  # int8: converted a block of rows at a time
    raw = np.empty(cohort.num_individuals)
    for k, name in enumerate(groups):
        members = np.flatnonzero(cohort.group == name)
        for start in range(0, members.size, _ROW_BLOCK):
            rows = members[start : start + _ROW_BLOCK]
            raw[rows] = dosages[rows].astype(np.float64) @ effects[k]
    genetic = _standardise(raw, cohort.group, groups, h2, standardise)
    liability = genetic + rng.normal(0.0, _environment_spread(cohort.group, groups, h2))
    # On a grid of 2^-30 (far below any statistical precision) sums of phenotypes are exact,
    # so association statistics do not depend on the order in which samples are added.
    values = np.round(liability * _GRID) / _GRID
    if prevalence is not None:
        values = (liability > _case_limits(liability, cohort.group, groups, prevalence)) * 1.0
    return Phenotype(
        causal=chosen,
        effects=effects,
        genetic_value=genetic,
        liability=liability,
        values=values,
        groups=groups,
        group=cohort.group,
        h2=h2,
        rho=float(rho),
        prevalence=None if prevalence is None else float(prevalence),
        standardise=standardise,
        seed=int(seed),
    )


def check_trait_settings(
    groups: int,
    *,
    h2: float | Mapping[str, float],
    causal: int,
    rho: float,
    prevalence: float | None,
) -> None:
    """Refuse, in words, trait settings that cannot be simulated for ``groups`` groups."""
    for value in h2.values() if isinstance(h2, Mapping) else [h2]:
        if not 0 < value < 1:
            raise InputError(f"h2 must be in (0, 1); got {value}")
    if isinstance(causal, bool) or int(causal) != causal or causal < 1:
        raise InputError(f"causal must be a whole number >= 1; got {causal!r}")
    lowest = -1.0 / (groups - 1) if groups > 1 else -1.0
    if not lowest <= rho <= 1:
        raise InputError(
            f"rho must be in [{lowest:g}, 1] for {groups} groups (a valid correlation); got {rho}"
        )
    if prevalence is not None and not 0 < prevalence < 1:
        raise InputError(f"prevalence must be in (0, 1); got {prevalence}")


def _case_limits(liability, group, groups, prevalence: float) -> np.ndarray:
    """Per individual, the liability above which the top ``prevalence`` of its group are cases."""
    limits = np.empty(liability.size)
    for name in groups:
        members = group == name
        limits[members] = np.quantile(liability[members], 1.0 - prevalence)
    return limits


def _causal_mask(cohort: Cohort, pool: str) -> np.ndarray:
    if pool == "any":
        return np.ones(cohort.num_variants, dtype=bool)
    if pool == "common-pooled":
        return cohort.common_in("pooled")
    return np.logical_and.reduce([cohort.common_in(g) for g in cohort.groups])


def _standardise(raw, group, groups, h2: float | dict[str, float], how: str) -> np.ndarray:
    scaled = np.empty_like(raw)
    if how == "within":
        blocks = [(group == name, _group_h2(h2, name)) for name in groups]
    else:
        blocks = [(np.ones_like(raw, bool), float(h2))]
    for members, heritability in blocks:
        values = raw[members]
        spread = values.std()
        if spread == 0:
            raise InputError("the causal variants do not vary in some group; use more of them")
        scaled[members] = (values - values.mean()) / spread * np.sqrt(heritability)
    return scaled


def _group_h2(h2: float | dict[str, float], group: str) -> float:
    return float(h2[group]) if isinstance(h2, dict) else float(h2)


def _environment_spread(group, groups, h2: float | dict[str, float]) -> np.ndarray:
    """Per individual, the standard deviation of the environment: ``sqrt(1 - h2)``."""
    spread = np.empty(group.size)
    for name in groups:
        spread[group == name] = np.sqrt(1.0 - _group_h2(h2, name))
    return spread


def _describe(h2: float | dict[str, float]) -> str:
    if isinstance(h2, dict):
        return ", ".join(f"{g} {v:g}" for g, v in h2.items())
    return f"{h2:g}"
