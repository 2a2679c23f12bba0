"""Cross-check with the field's reference tool: PLINK 1.9 reads our .bed and agrees on the GWAS.

Skipped where PLINK 1.9 is not installed (Debian package ``plink1.9``), except in CI (``CI``
set), which installs it: there a missing binary fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from simulate.association import ScanStatistics
from simulate.cohort import simulate_cohort
from simulate.export import write_plink
from simulate.phenotype import simulate_phenotype

PLINK = shutil.which("plink1.9")


@pytest.mark.skipif(
    PLINK is None and not os.environ.get("CI"), reason="PLINK 1.9 is not installed"
)
def test_plink_linear_regression_on_our_files_equals_our_scan(tmp_path):
    cohort = simulate_cohort(("CEU",), n_per_group=300, chromosomes=2, chromosome_length=3e5,
                             seed=3)  # fmt: skip
    trait = simulate_phenotype(cohort, causal=10, seed=3)
    assert PLINK is not None, "CI must install plink1.9 (.ci/run)"
    write_plink(cohort, tmp_path / "cohort", phenotype=trait.values)
    statistics = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    ours = statistics.add("CEU", cohort.dosages(), trait.values).scan("linear")
    subprocess.run(
        [PLINK, "--bfile", str(tmp_path / "cohort"), "--linear", "--allow-no-sex",
         "--keep-allele-order", "--out", str(tmp_path / "result")],
        check=True, capture_output=True,
    )  # fmt: skip
    theirs = pd.read_csv(tmp_path / "result.assoc.linear", sep=r"\s+")
    assert len(theirs) == cohort.num_variants
    tested = theirs["P"].notna().to_numpy()
    assert np.array_equal(tested, np.isfinite(ours.p))
    # PLINK prints four significant digits.
    np.testing.assert_allclose(theirs["BETA"][tested], ours.beta[tested], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(theirs["P"][tested], ours.p[tested], rtol=1e-3)


PLINK2 = shutil.which("plink2")


@pytest.fixture(scope="module")
def case_control(tmp_path_factory):
    """A binary trait (20% prevalence) on one group, written as PLINK 1 files."""
    cohort = simulate_cohort(("CEU",), n_per_group=400, chromosomes=1, chromosome_length=4e5,
                             seed=5)  # fmt: skip
    trait = simulate_phenotype(cohort, causal=10, prevalence=0.2, seed=5)
    prefix = tmp_path_factory.mktemp("plink") / "cohort"
    write_plink(cohort, prefix, phenotype=trait.values)
    return cohort, trait, prefix


def test_a_binary_trait_is_written_in_plinks_case_control_coding(case_control):
    cohort, trait, prefix = case_control
    column = [line.split()[5] for line in prefix.with_suffix(".fam").read_text().splitlines()]
    # The .fam convention: 1 = control, 2 = case, 0 or -9 = missing.
    expected = np.where(trait.values == 1, "2", "1")
    assert column == list(expected)
    assert 0 < (trait.values == 1).sum() < trait.values.size


def test_missing_and_quantitative_values_in_the_fam_column():
    from simulate.export import fam_phenotype

    assert fam_phenotype(np.array([1.0, 0.0, np.nan])) == ["2", "1", "-9"]
    assert fam_phenotype(np.array([0.5, -1.25, np.nan])) == ["0.5", "-1.25", "-9"]
    assert fam_phenotype(np.array([1.0, 0.0]), binary=False) == ["1", "0"]
    with pytest.raises(ValueError, match="binary phenotype must be 0"):
        fam_phenotype(np.array([0.0, 2.0]), binary=True)


@pytest.mark.skipif(PLINK2 is None and not os.environ.get("CI"), reason="plink2 is not installed")
def test_plink2_reads_the_cases_and_its_logistic_scan_equals_ours(case_control, tmp_path):
    cohort, trait, prefix = case_control
    assert PLINK2 is not None, "CI must install plink2 (.ci/run)"
    completed = subprocess.run(
        [PLINK2, "--bfile", str(prefix), "--glm", "allow-no-covars", "no-firth", "omit-ref",
         "--threads", "1", "--out", str(tmp_path / "glm")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    cases = int((trait.values == 1).sum())
    controls = trait.values.size - cases
    assert f"1 binary phenotype loaded ({cases} cases, {controls} controls)" in completed.stdout
    theirs = pd.read_csv(tmp_path / "glm.PHENO1.glm.logistic", sep="\t")
    statistics = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    ours = statistics.add("CEU", cohort.dosages(), trait.values).scan("logistic")
    # omit-ref: plink2 counts ALT (the .bim's fifth column, our derived allele), not the minor.
    tested = theirs["P"].notna().to_numpy() & np.isfinite(ours.p)
    assert tested.sum() > 0.9 * cohort.num_variants
    np.testing.assert_allclose(np.log(theirs["OR"][tested]), ours.beta[tested], rtol=1e-3,
                               atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(theirs["P"][tested], ours.p[tested], rtol=1e-3)
