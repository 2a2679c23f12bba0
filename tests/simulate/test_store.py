"""The genotype store in the cohort cache: exact round trip, atomic writes, other tools read it."""

from __future__ import annotations

import numpy as np
import pytest

import simulate.cache as cache_module
from simulate.cache import COMPLETE_MARKER, cohort_path
from simulate.cohort import CohortParameters, simulate_cohort
from simulate.store import STORE_NAME, plink_files

SETTINGS = dict(n_per_group=60, chromosomes=2, chromosome_length=2e5, seed=7)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A cohort loaded from the cache with no decoded matrix: it reads the store or trees."""
    cache = tmp_path_factory.mktemp("cache")
    return simulate_cohort(("CEU", "YRI"), cache_dir=cache, max_decoded_bytes=0, **SETTINGS)


def test_every_stored_genotype_equals_the_trees_decode(stored):
    assert stored.genotypes is None and stored.store is not None
    everyone = np.arange(stored.num_individuals)
    every_variant = np.arange(stored.num_variants)
    expected = stored.decoded(everyone, every_variant)
    assert np.array_equal(stored.store.read(everyone, every_variant), expected)
    rng = np.random.default_rng(0)
    rows = rng.choice(stored.num_individuals, 17, replace=False)  # unsorted, any order
    columns = rng.choice(stored.num_variants, 40, replace=False)
    assert np.array_equal(stored.store.read(rows, columns), expected[np.ix_(rows, columns)])
    assert np.array_equal(stored.dosages(rows, columns), expected[np.ix_(rows, columns)])


def test_the_store_is_a_plink_fileset_with_the_cohorts_layout(stored):
    from bed_reader import open_bed

    bed, bim, fam = plink_files(stored.store.prefix)
    assert bed.name == f"{STORE_NAME}.bed" and bim.is_file() and fam.is_file()
    with open_bed(bed) as reader:  # reads the .fam and .bim themselves
        assert reader.shape == (stored.num_individuals, stored.num_variants)
        assert list(reader.iid[:2]) == ["CEU_0", "CEU_1"] and reader.iid[-1] == "YRI_59"
        assert np.array_equal(reader.bp_position, stored.variants["position"].to_numpy() + 1)
        first = reader.read(index=np.s_[:, :5], dtype="int8")
    assert np.array_equal(first, stored.decoded(np.arange(stored.num_individuals), np.arange(5)))


def test_a_killed_store_write_leaves_no_cohort_the_cache_takes_for_complete(tmp_path, monkeypatch):
    real = cache_module.write_genotype_store

    def killed(prefix, dosages, **kwargs):
        def half(columns):
            if columns[0] > 0:
                raise KeyboardInterrupt  # the process is killed in the middle of the .bed
            return dosages(columns)

        real(prefix, half, **kwargs)

    monkeypatch.setattr(cache_module, "write_genotype_store", killed)
    monkeypatch.setattr("simulate.store._WRITE_BYTES", 1)  # 64 variants a block
    parameters = CohortParameters(groups=("CEU",), **SETTINGS)
    with pytest.raises(KeyboardInterrupt):
        simulate_cohort(("CEU",), cache_dir=tmp_path, **SETTINGS)
    assert list((tmp_path / "cohorts").iterdir()) == []  # no folder, no staging left behind
    monkeypatch.setattr(cache_module, "write_genotype_store", real)
    made = simulate_cohort(("CEU",), cache_dir=tmp_path, max_decoded_bytes=0, **SETTINGS)
    assert (cohort_path(parameters, tmp_path) / COMPLETE_MARKER).is_file()
    everyone = np.arange(made.num_individuals)
    every_variant = np.arange(made.num_variants)
    assert np.array_equal(made.store.read(everyone, every_variant),
                          made.decoded(everyone, every_variant))  # fmt: skip


def test_a_truncated_store_is_refused_not_read(stored, tmp_path):
    from simulate.store import GenotypeStore

    bed = plink_files(stored.store.prefix)[0]
    short = tmp_path / "short.bed"
    short.write_bytes(bed.read_bytes()[:-1])
    with pytest.raises(OSError, match="a complete store"):
        GenotypeStore(tmp_path / "short", stored.num_individuals, stored.num_variants)


def test_a_store_written_by_two_workers_is_the_same_file(stored, tmp_path, monkeypatch):
    monkeypatch.setattr("simulate.store._WRITE_BYTES", 1)  # 64 variants a block
    monkeypatch.setattr("simulate.store._RUN_BLOCKS", 1)  # one block a task: many tasks
    progress = []
    parallel = simulate_cohort(("CEU", "YRI"), cache_dir=tmp_path, max_decoded_bytes=0,
                               workers=2, progress=lambda *step: progress.append(step),
                               **SETTINGS)  # fmt: skip
    assert stored.num_variants > 2 * 64  # so the tasks really were several
    for ours, theirs in zip(plink_files(parallel.store.prefix), plink_files(stored.store.prefix),
                            strict=True):  # fmt: skip
        assert ours.read_bytes() == theirs.read_bytes()
    written = [done for stage, done, _ in progress if stage == "writing the genotype store"]
    assert written == sorted(written) and written[-1] == stored.num_variants


# --- scan sums straight from the packed bytes ----------------------------------------------

PACKED_SHAPE = (37, 300)  # an odd number of individuals: the last byte of a variant is part used


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A store of known dosages (frequencies from 0 to 1: constant variants too) and its matrix."""
    from simulate.store import GenotypeStore, write_genotype_store

    individuals, variants = PACKED_SHAPE
    rng = np.random.default_rng(3)
    frequency = np.concatenate([[0.0, 1.0], rng.beta(0.3, 1.0, variants - 2)])
    dosages = rng.binomial(2, frequency, size=(individuals, variants)).astype(np.int8)
    names = [f"I{i}" for i in range(individuals)]
    properties = {"fid": names, "iid": names, "chromosome": ["1"] * variants,
                  "sid": [f"v{j}" for j in range(variants)], "cm_position": np.zeros(variants),
                  "bp_position": np.arange(1, variants + 1), "allele_1": ["A"] * variants,
                  "allele_2": ["G"] * variants}  # fmt: skip
    prefix = tmp_path_factory.mktemp("packed") / "store"
    write_genotype_store(prefix, lambda columns: dosages[:, columns], individuals=individuals,
                         variants=variants, properties=properties)  # fmt: skip
    return GenotypeStore(prefix, individuals, variants), dosages


