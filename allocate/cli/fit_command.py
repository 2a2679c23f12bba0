"""``fairalloc fit``: fit learning curves to measured points."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.errors import InputError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


class FamilyChoice(StrEnum):
    power = "power"
    power_offset = "power-offset"
    transfer = "transfer"


class SenseChoice(StrEnum):
    loss = "loss"
    score = "score"


@app.command("fit")
def fit_command(
    points: Annotated[
        Path, typer.Argument(help="CSV with columns group, n, value [, n_total, seed].")
    ],
    family: Annotated[
        FamilyChoice, typer.Option(help="Curve family: power, power-offset or transfer.")
    ] = FamilyChoice.power_offset,
    sense: Annotated[
        SenseChoice, typer.Option(help="loss if lower is better; score (R^2, AUC) if higher.")
    ] = SenseChoice.loss,
    score_max: Annotated[
        float, typer.Option(help="Best possible score, for --sense score (1 for R^2 and AUC).")
    ] = 1.0,
    log_space: Annotated[
        bool, typer.Option("--log-space", help="Fit log residuals (losses spanning decades).")
    ] = False,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for percentile intervals (0: Wald).")
    ] = 0,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.9,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the curves as a study file for `plan`."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Draw points and curves with bands (.png, .pdf, .svg).")
    ] = None,
) -> None:
    """Fit each group's learning curve to measured POINTS and report it with intervals."""
    from allocate.curve_file import curves_to_toml
    from allocate.files import write_text_atomically
    from allocate.fitting import fit_curves
    from allocate.points import read_points

    if plot is not None and plot.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"--plot must end in {', '.join(FIGURE_SUFFIXES)}; got {str(plot)!r}")
    table = read_points(points)
    fits = fit_curves(
        table,
        family=family.value,
        sense=sense.value,
        score_max=score_max,
        log_space=log_space,
        bootstrap=bootstrap,
        level=level,
        seed=seed,
    )
    if plot is not None:
        from allocate.plotting import plot_curves, save_figure_atomically

        save_figure_atomically(plot_curves(fits, table), plot)
    if output is not None:
        write_text_atomically(output, curves_to_toml(fits))
    if as_json:
        typer.echo(json.dumps(fits.to_dict(), indent=2))
    else:
        _print_table(fits, written=[p for p in (output, plot) if p is not None])


def _print_table(fits, written: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    pct = f"{100 * fits.level:g}%"
    table = Table(title=f"Learning curves: {fits.family} family, {fits.sense} ({pct} intervals)")
    for column in ("group", "points", "parameter", "estimate", "std. error", f"{pct} interval"):
        table.add_column(column, justify="left" if column in ("group", "parameter") else "right")
    for fit in fits:
        first = True
        for name, estimate in fit.estimates.items():
            low, high = fit.intervals[name]
            table.add_row(
                fit.group if first else "",
                f"{fit.n_points} @ {fit.n_sizes} sizes" if first else "",
                name,
                f"{estimate:.4g}",
                f"{fit.std_errors[name]:.3g}",
                f"[{low:.4g}, {high:.4g}]",
            )
            first = False
        table.add_row("", "", "residual", f"{fit.residual_error:.3g}", "", "", end_section=True)
    console = Console()
    console.print(table)
    for warning in fits.warnings:
        console.print(f"[yellow]warning[/yellow]: {warning}")
    for path in written:
        console.print(f"wrote {path}")
