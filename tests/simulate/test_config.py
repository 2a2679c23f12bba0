"""Typed simulation settings: every setting checked, a misspelt one refused by name."""

from __future__ import annotations

import re
from dataclasses import asdict

import numpy as np
import pytest

from allocate import InputError
from simulate.benchmark import PRESETS as BENCH_PRESETS
from simulate.benchmark import preset_config
from simulate.config import (
    PRESETS,
    GenomicWorld,
    SimulationConfig,
    SyntheticWorld,
    check_settings,
    simulation_config,
)


def test_an_unknown_setting_is_named_with_the_closest_valid_one_and_all_valid_ones():
    with pytest.raises(InputError) as caught:
        check_settings(["n_per_grup", "zzz"], ["n_per_group", "maf"], "setting")
    assert str(caught.value) == (
        "unknown setting 'n_per_grup' (did you mean 'n_per_group'?), 'zzz'; "
        "valid: maf, n_per_group"
    )
    check_settings(["maf"], ["n_per_group", "maf"], "setting")  # known names pass


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: simulation_config("quick", chromosome=2),
         "unknown simulation setting 'chromosome' (did you mean 'chromosomes'?)"),
        (lambda: preset_config("quick", cohort={"preset": "quick", "prevalance": 0.1}),
         "unknown genomic setting 'prevalance' (did you mean 'prevalence'?)"),
        (lambda: preset_config("synthetic", cohort={"pools": 100}),
         "unknown synthetic setting 'pools' (did you mean 'pool'?); valid: noise, pool"),
        (lambda: preset_config("quick", cohort={"seed": 3}),
         "unknown genomic setting 'seed'"),  # the benchmark seeds its worlds itself
        (lambda: preset_config("quick", cohort=SyntheticWorld()),
         "the genomic source takes GenomicWorld settings"),
    ],
)  # fmt: skip
def test_a_typo_in_a_setting_is_an_error_not_ignored(make, message):
    with pytest.raises(InputError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(method="lasso"), "method must be clumping or ldpred-inf"),
        (dict(ld="phased"), "ld must be dosage or haplotype"),
        (dict(ld="haplotype", method="ldpred-inf"),
         "ld='haplotype' is clumping's LD measure; give it with method='clumping'"),
        (dict(test_fraction=1.0), r"test_fraction must be in \(0, 1\)"),
        (dict(reference=12.5), "reference must be a whole number"),
        (dict(p_threshold=0.0), r"p_threshold must be in \(0, 1\]"),
        (dict(h2=1.5), r"h2 must be in \(0, 1\)"),
        (dict(n_per_group=1), "n_per_group must be a whole number >= 2"),
        (dict(groups=("CEU", "XYZ")), "groups must be some of"),
        (dict(preset="huge"), "unknown preset 'huge'"),
    ],
)
def test_bad_values_are_refused_when_the_configuration_is_made(settings, message):
    with pytest.raises(InputError, match=message):
        SimulationConfig(**settings)


def test_world_settings_check_their_fields():
    with pytest.raises(InputError, match="metric must be one of"):
        GenomicWorld(metric="r3")
    with pytest.raises(InputError, match=r"fractions must lie in \(0, 1\]"):
        GenomicWorld(fractions=(0.5, 1.5))
    with pytest.raises(InputError, match="noise must be >= 0"):
        SyntheticWorld(noise=-0.1)
    with pytest.raises(InputError, match="pool must be a whole number >= 1"):
        SyntheticWorld(pool=0)


def test_a_smaller_cohort_gets_a_smaller_reference_panel_unless_one_is_given():
    assert simulation_config("quick").reference == 200
    assert simulation_config("quick", n_per_group=500).reference == 100  # a fifth
    assert simulation_config("quick", n_per_group=20).reference == 10  # never below 10
    assert simulation_config("quick", n_per_group=500, reference=150).reference == 150
    assert simulation_config("paper").reference == 1000
    world = GenomicWorld.from_settings({"preset": "study", "n_per_group": 1000})
    assert world.simulation.reference == 200 and world.simulation.test_fraction == 0.2


def test_every_preset_builds_and_the_benchmark_sets_the_groups():
    for name in PRESETS:
        assert simulation_config(name).preset == name
    for name in BENCH_PRESETS:
        config = preset_config(name)
        kind = SyntheticWorld if config.source == "synthetic" else GenomicWorld
        assert isinstance(config.cohort, kind)
    config = preset_config("quick", groups=("CEU", "YRI", "CHB"), shares=(0.6, 0.2, 0.2))
    assert config.cohort.simulation.groups == ("CEU", "YRI", "CHB")
    quick = BENCH_PRESETS["quick"]["cohort"]
    assert config.cohort.simulation.n_per_group == quick["n_per_group"]
    assert config.cohort.metric == quick["metric"]
    assert config.cohort.fractions == tuple(quick["fractions"])


def test_the_synthetic_settings_are_recorded_as_the_dictionary_they_were():
    # The key hashes asdict(config): the synthetic settings give the dictionary the preset
    # gave before they were typed, so synthetic run folders keep their keys.
    config = preset_config("synthetic")
    assert config.cohort == SyntheticWorld(noise=0.02, pool=20000)
    assert asdict(config)["cohort"] == BENCH_PRESETS["synthetic"]["cohort"]


def test_a_world_is_the_cohort_trait_and_split_its_seeds_ask_for():
    from simulate.cohort import simulate_cohort
    from simulate.phenotype import simulate_phenotype
    from simulate.prs import split_cohort
    from simulate.world import build_world

    config = simulation_config("quick", groups=("CEU", "YRI"), n_per_group=120, chromosomes=1,
                               chromosome_length=1e5, causal=5, seed=7)  # fmt: skip
    world = build_world(config, split_seed=11)
    cohort = simulate_cohort(("CEU", "YRI"), n_per_group=120, chromosomes=1,
                             chromosome_length=1e5, seed=7)  # fmt: skip
    trait = simulate_phenotype(cohort, h2=0.5, causal=5, seed=7)
    split = split_cohort(cohort, reference=24, test_fraction=0.25, seed=11)
    assert np.array_equal(world.cohort.genotypes, cohort.genotypes)
    assert np.array_equal(world.phenotype.values, trait.values)
    for group in ("CEU", "YRI"):
        for part in ("reference", "test", "pool"):
            assert np.array_equal(getattr(world.split, part)[group], getattr(split, part)[group])
    assert set(world.seconds) == {"cohort", "phenotype"}
