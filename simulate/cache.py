"""The on-disk cohort cache: one folder per cohort, keyed by parameters, seed and versions.

A cohort is written into a temporary folder beside the cache, finished with a ``COMPLETE``
marker written last, and only then renamed into place; a folder without the marker (an
interrupted or foreign write) is never read as a cohort, it is rebuilt. The folder holds the
trees (``chromosome<k>.trees``), the kept variants, the genotype store (PLINK 1
``genotypes.bed/.bim/.fam``, :mod:`simulate.store`) and, when small enough to decode whole, the
int8 dosage matrix (``genotypes.npy``, read memory-mapped: faster than the store for the
random row subsets a small cohort's training asks for).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from allocate import InputError
from simulate.cohort_data import Cohort, CohortParameters, Progress, cohort_from_trees, provenance
from simulate.store import STORE_NAME, GenotypeStore, plink_files, write_genotype_store

__all__ = ["cache_key", "cohort_path", "load_or_build", "COMPLETE_MARKER"]

COMPLETE_MARKER = "COMPLETE"
_FORMAT = 2  # 2: the genotype store


def cache_key(parameters: CohortParameters) -> str:
    """A short hash of the parameters, the seed and the software versions."""
    payload = {"parameters": parameters.to_dict(), "versions": provenance(), "format": _FORMAT}
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cohort_path(parameters: CohortParameters, cache_dir: Path) -> Path:
    """The folder a cohort with these parameters occupies in ``cache_dir``."""
    return Path(cache_dir) / "cohorts" / cache_key(parameters)


def load_or_build(
    parameters: CohortParameters,
    cache_dir: Path,
    build: Callable[[], Cohort],
    *,
    progress: Progress | None = None,
    workers: int = 1,
) -> Cohort:
    """Load the cached cohort of ``parameters`` if complete; otherwise make it with ``build``
    (:func:`simulate.cohort.simulate_cohort` passes the simulation), store it atomically and
    load it back, so a new cohort reads its genotypes as a cached one does. ``workers``
    processes write the genotype store of a cohort too large to decode whole."""
    folder = cohort_path(parameters, cache_dir)
    if (folder / COMPLETE_MARKER).is_file():
        return _load(folder, parameters)
    _store(build(), folder, progress, workers)
    return _load(folder, parameters)


def _store(
    cohort: Cohort, folder: Path, progress: Progress | None = None, workers: int = 1
) -> None:
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the cohort cache in {parent}: {error.strerror}") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=parent))
    try:
        for number, ts in enumerate(cohort.tree_sequences, start=1):
            ts.dump(staging / f"chromosome{number}.trees")
        cohort.variants.to_parquet(staging / "variants.parquet", index=False)
        if cohort.genotypes is not None:
            np.save(staging / "genotypes.npy", np.asarray(cohort.genotypes))
        _write_store(cohort, staging, progress, workers)
        meta = {"parameters": cohort.parameters.to_dict(), "provenance": cohort.provenance}
        (staging / "cohort.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        (staging / COMPLETE_MARKER).write_text("complete\n")  # last: the folder is whole
        if folder.exists():  # an incomplete leftover, or another process finished first
            if (folder / COMPLETE_MARKER).is_file():
                return
            shutil.rmtree(folder)
        os.rename(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _write_store(cohort: Cohort, staging: Path, progress: Progress | None, workers: int) -> None:
    """The genotype store in ``staging``: from the decoded matrix if there is one, otherwise
    decoded from the trees already written there, by ``workers`` processes."""
    from simulate.export import plink_properties

    everyone = np.arange(cohort.num_individuals)
    report = None
    if progress is not None:

        def report(done: int) -> None:
            progress("writing the genotype store", done, cohort.num_variants)

    parallel = workers > 1 and cohort.genotypes is None
    if parallel:  # each worker loads the trees written to staging
        dosages = _StagedDosages(staging, cohort.parameters)
    else:

        def dosages(columns: np.ndarray) -> np.ndarray:
            if cohort.genotypes is not None:  # consecutive columns: a slice, not a gather
                return cohort.genotypes[:, columns[0] : columns[-1] + 1]
            return cohort.dosages(everyone, columns)

    with ProcessPoolExecutor(workers) if parallel else nullcontext() as executor:
        write_genotype_store(
            staging / STORE_NAME, dosages, individuals=cohort.num_individuals,
            variants=cohort.num_variants, properties=plink_properties(cohort, everyone),
            executor=executor, progress=report,
        )  # fmt: skip


class _StagedDosages:
    """Every individual's dosages at given variants, decoded from the trees in a staging
    folder; picklable, so store-writing workers each load the trees once."""

    _loaded: dict[str, Cohort] = {}  # per process: staging folder -> its cohort

    def __init__(self, staging: Path, parameters: CohortParameters) -> None:
        self.staging = str(staging)
        self.parameters = parameters

    def __call__(self, columns: np.ndarray) -> np.ndarray:
        cohort = self._loaded.get(self.staging)
        if cohort is None:
            cohort = _load(Path(self.staging), self.parameters, store=False)
            self._loaded.clear()
            self._loaded[self.staging] = cohort
        return cohort.dosages(np.arange(cohort.num_individuals), columns)


def _load(folder: Path, parameters: CohortParameters, *, store: bool = True) -> Cohort:
    import tskit

    tree_sequences = tuple(
        tskit.load(folder / f"chromosome{number}.trees")
        for number in range(1, parameters.chromosomes + 1)
    )
    variants = pd.read_parquet(folder / "variants.parquet")
    genotype_file = folder / "genotypes.npy"
    genotypes = np.load(genotype_file, mmap_mode="r") if genotype_file.is_file() else None
    individuals = len(parameters.groups) * parameters.n_per_group
    stored = None
    if store and plink_files(folder / STORE_NAME)[0].is_file():
        stored = GenotypeStore(folder / STORE_NAME, individuals, len(variants))
    return cohort_from_trees(
        parameters, tree_sequences, variants, genotypes=genotypes, store=stored
    )
