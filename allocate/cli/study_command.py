"""``fairalloc study``: a study that lives on disk, run one batch at a time.

    fairalloc study init STUDY.toml --db STUDY.sqlite     # once
    fairalloc study next --db STUDY.sqlite                # the batch to collect now
    fairalloc study record --db STUDY.sqlite RESULTS.csv  # what was collected and measured
    fairalloc study status --db STUDY.sqlite              # spent, left, curves, plan
    fairalloc study export --db STUDY.sqlite -o DIR       # every table as CSV
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import FamilyChoice, JsonOption, choices, said_with_flags
from allocate.errors import InputError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

study_app = typer.Typer(
    help="A study that lives on disk: ask for the next batch, record results, repeat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(study_app, name="study")


# every strategy but the oracle (it needs the true curves); not read from allocate.strategies,
# which imports pandas, so that the command line starts fast
StrategyChoice = choices(
    "StrategyChoice",
    ("expected", "cautious", "adaptive", "optimistic", "equal", "proportional", "worst-group"),
)

DbOption = Annotated[
    Path, typer.Option("--db", help="The study database (SQLite) made by `fairalloc study init`.")
]


@study_app.command("init")
def init_command(
    study_file: Annotated[
        Path, typer.Argument(help="The study file (TOML): groups, costs, pools, budget, utility.")
    ],
    db: Annotated[
        Path, typer.Option("--db", help="The study database to create; it must not exist.")
    ],
    strategy: Annotated[
        StrategyChoice,
        typer.Option(help="How each batch is chosen. The default, expected, plans on the fitted"
                     " curves' uncertainty (bootstrap refits); adaptive plans on their point"
                     " estimates, which can swing the whole budget to one group."),
    ] = StrategyChoice.expected,
    batch: Annotated[
        float | None,
        typer.Option(help="Each batch's share of the remaining budget, in (0, 1] (every"
                     " strategy but equal and proportional, which collect in one batch;"
                     " default 0.25)."),
    ] = None,
    pilot: Annotated[
        int | None,
        typer.Option(help="Samples per group in the pilot (every strategy but equal and"
                     " proportional; default: 10% of the budget, >= 8).")
    ] = None,
    damping: Annotated[
        float | None,
        typer.Option(help="Cap on how much one batch may grow the max/min ratio of group sizes"
                     " (expected, cautious, adaptive, optimistic; default no cap)."),
    ] = None,
    family: Annotated[
        FamilyChoice | None,
        typer.Option(help="Curve family fitted each round (expected, cautious, adaptive,"
                     " optimistic; default power-offset; expected and cautious take power or"
                     " power-offset, not transfer)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of every batch's random choices (such as the"
                          " bootstrap refits of expected and cautious).")
    ] = 0,
    points: Annotated[
        Path | None,
        typer.Option(help="Measurements of the samples already in hand (CSV as for `fairalloc"
                     " fit`), so the first batch is planned on fitted curves."),
    ] = None,
) -> None:
    """Create a study database from STUDY_FILE; then run `fairalloc study next`."""
    from allocate.points import read_points
    from allocate.study import Study
    from allocate.study_file import read_study

    if db.is_dir():
        raise InputError(f"--db {str(db)!r} is a folder; give the path of a new study database"
                         " file, such as study.sqlite")
    if db.exists():
        raise InputError(f"--db {str(db)!r} already exists; give a new --db path for a new"
                         f" study, or continue this one with `fairalloc study next --db {db}`")
    spec = read_study(study_file, require_curves=False)
    in_hand = None if points is None else read_points(points)
    text = study_file.read_text(encoding="utf-8")
    given = {"batch": batch, "pilot": pilot, "damping": damping,
             "family": None if family is None else family.value}
    settings = {key: value for key, value in given.items() if value is not None}
    study = Study.create(db, spec, strategy=strategy.value, seed=seed, study_text=text,
                         study_path=study_file, measurements=in_hand, **settings)
    _console().print(
        f"Created study {db} ({study.strategy_name} strategy, {len(spec.groups)} groups,"
        f" budget {float(spec.budget):.6g}, seed {study.seed}).\n"
        f"Next: fairalloc study next --db {db}"
    )


@study_app.command("next")
def next_command(db: DbOption, as_json: JsonOption = False) -> None:
    """The batch to collect now (asking again before `record` gives the same batch)."""
    study = _load(db)
    with _hints(db):
        batch = study.ask()
    if as_json:
        typer.echo(json.dumps(batch.to_dict(), indent=2))
        return
    console = _console()
    if batch.finished:
        status = study.status()
        console.print(f"The study is finished: spent {status.spent:.6g} of"
                      f" {status.budget:.6g} ({batch.note}); nothing was recorded. See"
                      " `fairalloc study status`.")
        _print_warnings(batch.warnings)
        return
    state = study.state()
    table = _table(f"Batch {batch.number}: collect now ({batch.note})",
                   ["group", "collect", "cost", "total after", "planned total"])
    for index, (group, count) in enumerate(batch.counts.items()):
        cost = count * study.spec.groups[index].cost
        planned = "" if batch.target_totals is None else f"{batch.target_totals[group]:.6g}"
        table.add_row(group, str(count), f"{cost:.6g}", str(int(state.totals[index]) + count),
                      planned)
    table.add_row("all", str(sum(batch.counts.values())), f"{batch.cost:.6g}", "", "",
                  end_section=True)
    console.print(table)
    _print_warnings(batch.warnings)
    console.print(f"Then: fairalloc study record --db {db} RESULTS.csv"
                  " (columns group, collected, n, value [, n_total, seed])")


@study_app.command("record")
def record_command(
    results: Annotated[
        Path,
        typer.Argument(help="CSV with columns group, collected, n, value [, n_total, seed]:"
                       " collected is the batch's new samples of the group (same on each of"
                       " its rows); n and value may be empty for a group with no measurement."),
    ],
    db: DbOption,
) -> None:
    """Record what was collected for the open batch and what was measured."""
    from allocate.study_results import read_results

    study = _load(db)
    collected, measurements = read_results(results)
    batch = study.open_batch()
    if batch is None:
        with _hints(db):
            finished = study.status().finished
        raise InputError("the study is finished; there is nothing to record (see `fairalloc"
                         f" study status --db {db}`)" if finished else
                         f"no batch is open; run `fairalloc study next --db {db}` first")
    with _hints(db):
        study.tell(collected, measurements, batch=batch.number)
    state = study.state()
    _console().print(
        f"Recorded batch {batch.number}: {sum(collected.values())} new samples,"
        f" {len(measurements)} measurements. Spent {state.spent:.6g} of"
        f" {float(study.spec.budget):.6g}; {state.remaining:.6g} left.\n"
        f"Next: fairalloc study next --db {db}"
    )


@study_app.command("status")
def status_command(
    db: DbOption,
    plot: Annotated[
        Path | None,
        typer.Option(help="Draw the measurements and the latest fitted curves (.png, .pdf,"
                     " .svg)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Budget spent and left, per-group counts, the latest fitted curves and the plan."""
    if plot is not None and plot.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"--plot must end in {', '.join(FIGURE_SUFFIXES)}; got {str(plot)!r}")
    study = _load(db)
    with _hints(db):
        status = study.status()
    if plot is not None:
        if status.fits is None:
            raise InputError("no curves have been fitted yet, so there is nothing to plot;"
                             " record a few batches first")
        from allocate.plotting import plot_curves, save_figure_atomically

        save_figure_atomically(plot_curves(status.fits, study.state().measurements), plot)
    if as_json:
        typer.echo(json.dumps(status.to_dict(), indent=2))
        return
    _print_status(status, plot)


