"""The benchmark: which sampling strategy builds the most equitable model, and by how much.

One *replicate* is one world (a simulated cohort, known curves, or a new split of a user's
labelled table into test rows and pools, :func:`pool_config`) in which every strategy is
run under every setting (utility x budget x cost ratio x training mode) on the same data, so
strategies are compared in pairs. In a genomic or pool world, strategies measure on half of
each group's test set while they collect, and every final allocation is scored on the other
half, so no strategy is credited for steering by the noise of the people it measured. Each finished
replicate is written to its own Parquet file in ``OUT/replicates/`` as soon as it completes; a
run started again with the same configuration computes only the replicates that are missing.

Replicates run on the local cores (``executor="local"``) or on a dask.distributed cluster
(``executor="dask"``); every random choice derives from ``(seed, replicate)`` so both give the
same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from allocate import (
    BUDGETED_UTILITY_NAMES,
    STRATEGIES,
    Curve,
    GroupSpec,
    InputError,
    PoolSource,
    StudySpec,
    SyntheticSource,
    atomic_path,
    make_strategy,
    measured_objective,
    run_strategy,
    write_text_atomically,
)
from simulate.config import GenomicWorld, PoolWorld, SyntheticWorld, world_settings
from simulate.power_analysis import power_analysis

__all__ = [
    "BenchConfig",
    "BenchResult",
    "PRESETS",
    "pool_config",
    "preset_config",
    "run_replicate",
    "run_benchmark",
    "summarise",
    "compare_strategies",
    "comparison_reference",
    "RECOMMENDED",
]

Executor = Literal["local", "dask"]
RESULT_COLUMNS = [
    "replicate", "utility", "budget", "cost_ratio", "training", "strategy", "group",
    "total", "collected", "spent", "value", "objective", "oracle_objective", "regret",
]  # fmt: skip
PATH_COLUMNS = ["replicate", "utility", "budget", "cost_ratio", "training", "round", "group",
                "collect", "total", "spent"]  # fmt: skip
#: 2: ``cohort`` is recorded as its typed settings (every field), no longer as given.
SCHEMA_VERSION = 2
#: The recommended strategy, the default of :meth:`allocate.Study.create`: when a run includes
#: it, every other strategy is compared with it in pairs (plain adaptive otherwise).
RECOMMENDED = "expected"


@dataclass(frozen=True)
class BenchConfig:
    """Everything that defines a benchmark run; equal configurations give equal numbers.

    Parameters
    ----------
    preset : str
        The preset the configuration started from (``quick``, ``paper``, ``synthetic``).
    source : {"genomic", "synthetic", "pool"}
        Genomic: msprime cohorts and polygenic scores (:mod:`simulate`); synthetic: known curves
        with measurement noise (fast, for tests and for checking the machinery); pool: a
        user's labelled table replayed as if collected (:class:`allocate.PoolSource`; build the
        configuration with :func:`pool_config`).
    groups, shares : tuple
        Groups and their population shares (the proportional baseline and the weighted
        utility's weights); the first group is the reference whose samples cost 1.
    strategies, utilities, budgets, cost_ratios, training : tuple
        The grid: every strategy under every (utility, budget, cost ratio, training mode).
        ``cost_ratios`` is the cost of a sample from every other group relative to the first.
    replicates : int
        Independent worlds (independent cohorts for the genomic source).
    seed : int
        Master seed.
    batch, pilot : float, int or None
        The adaptive strategies' batch fraction and pilot size.
    cohort : GenomicWorld, SyntheticWorld, PoolWorld or mapping
        The source's settings (:class:`simulate.config.GenomicWorld`: the simulated world,
        what is measured and at which fractions; :class:`simulate.config.SyntheticWorld`:
        noise and pool size; :class:`simulate.config.PoolWorld`: the table, its columns, the
        model and the scorer). A mapping is read into the source's settings, refusing any
        unknown name; ``None`` is the source's defaults.
    replicates_from : {"one-cohort", "independent-cohorts"}
        Genomic replicates are independent draws from one simulated cohort (each its own
        reference panels, test sets and training order; the default), or each its own cohort.
    held_out_test : bool
        Genomic and pool sources: strategies measure on half of each group's test set while they
        collect, and every final allocation is scored on the other half (the default). With
        False, results are the last measurements themselves, so a strategy that steers by the
        noise of the people it measures on is rewarded for it.
    """

    preset: str = "quick"
    source: Literal["genomic", "synthetic", "pool"] = "genomic"
    groups: tuple[str, ...] = ("CEU", "YRI")
    shares: tuple[float, ...] = (0.8, 0.2)
    strategies: tuple[str, ...] = STRATEGIES
    utilities: tuple[str, ...] = ("maximin", "weighted")
    budgets: tuple[float, ...] = (2000.0,)
    cost_ratios: tuple[float, ...] = (2.0,)
    training: tuple[str, ...] = ("own",)
    replicates: int = 5
    seed: int = 0
    batch: float = 0.25
    pilot: int | None = None
    cohort: GenomicWorld | SyntheticWorld | PoolWorld | Mapping | None = None
    replicates_from: Literal["one-cohort", "independent-cohorts"] = "one-cohort"
    held_out_test: bool = True

    def __post_init__(self) -> None:
        world = world_settings(self.source, self.cohort, self.groups)
        object.__setattr__(self, "cohort", world)
        _validate(self)

    def key(self) -> str:
        """A hash of everything that decides the numbers except the number of replicates (so
        asking for more replicates resumes), with the package version and synthetic curves."""
        from importlib.metadata import version

        data = {k: v for k, v in asdict(self).items() if k != "replicates"}
        data["fairalloc"] = version("fairalloc")
        if self.source == "synthetic":
            data["curves"] = {g: SYNTHETIC_CURVES[g].params() for g in self.groups}
        if self.source == "pool":  # an edited table is another benchmark
            data["data_sha256"] = hashlib.sha256(Path(self.cohort.data).read_bytes()).hexdigest()
        text = json.dumps(data, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def settings(self) -> list[tuple[str, float, float, str]]:
        """The grid of (utility, budget, cost ratio, training) settings."""
        return [
            (u, b, r, t)
            for u in self.utilities
            for b in self.budgets
            for r in self.cost_ratios
            for t in self.training
        ]


#: Strategies the benchmark also compares (not offered elsewhere): a named variant is part of
#: the configuration, and so of its key, and cannot be mixed with another in one folder.
VARIANTS: tuple[str, ...] = ("adaptive-anchored",)


#: The pool source's smallest training set: every group gets at least this many samples.
POOL_MINIMUM = 10


def _validate(config: BenchConfig) -> None:
    if config.source == "pool":
        _validate_pool(config)
    unknown = sorted(set(config.strategies) - set(STRATEGIES) - set(VARIANTS))
    if unknown:
        raise InputError(
            f"unknown strategy {', '.join(unknown)}; choose from "
            f"{', '.join(STRATEGIES + VARIANTS)}"
        )
    bad_utilities = sorted(set(config.utilities) - set(BUDGETED_UTILITY_NAMES))
    if bad_utilities:
        raise InputError(f"unknown utility {', '.join(bad_utilities)}; choose from"
                         f" {', '.join(BUDGETED_UTILITY_NAMES)}")
    if any(not r > 0 for r in config.cost_ratios):
        raise InputError(f"cost ratios must be > 0; got {list(config.cost_ratios)}")
    if any(not b > 0 for b in config.budgets):
        raise InputError(f"budgets must be > 0; got {list(config.budgets)}")
    if config.replicates < 1:
        raise InputError(f"replicates must be >= 1; got {config.replicates}")
    if len(config.shares) != len(config.groups) or any(s <= 0 for s in config.shares):
        raise InputError("give one positive population share per group")
    if config.source == "synthetic" and set(config.groups) - set(SYNTHETIC_CURVES):
        raise InputError(f"the synthetic source has curves for {', '.join(SYNTHETIC_CURVES)}")
    if set(config.training) - {"own", "pooled"}:
        raise InputError(f"training is 'own' or 'pooled'; got {list(config.training)}")
    for budget in config.budgets:
        pilot_cost = _pilot_cost(config, min(config.cost_ratios), budget)
        if pilot_cost > budget:
            raise InputError(
                f"budget {budget:g} is below the pilot's cost {pilot_cost:g}; "
                "raise budgets or lower pilot"
            )


def _validate_pool(config: BenchConfig) -> None:
    """Refuse a pool the replicates could not run on, before anything is written: a named
    group with no row, a split the table cannot give (too few rows or classes in a group), a
    pool or a budget below the smallest training set measured."""
    labels = set(config.cohort.read().labels.astype(str))
    absent = [g for g in config.groups if g not in labels]
    if absent:
        raise InputError(f"group(s) {', '.join(absent)} have no row in {config.cohort.data}; "
                         f"its groups are {', '.join(sorted(labels))}")
    small = {g: n for g, n in _pool(config, 0, config.training[0]).pools().items()
             if n < POOL_MINIMUM}
    if small:
        shown = ", ".join(f"{g} {n}" for g, n in small.items())
        raise InputError(f"every group's pool needs {POOL_MINIMUM} rows besides its test rows; "
                         f"{shown}: give a smaller test_size")
    least = POOL_MINIMUM * _costs(config, max(config.cost_ratios)).sum()
    if min(config.budgets) < least:
        raise InputError(f"budgets must be at least {least:g}, enough for {POOL_MINIMUM} "
                         "samples of every group (the smallest training set measured)")


def _pilot_cost(config: BenchConfig, ratio: float, budget: float) -> float:
    costs = _costs(config, ratio)
    pilot = config.pilot if config.pilot is not None else max(8, int(0.1 * budget // costs.sum()))
    return float(pilot * costs.sum())


def _costs(config: BenchConfig, ratio: float) -> np.ndarray:
    return np.array([1.0] + [float(ratio)] * (len(config.groups) - 1))


# --- presets -----------------------------------------------------------------------------------

#: Synthetic curves of decision-utility-like scores (higher is better, best 4.75 per person).
SYNTHETIC_CURVES = {
    "CEU": Curve(a=12.0, b=0.4, c=1.75, sense="score", score_max=4.75),
    "YRI": Curve(a=14.0, b=0.33, c=2.15, sense="score", score_max=4.75),
    "CHB": Curve(a=13.0, b=0.37, c=1.95, sense="score", score_max=4.75),
}

PRESETS: dict[str, dict] = {
    "synthetic": dict(
        source="synthetic",
        groups=("CEU", "YRI"),
        shares=(0.8, 0.2),
        budgets=(1000.0, 3000.0),
        cost_ratios=(2.0,),
        replicates=20,
        cohort={"noise": 0.02, "pool": 20000},
    ),
    # The paper's experiment at a size that runs in about 3 minutes on 2 cores: CEU and YRI
    # (YRI samples cost 2x), a proportional baseline skewed 0.8/0.2 to Europeans, a binary trait
    # at 5% prevalence in each group (1:1 case-control training sets), clumping and thresholding
    # at p < 0.01, and the decision utility (benefit 100, cost 5). With test sets of 3,750 rather
    # than the paper's 100,000, the utility is scored in expectation over each test person's
    # genetic risk (``utility_expected``): on a few thousand people the observed outcomes alone
    # move a score's utility by up to 0.5, more than the strategies differ.
    # Replicates are independent splits of one cohort of 15,000 per group.
    "quick": dict(
        source="genomic",
        groups=("CEU", "YRI"),
        shares=(0.8, 0.2),
        strategies=("expected", "adaptive", "equal", "proportional", "worst-group", "oracle"),
        utilities=("maximin",),
        budgets=(1500.0,),
        cost_ratios=(2.0,),
        replicates=7,  # the first alone (it simulates the cohort), then 3 pairs on 2 cores
        batch=0.34,
        pilot=150,
        cohort={
            "preset": "quick", "n_per_group": 15000, "chromosomes": 4,
            "chromosome_length": 2.5e6, "causal": 300, "prevalence": 0.05, "p_threshold": 0.01,
            "metric": "utility_expected", "fractions": (0.5, 0.75, 1.0),
        },  # fmt: skip
    ),
    "paper": dict(
        source="genomic",
        groups=("CEU", "YRI"),
        shares=(0.8, 0.2),
        budgets=(10000.0, 20000.0, 40000.0),
        cost_ratios=(1.0, 2.0, 4.0),
        utilities=("maximin", "weighted", "power-mean"),
        replicates=20,
        cohort={"preset": "paper"},
    ),
}


def pool_config(
    data: str | Path, *, target: str, group: str, features: Iterable[str] | None = None,
    model: str = "", metric: str = "", test_size: float = 0.25, **overrides,
) -> BenchConfig:  # fmt: skip
    """A benchmark replaying collection on the labelled table at ``data``.

    The groups are the table's (in sorted order; the first is the reference whose samples
    cost 1) and their shares each group's share of the rows, unless given; the budget, unless
    given, is half of what collecting every row at the first cost ratio would cost.

    Parameters
    ----------
    data, target, group, features, model, metric, test_size
        The pool's settings (:class:`simulate.config.PoolWorld`).
    **overrides
        Any :class:`BenchConfig` field (``None`` keeps the default).

    Raises
    ------
    InputError
        A missing file or column, an unknown model or scorer, or a named group with no row.
    """
    world = PoolWorld(data=str(data), target=target, group=group,
                      features=tuple(features) if features else None, model=model,
                      metric=metric, test_size=test_size)
    counts = world.read().labels.astype(str).value_counts()
    values = {k: v for k, v in overrides.items() if v is not None}
    groups = tuple(values.pop("groups", sorted(counts.index)))
    rows = np.array([counts.get(g, 0) for g in groups], dtype=float)
    shares = values.pop("shares", tuple(rows / rows.sum()))
    if "budgets" not in values:
        ratios = values.get("cost_ratios", BenchConfig.cost_ratios)
        costs = [1.0] + [float(ratios[0])] * (len(groups) - 1)
        values["budgets"] = (float(round(0.5 * np.dot(costs, rows))),)
    values.setdefault("strategies", ("expected", "adaptive", "equal", "proportional", "oracle"))
    values.setdefault("replicates", 5)
    return BenchConfig(preset="pool", source="pool", groups=groups, shares=shares,
                       cohort=world, **values)


def preset_config(name: str, **overrides) -> BenchConfig:
    """The configuration of preset ``name``, with any field overridden (``None`` = keep)."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    values = {**PRESETS[name], "preset": name}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return BenchConfig(**values)


