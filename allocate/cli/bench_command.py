"""``fairalloc bench``: which sampling strategy wins, by how much, with confidence intervals."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import (
    LD_HELP,
    LdChoice,
    MetricOption,
    ModelOption,
    choices,
    said_with_flags,
)
from allocate.errors import InputError
from allocate.utilities import BUDGETED_UTILITY_NAMES

PresetChoice = choices("PresetChoice", ("quick", "paper", "synthetic"))
ExecutorChoice = choices("ExecutorChoice", ("local", "dask"))


def _split(text: str | None, cast, option: str) -> tuple | None:
    if text is None:
        return None
    try:
        return tuple(cast(part.strip()) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(
            f"{option} takes a comma-separated list of numbers; got {text!r}"
        ) from None


#: The phrases of the benchmark's messages that name its parameters -> this command's options.
_FLAGS = {
    "raise budgets or lower pilot": "raise --budgets (the preset sets the pilot)",
    "give run_benchmark a new out folder, or the same config as before":
        "give a new --out folder, or the same options as before",
    "give run_benchmark a new out folder": "give a new --out folder",
    "executor='dask' needs scheduler, the address of a dask scheduler":
        "--executor dask needs --scheduler ADDRESS",
    "leave them out of features, or give model as module:factory":
        "leave them out with --features, or pass --model module:factory",
    "test_size must be": "--test-size must be",
    "ld='haplotype'": "--ld haplotype",
    "give a smaller test_size": "give a smaller --test-size",
}


@app.command("bench")
@said_with_flags(_FLAGS)
def bench_command(
    preset: Annotated[
        PresetChoice | None,
        typer.Option(help="quick (minutes, the demo; the default), paper (the paper's scale), or"
                          " synthetic."),
    ] = None,
    strategies: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: adaptive,optimistic,expected,cautious,equal,proportional,"
            "worst-group,oracle, and adaptive-anchored (adaptive with anchored curves)."
        ),
    ] = None,
    utility: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated utilities: {','.join(BUDGETED_UTILITY_NAMES)}."),
    ] = None,
    budgets: Annotated[str | None, typer.Option(help="Comma-separated budgets.")] = None,
    cost_ratio: Annotated[
        str | None,
        typer.Option(help="Comma-separated costs of a non-reference sample per reference sample."),
    ] = None,
    training: Annotated[
        str | None, typer.Option(help="Comma-separated training modes: own,pooled.")
    ] = None,
    replicates: Annotated[int | None, typer.Option(help="Independent replicates.")] = None,
    seed: Annotated[
        int, typer.Option(help="Master seed; the same seed gives the same numbers.")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: bench-PRESET); reruns resume.")
    ] = None,
    executor: Annotated[
        ExecutorChoice, typer.Option(help="local cores, or a dask.distributed cluster.")
    ] = ExecutorChoice.local,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all cores).")
    ] = None,
    plot: Annotated[bool, typer.Option(help="Draw performance and adaptive-path figures.")] = True,
    held_out_test: Annotated[
        bool,
        typer.Option(
            help="Score final allocations on test people no strategy measured while collecting "
            "(--no-held-out-test: on the people measured, which rewards chasing their noise)."
        ),
    ] = True,
    ld: Annotated[
        LdChoice | None,
        typer.Option(help=f"{LD_HELP} Genomic presets (quick, paper) only: --pool tables "
                          "and the synthetic preset train no polygenic score."),
    ] = None,
    pool: Annotated[
        Path | None,
        typer.Option(
            help="Instead of --preset: replay collection on this labelled table (CSV, TSV or "
            "Parquet, one row each); needs --target and --group, and --features, --model, "
            "--metric and --test-size apply to it. Its groups, in sorted order, are the groups "
            "(the first costs 1); default budget: half the cost of every row."
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="With --pool: the column the model predicts.")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="With --pool: the column of each row's group label.")
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(help="With --pool: comma-separated feature columns (default: all others)."),
    ] = None,
    model: ModelOption = "",
    metric: MetricOption = "",
    test_size: Annotated[
        float,
        typer.Option(help="With --pool: test rows per group, a fraction in (0, 1) or a count."),
    ] = 0.25,
) -> None:
    """Run every sampling strategy on simulated cohorts, or replay collection on your own
    labelled table (--pool), and compare them with the oracle."""
    grid = dict(
        strategies=_split(strategies, str, "--strategies"),
        utilities=_split(utility, str, "--utility"),
        budgets=_split(budgets, float, "--budgets"),
        cost_ratios=_split(cost_ratio, float, "--cost-ratio"),
        training=_split(training, str, "--training"),
        replicates=replicates,
        seed=seed,
        held_out_test=held_out_test,
    )
    if pool is None:
        if target or group or features or model or metric:
            raise InputError("--target, --group, --features, --model and --metric need --pool")
        from simulate.benchmark import preset_config

        config = preset_config((preset or PresetChoice.quick).value, **grid)
        if ld is not None:
            config = _with_ld(config, ld.value)
    elif preset is not None:
        raise InputError("give --preset or --pool, not both (--pool benchmarks your table)")
    elif ld is not None:
        raise InputError("--ld chooses clumping's LD in simulated genomes; a --pool table has "
                         "no genotypes")
    else:
        config = _pool_config(pool, target, group, features, model, metric, test_size, grid)
    folder = out if out is not None else Path(f"bench-{config.preset}")
    result = _run_with_progress(config, folder, executor.value, workers, scheduler)
    if plot:
        from simulate.bench_plots import save_benchmark_figures

        figures = save_benchmark_figures(
            result.results, result.paths, folder, result.summary_table
        )
        # A new result with the figures listed: results are not changed after the fact.
        result = replace(result, files={**result.files, **{p.name: p for p in figures}})
    _print_report(result)


def _with_ld(config, ld: str):
    """``config`` with its simulated world's scores clumped on ``ld`` r^2 (a genomic preset)."""
    world = config.cohort
    if config.source != "genomic":
        raise InputError(f"--ld chooses clumping's LD in simulated genomes; the {config.preset} "
                         "preset trains no polygenic score")
    simulation = replace(world.simulation, ld=ld)
    return replace(config, cohort=replace(world, simulation=simulation))


