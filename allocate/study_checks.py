"""The checks at a study's door: every proposal, count and measurement before it is recorded.

Both drivers of a study (:class:`allocate.study.Study` and :func:`allocate.sequential.
run_strategy`) pass through these, so a strategy's batch, what was collected and what was
measured are held to the same rules however the study is run. A bad proposal is a strategy bug
(``FairallocError``); bad counts or measurements are the caller's (``InputError``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocate.errors import FairallocError, InputError
from allocate.study_file import StudySpec

if TYPE_CHECKING:
    from allocate.strategies import Proposal, Strategy, StudyState
    from allocate.study_records import Batch

__all__ = [
    "MEASUREMENT_COLUMNS",
    "checked_collected",
    "checked_measurements",
    "checked_proposal",
    "checked_seed",
    "checked_strategy",
    "is_whole",
]

#: The columns a study keeps of every measurement, in this order.
MEASUREMENT_COLUMNS = ("group", "n", "n_total", "value", "seed")


def checked_seed(seed: Any) -> int:
    """``seed`` as an int, or a refusal naming the parameter."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0; got {seed!r}")
    return int(seed)


def checked_proposal(proposal: Proposal, state: StudyState) -> np.ndarray:
    """The proposal's counts as whole numbers >= 0 within the budget left and every pool.

    A strategy that breaks these has a bug; it is not the user's error, so this raises
    ``FairallocError`` rather than ``InputError``.
    """
    counts = np.asarray(proposal.counts)
    if counts.shape != (len(state.study.groups),) or (counts < 0).any() or not np.array_equal(
            counts, np.round(counts)):
        raise FairallocError(f"internal error: the strategy proposed counts {counts!r}")
    counts = counts.astype(np.int64)
    budget = float(state.study.budget)
    if state.costs @ counts > state.remaining + 1e-9 * max(1.0, budget):
        raise FairallocError(
            f"internal error: the strategy proposed {counts.tolist()}, costing"
            f" {float(state.costs @ counts):.6g} with {state.remaining:.6g} of the budget left")
    if np.any(state.totals + counts > state.pools):
        raise FairallocError(
            f"internal error: the strategy proposed {counts.tolist()}, beyond a group's pool")
    return counts


def checked_collected(collected: Any, batch: Batch, state: StudyState) -> np.ndarray:
    """The new samples collected per group (study order), checked against the open batch,
    the pools and the budget left."""
    spec = state.study
    if not isinstance(collected, Mapping):
        raise InputError(
            f"collected must map group names to counts; got {type(collected).__name__}")
    for name in collected:
        if name not in spec.names:
            raise InputError(f"collected: {_unknown_group(name, spec)}")
    missing = [name for name in spec.names if batch.counts[name] > 0 and name not in collected]
    if missing:
        raise InputError(
            f"collected: no count for {', '.join(missing)}, which batch {batch.number} asked"
            " for; give every group of the batch (0 if none were collected)")
    counts = np.zeros(len(spec.groups), dtype=np.int64)
    for index, name in enumerate(spec.names):
        value = collected.get(name, 0)
        if not is_whole(value) or value < 0:
            raise InputError(
                f"collected: {name} has {value!r}; counts must be whole numbers >= 0")
        counts[index] = int(value)
    totals = np.asarray(state.collected, dtype=np.int64) + np.array(
        [group.have for group in spec.groups]) + counts
    for group, total, count in zip(spec.groups, totals, counts, strict=True):
        if total > group.max:
            room = int(group.max - (total - count))
            raise InputError(
                f"collected: {group.name} would reach {int(total)} samples, above its pool"
                f" max = {group.max:g}; at most {room} more can be collected")
    costs = np.array([group.cost for group in spec.groups])
    cost = float(costs @ counts)
    spent = float(costs @ np.asarray(state.collected, dtype=float))
    left = float(spec.budget) - spent
    if cost > left + 1e-9 * max(1.0, float(spec.budget)):
        raise InputError(
            f"collected: this batch costs {cost:.6g} but only {left:.6g} of the budget"
            f" {float(spec.budget):.6g} is left; record what was really collected")
    return counts


