"""Association scans from sufficient statistics equal statsmodels; increments equal rescans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from simulate.association import ScanStatistics, meta_analyse
from simulate.phenotype import simulate_phenotype


@pytest.fixture(scope="module")
def data(small_cohort):
    quantitative = simulate_phenotype(small_cohort, h2=0.5, causal=30, seed=21)
    binary = simulate_phenotype(small_cohort, h2=0.5, causal=30, prevalence=0.2, seed=22)
    return small_cohort, small_cohort.dosages(), quantitative.values, binary.values


def _statistics(cohort, dosages, y, groups):
    statistics = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    for group in groups:
        rows = cohort.individuals_of(group)
        statistics = statistics.add(group, dosages[rows], y[rows])
    return statistics


def _sample_variants(dosages, rows, count=25):
    varying = np.flatnonzero(dosages[rows].std(axis=0) > 0)
    return np.random.default_rng(0).choice(varying, size=count, replace=False)


def test_linear_scan_equals_statsmodels_ols_in_one_group(data):
    cohort, dosages, y, _ = data
    result = _statistics(cohort, dosages, y, ["CHB"]).scan("linear")
    rows = cohort.individuals_of("CHB")
    for v in _sample_variants(dosages, rows):
        fit = sm.OLS(y[rows], sm.add_constant(dosages[rows, v].astype(float))).fit()
        assert result.beta[v] == pytest.approx(fit.params[1], rel=1e-9)
        assert result.se[v] == pytest.approx(fit.bse[1], rel=1e-9)
        assert result.p[v] == pytest.approx(fit.pvalues[1], rel=1e-8)


def test_pooled_group_centred_scan_equals_ols_with_group_intercepts(data):
    cohort, dosages, y, _ = data
    result = _statistics(cohort, dosages, y, cohort.groups).scan("linear")
    intercepts = pd.get_dummies(cohort.group).to_numpy(float)
    everyone = np.arange(cohort.num_individuals)
    for v in _sample_variants(dosages, everyone):
        fit = sm.OLS(y, np.column_stack([intercepts, dosages[:, v]])).fit()
        assert result.beta[v] == pytest.approx(fit.params[-1], rel=1e-9)
        assert result.p[v] == pytest.approx(fit.pvalues[-1], rel=1e-8)


@pytest.mark.parametrize("groups", [["YRI"], ["CEU", "YRI", "CHB"]])
def test_logistic_scan_equals_statsmodels_logit(data, groups):
    cohort, dosages, _, y = data
    result = _statistics(cohort, dosages, y, groups).scan("logistic")
    rows = np.concatenate([cohort.individuals_of(g) for g in groups])
    intercepts = pd.get_dummies(cohort.group[rows]).to_numpy(float)
    carriers = dosages[rows] > 0
    cases = y[rows] == 1
    # Away from (quasi-)separation, where the MLE does not exist and the scan reports NaN.
    tables = [
        (carriers & cases[:, None]).sum(0), (carriers & ~cases[:, None]).sum(0),
        (~carriers & cases[:, None]).sum(0), (~carriers & ~cases[:, None]).sum(0),
    ]  # fmt: skip
    informative = np.flatnonzero(np.min(tables, axis=0) >= 5)
    for v in np.random.default_rng(1).choice(informative, size=15, replace=False):
        design = np.column_stack([intercepts, dosages[rows, v]])
        fit = sm.Logit(y[rows], design).fit(disp=0, tol=1e-12, maxiter=100)
        assert result.beta[v] == pytest.approx(fit.params[-1], rel=1e-6)
        assert result.se[v] == pytest.approx(fit.bse[-1], rel=1e-6)
        assert result.p[v] == pytest.approx(fit.pvalues[-1], rel=1e-6)


def test_meta_analysis_is_inverse_variance_weighted(data):
    cohort, dosages, y, _ = data
    scans = [_statistics(cohort, dosages, y, [g]).scan("linear") for g in cohort.groups]
    combined = meta_analyse(scans)
    v = int(np.flatnonzero(np.all([np.isfinite(s.p) for s in scans], axis=0))[3])
    weights = np.array([1 / s.se[v] ** 2 for s in scans])
    beta = sum(w * s.beta[v] for w, s in zip(weights, scans, strict=True)) / weights.sum()
    assert combined.beta[v] == pytest.approx(beta, rel=1e-12)
    assert combined.se[v] == pytest.approx(np.sqrt(1 / weights.sum()), rel=1e-12)
    z = beta * np.sqrt(weights.sum())
    assert combined.p[v] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_incremental_statistics_equal_a_scan_from_scratch(data):
    cohort, dosages, y, _ = data
    rows = cohort.individuals_of("CEU")
    grown = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    for batch in np.array_split(rows, [50, 170]):
        grown = grown.add("CEU", dosages[batch], y[batch])
    scratch = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    scratch = scratch.add("CEU", dosages[rows], y[rows])
    # Phenotypes lie on a 2^-30 grid, so every sum of them is exact: bit-for-bit equal.
    for name in ("n", "sum_y", "sum_x", "sum_x2", "sum_xy", "sum_x2y"):
        np.testing.assert_array_equal(getattr(grown, name), getattr(scratch, name))
    np.testing.assert_allclose(grown.sum_y2, scratch.sum_y2, rtol=1e-13)
    np.testing.assert_allclose(
        grown.scan("linear").p, scratch.scan("linear").p, rtol=1e-9, equal_nan=True
    )


def test_genotype_classes_count_each_dosage(data):
    cohort, dosages, y, _ = data
    rows = cohort.individuals_of("YRI")
    counts, sums = _statistics(cohort, dosages, y, ["YRI"]).genotype_classes()
    k = cohort.groups.index("YRI")
    for dosage in (0, 1, 2):
        np.testing.assert_allclose(counts[k, :, dosage], (dosages[rows] == dosage).sum(axis=0))
        np.testing.assert_allclose(
            sums[k, :, dosage], (dosages[rows] == dosage).T.astype(float) @ y[rows], atol=1e-9
        )
