"""Learning-curve measurements: reading and validating the points table.

A points table has one row per measurement: ``group``, ``n`` (own-group training size),
``value`` (the metric on held-out data) and optionally ``n_total`` (pooled training size) and
``seed``. Several rows at one size are replicates.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from allocate.errors import InputError

__all__ = ["read_points", "validate_points", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

REQUIRED_COLUMNS: tuple[str, ...] = ("group", "n", "value")
OPTIONAL_COLUMNS: tuple[str, ...] = ("n_total", "seed")


def read_points(path: str | Path) -> pd.DataFrame:
    """Read a points CSV file and validate it with :func:`validate_points`.

    Raises
    ------
    InputError
        When the file is missing, is not CSV, or fails validation.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"points file {str(path)!r} is a folder; give the CSV file inside it")
    if path.exists() and not path.is_file():
        raise InputError(f"points file {str(path)!r} is not a regular file; give a CSV file")
    if not path.is_file():
        raise InputError(f"points file {str(path)!r} does not exist")
    try:
        _check_header(path)
        frame = pd.read_csv(path, dtype={"group": str}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "empty file"
        raise InputError(f"cannot read {str(path)!r} as CSV: {first_line}") from None
    except OSError as error:
        raise InputError(f"cannot read {str(path)!r}: {error.strerror or error}") from None
    return validate_points(frame, source=str(path))


def _check_header(path: Path) -> None:
    """Refuse a header that names a column twice (pandas would rename the copy ``n.1``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    _check_unique([name.strip() for name in header], str(path))


def _check_unique(columns: list[str], source: str) -> None:
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise InputError(
            f"{source}: the header names column(s) {', '.join(map(repr, repeated))} more than "
            "once; keep one column of each name"
        )


def validate_points(points: pd.DataFrame, *, source: str = "points") -> pd.DataFrame:
    """Check a points table and return a clean copy with numeric columns as floats.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``group``, ``n``, ``value`` and optionally ``n_total`` and ``seed``.
    source : str
        Name used in error messages (a file path, or "points").

    Returns
    -------
    pandas.DataFrame
        The table with ``group`` as str, ``n``, ``value`` and ``n_total`` as float (``n_total``
        is filled with ``n`` where absent), rows in their original order.

    Raises
    ------
    InputError
        Missing or repeated column, text where a number belongs, ``n <= 0``, a size that is
        not a whole number, ``n_total < n``, NaN or infinite values, or an empty table.
    """
    if not isinstance(points, pd.DataFrame):
        raise InputError(f"{source}: expected a pandas DataFrame; got {type(points).__name__}")
    columns = [str(c).strip() for c in points.columns]
    _check_unique(columns, source)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"a points table needs columns {', '.join(REQUIRED_COLUMNS)} "
            f"(and optionally {', '.join(OPTIONAL_COLUMNS)})"
        )
    frame = points.copy()
    frame.columns = columns
    if frame.empty:
        raise InputError(f"{source}: the table has no rows")
    if frame["group"].isna().any():
        row = int(np.flatnonzero(frame["group"].isna().to_numpy())[0])
        raise InputError(f"{source}: row {row + 1} has no group name")
    frame["group"] = frame["group"].astype(str).str.strip()
    if "n_total" not in frame.columns:
        frame["n_total"] = frame["n"]
    for column in ("n", "value", "n_total"):
        frame[column] = _numeric_column(frame[column], column, source)
    if (frame["n"] <= 0).any():
        row = int(np.flatnonzero((frame["n"] <= 0).to_numpy())[0])
        raise InputError(
            f"{source}: row {row + 1} has n = {frame['n'].iloc[row]:g}; "
            "training sizes must be positive"
        )
    for column in ("n", "n_total"):
        fractional = frame[column] != np.round(frame[column])
        if fractional.any():
            row = int(np.flatnonzero(fractional.to_numpy())[0])
            raise InputError(
                f"{source}: row {row + 1} has {column} = {frame[column].iloc[row]:g}; "
                "training sizes count samples, so they must be whole numbers"
            )
    if (frame["n_total"] < frame["n"]).any():
        row = int(np.flatnonzero((frame["n_total"] < frame["n"]).to_numpy())[0])
        raise InputError(
            f"{source}: row {row + 1} has n_total < n; the pooled size includes the group's own"
        )
    return frame.reset_index(drop=True)


def _numeric_column(values: pd.Series, column: str, source: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    text = numbers.isna() & values.notna()
    if text.any():
        row = int(np.flatnonzero(text.to_numpy())[0])
        raise InputError(
            f"{source}: row {row + 1}, column {column}: {values.iloc[row]!r} is not a number"
        )
    bad = ~np.isfinite(numbers.to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{source}: row {row + 1}, column {column} is {values.iloc[row]}; "
            "values must be finite numbers"
        )
    return numbers.astype(float)
