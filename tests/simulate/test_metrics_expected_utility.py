"""``utility_expected`` against a Monte Carlo over outcomes, genetic values held fixed.

The expected decision utility of a trained score integrates the environment out: each test
person's outcome is a case when ``genetic value + environment`` exceeds the group's liability
threshold, the environment normal with variance ``1 - h2``. Redrawing the environment many times
(genetic values, score and decisions fixed) and averaging the observed utility estimates the same
number; ``utility_expected`` must match it and must not move when the observed outcomes do.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulate.phenotype import simulate_phenotype
from simulate.prs import ScoreTrainer, evaluate_score, split_cohort

H2, PREVALENCE, BENEFIT, COST = 0.6, 0.1, 100.0, 10.0
DRAWS = 20_000


@pytest.fixture(scope="module")
def scored(portability_cohort):
    cohort = portability_cohort
    trait = simulate_phenotype(cohort, h2=H2, causal=40, prevalence=PREVALENCE, seed=7)
    split = split_cohort(cohort, reference=100, test_fraction=0.5, seed=7)
    score = ScoreTrainer(cohort, trait, split, thresholds=(0.01,)).fit(
        {"CEU": split.max_training("CEU", trait)}
    )
    assert score.platt is not None
    return cohort, trait, split, score


def evaluate(scored, trait):
    cohort, _, split, score = scored
    table = evaluate_score(score, cohort, trait, split, groups=("CEU",), benefit=BENEFIT,
                           cost=COST)  # fmt: skip
    return table.table.iloc[0]


def redrawn_outcomes(trait, people, draws, rng):
    """Outcomes of ``people`` under fresh environments: (draws, people) of 0/1."""
    members = trait.group == "CEU"
    limit = np.quantile(trait.liability[members], 1 - PREVALENCE)
    environment = rng.normal(0.0, np.sqrt(1 - H2), (draws, people.size))
    return (trait.genetic_value[people] + environment > limit).astype(float)


def test_expected_utility_equals_a_monte_carlo_over_outcomes(scored):
    cohort, trait, split, score = scored
    test = split.test["CEU"]
    value = score.score(cohort, test)
    treat = BENEFIT * score.platt.probability(value - value.mean()) - COST > 0
    assert 0 < treat.mean() < 1
    row = evaluate(scored, trait)
    # The decisions used here are the library's: they give its observed utility exactly.
    observed = np.mean(treat * (BENEFIT * trait.values[test] - COST))
    assert row["utility"] == pytest.approx(observed, rel=1e-12)
    rng = np.random.default_rng(16)
    utilities = np.concatenate([
        (treat * (BENEFIT * redrawn_outcomes(trait, test, 2000, rng) - COST)).mean(axis=1)
        for _ in range(DRAWS // 2000)
    ])  # fmt: skip
    standard_error = utilities.std() / np.sqrt(DRAWS)
    # One draw's utility scatters by ~0.6 here; the mean of 20,000 by ~0.004.
    assert utilities.std() > 0.2
    assert abs(row["utility_expected"] - utilities.mean()) < 4 * standard_error


def test_case_probabilities_are_the_monte_carlo_case_frequencies(scored):
    _, trait, split, _ = scored
    test = split.test["CEU"]
    frequency = redrawn_outcomes(trait, test, DRAWS, np.random.default_rng(17)).mean(axis=0)
    chance = trait.case_probability(test)
    spread = np.sqrt(chance * (1 - chance) / DRAWS) + 1e-4
    assert np.max(np.abs(frequency - chance) / spread) < 5


def test_expected_utility_does_not_depend_on_the_observed_outcomes(scored):
    _, trait, split, _ = scored
    test = split.test["CEU"]
    first = evaluate(scored, trait)
    rng = np.random.default_rng(18)
    observed = set()
    for _ in range(3):
        values = trait.values.copy()
        values[test] = redrawn_outcomes(trait, test, 1, rng)[0]
        row = evaluate(scored, replace(trait, values=values))
        assert row["utility_expected"] == pytest.approx(first["utility_expected"], abs=1e-12)
        observed.add(round(row["utility"], 9))
    assert len(observed) > 1  # the outcomes did change the observed utility
