"""Work done once per split: prefix statistics, validation and test genotypes, all exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulate.association import ScanStatistics
from simulate.phenotype import simulate_phenotype
from simulate.prs import ScoreTrainer, evaluate_score, split_cohort
from simulate.source import GenomicSource
from simulate.training_data import TrainingData

#: Sums of exact numbers (dosages, 0/1 cases, a quantitative trait on a 2^-30 grid times
#: dosages): equal whatever the order of the samples. Not sum_y2 of a quantitative trait: its
#: squares have 60 fractional bits, so it is compared to the last bit or two.
STATISTICS = ("n", "sum_y", "sum_x", "sum_x2", "sum_xy", "sum_x2y")


@pytest.fixture(scope="module", params=["quantitative", "binary"])
def world(small_cohort, request):
    prevalence = 0.3 if request.param == "binary" else None
    trait = simulate_phenotype(small_cohort, h2=0.6, causal=20, prevalence=prevalence, seed=8)
    split = split_cohort(small_cohort, reference=60, test_fraction=0.2, seed=8)
    return small_cohort, trait, split


def _fresh(cohort, trait, split, group, n):
    """The scan statistics of the first ``n`` training samples, computed from nothing."""
    rows, flags = split.training(group, n, trait)
    empty = ScanStatistics.empty((group,), cohort.num_variants)
    dosages, y = cohort.dosages(rows), trait.values[rows]
    return (empty.add(group, dosages[~flags], y[~flags]),
            empty.add(group, dosages[flags], y[flags]))  # fmt: skip


def test_every_prefix_equals_a_fresh_scan_in_any_order(world):
    cohort, trait, split = world
    data = TrainingData(cohort, trait, split)
    top = split.max_training("CEU", trait)
    for n in (60, 20, top, 61, 35, top - 1, 60):  # growing, shrinking, between, again
        for ours, fresh in zip(data.prefix("CEU", n), _fresh(cohort, trait, split, "CEU", n),
                               strict=True):  # fmt: skip
            for name in STATISTICS:  # sums of exact numbers: equal, not close
                assert np.array_equal(getattr(ours, name), getattr(fresh, name)), (n, name)
            np.testing.assert_allclose(ours.sum_y2, fresh.sum_y2, rtol=1e-15)


@pytest.mark.parametrize("prevalence", [0.3, None], ids=["binary", "quantitative"])
def test_a_stored_cohort_without_its_matrix_gives_the_same_prefixes(tmp_path, prevalence,
                                                                     monkeypatch):  # fmt: skip
    """Binary discovery statistics come from the store's packed bytes then, bit for bit."""
    from simulate.cohort import simulate_cohort
    from tests.conftest import SMALL

    stored = simulate_cohort(("CEU", "YRI"), cache_dir=tmp_path, max_decoded_bytes=0, **SMALL)
    assert stored.genotypes is None and stored.store is not None
    trait = simulate_phenotype(stored, h2=0.6, causal=20, prevalence=prevalence, seed=8)
    split = split_cohort(stored, reference=60, test_fraction=0.2, seed=8)
    calls = []
    real = ScanStatistics.add_store
    monkeypatch.setattr(ScanStatistics, "add_store",
                        lambda self, *args: calls.append(1) or real(self, *args))  # fmt: skip
    data = TrainingData(stored, trait, split)
    top = split.max_training("CEU", trait)
    for n in (60, 20, top, 61):
        for ours, fresh in zip(data.prefix("CEU", n), _fresh(stored, trait, split, "CEU", n),
                               strict=True):  # fmt: skip
            for name in STATISTICS:
                assert np.array_equal(getattr(ours, name), getattr(fresh, name)), (n, name)
            np.testing.assert_allclose(ours.sum_y2, fresh.sum_y2, rtol=1e-15)
    assert len(calls) == (4 if prevalence else 0)  # one for each prefix computed
    rows, flags = split.training("CEU", top, trait)
    columns = np.arange(0, stored.num_variants, 7)
    assert np.array_equal(data.validation_dosages(rows[flags], columns),
                          stored.dosages(rows[flags], columns))  # fmt: skip


@pytest.fixture(scope="module")
def stored_binary(tmp_path_factory):
    """A stored cohort without its decoded matrix, a binary trait and a split."""
    from simulate.cohort import simulate_cohort
    from tests.conftest import SMALL

    cache = tmp_path_factory.mktemp("stored")
    stored = simulate_cohort(("CEU", "YRI"), cache_dir=cache, max_decoded_bytes=0, **SMALL)
    trait = simulate_phenotype(stored, h2=0.6, causal=20, prevalence=0.3, seed=8)
    return stored, trait, split_cohort(stored, reference=60, test_fraction=0.2, seed=8)


