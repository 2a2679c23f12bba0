"""``fairalloc simulate``: a simulated cohort, its variants per group and a portability table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import LD_HELP, JsonOption, LdChoice, choices, said_with_flags
from allocate.errors import InputError

ScoreMethod = choices("ScoreMethod", ("clumping", "ldpred-inf"))
SimulatePreset = choices("SimulatePreset", ("quick", "study", "paper"))


def _default_cache() -> Path:
    if os.environ.get("FAIRALLOC_CACHE"):
        return Path(os.environ["FAIRALLOC_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fairalloc"


def _groups(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    groups = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    if not groups:
        raise InputError("--groups takes a comma-separated list such as CEU,YRI,CHB")
    return groups


#: The phrases of the simulation's messages that name its parameters -> this command's options.
_FLAGS = {
    "n_per_group": "--n-per-group",
    "chromosome_length": "--chromosome-length",
    "p_threshold": "--p-threshold",
    "ld='haplotype'": "--ld haplotype",
    "method='clumping'": "--method clumping",
    "vcf=True or plink=True needs out, the folder the files go in":
        "--vcf or --plink needs --out DIR, the folder the files go in",
    "the out folder": "the --out folder",
}


@app.command("simulate")
@said_with_flags(_FLAGS)
def simulate_command(
    ctx: typer.Context,
    preset: Annotated[
        SimulatePreset,
        typer.Option(help="quick (under a minute), study (benchmark scale) or paper (Cai et al.)."),
    ] = SimulatePreset.quick,
    groups: Annotated[
        str | None, typer.Option(help="Comma-separated populations: CEU,YRI,CHB (any of them).")
    ] = None,
    n_per_group: Annotated[
        int | None, typer.Option(help="Individuals simulated per group.")
    ] = None,
    chromosomes: Annotated[
        int | None, typer.Option(help="Independent chromosomes (separate simulations).")
    ] = None,
    chromosome_length: Annotated[
        float | None, typer.Option(help="Length of each chromosome in base pairs.")
    ] = None,
    h2: Annotated[float | None, typer.Option(help="Heritability within each group.")] = None,
    causal: Annotated[int | None, typer.Option(help="Number of causal variants.")] = None,
    rho: Annotated[
        float | None, typer.Option(help="Cross-group correlation of causal effects (1 = shared).")
    ] = None,
    prevalence: Annotated[
        float | None,
        typer.Option(help="Make the trait binary: the top fraction of liability are cases."),
    ] = None,
    method: Annotated[
        ScoreMethod,
        typer.Option(help="clumping (clumping and thresholding) or ldpred-inf (LD shrinkage)."),
    ] = ScoreMethod.clumping,
    ld: Annotated[
        LdChoice, typer.Option(help=f"{LD_HELP} With --method clumping only.")
    ] = LdChoice.dosage,
    p_threshold: Annotated[
        float | None,
        typer.Option(
            help="Clumping keeps variants with p below this (the paper: 0.01); "
            "default: the threshold is chosen on each training set's validation split."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Master seed; the same seed gives the same cohort and scores.")
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for portability.csv, summary.json and any exports."),
    ] = None,
    vcf: Annotated[
        bool, typer.Option(help="Export the cohort as VCF (one file per chromosome).")
    ] = False,
    plink: Annotated[
        bool, typer.Option(help="Export the cohort as PLINK 1 .bed/.bim/.fam with the trait.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Cohort cache folder (default $FAIRALLOC_CACHE or ~/.cache/fairalloc)."),
    ] = None,
    cache: Annotated[
        bool, typer.Option(help="Load and store cohorts in the cache (--no-cache: simulate anew).")
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Processes simulating chromosomes at once (default: every core); "
            "any number gives the same cohort."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate a cohort under the out-of-Africa model and show how its PRS transfer."""
    from simulate.pipeline import run_simulation, simulation_config

    config = simulation_config(
        preset.value,
        groups=_groups(groups),
        n_per_group=n_per_group,
        chromosomes=chromosomes,
        chromosome_length=chromosome_length,
        h2=h2,
        causal=causal,
        rho=rho,
        prevalence=prevalence,
        method=method.value,
        ld=ld.value,
        p_threshold=p_threshold,
        seed=seed,
    )
    folder = (cache_dir or _default_cache()) if cache else None
    cores = workers or os.cpu_count() or 1
    options = dict(
        cache_dir=folder, out=out, vcf=vcf, plink=plink, workers=cores,
        command=_command_line(ctx),
    )  # fmt: skip
    if as_json:
        report = run_simulation(config, **options)
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
        return
    report = _run_with_progress(config, options)
    _print_report(report)


