"""The genotype store: a cohort's dosages written once as PLINK 1 binary files.

The store is ``genotypes.bed/.bim/.fam`` in the cohort's cache folder (written inside the
cache's staging folder, so it is complete exactly when the cohort is): SNP-major, two bits per
genotype, the derived allele counted (PLINK's A1), individuals in cohort order. Other tools
(plink2, bed-reader, pandas-plink) read it as it is.

Reading a subset of individuals from a SNP-major file still reads every stored individual of
each requested variant, so the store pays when the variants are few (a score's variants in a
test set, candidate variants in a validation split) or the individuals many; a handful of
individuals at every variant are decoded faster from trees simplified to them. See
:meth:`GenotypeStore.prefers`. An association scan needs no dosages at all, only per-variant
sums over the asked individuals, which :meth:`GenotypeStore.scan_sums` takes straight from the
packed bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from pathlib import Path

import numpy as np

from allocate import InputError

__all__ = ["GenotypeStore", "PackedGenotypes", "write_genotype_store", "plink_files", "STORE_NAME"]

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

    def scan_sums(self, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per variant ``sum x``, ``sum x^2``, ``sum x y`` and ``sum x^2 y`` over ``rows``.

        ``x`` is each individual's dosage and ``y`` its phenotype: the sums
        :meth:`simulate.association.ScanStatistics.add` takes from ``read(rows, every
        variant)``, computed from the .bed bytes without decoding a dosage matrix
        (:func:`_packed_sums`). Counts, and sums of whole-number phenotypes, are exact.

        Parameters
        ----------
        rows : array of int
            Distinct individuals, in any order.
        y : array of float
            One phenotype per row.

        Returns
        -------
        numpy.ndarray
            4 x variants float64: the four sums, in that order.
        """
        path = plink_files(self.prefix)[0]
        return _checked_sums(self._bytes(), self.shape, rows, y, str(path))

    def packed(self, rows: np.ndarray) -> PackedGenotypes:
        """The genotypes of ``rows`` alone, in that order, in the store's two-bit codes.

        One pass over the .bed: per variant, the bytes between the first and the last of
        ``rows`` are read once, and each row's two bits are moved to its new place. A later
        :meth:`PackedGenotypes.scan_sums` of some of them reads only their bytes, which a
        subset spread over the cohort (a group's shuffled training pool) does not allow here.

        Parameters
        ----------
        rows : array of int
            Individuals of the store, in the order wanted (repeats allowed).

        Returns
        -------
        PackedGenotypes
            Individual ``i`` of it is ``rows[i]``.
        """
        rows = _checked_rows(rows, self.shape[0])
        return PackedGenotypes(_gathered(self._bytes(), rows), rows.size)

    def _bytes(self) -> np.ndarray:
        """The .bed's genotype bytes, memory-mapped: variants x ceil(individuals / 4)."""
        individuals, variants = self.shape
        path = plink_files(self.prefix)[0]
        shape = (variants, (individuals + 3) // 4)
        if variants == 0:  # nothing to map
            return np.zeros(shape, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r", offset=len(_BED_MAGIC), shape=shape)

    def prefers(self, rows: int, columns: int, *, matrix: bool = False) -> bool:
        """Whether reading ``rows`` x ``columns`` from here beats decoding from the trees, or
        (``matrix``) reading the decoded dosage matrix."""
        if matrix:
            return columns <= _FEW_VARIANTS_BESIDE_MATRIX
        return rows >= _ROW_SHARE * self.shape[0] or columns <= _FEW_VARIANTS


class PackedGenotypes:
    """Some individuals' genotypes held in memory in a store's layout (see
    :meth:`GenotypeStore.packed`): variants x ceil(individuals / 4) bytes of PLINK two-bit
    codes, the first individual of a byte in its lowest bits.

    Parameters
    ----------
    codes : numpy.ndarray
        The bytes, uint8, variants x ceil(individuals / 4).
    individuals : int
        How many individuals the bytes hold.
    """

    def __init__(self, codes: np.ndarray, individuals: int) -> None:
        codes = np.asarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] != (individuals + 3) // 4:
            raise InputError(f"codes of shape {codes.shape} cannot hold {individuals} "
                             "individuals")  # fmt: skip
        self.codes = codes
        self.shape = (int(individuals), codes.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes)

    def scan_sums(self, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """:meth:`GenotypeStore.scan_sums` over ``rows``, positions in these individuals."""
        return _checked_sums(self.codes, self.shape, rows, y, "the packed genotypes")

    def extended(self, other: PackedGenotypes) -> PackedGenotypes:
        """These individuals followed by ``other``'s (these must fill their last byte)."""
        if self.shape[0] % 4 or other.shape[1] != self.shape[1]:
            raise InputError("only packed genotypes of as many variants, these a multiple of "
                             "4 individuals, can be extended")  # fmt: skip
        codes = np.concatenate([self.codes, other.codes], axis=1)
        return PackedGenotypes(codes, self.shape[0] + other.shape[0])


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


#: Per possible .bed byte (rows) and individual in it (columns): the two-bit code and the
#: dosage it stands for (00 = 2, 10 = 1, 11 = 0; 01, missing, counts 0 here and is flagged
#: by _BYTE_COUNTS).
_BYTE_CODES = (np.arange(256)[:, None] >> (2 * np.arange(4))) & 3
_BYTE_DOSAGES = np.array([2.0, 0.0, 1.0, 0.0])[_BYTE_CODES]
#: Per byte, its individuals with dosage 1 plus _COUNT_PACK times those with dosage 2 (NaN if
#: one is missing): two counts added in one float64, exact below 2^26 individuals.
_COUNT_PACK = 2.0**26
_BYTE_COUNTS = np.where(
    (_BYTE_CODES == 1).any(axis=1), np.nan,
    (_BYTE_CODES == 2).sum(axis=1) + _COUNT_PACK * (_BYTE_CODES == 0).sum(axis=1),
)  # fmt: skip
#: .bed bytes (variants x byte positions) taken at a time by _packed_sums: the block, its
#: nonzero mask and index arrays stay in cache (on the quick preset 256 variants of 3,750
#: bytes ran fastest of 128 to 2,048).
_SCAN_BLOCK_BYTES = 2**20


def _packed_sums(bed: np.ndarray, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:meth:`GenotypeStore.scan_sums` from .bed bytes (variants x bytes), memory-mapped or
    in memory (:class:`PackedGenotypes`).

    Each byte holds four individuals. Bits of individuals not in ``rows`` are set to 11
    (dosage 0), so a byte contributes only where one of ``rows`` has a nonzero dosage, and
    only those bytes are visited. A byte value ``b`` at byte position ``j`` contributes
    ``table[b, j]`` to a variant's ``sum x y`` (and another table to ``sum x^2 y``), the sums
    over the individuals of ``rows`` in it; its class counts depend on ``b`` alone
    (_BYTE_COUNTS). Per variant the visited bytes' table entries are summed by a sparse
    matrix-vector product whose rows are the variants: one-hot rows, one 1 per visited byte
    at column ``b * 2^k + j`` (the byte positions padded to ``2^k``, so ``j`` is the low bits
    of the byte's index in the block). The tables are laid out byte value first, so the
    entries of the common values (one carrier among the four) sit together in cache.
    """
    from scipy.sparse import csr_array

    position, slot = np.divmod(rows, 4)
    used = np.unique(position)
    if 2 * used.size >= used[-1] - used[0] + 1:  # dense enough: read the run of bytes
        columns, local = slice(used[0], used[-1] + 1), position - used[0]
        width = int(used[-1] - used[0] + 1)
    else:
        columns, local, width = used, np.searchsorted(used, position), used.size
    shift = (width - 1).bit_length()  # byte positions padded to 2^shift: j = index & mask
    padded = 1 << shift
    chosen_bits = np.zeros(padded, dtype=np.uint8)
    np.bitwise_or.at(chosen_bits, local, (3 << 2 * slot).astype(np.uint8))
    others = ~chosen_bits[:width]  # OR-ing sets the other individuals to 11, dosage 0
    weights = np.zeros((4, padded))
    weights[slot, local] = y
    tables = [np.ravel(_BYTE_DOSAGES @ weights), np.ravel(_BYTE_DOSAGES**2 @ weights)]
    index_type = np.int32 if 256 * padded < 2**31 else np.int64
    block = max(1, _SCAN_BLOCK_BYTES // padded)
    masked = np.full((block, padded), 0xFF, dtype=np.uint8)  # the padding stays 11 11 11 11
    visited = np.empty((block, padded), dtype=bool)
    ones = np.ones(block * padded)
    starts = np.arange(block + 1, dtype=np.int64) << shift
    variants = bed.shape[0]
    sums = np.empty((3, variants))  # packed class counts, sum x y, sum x^2 y
    for start in range(0, variants, block):
        stop = min(start + block, variants)
        m = stop - start
        np.bitwise_or(bed[start:stop, columns], others, out=masked[:m, :width])
        np.not_equal(masked[:m], 0xFF, out=visited[:m])
        flat = np.flatnonzero(visited[:m])
        values = masked[:m].ravel().take(flat)
        indptr = np.searchsorted(flat, starts[: m + 1]).astype(index_type)
        key = np.left_shift(values, shift, dtype=index_type)
        key |= flat.astype(index_type) & (padded - 1)
        data = ones[: flat.size]
        by_value = csr_array((data, values.astype(index_type), indptr), shape=(m, 256))
        sums[0, start:stop] = by_value @ _BYTE_COUNTS
        by_byte = csr_array((data, key, indptr), shape=(m, 256 * padded))
        sums[1, start:stop] = by_byte @ tables[0]
        sums[2, start:stop] = by_byte @ tables[1]
    doubles = np.floor(sums[0] / _COUNT_PACK)  # individuals with dosage 2
    singles = sums[0] - _COUNT_PACK * doubles  # and with dosage 1
    return np.stack([singles + 2 * doubles, singles + 4 * doubles, sums[1], sums[2]])


def _checked_sums(
    codes: np.ndarray, shape: tuple[int, int], rows: np.ndarray, y: np.ndarray, name: str
) -> np.ndarray:
    """:func:`_packed_sums` of ``rows`` of packed ``codes`` holding ``shape`` (individuals x
    variants), the arguments checked (the errors of :meth:`GenotypeStore.scan_sums`)."""
    rows = np.asarray(rows)
    y = np.asarray(y, dtype=np.float64)
    individuals, variants = shape
    if rows.ndim != 1 or y.shape != rows.shape:
        raise InputError(f"rows and y must be two 1-D arrays of one length; got shapes "
                         f"{rows.shape} and {y.shape}")  # fmt: skip
    rows = _checked_rows(rows, individuals)
    if np.unique(rows).size != rows.size:
        raise InputError("rows must be distinct individuals")
    if rows.size >= _COUNT_PACK:
        raise InputError(f"at most {int(_COUNT_PACK) - 1} rows at a time")
    if rows.size == 0 or variants == 0:
        return np.zeros((4, variants))
    sums = _packed_sums(codes, rows, y)
    if np.isnan(sums[0]).any():
        raise OSError(f"{name} holds missing genotypes, which a store never does: it is "
                      "not one this package wrote")  # fmt: skip
    return sums


def _checked_rows(rows: np.ndarray, individuals: int) -> np.ndarray:
    """``rows`` as indices (intp) after checking that they are a 1-D array of individuals in
    ``[0, individuals)``."""
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0
                                         or rows.max() >= individuals)):  # fmt: skip
        raise InputError(f"rows must be a 1-D array of individuals of the store, indices in "
                         f"[0, {individuals})")  # fmt: skip
    return rows.astype(np.intp)


#: .bed bytes read at a time by _gathered (variants x the selected individuals' byte span):
#: small enough that a block, transposed, and its gathered bytes stay in cache (on the quick
#: preset, 8,800 of a group's 15,000 at 48,198 variants: 0.65 s at 240 kB, 1.0 s at 4 MB).
_GATHER_BYTES = 256 * 1024


def _gathered(bed: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The packed bytes (variants x ceil(len(rows) / 4)) of individuals ``rows`` of ``bed``,
    in that order: individual ``i`` takes slot ``i % 4`` of byte ``i // 4``; the unused bits
    of a last byte are 0, as the store writes them."""
    variants, width = bed.shape[0], (rows.size + 3) // 4
    out = np.zeros((variants, width), dtype=np.uint8)
    if rows.size == 0 or variants == 0:
        return out
    position, slot = np.divmod(rows, 4)
    first, last = int(position.min()), int(position.max()) + 1
    local, shifts = position - first, (2 * slot).astype(np.uint8)[:, None]
    block = max(1, _GATHER_BYTES // (last - first))
    for start in range(0, variants, block):
        # byte positions x variants: each row's byte is then a row, gathered in one take
        span = np.ascontiguousarray(bed[start : start + block, first:last].T)
        packed = np.zeros((width, span.shape[1]), dtype=np.uint8)
        for t in range(4):  # the individuals that go to slot t of their new byte
            codes = np.right_shift(span[local[t::4]], shifts[t::4]) & 3
            packed[: codes.shape[0]] |= codes << (2 * t)
        out[start : start + block] = packed.T
    return out


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
