"""Scan statistics add, restrict and subset as the scans of the pooled or chosen samples do."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from allocate.errors import InputError
from simulate.association import ScanStatistics, meta_analyse

GROUPS = ("A", "B")


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(16)
    dosages = rng.binomial(2, rng.uniform(0.05, 0.5, 40), size=(300, 40)).astype(np.int8)
    dosages[:, 7] = 0  # monomorphic: untestable
    y = dosages[:, :5] @ np.full(5, 0.3) + rng.normal(size=300)
    cases = (y > np.quantile(y, 0.7)).astype(float)
    return dosages, y, cases


def statistics_of(dosages, y, split=(0, 150, 300)):
    empty = ScanStatistics.empty(GROUPS, dosages.shape[1])
    first, middle, last = split
    return (empty.add("A", dosages[first:middle], y[first:middle])
            .add("B", dosages[middle:last], y[middle:last]))  # fmt: skip


def assert_same_scan(first, second):
    for name in ("beta", "se", "p"):
        np.testing.assert_allclose(getattr(first, name), getattr(second, name), rtol=1e-9,
                                   equal_nan=True)  # fmt: skip
    assert first.n == second.n and first.test == second.test


@pytest.mark.parametrize("test", ["linear", "logistic"])
def test_statistics_of_two_halves_add_to_those_of_the_whole(samples, test):
    dosages, y, cases = samples
    outcome = y if test == "linear" else cases
    empty = ScanStatistics.empty(GROUPS, dosages.shape[1])
    halves = [empty.add("A", dosages[s:s + 75], outcome[s:s + 75]).add(
        "B", dosages[150 + s:225 + s], outcome[150 + s:225 + s]) for s in (0, 75)]
    assert_same_scan((halves[0] + halves[1]).scan(test), statistics_of(dosages, outcome).scan(test))


def test_only_one_group_scans_as_that_group_alone(samples):
    dosages, y, _ = samples
    alone = ScanStatistics.empty(GROUPS, dosages.shape[1]).add("B", dosages[150:], y[150:])
    assert_same_scan(statistics_of(dosages, y).only(("B",)).scan("linear"), alone.scan("linear"))


def test_scans_of_chosen_variants_are_the_full_scan_there_and_nan_elsewhere(samples):
    dosages, y, _ = samples
    statistics = statistics_of(dosages, y)
    chosen = np.array([2, 7, 11, 30])
    full, part = statistics.scan("linear"), statistics.scan("linear", variants=chosen)
    assert part.beta.shape == (dosages.shape[1],)
    others = np.setdiff1d(np.arange(dosages.shape[1]), chosen)
    np.testing.assert_allclose(part.beta[chosen], full.beta[chosen], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(part.p[chosen], full.p[chosen], rtol=1e-12, equal_nan=True)
    assert np.isnan(part.beta[others]).all() and np.isnan(part.se[others]).all()
    assert np.isnan(part.p[others]).all()


@pytest.mark.parametrize("test", ["linear", "logistic"])
def test_a_monomorphic_variant_is_untestable(samples, test):
    dosages, y, cases = samples
    result = statistics_of(dosages, y if test == "linear" else cases).scan(test)
    assert np.isnan(result.p[7]) and np.isnan(result.beta[7])
    assert np.isfinite(result.p[np.arange(40) != 7]).all()
    assert result.test == test and result.n == 300


@pytest.mark.parametrize("test", ["linear", "logistic"])
def test_a_variant_without_variation_in_dosage_is_untestable(samples, test):
    dosages, y, cases = samples
    phenotype = y if test == "linear" else cases
    everyone_heterozygous, fixed_per_group = dosages.copy(), dosages.copy()
    everyone_heterozygous[:, 7] = 1
    fixed_per_group[:, 7] = np.where(np.arange(300) < 150, 0, 2)  # only the groups differ
    for changed in (everyone_heterozygous, fixed_per_group):
        result = statistics_of(changed, phenotype).scan(test)
        assert np.isnan(result.p[7]) and np.isnan(result.beta[7]) and np.isnan(result.se[7])
        assert np.isfinite(result.p[np.arange(40) != 7]).all()


def test_allele_frequency_is_half_the_mean_dosage(samples):
    dosages, y, _ = samples
    np.testing.assert_allclose(statistics_of(dosages, y).allele_frequency(),
                               dosages.mean(axis=0) / 2, rtol=1e-12)  # fmt: skip
    empty = ScanStatistics.empty(GROUPS, 3).allele_frequency()
    np.testing.assert_array_equal(empty, np.full(3, 0.5))


def test_statistics_of_other_groups_or_variants_do_not_add(samples):
    dosages, y, _ = samples
    statistics = statistics_of(dosages, y)
    with pytest.raises(InputError, match="only scans of the same groups and variants"):
        statistics + ScanStatistics.empty(("A", "C"), dosages.shape[1])
    with pytest.raises(InputError, match="only scans of the same groups and variants"):
        statistics + ScanStatistics.empty(GROUPS, 3)


def test_result_tables_name_their_columns(samples):
    dosages, y, _ = samples
    result = statistics_of(dosages, y).scan("linear")
    frame = result.to_frame()
    assert list(frame.columns) == ["beta", "se", "p"]
    np.testing.assert_array_equal(frame["p"].to_numpy(), result.p)
    assert result.to_dict() == {"test": "linear", "n": 300, "variants": 40}
    assert "39 testable" in result.summary()


def test_meta_analysis_combines_only_where_a_scan_is_testable(samples):
    dosages, y, _ = samples
    first = ScanStatistics.empty(GROUPS, 40).add("A", dosages[:150], y[:150]).scan("linear")
    second = ScanStatistics.empty(GROUPS, 40).add("B", dosages[150:], y[150:]).scan("linear")
    second.beta[3] = second.se[3] = second.p[3] = np.nan  # untestable in the second scan only
    combined = meta_analyse([first, second])
    assert combined.beta[3] == pytest.approx(first.beta[3], rel=1e-12)
    assert combined.se[3] == pytest.approx(first.se[3], rel=1e-12)
    z = first.beta[3] / first.se[3]
    assert combined.p[3] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert np.isnan(combined.se[7]) and np.isnan(combined.p[7])
    assert combined.n == 300 and combined.test == "meta-linear"


def test_a_separated_variant_is_untestable_in_the_logistic_scan(samples):
    # Every case carries the allele and no control does: the likelihood keeps rising as the
    # slope grows, so there is no estimate to report (plink2 reports NA too).
    dosages, _, cases = samples
    separated = dosages.copy()
    separated[:, 11] = 2 * cases
    result = statistics_of(separated, cases).scan("logistic")
    assert np.isnan(result.p[11]) and np.isnan(result.beta[11]) and np.isnan(result.se[11])
    assert np.isfinite(result.p[np.arange(40) != 7]).sum() == 38


def test_the_default_scan_is_linear(samples):
    dosages, y, _ = samples
    statistics = statistics_of(dosages, y)
    assert_same_scan(statistics.scan(), statistics.scan("linear"))


@pytest.mark.parametrize("test", ["linear", "logistic"])
def test_statistics_stacked_from_single_group_parts_scan_as_the_groups_together(samples, test):
    dosages, y, cases = samples
    outcome = y if test == "linear" else cases
    parts = {g: ScanStatistics.empty((g,), 40).add(g, dosages[rows], outcome[rows])
             for g, rows in (("A", slice(0, 150)), ("B", slice(150, 300)))}  # fmt: skip
    stacked = ScanStatistics.stacked(GROUPS, parts, 40)
    assert_same_scan(stacked.scan(test), statistics_of(dosages, outcome).scan(test))
    alone = ScanStatistics.stacked(("A", "B", "C"), {"B": parts["B"]}, 40)  # no rows for A, C
    assert_same_scan(alone.only(("B",)).scan(test), parts["B"].scan(test))
    assert alone.n.tolist() == [0, 150, 0]


def test_adding_to_a_group_the_statistics_do_not_have_is_refused(samples):
    dosages, y, _ = samples
    with pytest.raises(InputError, match=r"^the scan has no group 'C'; it has A, B$"):
        ScanStatistics.empty(GROUPS, 40).add("C", dosages, y)
