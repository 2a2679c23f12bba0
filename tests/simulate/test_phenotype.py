"""Phenotypes: heritability within each group, effect correlation, prevalence, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from allocate.errors import InputError
from simulate.phenotype import simulate_phenotype


def test_genetic_variance_is_h2_within_every_group(small_cohort):
    trait = simulate_phenotype(small_cohort, h2=0.3, causal=50, seed=1)
    for group in small_cohort.groups:
        members = small_cohort.group == group
        assert trait.genetic_value[members].var() == pytest.approx(0.3, rel=1e-12)
        assert trait.genetic_value[members].mean() == pytest.approx(0.0, abs=1e-12)


def test_realised_within_group_h2_is_within_tolerance(small_cohort):
    # var(g) / var(g + e) with e ~ N(0, 1 - h2): over 12 traits the mean sits within about
    # three standard errors (0.008 each) of h2 in every group.
    realised = [
        simulate_phenotype(small_cohort, h2=0.5, causal=50, seed=seed).realised_h2()
        for seed in range(12)
    ]
    for group in small_cohort.groups:
        assert np.mean([r[group] for r in realised]) == pytest.approx(0.5, abs=0.03)


def test_pooled_standardisation_fixes_the_pooled_variance_only(small_cohort):
    trait = simulate_phenotype(small_cohort, h2=0.5, causal=50, seed=3, standardise="pooled")
    assert trait.genetic_value.var() == pytest.approx(0.5, rel=1e-12)
    within = [trait.genetic_value[small_cohort.group == g].var() for g in small_cohort.groups]
    assert max(within) - min(within) > 0.01  # groups differ once the scale is shared


def test_effects_are_shared_at_rho_one_and_correlated_at_rho(small_cohort):
    shared = simulate_phenotype(small_cohort, causal=40, rho=1.0, seed=4)
    assert np.allclose(shared.effects[0], shared.effects[1])
    assert np.allclose(shared.effects[0], shared.effects[2])
    partial = simulate_phenotype(small_cohort, causal=600, rho=0.5, causal_pool="any", seed=4)
    correlation = np.corrcoef(partial.effects)
    off_diagonal = correlation[np.triu_indices(3, 1)]
    # 600 draws: r has sd (1 - rho^2) / sqrt(600) = 0.031; allow 3 of them.
    assert np.all(np.abs(off_diagonal - 0.5) < 3 * (1 - 0.5**2) / np.sqrt(600))


def test_causal_pool_decides_which_variants_may_be_causal(small_cohort):
    trait = simulate_phenotype(small_cohort, causal=30, causal_pool="common-all", seed=5)
    for group in small_cohort.groups:
        assert small_cohort.common_in(group)[trait.causal].all()
    pooled = simulate_phenotype(small_cohort, causal=30, causal_pool="common-pooled", seed=5)
    assert small_cohort.common_in("pooled")[pooled.causal].all()


def test_binary_trait_has_the_prevalence_within_every_group(small_cohort):
    trait = simulate_phenotype(small_cohort, causal=30, prevalence=0.1, seed=6)
    for group in small_cohort.groups:
        members = small_cohort.group == group
        assert trait.values[members].sum() == 30  # top 10% of 300
        cases = trait.values[members] == 1
        assert trait.liability[members][cases].min() > trait.liability[members][~cases].max()


def test_same_seed_same_trait(small_cohort):
    first = simulate_phenotype(small_cohort, causal=20, rho=0.3, seed=7)
    again = simulate_phenotype(small_cohort, causal=20, rho=0.3, seed=7)
    other = simulate_phenotype(small_cohort, causal=20, rho=0.3, seed=8)
    assert np.array_equal(first.values, again.values)
    assert np.array_equal(first.effects, again.effects)
    assert not np.array_equal(first.values, other.values)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(h2=1.2), r"h2 must be in \(0, 1\)"),
        (dict(causal=0), "causal must be a whole number >= 1"),
        (dict(rho=-0.9), r"rho must be in \[-0.5, 1\] for 3 groups"),
        (dict(prevalence=0.0), r"prevalence must be in \(0, 1\)"),
        (dict(causal=10**6), "only .* variants qualify as causal"),
        (dict(causal_pool="rare"), "causal_pool must be"),
    ],
)
def test_bad_options_are_refused_in_words(small_cohort, options, message):
    with pytest.raises(InputError, match=message):
        simulate_phenotype(small_cohort, **options)


def test_per_group_h2_sets_each_group_genetic_variance(small_cohort):
    h2 = {"CEU": 0.6, "YRI": 0.2, "CHB": 0.4}
    trait = simulate_phenotype(small_cohort, h2=h2, causal=50, seed=9)
    for group, value in h2.items():
        members = small_cohort.group == group
        assert trait.genetic_value[members].var() == pytest.approx(value, rel=1e-12)
        assert trait.heritability(group) == value
    # The environment has variance 1 - h2 in each group: the variance of n normal draws has
    # sd (1 - h2) sqrt(2 / (n - 1)), 0.03 to 0.07 at n = 300; allow 3 of them.
    for group, value in h2.items():
        members = small_cohort.group == group
        environment = trait.liability[members] - trait.genetic_value[members]
        spread = (1 - value) * np.sqrt(2 / (members.sum() - 1))
        assert environment.var() == pytest.approx(1 - value, abs=3 * spread)


@pytest.mark.parametrize(
    ("h2", "options", "message"),
    [
        ({"CEU": 0.5, "YRI": 0.5}, {}, "give h2 for exactly the cohort's groups"),
        ({"CEU": 0.5, "YRI": 1.5, "CHB": 0.5}, {}, r"h2 must be in \(0, 1\)"),
        ({"CEU": 0.5, "YRI": 0.4, "CHB": 0.5}, {"standardise": "pooled"}, "needs standardise"),
    ],
)
def test_bad_per_group_h2_is_refused_in_words(small_cohort, h2, options, message):
    with pytest.raises(InputError, match=message):
        simulate_phenotype(small_cohort, h2=h2, causal=20, seed=1, **options)


def test_case_probability_matches_the_liability_model(portability_cohort):
    # Averaged over a group, P(case | genetic value) is the prevalence (up to the O(1/n) bias
    # of a threshold taken from 1200 liabilities), and people binned by that chance are cases
    # at the rate the chance says (pooled over 20 traits: 72,000 people; a bin's rate has a
    # standard error under 0.008).
    chances, cases = [], []
    cohort = portability_cohort
    for seed in range(20):
        trait = simulate_phenotype(cohort, h2=0.5, causal=30, prevalence=0.1, seed=seed)
        everyone = np.arange(cohort.num_individuals)
        chance = trait.case_probability(everyone)
        assert np.all((chance > 0) & (chance < 1))
        ceu = cohort.group == "CEU"  # higher genetic value, higher chance
        order = np.argsort(trait.genetic_value[ceu])
        assert np.all(np.diff(chance[ceu][order]) >= 0)
        chances.append(chance)
        cases.append(trait.values)
    chance, case = np.concatenate(chances), np.concatenate(cases)
    assert chance.mean() == pytest.approx(0.1, abs=0.01)
    bins = np.digitize(chance, [0.02, 0.05, 0.1, 0.2, 0.4])
    for index in np.unique(bins):
        members = bins == index
        assert case[members].mean() == pytest.approx(chance[members].mean(), abs=0.025)


def test_case_probability_needs_a_binary_trait(small_cohort):
    trait = simulate_phenotype(small_cohort, causal=20, seed=1)
    with pytest.raises(InputError, match="binary trait"):
        trait.case_probability(np.arange(5))
