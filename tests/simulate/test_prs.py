"""Polygenic scores: portability out of Africa, incremental training, seeds, metrics, source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocate.errors import InputError
from simulate.association import ScanStatistics
from simulate.metrics import auc, decision_utility
from simulate.phenotype import simulate_phenotype
from simulate.prs import ScoreTrainer, evaluate_score, portability, split_cohort
from simulate.source import GenomicSource


def test_a_score_trained_on_ceu_scores_best_in_ceu_then_chb_then_yri(portability_cohort):
    # Shared effects (rho = 1): the gap comes from LD and allele frequencies alone (Martin et
    # al. 2017). Averaged over four traits on one cohort; margins here are about 0.1.
    split = split_cohort(portability_cohort, reference=150, test_fraction=0.3, seed=1)
    tables = []
    for seed in range(4):
        trait = simulate_phenotype(portability_cohort, h2=0.5, causal=100, seed=100 + seed)
        tables.append(portability(portability_cohort, trait, split, train_groups=["CEU"]).table)
    mean = pd.concat(tables).groupby("group")[["r2", "r2_genetic"]].mean()
    for metric in ("r2", "r2_genetic"):
        assert mean.loc["CEU", metric] > mean.loc["CHB", metric] > mean.loc["YRI", metric]


@pytest.fixture(scope="module")
def world(small_cohort):
    trait = simulate_phenotype(small_cohort, h2=0.6, causal=20, seed=41)
    split = split_cohort(small_cohort, reference=60, test_fraction=0.2, seed=41)
    return small_cohort, trait, split


def _same_score(first, second):
    assert np.array_equal(first.variants, second.variants)
    np.testing.assert_allclose(first.weights, second.weights, rtol=1e-9)
    assert first.threshold == second.threshold


@pytest.mark.parametrize("mode", ["own", "pooled", "meta"])
def test_growing_a_trainer_equals_training_from_scratch(world, mode):
    cohort, trait, split = world
    counts = {"CEU": 150} if mode == "own" else {"CEU": 150, "YRI": 120}
    grown = ScoreTrainer(cohort, trait, split, mode=mode)
    grown.fit({g: n // 2 for g, n in counts.items()})
    _same_score(grown.fit(counts), ScoreTrainer(cohort, trait, split, mode=mode).fit(counts))


def test_growing_decodes_only_the_new_samples(world, monkeypatch):
    cohort, trait, split = world
    trainer = ScoreTrainer(cohort, trait, split)
    trainer.fit({"CEU": 100})
    requested = []
    original = type(cohort).dosages

    def recording(self, individuals=None, variants=None):
        if variants is None:  # whole-genome rows: the association scan's input
            requested.append(len(individuals))
        return original(self, individuals, variants)

    monkeypatch.setattr(type(cohort), "dosages", recording)
    trainer.fit({"CEU": 160})
    assert requested == [60]
    assert trainer.added() == {"CEU": 160, "YRI": 0, "CHB": 0}


def test_same_seed_same_split_scores_and_metrics(world):
    cohort, trait, _ = world
    results = []
    for _ in range(2):
        split = split_cohort(cohort, reference=60, test_fraction=0.2, seed=5)
        score = ScoreTrainer(cohort, trait, split).fit({"YRI": 150})
        results.append((score, evaluate_score(score, cohort, trait, split).table))
    _same_score(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])


def test_the_threshold_is_chosen_on_validation_data_inside_training(world):
    cohort, trait, split = world
    individuals, validation = split.training("CEU", 150)
    assert validation.sum() == 30 and np.isin(individuals, split.pool["CEU"]).all()
    assert not np.isin(individuals, split.test["CEU"]).any()
    assert not np.isin(individuals, split.reference["CEU"]).any()


def test_binary_training_sets_are_case_control(small_cohort):
    trait = simulate_phenotype(small_cohort, causal=20, prevalence=0.2, seed=42)
    split = split_cohort(small_cohort, reference=60, test_fraction=0.2, seed=42)
    individuals, _ = split.training("CHB", 60, trait)
    assert trait.values[individuals].sum() == 30
    score = ScoreTrainer(small_cohort, trait, split).fit({"CHB": 60})
    table = evaluate_score(score, small_cohort, trait, split).table
    for row in table.itertuples():
        test = split.test[row.group]
        value = score.score(small_cohort, test)
        assert row.auc == pytest.approx(auc(value, trait.values[test]), rel=1e-12)
        probability = score.platt.probability(value - value.mean())
        assert row.utility == pytest.approx(decision_utility(probability, trait.values[test]))


@pytest.mark.parametrize("cases", [0, 3, 20, 29, 35, 40], ids=lambda c: f"{c} cases")
def test_the_training_order_lists_every_training_set_as_a_prefix(cases):
    """Brute force: the first n of the order are training(n), for every n it covers, and the
    next n is refused (too few controls) or past the pool."""
    from types import SimpleNamespace

    from simulate.prs import CohortSplit

    rng = np.random.default_rng(cases)
    values = np.zeros(60)
    values[rng.choice(60, cases, replace=False)] = 1
    pool = rng.permutation(60)[:40]
    split = CohortSplit({}, {}, {"A": pool}, seed=0)
    for trait in (SimpleNamespace(binary=True, values=values), None):
        order, flags = split.training_order("A", trait)
        for n in range(order.size + 1):
            members, validation = split.training("A", n, trait)
            assert np.array_equal(np.sort(order[:n]), np.sort(members))
            by_member = dict(zip(members.tolist(), validation.tolist(), strict=True))
            assert [by_member[m] for m in order[:n].tolist()] == flags[:n].tolist()
        if order.size < pool.size:
            with pytest.raises(InputError, match="too few controls"):
                split.training("A", order.size + 1, trait)
    assert order.size == pool.size


def test_auc_equals_the_fraction_of_correctly_ordered_pairs():
    rng = np.random.default_rng(2)
    score, label = rng.integers(0, 6, 80).astype(float), rng.integers(0, 2, 80)
    pairs = [
        1.0 if a > b else 0.5 if a == b else 0.0
        for a in score[label == 1] for b in score[label == 0]
    ]  # fmt: skip
    assert auc(score, label) == pytest.approx(np.mean(pairs), rel=1e-12)


def test_decision_utility_reference_points():
    label = np.r_[np.ones(5), np.zeros(95)]
    assert decision_utility(label, label) == pytest.approx(4.75)  # perfect classifier
    assert decision_utility(np.zeros(100), label) == 0.0  # treat nobody
    assert decision_utility(np.ones(100), label) == pytest.approx(0.0)  # everybody, at 5%


def test_genomic_source_measures_nested_subsamples(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split, metric="r2_genetic")
    table = source.measure({"CEU": 160, "YRI": 80}, seed=9)
    assert list(table.columns) == ["group", "n", "n_total", "value", "seed"]
    assert table.loc[table.group == "CEU", "n"].tolist() == [40.0, 80.0, 120.0, 160.0]
    assert table.loc[table.group == "YRI", "n"].tolist() == [20.0, 40.0, 60.0, 80.0]
    assert table["n_total"].tolist()[:2] == [60.0, 60.0] and (table["seed"] == 9).all()
    again = GenomicSource(cohort, trait, split, metric="r2_genetic").measure(
        {"CEU": 160, "YRI": 80}, seed=9
    )
    pd.testing.assert_frame_equal(table, again)
    assert table["value"].between(0, 1).all()


def test_genomic_source_refuses_more_than_the_pool(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split)
    with pytest.raises(InputError, match="can supply at most"):
        source.measure({"CEU": 10_000}, seed=0)
    with pytest.raises(InputError, match="needs a binary trait"):
        GenomicSource(cohort, trait, split, metric="auc")


def test_growing_counts_across_calls_equal_a_fresh_measurement(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split)
    source.measure({"CEU": 100, "CHB": 60}, seed=1)
    grown = source.measure({"CEU": 160, "CHB": 120}, seed=1)
    fresh = GenomicSource(cohort, trait, split).measure({"CEU": 160, "CHB": 120}, seed=1)
    pd.testing.assert_frame_equal(grown, fresh, rtol=1e-9)


def test_a_source_decodes_each_training_sample_once_across_fractions_and_rounds(
    world, monkeypatch
):
    cohort, trait, split = world
    decoded = []
    original = type(cohort).dosages
    panels = np.concatenate(list(split.reference.values()))

    def recording(self, individuals=None, variants=None):
        if variants is None:  # whole-genome rows of training samples: the scan's input
            rows = np.asarray(individuals)
            decoded.extend(rows[~np.isin(rows, panels)].tolist())
        return original(self, individuals, variants)

    monkeypatch.setattr(type(cohort), "dosages", recording)
    source = GenomicSource(cohort, trait, split, fractions=(0.25, 0.5, 0.75, 1.0))
    source.measure({"CEU": 120}, seed=1)
    assert len(decoded) == len(set(decoded)) == 120  # one trainer grew through the fractions
    # 40, 80, 120, 160: 40 from the prefix of 30 kept by the first call (10 read), 80 from
    # 60 (20 read), 120 remembered, 160 from 120 (40 read).
    source.measure({"CEU": 160}, seed=1)
    assert len(decoded) == 120 + 10 + 20 + 40 and len(source._trained.trainers["CEU"]) == 2
    monkeypatch.setattr(type(cohort), "dosages", original)
    fresh = {n: GenomicSource(cohort, trait, split, fractions=(1.0,)).measure({"CEU": n}, seed=1)
             for n in (40, 80, 120, 160)}  # fmt: skip
    grown = source.measure({"CEU": 160}, seed=1)
    for n, table in fresh.items():
        assert grown.loc[grown.n == n, "value"].item() == pytest.approx(table["value"].item(),
                                                                        rel=1e-9)  # fmt: skip


def test_halved_tests_are_disjoint_halves_with_the_same_pools_and_panels(world):
    cohort, _, split = world
    first, second = split.halved_tests()
    for group in cohort.groups:
        a, b = first.test[group], second.test[group]
        assert np.intersect1d(a, b).size == 0 and abs(a.size - b.size) <= 1
        assert np.array_equal(np.sort(np.r_[a, b]), np.sort(split.test[group]))
        for half in (first, second):
            assert half.pool[group] is split.pool[group]
            assert half.reference[group] is split.reference[group]


def test_a_held_out_source_trains_once_and_scores_each_half(world, monkeypatch):
    cohort, trait, split = world
    fits = []
    original = ScoreTrainer.fit
    monkeypatch.setattr(ScoreTrainer, "fit", lambda self, c: fits.append(c) or original(self, c))
    source = GenomicSource(cohort, trait, split, metric="r2_genetic", fractions=(1.0,))
    source = source.with_held_out_test()
    measured = source.measure({"CEU": 120}, seed=0)["value"].item()
    reported = source.final.measure({"CEU": 120}, seed=0)["value"].item()
    assert fits == [{"CEU": 120}]  # one score, scored on two sets of people
    score = original(ScoreTrainer(cohort, trait, split), {"CEU": 120})
    for half, value in zip(split.halved_tests(), (measured, reported), strict=True):
        table = evaluate_score(score, cohort, trait, half, groups=("CEU",)).table
        assert value == pytest.approx(table["r2_genetic"].item(), rel=1e-9)
    assert measured != reported


def test_benchmark_world_has_pools_and_rising_oracle_curves():
    from allocate.curves import Curve
    from simulate.source import genomic_source_for_benchmark

    settings = dict(preset="quick", n_per_group=300, chromosomes=2, chromosome_length=3e5,
                    causal=20, reference=40)  # fmt: skip
    source, pools, curves = genomic_source_for_benchmark(settings, groups=("CEU", "YRI"), seed=2)
    assert pools == source.pools() and all(n > 100 for n in pools.values())
    assert set(curves) == {"CEU", "YRI"}
    for curve in curves.values():
        assert isinstance(curve, Curve) and curve.sense == "score"
        assert curve.predict(400) > curve.predict(50)


def test_a_cohort_never_decoded_whole_gives_the_same_scores():
    from simulate.cohort import simulate_cohort

    settings = dict(n_per_group=120, chromosomes=2, chromosome_length=2e5, seed=8)
    decoded = simulate_cohort(("CEU", "YRI"), **settings)
    from_trees = simulate_cohort(("CEU", "YRI"), max_decoded_bytes=0, **settings)
    assert decoded.genotypes is not None and from_trees.genotypes is None
    results = []
    for cohort in (decoded, from_trees):
        trait = simulate_phenotype(cohort, causal=10, seed=8)
        split = split_cohort(cohort, reference=20, test_fraction=0.25, seed=8)
        results.append(portability(cohort, trait, split).table)
    pd.testing.assert_frame_equal(results[0], results[1])


def test_expected_utility_is_the_observed_utility_without_environment_noise(portability_cohort):
    # Over 12 traits, the observed utility of a score on its test set scatters around the
    # expected utility (same decisions, outcomes replaced by their chance) with mean gap ~0:
    # each gap has a standard error of about 0.5 here (600 test people, 10% prevalence).
    gaps = []
    for seed in range(12):
        trait = simulate_phenotype(
            portability_cohort, h2=0.6, causal=40, prevalence=0.1, seed=seed
        )
        split = split_cohort(portability_cohort, reference=100, test_fraction=0.5, seed=seed)
        score = ScoreTrainer(portability_cohort, trait, split, thresholds=(0.01,)).fit(
            {"CEU": split.max_training("CEU", trait)}
        )
        table = evaluate_score(score, portability_cohort, trait, split, groups=("CEU",), cost=10)
        row = table.table.iloc[0]
        assert np.isfinite(row["utility_expected"])
        gaps.append(row["utility"] - row["utility_expected"])
    assert abs(np.mean(gaps)) < 3 * 0.5 / np.sqrt(12)


def test_a_fixed_p_threshold_keeps_only_variants_below_it(world):
    cohort, trait, split = world
    score = ScoreTrainer(cohort, trait, split, thresholds=(0.01,)).fit({"CEU": 150})
    assert score.threshold == 0.01
    trainer = ScoreTrainer(cohort, trait, split, thresholds=(0.01,))
    trainer.grow({"CEU": 150})
    association = trainer._discovery.only(("CEU",)).scan(trainer.test)
    assert np.all(association.p[score.variants] <= 0.01)


def test_a_source_with_other_fractions_shares_trained_scores(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split, metric="r2_genetic")
    final_only = source.with_fractions((1.0,))
    table = final_only.measure({"CEU": 160}, seed=3)
    assert table["n"].tolist() == [160.0]
    nested = source.measure({"CEU": 160}, seed=3)
    assert nested["n"].tolist() == [40.0, 80.0, 120.0, 160.0]
    assert nested["value"].iloc[-1] == table["value"].iloc[0]
    assert ("CEU", 160) in source._memo  # computed once, by the final-only source


def test_scanning_some_variants_equals_the_full_scan_there(world):
    cohort, trait, split = world
    rows, _ = split.training("CEU", 150)
    dosages = cohort.dosages(rows)
    chosen = np.arange(0, cohort.num_variants, 7)
    others = np.setdiff1d(np.arange(cohort.num_variants), chosen)
    for test in ("linear", "logistic"):
        y = trait.values[rows] if test == "linear" else (trait.values[rows] > 0) * 1.0
        stats = ScanStatistics.empty(cohort.groups, cohort.num_variants).add("CEU", dosages, y)
        full, part = stats.scan(test), stats.scan(test, chosen)
        np.testing.assert_array_equal(part.p[chosen], full.p[chosen])
        np.testing.assert_array_equal(part.beta[chosen], full.beta[chosen])
        assert np.isnan(part.p[others]).all()
        assert part.n == 150


def test_a_source_is_immutable_and_the_sources_made_from_it_share_its_trained_scores(world):
    cohort, trait, split = world
    source = GenomicSource(cohort, trait, split, metric="r2_genetic", trainer_options={"r2": 0.2})
    with pytest.raises(AttributeError, match="immutable"):
        source.metric = "r2"
    with pytest.raises(TypeError):
        source.trainer_options["r2"] = 0.5  # read-only
    held_out = source.with_held_out_test()
    assert source.final is None and held_out.final is not None and held_out.final.final is None
    assert held_out.final.split is not held_out.split
    assert source.fractions == (0.25, 0.5, 0.75, 1.0)
    assert source.with_fractions((1.0,)).fractions == (1.0,)  # a new source; this one as it was
    assert source.fractions == (0.25, 0.5, 0.75, 1.0)
    held_out.measure({"CEU": 120}, seed=0)
    trained = set(source._trained.scores)
    assert trained == {("CEU", (("CEU", n),)) for n in (30, 60, 90, 120)}
    held_out.final.with_fractions((1.0,)).measure({"CEU": 120}, seed=0)
    assert set(source._trained.scores) == trained  # scored on other people, trained once
    assert "GenomicSource(metric='r2_genetic'" in repr(source)
    with pytest.raises(InputError, match="fractions must lie in"):
        source.with_fractions((0.0,))
