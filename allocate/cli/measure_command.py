"""``fairalloc measure``: per-group learning-curve points from a table and a scikit-learn model."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from allocate.cli import app
from allocate.cli.options import LD_HELP, LdChoice, MetricOption, ModelOption, with_flags
from allocate.errors import InputError


class TrainingChoice(StrEnum):
    own = "own"
    pooled = "pooled"


def _split_options(unit: str, trained: str, redrawn: str):
    """The ``--training``, ``--test-size`` and ``--replicates`` option types of a measurement
    whose samples are ``unit`` (rows, people), each trained into a ``trained`` (model, score),
    a replicate drawing a new split, order and ``redrawn``."""
    training = Annotated[
        TrainingChoice,
        typer.Option(help=f"own: each group's {trained} on its own {unit}; pooled: one "
                          f"{trained} on all."),
    ]  # fmt: skip
    test_size = Annotated[
        float,
        typer.Option(help=f"Held-out {unit} per group: a fraction in (0, 1) or a count >= 2."),
    ]
    replicates = Annotated[
        int, typer.Option(min=1, help=f"Independent repetitions (new split, order and {redrawn}).")
    ]
    return training, test_size, replicates


_RowsTraining, _RowsTestSize, _RowsReplicates = _split_options("rows", "model", "seed")
_PeopleTraining, _PeopleTestSize, _PeopleReplicates = _split_options("people", "score", "panel")
_SeedOption = Annotated[int, typer.Option(help="Seed of every random choice.")]
_PointsOutput = Annotated[
    Path, typer.Option("-o", "--output", help="Points CSV to write, read by `fairalloc fit`.")
]


@app.command("measure")
def measure_command(
    data: Annotated[Path, typer.Argument(help="The table: CSV, TSV or Parquet, one row each.")],
    target: Annotated[str, typer.Option(help="Column the model predicts.")],
    group: Annotated[str, typer.Option(help="Column holding each row's group label.")],
    output: _PointsOutput,
    features: Annotated[
        list[str] | None,
        typer.Option(help="Feature columns, comma-separated or repeated (default: all others)."),
    ] = None,
    model: ModelOption = "",
    metric: MetricOption = "",
    sizes: Annotated[
        list[str] | None,
        typer.Option(help="Nested training sizes per group, e.g. 25,50,100,200."),
    ] = None,
    fractions: Annotated[
        list[str] | None,
        typer.Option(
            help="Instead of --sizes: fractions of each group's training rows "
            "(default 0.0625,0.125,0.25,0.5,1)."
        ),
    ] = None,
    training: _RowsTraining = TrainingChoice.own,
    test_size: _RowsTestSize = 0.25,
    replicates: _RowsReplicates = 3,
    seed: _SeedOption = 0,
    jobs: Annotated[
        int, typer.Option(help="Training runs in parallel (joblib; -1 uses every core).")
    ] = 1,
) -> None:
    """Measure each group's learning curve on DATA and write the points `fairalloc fit` reads.

    Each group's held-out rows are scored by models trained on nested subsamples of its other
    rows (or of every group's rows, with --training pooled), repeated --replicates times.
    """
    from allocate.measure import measure_curves
    from allocate.measure_models import read_model_data

    size_list, fraction_list, held_out = _design(output, sizes, fractions, test_size)
    try:
        table = read_model_data(data, target=target, group=group, model=model, scoring=metric,
                                features=_names(features) if features else None)
    except InputError as error:
        raise InputError(with_flags(str(error), _FLAGS)) from None

    started = time.perf_counter()
    try:
        with _progress_bar() as advance:
            measured = measure_curves(
                table.X, table.y.to_numpy(), table.labels.to_numpy(),
                estimator=table.estimator, scoring=table.scoring,
                sizes=size_list, fractions=fraction_list, training=training.value,
                test_size=held_out, replicates=replicates, seed=seed, n_jobs=jobs,
                progress=advance,
            )  # fmt: skip
    except InputError as error:
        raise InputError(with_flags(str(error), _FLAGS)) from None
    elapsed = time.perf_counter() - started
    _write_points(measured, output)
    _report(measured, output, table.model, elapsed)


class TraitChoice(StrEnum):
    auto = "auto"
    binary = "binary"
    quantitative = "quantitative"


@app.command("measure-plink")
def measure_plink_command(
    prefix: Annotated[
        Path, typer.Argument(help="The cohort's PLINK 1 files: PREFIX.bed, PREFIX.bim, PREFIX.fam.")
    ],
    groups: Annotated[
        Path,
        typer.Option(help="Table of each individual's group: a header naming IID (and "
                          "optionally FID) and --group-column; whitespace- or comma- (.csv) "
                          "separated. Individuals it does not name are left out."),
    ],
    output: _PointsOutput,
    group_column: Annotated[str, typer.Option(help="Column of --groups holding the group.")] = (
        "group"
    ),
    pheno: Annotated[
        Path | None,
        typer.Option(help="Phenotype table (header IID, optionally FID, and the trait's "
                          "column). Default: the .fam's sixth column."),
    ] = None,
    pheno_column: Annotated[
        str, typer.Option(help="The trait's column in --pheno (needed when it has several).")
    ] = "",
    trait: Annotated[
        TraitChoice,
        typer.Option(help="auto: case/control when every value is PLINK's 1 (control) or 2 "
                          "(case), 0 and -9 missing; otherwise quantitative (-9 missing)."),
    ] = TraitChoice.auto,
    metric: Annotated[
        str,
        typer.Option(help="r2 or auc (binary traits). Default: auc for a binary trait, r2 "
                          "otherwise."),
    ] = "",
    sizes: Annotated[
        list[str] | None,
        typer.Option(help="Nested training sizes per group, at least 10 (half cases for a "
                          "binary trait), e.g. 50,100,200,400."),
    ] = None,
    fractions: Annotated[
        list[str] | None,
        typer.Option(help="Instead of --sizes: fractions of each group's largest training set "
                          "(default 0.0625,0.125,0.25,0.5,1)."),
    ] = None,
    training: _PeopleTraining = TrainingChoice.own,
    test_size: _PeopleTestSize = 0.25,
    replicates: _PeopleReplicates = 3,
    seed: _SeedOption = 0,
    reference: Annotated[
        int,
        typer.Option(help="People per group in the LD reference panel for clumping, drawn from "
                          "the group's training people (never its test people)."),
    ] = 200,
    maf: Annotated[
        float, typer.Option(help="Minor-allele frequency floor of the variants a score uses.")
    ] = 0.01,
    ld: Annotated[
        LdChoice,
        typer.Option(help=f"{LD_HELP} PLINK 1 genotypes are unphased, so here only dosage "
                          "applies."),
    ] = LdChoice.dosage,
) -> None:
    """Measure each group's polygenic-score learning curve on a PLINK cohort; write the points.

    The project's own score (association scan, clumping, p-value threshold chosen on
    validation people) is trained on nested subsamples of each group's people (or of every
    group's, with --training pooled) and scored on the group's held-out people, repeated
    --replicates times.
    """
    size_list, fraction_list, held_out = _design(output, sizes, fractions, test_size)
    if ld == LdChoice.haplotype:  # before the files are read: they cannot hold phase
        raise InputError("--ld haplotype needs true phase, and PLINK 1 genotypes are unphased; "
                         "clump with --ld dosage (the default)")
    from simulate import measure_score_curves, read_plink_cohort  # only for this command

    started = time.perf_counter()
    try:
        with _progress_bar("scores trained") as advance:
            cohort = read_plink_cohort(
                prefix, groups=groups, group_column=group_column, phenotype=pheno,
                phenotype_column=pheno_column or None,
                binary=None if trait == TraitChoice.auto else trait == TraitChoice.binary,
                maf=maf,
            )  # fmt: skip
            measured = measure_score_curves(
                cohort, metric=metric or None, sizes=size_list, fractions=fraction_list,
                training=training.value, test_size=held_out, replicates=replicates, seed=seed,
                reference=reference, trainer_options={"ld": ld.value}, progress=advance,
            )  # fmt: skip
    except InputError as error:
        raise InputError(with_flags(str(error), _PLINK_FLAGS)) from None
    elapsed = time.perf_counter() - started
    _write_points(measured, output)
    _report(measured, output, "polygenic score", elapsed, people="people")


#: The library's parameter names in its messages -> this command's options.
_FLAGS = {
    "training='pooled'": "--training pooled",
    "a smaller test_size": "a smaller --test-size",
    "ask for smaller sizes": "ask for smaller --sizes",
    "use larger fractions or explicit sizes": "use larger --fractions or --sizes",
    "give sizes, or fractions": "give --sizes, or --fractions",
    "leave them out of features, or give model as module:factory":
        "leave them out with --features, or pass --model module:factory",
}


#: The same for ``measure-plink``.
_PLINK_FLAGS = {
    **_FLAGS,
    "give phenotype_column": "give --pheno-column",
    "give phenotype, a file": "give --pheno, a file",
    "phenotype_column names a column of a phenotype file; give phenotype too":
        "--pheno-column names a column of a --pheno file; give --pheno too",
    "reference must": "--reference must",
    "maf must": "--maf must",
    "use metric 'r2'": "use --metric r2",
    "a larger test_size": "a larger --test-size",
    "test_size must": "--test-size must",
    "prefix must name": "PREFIX must name",
}


def _design(output: Path, sizes: list[str] | None, fractions: list[str] | None,
            test_size: float) -> tuple[list[int] | None, list[float] | None, float | int]:
    """The checked ``--sizes`` or ``--fractions``, and ``--test-size`` as a count when it is
    a whole number >= 1 (a fraction otherwise); before anything is read."""
    if output.suffix.lower() != ".csv":
        raise InputError(f"--output must end in .csv (the points table); got {str(output)!r}")
    if sizes and fractions:
        raise InputError("give --sizes or --fractions, not both")
    size_list = _numbers(sizes, int, "--sizes") if sizes else None
    fraction_list = _numbers(fractions, float, "--fractions") if fractions else None
    held_out = int(test_size) if test_size >= 1 and test_size == int(test_size) else test_size
    return size_list, fraction_list, held_out


def _write_points(measured, output: Path) -> None:
    from allocate.files import atomic_path

    with atomic_path(output) as temporary:
        measured.points.to_csv(temporary, index=False)


def _numbers(values: list[str], kind, option: str) -> list:
    out = []
    for part in ",".join(values).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            number = float(part)
        except ValueError:
            raise InputError(f"{option}: {part!r} is not a number") from None
        if kind is int and number != int(number):
            raise InputError(f"{option}: sizes are whole numbers; got {part!r}")
        out.append(kind(number))
    if not out:
        raise InputError(f"{option} lists no number")
    return out


def _names(values: list[str]) -> list[str]:
    return [name.strip() for name in ",".join(values).split(",") if name.strip()]


class _progress_bar:
    """A rich progress bar on stderr, advanced by a measurement's progress callback."""

    def __init__(self, label: str = "training runs") -> None:
        self._label = label

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            self._label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self._progress.__enter__()
        self._task = None
        return self._advance

    def _advance(self, done: int, total: int) -> None:
        if self._task is None:
            self._task = self._progress.add_task("measure", total=total)
        self._progress.update(self._task, completed=done)

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)