def _command_line(ctx: typer.Context) -> list[str]:
    """The command as given: its path and every option set on the command line."""
    words = ctx.command_path.split()
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if getattr(source, "name", None) != "COMMANDLINE":  # typer may carry its own click
            continue
        value = ctx.params[param.name]
        if isinstance(value, bool):
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            value = getattr(value, "value", value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # 200000, as typed, not 200000.0
            words += [param.opts[0], str(value)]
    return words


def _run_with_progress(config, options):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from simulate.pipeline import run_simulation

    console = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if not tasks:  # the outputs were accepted: a refusal stays one line
            progress.start()
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done)

    try:
        return run_simulation(config, progress=report, **options)
    finally:
        if tasks:
            progress.stop()


def _with_interval(row, metric: str) -> str:
    """``0.123 (0.10-0.15)`` where the metric has an interval, else the value."""
    if f"{metric}_low" not in row.index:
        return f"{row[metric]:.3f}"
    return f"{row[metric]:.3f} ({row[f'{metric}_low']:.2f}-{row[f'{metric}_high']:.2f})"


def _print_report(report) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cohort = report.cohort
    p = cohort.parameters
    variants = Table(
        title=(
            f"Cohort: {p.n_per_group} individuals per group, {p.chromosomes} x "
            f"{p.chromosome_length / 1e6:g} Mb, seed {p.seed}"
        )
    )
    variants.add_column("group")
    variants.add_column(f"variants with MAF >= {p.maf:g}", justify="right")
    for group, count in cohort.variants_above_maf().items():
        variants.add_row(group, f"{count:,}")
    console.print(variants)
    console.print(report.phenotype.summary())
    table = report.portability.to_frame()
    binary = report.phenotype.binary
    metrics = ["r2", "r2_genetic"] + (["auc", "utility", "utility_expected"] if binary else [])
    portability = Table(
        title=f"Portability ({report.config.method}): PRS trained on each group's pool, "
        "scored in each group",
        caption="utility: decision utility per person on observed outcomes; expected: the "
        "same given each person's genetic risk" if binary else None,
    )
    labels = {"r2": "R2", "r2_genetic": "R2 genetic", "auc": "AUC", "utility": "utility",
              "utility_expected": "expected"}  # fmt: skip
    for column in ("trained on (n)", "scored in (n)", *map(labels.get, metrics)):
        portability.add_column(column, justify="left" if "(n)" in column else "right")
    for _, row in table.iterrows():
        portability.add_row(
            f"{row['trained_on']} ({row['n_train']:,})", f"{row['group']} ({row['n_test']:,})",
            *[_with_interval(row, m) for m in metrics],
        )  # fmt: skip
    console.print(portability)
    console.print("95% intervals: R2 by Fisher's z, AUC by Hanley and McNeil, on each test set")
    for _, row in table.drop_duplicates("trained_on").iterrows():
        count = f"{row['variants']:,} variant{'s' if row['variants'] != 1 else ''}"
        chosen = "LD shrinkage" if np.isnan(row["threshold"]) else f"p <= {row['threshold']:g}"
        console.print(f"score trained on {row['trained_on']}: {count} ({chosen})")
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    console.print(f"time: {seconds}")
    for path in report.files.values():
        console.print(f"wrote {path}")
