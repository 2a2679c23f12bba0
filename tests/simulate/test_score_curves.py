"""Learning curves measured on a PLINK cohort the project exports itself.

The exported cohort is read back through the files (bed-reader) and measured with the same
training as the simulated source; against the cohort in memory the points must agree to the
last bit, nest, never train on a test person, score each group on its own test people, and
grow with the training size beyond their intervals.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from allocate.errors import InputError
from simulate.export import individual_names, write_plink
from simulate.phenotype import simulate_phenotype
from simulate.plink_cohort import read_plink_cohort
from simulate.score_curves import measure_score_curves
from simulate.score_design import replicate_splits
from simulate.source import GenomicSource

SIZES = [20, 40, 80, 160]


@pytest.fixture(scope="module")
def pilot(small_cohort, tmp_path_factory):
    """The small cohort exported with a strongly heritable quantitative trait (in a phenotype
    file, at full precision), a binary trait (in the .fam, PLINK's 1/2 coding) and groups."""
    folder = tmp_path_factory.mktemp("pilot")
    quantitative = simulate_phenotype(small_cohort, h2=0.8, causal=10, seed=3)
    binary = simulate_phenotype(small_cohort, h2=0.8, causal=10, prevalence=0.4, seed=3)
    write_plink(small_cohort, folder / "pilot", phenotype=binary.values)
    names = individual_names(small_cohort, np.arange(small_cohort.num_individuals))
    (folder / "groups.txt").write_text("FID IID group\n" + "".join(
        f"{name} {name} {group}\n" for name, group in zip(names, small_cohort.group, strict=True)
    ))  # fmt: skip
    (folder / "height.csv").write_text("IID,batch,height\n" + "".join(
        f"{name},1,{float(v)!r}\n" for name, v in zip(names, quantitative.values, strict=True)
    ))  # fmt: skip
    return dict(folder=folder, prefix=folder / "pilot", groups=folder / "groups.txt",
                height=folder / "height.csv", quantitative=quantitative, binary=binary)


def _from_files(pilot, *, reading=None, **options):
    """Points measured on the pilot's PLINK files (read with ``reading``'s options)."""
    cohort = read_plink_cohort(pilot["prefix"], groups=pilot["groups"], **(reading or {}))
    return measure_score_curves(cohort, **options)


def _height(pilot, **options):
    return _from_files(pilot, reading=dict(phenotype=pilot["height"], phenotype_column="height"),
                       **options)  # fmt: skip


def test_the_files_give_the_points_of_the_cohort_in_memory_bit_for_bit(small_cohort, pilot):
    options = dict(sizes=SIZES, replicates=2, reference=40, seed=5)
    from_files = _height(pilot, **options)
    in_memory = measure_score_curves(small_cohort, pilot["quantitative"], **options)
    assert from_files.points.equals(in_memory.points)
    assert from_files.metric == "r2" and from_files.sense == "score" and not from_files.warnings
    binary = _from_files(pilot, **options)
    assert binary.metric == "auc"  # the .fam's 1/2 column is read as case/control
    assert binary.points.equals(measure_score_curves(small_cohort, pilot["binary"],
                                                     **options).points)  # fmt: skip


def test_each_point_is_what_the_simulated_source_measures_on_that_split(small_cohort, pilot):
    measured = _height(pilot, sizes=SIZES, replicates=1, reference=40, seed=2)
    cohort = read_plink_cohort(pilot["prefix"], groups=pilot["groups"],
                               phenotype=pilot["height"], phenotype_column="height")
    (split,) = replicate_splits(cohort, cohort.trait, reference=40, seed=2)
    source = GenomicSource(small_cohort, pilot["quantitative"], split, fractions=(1.0,))
    for group in small_cohort.groups:
        for n in SIZES:
            expected = source.measure({group: n}, seed=0)["value"].item()
            row = measured.points[(measured.points["group"] == group) & (measured.points["n"] == n)]
            assert row["value"].item() == expected


class RecordingCohort:
    """A cohort that records every genotype read: (individuals, all variants or not)."""

    def __init__(self, cohort) -> None:
        self._cohort, self.reads = cohort, []

    def __getattr__(self, name):
        return getattr(self._cohort, name)

    def dosages(self, individuals=None, variants=None):
        self.reads.append((frozenset(np.asarray(individuals).tolist()), variants is None))
        return self._cohort.dosages(individuals, variants)


@pytest.mark.parametrize("training", ["own", "pooled"])
def test_training_sets_nest_hold_no_test_person_and_each_group_scores_its_own(pilot, training):
    cohort = read_plink_cohort(pilot["prefix"], groups=pilot["groups"],
                               phenotype=pilot["height"], phenotype_column="height")
    recording = RecordingCohort(cohort)
    measured = measure_score_curves(recording, cohort.trait, sizes=SIZES, replicates=1,
                                    reference=40, seed=9, training=training)  # fmt: skip
    (split,) = replicate_splits(cohort, cohort.trait, reference=40, seed=9)
    tests = {g: frozenset(t.tolist()) for g, t in split.test.items()}
    everyone_tested = frozenset().union(*tests.values())
    for group in cohort.groups:
        members = set(cohort.individuals_of(group).tolist())
        assert tests[group] <= members and not tests[group] & set(split.pool[group].tolist())
        assert set(split.reference[group].tolist()) <= set(split.pool[group].tolist())
        prefixes = [set(split.training(group, n, cohort.trait)[0].tolist()) for n in SIZES]
        assert all(a < b for a, b in zip(prefixes[:-1], prefixes[1:], strict=True))  # nested
    whole = [rows for rows, every_variant in recording.reads if every_variant]
    scored = [rows for rows, every_variant in recording.reads if not every_variant]
    assert whole and not frozenset().union(*whole) & everyone_tested  # never trained on
    assert scored and all(rows in tests.values() for rows in scored)  # one group's test set
    # Reading only the largest training set (and the panels) for every size: nested prefixes.
    largest = set().union(*(split.training(g, SIZES[-1], cohort.trait)[0].tolist()
                            for g in cohort.groups))  # fmt: skip
    panels = set().union(*(p.tolist() for p in split.reference.values()))
    assert frozenset().union(*whole) == largest | panels
    points = measured.points
    expected_total = points["n"] * (len(cohort.groups) if training == "pooled" else 1)
    assert points["n_total"].equals(expected_total.astype(float))


def test_more_training_people_give_a_better_score_beyond_the_interval(pilot):
    measured = _height(pilot, sizes=SIZES, replicates=3, reference=40)
    by_run = measured.points.pivot_table(index=["group", "seed"], columns="n", values="value")
    gain = (by_run[SIZES[-1]] - by_run[SIZES[0]]).to_numpy()  # same test people, nested sets
    half_width = stats.t.ppf(0.975, gain.size - 1) * gain.std(ddof=1) / np.sqrt(gain.size)
    assert gain.mean() - half_width > 0.1  # 8 times in 8 seeds, lowest 0.16
    fits = measured.fit(family="power-offset")
    for group in measured.test_rows:
        fitted = fits[group].predict(np.array(SIZES, dtype=float))
        assert np.all(np.diff(fitted) > 0), group  # through fit_curves: a rising curve


def test_the_same_seed_gives_the_same_points_and_another_seed_others(pilot):
    first = _height(pilot, sizes=SIZES[:2], replicates=2, reference=40, seed=4)
    again = _height(pilot, sizes=SIZES[:2], replicates=2, reference=40, seed=4)
    other = _height(pilot, sizes=SIZES[:2], replicates=2, reference=40, seed=5)
    assert first.points.equals(again.points)
    assert not np.array_equal(first.points["value"], other.points["value"])


def test_what_the_files_hold_and_the_cohort_leaves_out_is_said(small_cohort, pilot, tmp_path):
    from bed_reader import open_bed, to_bed

    bed = open_bed(pilot["prefix"].with_suffix(".bed"))
    genotypes = bed.read(dtype="float32")
    genotypes[3, 7] = np.nan  # one missing call
    properties = {key: getattr(bed, key) for key in ("fid", "iid", "sid", "chromosome",
                                                     "bp_position", "allele_1", "allele_2")}
    to_bed(tmp_path / "holes.bed", genotypes, properties=properties)
    lines = pilot["groups"].read_text().splitlines()
    (tmp_path / "some.txt").write_text("\n".join(lines[:-10]) + "\n")  # ten without a group
    cohort = read_plink_cohort(tmp_path / "holes", groups=tmp_path / "some.txt",
                               phenotype=pilot["height"], phenotype_column="height")
    assert cohort.num_variants == small_cohort.num_variants - 1
    assert cohort.num_individuals == small_cohort.num_individuals - 10
    assert cohort.notes == (
        "10 individual(s) of the .fam have no group label: left out",
        "1 variant(s) with a missing genotype call: left out (impute to keep them)",
    )
    assert list(cohort.variants["sid"]) == list(np.delete(properties["sid"], 7))
    rows, columns = np.arange(0, 890, 7), np.arange(19)
    expected = small_cohort.dosages(rows, np.delete(np.arange(20), 7))
    assert np.array_equal(cohort.dosages(rows, columns), expected)  # held in memory
    from_file = read_plink_cohort(tmp_path / "holes", groups=tmp_path / "some.txt",
                                  phenotype=pilot["height"], phenotype_column="height",
                                  max_memory_bytes=0)  # fmt: skip
    assert np.array_equal(from_file.dosages(rows, columns), expected)  # read from the .bed


def test_bad_library_inputs_name_the_parameter(pilot):
    with pytest.raises(InputError, match="did you mean 'auc'"):
        _from_files(pilot, metric="acu")
    with pytest.raises(InputError, match="'auc' needs a binary"):
        _height(pilot, metric="auc")
    with pytest.raises(InputError, match="give phenotype_column"):
        _from_files(pilot, reading=dict(phenotype=pilot["height"]))
    with pytest.raises(InputError, match="reference must be"):
        _height(pilot, reference=5)


def test_a_binary_trait_trains_half_cases_up_to_twice_the_rarer_class(small_cohort):
    common = simulate_phenotype(small_cohort, h2=0.8, causal=10, prevalence=0.7, seed=3)
    measured = measure_score_curves(small_cohort, common, fractions=(0.25, 1.0), replicates=1,
                                    reference=40)  # fmt: skip
    (split,) = replicate_splits(small_cohort, common, reference=40, seed=0)
    for group in small_cohort.groups:
        controls = int((common.values[split.pool[group]] == 0).sum())
        assert measured.pools[group] == 2 * controls  # cases are the common class here
        members, _ = split.training(group, 2 * controls, common)
        assert common.values[members].sum() == controls  # half cases
    largest = max(measured.pools.values())
    with pytest.raises(InputError, match="half-case training sets reach at most"):
        measure_score_curves(small_cohort, common, sizes=[20, largest + 1], reference=40)


def test_trainer_options_a_measured_trait_cannot_serve_are_refused(pilot):
    options = dict(sizes=[40, 80], replicates=1, reference=40)
    with pytest.raises(InputError, match="heritability is unknown"):
        _height(pilot, trainer_options={"method": "ldpred-inf"}, **options)
    with pytest.raises(InputError, match="unphased"):
        _height(pilot, trainer_options={"ld": "haplotype"}, **options)