# --- one replicate -------------------------------------------------------------------------------


def _make_source(
    config: BenchConfig, replicate: int, training: str, cache_dir=None, cohort_workers: int = 1
):
    """The data source of one replicate and each group's pool size."""
    if config.source == "synthetic":
        pool = int(config.cohort.pool)
        curves = {g: SYNTHETIC_CURVES[g] for g in config.groups}
        rng = np.random.default_rng(_replicate_seed(config, replicate, "curves"))
        if config.replicates > 1:  # each world draws its own curves around the reference
            curves = {
                g: replace(c, a=c.a * rng.uniform(0.7, 1.3), b=c.b * rng.uniform(0.85, 1.15))
                for g, c in curves.items()
            }
        source = SyntheticSource(curves, noise=float(config.cohort.noise))
        return source, {g: pool for g in config.groups}, curves
    if config.source == "pool":
        return _pool_source(config, replicate, training)
    from simulate.source import genomic_source_for_benchmark

    one_cohort = config.replicates_from == "one-cohort"
    cohort_seed = _replicate_seed(config, 0 if one_cohort else replicate, "cohort")
    return genomic_source_for_benchmark(
        config.cohort,
        groups=config.groups,
        training=training,
        seed=cohort_seed,
        split_seed=_replicate_seed(config, replicate, "split"),
        held_out_test=config.held_out_test,
        cache_dir=str(cache_dir) if cache_dir else None,
        workers=cohort_workers,
    )


