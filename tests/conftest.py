"""Cohorts simulated once per test session and shared by the simulate tests.

pytest hands these fixtures to every test under ``tests/simulate/`` that names them as an
argument (``def test_x(small_cohort):``); nothing is imported.
"""

from __future__ import annotations

import pytest

from simulate.cohort import simulate_cohort

SMALL = dict(n_per_group=300, chromosomes=3, chromosome_length=5e5, seed=11)


@pytest.fixture(scope="session")
def small_cohort():
    """Three groups x 300 individuals on three 0.5 Mb chromosomes (about a second)."""
    return simulate_cohort(("CEU", "YRI", "CHB"), **SMALL)


#: Just big enough for the out-of-Africa portability ordering to hold (about 4 s).
PORTABILITY = dict(n_per_group=1200, chromosomes=4, chromosome_length=1e6, seed=1)


@pytest.fixture(scope="session")
def portability_cohort():
    """Three groups x 1200 individuals on four 1 Mb chromosomes."""
    return simulate_cohort(("CEU", "YRI", "CHB"), **PORTABILITY)
