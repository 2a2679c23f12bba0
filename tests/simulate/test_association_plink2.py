"""Cross-check with PLINK 2: its --glm on our .bed agrees with our linear and logistic scans.

Skipped where PLINK 2 is not installed (Debian package ``plink2``), except in CI (``CI`` set),
where a missing binary fails the test: CI installs it, and a cross-check that silently skips
there checks nothing.
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
from simulate.export import individual_names, write_plink
from simulate.phenotype import simulate_phenotype
from simulate.store import GenotypeStore

PLINK2 = shutil.which("plink2")
pytestmark = pytest.mark.skipif(
    PLINK2 is None and not os.environ.get("CI"), reason="PLINK 2 is not installed"
)


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(("CEU",), n_per_group=400, chromosomes=2, chromosome_length=3e5,
                           seed=5)  # fmt: skip


def run_glm(tmp_path, cohort, phenotype, modifiers, keep=None):
    """PLINK 2's table on the cohort's .bed, of every individual or only those in ``keep``."""
    assert PLINK2 is not None, "CI must install plink2 (.ci/run)"
    write_plink(cohort, tmp_path / "cohort", phenotype=phenotype)
    chosen = []
    if keep is not None:
        names = individual_names(cohort, keep)
        (tmp_path / "keep.txt").write_text("".join(f"{n}\t{n}\n" for n in names))
        chosen = ["--keep", str(tmp_path / "keep.txt")]
    subprocess.run(
        [PLINK2, "--bfile", str(tmp_path / "cohort"), *chosen, "--glm", *modifiers,
         "--threads", "1", "--out", str(tmp_path / "result")],
        check=True, capture_output=True,
    )  # fmt: skip
    (table,) = [p for p in tmp_path.iterdir() if ".glm." in p.name and p.suffix != ".log"]
    result = pd.read_csv(table, sep="\t")
    # PLINK 2 reports effects for its A1; ours count the derived allele (the .bim's first one).
    bim = pd.read_csv(tmp_path / "cohort.bim", sep="\t", header=None)
    assert len(result) == cohort.num_variants
    flip = np.where(result["A1"].to_numpy() == bim[4].to_numpy(), 1.0, -1.0)
    return result, flip


def assert_linear_scan_is_plink2s(ours, theirs, flip):
    """Our linear scan tests the variants PLINK 2 tests, with its estimates (PLINK 2 prints
    six significant digits)."""
    tested = theirs["P"].notna().to_numpy()
    assert np.array_equal(tested, np.isfinite(ours.p))
    assert tested.sum() > 100
    np.testing.assert_allclose(flip[tested] * theirs["BETA"][tested], ours.beta[tested],
                               rtol=1e-5, atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(theirs["SE"][tested], ours.se[tested], rtol=1e-5)
    np.testing.assert_allclose(theirs["P"][tested], ours.p[tested], rtol=1e-4)


def test_plink2_linear_regression_equals_our_linear_scan(tmp_path, cohort):
    trait = simulate_phenotype(cohort, causal=10, seed=5)
    # The .fam holds six significant digits: scan exactly what PLINK reads.
    written = np.array([float(f"{value:.6g}") for value in trait.values])
    ours = ScanStatistics.empty(cohort.groups, cohort.num_variants).add(
        "CEU", cohort.dosages(), written
    ).scan("linear")
    theirs, flip = run_glm(tmp_path, cohort, written, ["allow-no-covars"])
    assert_linear_scan_is_plink2s(ours, theirs, flip)


def test_plink2_linear_regression_equals_our_scan_from_the_packed_bed(tmp_path, cohort):
    trait = simulate_phenotype(cohort, causal=10, seed=7)
    written = np.array([float(f"{value:.6g}") for value in trait.values])
    # An odd number of individuals in no order: byte positions part used, the last one too.
    rows = np.random.default_rng(7).choice(cohort.num_individuals, 251, replace=False)
    theirs, flip = run_glm(tmp_path, cohort, written, ["allow-no-covars"], keep=rows)
    store = GenotypeStore(tmp_path / "cohort", cohort.num_individuals, cohort.num_variants)
    empty = ScanStatistics.empty(cohort.groups, cohort.num_variants)
    ours = empty.add_store("CEU", store, rows, written[rows]).scan("linear")
    assert_linear_scan_is_plink2s(ours, theirs, flip)


def test_plink2_logistic_regression_equals_our_logistic_scan(tmp_path, cohort):
    trait = simulate_phenotype(cohort, h2=0.6, causal=10, prevalence=0.3, seed=6)
    ours = ScanStatistics.empty(cohort.groups, cohort.num_variants).add(
        "CEU", cohort.dosages(), trait.values
    ).scan("logistic")
    # The .fam codes controls 1 and cases 2; plain maximum likelihood (no Firth fallback).
    theirs, flip = run_glm(tmp_path, cohort, trait.values + 1, ["allow-no-covars", "no-firth"])
    tested = theirs["P"].notna().to_numpy() & np.isfinite(ours.p)
    assert tested.sum() > 100
    log_odds = flip[tested] * np.log(theirs["OR"][tested].to_numpy())
    # PLINK 2's logistic fit stops short of ours (differences up to 5e-6, 1e-4 of an SE).
    np.testing.assert_allclose(log_odds, ours.beta[tested], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(theirs["LOG(OR)_SE"][tested], ours.se[tested], rtol=1e-4)
    np.testing.assert_allclose(theirs["P"][tested], ours.p[tested], rtol=1e-3)