def _pool_source(config: BenchConfig, replicate: int, training: str):
    """The pool's source in one replicate, its pools and the oracle's curves (fitted to the
    whole pool, scored on the final test rows)."""
    source = _pool(config, replicate, training)
    return source, source.pools(), source.true_curves


def _pool(config: BenchConfig, replicate: int, training: str) -> PoolSource:
    """The pool of one replicate: its own split into test rows and pool order (nothing is
    trained until it is measured)."""
    world = config.cohort
    table = world.read()
    keep = table.labels.astype(str).isin(config.groups).to_numpy()
    test_size = int(world.test_size) if world.test_size >= 1 else world.test_size
    return PoolSource.from_data(
        table.X[keep], table.y.to_numpy()[keep], table.labels.astype(str).to_numpy()[keep],
        estimator=table.estimator, scoring=table.scoring, training=training,
        test_size=test_size, fractions=world.fractions, held_out_test=config.held_out_test,
        minimum_size=POOL_MINIMUM, seed=_replicate_seed(config, replicate, "pool"),
    )  # fmt: skip


def _replicate_seed(config: BenchConfig, replicate: int, purpose: str) -> int:
    tag = int(hashlib.sha256(purpose.encode()).hexdigest()[:8], 16)
    sequence = np.random.SeedSequence(config.seed, spawn_key=(replicate, tag))
    return int(sequence.generate_state(1)[0])


