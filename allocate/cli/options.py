"""The option types and choices several commands share."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, get_args

import typer

from allocate.curves import FAMILIES, Sense


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An enumeration of an option's valid values, for typer to list and check: one member per
    value, named as the value with ``-`` as ``_`` (``power-offset`` is ``power_offset``)."""
    return StrEnum(name, {value.replace("-", "_"): value for value in values})


FamilyChoice = choices("FamilyChoice", FAMILIES)
SenseChoice = choices("SenseChoice", get_args(Sense))

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of a table.")
]
