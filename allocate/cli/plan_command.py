"""``fairalloc plan``: how many samples to collect from each group of a study."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.errors import FairallocError, InputError
from allocate.utilities import UTILITY_NAMES

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


UtilityChoice = StrEnum("UtilityChoice", {name.replace("-", "_"): name for name in UTILITY_NAMES})


@app.command("plan")
def plan_command(
    study: Annotated[Path, typer.Argument(help="Study TOML file: budget, utility and [[groups]].")],
    budget: Annotated[
        float | None, typer.Option(help="Budget in cost units (overrides the file's budget).")
    ] = None,
    utility: Annotated[
        UtilityChoice | None,
        typer.Option(help="weighted, maximin, power-mean or target (overrides the file)."),
    ] = None,
    p: Annotated[
        float | None, typer.Option("--p", help="Power-mean exponent, p >= 1 (overrides the file).")
    ] = None,
    continuous: Annotated[
        bool, typer.Option("--continuous", help="Plan fractional samples (the continuous optimum).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(help="Draw the plan beside the baselines (.png, .pdf or .svg)."),
    ] = None,
) -> None:
    """Plan how many samples to collect from each group of STUDY, within the budget."""
    from allocate.planning import plan as make_plan
    from allocate.study_file import read_study

    if plot is not None and plot.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"--plot must end in {', '.join(FIGURE_SUFFIXES)}; got {str(plot)!r}")
    try:
        result = make_plan(
            read_study(study),
            budget=budget,
            utility=None if utility is None else utility.value,
            p=p,
            integer=False if continuous else None,
        )
    except FairallocError as error:  # the library names its parameters; say the flags
        raise type(error)(_with_flags(str(error))) from None
    if plot is not None:
        from allocate.plotting import save_figure_atomically
        from allocate.plotting_plan import plot_plan

        save_figure_atomically(plot_plan(result), plot)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        _print_plan(result, written=plot)


#: Library parameters in plan()'s messages, and the options that set them here.
_FLAGS = {"pass budget=": "pass --budget", "(integer=False)": "(--continuous)"}


def _with_flags(message: str) -> str:
    for library, flag in _FLAGS.items():
        message = message.replace(library, flag)
    return message


def _print_plan(result, written: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    metric = result.sense
    count = "{:.0f}" if result.integer else "{:.4g}"
    title = f"Plan: {result.utility}" + (f" (p = {result.p:g})" if result.p else "")
    table = Table(title=f"{title}, {'whole' if result.integer else 'fractional'} samples")
    table.caption = f"predicted {metric} under the plan and under equal and proportional sampling"
    columns = ["group", "have", "collect", "total", "cost spent", "predicted"]
    columns += list(result.baselines)
    for column in columns:
        table.add_column(column, justify="left" if column == "group" else "right")
    for i, group in enumerate(result.groups):
        table.add_row(
            group.name,
            f"{group.have:.0f}",
            count.format(group.collect),
            count.format(group.total),
            f"{group.cost:.6g}",
            f"{group.predicted:.4g}",
            *(f"{base.groups[i].predicted:.4g}" for base in result.baselines.values()),
        )
    console = Console(width=max(Console().width, 100))
    console.print(table)
    baselines = ", ".join(
        f"{name} {_number(base.objective)}" for name, base in result.baselines.items()
    )
    objective = "cost" if result.utility == "target" else f"{result.utility} {metric}"
    console.print(f"objective ({objective}): {_number(result.objective)} ({baselines})")
    console.print(f"spent {result.spent:.6g} of budget {_number(result.budget)}")
    if result.marginal_value is not None:
        console.print(f"marginal value of budget: {result.marginal_value:.4g} {metric} per unit")
    console.print(f"method: {result.method} ({result.status})")
    if written is not None:
        console.print(f"wrote {written}")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"