def _report(measured, output: Path, model: str, elapsed: float, people: str = "rows") -> None:
    from rich.console import Console
    from rich.table import Table

    points = measured.points
    table = Table(title=f"{measured.metric} ({measured.sense}), {model}, "
                        f"{measured.training} training")
    columns = ("group", f"test {people}", f"training {people}", "sizes", "value at largest size")
    for column in columns:
        table.add_column(column, justify="left" if column == "group" else "right")
    for group, rows in points.groupby("group", sort=False):
        largest = rows[rows["n"] == rows["n"].max()]["value"]
        spread = f" +- {largest.std():.3g}" if len(largest) > 1 else ""
        table.add_row(
            str(group), str(measured.test_rows[group]), str(measured.pools[group]),
            ", ".join(str(int(n)) for n in sorted(rows["n"].unique())),
            f"{largest.mean():.4g}{spread}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    for warning in measured.warnings:
        console.print(f"[yellow]warning[/yellow]: {warning}")
    console.print(f"wrote {output}: {len(points)} points from {measured.training_runs} "
                  "training runs "
                  f"in {elapsed:.1f} s", soft_wrap=True)
    score = measured.sense == "score"
    sense = f" --sense score --score-max {measured.score_max:g}" if score else ""
    console.print(f"next: fairalloc fit {output}{sense} --bootstrap 200 --seed 1 -o curves.toml",
                  soft_wrap=True)
