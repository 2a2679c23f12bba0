"""Typed settings of a simulated world: every field checked, a misspelt setting refused by name.

:class:`SimulationConfig` is everything that decides a simulated world (cohort, trait, split and
how scores are trained) and :data:`PRESETS` names its sizes. The benchmark reads its sources'
settings into :class:`GenomicWorld` (a simulation preset with overrides, what is measured, at
which subsample fractions), :class:`SyntheticWorld` (known curves' noise and pool size) or
:class:`PoolWorld` (a user's labelled table, the model and the scorer). A
setting that is not a field is an error naming it, the valid ones, and the closest match.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from allocate import InputError

__all__ = [
    "DEFAULT_FRACTIONS", "GenomicWorld", "METRICS", "Metric", "PRESETS", "PoolWorld",
    "SimulationConfig", "SyntheticWorld", "check_settings", "simulation_config", "world_settings",
]  # fmt: skip

Metric = Literal["r2", "r2_genetic", "auc", "utility", "utility_expected"]
#: What a genomic source can measure (all scores: higher is better).
METRICS: tuple[str, ...] = ("r2", "r2_genetic", "auc", "utility", "utility_expected")
#: Nested subsample fractions of each count a genomic source measures per call.
DEFAULT_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
_METHODS = ("clumping", "ldpred-inf")
_LD = ("dosage", "haplotype")


def check_settings(given: Iterable[str], valid: Iterable[str], what: str) -> None:
    """Refuse any name of ``given`` that is not in ``valid``, naming it and the valid ones.

    Raises
    ------
    InputError
        ``unknown <what> 'n_per_grup' (did you mean 'n_per_group'?); valid: ...``.
    """
    valid = sorted(valid)
    unknown = sorted(set(given) - set(valid))
    if not unknown:
        return
    named = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), valid, n=1)
        named.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise InputError(f"unknown {what} {', '.join(named)}; valid: {', '.join(valid)}")


@dataclass(frozen=True)
class SimulationConfig:
    """Every setting of a simulated world (see :data:`PRESETS`); checked when made.

    ``groups`` to ``wright_fisher_generations`` decide the cohort
    (:class:`simulate.cohort.CohortParameters`), ``h2`` to ``prevalence`` the trait
    (:func:`simulate.phenotype.simulate_phenotype`), ``reference`` and ``test_fraction`` the
    split (:func:`simulate.prs.split_cohort`), and ``method``, ``ld`` and ``p_threshold`` how
    scores are trained (:class:`simulate.prs.ScoreTrainer`). ``seed`` seeds all of them.
    """

    preset: str = "quick"
    groups: tuple[str, ...] = ("CEU", "YRI", "CHB")
    n_per_group: int = 2000
    chromosomes: int = 4
    chromosome_length: float = 2e6
    maf: float = 0.01
    h2: float | dict[str, float] = 0.5  # one for every group, or one per group
    causal: int = 100
    rho: float = 1.0
    prevalence: float | None = None
    reference: int = 200
    test_fraction: float = 0.25
    wright_fisher_generations: int = 0
    method: str = "clumping"
    #: Clumping's r^2: ``dosage`` (default; what a study without phase measures) or the
    #: true-phase ``haplotype`` r^2 of the trees (see :class:`simulate.prs.ScoreTrainer`).
    ld: str = "dosage"
    #: Clumping keeps p below this (the paper's 0.01); None chooses the threshold on the
    #: training set's validation split among ``simulate.prs.DEFAULT_THRESHOLDS``.
    p_threshold: float | None = None
    seed: int = 1

    def __post_init__(self) -> None:
        from simulate.phenotype import check_trait_settings

        object.__setattr__(self, "groups", tuple(self.groups))
        if self.preset not in PRESETS:
            raise InputError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")
        self.cohort_parameters()  # checks the cohort's settings
        check_trait_settings(
            len(self.groups), h2=self.h2, causal=self.causal, rho=self.rho,
            prevalence=self.prevalence,
        )  # fmt: skip
        if isinstance(self.reference, bool) or int(self.reference) != self.reference:
            raise InputError(f"reference must be a whole number; got {self.reference!r}")
        if not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction must be in (0, 1); got {self.test_fraction}")
        if self.method not in _METHODS:
            raise InputError(f"method must be clumping or ldpred-inf; got {self.method!r}")
        if self.ld not in _LD:
            raise InputError(f"ld must be dosage or haplotype; got {self.ld!r}")
        if self.ld != "dosage" and self.method != "clumping":
            raise InputError(f"ld={self.ld!r} is clumping's LD measure; give it with "
                             f"method='clumping' ({self.method} uses the dosage LD)")
        if self.p_threshold is not None and not 0 < self.p_threshold <= 1:
            raise InputError(f"p_threshold must be in (0, 1]; got {self.p_threshold}")

    def cohort_parameters(self):
        """The :class:`simulate.cohort.CohortParameters` of this world's cohort."""
        from simulate.cohort_data import CohortParameters

        return CohortParameters(
            groups=self.groups, n_per_group=self.n_per_group, chromosomes=self.chromosomes,
            chromosome_length=self.chromosome_length, maf=self.maf, seed=self.seed,
            wright_fisher_generations=self.wright_fisher_generations,
        )  # fmt: skip

    def trainer_options(self) -> dict[str, Any]:
        """Options of :class:`simulate.prs.ScoreTrainer` this configuration asks for."""
        options: dict[str, Any] = {"method": self.method}
        if self.ld != "dosage":
            options["ld"] = self.ld
        if self.p_threshold is not None:
            options["thresholds"] = (float(self.p_threshold),)
        return options

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["groups"] = list(self.groups)
        return values


