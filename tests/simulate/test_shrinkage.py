"""LDpred-inf by block equals the ridge posterior computed directly from genotypes."""

from __future__ import annotations

import numpy as np
import pytest

from allocate.errors import InputError
from simulate.association import ScanStatistics
from simulate.clumping import standardised_panel
from simulate.phenotype import simulate_phenotype
from simulate.prs import ScoreTrainer, evaluate_score, split_cohort
from simulate.shrinkage import ld_blocks, ldpred_inf_weights, marginal_correlations


def test_weights_equal_the_ridge_posterior_from_genotypes(small_cohort):
    trait = simulate_phenotype(small_cohort, h2=0.5, causal=20, seed=51)
    rows = small_cohort.individuals_of("CHB")
    training, reference = rows[:220], rows[220:]
    chosen = np.flatnonzero(small_cohort.common_in("CHB"))[:300]
    x = small_cohort.dosages(training, chosen).astype(float)
    y = trait.values[training]
    statistics = ScanStatistics.empty(small_cohort.groups, chosen.size).add("CHB", x, y)
    b, sd = marginal_correlations(statistics)
    panel = standardised_panel(small_cohort.dosages(reference, chosen))
    blocks = ld_blocks(small_cohort.variants["chromosome"].to_numpy()[chosen], block_size=100)
    weights = ldpred_inf_weights(b, sd, panel, blocks, n=y.size, h2=0.5)

    varying = x.std(axis=0) > 0
    direct_b = np.zeros(chosen.size)
    direct_b[varying] = [np.corrcoef(x[:, j], y)[0, 1] for j in np.flatnonzero(varying)]
    np.testing.assert_allclose(b, direct_b, atol=1e-10)
    np.testing.assert_allclose(sd[varying], x[:, varying].std(axis=0), rtol=1e-10)
    reference_dosages = small_cohort.dosages(reference, chosen).astype(float)
    penalty = chosen.size / (y.size * 0.5)
    for block in blocks:
        ref = reference_dosages[:, block]
        centred = ref - ref.mean(axis=0)
        norms = np.linalg.norm(centred, axis=0)
        unit = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)
        joint = np.linalg.solve(unit.T @ unit + penalty * np.eye(block.size), direct_b[block])
        expected = np.divide(joint, sd[block], out=np.zeros_like(joint), where=sd[block] > 0)
        np.testing.assert_allclose(weights[block], expected, rtol=1e-8, atol=1e-12)


def test_blocks_stay_within_a_chromosome_and_size():
    chromosome = np.repeat([1, 2, 3], [250, 7, 101])
    blocks = ld_blocks(chromosome, block_size=100)
    assert sum(block.size for block in blocks) == chromosome.size
    assert all(block.size <= 100 and np.unique(chromosome[block]).size == 1 for block in blocks)
    with pytest.raises(InputError, match="block_size must be >= 1"):
        ld_blocks(chromosome, block_size=0)


def test_ldpred_inf_scores_predict_in_the_training_group(small_cohort):
    trait = simulate_phenotype(small_cohort, h2=0.6, causal=20, seed=52)
    split = split_cohort(small_cohort, reference=60, test_fraction=0.2, seed=52)
    score = ScoreTrainer(small_cohort, trait, split, method="ldpred-inf").fit({"CEU": 180})
    table = evaluate_score(score, small_cohort, trait, split).table.set_index("group")
    assert table.loc["CEU", "r2_genetic"] > 0.05
    assert np.isnan(score.threshold) and score.variants.size > 100
