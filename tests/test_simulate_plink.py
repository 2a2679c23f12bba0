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
