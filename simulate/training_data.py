"""Work fixed for one split of a cohort, done once and shared by every score trained on it.

Within a benchmark replicate the split is fixed: each group's training order, its validation
members, its test people and its reference panel. Strategies, rounds and nested fractions train
on prefixes of the same training orders and score on the same test people, so
:class:`TrainingData` keeps, for the whole replicate:

- the scan's sufficient statistics of every training prefix computed so far, per group, so a
  prefix of any size starts from the largest one below it and reads only the samples between
  (the statistics are sums of exact numbers, so this equals a fresh scan bit for bit; the one
  exception is a quantitative trait's sum of squares, whose terms have 60 fractional bits, so
  it can differ in the last bit, as it already did between training sets grown in different
  steps);
- each group's discovery members in training order, their genotypes packed in memory as the
  genotype store holds them, read from the store in one pass (:class:`_PackedPool`), so a
  prefix's sums read only the new members' bytes rather than every byte of the group's rows
  in the store;
- every validation member's genotypes, kept as they are read for the scan, so choosing a
  p-value threshold reads no genotypes again;
- each test set's genotypes at every variant a score has used, up to a memory limit;
- the standardised reference panels for clumping.

Nothing here changes a number: every genotype it hands out equals what the cohort would give.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from simulate.association import ScanStatistics
from simulate.clumping import standardised_panel

__all__ = ["TrainingData"]

#: Prefix statistics kept per group, least recently used dropped first. Each costs two single-
#: group statistics of 4 float64 per variant (at the paper's 305,792 variants, 19.6 MB).
_CHECKPOINTS = 48
#: Test-set genotypes kept per split (int8 columns at score variants).
_TEST_BYTES = 1024**3
#: Packed training-order genotypes kept per group (:class:`_PackedPool`). At the paper's
#: 305,792 variants, 2 GiB holds 28,088 individuals: every discovery member of a 1:1
#: case-control training set at 5% prevalence (about 8,000 of a pool of 99,000).
_POOL_BYTES = 2 * 1024**3


class TrainingData:
    """Shared, growing caches of one cohort, phenotype and split (see the module docstring).

    Parameters
    ----------
    cohort, phenotype, split
        The world; ``split`` fixes the training orders and validation members. Test sets of
        other splits with the same pools (:meth:`CohortSplit.halved_tests`) may be read too.
    test_bytes : int
        Most bytes of test-set genotypes kept.
    pool_bytes : int
        Most bytes of packed training genotypes kept per group; the prefix statistics of
        members past them are read from the genotype store as they come.
    """

    def __init__(self, cohort, phenotype, split, *, test_bytes: int = _TEST_BYTES,
                 pool_bytes: int = _POOL_BYTES) -> None:  # fmt: skip
        self.cohort, self.phenotype, self.split = cohort, phenotype, split
        self.panels: dict[tuple[str, ...], np.ndarray] = {}
        self._prefixes: dict[str, OrderedDict[int, tuple[ScanStatistics, ScanStatistics]]] = {
            g: OrderedDict() for g in cohort.groups
        }
        self._validation: dict[int, np.ndarray] = {}  # individual -> dosages at every variant
        self._tests: dict[bytes, dict[int, np.ndarray]] = {}
        self._test_bytes, self._test_limit = 0, int(test_bytes)
        self._pools: dict[str, _PackedPool] = {}
        self._pool_bytes = int(pool_bytes)
        self.rows_read = 0  # training rows read from the cohort (for tests and benchmarks)

    # --- training prefixes ------------------------------------------------------------------

    def prefix(self, group: str, n: int) -> tuple[ScanStatistics, ScanStatistics]:
        """Discovery and validation statistics of the first ``n`` training samples of ``group``
        (single-group statistics)."""
        kept = self._prefixes[group]
        if n in kept:
            kept.move_to_end(n)
            return kept[n]
        below = [k for k in kept if k < n]
        start = max(below) if below else 0
        members, flags = self.split.training(group, n, self.phenotype)
        before, _ = self.split.training(group, start, self.phenotype)
        if start and not np.isin(before, members).all():  # not nested: from scratch
            start, before = 0, before[:0]
        if start:
            discovery, validation = kept[start]
        else:
            discovery = validation = ScanStatistics.empty((group,), self.cohort.num_variants)
        new = ~np.isin(members, before)
        rows, flags = members[new], flags[new]
        self.rows_read += rows.size
        y = self.phenotype.values[rows]
        if self._sums_from_store(y):  # only validation members' dosages are needed
            source, at = self._discovery_source(group, rows[~flags])
            discovery = discovery.add_store(group, source, at, y[~flags])
            rows, flags, y = rows[flags], flags[flags], y[flags]
        dosages = self.cohort.dosages(rows)
        if (~flags).any():
            discovery = discovery.add(group, dosages[~flags], y[~flags])
        if flags.any():
            validation = validation.add(group, dosages[flags], y[flags])
            for row, values in zip(rows[flags], dosages[flags], strict=True):
                self._validation[int(row)] = values
        kept[n] = (discovery, validation)
        if len(kept) > _CHECKPOINTS:
            kept.popitem(last=False)
        return kept[n]

    def _sums_from_store(self, y: np.ndarray) -> bool:
        """Whether discovery statistics are taken from the genotype store's packed bytes
        (:meth:`ScanStatistics.add_store`) rather than from decoded dosages.

        Only without the decoded matrix: the store is then faster at every size (0.11 s
        against 0.25 s for 200 rows, 0.38 s against 0.56 s for 3,000, quick preset), while
        from the matrix a few hundred rows (the quick preset's training sets) are faster read
        as dosages. Only for whole-number phenotypes (0/1 cases), where its sums are add's,
        bit for bit; a quantitative trait's would differ in the last bits.
        """
        return (
            self.cohort.store is not None
            and self.cohort.genotypes is None
            and bool(np.array_equal(y, np.round(y)))
        )

    def _discovery_source(self, group: str, rows: np.ndarray):
        """Where discovery members ``rows`` of ``group`` are summed: the packed pool and their
        positions in it, or the genotype store and ``rows`` when the pool cannot hold them."""
        if rows.size == 0:
            return self.cohort.store, rows
        if group not in self._pools:
            order, flags = self.split.training_order(group, self.phenotype)
            self._pools[group] = _PackedPool(order, flags, self.cohort.num_individuals)
        pool = self._pools[group]
        at = pool.rank[rows]
        if at.min() < 0 or at.max() >= pool.held:
            limit = 4 * (self._pool_bytes // max(self.cohort.num_variants, 1))
            if at.min() < 0 or at.max() >= limit:  # not in the order, or past the limit
                return self.cohort.store, rows
            if pool.held:
                wanted = 2 * pool.held
            else:  # the largest training set the benchmark plans, at once: one pass
                wanted = pool.discovery_within(self.split.max_training(group, self.phenotype))
            pool.grow(self.cohort.store, min(max(wanted, int(at.max()) + 1), limit))
        return pool.packed, at

    def validation_dosages(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Dosages of validation members ``rows`` at ``columns`` (kept when first read)."""
        missing = [int(r) for r in rows if int(r) not in self._validation]
        if missing:  # members of a prefix dropped before it was read here: read them now
            for row, values in zip(missing, self.cohort.dosages(np.array(missing)), strict=True):
                self._validation[row] = values
        if len(rows) == 0:
            return np.empty((0, len(columns)), dtype=np.int8)
        return np.stack([self._validation[int(r)] for r in rows])[:, columns]

    # --- test sets ----------------------------------------------------------------------------

    def test_dosages(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Dosages of test people ``rows`` at ``columns``; columns read once are kept."""
        rows = np.asarray(rows)
        columns = np.asarray(columns, dtype=np.int64)
        key = np.ascontiguousarray(rows, dtype=np.int64).tobytes()
        kept = self._tests.setdefault(key, {})
        missing = np.array([c for c in columns.tolist() if c not in kept], dtype=np.int64)
        if missing.size:
            read = self.cohort.dosages(rows, missing)
            if self._test_bytes + read.nbytes > self._test_limit:
                fresh = dict(zip(missing.tolist(), read.T, strict=True))
                return np.column_stack([kept.get(c, fresh.get(c)) for c in columns.tolist()])
            for column, values in zip(missing.tolist(), read.T, strict=True):
                kept[column] = np.ascontiguousarray(values)
            self._test_bytes += read.nbytes
        if columns.size == 0:
            return np.empty((rows.size, 0), dtype=np.int8)
        return np.column_stack([kept[c] for c in columns.tolist()])

    # --- reference panels ---------------------------------------------------------------------

    def panel(self, groups: tuple[str, ...], ld: str = "dosage") -> np.ndarray:
        """The standardised reference panel of ``groups`` (float32, rows x variants).

        ``ld="dosage"``: one row per panel member, its dosages; ``"haplotype"``: two rows per
        member, its true-phase haplotypes from the trees, so that column products are the
        haplotype correlation r (what ``tskit.LdCalculator`` gives on the panel's trees).
        Either way columns are centred within each group.
        """
        key = groups if ld == "dosage" else (*groups, f"ld={ld}")
        if key not in self.panels:
            rows = np.concatenate([self.split.reference[g] for g in groups])
            if ld == "dosage":
                values, labels = self.cohort.dosages(rows), self.cohort.group[rows]
            else:
                values = self.cohort.haplotypes(rows, np.arange(self.cohort.num_variants))
                labels = np.repeat(self.cohort.group[rows], 2)
            self.panels[key] = standardised_panel(values, labels).astype(np.float32)
        return self.panels[key]


class _PackedPool:
    """A group's discovery members in training order and the packed genotypes
    (:class:`simulate.store.PackedGenotypes`) of the first ``held`` of them.

    Parameters
    ----------
    order, flags : arrays
        The training order (:meth:`simulate.prs.CohortSplit.training_order`): cohort indices
        and is-validation flags; the validation members are left out.
    individuals : int
        The cohort's size.
    """

    def __init__(self, order: np.ndarray, flags: np.ndarray, individuals: int) -> None:
        self._discovery_before = np.concatenate([[0], np.cumsum(~flags)])
        order = order[~flags]
        self.order = order
        self.rank = np.full(individuals, -1, dtype=np.int64)  # cohort index -> position
        self.rank[order] = np.arange(order.size)
        self.packed = None
        self.held = 0

    def discovery_within(self, n: int) -> int:
        """How many of the first ``n`` of the training order are discovery members."""
        return int(self._discovery_before[min(n, self._discovery_before.size - 1)])

    def grow(self, store, count: int) -> None:
        """Hold at least the first ``count`` members (a multiple of 4 short of the end, so
        more can be appended), reading only the ones not yet held from ``store``."""
        count = min(-(-count // 4) * 4, self.order.size)
        if count <= self.held:
            return
        new = store.packed(self.order[self.held : count])
        self.packed = new if self.packed is None else self.packed.extended(new)
        self.held = count
