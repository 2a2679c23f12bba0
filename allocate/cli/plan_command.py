"""``fairalloc plan``: how many samples to collect from each group of a study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import JsonOption, choices, said_with_flags
from allocate.utilities import UTILITY_NAMES

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


UtilityChoice = choices("UtilityChoice", UTILITY_NAMES)


@app.command("plan")
def plan_command(
    study: Annotated[
        Path, typer.Argument(help=r"Study TOML file: budget, utility and [\[groups]] tables.")
    ],
    budget: Annotated[
        float | None, typer.Option(help="Budget in cost units (overrides the file's budget).")
    ] = None,
    utility: Annotated[
        UtilityChoice | None,
        typer.Option(help=f"{', '.join(UTILITY_NAMES[:-1])} or {UTILITY_NAMES[-1]} (overrides the"
                     " file)."),
    ] = None,
    p: Annotated[
        float | None, typer.Option("--p", help="Power-mean exponent, p >= 1 (overrides the file).")
    ] = None,
    continuous: Annotated[
        bool, typer.Option("--continuous", help="Plan fractional samples (the continuous optimum).")
    ] = False,
    as_json: JsonOption = False,
    plot: Annotated[
        Path | None,
        typer.Option(help="Draw the plan beside the baselines (.png, .pdf or .svg)."),
    ] = None,
) -> None:
    """Plan how many samples to collect from each group of STUDY, within the budget."""
    from allocate.files import check_output_path
    from allocate.planning import plan as make_plan
    from allocate.study_file import read_study

    if plot is not None:
        check_output_path(plot, what="--plot", suffixes=FIGURE_SUFFIXES)
    spec = read_study(study)
    with said_with_flags(_FLAGS):  # the library names its parameters; say the flags
        result = make_plan(
            spec,
            budget=budget,
            utility=None if utility is None else utility.value,
            p=p,
            integer=False if continuous else None,
        )
    warnings = _plan_warnings(spec, result)
    if plot is not None:
        from allocate.plotting import save_figure_atomically
        from allocate.plotting_plan import plot_plan

        save_figure_atomically(plot_plan(result, study=spec), plot)
    if as_json:
        data = result.to_dict()
        data["warnings"] = [*data.get("warnings", []), *warnings]
        typer.echo(json.dumps(data))
    else:
        _print_plan(result, warnings, written=plot)


#: Library parameters in plan()'s messages, and the options that set them here.
_FLAGS = {
    "pass budget=": "pass --budget",
    "(integer=False)": "(--continuous)",
    "budget must be a number": "--budget must be a number",
    "p must be a number >= 1": "--p must be a number >= 1",
}


def _plan_warnings(spec, result) -> list[str]:
    """What a person should know before trusting the plan: the curves' fit warnings carried in
    the study file, and groups planned far beyond the sizes their curves were fitted on."""
    from allocate.study_file import extrapolation_warnings

    notes = [f"curve of {group.name!r}: {note}" for group in spec.groups
             for note in group.fit_warnings]
    return notes + extrapolation_warnings(spec, result.totals)


def _print_plan(result, warnings: list[str], written: Path | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from allocate.plotting_plan import readable_number

    metric = result.sense
    count = "{:,.0f}" if result.integer else "{:,.4g}"
    title = f"Plan: {result.utility}" + (f" (p = {result.p:g})" if result.p else "")
    table = Table(title=f"{title}, {'whole' if result.integer else 'fractional'} samples")
    table.caption = (
        f"predicted {metric} under the plan and under equal sampling (the same total for every "
        "group) and proportional sampling (totals in proportion to the weights), on the same "
        "budget"
    )
    columns = ["group", "have", "collect", "total", "cost spent", "predicted"]
    columns += list(result.baselines)
    for column in columns:
        table.add_column(column, justify="left" if column == "group" else "right")
    for i, group in enumerate(result.groups):
        table.add_row(
            escape(group.name),
            f"{group.have:,.0f}",
            count.format(group.collect),
            count.format(group.total),
            readable_number(group.cost),
            f"{group.predicted:.4g}",
            *(f"{base.groups[i].predicted:.4g}" for base in result.baselines.values()),
        )
    console = Console(width=max(Console().width, 100))
    console.print(table)
    baselines = ", ".join(
        f"{name} {_number(base.objective)}" for name, base in result.baselines.items()
    )
    objective = "cost" if result.rule.form == "cost" else f"{result.utility} {metric}"
    console.print(f"objective ({objective}): {_number(result.objective)} ({baselines})")
    budget = "n/a" if result.budget is None else readable_number(result.budget)
    console.print(f"spent {readable_number(result.spent)} of budget {budget}")
    if result.marginal_value is not None:
        console.print(f"marginal value of budget: {result.marginal_value:.4g} {metric} per unit")
    console.print(f"method: {result.method} ({result.status})")
    for warning in warnings:
        console.print(f"[yellow]warning[/yellow]: {escape(warning)}")
    if written is not None:
        console.print(f"wrote {escape(str(written))}")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"
