"""Greedy LD clumping keeps no correlated pair within a window, and explains every removal."""

from __future__ import annotations

import numpy as np
import pytest

from allocate.errors import InputError
from simulate.association import ScanStatistics
from simulate.clumping import clump, standardised_panel
from simulate.phenotype import simulate_phenotype


@pytest.fixture(scope="module")
def clumped(small_cohort):
    trait = simulate_phenotype(small_cohort, causal=30, seed=31)
    rows = small_cohort.individuals_of("CEU")
    training, reference = rows[:200], rows[200:]
    statistics = ScanStatistics.empty(small_cohort.groups, small_cohort.num_variants)
    dosages = small_cohort.dosages(training)
    p = statistics.add("CEU", dosages, trait.values[training]).scan("linear").p
    panel = standardised_panel(small_cohort.dosages(reference))
    chromosome = small_cohort.variants["chromosome"].to_numpy()
    position = small_cohort.variants["position"].to_numpy()
    window = 1e5
    kept = clump(p, chromosome, position, panel, r2=0.2, window=window, p_max=0.5)
    return p, chromosome, position, panel, window, kept


def _r2(panel, a, b):
    x, y = panel[:, a], panel[:, b]
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return np.corrcoef(x, y)[0, 1] ** 2


def test_no_two_kept_variants_in_a_window_are_correlated_above_the_threshold(clumped):
    p, chromosome, position, panel, window, kept = clumped
    assert kept.size > 20
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            if chromosome[a] == chromosome[b] and abs(position[a] - position[b]) <= window:
                assert _r2(panel, a, b) < 0.2


def test_every_dropped_candidate_is_explained_by_a_more_significant_kept_one(clumped):
    p, chromosome, position, panel, window, kept = clumped
    eligible = np.flatnonzero(np.isfinite(p) & (p <= 0.5))
    dropped = np.setdiff1d(eligible, kept)
    rng = np.random.default_rng(0)
    for d in rng.choice(dropped, size=min(60, dropped.size), replace=False):
        near = kept[(chromosome[kept] == chromosome[d])
                    & (np.abs(position[kept] - position[d]) <= window)
                    & (p[kept] <= p[d])]  # fmt: skip
        assert any(_r2(panel, k, d) >= 0.2 - 1e-9 for k in near)
    assert np.all(np.diff(p[kept]) >= 0)  # kept in order of significance


def test_ld_never_crosses_chromosomes():
    base = np.random.default_rng(1).integers(0, 3, size=(50, 1)).astype(float)
    panel = standardised_panel(np.hstack([base, base]))  # perfectly correlated columns
    kept = clump(np.array([1e-5, 1e-4]), np.array([1, 2]), np.array([100, 100]), panel)
    assert kept.tolist() == [0, 1]
    same = clump(np.array([1e-5, 1e-4]), np.array([1, 1]), np.array([100, 150]), panel)
    assert same.tolist() == [0]


def test_bad_threshold_is_refused():
    with pytest.raises(InputError, match=r"r2 must be in \(0, 1\]"):
        clump(np.array([0.1]), np.array([1]), np.array([1]), np.zeros((5, 1)), r2=0)
