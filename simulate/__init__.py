"""Simulated genomes for testing sampling strategies: cohorts, phenotypes, polygenic scores.

Everything a user needs is importable from here.

>>> from simulate import simulate_cohort, simulate_phenotype, split_cohort, portability
>>> cohort = simulate_cohort(("CEU", "YRI"), n_per_group=120, chromosomes=2,
...                          chromosome_length=2e5, seed=1)
>>> trait = simulate_phenotype(cohort, h2=0.5, causal=10, seed=1)
>>> split = split_cohort(cohort, reference=20, test_fraction=0.25, seed=1)
>>> sorted(portability(cohort, trait, split).matrix("r2").columns)
['CEU', 'YRI']
"""

from simulate.association import AssociationResult, ScanStatistics, meta_analyse
from simulate.benchmark import (
    BenchConfig,
    BenchResult,
    compare_strategies,
    preset_config,
    run_benchmark,
    run_replicate,
    summarise,
)
from simulate.clumping import clump, standardised_panel
from simulate.cohort import Cohort, CohortParameters, simulate_cohort
from simulate.demography import out_of_africa_3g09
from simulate.export import fam_phenotype, write_plink, write_vcf
from simulate.metrics import PlattScaling, auc, decision_utility, fit_platt, r_squared
from simulate.phenotype import Phenotype, simulate_phenotype
from simulate.plink_cohort import PlinkCohort, read_plink_cohort
from simulate.prs import (
    CohortSplit,
    PolygenicScore,
    Portability,
    ScoreEvaluation,
    ScoreTrainer,
    evaluate_score,
    portability,
    split_cohort,
)
from simulate.score_curves import measure_plink_curves, measure_score_curves
from simulate.shrinkage import ld_blocks, ldpred_inf_weights, marginal_correlations
from simulate.source import GenomicSource, genomic_source_for_benchmark
from simulate.store import GenotypeStore, write_genotype_store
from simulate.training_data import TrainingData

__all__ = [
    "AssociationResult",
    "BenchConfig",
    "BenchResult",
    "GenotypeStore",
    "TrainingData",
    "compare_strategies",
    "preset_config",
    "run_benchmark",
    "run_replicate",
    "summarise",
    "write_genotype_store",
    "Cohort",
    "CohortParameters",
    "CohortSplit",
    "GenomicSource",
    "Phenotype",
    "PlattScaling",
    "PolygenicScore",
    "Portability",
    "ScanStatistics",
    "ScoreEvaluation",
    "ScoreTrainer",
    "auc",
    "clump",
    "decision_utility",
    "evaluate_score",
    "fit_platt",
    "genomic_source_for_benchmark",
    "ld_blocks",
    "ldpred_inf_weights",
    "marginal_correlations",
    "meta_analyse",
    "out_of_africa_3g09",
    "portability",
    "r_squared",
    "simulate_cohort",
    "simulate_phenotype",
    "split_cohort",
    "standardised_panel",
    "fam_phenotype",
    "write_plink",
    "write_vcf",
    "PlinkCohort",
    "read_plink_cohort",
    "measure_plink_curves",
    "measure_score_curves",
]