# The packed pool holds: every discovery member (growing past the largest planned training set
# by doubling), the first 48 (members past them are summed from the store), none.
@pytest.mark.parametrize("held", [None, 48, 0], ids=["default", "48 members", "no pool"])
def test_prefixes_from_the_packed_training_pool_equal_the_stores_and_decoded_ones(
    stored_binary, held, monkeypatch
):
    from simulate.store import GenotypeStore, PackedGenotypes

    stored, trait, split = stored_binary
    sources = []
    real = ScanStatistics.add_store
    monkeypatch.setattr(ScanStatistics, "add_store",
                        lambda self, group, store, *args: sources.append(type(store))
                        or real(self, group, store, *args))  # fmt: skip
    limit = {} if held is None else {"pool_bytes": held // 4 * stored.num_variants}
    data = TrainingData(stored, trait, split, **limit)
    top, everyone = split.max_training("CEU", trait), split.pool_size("CEU")
    sizes = (60, 20, top, 61, 35, top + 40, everyone, top - 1)  # nested, shrinking, past top
    for n in sizes:
        rows, flags = split.training("CEU", n, trait)
        empty = ScanStatistics.empty(("CEU",), stored.num_variants)
        y = trait.values[rows]
        from_store = empty.add_store("CEU", stored.store, rows[~flags], y[~flags])
        fresh = _fresh(stored, trait, split, "CEU", n)
        for ours, other in [(data.prefix("CEU", n)[0], from_store),
                            *zip(data.prefix("CEU", n), fresh, strict=True)]:  # fmt: skip
            for name in STATISTICS + ("sum_y2",):  # 0/1 cases: sums of exact numbers
                assert np.array_equal(getattr(ours, name), getattr(other, name)), (n, name)
    ours = sources[1::2]  # the direct call, then the prefix's (kept when asked again)
    assert len(ours) == len(sizes) and set(sources[::2]) == {GenotypeStore}
    pool = data._pools["CEU"]
    if held is None:
        assert set(ours) == {PackedGenotypes}
        assert pool.held == pool.order.size  # grown to the whole pool for the last sizes
    elif held:
        assert set(ours) == {PackedGenotypes, GenotypeStore} and pool.held == 48
    else:
        assert set(ours) == {GenotypeStore} and pool.held == 0


def test_a_prefix_reads_only_the_samples_past_the_largest_prefix_below_it(world):
    cohort, trait, split = world
    data = TrainingData(cohort, trait, split)
    data.prefix("CEU", 100)
    data.prefix("CEU", 40)
    assert data.rows_read == 100 + 40  # 40 had no prefix below it
    data.prefix("CEU", 70)
    assert data.rows_read == 100 + 40 + 30  # from 40
    data.prefix("CEU", 100)
    assert data.rows_read == 170  # kept


def test_kept_validation_and_test_genotypes_equal_the_cohorts(world, monkeypatch):
    cohort, trait, split = world
    data = TrainingData(cohort, trait, split, test_bytes=2000)
    rows, flags = split.training("YRI", 80, trait)
    data.prefix("YRI", 80)
    columns = np.array([5, 0, 17, 300])
    validation = rows[flags]
    assert np.array_equal(data.validation_dosages(validation, columns),
                          cohort.dosages(validation, columns))  # fmt: skip
    test = split.test["YRI"]
    for chosen in (np.array([3, 9, 1]), np.array([9, 2, 3, 400]), np.arange(50)):
        # the last set passes the 2,000-byte limit: read, not kept, and still equal
        assert np.array_equal(data.test_dosages(test, chosen), cohort.dosages(test, chosen))


def test_a_source_gives_the_numbers_of_trainers_that_share_nothing(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split, metric="r2_genetic", fractions=(0.5, 1.0))
    source.measure({"CEU": 60, "YRI": 90}, seed=0)
    grown = source.measure({"CEU": 90, "YRI": 40}, seed=0)  # one group grows, one shrinks
    values = []
    for group, n in [("CEU", 45), ("YRI", 20), ("CEU", 90), ("YRI", 40)]:
        score = ScoreTrainer(cohort, trait, split).fit({group: n})
        table = evaluate_score(score, cohort, trait, split, groups=(group,)).table
        values.append(table["r2_genetic"].item())
    pd.testing.assert_series_equal(grown["value"], pd.Series(values, name="value"),
                                   check_exact=True)  # fmt: skip


def test_haplotype_panels_give_the_tree_sequences_own_ld(world):
    import tskit

    cohort, trait, split = world
    panel = TrainingData(cohort, trait, split).panel(("CEU",), "haplotype")
    on_chromosome = np.flatnonzero(cohort.variants["chromosome"].to_numpy() == 1)[:300]
    columns = panel[:, on_chromosome].astype(np.float64)
    varying = np.abs(columns).sum(axis=0) > 0
    ours = (columns.T @ columns) ** 2
    nodes = cohort.sample_nodes[split.reference["CEU"]].ravel()
    ts = cohort.tree_sequences[0].simplify(samples=nodes, filter_sites=False)
    # The LD calculator takes sites of exactly one mutation (ours, where the panel varies).
    per_site = np.bincount(ts.tables.mutations.site, minlength=ts.num_sites)
    others = np.flatnonzero(per_site != 1)
    theirs = tskit.LdCalculator(ts.delete_sites(others)).r2_matrix()
    sites = cohort.variants["site"].to_numpy()[on_chromosome]
    compared = varying & (per_site[sites] == 1)
    assert compared.sum() > 100
    sites = sites - np.searchsorted(others, sites)  # their ids once the others are deleted
    expected = theirs[np.ix_(sites[compared], sites[compared])]
    keep = np.ix_(compared, compared)
    np.testing.assert_allclose(ours[keep], expected, atol=1e-5)  # float32 panel


def test_clumping_on_haplotype_ld_is_an_option_and_dosage_the_default(world):
    cohort, trait, split = world
    default = ScoreTrainer(cohort, trait, split).fit({"CEU": 90})
    dosage = ScoreTrainer(cohort, trait, split, ld="dosage").fit({"CEU": 90})
    haplotype = ScoreTrainer(cohort, trait, split, ld="haplotype").fit({"CEU": 90})
    assert np.array_equal(default.variants, dosage.variants)
    assert haplotype.variants.size > 0
    with pytest.raises(ValueError, match="ld must be 'dosage' or 'haplotype'"):
        ScoreTrainer(cohort, trait, split, ld="em")
    with pytest.raises(ValueError, match="ld='haplotype' is clumping's LD measure"):
        ScoreTrainer(cohort, trait, split, ld="haplotype", method="ldpred-inf")