def _study(
    config: BenchConfig, utility, budget, ratio, pools, sense_curve: Curve, minimum: int = 0
) -> StudySpec:
    """The study of one setting; every group gets at least ``minimum`` samples."""
    costs = _costs(config, ratio)
    groups = tuple(
        GroupSpec(
            name=g,
            curve=replace(sense_curve),
            cost=float(cost),
            weight=float(share),
            min=minimum,
            max=pools[g],
        )
        for g, cost, share in zip(config.groups, costs, config.shares, strict=True)
    )
    return StudySpec(groups=groups, budget=float(budget), utility=utility, p=2.0)


def _strategy(name: str, config: BenchConfig, oracle_curves: dict[str, Curve]):
    if name == "oracle":
        return make_strategy("oracle", curves=oracle_curves)
    if name in ("equal", "proportional"):
        return make_strategy(name)
    settings = dict(batch=config.batch, pilot=config.pilot)
    if name == "adaptive-anchored":
        return make_strategy("adaptive", anchor=True, **settings)
    return make_strategy(name, **settings)


def _source_for(name: str, source):
    """Strategies that fit no curves are scored at their final sizes only: measuring nested
    subsamples for them would cost training runs whose results nobody reads."""
    if name in ("equal", "proportional", "oracle") and hasattr(source, "with_fractions"):
        return source.with_fractions((1.0,))
    return source


