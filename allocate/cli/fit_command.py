"""``fairalloc fit``: fit learning curves to measured points."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import FamilyChoice, JsonOption, SenseChoice, said_with_flags

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

#: The phrases of fit_curves's messages that name its parameters -> this command's options.
_FLAGS = {
    "check the sense of the metric": "check the sense of the metric (--sense)",
    "score_max": "--score-max",
    "bootstrap must": "--bootstrap must",
    "resamples at level": "resamples at --level",
    "level must": "--level must",
    "(log_space=False)": "(without --log-space)",
    "fit the power family or in log space": "fit with --family power or with --log-space",
    "seed must": "--seed must",
}


@app.command("fit")
def fit_command(
    points: Annotated[
        Path, typer.Argument(help="CSV with columns group, n, value (optionally n_total, seed).")
    ],
    family: Annotated[
        FamilyChoice, typer.Option(help="Curve family: power, power-offset or transfer.")
    ] = FamilyChoice.power_offset,
    sense: Annotated[
        SenseChoice, typer.Option(help="loss if lower is better; score (R^2, AUC) if higher.")
    ] = SenseChoice.loss,
    score_max: Annotated[
        float,
        typer.Option(help="Best possible score, >= 0, for --sense score (1 for R^2 and AUC)."),
    ] = 1.0,
    log_space: Annotated[
        bool, typer.Option("--log-space", help="Fit log residuals (losses spanning decades).")
    ] = False,
    bootstrap: Annotated[
        int,
        typer.Option(
            min=0, help="Bootstrap resamples for percentile intervals: 0 (Wald) or at least 20."
        ),
    ] = 0,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.9,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap.")] = None,
    as_json: JsonOption = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the curves as a study file for `plan`."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Draw points and curves with bands (.png, .pdf, .svg).")
    ] = None,
) -> None:
    """Fit each group's learning curve to measured POINTS and report it with intervals."""
    from allocate.curve_file import ASSUMED_DEFAULTS, curves_to_toml
    from allocate.files import check_output_path, write_text_atomically
    from allocate.fitting import fit_curves
    from allocate.points import read_points

    if plot is not None:
        check_output_path(plot, what="--plot", suffixes=FIGURE_SUFFIXES)
    if output is not None:
        check_output_path(output, what="--output")
    table = read_points(points)
    with said_with_flags(_FLAGS):
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
    figure = None
    if plot is not None:
        from allocate.plotting import plot_curves

        figure = plot_curves(fits, table)
    text = None if output is None else curves_to_toml(fits)
    if figure is not None:  # every output is built before the first is written
        from allocate.plotting import save_figure_atomically

        save_figure_atomically(figure, plot)
    if text is not None:
        write_text_atomically(output, text)
    assumed = ", ".join(f"{key} = {value:g}" for key, value in ASSUMED_DEFAULTS.items())
    note = (
        f"{output}: have = the largest n measured in each group; ASSUMED {assumed} for every "
        "group (edit the file); no budget (pass --budget to `fairalloc plan`)"
    )
    if as_json:
        typer.echo(json.dumps(fits.to_dict(), indent=2))
        if output is not None:
            typer.echo(f"note: {note}", err=True)
    else:
        _print_table(fits, written=[p for p in (output, plot) if p is not None])
        if output is not None:
            typer.echo(f"note: {note}")


def _print_table(fits, written: list[Path]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    pct = f"{100 * fits.level:g}%"
    table = Table(title=f"Learning curves: {fits.family} family, {fits.sense} ({pct} intervals)")
    for column in ("group", "points", "parameter", "estimate", "std. error", f"{pct} interval"):
        table.add_column(column, justify="left" if column in ("group", "parameter") else "right")
    for fit in fits:
        measured = fit.residual_dof != 0  # with no residual dof the errors measure nothing
        for k, (name, estimate) in enumerate(fit.estimates.items()):
            low, high = fit.intervals[name]
            table.add_row(
                escape(fit.group) if k == 0 else "",
                f"{fit.n_points} @ {fit.n_sizes} sizes" if k == 0 else "",
                name,
                f"{estimate:.4g}",
                f"{fit.std_errors[name]:.3g}" if measured else "n/a",
                escape(f"[{low:.4g}, {high:.4g}]") if measured else "n/a",
                end_section=k == len(fit.estimates) - 1,
            )
    quality = Table(title=f"Goodness of fit ({'log' if _any_log(fits) else 'linear'} space)")
    for column in ("group", "residual dof", "RMSE", "R^2", "AIC", "BIC", "fitted n"):
        quality.add_column(column, justify="left" if column == "group" else "right")
    for fit in fits:
        low, high = fit.fitted_sizes
        quality.add_row(
            escape(fit.group),
            str(fit.residual_dof),
            f"{fit.residual_error:.3g}",
            _figure(fit.r_squared, "{:.4f}"),
            _figure(fit.aic, "{:.2f}"),
            _figure(fit.bic, "{:.2f}"),
            f"{low:,.0f} to {high:,.0f}",
        )
    console = Console()
    console.print(table)
    console.print(quality)
    for warning in fits.warnings:
        console.print(f"[yellow]warning[/yellow]: {escape(warning)}")
    for path in written:
        console.print(f"wrote {escape(str(path))}")


def _any_log(fits) -> bool:
    return any(fit.log_space for fit in fits)


def _figure(value: float, form: str) -> str:
    return form.format(value) if math.isfinite(value) else "n/a"