@study_app.command("export")
def export_command(
    db: DbOption,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder to write the CSV files into.")
    ],
) -> None:
    """Write every table of the study (and its original study file) as CSV files."""
    written = _load(db).export(output)
    console = _console()
    for path in written:
        console.print(f"wrote {path}")


def _print_status(status, plot: Path | None) -> None:
    console = _console()
    where = ("finished" if status.finished else
             f"batch {status.open_batch.number} open" if status.open_batch else "no batch open")
    console.print(
        f"Study: {status.strategy} strategy, {status.utility} utility; {status.rounds}"
        f" batch(es) recorded, {where}.\nSpent {status.spent:.6g} of {status.budget:.6g};"
        f" {status.left:.6g} left."
    )
    metric = status.sense
    plan_title = "" if status.plan_from is None else f"; plan of batch {status.plan_from}"
    table = _table(f"Groups (predicted {metric} from the latest curves{plan_title})",
                   ["group", "cost", "have", "collected", "total", "asked", "plan", "now",
                    "at plan"])
    for g in status.groups:
        table.add_row(g.name, f"{g.cost:.6g}", str(g.have), str(g.collected), str(g.total),
                      str(g.asked), _fmt(g.planned_total), _fmt(g.predicted_now, ".4g"),
                      _fmt(g.predicted_at_plan, ".4g"))
    console.print(table)
    if status.fits is not None:
        fits = _table(f"Curves fitted for batch {status.fitted_at} ({status.fits.family})",
                      ["group", "points", "a", "b", "c", "asymptote", "residual"])
        for fit in status.fits:
            curve = fit.curve
            fits.add_row(fit.group, f"{fit.n_points} @ {fit.n_sizes} sizes", f"{curve.a:.4g}",
                         f"{curve.b:.4g}", f"{curve.c:.4g}", f"{fit.asymptote:.4g}",
                         f"{fit.residual_error:.3g}")
        console.print(fits)
    _print_warnings(status.warnings)
    if plot is not None:
        console.print(f"wrote {plot}")


def _load(db: Path):
    """Open the study, printing a version warning as one line on stderr."""
    import warnings

    from allocate.study import Study

    if db.is_dir():
        raise InputError(f"--db {str(db)!r} is a folder, not a study database; give the file"
                         " made by `fairalloc study init`")
    if not db.exists():
        raise InputError(f"study database {str(db)!r} does not exist; create it with"
                         f" `fairalloc study init STUDY.toml --db {db}`")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = Study.load(db)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    return study


def _hints(db: Path) -> contextlib.AbstractContextManager[None]:
    """The study's refusals with the command line's way out (see ``said_with_flags``)."""
    return said_with_flags({
        "restore it (Study.study_text holds the original), or create a new study from the"
        " changed file": f"restore it (`fairalloc study export --db {db} -o DIR` writes the"
        " original as DIR/study.toml), or start a new study from the changed file with"
        " `fairalloc study init` and a new --db",
    })


def _print_warnings(warnings: tuple[str, ...] | list[str]) -> None:
    """Each curve-fit warning as a line under the table, where a person reads the result."""
    for warning in warnings:
        typer.echo(f"warning: {warning}")


def _fmt(value: float | None, spec: str = ".6g") -> str:
    return "" if value is None else format(value, spec)


def _table(title: str, columns: list[str]):
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column == "group" else "right")
    return table


def _console():
    from rich.console import Console

    return Console()
