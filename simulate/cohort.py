"""Simulated cohorts: individuals of several ancestries genotyped on independent chromosomes.

Each chromosome is its own msprime simulation under the out-of-Africa demography, with its own
seed drawn from the master seed (``numpy.random.SeedSequence``), so LD never crosses
chromosomes. Variants are the biallelic sites (one mutation) whose minor-allele frequency
reaches the floor in at least one group or in the pooled cohort; their frequencies are counted
on the trees, and only the selected sites are decoded, to int8 diploid dosages. What a cohort
holds, and how its genotypes are decoded on demand, is :mod:`simulate.cohort_data`; the on-disk
cache is :mod:`simulate.cache`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulate.cohort_data import (
    DEFAULT_MAX_DECODED_BYTES,
    Cohort,
    CohortParameters,
    Progress,
    cohort_from_trees,
    decode_dosages,
    provenance,
    sample_layout,
)
from simulate.demography import MUTATION_RATE

__all__ = [
    "Cohort", "CohortParameters", "DEFAULT_MAX_DECODED_BYTES", "assemble_cohort", "build_cohort",
    "decode_dosages", "provenance", "sample_layout", "select_variants", "simulate_cohort",
]  # fmt: skip


def simulate_cohort(
    groups: Sequence[str] = ("CEU", "YRI", "CHB"),
    *,
    n_per_group: int = 1000,
    chromosomes: int = 4,
    chromosome_length: float = 2e6,
    recombination_rate: float = 1e-8,
    mutation_rate: float = MUTATION_RATE,
    maf: float = 0.01,
    seed: int = 1,
    wright_fisher_generations: int = 0,
    cache_dir: str | Path | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    progress: Progress | None = None,
    workers: int = 1,
) -> Cohort:
    """Simulate (or load from the cache) a cohort under the out-of-Africa model.

    Parameters
    ----------
    groups : sequence of str
        Populations to sample, by name.
    n_per_group, chromosomes, chromosome_length, recombination_rate, mutation_rate, maf, seed,
    wright_fisher_generations
        See :class:`CohortParameters`.
    cache_dir : path, optional
        Folder of the on-disk cache; a cohort with the same parameters, seed and software
        versions is loaded from it instead of simulated. ``None``: no cache.
    max_decoded_bytes : int
        Decode the whole dosage matrix only when it is at most this large; otherwise dosages
        are decoded from the trees on request.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as chromosomes complete.
    workers : int
        Processes simulating chromosomes at once; each chromosome has its own seeds, so any
        number of workers gives the same cohort.

    Returns
    -------
    Cohort

    Examples
    --------
    >>> cohort = simulate_cohort(("CEU", "YRI"), n_per_group=20, chromosomes=2,
    ...                          chromosome_length=1e5, seed=3)
    >>> cohort.dosages().shape[0], cohort.dosages().dtype
    (40, dtype('int8'))
    """
    parameters = CohortParameters(
        groups=tuple(groups),
        n_per_group=n_per_group,
        chromosomes=chromosomes,
        chromosome_length=chromosome_length,
        recombination_rate=recombination_rate,
        mutation_rate=mutation_rate,
        maf=maf,
        seed=seed,
        wright_fisher_generations=wright_fisher_generations,
    )
    if cache_dir is not None:
        from simulate.cache import load_or_build

        def build() -> Cohort:
            return build_cohort(
                parameters, max_decoded_bytes=max_decoded_bytes, progress=progress,
                workers=workers,
            )  # fmt: skip

        return load_or_build(parameters, Path(cache_dir), build, progress=progress, workers=workers)
    return build_cohort(
        parameters, max_decoded_bytes=max_decoded_bytes, progress=progress, workers=workers
    )


def build_cohort(
    parameters: CohortParameters,
    *,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    progress: Progress | None = None,
    workers: int = 1,
) -> Cohort:
    """Simulate every chromosome (``workers`` at a time), select variants and (if small
    enough) decode dosages."""
    tree_sequences = _simulate_chromosomes(parameters, workers, progress)
    return assemble_cohort(
        parameters, tuple(tree_sequences), max_decoded_bytes=max_decoded_bytes, progress=progress
    )


def _simulate_chromosomes(parameters: CohortParameters, workers: int, progress) -> list:
    seeds = parameters.chromosome_seeds()
    report = progress or (lambda stage, done, total: None)
    if workers <= 1 or len(seeds) == 1:
        tree_sequences = []
        for index, (ancestry, mutation) in enumerate(seeds):
            tree_sequences.append(simulate_chromosome(parameters, ancestry, mutation))
            report("simulating chromosomes", index + 1, len(seeds))
        return tree_sequences
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(workers, len(seeds))) as pool:
        futures = {
            pool.submit(simulate_chromosome, parameters, *pair): i for i, pair in enumerate(seeds)
        }
        results: dict[int, Any] = {}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            report("simulating chromosomes", done, len(seeds))
    return [results[i] for i in range(len(seeds))]


def assemble_cohort(
    parameters: CohortParameters,
    tree_sequences: tuple,
    *,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    progress: Progress | None = None,
) -> Cohort:
    """A :class:`Cohort` from simulated chromosomes: variants selected on the trees, and the
    dosage matrix decoded when it is at most ``max_decoded_bytes``."""
    group, nodes = sample_layout(tree_sequences[0], parameters.groups)
    variants = select_variants(tree_sequences, group, nodes, parameters)
    genotypes = None
    if len(group) * len(variants) <= max_decoded_bytes:
        genotypes = decode_dosages(
            tree_sequences, variants, nodes, np.arange(len(variants)), progress=progress
        )
    return cohort_from_trees(
        parameters, tree_sequences, variants, genotypes=genotypes, layout=(group, nodes)
    )


def simulate_chromosome(parameters: CohortParameters, ancestry_seed: int, mutation_seed: int):
    """One chromosome: ancestry under the out-of-Africa model, then mutations."""
    import msprime

    from simulate.demography import out_of_africa_3g09

    model: Any = None
    if parameters.wright_fisher_generations:
        model = [
            msprime.DiscreteTimeWrightFisher(duration=parameters.wright_fisher_generations),
            msprime.StandardCoalescent(),
        ]
    ancestry = msprime.sim_ancestry(
        samples={g: parameters.n_per_group for g in parameters.groups},
        demography=out_of_africa_3g09(),
        sequence_length=parameters.chromosome_length,
        recombination_rate=parameters.recombination_rate,
        model=model,
        random_seed=ancestry_seed,
    )
    return msprime.sim_mutations(ancestry, rate=parameters.mutation_rate, random_seed=mutation_seed)


def select_variants(
    tree_sequences: Sequence,
    group: np.ndarray,
    nodes: np.ndarray,
    parameters: CohortParameters,
) -> pd.DataFrame:
    """Biallelic sites above the MAF floor in some group or pooled, counted on the trees."""
    sample_sets = [nodes[group == name].ravel() for name in parameters.groups]
    tables = []
    for chromosome, ts in enumerate(tree_sequences, start=1):
        site, position, mutation_node = _single_mutation_sites(ts)
        counts = _derived_counts(ts, sample_sets, site, mutation_node)
        frequencies = {
            f"freq_{name}": counts[:, k] / sample_sets[k].size
            for k, name in enumerate(parameters.groups)
        }
        frequencies["freq_pooled"] = counts.sum(axis=1) / (2 * group.size)
        table = pd.DataFrame({"chromosome": chromosome, "site": site, "position": position})
        tables.append(table.assign(**frequencies))
    variants = pd.concat(tables, ignore_index=True)
    frequencies = variants.filter(like="freq_").to_numpy()
    keep = (np.minimum(frequencies, 1 - frequencies) >= parameters.maf).any(axis=1)
    return variants[keep].reset_index(drop=True)


def _single_mutation_sites(ts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites with exactly one mutation (hence biallelic), their positions and mutation nodes."""
    tables = ts.tables
    per_site = np.bincount(tables.mutations.site, minlength=ts.num_sites)
    single = np.flatnonzero(per_site == 1)
    first_mutation = np.searchsorted(tables.mutations.site, single)
    return (
        single.astype(np.int64),
        tables.sites.position[single].astype(np.int64),
        tables.mutations.node[first_mutation].astype(np.int64),
    )


def _derived_counts(
    ts, sample_sets: list[np.ndarray], site: np.ndarray, mutation_node: np.ndarray
) -> np.ndarray:
    """Derived-allele count of each single-mutation ``site`` in each sample set, on the trees.

    For a site with one mutation, the count is the number of the set's samples below the
    mutation's node: one pass over the trees per set with those samples tracked, and no
    genotype decoded.
    """
    position = ts.tables.sites.position[site]
    tree_of_site = np.searchsorted(ts.breakpoints(as_array=True), position, side="right") - 1
    bounds = np.searchsorted(tree_of_site, np.arange(ts.num_trees + 1))
    counts = np.zeros((site.size, len(sample_sets)), dtype=np.int64)
    for k, tracked in enumerate(sample_sets):
        column = counts[:, k]
        for tree in ts.trees(tracked_samples=tracked):
            for i in range(bounds[tree.index], bounds[tree.index + 1]):
                column[i] = tree.num_tracked_samples(mutation_node[i])
    return counts
