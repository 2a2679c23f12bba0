"""Fixtures shared across the suite: cohorts simulated once per test session.

pytest hands them to any test under ``tests/`` that names one as an argument
(``def test_x(small_cohort):``); nothing is imported. A cohort is simulated only when a test
first asks for it.
"""

from __future__ import annotations

import pytest

SMALL = dict(n_per_group=300, chromosomes=3, chromosome_length=5e5, seed=11)


@pytest.fixture(scope="session")
def small_cohort():
    """Three groups x 300 individuals on three 0.5 Mb chromosomes (about a second)."""
    # imported on first use, so that tests needing no cohort need not load msprime
    from simulate.cohort import simulate_cohort

    return simulate_cohort(("CEU", "YRI", "CHB"), **SMALL)


#: Just big enough for the out-of-Africa portability ordering to hold (about 4 s).
PORTABILITY = dict(n_per_group=1200, chromosomes=4, chromosome_length=1e6, seed=1)


@pytest.fixture(scope="session")
def portability_cohort():
    """Three groups x 1200 individuals on four 1 Mb chromosomes."""
    from simulate.cohort import simulate_cohort

    return simulate_cohort(("CEU", "YRI", "CHB"), **PORTABILITY)