def checked_measurements(measurements: Any, state: StudyState,
                         counts: np.ndarray) -> pd.DataFrame:
    """A validated measurement table (``MEASUREMENT_COLUMNS``) of samples in hand once
    ``counts`` more are collected; an empty table for None or an empty frame."""
    from allocate.points import validate_points

    columns = list(MEASUREMENT_COLUMNS)
    if measurements is None or (isinstance(measurements, pd.DataFrame) and measurements.empty):
        return pd.DataFrame({column: [] for column in columns})
    table = validate_points(measurements, source="measurements")
    spec = state.study
    known = set(spec.names)
    for name in table["group"].unique():
        if name not in known:
            raise InputError(f"measurements: {_unknown_group(name, spec)}")
    if "seed" in table.columns and table["seed"].dtype.kind == "i":  # whole already: the
        table["seed"] = table["seed"].astype("Int64")  # common case, and a fast one
    elif "seed" in table.columns:
        seeds = pd.to_numeric(table["seed"], errors="coerce")
        bad = (seeds.isna() & table["seed"].notna()) | (seeds.notna() & (
            (seeds % 1 != 0) | (seeds.abs() >= 2.0**63)))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"measurements: seed {table['seed'].iloc[row]} of a"
                             f" {table['group'].iloc[row]} measurement must be a whole number"
                             " below 2**63")
        table["seed"] = seeds.astype("Int64")
    else:
        table["seed"] = pd.array([pd.NA] * len(table), dtype="Int64")
    have = np.array([group.have for group in spec.groups])
    totals = dict(zip(spec.names, have + np.asarray(state.collected) + counts, strict=True))
    in_hand = np.array([totals[name] for name in table["group"]], dtype=float)
    pooled = float(sum(totals.values()))
    limits = {
        "n": (in_hand, "{group} is measured at n = {value:g}, but only {limit} of its samples"
                       " are {where}; check n or the collected counts"),
        "n_total": (np.full(len(table), pooled),
                    "a measurement of {group} has n_total = {value:g}, more than the {limit}"
                    " samples {where}; check n_total or the collected counts"),
    }
    for column, (limit, message) in limits.items():
        over = np.flatnonzero(table[column].to_numpy() > limit)
        if over.size:
            row = int(over[0])
            raise InputError("measurements: " + message.format(
                group=table["group"].iloc[row], value=table[column].iloc[row],
                limit=int(limit[row]), where=_in_hand(counts)))
    return table[columns]


def _in_hand(counts: np.ndarray) -> str:
    return "in hand after this batch" if counts.any() else "in hand"


def _unknown_group(name: Any, spec: StudySpec) -> str:
    close = difflib.get_close_matches(str(name), spec.names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown group {name!r}{hint}; the study's groups are {', '.join(spec.names)}"



def checked_strategy(name: str, settings: dict[str, Any]) -> Strategy:
    """The named strategy with ``settings``, or a one-line refusal."""
    from allocate.strategies import make_strategy

    if name == "oracle":
        raise InputError(
            "the oracle strategy needs the true curves, which a real study does not know;"
            " choose adaptive, optimistic, expected, cautious, equal, proportional or"
            " worst-group"
        )
    try:
        return make_strategy(name, **settings)
    except TypeError:  # a setting the strategy does not have
        known = list(make_strategy(name).settings())
        unknown = sorted(set(settings) - set(known))
        raise InputError(
            f"strategy {name!r} has no setting(s) {', '.join(unknown)}; its settings are"
            f" {', '.join(known) or 'none'}") from None



def is_whole(value: Any) -> bool:
    """True for an int, or a finite float with no fraction (never a bool)."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, float | np.floating) and math.isfinite(value) and float(
        value).is_integer()
