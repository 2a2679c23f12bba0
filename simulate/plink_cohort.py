"""A real genotype cohort for polygenic-score training: PLINK 1 files, a phenotype and groups.

:func:`read_plink_cohort` reads a ``.bed/.bim/.fam`` cohort (bed-reader), a phenotype (the
``.fam``'s sixth column or a separate file) and a group label per individual, and returns a
:class:`PlinkCohort` that :class:`simulate.prs.ScoreTrainer`, :class:`simulate.prs.CohortSplit`
and :class:`simulate.training_data.TrainingData` accept in place of a simulated
:class:`simulate.cohort.Cohort`: the same association scan, clumping and threshold choice run on
it unchanged. Its :attr:`PlinkCohort.trait` stands in for a simulated
:class:`simulate.phenotype.Phenotype`.

The cohort holds the individuals with both a group label and a phenotype (in ``.fam`` order),
and the variants with no missing genotype call among them: the scan's sufficient statistics
need every dosage, so missing calls are not guessed (impute them first to keep the variants).
What was left out is listed in :attr:`PlinkCohort.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocate import InputError
from simulate.cohort import DEFAULT_MAX_DECODED_BYTES
from simulate.cohort_data import GroupedIndividuals

__all__ = ["PlinkCohort", "ObservedTrait", "read_plink_cohort", "read_id_table"]

#: Values read as a missing phenotype (PLINK's -9, and text a table uses for "no value").
_MISSING = {"-9", "na", "nan", "", "."}
#: bed-reader's int8 code of a missing genotype call.
_MISSING_CALL = -127
#: Phenotypes are put on a grid of 2^-30, as simulated ones are, so that the scan's sums over
#: training samples are exact whatever the order they are added in (nested prefixes).
_GRID = 2.0**30
_CHECK_BYTES = 64 * 1024**2  # genotypes decoded at a time while looking for missing calls


@dataclass(frozen=True)
class ObservedTrait:
    """A measured phenotype, in the shape :class:`simulate.prs.ScoreTrainer` reads.

    Attributes
    ----------
    values : numpy.ndarray
        One value per cohort individual: 1 (case) / 0 (control) for a binary trait, the
        measurement for a quantitative one.
    prevalence : float or None
        The share of cases for a binary trait; ``None`` for a quantitative one.
    """

    values: np.ndarray
    prevalence: float | None

    @property
    def binary(self) -> bool:
        return self.prevalence is not None

    def heritability(self, group: str) -> float:
        """Unknown for a measured trait (LDpred-inf asks for it when not given one)."""
        raise InputError("a measured trait's heritability is unknown; give ScoreTrainer's h2 "
                         "(trainer_options={'h2': ...}) to train LDpred-inf scores")


@dataclass(frozen=True)
class CohortFilters:
    """The variant filters a score's training applies (``maf``: minor-allele frequency floor
    in the training samples), where a simulated cohort keeps its parameters."""

    maf: float


@dataclass(frozen=True, eq=False)
class PlinkCohort(GroupedIndividuals):
    """Individuals and variants of a PLINK 1 cohort kept for training (see the module).

    Attributes
    ----------
    prefix : Path
        The files ``<prefix>.bed/.bim/.fam``.
    fid, iid : numpy.ndarray of str
        Family and individual identifiers of the kept individuals.
    group : numpy.ndarray of str
        Each kept individual's group.
    groups : tuple of str
        The groups, in order of first appearance in the ``.fam``.
    variants : pandas.DataFrame
        One row per kept variant: ``chromosome`` (an integer code, in ``.bim`` order),
        ``chromosome_name``, ``position`` and ``sid`` (the ``.bim`` identifier).
    trait : ObservedTrait
        The phenotype of the kept individuals.
    parameters : CohortFilters
        The training's variant filters.
    notes : tuple of str
        What was left out of the files, and why.
    """

    #: Read from its own files: no decoded matrix, no genotype store of the simulation's cache
    #: (what :class:`simulate.training_data.TrainingData` asks a cohort for).
    genotypes = None
    store = None

    prefix: Path
    fid: np.ndarray
    iid: np.ndarray
    group: np.ndarray
    groups: tuple[str, ...]
    variants: pd.DataFrame
    trait: ObservedTrait
    parameters: CohortFilters
    notes: tuple[str, ...]
    _store: object
    _rows: np.ndarray  # .fam row of each kept individual
    _columns: np.ndarray  # .bim row of each kept variant
    _held: np.ndarray | None = None  # kept individuals x every .bim variant, when in memory

    def dosages(self, individuals=None, variants=None) -> np.ndarray:
        """Dosages of the A1 allele (0, 1, 2) as int8, individuals x variants (cohort indices)."""
        rows = np.arange(self.num_individuals) if individuals is None else \
            np.asarray(individuals, dtype=np.intp)  # fmt: skip
        cols = self._columns if variants is None else self._columns[np.asarray(variants)]
        if self._held is not None:
            return self._held[np.ix_(rows, cols)]
        return self._store.read(self._rows[rows], cols)

    def haplotypes(self, individuals, variants) -> np.ndarray:
        """Not held: PLINK 1 genotypes are unphased (``ld="haplotype"`` needs phase)."""
        raise InputError("a PLINK cohort's genotypes are unphased; clump with ld='dosage'")

    def summary(self) -> str:
        counts = ", ".join(f"{g} {int((self.group == g).sum())}" for g in self.groups)
        kind = "binary" if self.trait.binary else "quantitative"
        lines = [f"PLINK cohort {self.prefix}: {counts} individuals, {self.num_variants} "
                 f"variants, a {kind} trait"]  # fmt: skip
        return "\n".join(lines + [f"  {note}" for note in self.notes])


def read_plink_cohort(
    prefix: str | Path,
    *,
    groups: str | Path,
    group_column: str = "group",
    phenotype: str | Path | None = None,
    phenotype_column: str | None = None,
    binary: bool | None = None,
    maf: float = 0.01,
    max_memory_bytes: int = DEFAULT_MAX_DECODED_BYTES,
) -> PlinkCohort:
    """Read a PLINK 1 cohort, its phenotype and each individual's group.

    Parameters
    ----------
    prefix : path
        The cohort's files are ``<prefix>.bed``, ``.bim`` and ``.fam`` (SNP-major).
    groups : path
        A table with a header naming ``IID`` (and optionally ``FID``) and ``group_column``:
        whitespace-separated like PLINK's own files, or comma-separated when it ends in ``.csv``.
        Individuals of the ``.fam`` it does not name are left out.
    group_column : str
        The column of ``groups`` holding each individual's group.
    phenotype : path, optional
        A table like ``groups`` holding the phenotype; by default the ``.fam``'s sixth column.
    phenotype_column : str, optional
        The phenotype's column in ``phenotype``; may be left out when it has a single column
        besides the identifiers.
    binary : bool, optional
        Whether the trait is case/control. By default it is when every value present is 1
        (control) or 2 (case), PLINK's coding (0 and -9 then mean missing); a quantitative
        trait counts -9 (or ``NA``) as missing.
    maf : float
        The minor-allele frequency floor of the variants a score may use.
    max_memory_bytes : int
        The kept individuals' genotypes are held in memory (one byte each) when they fit in
        this; otherwise every read goes to the ``.bed`` file (the same genotypes, slower).

    Returns
    -------
    PlinkCohort

    Raises
    ------
    InputError
        Missing or unreadable files, a table without its columns, duplicate or unmatched
        identifiers, a phenotype that is not a number, or no variant without missing calls.
    """
    from simulate.store import GenotypeStore, plink_files

    if not 0 <= maf < 0.5:
        raise InputError(f"maf must lie in [0, 0.5); got {maf}")
    if phenotype is None and phenotype_column is not None:
        raise InputError("phenotype_column names a column of a phenotype file; give phenotype "
                         "too (the .fam's phenotype has no column name)")  # fmt: skip
    bed_path, bim_path, fam_path = plink_files(prefix)
    for path in (bed_path, bim_path, fam_path):
        if not path.is_file():
            raise InputError(f"no file {path}: prefix must name a PLINK 1 .bed/.bim/.fam set")
    fam = _read_fam(fam_path)
    bim = _read_bim(bim_path)
    try:
        store = GenotypeStore(prefix, len(fam), len(bim))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {bed_path} as PLINK 1 genotypes of the {len(fam)} "
                         f".fam individuals and {len(bim)} .bim variants: {error}") from None
    labels = _matched_column(fam, read_id_table(groups, what="groups"), group_column,
                             what="groups")  # fmt: skip
    values, is_binary = _read_trait(fam, phenotype, phenotype_column, binary)
    kept = np.flatnonzero(~pd.isna(labels) & ~np.isnan(values))
    notes = _left_out_notes(labels, values)
    if kept.size == 0:
        raise InputError("no individual of the .fam has both a group label and a phenotype")
    columns, missing_note, held = _complete_variants(store, kept, len(bim), max_memory_bytes)
    notes += missing_note
    group = np.array([str(labels[i]).strip() for i in kept], dtype=object)
    trait_values = values[kept]
    prevalence = float(trait_values.mean()) if is_binary else None
    return PlinkCohort(
        prefix=Path(prefix), fid=fam["fid"].to_numpy()[kept], iid=fam["iid"].to_numpy()[kept],
        group=group, groups=tuple(dict.fromkeys(group)), variants=bim.iloc[columns]
        .reset_index(drop=True), trait=ObservedTrait(trait_values, prevalence),
        parameters=CohortFilters(float(maf)), notes=notes, _store=store, _rows=kept,
        _columns=columns, _held=held,
    )  # fmt: skip


def _read_trait(fam: pd.DataFrame, phenotype, column: str | None, binary: bool | None):
    """Each ``.fam`` individual's phenotype (NaN where missing), and whether it is binary."""
    if phenotype is None:
        raw = fam["pheno"].to_numpy(dtype=object)
    else:
        table = read_id_table(phenotype, what="phenotype")
        raw = _matched_column(fam, table, _phenotype_column(table, column), what="phenotype")
    values, is_binary = _parse_trait(raw, binary)
    if np.isnan(values).all():
        where = "the .fam's sixth column" if phenotype is None else "the phenotype file"
        raise InputError(f"{where} holds no phenotype (every value is missing: -9, 0 or NA); "
                         "give phenotype, a file with the trait")  # fmt: skip
    return values, is_binary


