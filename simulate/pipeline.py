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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from allocate import InputError, write_text_atomically
from simulate.config import PRESETS, SimulationConfig, simulation_config

__all__ = ["SimulationConfig", "SimulationReport", "PRESETS", "simulation_config", "run_simulation"]

Progress = Callable[[str, int, int], None]


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
    from simulate.prs import Portability, portability
    from simulate.world import build_world

    folder = _check_output(out, vcf or plink)  # the configuration was checked when made
    report = progress or (lambda stage, done, total: None)
    world = build_world(config, cache_dir=cache_dir, progress=report, workers=workers)
    cohort, phenotype, split = world.cohort, world.phenotype, world.split
    seconds = dict(world.seconds)
    start = time.perf_counter()
    tables = []
    for index, group in enumerate(config.groups):
        report("training scores", index, len(config.groups))
        table = portability(
            cohort, phenotype, split, train_groups=[group], **config.trainer_options()
        )
        tables.append(table.table)
    report("training scores", len(config.groups), len(config.groups))
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
            raise InputError("vcf=True or plink=True needs out, the folder the files go in")
        return None
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"the out folder {str(folder)!r} is a file; give a folder")
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
