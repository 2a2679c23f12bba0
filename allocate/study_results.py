"""A batch's results file: what was collected per group, and what was measured, in one CSV.

The table a person fills in after collecting a batch, for :meth:`allocate.study.Study.tell`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from allocate.errors import InputError
from allocate.study_checks import is_whole

__all__ = ["read_results"]


def read_results(path: str | Path) -> tuple[dict[str, int], pd.DataFrame]:
    """Read a batch's results file: what was collected per group and what was measured.

    The CSV has the columns of a points table (``group, n, value`` and optionally ``n_total``,
    ``seed``) plus ``collected``: the new samples collected for the group in this batch, the
    same on every row of a group. A group with no measurements has one row with ``n`` and
    ``value`` left empty.

    Returns
    -------
    collected : dict of str to int
        Per group, in the order groups first appear.
    measurements : pandas.DataFrame
        The rows with a measurement, validated as a points table.

    Raises
    ------
    InputError
        A missing or unreadable file, a missing column, a count that is empty, negative, not
        whole or different between a group's rows, a row with ``n`` but no ``value`` (or the
        reverse), or a bad measurement (rows are numbered from 1 after the header).
    """
    from allocate.points import validate_points

    path = Path(path)
    if path.is_dir():
        raise InputError(f"results file {str(path)!r} is a folder; give the CSV file")
    if not path.is_file():
        raise InputError(f"results file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, dtype={"group": str}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "empty file"
        raise InputError(f"cannot read {str(path)!r} as CSV: {first_line}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    source = str(path)
    missing = [c for c in ("group", "collected", "n", "value") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; a results file needs columns"
            " group, collected, n, value (and optionally n_total, seed)")
    if frame.empty:
        raise InputError(f"{source}: the table has no rows")
    collected: dict[str, int] = {}
    for row, (group, count) in enumerate(zip(frame["group"], frame["collected"], strict=True)):
        if pd.isna(group) or not str(group).strip():
            raise InputError(f"{source}: row {row + 1} has no group name")
        group = str(group).strip()
        number = pd.to_numeric(pd.Series([count]), errors="coerce").iloc[0]
        if pd.isna(number) or not is_whole(float(number)) or number < 0:
            raise InputError(
                f"{source}: row {row + 1}: collected = {count} for {group}; give the new"
                " samples collected in this batch as a whole number >= 0")
        if group in collected and collected[group] != int(number):
            raise InputError(
                f"{source}: row {row + 1}: collected for {group} is {int(number)} here but"
                f" {collected[group]} on an earlier row; give the batch's count on every row")
        collected[group] = int(number)
    has_n, has_value = frame["n"].notna().to_numpy(), frame["value"].notna().to_numpy()
    half = has_n != has_value
    if half.any():
        row = int(np.flatnonzero(half)[0])
        which = ("n", "value") if has_n[row] else ("value", "n")
        raise InputError(
            f"{source}: row {row + 1} has {which[0]} but no {which[1]}; fill both, or leave"
            " both empty for a group with no measurements")
    rows = np.flatnonzero(has_n)
    columns = [c for c in ("group", "n", "value", "n_total", "seed") if c in frame.columns]
    if not rows.size:
        return collected, pd.DataFrame(columns=columns)
    table = frame.iloc[rows][columns].reset_index(drop=True)
    try:
        return collected, validate_points(table, source=source)
    except InputError as error:  # number rows as in the file, not among measurement rows
        message = re.sub(r"\brow (\d+)", lambda m: f"row {rows[int(m.group(1)) - 1] + 1}",
                         str(error))
        raise InputError(message) from None
