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
