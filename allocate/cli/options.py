"""The option types and choices several commands share, and library errors in their words."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Annotated, get_args

import typer

from allocate.curves import FAMILIES, Sense
from allocate.errors import FairallocError


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An enumeration of an option's valid values, for typer to list and check: one member per
    value, named as the value with ``-`` as ``_`` (``power-offset`` is ``power_offset``)."""
    return StrEnum(name, {value.replace("-", "_"): value for value in values})


FamilyChoice = choices("FamilyChoice", FAMILIES)
SenseChoice = choices("SenseChoice", get_args(Sense))
#: Clumping's LD measure in the reference panel (``ld`` of :class:`simulate.prs.ScoreTrainer`).
LdChoice = choices("LdChoice", ("dosage", "haplotype"))
#: What ``--ld`` means, for every command that trains scores (each adds where it applies).
LD_HELP = (
    "The r^2 clumping measures in the LD reference panel. dosage (the default): the r^2 of "
    "unphased genotype dosages, what a real study without phase measures, and what every "
    "published benchmark figure used. haplotype: the true-phase haplotype r^2 a simulation "
    "knows from its trees (the original research pipeline's choice)."
)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of a table.")
]
ModelOption = Annotated[
    str,
    typer.Option(
        help="logistic, ridge, random-forest, hist-gradient-boosting, or module:factory (a "
        "function returning a scikit-learn estimator). Default: logistic for a class "
        "target, ridge for a continuous one."
    ),
]
MetricOption = Annotated[
    str,
    typer.Option(
        help="A scikit-learn scorer name (roc_auc, accuracy, neg_log_loss, r2, ...). "
        "Default: roc_auc for two classes, accuracy for more, r2 for a continuous target."
    ),
]


def with_flags(message: str, flags: Mapping[str, str]) -> str:
    """``message`` with each phrase that names a library parameter (a key of ``flags``)
    replaced by the same phrase naming the option that sets it here."""
    for parameter, flag in flags.items():
        message = message.replace(parameter, flag)
    return message


@contextlib.contextmanager
def said_with_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a library error from inside in the command's words (see :func:`with_flags`).

    The library names its parameters (``budgets``, ``out``), so that a notebook user can act
    on its messages; a command maps the phrases it can meet, ``{"raise budgets": "raise
    --budgets"}``, so that its one-line error says how to fix the call with its options.
    Use it around the library call, or as a decorator of the whole command.
    """
    try:
        yield
    except FairallocError as error:
        raise type(error)(with_flags(str(error), flags)) from None
