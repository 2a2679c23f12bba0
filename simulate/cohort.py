"""Simulated cohorts: individuals of several ancestries genotyped on independent chromosomes.

Each chromosome is its own msprime simulation under the out-of-Africa demography, with its own
seed drawn from the master seed (``numpy.random.SeedSequence``), so LD never crosses
chromosomes. Variants are the biallelic sites (one mutation) whose minor-allele frequency
reaches the floor in at least one group or in the pooled cohort; their frequencies are counted
on the trees, and only the selected sites are decoded, to int8 diploid dosages. The tree
sequences are kept, so a cohort too large to decode whole can still decode just the individuals
and variants a step needs (:meth:`Cohort.dosages`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocate.errors import InputError
from simulate.demography import MUTATION_RATE, SAMPLED_POPULATIONS

__all__ = ["Cohort", "CohortParameters", "simulate_cohort", "DEFAULT_MAX_DECODED_BYTES"]

#: Cohorts whose dosage matrix is larger than this are not decoded whole (2 GiB).
DEFAULT_MAX_DECODED_BYTES = 2 * 1024**3

Progress = Callable[[str, int, int], None]
_DECODE_CHUNK = 2048  # variants decoded into one buffer before being written to the matrix
_SIMPLIFY_SHARE = 0.5  # decode from simplified trees when asking for less than this share
#: Simplified trees kept per chromosome, most recently used first: a test set scored after every
#: training run is simplified twice, not once a run. Only sample sets asked for a second time
#: are kept; a training set decoded once would only hold memory (at paper scale, gigabytes).
_SIMPLIFIED_KEPT = 8
_SAMPLE_SETS_SEEN = 256
#: id of a tree sequence -> (its simplified versions by sample set, the sample sets seen). An
#: entry is dropped when its tree sequence is garbage-collected (a finalizer), so the cache never
#: outlives a cohort and an id is never reused while its entry exists.
_simplified: dict[int, tuple[OrderedDict[bytes, Any], OrderedDict[bytes, None]]] = {}


@dataclass(frozen=True)
class CohortParameters:
    """Everything that decides a cohort: the cache key is a hash of these and the versions.

    Parameters
    ----------
    groups : tuple of str
        Populations sampled, by name (``YRI``, ``CEU``, ``CHB``).
    n_per_group : int
        Diploid individuals sampled from each group.
    chromosomes : int
        Independent chromosomes (separate simulations).
    chromosome_length : float
        Length of each chromosome in base pairs.
    recombination_rate, mutation_rate : float
        Per base pair, per generation.
    maf : float
        Minor-allele-frequency floor for a variant to be kept, in (0, 0.5).
    seed : int
        Master seed; every chromosome's ancestry and mutation seeds derive from it.
    wright_fisher_generations : int
        Generations simulated in discrete-time Wright-Fisher before switching to the coalescent
        (0 = coalescent throughout); useful when a sample exceeds a group's effective size.
    """

    groups: tuple[str, ...] = ("CEU", "YRI", "CHB")
    n_per_group: int = 1000
    chromosomes: int = 4
    chromosome_length: float = 2e6
    recombination_rate: float = 1e-8
    mutation_rate: float = MUTATION_RATE
    maf: float = 0.01
    seed: int = 1
    wright_fisher_generations: int = 0

    def __post_init__(self) -> None:
        groups = tuple(self.groups)
        object.__setattr__(self, "groups", groups)
        unknown = [g for g in groups if g not in SAMPLED_POPULATIONS]
        if unknown or not groups:
            raise InputError(
                f"groups must be some of {', '.join(SAMPLED_POPULATIONS)}; got {list(groups)}"
            )
        if len(set(groups)) != len(groups):
            raise InputError(f"groups must not repeat; got {list(groups)}")
        _check_whole(self.n_per_group, "n_per_group", minimum=2)
        _check_whole(self.chromosomes, "chromosomes", minimum=1)
        _check_whole(self.seed, "seed", minimum=0)
        _check_whole(self.wright_fisher_generations, "wright_fisher_generations", minimum=0)
        if not self.chromosome_length >= 1000:
            raise InputError(
                f"chromosome_length must be at least 1000 bp; got {self.chromosome_length}"
            )
        for name in ("recombination_rate", "mutation_rate"):
            value = getattr(self, name)
            if not 0 < value < 1e-4:
                raise InputError(f"{name} must be in (0, 1e-4) per bp; got {value}")
        if not 0 < self.maf < 0.5:
            raise InputError(f"maf must be in (0, 0.5); got {self.maf}")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-ready values."""
        values = asdict(self)
        values["groups"] = list(self.groups)
        return values

    def chromosome_seeds(self) -> list[tuple[int, int]]:
        """(ancestry seed, mutation seed) of every chromosome, spawned from the master seed."""
        children = np.random.SeedSequence(self.seed).spawn(self.chromosomes)
        return [
            tuple(int(s) % (2**32 - 2) + 1 for s in child.generate_state(2)) for child in children
        ]


