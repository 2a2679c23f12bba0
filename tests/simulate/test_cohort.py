"""Cohorts: variant selection on the trees, decoding, seeds, cache and exports."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from allocate.errors import InputError
from simulate import cache as cache_module
from simulate.cache import COMPLETE_MARKER, cohort_path
from simulate.cohort import CohortParameters, simulate_cohort
from simulate.export import write_plink, write_vcf


def test_yri_has_the_most_variants_above_the_maf_floor(small_cohort):
    counts = small_cohort.variants_above_maf()
    assert counts["YRI"] > counts["CEU"] and counts["YRI"] > counts["CHB"]


def test_frequencies_counted_on_trees_equal_decoded_genotypes(small_cohort):
    dosages = small_cohort.dosages()
    for group in small_cohort.groups:
        rows = small_cohort.individuals_of(group)
        decoded = dosages[rows].mean(axis=0) / 2
        assert np.array_equal(decoded, small_cohort.variants[f"freq_{group}"].to_numpy())
    pooled = dosages.mean(axis=0) / 2
    np.testing.assert_allclose(pooled, small_cohort.variants["freq_pooled"], atol=1e-12)


def test_kept_variants_are_exactly_the_biallelic_sites_above_the_floor():
    cohort = simulate_cohort(("CEU", "YRI"), n_per_group=40, chromosomes=2,
                             chromosome_length=1e5, maf=0.05, seed=5)
    for number, ts in enumerate(cohort.tree_sequences, start=1):
        groups = cohort.group
        expected = []
        for variant in ts.variants(samples=cohort.sample_nodes.ravel()):
            if len(variant.site.mutations) != 1:
                continue
            dosage = variant.genotypes[0::2] + variant.genotypes[1::2]
            frequencies = [dosage[groups == g].mean() / 2 for g in cohort.groups]
            frequencies.append(dosage.mean() / 2)
            if max(min(f, 1 - f) for f in frequencies) >= 0.05:
                expected.append(variant.site.id)
        kept = cohort.variants.loc[cohort.variants["chromosome"] == number, "site"]
        assert kept.tolist() == expected


def test_dosages_decoded_from_trees_equal_the_stored_matrix(small_cohort):
    from_trees = dataclasses.replace(small_cohort, genotypes=None)
    rows = np.array([899, 0, 450, 3])
    columns = np.array([7, small_cohort.num_variants - 1, 0, 1234])
    expected = np.asarray(small_cohort.genotypes)[np.ix_(rows, columns)]
    assert np.array_equal(from_trees.dosages(rows, columns), expected)
    assert from_trees.dosages(rows, columns).dtype == np.int8


def test_a_sample_set_decoded_again_reuses_its_simplified_trees(small_cohort, monkeypatch):
    from_trees = dataclasses.replace(small_cohort, genotypes=None)
    rows, columns = np.arange(10, 60), np.arange(0, small_cohort.num_variants, 3)
    chromosomes = small_cohort.parameters.chromosomes
    calls = []
    original = type(small_cohort.tree_sequences[0]).simplify
    monkeypatch.setattr(
        type(small_cohort.tree_sequences[0]), "simplify",
        lambda ts, *a, **k: calls.append(1) or original(ts, *a, **k),
    )  # fmt: skip
    first = from_trees.dosages(rows, columns)
    from_trees.dosages(rows, columns[::2])  # asked again: simplified, and now kept
    assert len(calls) == 2 * chromosomes
    again = from_trees.dosages(rows, columns[::2])
    assert len(calls) == 2 * chromosomes  # every chromosome's trees for these samples were kept
    assert np.array_equal(again, first[:, ::2])
    from_trees.dosages(rows[:-1], columns)  # another sample set: simplified anew
    assert len(calls) == 3 * chromosomes
    expected = np.asarray(small_cohort.genotypes)[np.ix_(rows, columns)]
    assert np.array_equal(first, expected)


def test_kept_simplified_trees_are_freed_with_their_tree_sequence():
    import gc

    import msprime

    from simulate import cohort_data as cohort_module

    ts = msprime.sim_ancestry(20, sequence_length=1e4, random_seed=3)
    key = id(ts)
    cohort_module._simplified_to(ts, np.arange(6))
    simplified = cohort_module._simplified_to(ts, np.arange(6))
    assert simplified.num_samples == 6 and len(cohort_module._simplified[key][0]) == 1
    assert key in cohort_module._simplified
    del ts, simplified
    gc.collect()
    assert key not in cohort_module._simplified


def test_individuals_are_selected_by_population_name(small_cohort):
    ts = small_cohort.tree_sequences[0]
    names = {p.id: p.metadata["name"] for p in ts.populations()}
    populations = ts.nodes_population[small_cohort.sample_nodes[:, 0]]
    assert [names[p] for p in populations] == small_cohort.group.tolist()
    assert small_cohort.individuals_of("YRI").size == 300  # conftest.py: n_per_group=300


def test_same_seed_same_cohort_and_chromosomes_differ():
    first = simulate_cohort(("CEU",), n_per_group=20, chromosomes=2, chromosome_length=1e5, seed=9)
    again = simulate_cohort(("CEU",), n_per_group=20, chromosomes=2, chromosome_length=1e5, seed=9)
    other = simulate_cohort(("CEU",), n_per_group=20, chromosomes=2, chromosome_length=1e5, seed=10)
    for ours, theirs in zip(first.tree_sequences, again.tree_sequences, strict=True):
        assert ours.tables.equals(theirs.tables, ignore_provenance=True)
    assert np.array_equal(first.genotypes, again.genotypes)
    assert not first.tree_sequences[0].tables.equals(
        other.tree_sequences[0].tables, ignore_provenance=True
    )
    seeds = CohortParameters(chromosomes=5, seed=9).chromosome_seeds()
    assert len({s for pair in seeds for s in pair}) == 10


def test_chromosomes_simulated_in_parallel_give_the_same_cohort():
    settings = dict(n_per_group=20, chromosomes=3, chromosome_length=1e5, seed=9)
    serial = simulate_cohort(("CEU", "YRI"), **settings)
    parallel = simulate_cohort(("CEU", "YRI"), **settings, workers=2)
    for ours, theirs in zip(serial.tree_sequences, parallel.tree_sequences, strict=True):
        assert ours.tables.equals(theirs.tables, ignore_provenance=True)
    assert np.array_equal(serial.genotypes, parallel.genotypes)


def test_cache_loads_the_same_cohort_and_ignores_an_incomplete_folder(tmp_path):
    settings = dict(n_per_group=15, chromosomes=2, chromosome_length=1e5, seed=4)
    parameters = CohortParameters(groups=("CEU", "CHB"), **settings)
    folder = cohort_path(parameters, tmp_path)
    folder.mkdir(parents=True)
    (folder / "chromosome1.trees").write_text("half-written")  # an interrupted run, no marker
    made = simulate_cohort(("CEU", "CHB"), cache_dir=tmp_path, **settings)
    assert (folder / COMPLETE_MARKER).is_file()
    loaded = simulate_cohort(("CEU", "CHB"), cache_dir=tmp_path, **settings)
    fresh = simulate_cohort(("CEU", "CHB"), **settings)
    assert np.array_equal(loaded.genotypes, fresh.genotypes)
    assert np.array_equal(made.genotypes, fresh.genotypes)
    assert loaded.variants.equals(fresh.variants)


def test_an_interrupted_cache_write_leaves_nothing_readable(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module.np, "save", fail)
    settings = dict(n_per_group=10, chromosomes=1, chromosome_length=5e4, seed=2)
    with pytest.raises(KeyboardInterrupt):
        simulate_cohort(("YRI",), cache_dir=tmp_path, **settings)
    assert list((tmp_path / "cohorts").iterdir()) == []  # no folder, no staging left behind


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(groups=("CEU", "XYZ")), "groups must be some of"),
        (dict(n_per_group=1), "n_per_group must be a whole number >= 2"),
        (dict(maf=0.6), r"maf must be in \(0, 0.5\)"),
        (dict(chromosomes=0), "chromosomes must be a whole number >= 1"),
        (dict(chromosome_length=10), "chromosome_length must be at least 1000"),
    ],
)
def test_bad_parameters_are_refused_in_words(settings, message):
    with pytest.raises(InputError, match=message):
        CohortParameters(**settings)


def _read_bed(path, individuals, variants):
    """Decode a SNP-major PLINK 1 .bed by the format spec: counts of A1 per individual."""
    raw = path.read_bytes()
    assert raw[:3] == bytes([0x6C, 0x1B, 0x01])  # magic number, SNP-major
    per_variant = (individuals + 3) // 4
    assert len(raw) == 3 + per_variant * variants
    codes = np.frombuffer(raw[3:], dtype=np.uint8).reshape(variants, per_variant)
    # Two bits per individual, lowest bits first: 00 hom A1, 01 missing, 10 het, 11 hom A2.
    pairs = np.stack([(codes >> shift) & 0b11 for shift in (0, 2, 4, 6)], axis=-1)
    pairs = pairs.reshape(variants, -1)[:, :individuals]
    a1_count = np.choose(pairs, [2, -9, 1, 0])
    return a1_count.T


def test_plink_files_read_back_by_the_format_spec(small_cohort, tmp_path):
    chosen = np.array([0, 1, 2, 301, 650, 899, 17])
    prefix = tmp_path / "plink" / "cohort"
    bed, bim, fam = write_plink(small_cohort, prefix, individuals=chosen)
    expected = small_cohort.dosages(chosen)
    assert np.array_equal(_read_bed(bed, chosen.size, small_cohort.num_variants), expected)
    bim_rows = [line.split("\t") for line in bim.read_text().splitlines()]
    assert len(bim_rows) == small_cohort.num_variants
    ts = small_cohort.tree_sequences[0]
    first = small_cohort.variants.iloc[0]
    site = ts.site(int(first["site"]))
    assert bim_rows[0][0] == "1" and int(bim_rows[0][3]) == int(first["position"]) + 1
    assert bim_rows[0][4] == site.mutations[0].derived_state  # A1 = the counted allele
    assert bim_rows[0][5] == site.ancestral_state
    fam_ids = [line.split()[1] for line in fam.read_text().splitlines()]
    assert fam_ids == ["CEU_0", "CEU_1", "CEU_2", "YRI_1", "CHB_50", "CHB_299", "CEU_17"]
    assert not list(prefix.parent.glob(".*"))  # no staging files left


def test_vcf_genotypes_equal_dosages(small_cohort, tmp_path):
    chosen = np.array([5, 320, 700])
    files = write_vcf(small_cohort, tmp_path / "vcf", individuals=chosen)
    assert [f.name for f in files] == ["chr1.vcf", "chr2.vcf", "chr3.vcf"]
    body = [line.split("\t") for line in files[1].read_text().splitlines() if line[0] != "#"]
    on_chromosome = small_cohort.variants["chromosome"].to_numpy() == 2
    expected = small_cohort.dosages(chosen, np.flatnonzero(on_chromosome))
    decoded = np.array([[sum(map(int, gt.split("|"))) for gt in row[9:]] for row in body])
    assert np.array_equal(decoded.T, expected)
    positions = [int(row[1]) for row in body]
    assert positions == (small_cohort.variants.loc[on_chromosome, "position"] + 1).tolist()


def test_every_public_name_of_simulate_is_importable():
    import simulate

    for name in simulate.__all__:
        assert getattr(simulate, name) is not None


def test_decoding_a_few_individuals_from_simplified_trees_equals_the_matrix(small_cohort):
    from_trees = dataclasses.replace(small_cohort, genotypes=None)
    rows = small_cohort.individuals_of("CHB")[::10]  # 30 of 900: decoded from simplified trees
    expected = np.asarray(small_cohort.genotypes)[rows]
    assert (expected.sum(axis=0) == 2 * rows.size).any()  # some variants fixed in the subset
    assert np.array_equal(from_trees.dosages(rows), expected)
