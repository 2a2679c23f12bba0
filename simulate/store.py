"""The genotype store: a cohort's dosages written once as PLINK 1 binary files.

The store is ``genotypes.bed/.bim/.fam`` in the cohort's cache folder (written inside the
cache's staging folder, so it is complete exactly when the cohort is): SNP-major, two bits per
genotype, the derived allele counted (PLINK's A1), individuals in cohort order. Other tools
(plink2, bed-reader, pandas-plink) read it as it is.

Reading a subset of individuals from a SNP-major file still reads every stored individual of
each requested variant, so the store pays when the variants are few (a score's variants in a
test set, candidate variants in a validation split) or the individuals many; a handful of
individuals at every variant are decoded faster from trees simplified to them. See
:meth:`GenotypeStore.prefers`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["GenotypeStore", "write_genotype_store", "plink_files", "STORE_NAME"]

STORE_NAME = "genotypes"
_WRITE_BYTES = 256 * 1024**2  # int8 dosages decoded at a time while writing
#: Reading from the store costs about one pass over every stored individual of each variant
#: read; decoding from simplified trees costs about a pass over the asked individuals plus the
#: simplification. The store is used once the asked individuals are at least this share of the
#: cohort, or the variants at most _FEW_VARIANTS: a rule of thumb from the decode-versus-bed
#: timings quoted in the engine issue (2,384 x 30,135 and 60,000 x 9,739), not a measured
#: crossover; either path returns the same genotypes (tests/simulate/test_store.py).
_ROW_SHARE = 1 / 16
_FEW_VARIANTS = 4096


def plink_files(prefix: str | Path) -> list[Path]:
    """``<prefix>.bed``, ``<prefix>.bim`` and ``<prefix>.fam`` (the prefix may hold dots)."""
    prefix = Path(prefix)
    return [prefix.with_name(prefix.name + suffix) for suffix in (".bed", ".bim", ".fam")]


class GenotypeStore:
    """Random access to a cohort's stored dosages (bed-reader, one thread).

    Parameters
    ----------
    prefix : path
        The store's files are ``<prefix>.bed``, ``.bim`` and ``.fam``.
    individuals, variants : int
        Its shape, checked against the file's size.
    """

    def __init__(self, prefix: str | Path, individuals: int, variants: int) -> None:
        from bed_reader import open_bed

        self.prefix = Path(prefix)
        self.shape = (int(individuals), int(variants))
        bed = plink_files(self.prefix)[0]
        expected = 3 + variants * ((individuals + 3) // 4)
        if bed.stat().st_size != expected:
            raise OSError(f"{bed} holds {bed.stat().st_size} bytes; a complete store {expected}")
        self._bed = open_bed(bed, iid_count=individuals, sid_count=variants, num_threads=1)

    def read(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Dosages of ``rows`` x ``columns`` (indices, any order) as an int8 matrix."""
        rows = np.asarray(rows, dtype=np.intp)
        columns = np.asarray(columns, dtype=np.intp)
        if rows.size == 0 or columns.size == 0:
            return np.empty((rows.size, columns.size), dtype=np.int8)
        return self._bed.read(index=np.s_[rows, columns], dtype="int8", order="C")

    def prefers(self, rows: int, columns: int) -> bool:
        """Whether reading ``rows`` x ``columns`` from here beats decoding from the trees."""
        return rows >= _ROW_SHARE * self.shape[0] or columns <= _FEW_VARIANTS


def write_genotype_store(
    prefix: str | Path,
    dosages: Callable[[np.ndarray], np.ndarray],
    *,
    individuals: int,
    variants: int,
    properties: dict | None = None,
) -> list[Path]:
    """Write the store ``<prefix>.bed/.bim/.fam`` (the caller makes the write atomic).

    Parameters
    ----------
    dosages : callable
        ``dosages(columns)`` gives every individual's int8 dosages at those variant columns;
        it is called on blocks of consecutive columns, so the whole matrix is never needed.
    individuals, variants : int
        The matrix's shape.
    properties : dict, optional
        bed-reader's ``.fam``/``.bim`` fields (identifiers, alleles, positions).

    Returns
    -------
    list of Path
        The ``.bed``, ``.bim`` and ``.fam`` files.
    """
    from bed_reader import create_bed

    paths = plink_files(prefix)
    bed = create_bed(
        paths[0], iid_count=individuals, sid_count=variants, properties=properties or {},
        bim_location=paths[1], fam_location=paths[2], num_threads=1,
    )  # fmt: skip
    try:
        chunk = int(np.clip(_WRITE_BYTES // max(individuals, 1), 64, 4096))
        for start in range(0, variants, chunk):
            block = np.asarray(dosages(np.arange(start, min(start + chunk, variants))))
            block = np.asfortranarray(block, dtype=np.int8)  # each column contiguous
            for k in range(block.shape[1]):
                bed.write(block[:, k])
    except BaseException:
        # Not bed.close(): it would replace the real error by "fewer vectors than expected".
        if bed.file_pointer is not None:
            bed.file_pointer.close()
            bed.file_pointer = None
        bed.close()  # with the file closed: only removes bed-reader's temporary file
        raise
    bed.close()
    return paths