def _check_whole(value: Any, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise InputError(f"{name} must be a whole number >= {minimum}; got {value!r}")


@dataclass(frozen=True, eq=False)
class Cohort:
    """A simulated cohort: tree sequences, who is in which group, and the kept variants.

    Attributes
    ----------
    parameters : CohortParameters
    tree_sequences : tuple of tskit.TreeSequence
        One per chromosome, with mutations.
    group : numpy.ndarray of str
        Each individual's group; individuals are ordered group by group in ``parameters.groups``
        order, ``n_per_group`` each.
    sample_nodes : numpy.ndarray, shape (individuals, 2)
        The two sample nodes of each individual (the same in every chromosome).
    variants : pandas.DataFrame
        One row per kept variant: ``chromosome``, ``site``, ``position`` and the derived-allele
        frequency per group (``freq_<group>``) and pooled (``freq_pooled``).
    genotypes : numpy.ndarray or None
        The int8 dosage matrix (individuals x variants), possibly memory-mapped, or ``None``
        when it was too large to decode whole.
    provenance : dict
        Software versions that made the cohort.
    store : simulate.store.GenotypeStore or None
        The cohort's PLINK 1 genotype store, when it was loaded from the cache.
    """

    parameters: CohortParameters
    tree_sequences: tuple
    group: np.ndarray
    sample_nodes: np.ndarray
    variants: pd.DataFrame
    genotypes: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)
    store: Any = None

    @property
    def groups(self) -> tuple[str, ...]:
        return self.parameters.groups

    @property
    def num_individuals(self) -> int:
        return int(self.group.shape[0])

    @property
    def num_variants(self) -> int:
        return int(len(self.variants))

    def individuals_of(self, group: str) -> np.ndarray:
        """Indices of the individuals of ``group``."""
        if group not in self.groups:
            raise InputError(f"the cohort has no group {group!r}; it has {', '.join(self.groups)}")
        return np.flatnonzero(self.group == group)

    def minor_allele_frequency(self, group: str = "pooled") -> np.ndarray:
        """Minor-allele frequency of every kept variant in ``group`` (or ``"pooled"``)."""
        if group != "pooled":
            self.individuals_of(group)  # validates the name
        frequency = self.variants[f"freq_{group}"].to_numpy()
        return np.minimum(frequency, 1.0 - frequency)

    def common_in(self, group: str = "pooled", maf: float | None = None) -> np.ndarray:
        """Boolean mask of variants whose MAF in ``group`` reaches ``maf`` (default the floor)."""
        floor = self.parameters.maf if maf is None else maf
        return self.minor_allele_frequency(group) >= floor

    def variants_above_maf(self) -> dict[str, int]:
        """Number of variants above the MAF floor in each group and pooled."""
        names = [*self.groups, "pooled"]
        return {name: int(self.common_in(name).sum()) for name in names}

    def dosages(
        self,
        individuals: Sequence[int] | np.ndarray | None = None,
        variants: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Derived-allele dosages (0, 1, 2) as int8, individuals x variants.

        Reads the genotype store, the decoded matrix when the cohort has one, or decodes only
        the requested variants for only the requested individuals from the trees, whichever is
        faster for that shape (:meth:`GenotypeStore.prefers`). All three hold the same
        genotypes.
        """
        rows = np.arange(self.num_individuals) if individuals is None else np.asarray(individuals)
        cols = np.arange(self.num_variants) if variants is None else np.asarray(variants)
        matrix = self.genotypes is not None
        if self.store is not None and self.store.prefers(rows.size, cols.size, matrix=matrix):
            return self.store.read(rows, cols)
        if matrix:
            if variants is None:  # whole rows: copied row by row, not gathered cell by cell
                return np.asarray(self.genotypes[rows], dtype=np.int8)
            return np.asarray(self.genotypes[np.ix_(rows, cols)], dtype=np.int8)
        return self.decoded(rows, cols)

    def haplotypes(self, individuals: np.ndarray, variants: np.ndarray) -> np.ndarray:
        """True-phase haplotypes (0 ancestral, 1 derived) as int8, two rows per individual
        (its two sample nodes, in order) x variants, decoded from the trees."""
        nodes = self.sample_nodes[np.asarray(individuals)].reshape(-1, 1)
        return decode_dosages(
            self.tree_sequences, self.variants, nodes, np.asarray(variants), ploidy=1
        )

    def decoded(self, individuals: np.ndarray, variants: np.ndarray) -> np.ndarray:
        """Dosages decoded from the trees (the reference every other copy must equal)."""
        return decode_dosages(
            self.tree_sequences, self.variants, self.sample_nodes[np.asarray(individuals)],
            np.asarray(variants),
        )  # fmt: skip

    def summary(self) -> str:
        p = self.parameters
        counts = ", ".join(f"{g} {n}" for g, n in self.variants_above_maf().items())
        return (
            f"Cohort: {', '.join(p.groups)} x {p.n_per_group} individuals, {p.chromosomes} x "
            f"{p.chromosome_length / 1e6:g} Mb, seed {p.seed}; {self.num_variants} variants "
            f"kept; above MAF {p.maf:g}: {counts}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": self.parameters.to_dict(),
            "num_individuals": self.num_individuals,
            "num_variants": self.num_variants,
            "variants_above_maf": self.variants_above_maf(),
            "provenance": dict(self.provenance),
        }

    def to_frame(self) -> pd.DataFrame:
        """Per group: individuals and variants above the MAF floor."""
        above = self.variants_above_maf()
        rows = [
            (g, int((self.group == g).sum()) if g != "pooled" else self.num_individuals, n)
            for g, n in above.items()
        ]
        return pd.DataFrame(rows, columns=["group", "individuals", "variants_above_maf"])


def provenance() -> dict[str, str]:
    """Versions of the software that makes a cohort (part of the cache key)."""
    import msprime
    import tskit

    try:
        fairalloc = importlib.metadata.version("fairalloc")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        fairalloc = "unknown"
    return {"fairalloc": fairalloc, "msprime": msprime.__version__, "tskit": tskit.__version__}


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
        from simulate.cache import load_or_simulate

        return load_or_simulate(
            parameters, Path(cache_dir), max_decoded_bytes=max_decoded_bytes, progress=progress,
            workers=workers,
        )  # fmt: skip
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
    genotypes: np.ndarray | None = None,
    variants: pd.DataFrame | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    progress: Progress | None = None,
    store: Any = None,
) -> Cohort:
    """A :class:`Cohort` from simulated chromosomes (variants and genotypes computed if absent)."""
    group, nodes = sample_layout(tree_sequences[0], parameters.groups)
    if variants is None:
        variants = select_variants(tree_sequences, group, nodes, parameters)
    if genotypes is None and len(group) * len(variants) <= max_decoded_bytes:
        genotypes = decode_dosages(
            tree_sequences, variants, nodes, np.arange(len(variants)), progress=progress
        )
    return Cohort(
        parameters=parameters,
        tree_sequences=tuple(tree_sequences),
        group=group,
        sample_nodes=nodes,
        variants=variants,
        genotypes=genotypes,
        provenance=provenance(),
        store=store,
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


def sample_layout(ts, groups: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each individual's group and two sample nodes, ordered group by group (by name)."""
    population_id = {population.metadata["name"]: population.id for population in ts.populations()}
    individual_population = ts.individuals_population
    owner = ts.nodes_individual
    owned = np.flatnonzero(owner >= 0)  # each individual's nodes in id order, as tskit lists them
    by_individual = owned[np.argsort(owner[owned], kind="stable")]
    if not (np.bincount(owner[owned], minlength=ts.num_individuals) == 2).all():
        raise InputError("every individual of a cohort's trees must have two sample nodes")
    labels, nodes = [], []
    for name in groups:
        members = np.flatnonzero(individual_population == population_id[name])
        labels.append(np.full(members.size, name, dtype=object))
        nodes.append(by_individual.reshape(-1, 2)[members].astype(np.int32))  # diploids
    return np.concatenate(labels).astype(str), np.concatenate(nodes)


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


def _site_decoder(ts, samples: np.ndarray):
    """A ``tskit.Variant`` decoding ``samples`` (in order) site by site.

    For a small share of a large cohort, the trees are first simplified to those samples
    (site ids kept), so each decode walks only their subtree, not every sample's.
    """
    import tskit

    if samples.size < _SIMPLIFY_SHARE * ts.num_samples and np.unique(samples).size == samples.size:
        ts = _simplified_to(ts, samples)
        samples = np.arange(samples.size)
    return tskit.Variant(ts, samples=samples, isolated_as_missing=False)


def _simplified_to(ts, samples: np.ndarray):
    """``ts`` simplified to ``samples`` (site ids kept), kept if the sample set comes back."""
    if id(ts) not in _simplified:
        _simplified[id(ts)] = (OrderedDict(), OrderedDict())
        weakref.finalize(ts, _simplified.pop, id(ts), None)
    kept, seen = _simplified[id(ts)]
    key = hashlib.blake2b(np.ascontiguousarray(samples, dtype=np.int64).tobytes()).digest()
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    simplified = ts.simplify(
        samples=samples, filter_sites=False, filter_populations=False, filter_individuals=False
    )
    if key in seen:
        kept[key] = simplified
        if len(kept) > _SIMPLIFIED_KEPT:
            kept.popitem(last=False)
    else:
        seen[key] = None
        if len(seen) > _SAMPLE_SETS_SEEN:
            seen.popitem(last=False)
    return simplified


def decode_dosages(
    tree_sequences: Sequence,
    variants: pd.DataFrame,
    nodes: np.ndarray,
    columns: np.ndarray,
    *,
    progress: Progress | None = None,
    ploidy: int = 2,
) -> np.ndarray:
    """Decode ``columns`` of ``variants`` for the individuals whose sample nodes are ``nodes``.

    Only the requested sites are decoded (random access with ``tskit.Variant.decode``), and only
    for the requested samples, straight into an int8 individuals x variants matrix. With
    ``ploidy=1`` each row of ``nodes`` is one haplotype (``nodes`` of shape (haplotypes, 1)).
    """
    columns = np.asarray(columns, dtype=np.int64)
    out = np.empty((nodes.shape[0], columns.size), dtype=np.int8)
    samples = nodes.ravel()
    chromosome = variants["chromosome"].to_numpy()[columns]
    site = variants["site"].to_numpy()[columns]
    for number in np.unique(chromosome):
        where = np.flatnonzero(chromosome == number)
        order = where[np.argsort(site[where], kind="stable")]
        variant = _site_decoder(tree_sequences[int(number) - 1], samples)
        for start in range(0, order.size, _DECODE_CHUNK):
            block = order[start : start + _DECODE_CHUNK]
            buffer = np.empty((block.size, nodes.shape[0]), dtype=np.int8)
            for row, column in enumerate(block):
                variant.decode(int(site[column]))
                haplotypes = variant.genotypes
                buffer[row] = haplotypes if ploidy == 1 else haplotypes[0::2] + haplotypes[1::2]
            if (np.diff(block) == 1).all():  # consecutive: a slice, not a fancy-indexed
                out[:, block[0] : block[-1] + 1] = buffer.T  # scatter (several times faster)
            else:
                out[:, block] = buffer.T
        if progress is not None:
            progress("decoding genotypes", int(number), len(tree_sequences))
    return out
