"""One simulation run end to end: cohort, trait, split, portability table, optional exports.

Presets size the run: ``quick`` (seconds: the demo and the tests' scale), ``study`` (learning
curves still rising over the budgets the benchmark uses) and ``paper`` (the scale of Cai et al.:
200,000 individuals per group on a 63 Mb genome, case-control at 5% prevalence; its dosage
matrix would be tens of gigabytes, more than the decoding limit, so it is decoded from the trees
on demand).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from allocate.errors import InputError
from allocate.files import write_text_atomically

__all__ = ["SimulationConfig", "SimulationReport", "PRESETS", "simulation_config", "run_simulation"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SimulationConfig:
    """Every setting of a simulation run (see :data:`PRESETS`)."""

    preset: str = "quick"
    groups: tuple[str, ...] = ("CEU", "YRI", "CHB")
    n_per_group: int = 2000
    chromosomes: int = 4
    chromosome_length: float = 2e6
    maf: float = 0.01
    h2: float | dict[str, float] = 0.5  # one for every group, or one per group
    causal: int = 100
    rho: float = 1.0
    prevalence: float | None = None
    reference: int = 200
    test_fraction: float = 0.25
    wright_fisher_generations: int = 0
    method: str = "clumping"
    #: Clumping's r^2: ``dosage`` (default; what a study without phase measures) or the
    #: true-phase ``haplotype`` r^2 of the trees (see :class:`simulate.prs.ScoreTrainer`).
    ld: str = "dosage"
    #: Clumping keeps p below this (the paper's 0.01); None chooses the threshold on the
    #: training set's validation split among ``simulate.prs.DEFAULT_THRESHOLDS``.
    p_threshold: float | None = None
    seed: int = 1

    def trainer_options(self) -> dict[str, Any]:
        """Options of :class:`simulate.prs.ScoreTrainer` this configuration asks for."""
        options: dict[str, Any] = {"method": self.method}
        if self.ld != "dosage":
            options["ld"] = self.ld
        if self.p_threshold is not None:
            options["thresholds"] = (float(self.p_threshold),)
        return options

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["groups"] = list(self.groups)
        return values


#: Named sizes of a run; any field can be overridden.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(n_per_group=2000, chromosomes=4, chromosome_length=2e6, causal=100),
    "study": dict(
        n_per_group=6000, chromosomes=8, chromosome_length=2e6, causal=300, reference=300,
        test_fraction=0.2,
    ),  # fmt: skip
    "paper": dict(
        groups=("CEU", "YRI"), n_per_group=200_000, chromosomes=21, chromosome_length=3e6,
        causal=1000, prevalence=0.05, reference=1000, test_fraction=0.5,
        wright_fisher_generations=10, p_threshold=0.01,
    ),  # fmt: skip
}


def simulation_config(preset: str = "quick", **overrides: Any) -> SimulationConfig:
    """The configuration of ``preset`` with any field overridden (``None`` keeps the preset's)."""
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    names = {f.name for f in fields(SimulationConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise InputError(f"unknown simulation setting(s): {', '.join(unknown)}")
    values = {**PRESETS[preset], "preset": preset}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "groups" in values:
        values["groups"] = tuple(values["groups"])
    config = replace(SimulationConfig(), **values)
    if overrides.get("reference") is None:  # a smaller cohort gets a smaller reference panel
        config = replace(config, reference=max(10, min(config.reference, config.n_per_group // 5)))
    return config


@dataclass(frozen=True, eq=False)
class SimulationReport:
    """What a run made: the cohort, the trait, the split, the portability table, files."""

    config: SimulationConfig
    cohort: Any
    phenotype: Any
    split: Any
    portability: Any
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    command: tuple[str, ...] | None = None

    def variants_table(self) -> pd.DataFrame:
        """Per group: individuals and variants above the MAF floor."""
        return self.cohort.to_frame()

    def to_frame(self) -> pd.DataFrame:
        return self.portability.to_frame()

    def to_dict(self) -> dict[str, Any]:
        from simulate.cohort import provenance

        return {
            "command": list(self.command) if self.command is not None else None,
            "version": provenance()["fairalloc"],
            "config": self.config.to_dict(),
            "cohort": self.cohort.to_dict(),
            "phenotype": self.phenotype.to_dict(),
            "portability": self.portability.to_frame().to_dict(orient="records"),
            "seconds": dict(self.seconds),
            "files": {k: str(v) for k, v in self.files.items()},
        }

    def summary(self) -> str:
        return "\n".join(
            [self.cohort.summary(), self.phenotype.summary(), self.portability.summary()]
        )


def run_simulation(
    config: SimulationConfig,
    *,
    cache_dir: str | Path | None = None,
    out: str | Path | None = None,
    vcf: bool = False,
    plink: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
    command: Sequence[str] | None = None,
) -> SimulationReport:
    """Simulate (or load) the cohort, draw the trait, train and score the portability table.

    ``out`` receives ``portability.csv`` and ``summary.json`` (and ``vcf/``, ``plink/`` when
    asked); nothing is written when the settings are refused. ``workers`` processes simulate
    the chromosomes (the same cohort for any number). ``command`` (the command line that asked
    for the run) is recorded in the report and ``summary.json`` with the package version.
    """
    from simulate.cohort import CohortParameters, simulate_cohort
    from simulate.phenotype import check_trait_settings, simulate_phenotype
    from simulate.prs import portability, split_cohort

    CohortParameters(  # validate everything before any work or any file
        groups=config.groups, n_per_group=config.n_per_group, chromosomes=config.chromosomes,
        chromosome_length=config.chromosome_length, maf=config.maf, seed=config.seed,
        wright_fisher_generations=config.wright_fisher_generations,
    )  # fmt: skip
    if config.method not in ("clumping", "ldpred-inf"):
        raise InputError(f"method must be clumping or ldpred-inf; got {config.method!r}")
    if config.p_threshold is not None and not 0 < config.p_threshold <= 1:
        raise InputError(f"p_threshold must be in (0, 1]; got {config.p_threshold}")
    check_trait_settings(
        len(config.groups), h2=config.h2, causal=config.causal, rho=config.rho,
        prevalence=config.prevalence,
    )  # fmt: skip
    folder = _check_output(out, vcf or plink)
    report = progress or (lambda stage, done, total: None)
    seconds = {}
    start = time.perf_counter()
    cohort = simulate_cohort(
        config.groups, n_per_group=config.n_per_group, chromosomes=config.chromosomes,
        chromosome_length=config.chromosome_length, maf=config.maf, seed=config.seed,
        wright_fisher_generations=config.wright_fisher_generations, cache_dir=cache_dir,
        progress=report, workers=workers,
    )  # fmt: skip
    seconds["cohort"] = time.perf_counter() - start
    start = time.perf_counter()
    phenotype = simulate_phenotype(
        cohort, h2=config.h2, causal=config.causal, rho=config.rho,
        prevalence=config.prevalence, seed=config.seed,
    )  # fmt: skip
    split = split_cohort(
        cohort, reference=config.reference, test_fraction=config.test_fraction, seed=config.seed
    )
    seconds["phenotype"] = time.perf_counter() - start
    start = time.perf_counter()
    tables = []
    for index, group in enumerate(config.groups):
        report("training scores", index, len(config.groups))
        table = portability(
            cohort, phenotype, split, train_groups=[group], **config.trainer_options()
        )
        tables.append(table.table)
    report("training scores", len(config.groups), len(config.groups))
    from simulate.prs import Portability

    table = Portability(pd.concat(tables, ignore_index=True))
    seconds["scores"] = time.perf_counter() - start
    result = SimulationReport(
        config, cohort, phenotype, split, table, seconds,
        command=tuple(command) if command is not None else None,
    )  # fmt: skip
    if folder is not None:
        result = replace(result, files=_write_outputs(result, folder, vcf=vcf, plink=plink))
    return result


def _check_output(out: str | Path | None, exports: bool) -> Path | None:
    if out is None:
        if exports:
            raise InputError("--vcf and --plink need --out DIR to say where the files go")
        return None
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} is a file; give a folder")
    return folder


def _write_outputs(result: SimulationReport, folder: Path, *, vcf: bool, plink: bool):
    from simulate.export import write_plink, write_vcf

    folder.mkdir(parents=True, exist_ok=True)
    files = {"portability": folder / "portability.csv", "summary": folder / "summary.json"}
    write_text_atomically(files["portability"], result.portability.to_frame().to_csv(index=False))
    write_text_atomically(files["summary"], json.dumps(result.to_dict(), indent=2, default=str))
    if vcf:
        for path in write_vcf(result.cohort, folder / "vcf"):
            files[f"vcf/{path.name}"] = path
    if plink:
        paths = write_plink(
            result.cohort, folder / "plink" / "cohort", phenotype=result.phenotype.values,
            binary=result.phenotype.binary,
        )
        for path in paths:
            files[f"plink/{path.name}"] = path
    return files
