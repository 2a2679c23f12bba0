"""Simulated genomes for testing sampling strategies: cohorts, phenotypes, polygenic scores,
and the benchmark that compares the strategies on them.

Everything a user needs is importable from here: a world (:func:`simulation_config`,
:func:`build_world`, :func:`run_simulation`), its parts (:func:`simulate_cohort`,
:func:`simulate_phenotype`, :func:`split_cohort`, :class:`ScoreTrainer`), and the benchmark
(:func:`preset_config`, :func:`run_benchmark`, ``make demo``'s headline).

>>> from simulate import simulate_cohort, simulate_phenotype, split_cohort, portability
>>> cohort = simulate_cohort(("CEU", "YRI"), n_per_group=120, chromosomes=2,
...                          chromosome_length=2e5, seed=1)
>>> trait = simulate_phenotype(cohort, h2=0.5, causal=10, seed=1)
>>> split = split_cohort(cohort, reference=20, test_fraction=0.25, seed=1)
>>> sorted(portability(cohort, trait, split).matrix("r2").columns)
['CEU', 'YRI']
"""

from simulate.association import AssociationResult, ScanStatistics, meta_analyse
from simulate.bench_plots import (
    plot_adaptive_path,
    plot_performance,
    plot_regret,
    save_benchmark_figures,
)
from simulate.benchmark import (
    BenchConfig,
    BenchResult,
    compare_strategies,
    comparison_reference,
    pool_config,
    preset_config,
    run_benchmark,
    run_replicate,
    summarise,
)
from simulate.clumping import clump, standardised_panel
from simulate.cohort import Cohort, CohortParameters, simulate_cohort
from simulate.config import (
    GenomicWorld,
    PoolWorld,
    SimulationConfig,
    SyntheticWorld,
    simulation_config,
)
from simulate.demography import out_of_africa_3g09
from simulate.export import fam_phenotype, write_plink, write_vcf
from simulate.metrics import PlattScaling, auc, decision_utility, fit_platt, r_squared
from simulate.phenotype import Phenotype, simulate_phenotype
from simulate.pipeline import SimulationReport, run_simulation
from simulate.plink_cohort import PlinkCohort, read_plink_cohort
from simulate.power_analysis import power_analysis
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
from simulate.score_curves import measure_score_curves
from simulate.shrinkage import ld_blocks, ldpred_inf_weights, marginal_correlations
from simulate.source import GenomicSource, genomic_source_for_benchmark
from simulate.store import GenotypeStore, write_genotype_store
from simulate.training_data import TrainingData
from simulate.world import World, build_world

__all__ = [
    "AssociationResult",
    "auc",
    "BenchConfig",
    "BenchResult",
    "build_world",
    "clump",
    "Cohort",
    "CohortParameters",
    "CohortSplit",
    "compare_strategies",
    "comparison_reference",
    "decision_utility",
    "evaluate_score",
    "fam_phenotype",
    "fit_platt",
    "genomic_source_for_benchmark",
    "GenomicSource",
    "GenomicWorld",
    "GenotypeStore",
    "ld_blocks",
    "ldpred_inf_weights",
    "marginal_correlations",
    "meta_analyse",
    "out_of_africa_3g09",
    "Phenotype",
    "pool_config",
    "PoolWorld",
    "PlattScaling",
    "plot_adaptive_path",
    "plot_performance",
    "plot_regret",
    "PolygenicScore",
    "Portability",
    "portability",
    "power_analysis",
    "preset_config",
    "r_squared",
    "run_benchmark",
    "run_replicate",
    "run_simulation",
    "save_benchmark_figures",
    "ScanStatistics",
    "ScoreEvaluation",
    "ScoreTrainer",
    "simulate_cohort",
    "simulate_phenotype",
    "simulation_config",
    "SimulationConfig",
    "SimulationReport",
    "split_cohort",
    "standardised_panel",
    "summarise",
    "SyntheticWorld",
    "TrainingData",
    "World",
    "write_genotype_store",
    "write_plink",
    "write_vcf",
    "PlinkCohort",
    "read_plink_cohort",
    "measure_score_curves",
]
