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
from concurrent.futures import Executor, as_completed
from pathlib import Path

import numpy as np

from allocate import InputError

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
#: With the decoded matrix at hand (memory-mapped, individual-major), the store is still faster
#: for a few variants of many individuals: the matrix's rows must each be paged in, the store's
#: columns are contiguous. 30,000 x 300 (a trait's causal variants): 0.05 s from the store
#: against 0.34 s from the matrix with both in the page cache, 0.4 s against 3.1 s cold;
#: 1,875 x 2,000 about even (benchmarks/bench_genotype_reads.py).
_FEW_VARIANTS_BESIDE_MATRIX = 1024


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

    def prefers(self, rows: int, columns: int, *, matrix: bool = False) -> bool:
        """Whether reading ``rows`` x ``columns`` from here beats decoding from the trees, or
        (``matrix``) reading the decoded dosage matrix."""
        if matrix:
            return columns <= _FEW_VARIANTS_BESIDE_MATRIX
        return rows >= _ROW_SHARE * self.shape[0] or columns <= _FEW_VARIANTS


def write_genotype_store(
    prefix: str | Path,
    dosages: Callable[[np.ndarray], np.ndarray],
    *,
    individuals: int,
    variants: int,
    properties: dict,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write the store ``<prefix>.bed/.bim/.fam`` (the caller makes the write atomic).

    The ``.bed`` is packed here, four individuals a byte, from individual-major blocks: that
    is the layout a decoded matrix has, and bed-reader's writer takes one variant at a time,
    whose columns must first be transposed out of it. On the quick preset's 30,000 x 48,198
    matrix, packing takes 3.3 s of CPU where transposing for bed-reader and writing takes
    17.5 s; the bytes are the same (tests/simulate/test_engine_same_numbers.py).

    Parameters
    ----------
    dosages : callable
        ``dosages(columns)`` gives every individual's int8 dosages (0, 1, 2) at those variant
        columns; it is called on blocks of consecutive columns, so the whole matrix is never
        needed.
    individuals, variants : int
        The matrix's shape.
    properties : dict
        The ``.fam`` and ``.bim`` fields, by bed-reader's names: ``fid``, ``iid`` and
        optionally ``father``, ``mother``, ``sex``, ``pheno`` (default 0) per individual;
        ``chromosome``, ``sid``, ``cm_position``, ``bp_position``, ``allele_1`` (the allele
        counted) and ``allele_2`` per variant.
    executor : concurrent.futures.Executor, optional
        Packs runs of consecutive blocks in its workers, each writing its bytes at their place
        in the file (``dosages`` must then be picklable); the file is the same.
    progress : callable, optional
        Called with the number of variants written so far.

    Returns
    -------
    list of Path
        The ``.bed``, ``.bim`` and ``.fam`` files.
    """
    paths = plink_files(prefix)
    _write_table(paths[2], properties, _FAM_FIELDS, individuals, " ")
    _write_table(paths[1], properties, _BIM_FIELDS, variants, "\t")
    chunk = int(np.clip(_WRITE_BYTES // max(individuals, 1), 64, 4096))
    with open(paths[0], "wb") as bed:
        bed.write(_BED_MAGIC)
        bed.truncate(len(_BED_MAGIC) + variants * ((individuals + 3) // 4))
    runs = [(start, min(start + _RUN_BLOCKS * chunk, variants))
            for start in range(0, variants, _RUN_BLOCKS * chunk)]  # fmt: skip
    report = progress or (lambda done: None)
    if executor is None:
        for start, stop in runs:
            _write_bed_columns(paths[0], dosages, start, stop, chunk, individuals)
            report(stop)
    else:
        tasks = [executor.submit(_write_bed_columns, paths[0], dosages, start, stop, chunk,
                                 individuals) for start, stop in runs]  # fmt: skip
        done = 0
        for task in as_completed(tasks):
            done += task.result()
            report(done)
    return paths


#: Blocks of variants one task of a parallel write packs (a run of consecutive variants, so a
#: worker decoding from trees walks each chromosome forwards).
_RUN_BLOCKS = 8


def _write_bed_columns(
    bed: Path, dosages: Callable, start: int, stop: int, chunk: int, individuals: int
) -> int:
    """Pack variants ``start`` to ``stop`` into their place in an allocated ``.bed``; the
    number of variants written."""
    width = (individuals + 3) // 4
    with open(bed, "r+b") as file:
        file.seek(len(_BED_MAGIC) + start * width)
        for first in range(start, stop, chunk):
            block = np.asarray(dosages(np.arange(first, min(first + chunk, stop))))
            if block.shape != (individuals, min(chunk, stop - first)):
                raise InputError(f"dosages gave a block of shape {block.shape}")
            file.write(_packed(block).tobytes())
    return stop - start


#: PLINK 1 .bed: two magic bytes, then 1 for SNP-major.
_BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
_FAM_FIELDS = ("fid", "iid", "father", "mother", "sex", "pheno")
_BIM_FIELDS = ("chromosome", "sid", "cm_position", "bp_position", "allele_1", "allele_2")
_OPTIONAL = ("father", "mother", "sex", "pheno")


def _packed(block: np.ndarray) -> np.ndarray:
    """The .bed bytes (variants x ceil(individuals / 4)) of an individuals x variants block.

    PLINK's two-bit codes with allele 1 counted: dosage 2 is 00, 1 is 10, 0 is 11; the first
    individual of a byte takes its lowest two bits, and a last byte's unused bits are 0.
    """
    codes = np.asarray(block, dtype=np.int8).view(np.uint8)
    if codes.size and codes.max() > 2:  # int8 -1 is 255 here: anything but 0, 1, 2
        raise InputError("dosages must be 0, 1 or 2")
    codes = 3 - codes - (codes >> 1)
    spare = -codes.shape[0] % 4
    if spare:
        codes = np.concatenate([codes, np.zeros((spare, codes.shape[1]), dtype=np.uint8)])
    quads = codes.reshape(-1, 4, codes.shape[1])
    packed = quads[:, 0] | (quads[:, 1] << 2) | (quads[:, 2] << 4) | (quads[:, 3] << 6)
    return np.ascontiguousarray(packed.T)


def _write_table(path: Path, properties: dict, names: tuple, count: int, separator: str):
    """A .fam or .bim: one line per individual or variant, bed-reader's fields in order."""
    columns = []
    for name in names:
        if name in properties:
            values = [str(value) for value in properties[name]]
        elif name in _OPTIONAL:
            values = ["0"] * count
        else:
            raise InputError(f"the store's properties need {name!r}")
        if len(values) != count:
            raise InputError(f"properties[{name!r}] has {len(values)} values; expected {count}")
        columns.append(values)
    path.write_text("".join(separator.join(fields) + "\n" for fields in zip(*columns, strict=True)))
