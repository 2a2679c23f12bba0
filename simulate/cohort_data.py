"""A simulated cohort as data: what decides it, its trees, its kept variants, its genotypes.

A :class:`Cohort` keeps its tree sequences, so a cohort too large to decode whole can still
decode just the individuals and variants a step needs (:meth:`Cohort.dosages`); the decoded
matrix and the genotype store, when present, hold the same dosages. How a cohort is simulated
is :mod:`simulate.cohort`; how it is kept on disk, :mod:`simulate.cache` (both build on this
module, which imports neither).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocate import InputError
from simulate.demography import MUTATION_RATE, SAMPLED_POPULATIONS

__all__ = [
    "Cohort", "CohortParameters", "DEFAULT_MAX_DECODED_BYTES", "cohort_from_trees",
    "decode_dosages", "provenance", "sample_layout",
]  # fmt: skip

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


class GroupedIndividuals:
    """Counts and group look-ups of a cohort with ``group`` (each individual's group),
    ``groups`` and ``variants``: shared by the simulated :class:`Cohort` and a cohort read
    from PLINK files, so that training reads both alike."""

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


@dataclass(frozen=True, eq=False)
class Cohort(GroupedIndividuals):
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


def cohort_from_trees(
    parameters: CohortParameters,
    tree_sequences: tuple,
    variants: pd.DataFrame,
    *,
    genotypes: np.ndarray | None = None,
    store: Any = None,
    layout: tuple[np.ndarray, np.ndarray] | None = None,
) -> Cohort:
    """The :class:`Cohort` of simulated chromosomes whose kept variants are known.

    ``layout`` is :func:`sample_layout` of the trees when the caller has it already.
    """
    group, nodes = layout or sample_layout(tree_sequences[0], parameters.groups)
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