ROW_SETS = {
    "all": np.arange(37),
    "sorted": np.array([0, 1, 2, 5, 8, 9, 10, 11, 17, 23, 30, 33, 35, 36]),
    "unsorted": np.array([36, 4, 19, 0, 27, 3, 12, 30, 31, 7]),
    "one": np.array([13]),
    "last": np.array([36]),  # alone in the last, part-used byte
    "spread": np.array([36, 0, 21]),  # three bytes far apart: read by position, not as a run
}


@pytest.mark.parametrize("rows", ROW_SETS.values(), ids=ROW_SETS.keys())
# 56 bytes: blocks of a few variants, the last one short for most row sets
@pytest.mark.parametrize("block_bytes", [2**20, 56], ids=["one block", "blocks"])
def test_scan_sums_from_packed_bytes_equal_sums_of_the_dosages(packed, rows, block_bytes,
                                                               monkeypatch):  # fmt: skip
    from simulate.association import ScanStatistics

    monkeypatch.setattr("simulate.store._SCAN_BLOCK_BYTES", block_bytes)
    store, dosages = packed
    rng = np.random.default_rng(rows.size)
    x = dosages[rows].astype(np.float64)
    empty = ScanStatistics.empty(("A",), store.shape[1])
    cases = rng.integers(0, 2, rows.size).astype(float)
    # Counts and 0/1 sums are whole numbers: equal to the brute-force sums and to add's.
    sums = store.scan_sums(rows, cases)
    expected = [x.sum(axis=0), (x * x).sum(axis=0), cases @ x, cases @ (x * x)]
    assert np.array_equal(sums, np.array(expected))
    added, stored = empty.add("A", dosages[rows], cases), empty.add_store("A", store, rows, cases)
    for name in ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_x2y"):
        assert np.array_equal(getattr(stored, name), getattr(added, name)), name
    # A quantitative phenotype: the same sums up to the order of additions.
    liability = rng.normal(size=rows.size)
    sums = store.scan_sums(rows, liability)
    assert np.array_equal(sums[:2], np.array(expected[:2]))
    np.testing.assert_allclose(sums[2], liability @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sums[3], liability @ (x * x), rtol=1e-12, atol=1e-12)


