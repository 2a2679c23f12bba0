"""A simulated world built from its configuration: the cohort, its trait and its split.

The one place a :class:`~simulate.config.SimulationConfig` becomes data; ``fairalloc simulate``
(:mod:`simulate.pipeline`) and the benchmark's genomic source (:mod:`simulate.source`) both
build their worlds here, so the same configuration and seed give them the same world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simulate.cohort import Cohort, simulate_cohort
from simulate.config import SimulationConfig
from simulate.phenotype import Phenotype, simulate_phenotype
from simulate.prs import CohortSplit, split_cohort

__all__ = ["World", "build_world"]


@dataclass(frozen=True, eq=False)
class World:
    """A simulated world: its configuration, cohort, trait and split.

    ``seconds`` holds how long the cohort (simulated or loaded) and the trait with the split
    took (keys ``cohort`` and ``phenotype``).
    """

    config: SimulationConfig
    cohort: Cohort
    phenotype: Phenotype
    split: CohortSplit
    seconds: dict[str, float]

    def summary(self) -> str:
        return "\n".join([self.cohort.summary(), self.phenotype.summary()])


def build_world(
    config: SimulationConfig,
    *,
    split_seed: int | None = None,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> World:
    """Simulate (or load from ``cache_dir``) the cohort of ``config``, draw its trait, split it.

    Parameters
    ----------
    config : SimulationConfig
        The world; its seed seeds the cohort, the trait and the split.
    split_seed : int, optional
        Seed of the split alone (reference panels, test sets, training order), for worlds that
        are independent draws from one cohort; by default ``config.seed``.
    cache_dir : path, optional
        The cohort cache (:func:`simulate.cohort.simulate_cohort`).
    workers : int
        Processes simulating the cohort's chromosomes (the same cohort for any number).
    progress : callable, optional
        Called as ``progress(stage, done, total)`` while the cohort is made.

    Returns
    -------
    World
        The configuration, the cohort, its trait and its split, and the seconds they took.

    Examples
    --------
    >>> from simulate.config import simulation_config
    >>> small = dict(n_per_group=100, chromosomes=1, chromosome_length=1e5, causal=5)
    >>> world = build_world(simulation_config("quick", groups=("CEU", "YRI"), **small))
    >>> world.cohort.num_individuals, sorted(world.split.test)
    (200, ['CEU', 'YRI'])
    """
    start = time.perf_counter()
    cohort = simulate_cohort(
        config.groups, n_per_group=config.n_per_group, chromosomes=config.chromosomes,
        chromosome_length=config.chromosome_length, maf=config.maf, seed=config.seed,
        wright_fisher_generations=config.wright_fisher_generations, cache_dir=cache_dir,
        progress=progress, workers=workers,
    )  # fmt: skip
    seconds = {"cohort": time.perf_counter() - start}
    start = time.perf_counter()
    phenotype = simulate_phenotype(
        cohort, h2=config.h2, causal=config.causal, rho=config.rho,
        prevalence=config.prevalence, seed=config.seed,
    )  # fmt: skip
    split = split_cohort(
        cohort, reference=config.reference, test_fraction=config.test_fraction,
        seed=config.seed if split_seed is None else int(split_seed),
    )  # fmt: skip
    seconds["phenotype"] = time.perf_counter() - start
    return World(config, cohort, phenotype, split, seconds)