def _final_values(trajectory, groups, final_source=None) -> dict[str, float]:
    """Each group's performance at its final size: scored by ``final_source`` (held-out test
    people) if given, else the last round's full-size measurements."""
    if final_source is not None:
        counts = {g: int(n) for g, n in zip(groups, trajectory.final_totals, strict=True)}
        table = final_source.with_fractions((1.0,)).measure(counts, seed=0)
        return {
            g: float(table.loc[table["group"] == g, "value"].mean()) if counts[g] else np.nan
            for g in groups
        }
    table = trajectory.measurements
    last_seed = table["seed"].iloc[-1]
    final = table[table["seed"] == last_seed]
    values = {}
    for group, total in zip(groups, trajectory.final_totals, strict=True):
        rows = final[(final["group"] == group) & (final["n"] == float(total))]
        values[group] = float(rows["value"].mean()) if len(rows) else float("nan")
    return values


def run_replicate(
    config: BenchConfig,
    replicate: int,
    cache_dir: str | Path | None = None,
    *,
    cohort_workers: int = 1,
    steps=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every strategy under every setting in one world.

    ``cache_dir`` keeps simulated cohorts on disk, so replicates drawn from one cohort
    simulate it once; ``cohort_workers`` processes simulate its chromosomes (the same cohort
    whatever their number). ``steps``, a queue, receives a ``1`` as each strategy finishes a
    setting (progress for long replicates).

    Returns
    -------
    (results, paths)
        ``results``: one row per setting x strategy x group (columns ``RESULT_COLUMNS``);
        ``paths``: the adaptive strategy's allocation round by round.
    """
    rows, paths = [], []
    for training in config.training:
        source, pools, oracle_curves = _make_source(
            config, replicate, training, cache_dir, cohort_workers
        )
        sense_curve = next(iter(oracle_curves.values()))
        # A pool's model needs a training set of its smallest measured size to score a group.
        minimum = POOL_MINIMUM if config.source == "pool" else 0
        for utility, budget, ratio, _ in [s for s in config.settings() if s[3] == training]:
            study = _study(config, utility, budget, ratio, pools, sense_curve, minimum)
            seed = _replicate_seed(config, replicate, f"run-{utility}-{budget}-{ratio}-{training}")
            outcomes = {}
            for name in config.strategies:
                trajectory = run_strategy(
                    _strategy(name, config, oracle_curves), _source_for(name, source), study,
                    seed=seed,
                )  # fmt: skip
                values = _final_values(trajectory, config.groups, getattr(source, "final", None))
                outcomes[name] = (trajectory, values, measured_objective(study, values))
                if steps is not None:
                    steps.put(1)
                if name == "adaptive":
                    path = trajectory.rounds.assign(
                        replicate=replicate, utility=utility, budget=budget,
                        cost_ratio=ratio, training=training,
                    )  # fmt: skip
                    paths.append(path[PATH_COLUMNS])
            best = outcomes["oracle"][2] if "oracle" in outcomes else float("nan")
            better = 1.0 if study.sense == "score" else -1.0  # regret > 0: the oracle did better
            for name, (trajectory, values, objective) in outcomes.items():
                for index, group in enumerate(config.groups):
                    total = int(trajectory.final_totals[index])
                    rows.append((
                        replicate, utility, float(budget), float(ratio), training, name, group,
                        total, total - study.groups[index].have,
                        float(study.groups[index].cost * (total - study.groups[index].have)),
                        values[group], objective, best, better * (best - objective),
                    ))  # fmt: skip
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    path_table = (
        pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=PATH_COLUMNS)
    )
    return results, path_table


# --- many replicates, resumable ---------------------------------------------------------------


@dataclass(frozen=True)
class BenchResult:
    """A finished benchmark: the tidy results, the adaptive paths and their summaries.

    Attributes
    ----------
    config : BenchConfig
    results : pandas.DataFrame
        One row per strategy x setting x replicate x group.
    paths : pandas.DataFrame
        The adaptive strategy's allocation, round by round.
    summary_table : pandas.DataFrame
        Per setting and strategy: mean objective, regret against the oracle and against the
        better heuristic, with 95% intervals.
    comparisons : pandas.DataFrame
        The :attr:`reference` strategy against every other, paired, Holm-corrected.
    reused : int
        Replicates read back from an earlier run rather than computed.
    files : dict of str to Path
        What was written.
    power : pandas.DataFrame
        The oracle's gain over equal and proportional per setting, and the replicates that
        detect it (:func:`simulate.power_analysis.power_analysis`).
    """

    config: BenchConfig
    results: pd.DataFrame
    paths: pd.DataFrame
    summary_table: pd.DataFrame
    comparisons: pd.DataFrame
    reused: int = 0
    files: dict = field(default_factory=dict)
    power: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def reference(self) -> str:
        """The strategy the others are compared with (:func:`comparison_reference`)."""
        return comparison_reference(self.config.strategies)

    def summary(self) -> str:
        """A plain-text report of the summary and the paired comparisons."""
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            parts = [
                f"Benchmark {self.config.preset!r}: {self.config.replicates} replicates",
                self.summary_table.round(4).to_string(index=False),
                f"The {self.reference} strategy against each other (paired t-test,"
                " Holm-corrected):",
                self.comparisons.round(4).to_string(index=False),
                "The oracle's gain over each heuristic, and the replicates that detect it"
                " (paired t, 5%, 80% power):",
                self.power.round(4).to_string(index=False),
            ]
        return "\n\n".join(parts)


def run_benchmark(
    config: BenchConfig,
    out: str | Path,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> BenchResult:
    """Run (or resume) a benchmark, writing each replicate as it completes.

    Parameters
    ----------
    config : BenchConfig
    out : path
        Output folder: ``config.json``, ``replicates/``, then ``results.csv``,
        ``results.parquet``, ``paths.csv``, ``summary.csv`` and ``comparisons.csv``.
    executor : {"local", "dask"}
        Local processes, or a dask.distributed cluster at ``scheduler``.
    workers : int, optional
        Local worker processes (default: the machine's cores); 1 runs in this process.
    scheduler : str, optional
        Address of the dask scheduler (``tcp://host:8786``), or a ``distributed.Client``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each replicate.
    on_step : callable, optional
        Called with no argument each time a replicate finishes one strategy under one setting
        (local executor only), so long replicates show progress.

    Raises
    ------
    InputError
        ``out`` holds a run of another configuration, or the dask executor lacks a scheduler.
    """
    if executor == "dask" and scheduler is None:  # refused before anything is written
        raise InputError(
            "executor='dask' needs scheduler, the address of a dask scheduler (tcp://host:8786)"
        )
    out = Path(out)
    _claim_folder(out, config)
    folder = out / "replicates"
    done = {i for i in range(config.replicates) if _replicate_file(folder, i).exists()}
    missing = [i for i in range(config.replicates) if i not in done]
    total, finished = config.replicates, len(done)
    if progress is not None:
        progress(finished, total)
    cache_dir = out / "cache"
    if config.source == "genomic" and missing and executor == "local":
        # The first replicate simulates the shared cohort into the cache on every core; the
        # rest load it.
        first, missing = missing[0], missing[1:]
        cores = workers or os.cpu_count() or 1
        steps = _Calls(on_step) if on_step else None
        _save_replicate(
            folder, first,
            *run_replicate(config, first, cache_dir, cohort_workers=cores, steps=steps),
        )  # fmt: skip
        finished += 1
        if progress is not None:
            progress(finished, total)
    runs = _execute(config, missing, executor, workers, scheduler, cache_dir, on_step)
    for replicate, (results, paths) in runs:
        _save_replicate(folder, replicate, results, paths)
        finished += 1
        if progress is not None:
            progress(finished, total)
    results, paths = _load_replicates(folder, config.replicates)
    summary_table = summarise(results)
    comparisons = compare_strategies(results, comparison_reference(config.strategies))
    power = power_analysis(results)
    files = _write_outputs(out, results, paths, summary_table, comparisons, power)
    return BenchResult(
        config, results, paths, summary_table, comparisons, len(done), files, power
    )


def _claim_folder(out: Path, config: BenchConfig) -> None:
    stamp = out / "config.json"
    record = {"schema_version": SCHEMA_VERSION, "key": config.key(), "config": asdict(config)}
    if stamp.exists():
        earlier = json.loads(stamp.read_text())
        if earlier.get("key") == config.key():
            return
        if earlier.get("schema_version") != SCHEMA_VERSION or set(
            earlier.get("config", {})
        ) != set(record["config"]):
            raise InputError(
                f"{out} holds results of an earlier version of the benchmark, configured "
                "differently; give run_benchmark a new out folder"
            )
        raise InputError(
            f"{out} holds results of another benchmark configuration; "
            "give run_benchmark a new out folder, or the same config as before"
        )
    write_text_atomically(stamp, json.dumps(record, indent=2, default=list))


def _replicate_file(folder: Path, replicate: int) -> Path:
    return folder / f"replicate-{replicate:04d}.parquet"


def _save_replicate(folder: Path, replicate: int, results, paths) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    paths.to_parquet(folder / f"paths-{replicate:04d}.parquet", index=False)
    # The results file is written last and atomically: its presence means "replicate done".
    with atomic_path(_replicate_file(folder, replicate)) as temporary:
        results.to_parquet(temporary, index=False)


def _load_replicates(folder: Path, count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    results = [pd.read_parquet(_replicate_file(folder, i)) for i in range(count)]
    paths = [pd.read_parquet(folder / f"paths-{i:04d}.parquet") for i in range(count)]
    return pd.concat(results, ignore_index=True), pd.concat(paths, ignore_index=True)


class _Calls:
    """A stand-in for a queue in this process: ``put`` calls ``callback``."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    def put(self, _item) -> None:
        self.callback()


def _execute(
    config, replicates: list[int], executor: Executor, workers, scheduler, cache_dir,
    on_step: Callable[[], None] | None = None,
) -> Iterable:  # fmt: skip
    """Yield ``(replicate, (results, paths))`` as replicates finish, in any order."""
    if not replicates:
        return
    if executor == "dask":
        yield from _execute_dask(config, replicates, scheduler, cache_dir)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(replicates) == 1:
        steps = _Calls(on_step) if on_step else None
        for replicate in replicates:
            yield replicate, run_replicate(config, replicate, cache_dir, steps=steps)
        return
    yield from _execute_processes(config, replicates, workers, cache_dir, on_step)


def _execute_processes(config, replicates, workers, cache_dir, on_step) -> Iterable:
    """Replicates in worker processes; their steps come back through a managed queue."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from contextlib import nullcontext
    from multiprocessing import Manager

    queues = Manager() if on_step else nullcontext()
    with queues as manager, ProcessPoolExecutor(min(workers, len(replicates))) as pool:
        steps = manager.Queue() if on_step else None
        futures = {
            pool.submit(run_replicate, config, r, cache_dir, steps=steps): r for r in replicates
        }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while steps is not None and not steps.empty():
                steps.get()
                on_step()
            for future in finished:
                yield futures[future], future.result()


def _execute_dask(config, replicates: list[int], scheduler, cache_dir) -> Iterable:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {
            client.submit(run_replicate, config, r, str(cache_dir), pure=False): r
            for r in replicates
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        if client is not scheduler:
            client.close()


def _write_outputs(
    out: Path, results, paths, summary_table, comparisons, power
) -> dict[str, Path]:
    tables = {
        "results.csv": results,
        "paths.csv": paths,
        "summary.csv": summary_table,
        "comparisons.csv": comparisons,
        "power.csv": power,
    }
    written = {}
    for name, table in tables.items():
        write_text_atomically(out / name, table.to_csv(index=False))
        written[name] = out / name
    with atomic_path(out / "results.parquet") as temporary:
        results.to_parquet(temporary, index=False)
    written["results.parquet"] = out / "results.parquet"
    return written


# --- statistics ---------------------------------------------------------------------------------

SETTING = ["utility", "budget", "cost_ratio", "training"]


def _runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate x setting x strategy (the objective is per run, not per group)."""
    keep = ["replicate", *SETTING, "strategy", "objective", "regret"]
    return results[keep].drop_duplicates(["replicate", *SETTING, "strategy"])


def _mean_interval(values: pd.Series) -> tuple[float, float, float]:
    from statsmodels.stats.weightstats import DescrStatsW

    values = values.dropna().to_numpy(float)
    if len(values) < 2:
        mean = float(values.mean()) if len(values) else float("nan")
        return mean, float("nan"), float("nan")
    low, high = DescrStatsW(values).tconfint_mean(alpha=0.05)
    return float(values.mean()), float(low), float(high)


HEURISTICS = ("equal", "proportional")


def _heuristic_regret(runs: pd.DataFrame) -> pd.Series:
    """Each run's regret against the better of equal and proportional in its replicate and
    setting: its regret minus the smaller of theirs (> 0: worse than the better heuristic).
    NaN where either heuristic, or the oracle that regrets are measured from, is missing."""
    keys = ["replicate", *SETTING]
    heuristics = runs[runs["strategy"].isin(HEURISTICS)].groupby(keys)["regret"]
    best = heuristics.min().where(heuristics.count() == len(HEURISTICS))
    return runs["regret"] - runs.join(best.rename("best_heuristic"), on=keys)["best_heuristic"]


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per setting and strategy: mean objective, regret against the oracle and against the
    better heuristic (per replicate, the better of equal and proportional), 95% intervals, and
    each group's mean performance."""
    rows = []
    runs = _runs(results)
    runs = runs.assign(heuristic_regret=_heuristic_regret(runs))
    per_group = results.pivot_table(
        index=[*SETTING, "strategy"], columns="group", values="value", aggfunc="mean"
    )
    for key, table in runs.groupby([*SETTING, "strategy"], sort=False):
        objective = _mean_interval(table["objective"])
        regret = _mean_interval(table["regret"])
        heuristic = _mean_interval(table["heuristic_regret"])
        row = dict(zip([*SETTING, "strategy"], key, strict=True))
        row.update(
            objective=objective[0], objective_low=objective[1], objective_high=objective[2],
            regret=regret[0], regret_low=regret[1], regret_high=regret[2],
            heuristic_regret=heuristic[0], heuristic_regret_low=heuristic[1],
            heuristic_regret_high=heuristic[2],
        )  # fmt: skip
        row.update({f"value_{g}": v for g, v in per_group.loc[key].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_reference(strategies: Iterable[str]) -> str:
    """The strategy the others are compared with: :data:`RECOMMENDED` when it is among
    ``strategies``, else ``adaptive``.

    Examples
    --------
    >>> comparison_reference(["adaptive", "expected", "equal"])
    'expected'
    >>> comparison_reference(["adaptive", "equal"])
    'adaptive'
    """
    return RECOMMENDED if RECOMMENDED in set(strategies) else "adaptive"


def compare_strategies(results: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Paired comparisons of ``reference`` against every other non-oracle strategy, per setting.

    The difference is ``regret(other) - regret(reference)`` per replicate: how much closer to
    the oracle the reference came (positive: the reference did better, whatever the metric's
    sense). Two-sided paired t-tests, Holm-corrected over every comparison; two strategies
    with the same regret in every replicate differ by 0, p = 1. By default the
    reference is :func:`comparison_reference` of the strategies in ``results``; each row names
    it in its ``reference`` column.
    """
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.weightstats import DescrStatsW

    runs = _runs(results)
    if reference is None:
        reference = comparison_reference(runs["strategy"])
    if reference not in set(runs["strategy"]):
        return pd.DataFrame()
    wide = runs.pivot_table(index=["replicate", *SETTING], columns="strategy", values="regret")
    rows = []
    for setting, table in wide.groupby(level=SETTING, sort=False):
        for other in [s for s in table.columns if s not in (reference, "oracle")]:
            difference = (table[other] - table[reference]).dropna().to_numpy(float)
            if len(difference) < 2:
                continue
            if np.all(difference == 0):  # alike in every replicate: nothing to test
                low, high, pvalue = 0.0, 0.0, 1.0
            else:
                stats = DescrStatsW(difference)
                low, high = stats.tconfint_mean(alpha=0.05)
                pvalue = stats.ttest_mean(0.0)[1]
            row = dict(zip(SETTING, setting, strict=True))
            row.update(reference=reference, other=other, difference=float(difference.mean()),
                       low=float(low), high=float(high), p_value=float(pvalue),
                       n=len(difference))  # fmt: skip
            rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        reject, corrected, _, _ = multipletests(table["p_value"], alpha=0.05, method="holm")
        table["p_holm"] = corrected
        table["significant"] = reject
    return table