def test_scan_sums_of_no_rows_are_zero_and_bad_rows_are_refused(packed):
    from allocate import InputError

    store, _ = packed
    assert np.array_equal(store.scan_sums(np.array([], dtype=int), np.array([])),
                          np.zeros((4, store.shape[1])))  # fmt: skip
    with pytest.raises(InputError, match="distinct"):
        store.scan_sums(np.array([3, 3]), np.ones(2))
    with pytest.raises(InputError, match=r"\[0, 37\)"):
        store.scan_sums(np.array([37]), np.ones(1))
    with pytest.raises(InputError, match="one length"):
        store.scan_sums(np.array([1, 2]), np.ones(3))


def test_a_missing_genotype_in_the_store_is_an_error_not_a_dosage(packed, tmp_path):
    from simulate.store import GenotypeStore

    store, _ = packed
    bed, bim, fam = plink_files(store.prefix)
    content = bytearray(bed.read_bytes())
    content[3 + 5 * 10 + 2] = 0b11_11_01_11  # variant 5, individual 9 (byte 2, slot 1): 01
    copy = tmp_path / "copy"
    plink_files(copy)[0].write_bytes(bytes(content))
    missing = GenotypeStore(copy, *store.shape)
    assert missing.scan_sums(np.array([8, 10]), np.ones(2)).shape == (4, store.shape[1])
    with pytest.raises(OSError, match="missing genotypes"):
        missing.scan_sums(np.array([9]), np.ones(1))


# --- some individuals packed in memory, in a new order --------------------------------------

ORDERS = {
    "all, reversed": np.arange(37)[::-1],
    "shuffled": np.random.default_rng(5).permutation(37)[:21],
    "one": np.array([36]),
    "repeated": np.array([4, 4, 30, 0]),
}


@pytest.mark.parametrize("rows", ORDERS.values(), ids=ORDERS.keys())
# 40 bytes: blocks of a few variants, the last one short
@pytest.mark.parametrize("gather_bytes", [2**20, 40], ids=["one block", "blocks"])
def test_packed_rows_are_the_bytes_the_store_would_write_for_them(packed, rows, gather_bytes,
                                                                  monkeypatch):  # fmt: skip
    from simulate.store import _packed

    monkeypatch.setattr("simulate.store._GATHER_BYTES", gather_bytes)
    store, dosages = packed
    subset = store.packed(rows)
    assert subset.shape == (rows.size, store.shape[1])
    assert np.array_equal(subset.codes, _packed(dosages[rows]))  # the writer's packing


def test_scan_sums_of_packed_rows_equal_the_stores_and_adds(packed):
    from simulate.association import ScanStatistics

    store, dosages = packed
    order = np.random.default_rng(6).permutation(37)[:30]
    subset = store.packed(order[:16]).extended(store.packed(order[16:]))
    assert np.array_equal(subset.codes, store.packed(order).codes)
    rng = np.random.default_rng(7)
    empty = ScanStatistics.empty(("A",), store.shape[1])
    for at in (np.arange(30), np.arange(8, 19), np.array([29, 3, 17]), np.array([0])):
        cases = rng.integers(0, 2, at.size).astype(float)
        rows = order[at]
        assert np.array_equal(subset.scan_sums(at, cases), store.scan_sums(rows, cases))
        added = empty.add("A", dosages[rows], cases)
        ours = empty.add_store("A", subset, at, cases)
        for name in ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_x2y"):
            assert np.array_equal(getattr(ours, name), getattr(added, name)), name


def test_packed_rows_refuse_individuals_outside_the_store_and_missing_codes(packed):
    from allocate import InputError

    store, _ = packed
    with pytest.raises(InputError, match=r"\[0, 37\)"):
        store.packed(np.array([0, 37]))
    subset = store.packed(np.array([5, 2]))
    with pytest.raises(InputError, match="multiple of 4"):
        subset.extended(subset)
    with pytest.raises(InputError, match="distinct"):
        subset.scan_sums(np.array([1, 1]), np.ones(2))
    subset.codes[3, 0] = 0b11_11_01_11  # variant 3, individual 1: 01, missing
    with pytest.raises(OSError, match="missing genotypes"):
        subset.scan_sums(np.array([1]), np.ones(1))