#: Named sizes of a world; any field can be overridden.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(n_per_group=2000, chromosomes=4, chromosome_length=2e6, causal=100),
    "study": dict(
        n_per_group=6000, chromosomes=8, chromosome_length=2e6, causal=300, reference=300,
        test_fraction=0.2,
    ),  # fmt: skip
    "paper": dict(
        groups=("CEU", "YRI"), n_per_group=200_000, chromosomes=21, chromosome_length=3e6,
        causal=1000, prevalence=0.05, reference=1000, test_fraction=0.5,
        wright_fisher_generations=10, p_threshold=0.01,
    ),  # fmt: skip
}

_SIMULATION_FIELDS = tuple(f.name for f in fields(SimulationConfig))


def simulation_config(preset: str = "quick", **overrides: Any) -> SimulationConfig:
    """The configuration of ``preset`` with any field overridden (``None`` keeps the preset's).

    Unless ``reference`` is given, the reference panel is the preset's, at most a fifth of each
    group (at least 10).

    Examples
    --------
    >>> simulation_config("quick", n_per_group=500).reference
    100
    >>> simulation_config("quick", n_per_grup=500)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    allocate.errors.InputError: unknown simulation setting 'n_per_grup' (did you mean ...
    """
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    check_settings(overrides, set(_SIMULATION_FIELDS) - {"preset"}, "simulation setting")
    values = {**PRESETS[preset], "preset": preset}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get("reference") is None:  # a smaller cohort gets a smaller reference panel
        n_per_group = values.get("n_per_group", SimulationConfig.n_per_group)
        reference = values.get("reference", SimulationConfig.reference)
        values["reference"] = max(10, min(reference, n_per_group // 5))
    return SimulationConfig(**values)


@dataclass(frozen=True)
class GenomicWorld:
    """The benchmark's genomic source: a simulated world, what it measures, at which fractions.

    Read from a mapping with :meth:`from_settings` (how the benchmark's presets give it).

    Parameters
    ----------
    simulation : SimulationConfig
        The world; its groups are the benchmark's, its seed is set per replicate.
    metric : str, optional
        What the source measures (one of :data:`METRICS`); by default ``utility`` for a binary
        trait and ``r2`` otherwise.
    fractions : tuple of float
        Nested subsample fractions of each count measured per call, in (0, 1].
    """

    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    metric: str | None = None
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        if self.metric is not None and self.metric not in METRICS:
            raise InputError(f"metric must be one of {', '.join(METRICS)}; got {self.metric!r}")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise InputError(f"fractions must lie in (0, 1]; got {list(self.fractions)}")

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, groups: Iterable[str] | None = None
    ) -> GenomicWorld:
        """The world of ``settings``, for ``groups``: ``preset`` (of :data:`PRESETS`; default
        ``quick``), ``metric``, ``fractions`` and any :class:`SimulationConfig` field but the
        groups and the seed, which the benchmark sets.

        Examples
        --------
        >>> world = GenomicWorld.from_settings({"preset": "quick", "causal": 50})
        >>> world.simulation.causal, world.fractions
        (50, (0.25, 0.5, 0.75, 1.0))
        """
        simulated = set(_SIMULATION_FIELDS) - {"preset", "groups", "seed"}
        check_settings(settings, simulated | {"preset", "metric", "fractions"}, "genomic setting")
        values = dict(settings)
        preset = values.pop("preset", "quick")
        metric = values.pop("metric", None)
        fractions = values.pop("fractions", DEFAULT_FRACTIONS)
        if groups is not None:
            values["groups"] = tuple(groups)
        return cls(simulation_config(preset, **values), metric=metric, fractions=fractions)

    def for_groups(self, groups: Iterable[str]) -> GenomicWorld:
        """This world sampling ``groups``."""
        return replace(self, simulation=replace(self.simulation, groups=tuple(groups)))


@dataclass(frozen=True)
class SyntheticWorld:
    """The benchmark's synthetic source: known curves measured with relative ``noise``, and
    ``pool`` samples available in each group."""

    noise: float = 0.02
    pool: int = 20000

    def __post_init__(self) -> None:
        if not self.noise >= 0:
            raise InputError(f"noise must be >= 0; got {self.noise}")
        if isinstance(self.pool, bool) or int(self.pool) != self.pool or self.pool < 1:
            raise InputError(f"pool must be a whole number >= 1; got {self.pool!r}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SyntheticWorld:
        """The world of ``settings`` (``noise``, ``pool``)."""
        check_settings(settings, [f.name for f in fields(cls)], "synthetic setting")
        return cls(**settings)


@dataclass(frozen=True)
class PoolWorld:
    """The benchmark's pool source: an existing labelled table, replayed as if collected.

    Each replicate splits every group's rows anew into test rows and a pool drawn in a new
    order (:meth:`allocate.PoolSource.from_data`).

    Parameters
    ----------
    data : str
        Path of a CSV, TSV or Parquet table, one row each (kept in the configuration, so a
        resumed run reads the same file).
    target, group : str
        The column the model predicts and the column of each row's group label.
    features : tuple of str, optional
        Feature columns (default: every other column).
    model : str
        ``logistic``, ``ridge``, ``random-forest``, ``hist-gradient-boosting`` or
        ``module:factory``; empty: logistic for a class target, ridge for a continuous one.
    metric : str
        A scikit-learn scorer name; empty: roc_auc for two classes, accuracy for more, r2 for a
        continuous target.
    test_size : float
        Test rows per group: a fraction in (0, 1) or a count >= 2.
    fractions : tuple of float
        Nested fractions of each count measured per call, in (0, 1].
    """

    data: str
    target: str
    group: str
    features: tuple[str, ...] | None = None
    model: str = ""
    metric: str = ""
    test_size: float = 0.25
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", str(self.data))
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        if isinstance(self.features, str):
            object.__setattr__(self, "features", (self.features,))
        elif self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise InputError(f"fractions must lie in (0, 1]; got {list(self.fractions)}")
        if not (0 < self.test_size < 1 or (self.test_size >= 2 and self.test_size % 1 == 0)):
            raise InputError(
                f"test_size must be a fraction in (0, 1) or a count >= 2; got {self.test_size}"
            )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> PoolWorld:
        """The pool of ``settings``: ``data``, ``target`` and ``group`` (required), and any
        other field."""
        settings = dict(settings or {})
        check_settings(settings, [f.name for f in fields(cls)], "pool setting")
        missing = [name for name in ("data", "target", "group") if name not in settings]
        if missing:
            raise InputError(f"the pool source needs the setting(s) {', '.join(missing)}")
        return cls(**settings)

    def read(self):
        """The table's features, target, labels, estimator and scorer, every named column
        checked (what :func:`allocate.read_model_data` returns).

        The file is read once per process while it is unchanged (same modification time and
        size): the checks and every replicate read the same table. Callers copy what they
        change (estimators are cloned before they are fitted)."""
        try:
            stat = Path(self.data).stat()
        except OSError:  # let the reader say what is wrong with the path
            return _read_pool_table(self)
        return _read_pool_table_once(self, stat.st_mtime_ns, stat.st_size)


def _read_pool_table(world: PoolWorld):
    from allocate import read_model_data

    features = list(world.features) if world.features else None
    return read_model_data(world.data, target=world.target, group=world.group,
                           features=features, model=world.model, scoring=world.metric)


@functools.lru_cache(maxsize=4)
def _read_pool_table_once(world: PoolWorld, mtime_ns: int, size: int):
    """:func:`_read_pool_table`, remembered for one version of the file (the stamp)."""
    return _read_pool_table(world)


def world_settings(
    source: str, settings: GenomicWorld | SyntheticWorld | PoolWorld | Mapping[str, Any] | None,
    groups: Iterable[str],
) -> GenomicWorld | SyntheticWorld | PoolWorld:  # fmt: skip
    """The typed settings of a benchmark ``source`` (``genomic``, ``synthetic`` or ``pool``)
    sampling ``groups``, read from a mapping when given one (``None``: the defaults; the pool
    source has none)."""
    kinds = {"genomic": GenomicWorld, "synthetic": SyntheticWorld, "pool": PoolWorld}
    if source not in kinds:
        raise InputError(f"source must be genomic, synthetic or pool; got {source!r}")
    kind = kinds[source]
    if settings is None or isinstance(settings, Mapping):
        if kind is SyntheticWorld:
            return SyntheticWorld.from_settings(settings or {})
        if kind is PoolWorld:
            return PoolWorld.from_settings(settings)
        return GenomicWorld.from_settings(settings or {}, groups=groups)
    if not isinstance(settings, kind):
        raise InputError(
            f"the {source} source takes {kind.__name__} settings; got {type(settings).__name__}"
        )
    return settings.for_groups(groups) if isinstance(settings, GenomicWorld) else settings
