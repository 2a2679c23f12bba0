"""Export a cohort for the field's own tools: VCF (written by tskit) and PLINK 1 binary files.

Positions are written 1-based (the simulation's 0-based position + 1), the same in the VCF and
the ``.bim``; the derived allele is the VCF ALT and PLINK's A1 (the counted allele). Every file
is written under a temporary name in its destination folder and renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from allocate import InputError, atomic_path
from simulate.cohort_data import Cohort

__all__ = ["individual_names", "variant_alleles", "write_vcf", "write_plink", "fam_phenotype"]

def individual_names(cohort: Cohort, individuals: np.ndarray) -> list[str]:
    """Names ``<group>_<index within group>`` of the given individuals."""
    first = {g: int(cohort.individuals_of(g)[0]) for g in cohort.groups}
    return [f"{cohort.group[i]}_{i - first[cohort.group[i]]}" for i in individuals]


def variant_alleles(cohort: Cohort) -> tuple[list[str], list[str]]:
    """(ancestral, derived) allele of every kept variant."""
    ancestral, derived = [], []
    for chromosome, site in cohort.variants[["chromosome", "site"]].itertuples(index=False):
        record = cohort.tree_sequences[chromosome - 1].site(int(site))
        ancestral.append(record.ancestral_state)
        derived.append(record.mutations[0].derived_state)
    return ancestral, derived


def fam_phenotype(values: np.ndarray, *, binary: bool | None = None) -> list[str]:
    """The ``.fam`` phenotype column of ``values``: cases 2, controls 1 for a binary trait,
    the value itself (6 significant digits) for a quantitative one, -9 where missing."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    is_01 = bool(np.isin(values[~missing], (0.0, 1.0)).all())
    if binary is None:
        binary = is_01
    if binary and not is_01:
        raise InputError("a binary phenotype must be 0 (control), 1 (case) or NaN (missing)")
    if binary:
        coded = np.where(values == 1, "2", "1")
    else:
        coded = np.array([f"{value:.6g}" for value in values], dtype=object)
    return list(np.where(missing, "-9", coded))


def plink_properties(cohort: Cohort, individuals: np.ndarray) -> dict:
    """bed-reader's ``.fam`` and ``.bim`` fields for ``individuals`` and every kept variant:
    names, 1-based positions, the derived allele as A1 (counted) and the ancestral as A2."""
    names = individual_names(cohort, individuals)
    ancestral, derived = variant_alleles(cohort)
    chromosome = cohort.variants["chromosome"].to_numpy()
    position = cohort.variants["position"].to_numpy() + 1
    return {
        "fid": names,
        "iid": names,
        "sex": np.zeros(len(individuals), dtype=int),
        "chromosome": [str(c) for c in chromosome],
        "sid": [f"{c}:{p}" for c, p in zip(chromosome, position, strict=True)],
        "cm_position": np.zeros(cohort.num_variants),
        "bp_position": position,
        "allele_1": derived,
        "allele_2": ancestral,
    }


def _selected(cohort: Cohort, individuals: Sequence[int] | None) -> np.ndarray:
    if individuals is None:
        return np.arange(cohort.num_individuals)
    chosen = np.asarray(individuals, dtype=np.int64)
    if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= cohort.num_individuals:
        raise InputError(
            f"individuals must be indices in [0, {cohort.num_individuals}); got {chosen.size} "
            "indices outside that range or none"
        )
    return chosen


def _prepare_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create output folder {folder}: {error.strerror}") from None
    return folder


def write_vcf(
    cohort: Cohort, folder: str | Path, *, individuals: Sequence[int] | None = None
) -> list[Path]:
    """Write one VCF per chromosome (``chr<k>.vcf``) with the kept variants only.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = _prepare_folder(Path(folder))
    chosen = _selected(cohort, individuals)
    names = individual_names(cohort, chosen)
    written = []
    for number, ts in enumerate(cohort.tree_sequences, start=1):
        kept = cohort.variants.loc[cohort.variants["chromosome"] == number, "site"].to_numpy()
        site_mask = np.ones(ts.num_sites, dtype=bool)
        site_mask[kept] = False
        ts_individuals = ts.nodes_individual[cohort.sample_nodes[chosen, 0]]
        target = folder / f"chr{number}.vcf"
        with atomic_path(target) as temporary, open(temporary, "w") as handle:
            ts.write_vcf(
                handle,
                contig_id=str(number),
                individuals=ts_individuals,
                individual_names=names,
                site_mask=site_mask,
                position_transform=lambda positions: np.round(positions).astype(int) + 1,
                isolated_as_missing=False,
            )
        written.append(target)
    return written


def write_plink(
    cohort: Cohort,
    prefix: str | Path,
    *,
    individuals: Sequence[int] | None = None,
    phenotype: np.ndarray | None = None,
    binary: bool | None = None,
) -> list[Path]:
    """Write PLINK 1 binary files ``<prefix>.bed/.bim/.fam`` (SNP-major) with bed-reader.

    Dosages are decoded a block of variants at a time, so the whole matrix is never needed.
    ``phenotype`` (one value per chosen individual, NaN for missing) fills the ``.fam``
    phenotype column. A binary trait is written in PLINK's case/control coding: 2 for a case
    (value 1), 1 for a control (value 0), -9 for missing; PLINK would read a 0/1 column as
    missing/control.

    Parameters
    ----------
    binary : bool, optional
        Whether ``phenotype`` is a 0/1 case/control trait (then written as 1/2); by default,
        when its values are only 0, 1 and NaN.

    Returns
    -------
    list of Path
        The ``.bed``, ``.bim`` and ``.fam`` files.
    """
    from simulate.store import plink_files, write_genotype_store

    prefix = Path(prefix)
    _prepare_folder(prefix.parent)
    chosen = _selected(cohort, individuals)
    properties = plink_properties(cohort, chosen)
    if phenotype is not None:
        phenotype = np.asarray(phenotype, dtype=float)
        if phenotype.shape != (chosen.size,):
            raise InputError(
                f"phenotype needs one value per individual ({chosen.size}); got {phenotype.shape}"
            )
        properties["pheno"] = fam_phenotype(phenotype, binary=binary)
    targets = plink_files(prefix)
    staging = prefix.with_name(f".{prefix.name}.partial")
    written = plink_files(staging)
    try:
        write_genotype_store(
            staging, lambda columns: cohort.dosages(chosen, columns),
            individuals=chosen.size, variants=cohort.num_variants, properties=properties,
        )  # fmt: skip
        for source, target in zip(written, targets, strict=True):
            os.replace(source, target)
    finally:
        for path in written:
            path.unlink(missing_ok=True)
    return targets
