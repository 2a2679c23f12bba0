"""Simulated genomes for testing sampling strategies: cohorts, phenotypes, polygenic scores.

Everything a user needs is importable from here; msprime and tskit are imported only when a
cohort is simulated or loaded.
"""

from simulate.cohort import Cohort, CohortParameters, simulate_cohort
from simulate.demography import out_of_africa_3g09
from simulate.export import write_plink, write_vcf

__all__ = [
    "Cohort",
    "CohortParameters",
    "out_of_africa_3g09",
    "simulate_cohort",
    "write_plink",
    "write_vcf",
]
