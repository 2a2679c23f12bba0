"""Cohorts simulated once per test session and shared by the simulate tests.

Import the fixtures into a test module (``from simulate_fixtures import small_cohort``).
"""

from __future__ import annotations

import pytest

from simulate.cohort import simulate_cohort

SMALL = dict(n_per_group=300, chromosomes=3, chromosome_length=5e5, seed=11)


@pytest.fixture(scope="session")
def small_cohort():
    """Three groups x 300 individuals on three 0.5 Mb chromosomes (about a second)."""
    return simulate_cohort(("CEU", "YRI", "CHB"), **SMALL)