def read_id_table(path: str | Path, *, what: str) -> pd.DataFrame:
    """A table of individuals with a header: ``IID``, optionally ``FID`` (``#FID`` as plink2
    writes it), and other columns, all as text. Comma-separated when ``path`` ends in ``.csv``,
    whitespace-separated otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no {what} file {path}")
    separator = "," if path.suffix.lower() == ".csv" else r"\s+"
    try:
        table = pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {what} file {path}: {_first_line(error)}") from None
    table.columns = [str(c).strip().lstrip("#") for c in table.columns]
    if "IID" not in table.columns:
        raise InputError(
            f"{what} file {path} has no IID column; its header must name IID (and optionally "
            f"FID) and the other columns; it has {', '.join(map(str, table.columns))}"
        )
    return table


def _read_fam(path: Path) -> pd.DataFrame:
    names = ["fid", "iid", "father", "mother", "sex", "pheno"]
    table = _read_plink_text(path, names)
    if table[["fid", "iid"]].duplicated().any():
        first = table.loc[table[["fid", "iid"]].duplicated(), "iid"].iloc[0]
        raise InputError(f"{path} names individual {first!r} twice (same FID and IID)")
    return table


def _read_bim(path: Path) -> pd.DataFrame:
    table = _read_plink_text(path, ["chromosome_name", "sid", "cm", "position", "a1", "a2"])
    try:
        position = table["position"].astype(np.int64)
    except ValueError:
        raise InputError(f"{path}: the fourth column (base-pair position) must hold integers"
                         ) from None  # fmt: skip
    code, _ = pd.factorize(table["chromosome_name"])
    return pd.DataFrame({"chromosome": code.astype(np.int64) + 1,
                         "chromosome_name": table["chromosome_name"], "position": position,
                         "sid": table["sid"]})  # fmt: skip


def _read_plink_text(path: Path, names: list[str]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"cannot read {path}: {_first_line(error)}") from None
    if table.shape[1] != len(names):
        raise InputError(f"{path} has {table.shape[1]} columns; a PLINK 1 {path.suffix} file "
                         f"has {len(names)}")  # fmt: skip
    table.columns = names
    return table


def _matched_column(fam: pd.DataFrame, table: pd.DataFrame, column: str, *, what: str):
    """``column`` of ``table`` for each ``.fam`` individual (None where it names none), matched
    on FID and IID when the table has an FID column, else on IID."""
    if column not in table.columns:
        raise InputError(f"the {what} file has no column {column!r}; it has "
                         f"{', '.join(table.columns)}")  # fmt: skip
    keys = ["FID", "IID"] if "FID" in table.columns else ["IID"]
    fam_keys = ["fid", "iid"] if len(keys) == 2 else ["iid"]
    if len(keys) == 1 and fam["iid"].duplicated().any():
        raise InputError(f"the .fam repeats IIDs across families, so the {what} file must "
                         "name FID as well as IID")  # fmt: skip
    twice = table.duplicated(keys)
    if twice.any():
        raise InputError(f"the {what} file names individual {table.loc[twice, 'IID'].iloc[0]!r} "
                         "more than once")  # fmt: skip
    index = pd.MultiIndex.from_frame(table[keys])
    wanted = pd.MultiIndex.from_frame(fam[fam_keys].set_axis(keys, axis=1))
    position = index.get_indexer(wanted)
    if (position < 0).all():
        raise InputError(f"no individual of the {what} file is in the .fam (matched on "
                         f"{' and '.join(keys)})")  # fmt: skip
    values = table[column].to_numpy(dtype=object)
    out = np.array([values[p] if p >= 0 else None for p in position], dtype=object)
    out[np.array([v is not None and str(v).strip().lower() in _MISSING for v in out])] = None
    return out


def _phenotype_column(table: pd.DataFrame, column: str | None) -> str:
    if column is not None:
        return column
    others = [c for c in table.columns if c not in ("FID", "IID")]
    if len(others) != 1:
        raise InputError(f"the phenotype file has columns {', '.join(others) or 'none'} besides "
                         "FID and IID; give phenotype_column to say which is the trait")
    return others[0]


def _parse_trait(raw: np.ndarray, binary: bool | None) -> tuple[np.ndarray, bool]:
    """Values (NaN where missing; cases 1 and controls 0 for a binary trait), and whether the
    trait is binary."""
    text = np.array(["" if v is None else str(v).strip() for v in raw], dtype=object)
    missing = np.array([t.lower() in _MISSING for t in text])
    present = text[~missing]
    if binary is None:
        binary = present.size > 0 and bool(np.isin(present, ["0", "1", "2"]).all())
    values = np.full(text.size, np.nan)
    if binary:
        if not np.isin(present, ["0", "1", "2"]).all():
            bad = present[~np.isin(present, ["0", "1", "2"])][0]
            raise InputError(f"a binary phenotype is coded 1 (control) and 2 (case), 0 or -9 "
                             f"for missing; found {bad!r}")  # fmt: skip
        coded = np.where(missing, "0", text)
        values[coded == "1"], values[coded == "2"] = 0.0, 1.0
        return values, True
    try:
        values[~missing] = present.astype(float)
    except ValueError:
        bad = next(t for t in present if not _is_number(t))
        raise InputError(f"the phenotype must be a number; found {bad!r}") from None
    values[~np.isfinite(values)] = np.nan
    return np.round(values * _GRID) / _GRID, False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _left_out_notes(labels: np.ndarray, values: np.ndarray) -> tuple[str, ...]:
    notes = []
    no_group = int(pd.isna(labels).sum())
    no_value = int((np.isnan(values) & ~pd.isna(labels)).sum())
    if no_group:
        notes.append(f"{no_group} individual(s) of the .fam have no group label: left out")
    if no_value:
        notes.append(f"{no_value} individual(s) with a group have no phenotype: left out")
    return tuple(notes)


def _complete_variants(store, rows: np.ndarray, variants: int, max_bytes: int):
    """Variant columns with no missing call among ``rows``, a note of those left out, and the
    ``rows`` x every variant genotypes when they fit in ``max_bytes`` (else None)."""
    everything = np.arange(variants)
    held = store.read(rows, everything) if rows.size * variants <= max_bytes else None
    chunk = int(np.clip(_CHECK_BYTES // max(rows.size, 1), 1, 8192))
    complete = np.ones(variants, dtype=bool)
    for start in range(0, variants, chunk):
        columns = slice(start, start + chunk)
        block = store.read(rows, everything[columns]) if held is None else held[:, columns]
        complete[columns] = ~(block == _MISSING_CALL).any(axis=0)
    kept = np.flatnonzero(complete)
    if kept.size == 0:
        raise InputError("every variant has a missing genotype call in the kept individuals; "
                         "impute the genotypes first")  # fmt: skip
    dropped = variants - kept.size
    note = (f"{dropped} variant(s) with a missing genotype call: left out (impute to keep "
            "them)",) if dropped else ()  # fmt: skip
    return kept, note, held


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