def _pool_config(pool: Path, target, group, features, model, metric, test_size, grid):
    """The benchmark over the table at ``pool``, its path kept absolute so a rerun resumes."""
    from simulate.benchmark import pool_config

    if not target or not group:
        raise InputError("--pool needs --target COLUMN and --group COLUMN")
    return pool_config(
        pool.resolve(), target=target, group=group, model=model, metric=metric,
        features=_split(features, str, "--features"), test_size=test_size, **grid,
    )  # fmt: skip


def _run_with_progress(config, folder: Path, executor: str, workers, scheduler):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from simulate.benchmark import run_benchmark

    console = Console(stderr=True)
    settings = len(config.settings()) * len(config.strategies)
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    )  # fmt: skip
    task = progress.add_task(
        f"{config.replicates} replicates x {settings} strategy-settings",
        total=config.replicates,
    )
    runs = None if executor == "dask" else progress.add_task(
        "strategy runs", total=config.replicates * settings
    )  # fmt: skip
    first = {}

    def report(done: int, total: int) -> None:
        if not first:  # the run's settings and folder were accepted: a refusal stays one line
            first["done"] = done
            progress.start()
            if done:
                console.print(
                    f"resuming: {done} of {total} replicates already in {folder}; "
                    f"computing the other {total - done}"
                )
                if runs is not None:
                    progress.update(runs, completed=done * settings)
        progress.update(task, completed=done)

    def step() -> None:
        progress.advance(runs)

    try:
        return run_benchmark(
            config, folder, executor=executor, workers=workers, scheduler=scheduler,
            progress=report, on_step=None if runs is None else step,
        )  # fmt: skip
    finally:
        if first:
            progress.stop()


def _print_report(result) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)  # logs: no wrapping
    summary = result.summary_table
    groups = [c.removeprefix("value_") for c in summary.columns if c.startswith("value_")]
    replicates = result.config.replicates
    title = f"Benchmark '{result.config.preset}': mean +/- 95% CI over {replicates} replicates"
    table = Table(title=title)
    for column in (
        "utility",
        "budget",
        "cost",
        "strategy",
        "objective",
        "regret vs oracle",
        "vs better heuristic",
        *groups,
    ):
        table.add_column(column, justify="left" if column in ("utility", "strategy") else "right")
    for _, row in summary.iterrows():
        table.add_row(
            row["utility"], f"{row['budget']:g}", f"x{row['cost_ratio']:g}", row["strategy"],
            _plus_minus(row["objective"], row["objective_high"]),
            _plus_minus(row["regret"], row["regret_high"]),
            _plus_minus(row["heuristic_regret"], row["heuristic_regret_high"]),
            *[f"{row[f'value_{g}']:.3f}" for g in groups],
        )  # fmt: skip
    console.print(table)
    comparisons = result.comparisons
    if len(comparisons):
        verdicts = Table(title=f"{result.reference} against each strategy: regret saved"
                         " (paired t, Holm)")
        for column in ("utility", "budget", "cost", "against", "regret saved", "p (Holm)"):
            verdicts.add_column(
                column, justify="left" if column in ("utility", "against") else "right"
            )
        for _, row in comparisons.iterrows():
            verdicts.add_row(
                row["utility"], f"{row['budget']:g}", f"x{row['cost_ratio']:g}", row["other"],
                _plus_minus(row["difference"], row["high"]),
                f"{row['p_holm']:.2g}" + (" *" if row["significant"] else ""),
            )  # fmt: skip
        console.print(verdicts)
    _print_power(console, result.power)
    for path in result.files.values():
        console.print(f"wrote {path}")


def _print_power(console, power) -> None:
    """The oracle's gain over each heuristic and the replicates that would detect it."""
    from rich.table import Table

    if not len(power):
        return
    table = Table(title="Oracle's gain over each heuristic: replicates to detect it"
                  " (paired t, 5%, 80% power)")
    for column in ("utility", "budget", "cost", "against", "gain", "sd", "p", "power",
                   "replicates needed"):
        table.add_column(column, justify="left" if column in ("utility", "against") else "right")
    for _, row in power.iterrows():
        needed = row["replicates_needed"]
        table.add_row(
            row["utility"], f"{row['budget']:g}", f"x{row['cost_ratio']:g}", row["against"],
            f"{row['gain']:.3f}", f"{row['sd']:.3f}", f"{row['p_value']:.2g}",
            f"{row['power']:.2f}", "n/a" if needed != needed else f"{needed:.0f}",
        )  # fmt: skip
    console.print(table)


def _plus_minus(mean: float, high: float) -> str:
    return f"{mean:.3f} ± {high - mean:.3f}" if high == high else f"{mean:.3f}"
